"""Assessment findings -> CDS Hooks cards.

Which findings become cards is data: a finding's rule lists the hooks it belongs to (``hooks``) and,
for order hooks, the order concepts that make it relevant (``orders``). Nothing here names a rule.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from leptoguide.assessment import Assessment, Citation, Finding, as_assessment
from leptoguide.case import Case
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.models import Rule
from leptoguide.knowledge.status import checked

SUMMARY_MAX = 139  # the spec asks for "<140 characters"
RULE_SYSTEM = "https://leptoguide.org/fhir/CodeSystem/rule"
OVERRIDE_SYSTEM = "https://leptoguide.org/fhir/CodeSystem/override-reason"
CARD_NAMESPACE = uuid.UUID("7b1f7c52-4d57-4a0c-9a7e-0c8f7d6c2a11")
INDICATORS = {"critical": "critical", "warning": "warning", "info": "info"}
OVERRIDE_REASONS: list[dict[str, str]] = [
    {
        "system": OVERRIDE_SYSTEM,
        "code": "benefit-outweighs-risk",
        "display": "Benefit outweighs the risk (reason documented)",
    },
    {
        "system": OVERRIDE_SYSTEM,
        "code": "data-incorrect",
        "display": "The recorded data are wrong or out of date",
    },
    {"system": OVERRIDE_SYSTEM, "code": "already-addressed", "display": "Already addressed"},
    {
        "system": OVERRIDE_SYSTEM,
        "code": "not-applicable",
        "display": "Does not apply to this patient",
    },
]


@dataclass(frozen=True)
class DraftOrder:
    concept: str
    reference: str | None
    text: str | None


def draft_orders(case: Case, selections: Iterable[str] | None = None) -> list[DraftOrder]:
    """Draft orders in the case; for order-select, the selected ones when they can be matched."""
    drafts = [DraftOrder(e.concept, e.reference, e.text) for e in case.medications if e.draft]
    drafts += [DraftOrder(e.concept, e.reference, e.text) for e in case.procedures if e.draft]
    chosen = set(selections or ())
    if chosen:
        picked = [d for d in drafts if d.reference in chosen]
        if picked:
            return picked
    return drafts


def relevant(rule: Rule, hook: str, orders: list[DraftOrder]) -> bool:
    if hook not in rule.hooks:
        return False
    if hook == "patient-view" or not rule.orders:
        return True
    return any(o.concept in rule.orders for o in orders)


def _clip(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1].rstrip() + "…"


def citations_markdown(kb: KnowledgeBase, citations: list[Citation], base: str) -> str:
    """Numbered references: source title, locator, and the statement they support."""
    lines: list[str] = []
    seen: set[tuple[str, str, str]] = set()
    for c in citations:
        key = (c.statement, c.source, c.locator)
        if key in seen:
            continue
        seen.add(key)
        src = kb.sources.get(c.source)
        title = src.title if src else c.source
        year = f" ({src.year})" if src and src.year else ""
        status = c.statement_status
        flag = "" if status in (None, "approved", "verified") else f" *[{status}]*"
        stmt = c.statement
        lines.append(
            f"{len(lines) + 1}. {title}{year}, {c.locator} "
            f"([statement {stmt}]({base}/kb/statements/{stmt})){flag}"
        )
    return "\n".join(lines)


def card_for(
    finding: Finding,
    rule: Rule,
    *,
    kb: KnowledgeBase,
    orders: list[DraftOrder],
    base: str,
    audit_id: str,
) -> dict[str, Any]:
    """One CDS Hooks card for one finding."""
    parts = [finding.detail.strip()]
    if finding.thresholds:
        parts.append(
            "**Site policy used:** "
            + "; ".join(
                f"{t.id} = {t.value}{' ' + t.unit if t.unit else ''}"
                + (" (site override)" if t.overridden else "")
                for t in finding.thresholds
            )
        )
    if not checked(finding.evidence_status):
        parts.append(
            "*Draft: part of this rule or its evidence has not been checked against the "
            "cited source.*"
        )
    refs = citations_markdown(kb, finding.citations, base)
    if refs:
        parts.append("**Sources**\n\n" + refs)
    first_statement = next((c.statement for c in finding.citations if c.statement), None)
    card: dict[str, Any] = {
        "uuid": str(uuid.uuid5(CARD_NAMESPACE, f"{audit_id}/{rule.id}")),
        "summary": _clip(finding.summary or rule.title),
        "detail": "\n\n".join(p for p in parts if p),
        "indicator": INDICATORS.get(finding.severity, "info"),
        "source": {
            "label": "LeptoGuide",
            "url": f"{base}/kb/statements/{first_statement}"
            if first_statement
            else f"{base}/kb/rules",
            "topic": {"system": RULE_SYSTEM, "code": rule.id, "display": rule.title},
        },
        "links": [
            {
                "label": "Full cited assessment in LeptoGuide",
                "url": f"{base}/assess/{audit_id}",
                "type": "absolute",
            }
        ],
    }
    if rule.suggestion_action == "delete-order":
        targets = [o for o in orders if o.concept in rule.orders and o.reference]
        suggestions = [
            {
                "label": _clip(rule.suggestion or f"Remove the {o.text or o.concept} order"),
                "uuid": str(uuid.uuid5(CARD_NAMESPACE, f"{audit_id}/{rule.id}/{o.reference}")),
                "isRecommended": rule.severity == "critical",
                "actions": [
                    {
                        "type": "delete",
                        "description": f"Remove the draft order {o.reference}",
                        "resourceId": o.reference,
                    }
                ],
            }
            for o in targets
        ]
        if suggestions:
            card["suggestions"] = suggestions
            card["selectionBehavior"] = "at-most-one"
    if card["indicator"] != "info":
        card["overrideReasons"] = [dict(r) for r in OVERRIDE_REASONS]
    return card


def missing_data_card(
    assessment: Assessment, rule_ids: set[str], *, base: str, audit_id: str
) -> dict[str, Any] | None:
    """One info card listing data the shown rules could not decide without."""
    items = [m for m in assessment.missing if not rule_ids or set(m.needed_for) & rule_ids]
    if not items:
        return None
    lines = [
        f"- **{m.item}** ({m.status}): {m.suggestion}; needed for " + ", ".join(m.needed_for)
        for m in items
    ]
    names = ", ".join(m.item for m in items[:4])
    more = f" and {len(items) - 4} more" if len(items) > 4 else ""
    return {
        "uuid": str(uuid.uuid5(CARD_NAMESPACE, f"{audit_id}/missing-data")),
        "summary": _clip(f"Missing or stale data: {names}{more}"),
        "detail": "Rules that could not be decided without these data:\n\n" + "\n".join(lines),
        "indicator": "info",
        "source": {
            "label": "LeptoGuide",
            "url": f"{base}/assess/{audit_id}",
            "topic": {"system": RULE_SYSTEM, "code": "missing-data", "display": "Missing data"},
        },
        "links": [
            {
                "label": "Full cited assessment in LeptoGuide",
                "url": f"{base}/assess/{audit_id}",
                "type": "absolute",
            }
        ],
    }


def build_cards(
    assessment: Assessment | Mapping[str, object],
    case: Case,
    *,
    kb: KnowledgeBase,
    hook: str,
    base: str,
    audit_id: str,
    selections: list[str] | None = None,
) -> list[dict[str, Any]]:
    """The cards for ``hook``: relevant findings (severity order kept), then missing data."""
    assessment = as_assessment(assessment)
    orders = draft_orders(case, selections) if hook != "patient-view" else []
    cards: list[dict[str, Any]] = []
    shown: set[str] = set()
    for finding in assessment.findings:
        rule = kb.rules.get(finding.rule)
        if rule is None or not relevant(rule, hook, orders):
            continue
        shown.add(rule.id)
        cards.append(card_for(finding, rule, kb=kb, orders=orders, base=base, audit_id=audit_id))
    if hook == "patient-view":
        hook_rules = {r.id for r in kb.rules.values() if hook in r.hooks}
        extra = missing_data_card(assessment, hook_rules, base=base, audit_id=audit_id)
        if extra:
            cards.append(extra)
    return cards
