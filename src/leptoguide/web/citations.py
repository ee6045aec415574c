"""Numbered references for pages: statement wording, source, locator, currency flags and status."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.models import Source, Statement


@dataclass
class Ref:
    n: int
    statement_id: str | None
    statement_title: str | None
    statement_text: str | None
    status: str
    source_id: str
    source: Source | None
    source_title: str
    locator: str
    flags: list[str] = field(default_factory=list)
    passage: str | None = None

    @property
    def draft(self) -> bool:
        return self.status != "approved"


def source_line(src: Source | None) -> str:
    """A short bibliographic line: journal/publisher, year, citation."""
    if src is None:
        return ""
    parts = [p for p in (src.journal or src.publisher, str(src.year) if src.year else None) if p]
    line = ", ".join(parts)
    if src.citation:
        line += f"; {src.citation}"
    return line


def _ref(
    kb: KnowledgeBase,
    statuses: dict[str, str],
    n: int,
    statement_id: str | None,
    source_id: str,
    locator: str,
    audience: str,
    fallback_status: str | None = None,
) -> Ref:
    st: Statement | None = kb.statements.get(statement_id) if statement_id else None
    src = kb.sources.get(source_id)
    status = statuses.get(statement_id or "", fallback_status or ("approved" if st else "draft"))
    text = None
    if st is not None:
        text = st.patient if audience == "patient" else st.clinician
    return Ref(
        n=n,
        statement_id=statement_id,
        statement_title=st.title if st else None,
        statement_text=text,
        status=status,
        source_id=source_id,
        source=src,
        source_title=src.title if src else source_id,
        locator=locator,
        flags=kb.source_flags(source_id) if src else [],
    )


def assessment_refs(
    data: dict[str, Any], kb: KnowledgeBase, statuses: dict[str, str]
) -> tuple[list[Ref], dict[str, list[int]]]:
    """Number each distinct (statement, source, locator) of the findings in order of appearance.

    Returns the references and, per finding rule id, the numbers it cites.
    """
    numbers: dict[tuple[str, str, str], int] = {}
    refs: list[Ref] = []
    by_rule: dict[str, list[int]] = {}
    audience = str(data.get("audience") or "clinician")
    for finding in data.get("findings") or []:
        mine: list[int] = []
        for c in finding.get("citations") or []:
            key = (str(c.get("statement")), str(c.get("source")), str(c.get("locator")))
            if key not in numbers:
                numbers[key] = len(numbers) + 1
                refs.append(
                    _ref(
                        kb,
                        statuses,
                        numbers[key],
                        key[0],
                        key[1],
                        key[2],
                        audience,
                        c.get("statement_status"),
                    )
                )
            if numbers[key] not in mine:
                mine.append(numbers[key])
        by_rule[str(finding.get("rule"))] = mine
    return refs, by_rule


def answer_refs(data: dict[str, Any], kb: KnowledgeBase, statuses: dict[str, str]) -> list[Ref]:
    """The answer's own numbered citations, enriched from the knowledge base."""
    out = []
    audience = str(data.get("audience") or "clinician")
    for c in data.get("citations") or []:
        ref = _ref(
            kb,
            statuses,
            int(c.get("n", 0)),
            c.get("statement"),
            str(c.get("source")),
            str(c.get("locator") or ""),
            audience,
            c.get("status"),
        )
        if c.get("title") and ref.source is None:
            ref.source_title = str(c["title"])
        if c.get("passage"):
            ref.passage = str(c["passage"])
            ref.status = str(c.get("status") or "unreviewed")
        for flag in c.get("flags") or []:
            if flag not in ref.flags:
                ref.flags.append(str(flag))
        out.append(ref)
    return out


def statement_refs(
    statements: list[Statement], kb: KnowledgeBase, statuses: dict[str, str], audience: str
) -> tuple[list[Ref], dict[str, list[int]]]:
    """References for a list of statements (each source citation numbered once)."""
    numbers: dict[tuple[str, str, str], int] = {}
    refs: list[Ref] = []
    by_statement: dict[str, list[int]] = {}
    for st in statements:
        mine = []
        for c in st.sources:
            key = (st.id, c.source, c.locator)
            if key not in numbers:
                numbers[key] = len(numbers) + 1
                refs.append(_ref(kb, statuses, numbers[key], st.id, c.source, c.locator, audience))
            mine.append(numbers[key])
        by_statement[st.id] = mine
    return refs, by_statement
