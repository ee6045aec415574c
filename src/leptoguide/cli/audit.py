"""``leptoguide audit``: list, show, verify and export the audit log."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from leptoguide.store.audit import AuditLog

app = typer.Typer(help="Inspect the audit log (hash-chained).", no_args_is_help=True)

DatabaseOption = Annotated[
    str | None, typer.Option("--database", help="SQLAlchemy URL (default: the service database).")
]


def register(root: typer.Typer) -> None:
    root.add_typer(app, name="audit")


def _log(database: str | None) -> AuditLog:
    from leptoguide.settings import Settings
    from leptoguide.store.audit import AuditLog
    from leptoguide.store.db import Database

    settings = Settings.from_env(database_url=database)
    return AuditLog(
        Database(settings.database_url),
        settings.audit_key(),
        store_identifiers=settings.audit_store_identifiers,
    )


@app.command("list")
def list_(
    database: DatabaseOption = None,
    limit: Annotated[int, typer.Option(min=1, help="Newest N events.")] = 20,
    service: Annotated[str | None, typer.Option(help="Only this service.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="JSON lines instead of a table.")] = False,
) -> None:
    """Newest events first: sequence, id, time, service, knowledge version."""
    from leptoguide.store.audit import event_summary

    events = _log(database).list(limit=limit, service=service)
    for e in events:
        if as_json:
            typer.echo(json.dumps(event_summary(e)))
        else:
            s = event_summary(e)
            typer.echo(
                f"{s['seq']:>6}  {s['id']}  {s['time'][:19]}Z  {s['service']:<40} "
                f"{s['knowledge_version']}"
            )
    if not events and not as_json:
        typer.echo("no audit events")


@app.command()
def show(
    event: Annotated[str, typer.Argument(help="Event id or sequence number.")],
    database: DatabaseOption = None,
) -> None:
    """One event in full (JSON), output included."""
    from leptoguide.errors import InputError
    from leptoguide.store.audit import event_dict

    found = _log(database).get(event)
    if found is None:
        raise InputError("audit", f"no event {event!r}", "event")
    typer.echo(json.dumps(event_dict(found), indent=2, ensure_ascii=False))


@app.command()
def verify(database: DatabaseOption = None) -> None:
    """Recompute the hash chain; exit 1 if it is broken."""
    check = _log(database).verify()
    typer.echo(
        ("ok: " if check.ok else "BROKEN: ")
        + check.message
        + (f" (at seq {check.bad_seq})" if check.bad_seq else "")
    )
    if not check.ok:
        raise typer.Exit(1)


@app.command()
def export(
    database: DatabaseOption = None,
    fmt: Annotated[str, typer.Option("--format", help="jsonl (one event per line).")] = "jsonl",
) -> None:
    """Every event in chain order, as JSON lines, to stdout."""
    from leptoguide.errors import InputError
    from leptoguide.store.audit import event_dict

    if fmt != "jsonl":
        raise InputError("--format", f"unsupported format {fmt!r} (jsonl)", "format")
    for e in _log(database).iter_all():
        typer.echo(json.dumps(event_dict(e), ensure_ascii=False, sort_keys=True))
