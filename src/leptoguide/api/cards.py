"""Assessment findings -> CDS Hooks cards.

Which findings become cards is data: a finding's rule lists the hooks it belongs to (``hooks``) and,
for order hooks, the order concepts that make it relevant (``orders``). Nothing here names a rule.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from leptoguide.assessment import Assessment, Citation, Finding
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


def _topic_bits(topic: str) -> bytes:
    return hashlib.sha256(topic.encode()).digest()[:8]


def card_uuid(audit_id: str, topic: str) -> str:
    """A card's uuid: unique per assessment and topic, and carrying the topic (a rule id, or
    ``missing-data`` / ``not-read``) so feedback can be counted per rule without storing cards.

    RFC 9562 version 8 (custom) layout: bytes 0-7 from ``uuid5(audit/topic)``, bytes 8-15 the
    first bytes of SHA-256(topic), with the version and variant bits set."""
    head = uuid.uuid5(CARD_NAMESPACE, f"{audit_id}/{topic}").bytes[:8]
    raw = bytearray(head + _topic_bits(topic))
    raw[6] = (raw[6] & 0x0F) | 0x80
    raw[8] = (raw[8] & 0x3F) | 0x80
    return str(uuid.UUID(bytes=bytes(raw)))


def card_topic(card: str, topics: Iterable[str]) -> str | None:
    """The topic (of ``topics``) a card uuid made by :func:`card_uuid` carries, if any."""
    try:
        raw = uuid.UUID(card).bytes
    except ValueError:
        return None
    if raw[6] >> 4 != 8:
        return None
    tail = bytes([raw[8] & 0x3F]) + raw[9:]
    for topic in topics:
        bits = _topic_bits(topic)
        if bytes([bits[0] & 0x3F]) + bits[1:] == tail:
            return topic
    return None


@dataclass(frozen=True)
class DraftOrder:
    concept: str
    reference: str | None
    text: str | None
    route: str | None = None
    medication: bool = False


def draft_orders(
    case: Case,
    selections: Iterable[str] | None = None,
    draft_refs: Iterable[str] | None = None,
) -> list[DraftOrder]:
    """The orders being placed: those of ``draft_refs`` (the request's draftOrders) when given,
    else every draft in the case; for order-select, the selected ones when they can be matched."""
    refs = set(draft_refs) if draft_refs is not None else None

    def is_draft(reference: str | None, draft: bool) -> bool:
        return reference in refs if refs is not None else draft

    drafts = [
        DraftOrder(e.concept, e.reference, e.text, e.route, True)
        for e in case.medications
        if is_draft(e.reference, e.draft)
    ]
    drafts += [
        DraftOrder(e.concept, e.reference, e.text)
        for e in case.procedures
        if is_draft(e.reference, e.draft)
    ]
    chosen = set(selections or ())
    if chosen:
        picked = [d for d in drafts if d.reference in chosen]
        if picked:
            return picked
    return drafts


def order_matches(rule: Rule, order: DraftOrder, concepts: Iterable[str] | None = None) -> bool:
    """The order is one of ``concepts`` (default: the rule's orders), by a route the rule names."""
    if order.concept not in (rule.orders if concepts is None else concepts):
        return False
    if order.medication and rule.order_routes:
        return order.route in rule.order_routes
    return True


def relevant(rule: Rule, hook: str, orders: list[DraftOrder]) -> bool:
    if hook not in rule.hooks:
        return False
    if hook == "patient-view" or not rule.orders:
        return True
    return any(order_matches(rule, o) for o in orders)


_KEY_ORDER = (
    "patient",
    "observations",
    "medicationRequests",
    "medicationStatements",
    "medicationAdministrations",
)
"""Prefetch keys named first when the not-read card's summary lists keys not obtained."""


def _clip(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1].rstrip() + "…"


def assessment_links(base: str, audit_id: str, smart: bool) -> list[dict[str, Any]]:
    """The card's link to the full cited assessment: a SMART launch (``appContext`` = the audit
    id, so the EHR session opens it without a second sign-in) when SMART is configured, else the
    page itself."""
    if smart:
        return [
            {
                "label": "Full cited assessment in LeptoGuide",
                "url": f"{base}/smart/launch",
                "type": "smart",
                "appContext": audit_id,
            }
        ]
    return [
        {
            "label": "Full cited assessment in LeptoGuide",
            "url": f"{base}/assess/{audit_id}",
            "type": "absolute",
        }
    ]


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


def suggestion_citations(kb: KnowledgeBase, rule: Rule) -> list[Citation]:
    """Citations of the statements behind the rule's suggestions (first source of each)."""
    out: list[Citation] = []
    for sug in rule.suggestions:
        for sid in sug.cites:
            st = kb.statements.get(sid)
            if st is None or not st.sources:
                continue
            out.append(
                Citation(
                    statement=sid,
                    source=st.sources[0].source,
                    locator=st.sources[0].locator,
                    statement_status=st.status,
                )
            )
    return out


def _not_recorded(finding: Finding, assessment_missing: set[str], facts: list[str]) -> bool:
    status = {i.fact: i.status for i in finding.inputs}
    return any((status[f] != "ok") if f in status else (f in assessment_missing) for f in facts)


def order_resource(kb: KnowledgeBase, concept_id: str, patient_id: str | None) -> dict[str, Any]:
    """A draft order (proposal) for a concept, coded from the terminology."""
    concept = kb.concepts[concept_id]
    code: dict[str, Any] = {"text": concept.display}
    codings = [
        {"system": c.system, "code": c.code, "display": c.display or concept.display}
        for c in concept.codes
        if "*" not in c.code
    ]
    if codings:
        code["coding"] = codings
    res: dict[str, Any] = {"status": "draft", "intent": "proposal"}
    if concept.kind == "medication":
        res = {
            "resourceType": "MedicationRequest",
            **res,
            "medicationCodeableConcept": code,
        }
    else:
        res = {"resourceType": "ServiceRequest", **res, "code": code}
    if patient_id:
        res["subject"] = {"reference": f"Patient/{patient_id}"}
    return res


def build_suggestions(
    finding: Finding,
    rule: Rule,
    *,
    kb: KnowledgeBase,
    orders: list[DraftOrder],
    audit_id: str,
    patient_id: str | None,
    assessment_missing: set[str] | None = None,
) -> list[dict[str, Any]]:
    """The card's suggestions: each delete or replace names the exact draft order it acts on;
    in an ``at-most-one`` group only the first recommended suggestion stays recommended."""
    specs = list(rule.suggestions)
    if not specs and rule.suggestion_action == "delete-order":
        from leptoguide.knowledge.models import OrderSuggestion

        specs = [
            OrderSuggestion(
                action="delete",
                label=rule.suggestion or "Remove the order",
                targets=list(rule.orders),
                recommended=rule.severity == "critical",
            )
        ]
    out: list[dict[str, Any]] = []
    for n, spec in enumerate(specs):
        if spec.action == "create":
            if spec.when_not_recorded and not _not_recorded(
                finding, assessment_missing or set(), spec.when_not_recorded
            ):
                continue
            assert spec.concept is not None
            display = kb.concepts[spec.concept].display
            out.append(
                {
                    "label": _clip(spec.label),
                    "uuid": str(uuid.uuid5(CARD_NAMESPACE, f"{audit_id}/{rule.id}/{n}")),
                    "isRecommended": spec.recommended,
                    "actions": [
                        {
                            "type": "create",
                            "description": f"Add an order: {display}",
                            "resource": order_resource(kb, spec.concept, patient_id),
                        }
                    ],
                }
            )
            continue
        for o in orders:
            if not o.reference or not order_matches(rule, o, spec.targets):
                continue
            concept = kb.concepts.get(o.concept)
            name = o.text or (concept.display if concept else o.concept)
            actions: list[dict[str, Any]] = [
                {
                    "type": "delete",
                    "description": f"Remove the draft order {o.reference} ({name})",
                    "resourceId": o.reference,
                }
            ]
            if spec.action == "replace":
                assert spec.concept is not None
                actions.append(
                    {
                        "type": "create",
                        "description": f"Add an order: {kb.concepts[spec.concept].display} "
                        "(dose and route to be completed)",
                        "resource": order_resource(kb, spec.concept, patient_id),
                    }
                )
            out.append(
                {
                    "label": _clip(spec.label),
                    "uuid": str(
                        uuid.uuid5(CARD_NAMESPACE, f"{audit_id}/{rule.id}/{n}/{o.reference}")
                    ),
                    "isRecommended": spec.recommended,
                    "actions": actions,
                }
            )
    if rule.selection == "at-most-one":
        seen = False
        for sug in out:
            if sug["isRecommended"] and seen:
                sug["isRecommended"] = False
            seen = seen or sug["isRecommended"]
    return out


def card_for(
    finding: Finding,
    rule: Rule,
    *,
    kb: KnowledgeBase,
    orders: list[DraftOrder],
    base: str,
    audit_id: str,
    patient_id: str | None = None,
    assessment_missing: set[str] | None = None,
    smart: bool = False,
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
    refs = citations_markdown(kb, [*finding.citations, *suggestion_citations(kb, rule)], base)
    if refs:
        parts.append("**Sources**\n\n" + refs)
    first_statement = next((c.statement for c in finding.citations if c.statement), None)
    card: dict[str, Any] = {
        "uuid": card_uuid(audit_id, rule.id),
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
        "links": assessment_links(base, audit_id, smart),
    }
    suggestions = build_suggestions(
        finding,
        rule,
        kb=kb,
        orders=orders,
        audit_id=audit_id,
        patient_id=patient_id,
        assessment_missing=assessment_missing,
    )
    if suggestions:
        card["suggestions"] = suggestions
        card["selectionBehavior"] = rule.selection
    if card["indicator"] != "info":
        card["overrideReasons"] = [dict(r) for r in OVERRIDE_REASONS]
    return card


def missing_data_card(
    assessment: Assessment, rule_ids: set[str], *, base: str, audit_id: str, smart: bool = False
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
        "uuid": card_uuid(audit_id, "missing-data"),
        "summary": _clip(f"Missing or stale data: {names}{more}"),
        "detail": "Rules that could not be decided without these data:\n\n" + "\n".join(lines),
        "indicator": "info",
        "source": {
            "label": "LeptoGuide",
            "url": f"{base}/assess/{audit_id}",
            "topic": {"system": RULE_SYSTEM, "code": "missing-data", "display": "Missing data"},
        },
        "links": assessment_links(base, audit_id, smart),
    }


def dropped_card(
    dropped: list[tuple[str, str | None, str]],
    *,
    base: str,
    audit_id: str,
    smart: bool = False,
    unobtained: dict[str, str] | None = None,
    checks: list[tuple[str, str]] | None = None,
) -> dict[str, Any] | None:
    """One card listing what the request held that could not be used (location, reference, why),
    the prefetch data that could not be obtained at all (key, why), and what the reader could
    not use that a safety check may need (``checks``: an unrecognised drug with an LP order).

    A warning when a draft order is among them (that order was not checked), a whole kind of
    data could not be obtained (the checks that need it were not done) or a check is named,
    else info."""
    unobtained = unobtained or {}
    checks = checks or []
    if not dropped and not unobtained and not checks:
        return None
    draft = any(where.startswith("context.draftOrders") for where, _, _ in dropped)
    lines = [
        f"- `prefetch.{key}`: could not be obtained ({why}); the checks that need it were not done"
        for key, why in sorted(unobtained.items())
    ]
    lines += [f"- `{where}`: {message}" for where, message in checks]
    lines += [
        f"- `{where}`" + (f" ({ref})" if ref else "") + f": {why}" for where, ref, why in dropped
    ]
    if draft:
        head = "A draft order could not be read and was not checked"
    elif unobtained:
        keys = sorted(unobtained, key=lambda k: (_KEY_ORDER.index(k) if k in _KEY_ORDER else 99, k))
        shown = ", ".join(keys[:4]) + (f" and {len(keys) - 4} more" if len(keys) > 4 else "")
        head = f"Not obtained: {shown}; checks needing it not done"
    elif checks:
        head = f"{len(checks)} drug(s) not recognised: check before the LP"
    else:
        head = f"{len(dropped)} resource(s) in the request could not be used"
    return {
        "uuid": card_uuid(audit_id, "not-read"),
        "summary": _clip(f"{head}; the rest was assessed."),
        "detail": "Left out of this assessment (missing data is never read as safe):\n\n"
        + "\n".join(lines[:50])
        + (f"\n- and {len(lines) - 50} more" if len(lines) > 50 else ""),
        "indicator": "warning" if draft or unobtained or checks else "info",
        "source": {
            "label": "LeptoGuide",
            "url": f"{base}/assess/{audit_id}",
            "topic": {"system": RULE_SYSTEM, "code": "not-read", "display": "Data not read"},
        },
        "links": assessment_links(base, audit_id, smart),
    }


def build_cards(
    assessment: Assessment,
    case: Case,
    *,
    kb: KnowledgeBase,
    hook: str,
    base: str,
    audit_id: str,
    selections: list[str] | None = None,
    draft_refs: list[str] | None = None,
    patient_id: str | None = None,
    dropped: list[tuple[str, str | None, str]] | None = None,
    smart: bool = False,
    unobtained: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """The cards for ``hook``: relevant findings (severity order kept), then missing data, then
    what could not be read."""
    orders = draft_orders(case, selections, draft_refs) if hook != "patient-view" else []
    missing = {m.item for m in assessment.missing}
    cards: list[dict[str, Any]] = []
    shown: set[str] = set()
    for finding in assessment.findings:
        rule = kb.rules.get(finding.rule)
        if rule is None or not relevant(rule, hook, orders):
            continue
        shown.add(rule.id)
        cards.append(
            card_for(
                finding,
                rule,
                kb=kb,
                orders=orders,
                base=base,
                audit_id=audit_id,
                patient_id=patient_id,
                assessment_missing=missing,
                smart=smart,
            )
        )
    if hook == "patient-view":
        hook_rules = {r.id for r in kb.rules.values() if hook in r.hooks}
        extra = missing_data_card(assessment, hook_rules, base=base, audit_id=audit_id, smart=smart)
        if extra:
            cards.append(extra)
    not_read = dropped_card(
        dropped or [],
        base=base,
        audit_id=audit_id,
        smart=smart,
        unobtained=unobtained,
        checks=list(dict.fromkeys((w.where, w.message) for w in case.warnings if w.check)),
    )
    if not_read:
        cards.append(not_read)
    return cards
