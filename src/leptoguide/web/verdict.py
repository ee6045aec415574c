"""The bottom line first: one line per question the user asked, built from the assessment.

The questions and their answer words are data (``verdicts.yaml``); the reasons come from the
findings' own summaries and structured inputs (an antithrombotic's hold window), so nothing here
knows a clinical number. Times are shown in the user's time zone.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from leptoguide import yamlsafe
from leptoguide.assessment import AntithromboticTiming, Assessment, Finding, MissingItem
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.web import fmt


@dataclass(frozen=True)
class Question:
    fact: str
    label: str
    orders: frozenset[str]
    words: dict[str, str]
    blocks_schedules: bool = False


@dataclass
class Verdict:
    """``level``: stop | caution | unknown | clear."""

    label: str
    level: str
    answer: str
    reasons: list[str] = field(default_factory=list)
    anchor: str | None = None
    blocks_schedules: bool = False

    @property
    def line(self) -> str:
        tail = "; ".join(self.reasons)
        return f"{self.label}: {self.answer}" + (f" — {tail}" if tail else "")


@cache
def _config() -> dict[str, Any]:
    text = resources.files("leptoguide.web").joinpath("verdicts.yaml").read_text("utf-8")
    data: dict[str, Any] = yamlsafe.load(text, untrusted=False)
    return data


def questions() -> list[Question]:
    out = []
    for q in _config()["questions"]:
        words = {k: str(q[k]) for k in ("stop", "caution", "unknown", "clear")}
        out.append(
            Question(
                q["fact"],
                q["label"],
                frozenset(q["orders"]),
                words,
                bool(q.get("blocks_schedules")),
            )
        )
    return out


def _clause(text: str) -> str:
    """The first clause of a finding summary (the part that states the value and the limit)."""
    text = " ".join(str(text).split())
    for stop in ("; ", ". "):
        head, sep, _ = text.partition(stop)
        if sep:
            text = head
    return text.rstrip(".")


def _hours(value: float | None) -> str:
    return f"{fmt.number(round(value))} h" if value is not None else ""


def drug_reasons(finding: Finding, zone: dt.tzinfo | None) -> list[str]:
    """'enoxaparin 40 mg given 10 h before the LP, hold until 14:00 CST' for each held drug."""
    out: list[str] = []
    for item in finding.inputs:
        if not isinstance(item.value, AntithromboticTiming):
            continue
        for d in item.value.drugs:
            if d.status == "clear":
                continue
            dose = ""
            if d.dose is not None:
                dose = f" {fmt.number(d.dose)} {fmt.unit(d.dose_unit) or ''}".rstrip()
            text = f"{d.drug}{dose}"
            if d.status == "unknown":
                text += f": {d.note or 'timing unknown'}"
            else:
                since = _hours(d.hours_since_last_dose)
                if since:
                    text += f" given {since} before the LP time"
                if d.earliest_lp:
                    text += f", hold until {fmt.when_text(d.earliest_lp, zone)}"
            out.append(text)
    return out


def _reasons(finding: Finding, zone: dt.tzinfo | None) -> list[str]:
    drugs = drug_reasons(finding, zone)
    return drugs or [_clause(finding.summary or finding.title)]


def _missing_reasons(kb: KnowledgeBase, missing: list[MissingItem], rules: set[str]) -> list[str]:
    words = _config().get("missing_words") or {}
    out = []
    for x in missing:
        if set(x.needed_for) & rules:
            status = x.status or "missing"
            out.append(f"{fmt.label(kb, x.item)} {words.get(status, status)}")
    return out


def verdicts(kb: KnowledgeBase, assessment: Assessment, zone: dt.tzinfo | None) -> list[Verdict]:
    """The bottom lines of an assessment, in the order of the questions, then other alerts."""
    findings = assessment.findings
    missing = assessment.missing
    planned = set(assessment.input.planned)
    # older stored assessments have no "planned": infer the question from the findings' inputs
    for f in findings:
        for item in f.inputs:
            if item.value is True:
                planned.add(item.fact)
    out: list[Verdict] = []
    answered: set[str] = set()
    for q in questions():
        if q.fact not in planned:
            continue
        rules = {r.id for r in kb.rules.values() if q.orders & set(r.orders)}
        mine = [f for f in findings if f.rule in rules and f.kind == "alert"]
        crit = [f for f in mine if f.severity == "critical"]
        warn = [f for f in mine if f.severity == "warning"]
        needed = {r for r in rules if kb.rules[r].severity in ("critical", "warning")}
        gaps = _missing_reasons(kb, missing, needed)
        hits: list[Finding]
        if crit:
            level, hits = "stop", crit
        elif warn:
            level, hits = "caution", warn
        elif gaps:
            level, hits = "unknown", []
        else:
            level, hits = "clear", []
        reasons = [r for f in hits for r in _reasons(f, zone)] if hits else gaps
        answered.update(f.rule for f in mine)
        out.append(
            Verdict(
                q.label,
                level,
                q.words[level],
                reasons,
                anchor=f"f-{hits[0].rule}" if hits else ("missing-heading" if gaps else None),
                blocks_schedules=q.blocks_schedules and level == "stop",
            )
        )
    others = [
        f
        for f in findings
        if f.kind == "alert" and f.severity in ("critical", "warning") and f.rule not in answered
    ]
    if others or not out:
        words = _config()["overall"]
        crit = [f for f in others if f.severity == "critical"]
        level = "stop" if crit else ("caution" if others else "clear")
        hits = crit or others
        n_crit, n_warn = len(crit), len(others) - len(crit)
        counts = []
        if n_crit:
            counts.append(f"{n_crit} {words['stop']}")
        if n_warn:
            counts.append(f"{n_warn} {words['caution']}{'s' if n_warn != 1 else ''}")
        answer = ", ".join(counts) if counts else words["clear"]
        label = words["label"] if not out else f"Other {words['label'].lower()}"
        reasons = [f.title for f in hits]
        if not hits and missing:
            level = "unknown"
            answer += f" ({len(missing)} item{'s' if len(missing) != 1 else ''} missing: not an all-clear)"
        out.append(
            Verdict(label, level, answer, reasons, anchor=f"f-{hits[0].rule}" if hits else None)
        )
    return out
