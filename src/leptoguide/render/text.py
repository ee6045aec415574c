"""A readable terminal report (Rich): alerts first by severity, one number per cited statement."""

from __future__ import annotations

import io
from itertools import groupby
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from leptoguide.assessment import Assessment, Finding
from leptoguide.knowledge.status import checked
from leptoguide.render.common import (
    PATIENT_LABEL,
    SEVERITY_LABEL,
    detail_lines,
    finding_refs,
    input_text,
    missing_items,
    number_citations,
    ranges,
    summary_text,
    threshold_text,
)

if TYPE_CHECKING:
    from leptoguide.knowledge.loader import KnowledgeBase

_HEIGHT = 25
"""The page height the report console assumes (nothing in a report depends on it)."""

STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


def render_text(data: Assessment, kb: KnowledgeBase | None = None, width: int = 100) -> str:
    buf = io.StringIO()
    # a fixed height as well as the width: the console then never asks the terminal for its size
    # (three system calls and an environment look-up for every line printed)
    con = _Lines(
        Console(
            file=buf,
            width=width,
            height=_HEIGHT,
            force_terminal=False,
            color_system=None,
            highlight=False,
        )
    )
    patient = data.audience == "patient"
    numbers, refs = number_citations(data, kb)
    pol = data.policy
    title = "LeptoGuide: information for you" if patient else "LeptoGuide assessment"
    con.print(f"[bold]{title}[/bold]")
    con.print(
        f"evaluated at {data.evaluated_at}; knowledge {data.knowledge_version}; "
        f"policy {escape(pol.id)} ({pol.hash})"
        + (f"; site time zone {escape(pol.time_zone)}" if pol.time_zone else "")
    )
    if pol.overrides:
        con.print(
            "policy overrides: " + escape(", ".join(f"{k}={v}" for k, v in pol.overrides.items()))
        )
    counts = {s: sum(f.severity == s for f in data.findings) for s in SEVERITY_LABEL}
    con.print(
        f"{len(data.findings)} findings: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
        if data.findings
        else "No findings."
    )
    if not patient:
        _classification(con, data)
    n = 0
    for severity, group in groupby(data.findings, key=lambda f: f.severity):
        items = list(group)
        label = (PATIENT_LABEL if patient else SEVERITY_LABEL)[severity]
        con.print()
        con.print(f"[{STYLE[severity]}]{label.upper()} ({len(items)})[/]")
        for f in items:
            n += 1
            _finding(con, f, n, numbers, patient)
    _missing(con, data, kb, patient)
    if data.warnings and not patient:
        con.print()
        con.print("[bold]Data warnings[/bold]")
        for w in data.warnings:
            fld = f" ({w.field})" if w.field else ""
            con.print(f"  - {escape(w.where)}{escape(fld)}: {escape(w.message)}")
    for s in data.schedules:
        con.print()
        con.print(f"[bold]Schedule: {escape(s.title)}[/bold] ({s.status}; start {s.start})")
        table = Table("dose", "date", "phase")
        for e in s.events:
            table.add_row(str(e.dose), e.date, e.phase)
        con.print(table)
    if refs:
        con.print()
        con.print("[bold]References[/bold]")
        for r in refs:
            status = f" [{r.status}]" if r.status and not checked(r.status) else ""
            con.print(f"\\[{r.n}] {escape(r.statement_title)}{escape(status)}")
            for src in r.sources:
                year = f" ({src.year})" if src.year else ""
                con.print(f"     {escape(src.source_title)}{year}; {escape(src.locator)}")
    con.print()
    con.print(escape(data.disclaimer))
    con.flush()
    return buf.getvalue()


class _Lines:
    """Lines of console markup printed together (each wrapped on its own, as printed one by one):
    a printed line costs the console its whole rendering pass, a report has about fifty."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.lines: list[str] = []

    def print(self, item: str | Table = "") -> None:
        if isinstance(item, str):
            self.lines.append(item)
            return
        self.flush()
        self.console.print(item)

    def flush(self) -> None:
        if self.lines:
            self.console.print("\n".join(self.lines))
            self.lines = []


def _classification(con: _Lines, data: Assessment) -> None:
    cls, risk = data.classification, data.risk
    con.print()
    typ = f", type {cls.type}" if cls.type else ""
    con.print(f"[bold]EANO-ESMO classification:[/bold] {cls.certainty.replace('_', ' ')}{typ}")
    for r in cls.reasons:
        con.print(f"  - {escape(r)}")
    provisional = " (provisional: confirm the assumptions)" if risk.provisional else ""
    con.print(f"[bold]NCCN risk group:[/bold] {risk.group}{provisional}")
    for r in risk.reasons:
        con.print(f"  - {escape(r)}")


def _finding(con: _Lines, f: Finding, n: int, numbers: dict[str, int], patient: bool) -> None:
    cites = ranges(finding_refs(f, numbers))
    if patient:
        con.print(f"{n}. {escape(summary_text(f))} {escape(cites)}")
        for line in detail_lines(f):
            con.print(f"   {escape(line)}")
        return
    draft = ", draft evidence" if not checked(f.evidence_status) else ""
    con.print(f"{n}. [bold]{escape(f.title)}[/bold] [dim]({f.rule}; {f.kind}{draft})[/dim]")
    con.print(f"   {escape(summary_text(f))} {escape(cites)}")
    for line in detail_lines(f):
        con.print(f"     {escape(line)}")
    if f.thresholds:
        con.print(
            "     [dim]thresholds: "
            + escape("; ".join(threshold_text(t) for t in f.thresholds))
            + "[/dim]"
        )
    used = [t for t in (input_text(i) for i in f.inputs) if t]
    if used:
        con.print(f"     [dim]inputs: {escape('; '.join(used))}[/dim]")
    if f.suggestion:
        con.print(f"     suggested action: {escape(f.suggestion)}")


def _missing(con: _Lines, data: Assessment, kb: KnowledgeBase | None, patient: bool) -> None:
    items = missing_items(data, kb)
    if not items:
        return
    con.print()
    if patient:
        con.print("[bold]Information your care team may still need[/bold]")
        for m in items:
            con.print(f"  - {escape(m.label)}")
        return
    con.print("[bold]What is missing[/bold]")
    for m in items:
        con.print(
            f"  - {escape(m.label)} ({m.item}): {escape(m.action)}; "
            f"needed for {escape('; '.join(m.needed_for))}"
        )
