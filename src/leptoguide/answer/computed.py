"""Computed answers: a question that carries patient values is answered by the assessment engine.

"plt 35, ok to tap?" names an intent (LP safety, from the question vocabulary) and a value
(platelets 35). The values read, plus the intent's case fragment (a planned LP), become a case file
that the ordinary case-file reader validates and the engine assesses under the site policy. The
answer leads with the findings of the intent's rules, shows the thresholds with their sources and
alternatives, lists the values read (so the user can correct them), says what is missing, and
links to the assessment form pre-filled. No threshold, dose or drug name lives in this module.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from leptoguide.answer.settings import SETTINGS
from leptoguide.answer.values import ValuesRead
from leptoguide.answer.vocabulary import Intent
from leptoguide.errors import LeptoGuideError

if TYPE_CHECKING:
    from leptoguide.assessment import Assessment, Finding, MissingItem, Threshold
    from leptoguide.knowledge.loader import KnowledgeBase
    from leptoguide.policy import Policy

FORM_ROUTE = "/assess"


@dataclass
class Computed:
    intent: Intent
    assessment: Assessment
    lead: list[Finding]
    also: list[Finding]
    missing: list[MissingItem]
    values: ValuesRead
    form_link: str
    thresholds: list[Threshold] = field(default_factory=list)
    unchecked: list[str] = field(default_factory=list)
    """Drugs read from the question that the intent's rules do not cover (or that the terminology
    does not know): they cannot be checked, so nothing about them is said to be clear."""
    more: list[Computed] = field(default_factory=list)
    """Other intents of the same question the engine also answered ("ceftriaxone and dex doses
    for ..."): their lead findings follow this one's."""


def build_case(intent: Intent, values: ValuesRead) -> dict[str, Any]:
    """The case file: values read plus the intent's fragment (lists are joined)."""
    doc: dict[str, Any] = {
        k: (list(v) if isinstance(v, list) else v) for k, v in values.case.items()
    }
    for key, val in intent.case.items():
        if isinstance(val, list):
            items = [dict(x) if isinstance(x, dict) else x for x in val]
            if key == "orders":
                for item in items:
                    if not isinstance(item, dict) or "time" in item:
                        continue
                    if values.procedure_time and item.get("type") == "lumbar-puncture":
                        item["time"] = values.procedure_time
                    elif values.start:
                        item["time"] = values.start
            doc[key] = [*doc.get(key, []), *items]
        elif isinstance(val, dict):
            doc[key] = {**val, **doc.get(key, {})}
        else:
            doc.setdefault(key, val)
    return doc


def form_link(intent: Intent, values: ValuesRead) -> str:
    """The assessment form route with the values read as query parameters (form field names)."""
    params = values.form()
    orders = [o for o in intent.case.get("orders", []) if isinstance(o, dict)]
    types = [str(o["type"]) for o in orders if "type" in o]
    if types:
        params["orders"] = ",".join(types)
    drugs = [str(o["drug"]) for o in orders if o.get("route") == "intrathecal" and "drug" in o]
    if drugs:
        params["it_drug"] = drugs[0]
    conditions = [str(c) for c in intent.case.get("conditions", []) if isinstance(c, str)]
    if conditions:
        params["conditions"] = ",".join(conditions)
    if values.start:
        params["date"] = values.start
    return f"{FORM_ROUTE}?{urlencode(params)}" if params else FORM_ROUTE


def unchecked_drugs(intent: Intent, values: ValuesRead, kb: KnowledgeBase) -> list[str]:
    """Drugs the question names that the intent cannot check: those no regimen of the intent's
    ``checks_drugs`` lists, and names the terminology does not know ("bivalirudin infusion")."""
    if not intent.checks_drugs:
        return []
    covered = {d for rid in intent.checks_drugs if (reg := kb.regimens.get(rid)) for d in reg.drugs}
    read = [str(m["drug"]) for m in values.case.get("medications", []) if isinstance(m, dict)]
    return [d for d in dict.fromkeys(read) if d not in covered] + list(values.unknown_drugs)


def compute(
    intent: Intent,
    values: ValuesRead,
    *,
    kb: KnowledgeBase,
    policy: Policy,
    at: dt.datetime,
    audience: str,
) -> Computed | None:
    """Run the engine for ``intent`` with ``values``; None when the values cannot be read."""
    from leptoguide.engine import assess
    from leptoguide.intake.casefile import read_casefile

    if values.now:  # the question's own time ("it's 09:00 now")
        at = dt.datetime.fromisoformat(values.now)
    doc = build_case(intent, values)
    try:
        case = read_casefile(doc, name="question", kb=kb)
    except LeptoGuideError:
        return None
    result = assess(case, kb=kb, policy=policy, at=at, audience=audience)
    order = {rid: i for i, rid in enumerate(intent.rules)}
    mine = sorted((f for f in result.findings if f.rule in order), key=lambda f: order[f.rule])
    lead = mine[: SETTINGS.max_lead_findings]
    urgent = [
        f
        for f in result.findings
        if f not in lead and (f.rule in order or f.severity in ("critical", "warning"))
    ]
    missing = [m for m in result.missing if any(r in order for r in m.needed_for)]
    thresholds: list[Threshold] = []
    seen: set[str] = set()
    for f in lead:
        for t in f.thresholds:
            if t.id not in seen:
                seen.add(t.id)
                thresholds.append(t)
    return Computed(
        unchecked=unchecked_drugs(intent, values, kb),
        intent=intent,
        assessment=result,
        lead=lead,
        also=urgent,
        missing=missing,
        values=values,
        form_link=form_link(intent, values),
        thresholds=thresholds,
    )


__all__ = ["FORM_ROUTE", "Computed", "build_case", "compute", "form_link", "unchecked_drugs"]
