"""``leptoguide kb``: validate, inspect and export the knowledge base."""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from leptoguide.knowledge.loader import KnowledgeBase

app = typer.Typer(help="Validate, inspect and export the knowledge base.", no_args_is_help=True)

DirOption = Annotated[
    Path | None,
    typer.Option(
        "--dir", help="Knowledge directory (default: $LEPTOGUIDE_KB or the bundled data)."
    ),
]


def _load(directory: Path | None) -> KnowledgeBase:
    from leptoguide.knowledge.loader import get_knowledge, load_knowledge

    return load_knowledge(directory, check_readability=False) if directory else get_knowledge()


def _console() -> Any:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False)


@app.command()
def validate(directory: DirOption = None) -> None:
    """Check schema, references, locators and patient reading grade. Exit 1 on any problem."""
    from leptoguide.errors import KnowledgeError
    from leptoguide.knowledge.loader import load_knowledge

    try:
        kb = load_knowledge(directory)
    except KnowledgeError as exc:
        for problem in exc.problems:
            typer.echo(f"error: {problem}", err=True)
        typer.echo(f"{len(exc.problems)} problem(s) found", err=True)
        raise typer.Exit(1) from exc
    typer.echo(
        f"ok: knowledge {kb.version}: {len(kb.sources)} sources, {len(kb.statements)} statements, "
        f"{len(kb.rules)} rules, {len(kb.parameters)} policy parameters, {len(kb.regimens)} regimens, "
        f"{len(kb.concepts)} concepts, {len(kb.facts)} facts, "
        f"{len(kb.scores) + len(kb.classifications)} tables"
    )


@app.command()
def snapshot() -> None:
    """Build the compiled knowledge snapshot that commands read while the files are unchanged."""
    from leptoguide.knowledge import snapshot as snap
    from leptoguide.knowledge.loader import load_knowledge

    root = snap.default_data_dir()
    kb = load_knowledge(root, check_readability=False)
    path = snap.write(root, version=kb.version, value=kb)
    if path is None:
        typer.echo(
            f"warning: cannot write a snapshot in {snap.cache_dir()} (not writable or not "
            "private to this user); every command will load the knowledge files",
            err=True,
        )
        return
    typer.echo(f"snapshot: knowledge {kb.version} -> {path}")


@app.command()
def stats(directory: DirOption = None) -> None:
    """Counts by topic, status and source kind; stale and superseded sources."""
    from rich.table import Table

    kb = _load(directory)
    con = _console()
    con.print(f"[bold]Knowledge {kb.version}[/bold]")
    for title, counter in (
        ("Statements by status", Counter(s.status for s in kb.statements.values())),
        ("Statements by topic", Counter(t for s in kb.statements.values() for t in s.topics)),
        ("Sources by kind", Counter(s.kind for s in kb.sources.values())),
        ("Rules by kind", Counter(r.kind for r in kb.rules.values())),
    ):
        table = Table(title=title, title_justify="left")
        table.add_column("value")
        table.add_column("count", justify="right")
        for key, n in sorted(counter.items(), key=lambda kv: (-kv[1], kv[0])):
            table.add_row(key, str(n))
        con.print(table)
    cited = kb.cited_by_severity()
    by_status = Counter(kb.statements[sid].status for sid in cited if sid in kb.statements)
    table = Table(title="Statements cited by critical or warning rules", title_justify="left")
    table.add_column("status")
    table.add_column("count", justify="right")
    table.add_row("all", str(len(cited)))
    for key, n in sorted(by_status.items(), key=lambda kv: (-kv[1], kv[0])):
        table.add_row(key, str(n))
    con.print(table)
    unchecked = [sid for sid in cited if kb.statements[sid].status != "verified"]
    if unchecked:
        con.print("Not yet verified: " + ", ".join(unchecked))
    stale = kb.stale_sources()
    con.print(f"Stale or superseded sources: {len(stale)} (see `leptoguide kb sources --stale`)")


def _status_style(status: str) -> str:
    return {
        "approved": "green",
        "verified": "blue",
        "draft": "yellow",
        "in_review": "cyan",
        "retired": "red",
    }.get(status, "white")


@app.command()
def show(
    record_id: Annotated[str, typer.Argument(metavar="ID")], directory: DirOption = None
) -> None:
    """Show a statement, source, rule, policy parameter, regimen or concept."""
    from rich.panel import Panel

    from leptoguide.errors import InputError

    kb = _load(directory)
    found = kb.find(record_id)
    if found is None:
        raise InputError(
            f"id '{record_id}'",
            "no statement, source, rule, policy parameter, regimen, concept or fact has this id",
        )
    key, record = found
    con = _console()
    lines: list[str] = []
    if key == "statements":
        st = record
        lines += [
            f"[bold]{st.title}[/bold]",
            f"status: [{_status_style(st.status)}]{st.status}[/]   version {st.version}   "
            f"topics: {', '.join(st.topics)}",
            "",
            "[bold]Clinician[/bold]",
            st.clinician,
            "",
            "[bold]Patient[/bold]",
            st.patient,
            "",
        ]
        lines.append("[bold]Sources[/bold]")
        for i, cit in enumerate(st.sources, 1):
            src = kb.sources[cit.source]
            flags = kb.source_flags(cit.source)
            flag = f"  [red]({'; '.join(flags)})[/red]" if flags else ""
            lines.append(
                f"[{i}] {src.title} ({src.year or 'n.d.'}) - {cit.locator}  <{src.id}>{flag}"
            )
        ev = st.evidence
        evidence = ", ".join(
            f"{k}: {v}"
            for k, v in (("level", ev.level), ("grade", ev.grade), ("study type", ev.study_type))
            if v
        )
        if evidence:
            lines += ["", f"Evidence: {evidence}"]
        if st.verification:
            read = "; ".join(f"{c.source} ({c.locator})" for c in st.verification.checked)
            lines.append(
                f"Verified: {st.verification.by}, {st.verification.date}; read {read}"
                + (f" - {st.verification.note}" if st.verification.note else "")
            )
        if st.conflicts_with:
            lines.append(f"[magenta]Disagrees with: {', '.join(st.conflicts_with)}[/magenta]")
    else:
        data = record.model_dump(mode="json", exclude_none=True)
        if key == "sources":
            flags = kb.source_flags(record.id)
            if flags:
                lines.append(f"[red]Currency: {'; '.join(flags)}[/red]")
            citing = kb.statements_citing(record.id)
            data["cited_by"] = citing
        import yaml

        lines.append(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100).rstrip())
    con.print(
        Panel(
            "\n".join(lines),
            title=f"{key[:-1]} {record_id}",
            subtitle=f"knowledge {kb.version}",
            expand=False,
        )
    )


