"""``leptoguide ask``, ``ingest``, ``docs`` and ``index``: cited question answering from the CLI."""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from leptoguide.answer.result import Answer


class Audience(StrEnum):
    clinician = "clinician"
    patient = "patient"


class Format(StrEnum):
    text = "text"
    json = "json"


@contextmanager
def _errors() -> Iterator[None]:
    """Core errors become one line on stderr and exit code 2 (never a traceback)."""
    from leptoguide.errors import LeptoGuideError

    try:
        yield
    except LeptoGuideError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from exc


def _console(stderr: bool = False) -> Any:
    from rich.console import Console

    return Console(highlight=False, stderr=stderr)


def _print_text(answer: Answer) -> None:
    from rich.markdown import Markdown

    console = _console()
    if answer.abstained and not answer.citations:
        console.print(f"[bold yellow]No answer.[/] {answer.reason}")
        if answer.suggestions:
            console.print("You can ask, for example:")
            for s in answer.suggestions:
                console.print(f"  - {s}", markup=False)
        return
    console.print(Markdown(answer.answer))
    read = answer.understood.get("read_as", []) + answer.understood.get("spelling", [])
    if read:
        shown = "; ".join(
            f"{r['wrote']} -> {r.get('means') or r.get('read')}"
            for r in read
            if isinstance(r, dict)
        )
        console.print(f"[dim]Read as: {shown}[/]", markup=True)
    if answer.citations:
        console.print()
        console.print("[bold]References[/]")
        for c in answer.citations:
            flags = f" [red]({'; '.join(c.flags)})[/]" if c.flags else ""
            console.print(
                f"  [{c.n}] {c.title}, {c.locator} [dim]({c.status})[/]{flags}",
                markup=True,
            )
    tail = f"knowledge {answer.knowledge_version}, confidence {answer.confidence:.2f}"
    if answer.reading_grade is not None:
        tail += f", reading grade {answer.reading_grade:.1f}"
    if answer.llm is not None and answer.llm.get("dropped"):
        tail += f", {len(answer.llm['dropped'])} generated sentence(s) dropped as unsupported"
    console.print(f"[dim]{tail}[/]")


def _parse_at(value: str | None) -> dt.datetime:
    """The evaluation time: ISO 8601; without an offset, a local time of this machine."""
    from leptoguide.errors import InputError

    if value is None:
        return dt.datetime.now().astimezone().replace(microsecond=0)
    try:
        parsed = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as exc:
        raise InputError("--at", f"not an ISO 8601 date-time: {value!r}") from exc
    return parsed if parsed.tzinfo else parsed.astimezone()


def ask(
    question: Annotated[str, typer.Argument(help="The question, in quotes.")],
    audience: Annotated[
        Audience, typer.Option("--audience", "-a", help="Wording for clinicians or patients.")
    ] = Audience.clinician,
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.text,
    conversation: Annotated[
        str | None,
        typer.Option("--conversation", "-c", help="Conversation id; follow-ups keep its context."),
    ] = None,
    top_k: Annotated[
        int, typer.Option("--top-k", min=1, max=20, help="At most this many statements.")
    ] = 4,
    at: Annotated[
        str | None,
        typer.Option(
            "--at",
            help=(
                "Evaluation time for computed answers, ISO 8601 (default: now). Clock times in "
                "the question ('last dose 8am') are local times in its offset (none: this "
                "machine's zone)."
            ),
        ),
    ] = None,
) -> None:
    """Answer a question from the knowledge base, with numbered citations, or abstain."""
    from leptoguide.answer import ask as core_ask

    with _errors():
        when = _parse_at(at)
        answer = core_ask(
            question, audience=audience.value, conversation_id=conversation, top_k=top_k, at=when
        )
    if fmt is Format.json:
        typer.echo(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_text(answer)


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files to ingest: .txt, .md, .html, .pdf.")],
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="No progress bar.")] = False,
) -> None:
    """Add local documents to the passage store (cited as 'not reviewed')."""
    from rich.progress import BarColumn, Progress, TextColumn

    from leptoguide.answer import reset
    from leptoguide.answer.embed import load_embedder
    from leptoguide.answer.index import PassageStore, store_path

    with _errors():
        store = PassageStore(store_path())
        embedder = load_embedder()
        from leptoguide.answer.ingest import ingest as core_ingest

        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            disable=quiet,
            transient=True,
            console=_console(stderr=True),
        ) as progress:
            task = progress.add_task("ingesting", total=len(paths))

            def advance(path: Path) -> None:
                progress.update(task, advance=1, description=f"ingested {path.name}")

            docs = core_ingest(paths, store, embedder, advance)
        reset()
    for doc in docs:
        typer.echo(f"{doc.id}\t{doc.passages} passages\t{doc.title}\t{doc.path}")


