"""``leptoguide users``: web accounts (create the first admin, list, change a role)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

users_app = typer.Typer(help="Web accounts: add, list, set-role.", no_args_is_help=True)


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
