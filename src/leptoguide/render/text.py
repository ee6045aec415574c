"""A readable terminal report (Rich): alerts first by severity, numbered citations that resolve."""

from __future__ import annotations

import io
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.render.common import finding_refs, number_citations

STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


def render_text(data: dict[str, Any], kb: KnowledgeBase | None = None, width: int = 100) -> str:
    buf = io.StringIO()
    con = Console(file=buf, width=width, force_terminal=False, color_system=None, highlight=False)
    numbers, refs = number_citations(data, kb)
    pol = data["policy"]
    con.print(f"[bold]LeptoGuide assessment[/bold] ({escape(data['audience'])})")
    con.print(
        f"evaluated at {data['evaluated_at']}; knowledge {data['knowledge_version']}; "
        f"policy {escape(pol['id'])} ({pol['hash']})"
    )
    if pol.get("overrides"):
        con.print(
            "policy overrides: "
            + escape(", ".join(f"{k}={v}" for k, v in pol["overrides"].items()))
        )
    cls, risk = data["classification"], data["risk"]
    con.print()
    typ = f", type {cls['type']}" if cls["type"] else ""
    con.print(f"[bold]EANO-ESMO classification:[/bold] {cls['certainty'].replace('_', ' ')}{typ}")
    for r in cls["reasons"]:
        con.print(f"  - {escape(r)}")
    con.print(f"[bold]NCCN risk group:[/bold] {risk['group']}")
    for r in risk["reasons"]:
        con.print(f"  - {escape(r)}")
    con.print()
    con.print(f"[bold]Findings ({len(data['findings'])})[/bold]")
    for i, f in enumerate(data["findings"], 1):
        nums = "".join(f"[{n}]" for n in finding_refs(f, numbers))
        draft = " DRAFT" if f["evidence_status"] != "approved" else ""
        con.print(
            f"{i}. [{STYLE[f['severity']]}]{f['severity'].upper()}[/] {f['kind']}{draft} "
            f"[dim]{f['rule']}[/dim]"
        )
        con.print(f"   {escape(f['summary'])} {escape(nums)}")
        for line in f["detail"].splitlines():
            if line.strip():
                con.print(f"     {escape(line.strip())}")
        for t in f["thresholds"]:
            alts = ", ".join(str(a.get("value")) for a in t["alternatives"])
            src = t.get("statement") or t.get("source")
            con.print(
                f"     threshold {t['id']} = {t['value']}{' ' + t['unit'] if t['unit'] else ''}"
                f" ({'site override' if t['overridden'] else 'default'}; {src}"
                f"{'; alternatives ' + alts if alts else ''})"
            )
        used = [
            f"{i['fact']}={i['value'] if i['value'] is not None else i['status']}"
            + (f" @{i['time']}" if i.get("time") else "")
            for i in f["inputs"]
        ]
        if used:
            con.print(f"     [dim]inputs: {escape('; '.join(used))}[/dim]")
    if data["missing"]:
        con.print()
        con.print("[bold]Missing or unusable data[/bold]")
        for m in data["missing"]:
            con.print(
                f"  - {m['item']} ({m['status']}): needed for {', '.join(m['needed_for'])}; "
                f"{escape(m['suggestion'])}"
            )
    if data["warnings"]:
        con.print()
        con.print("[bold]Data warnings[/bold]")
        for w in data["warnings"]:
            fld = f" field {w['field']}" if w.get("field") else ""
            con.print(f"  - {escape(w['where'])}{escape(fld)}: {escape(w['message'])}")
    if data["schedules"]:
        con.print()
        for s in data["schedules"]:
            con.print(
                f"[bold]Schedule: {escape(s['title'])}[/bold] ({s['status']}; start {s['start']})"
            )
            table = Table("dose", "date", "phase")
            for e in s["events"]:
                table.add_row(str(e["dose"]), e["date"], e["phase"])
            con.print(table)
    if refs:
        con.print()
        con.print("[bold]References[/bold]")
        for r in refs:
            year = f" ({r['year']})" if r["year"] else ""
            status = f" [{r['status']}]" if r["status"] and r["status"] != "approved" else ""
            con.print(
                f"[{r['n']}] {escape(r['statement_title'])}{escape(status)} - "
                f"{escape(r['source_title'])}{year}, {escape(r['locator'])}",
                markup=True,
            )
    con.print()
    con.print(escape(data["disclaimer"]))
    return buf.getvalue()
