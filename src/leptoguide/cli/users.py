"""``leptoguide users``: accounts (first admin, list, change a role) and their REST API tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

users_app = typer.Typer(
    help="Accounts (web and REST API): add, list, set-role, token.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="users")


DatabaseOpt = Annotated[
    str | None,
    typer.Option(
        "--database",
        help="SQLAlchemy URL (default: $LEPTOGUIDE_DATABASE_URL or $LEPTOGUIDE_HOME/leptoguide.sqlite3).",
    ),
]


def _db(database: str | None) -> object:
    from leptoguide.settings import Settings
    from leptoguide.store.db import Database

    return Database(database or Settings.from_env().database_url)


@users_app.command("add")
def add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="viewer, clinician, reviewer or admin.")] = "viewer",
    password_file: Annotated[
        Path | None,
        typer.Option(
            "--password-file",
            help="Read the password from the first line of this file (else a hidden prompt).",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ] = None,
    database: DatabaseOpt = None,
) -> None:
    """Create an account (the password is never echoed or logged)."""
    from leptoguide.store.accounts import add_user
    from leptoguide.store.db import Database

    if password_file is not None:
        lines = password_file.read_text(encoding="utf-8").splitlines()
        password = lines[0] if lines else ""
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    db = _db(database)
    assert isinstance(db, Database)
    user = add_user(db, username, password, role)
    typer.echo(f"created user {user.username} with role {user.role}")


@users_app.command("list")
def list_(database: DatabaseOpt = None) -> None:
    """List accounts (name, role, active, created)."""
    from leptoguide.store.accounts import list_users
    from leptoguide.store.db import Database

    db = _db(database)
    assert isinstance(db, Database)
    for row in list_users(db):
        state = "active" if row["active"] else "disabled"
        typer.echo(f"{row['username']}\t{row['role']}\t{state}\t{row['created_at']}")


@users_app.command("set-role")
def set_role_cmd(
    username: Annotated[str, typer.Argument()],
    role: Annotated[str, typer.Argument(help="viewer, clinician, reviewer or admin.")],
    database: DatabaseOpt = None,
) -> None:
    """Change an account's role."""
    from sqlalchemy.exc import NoResultFound

    from leptoguide.errors import InputError
    from leptoguide.store.accounts import set_role
    from leptoguide.store.db import Database

    db = _db(database)
    assert isinstance(db, Database)
    try:
        set_role(db, username, role)
    except NoResultFound as exc:
        raise InputError("users set-role", f"no user {username!r}", "username") from exc
    typer.echo(f"{username} is now {role}")


token_app = typer.Typer(
    help="REST API tokens: create (shown once), list, revoke.", no_args_is_help=True
)
users_app.add_typer(token_app, name="token")


@token_app.command("create")
def token_create(
    username: Annotated[str, typer.Argument(help="The account the token acts as (its role).")],
    name: Annotated[
        str | None, typer.Option("--name", help="A label, e.g. the client's name.")
    ] = None,
    expires_days: Annotated[
        int | None, typer.Option("--expires-days", help="Expire after N days (default: never).")
    ] = None,
    database: DatabaseOpt = None,
) -> None:
    """Create an API token and print it once (only its SHA-256 is stored)."""
    from leptoguide.store.api_tokens import create_token
    from leptoguide.store.db import Database

    db = _db(database)
    assert isinstance(db, Database)
    token, info = create_token(db, username, name=name, expires_days=expires_days)
    typer.echo(token)
    expiry = f"expires {info['expires_at']}" if info["expires_at"] else "does not expire"
    typer.echo(
        f"token {info['id']} ({info['name']}) for {username}; {expiry}. Shown once: store it "
        "now. Send it as 'Authorization: Bearer <token>'.",
        err=True,
    )


@token_app.command("list")
def token_list(
    username: Annotated[str | None, typer.Argument(help="Only this account's tokens.")] = None,
    database: DatabaseOpt = None,
) -> None:
    """List tokens: id, user, name, state, created, expires (never the tokens themselves)."""
    from leptoguide.store.api_tokens import list_tokens
    from leptoguide.store.db import Database

    db = _db(database)
    assert isinstance(db, Database)
    rows = list_tokens(db, username)
    for row in rows:
        typer.echo(
            f"{row['id']}\t{row['username']}\t{row['name']}\t{row['state']}\t"
            f"{row['created_at']}\t{row['expires_at'] or 'never'}"
        )
    if not rows:
        typer.echo("no API tokens")


@token_app.command("revoke")
def token_revoke(
    token_id: Annotated[int, typer.Argument(help="The token's id (see 'users token list').")],
    database: DatabaseOpt = None,
) -> None:
    """Revoke a token; it stops working at once."""
    from leptoguide.store.api_tokens import revoke_token
    from leptoguide.store.db import Database

    db = _db(database)
    assert isinstance(db, Database)
    if revoke_token(db, token_id):
        typer.echo(f"token {token_id} revoked")
    else:
        typer.echo(f"token {token_id} was already revoked")
