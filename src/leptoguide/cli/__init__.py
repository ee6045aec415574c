"""The ``leptoguide`` command line. Thin: parse options, call the core, render.

Each command group lives in its own module and imports heavy libraries inside its functions, so
``leptoguide --help`` stays fast. Errors from the core become one clear line on stderr and exit 2;
an unexpected failure prints one line too, never a traceback.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from leptoguide import __version__

app = typer.Typer(
    name="leptoguide",
    help="Offline, cited decision support and evidence for leptomeningeal disease. "
    "Not a medical device.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version_callback(value: bool) -> None:
    if value:
        from leptoguide.knowledge import snapshot

        known = snapshot.version(snapshot.default_data_dir())
        if known is None:  # no snapshot for these files yet: load them (and write one)
            from leptoguide.knowledge.loader import get_knowledge

            known = get_knowledge().version
        typer.echo(f"leptoguide {__version__}, knowledge {known}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_version_callback,
            is_eager=True,
            help="Show the package and knowledge versions and exit.",
        ),
    ] = False,
) -> None:
    """LeptoGuide command line."""


def _register() -> None:
    from leptoguide.cli import kb

    app.add_typer(kb.app, name="kb")
    for name in ("assess", "ask", "ingest", "serve", "audit", "users", "batch"):
        try:
            module = __import__(f"leptoguide.cli.{name}", fromlist=["register"])
        except ModuleNotFoundError as exc:
            if exc.name == f"leptoguide.cli.{name}":
                continue
            raise
        module.register(app)


_register()


OPTION_FIELDS = ("engine", "audit", "cohort")
"""Fields of core input errors that are command-line options here: the message names the flag."""


def describe(exc: Exception) -> str:
    """A core error as one line, with the command-line flag for an option field (the core names
    fields, never flags)."""
    from leptoguide.errors import InputError

    text = str(exc)
    if isinstance(exc, InputError) and exc.problem.field in OPTION_FIELDS:
        flag = "--" + str(exc.problem.field).replace("_", "-")
        where = exc.problem.where
        text = f"{flag}: " if where == "options" else f"{where} ({flag}): "
        text += exc.problem.message
    return " ".join(text.split())


def main() -> None:
    from leptoguide.errors import LeptoGuideError

    try:
        app()
    except LeptoGuideError as exc:
        typer.echo("error: " + describe(exc), err=True)  # always one line
        sys.exit(2)
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:
        typer.echo(f"internal error: {type(exc).__name__}: " + " ".join(str(exc).split()), err=True)
        sys.exit(1)
