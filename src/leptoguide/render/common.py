"""Shared helpers for the report renderers: citation numbers, compact text pieces, missing data.

Citations are numbered per *statement*, once across the report, in order of first appearance; a
finding cites its statements as compact ranges ("[3-7, 9]"). The reference list gives each
statement once with all its sources and locators. Numbering depends only on the findings and their
order, so the clinician and patient reports of one assessment use the same numbers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import BaseModel

from leptoguide.assessment import Assessment, Finding, FindingInput, Threshold

if TYPE_CHECKING:
    from leptoguide.knowledge.loader import KnowledgeBase

SEVERITY_LABEL = {"critical": "Critical", "warning": "Warning", "info": "Information"}
PATIENT_LABEL = {
    "critical": "Important: talk to your care team",
    "warning": "Please note",
    "info": "For your information",
}
_WORDS = re.compile(r"[^0-9a-z]+")


@dataclass
class RefSource:
    source: str
    source_title: str
    year: int | None
    locator: str


@dataclass
class Reference:
    """One numbered cited statement with every source and locator the findings give for it."""

    n: int
    statement: str
    statement_title: str
    status: str | None
    sources: list[RefSource] = field(default_factory=list)


@dataclass
class MissingLine:
    """One missing item in plain words: what to obtain, how, and which findings need it."""

    item: str
    label: str
    action: str
    needed_for: list[str]


def number_citations(
    data: Assessment, kb: KnowledgeBase | None = None
) -> tuple[dict[str, int], list[Reference]]:
    """Number each distinct cited statement in order of first appearance; one reference each."""
    numbers: dict[str, int] = {}
    refs: list[Reference] = []
    by_statement: dict[str, Reference] = {}
    for finding in data.findings:
        for c in finding.citations:
            sid = c.statement
            if sid not in numbers:
                numbers[sid] = len(numbers) + 1
                st = kb.statements.get(sid) if kb else None
                ref = Reference(
                    n=numbers[sid],
                    statement=sid,
                    statement_title=st.title if st else sid,
                    status=c.statement_status,
                )
                refs.append(ref)
                by_statement[sid] = ref
            src = kb.sources.get(c.source) if kb else None
            entry = RefSource(
                source=c.source,
                source_title=src.title if src else c.source,
                year=src.year if src else None,
                locator=c.locator,
            )
            if entry not in by_statement[sid].sources:
                by_statement[sid].sources.append(entry)
    return numbers, refs


def finding_refs(finding: Finding, numbers: dict[str, int]) -> list[int]:
    """The reference numbers one finding cites, ascending, each once."""
    return sorted({numbers[c.statement] for c in finding.citations})


def ranges(nums: list[int]) -> str:
    """[1, 2, 3, 5] -> '[1-3, 5]'; [] -> ''."""
    if not nums:
        return ""
    parts: list[str] = []
    start = prev = nums[0]
    for n in [*nums[1:], None]:
        if n is not None and n == prev + 1:
            prev = n
            continue
        parts.append(f"{start}" if start == prev else f"{start}-{prev}")
        if n is not None:
            start = prev = n
    return "[" + ", ".join(parts) + "]"


def _norm(text: str) -> str:
    return _WORDS.sub(" ", text.lower()).strip()


def summary_text(finding: Finding) -> str:
    """The summary; when it was clipped ("…") and a detail line holds it in full, that line."""
    summary = finding.summary
    if summary.endswith("…"):
        head = _norm(summary.rstrip("…"))
        for raw in finding.detail.splitlines():
            if head and _norm(raw).startswith(head):
                return str(raw).strip()
    return summary


def detail_lines(finding: Finding) -> list[str]:
    """The detail as lines, without blanks, repeats, or lines that only restate the summary."""
    summary = _norm(summary_text(finding).rstrip("…"))
    out: list[str] = []
    seen: set[str] = set()
    for raw in finding.detail.splitlines():
        line = raw.strip()
        key = _norm(line)
        if not key or key in seen:
            continue
        if key == summary or (len(key) > 20 and key in summary):
            continue
        if summary and len(summary) > 40 and summary in key and len(key) - len(summary) < 25:
            continue  # the summary plus a short tail (e.g. "[draft]")
        seen.add(key)
        out.append(line)
    return out


def threshold_text(t: Threshold) -> str:
    """'lp-platelet-min 50 10*9/L (site; default 40; alternatives 20, 40)' style, one line."""
    unit = f" {t.unit}" if t.unit else ""
    bits = ["site value" if t.overridden else "default"]
    if t.overridden and t.default is not None:
        bits.append(f"default {t.default}")
    alts = [str(a.value) for a in t.alternatives]
    if alts:
        bits.append("alternatives " + ", ".join(alts))
    return f"{t.id} {t.value}{unit} ({'; '.join(bits)})"


def input_text(i: FindingInput) -> str | None:
    """One input as 'fact=value', or None for an empty list (nothing of interest present)."""
    value = i.value
    if isinstance(value, list):
        if not value:
            return None
        value = ", ".join(value)
    shown = value if value is not None else i.status
    if isinstance(shown, BaseModel):
        shown = str(shown.model_dump())
    if isinstance(shown, float):
        shown = f"{shown:g}"
    return f"{i.fact}={shown}"


def missing_items(data: Assessment, kb: KnowledgeBase | None = None) -> list[MissingLine]:
    """The missing-data list in plain words: what to obtain, and which findings need it."""
    titles = {f.rule: f.title for f in data.findings}
    out = []
    for m in data.missing:
        fact = kb.facts.get(m.item) if kb else None
        label = fact.description if fact else m.item
        derived = bool(fact and fact.derived_by not in (None, "observation", "lab"))
        if m.status == "stale":
            action = "repeat it (the last value is too old)"
        elif m.status == "unparseable":
            action = "check the recorded value (it could not be read)"
        elif derived:
            action = "complete the data it is derived from (see the reasons above)"
        else:
            action = "obtain and record it"
        needed = []
        for rid in m.needed_for:
            rule = kb.rules.get(rid) if kb else None
            needed.append(titles.get(rid) or (rule.title if rule else rid))
        out.append(MissingLine(item=m.item, label=label, action=action, needed_for=needed))
    return out