docs_app = typer.Typer(help="List or remove ingested documents.", no_args_is_help=True)


@docs_app.command("list")
def docs_list(
    fmt: Annotated[Format, typer.Option("--format", "-f", help="Output format.")] = Format.text,
) -> None:
    """List ingested documents."""
    from leptoguide.answer.index import PassageStore, store_path

    docs = PassageStore(store_path()).documents() if store_path().is_file() else []
    if fmt is Format.json:
        typer.echo(json.dumps([d.__dict__ for d in docs], indent=2, ensure_ascii=False))
        return
    if not docs:
        typer.echo("no documents ingested")
    for d in docs:
        typer.echo(f"{d.id}\t{d.kind}\t{d.passages} passages\t{d.added}\t{d.title}\t{d.path}")


@docs_app.command("remove")
def docs_remove(
    doc_id: Annotated[str, typer.Argument(help="Document id from 'docs list'.")],
) -> None:
    """Remove an ingested document and its passages."""
    from leptoguide.answer import reset
    from leptoguide.answer.index import PassageStore, store_path

    if not store_path().is_file() or not PassageStore(store_path()).remove(doc_id):
        typer.echo(f"error: no ingested document '{doc_id}' (see 'leptoguide docs list')", err=True)
        raise typer.Exit(2)
    reset()
    typer.echo(f"removed {doc_id}")


index_app = typer.Typer(help="Build the search index.", no_args_is_help=True)


@index_app.command("build")
def index_build(
    dense: Annotated[
        bool,
        typer.Option(
            "--dense",
            help="Also export the MiniLM model to ONNX (needs torch; see docs/qa.md) and embed.",
        ),
    ] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print only errors.")] = False,
) -> None:
    """Build the statement index for the current knowledge base (and, with --dense, the model)."""
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from leptoguide.answer import reset
    from leptoguide.answer.embed import export_onnx, load_embedder, model_id
    from leptoguide.answer.index import PassageStore, store_path
    from leptoguide.answer.pipeline import Options, index_file, load_index
    from leptoguide.knowledge.loader import get_knowledge

    say: Callable[[str], None] = (lambda _m: None) if quiet else typer.echo
    with _errors():
        kb = get_knowledge()
        started = time.perf_counter()
        if dense and model_id() is None:
            say("exporting all-MiniLM-L6-v2 to ONNX (one-off, about 20 s) ...")
            export_onnx(lambda msg: say(f"  {msg}"))
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            TimeElapsedColumn(),
            disable=quiet,
            transient=True,
            console=_console(stderr=True),
        ) as progress:
            task = progress.add_task("embedding statements", total=None)

            def tick(done: int, total: int) -> None:
                progress.update(task, completed=done, total=total)

            stale = index_file(kb)
            stale.unlink(missing_ok=True)
            for old in stale.parent.glob("statements-*.sqlite"):
                old.unlink(missing_ok=True)
            index = load_index(kb, Options(), progress=tick)
            embedder = load_embedder()
            if embedder is not None and store_path().is_file():
                store = PassageStore(store_path())
                missing = store.missing_vectors()
                if missing:
                    vecs = embedder.encode([t for _, t in missing])
                    store.set_vectors(zip([r for r, _ in missing], vecs, strict=True), embedder.id)
        reset()
    mode = f"dense ({index.model})" if index.model else "lexical only (no dense model exported)"
    say(
        f"index built: {len(index.ids)} statements, {mode}, "
        f"{time.perf_counter() - started:.1f} s -> {index_file(kb)}"
    )


def register(app: typer.Typer) -> None:
    app.command("ask")(ask)
    app.command("ingest")(ingest)
    app.add_typer(docs_app, name="docs")
    app.add_typer(index_app, name="index")