@app.command()
def export(
    fmt: Annotated[str, typer.Option("--format", help="Export format (jsonl).")] = "jsonl",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="File (default stdout).")
    ] = None,
    directory: DirOption = None,
) -> None:
    """Export statements, one JSON object per line."""
    from leptoguide.errors import InputError

    if fmt != "jsonl":
        raise InputError("--format", f"unsupported format '{fmt}' (supported: jsonl)")
    kb = _load(directory)
    out = output.open("w", encoding="utf-8") if output else sys.stdout
    try:
        for st in sorted(kb.statements.values(), key=lambda s: s.id):
            row = {
                "id": st.id,
                "title": st.title,
                "topics": st.topics,
                "clinician": st.clinician,
                "patient": st.patient,
                "sources": [
                    {"id": c.source, "locator": c.locator, "flags": kb.source_flags(c.source)}
                    for c in st.sources
                ],
                "status": st.status,
                "verification": st.verification.model_dump(mode="json")
                if st.verification
                else None,
                "kind": st.kind,
                "about_claim": st.about_claim,
                "evidence": st.evidence.model_dump(exclude_none=True),
                "conflicts_with": st.conflicts_with,
                "version": st.version,
                "knowledge_version": kb.version,
            }
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if output:
            out.close()


@app.command("review-report")
def review_report(
    output: Annotated[Path, typer.Option("--output", "-o", help="File to write: .html or .pdf.")],
    topic: Annotated[
        list[str] | None,
        typer.Option("--topic", help="Only this main topic (repeatable); default every topic."),
    ] = None,
    directory: DirOption = None,
) -> None:
    """Write the printable sign-off packet: per topic, every statement with its sources and
    locators, its status and the rules that use it (HTML, or PDF by the file suffix)."""
    from leptoguide.errors import InputError
    from leptoguide.render.review_report import (
        render_review_report,
        review_report_pdf,
        topics_of,
    )

    kb = _load(directory)
    known = topics_of(kb)
    for t in topic or []:
        if t not in known:
            raise InputError("--topic", f"unknown topic '{t}' (known: {', '.join(known)})")
    suffix = output.suffix.lower()
    if suffix not in (".html", ".htm", ".pdf"):
        raise InputError("--output", "the file name must end in .html or .pdf")
    html = render_review_report(kb, list(topic) if topic else None)
    try:
        if suffix == ".pdf":
            output.write_bytes(review_report_pdf(html))
        else:
            output.write_text(html, encoding="utf-8")
    except OSError as exc:
        raise InputError(str(output), f"cannot write the report: {exc.strerror or exc}") from exc
    typer.echo(f"wrote {output}")


@app.command()
def sources(
    stale: Annotated[
        bool, typer.Option("--stale", help="Only sources past review-due or superseded.")
    ] = False,
    directory: DirOption = None,
) -> None:
    """List sources; with --stale, the out-of-date ones and the statements citing them."""
    from rich.table import Table

    kb = _load(directory)
    today = dt.date.today()
    table = Table(title=f"Sources (knowledge {kb.version})", title_justify="left")
    for col in ("id", "kind", "year", "access", "currency", "cited by"):
        table.add_column(col)
    stale_map = kb.stale_sources(today)
    ids = sorted(stale_map) if stale else sorted(kb.sources)
    for sid in ids:
        src = kb.sources[sid]
        citing = kb.statements_citing(sid)
        table.add_row(
            sid,
            src.kind,
            str(src.year or ""),
            src.access,
            "; ".join(stale_map.get(sid, [])) or "current",
            ", ".join(citing) if stale else str(len(citing)),
        )
    _console().print(table)
    if stale:
        typer.echo(f"{len(ids)} stale or superseded source(s)")


@app.command()
def policy(
    policy_file: Annotated[Path | None, typer.Option("--policy", help="Site policy file.")] = None,
    directory: DirOption = None,
) -> None:
    """Show the effective site policy: each value, its source and the alternatives."""
    from rich.table import Table

    from leptoguide.policy import load_policy

    kb = _load(directory)
    pol = load_policy(kb, policy_file)
    table = Table(
        title=f"Policy {pol.id} ({pol.hash}), knowledge {kb.version}"
        + (f", site time zone {pol.time_zone}" if pol.time_zone else ""),
        title_justify="left",
    )
    for col in ("parameter", "value", "default from", "alternatives"):
        table.add_column(col)
    for row in pol.as_table():
        value = f"{row['value']} {row['unit'] or ''}".strip() + (
            " (site)" if row["overridden"] else ""
        )
        alts = "; ".join(
            f"{a['value']} ({a.get('statement') or a.get('source')})" for a in row["alternatives"]
        )
        table.add_row(row["id"], value, row["statement"] or row["source"] or "", alts)
    _console().print(table)
