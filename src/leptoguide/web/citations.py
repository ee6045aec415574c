"""Numbered references for pages: statement wording, source, locator, currency flags and status."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from leptoguide.answer.compose import without_ids
from leptoguide.assessment import Assessment
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

    @property
    def year(self) -> int | None:
        return self.source.year if self.source is not None else None


@dataclass
class RefGroup:
    """The references of one statement (or the unreviewed document passages), in number order."""

    statement_id: str | None
    title: str
    text: str | None
    status: str
    refs: list[Ref] = field(default_factory=list)

    @property
    def draft(self) -> bool:
        return self.status != "approved"


def group_refs(refs: list[Ref]) -> list[RefGroup]:
    """Group references by statement, in order of each statement's first number.

    Passages from the user's documents (no statement) form one group of their own.
    """
    groups: dict[str | None, RefGroup] = {}
    for ref in sorted(refs, key=lambda r: r.n):
        key = ref.statement_id
        group = groups.get(key)
        if group is None:
            group = groups[key] = RefGroup(
                statement_id=key,
                title=(ref.statement_title or key or "")
                if key
                else "Passages from your documents (not reviewed)",
                text=ref.statement_text,
                status=ref.status if key else "unreviewed",
            )
        group.refs.append(ref)
    return list(groups.values())


def short_source(src: Source | None, source_id: str) -> str:
    """A short name for a source: first author (et al.) or publisher or journal, and year."""
    if src is None:
        return source_id
    who = None
    if src.authors:
        parts = src.authors[0].split()
        # "Le Rhun E": the surname is everything before the trailing initials
        if len(parts) > 1 and parts[-1].replace(".", "").replace("-", "").isupper():
            parts = parts[:-1]
        first = " ".join(parts)
        who = first + (" et al." if len(src.authors) > 1 else "")
    who = who or src.publisher or src.journal
    if not who:
        return source_id
    who = re.split(r" \(| / ", who, maxsplit=1)[0]
    return f"{who} {src.year}" if src.year else who


def source_line(src: Source | None) -> str:
    """A short bibliographic line: journal/publisher, year, citation."""
    if src is None:
        return ""
    year = str(src.year) if src.year else None
    if year and src.citation and src.citation.startswith(year):
        year = None  # the citation starts with the year already
    parts = [p for p in (src.journal or src.publisher, year) if p]
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
    status = statuses.get(statement_id or "", fallback_status or (st.status if st else "draft"))
    text = None
    if st is not None:
        text = without_ids(kb, st.patient if audience == "patient" else st.clinician)
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
        flags=readable_flags(kb, source_id),
    )


_ISO_DATE = re.compile(r"\b(\d{4}-\d{2}-\d{2})\b")


def readable_flags(kb: KnowledgeBase, source_id: str) -> list[str]:
    """The source's currency flags with the newer source's short name and readable dates."""
    from leptoguide.web.fmt import when_text

    src = kb.sources.get(source_id)
    if src is None:
        return []
    out = []
    for flag in kb.source_flags(source_id):
        newer = src.superseded_by
        if newer and flag == f"superseded by {newer}":
            flag = f"superseded by {short_source(kb.sources.get(newer), newer)}"
        out.append(_ISO_DATE.sub(lambda m: when_text(m.group(1)), flag))
    return out


def assessment_refs(
    data: Assessment, kb: KnowledgeBase, statuses: dict[str, str]
) -> tuple[list[Ref], dict[str, list[int]]]:
    """Number each distinct (statement, source, locator) of the findings.

    Statements are taken in order of first appearance and each statement's citations get
    consecutive numbers, so the reference list can group them by statement without gaps.
    Returns the references and, per finding rule id, the numbers it cites.
    """
    keys: dict[tuple[str, str, str], str | None] = {}
    statement_order: dict[str, None] = {}
    audience = data.audience
    findings = data.findings
    for finding in findings:
        for c in finding.citations:
            key = (c.statement, c.source, c.locator)
            statement_order.setdefault(key[0], None)
            if key not in keys:
                keys[key] = c.statement_status
    numbers: dict[tuple[str, str, str], int] = {}
    refs: list[Ref] = []
    for sid in statement_order:
        for key, fallback in keys.items():
            if key[0] != sid:
                continue
            numbers[key] = len(numbers) + 1
            refs.append(
                _ref(kb, statuses, numbers[key], key[0], key[1], key[2], audience, fallback)
            )
    by_rule: dict[str, list[int]] = {}
    for finding in findings:
        mine: list[int] = []
        for c in finding.citations:
            key = (c.statement, c.source, c.locator)
            if numbers[key] not in mine:
                mine.append(numbers[key])
        by_rule[finding.rule] = sorted(mine)
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
