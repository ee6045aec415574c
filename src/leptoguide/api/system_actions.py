"""CDS Hooks ``systemActions``: records the EHR may apply without a user, opt-in per site.

CDS Hooks 2.0 lets a response carry, next to its cards, actions "that the CDS Service proposes
to auto-apply"; "the CDS Client decides whether to auto-apply actions". The specification's
current text adds that auto-applied actions bypass human review and suit only specific,
pre-coordinated scenarios, such as saving an identifier of the service's determination.

So the service offers exactly one system action, and only when the site turns it on
(``LEPTOGUIDE_CDS_SYSTEM_ACTIONS=detected-issue``, agreed with the EHR): at **order-sign**, a
``create`` of one FHIR R4 ``DetectedIssue`` (status ``preliminary``) per warning or critical card
about a draft order, naming the rule, the implicated draft orders, the card and the cited
assessment. It records what was shown; it changes no order. Orders are only ever changed by the
user through a card's suggestions (delete, replace, create), never by a system action. Not at
order-select (called again with every selection, so each would leave another record) nor at
patient-view (every chart opening).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from leptoguide.api.cards import RULE_SYSTEM, DraftOrder, order_matches
from leptoguide.errors import InputError
from leptoguide.knowledge.loader import KnowledgeBase

DETECTED_ISSUE = "detected-issue"
KNOWN = frozenset({DETECTED_ISSUE})
HOOKS = frozenset({"order-sign"})
CARD_SYSTEM = "https://leptoguide.org/fhir/NamingSystem/cds-card"
SEVERITY = {"critical": "high", "warning": "moderate"}
"""Card indicator -> DetectedIssue.severity; info cards record nothing."""


def check_system_actions(names: Iterable[str]) -> tuple[str, ...]:
    """The configured system actions, or an InputError naming an unknown one (refused at start)."""
    out = tuple(names)
    for name in out:
        if name not in KNOWN:
            raise InputError(
                "LEPTOGUIDE_CDS_SYSTEM_ACTIONS",
                f"unknown system action {name!r} (known: {', '.join(sorted(KNOWN))})",
                "cds_system_actions",
            )
    return out


def describe(enabled: Iterable[str], hook: str) -> str | None:
    """One sentence for the discovery document's ``usageRequirements``, when a system action is on."""
    if DETECTED_ISSUE in enabled and hook in HOOKS:
        return (
            "This site has enabled systemActions: each warning or critical card about a draft "
            "order comes with a create of a DetectedIssue (status preliminary) recording it; "
            "no system action changes an order."
        )
    return None


def system_actions(
    cards: list[dict[str, Any]],
    *,
    enabled: Iterable[str],
    hook: str,
    kb: KnowledgeBase,
    orders: list[DraftOrder],
    patient_id: str | None,
    identified: str,
    assessment_url: str,
) -> list[dict[str, Any]]:
    """The response's system actions (empty unless enabled and the hook is order-sign)."""
    if DETECTED_ISSUE not in enabled or hook not in HOOKS:
        return []
    out: list[dict[str, Any]] = []
    for card in cards:
        severity = SEVERITY.get(str(card.get("indicator")))
        rule = kb.rules.get(str(card.get("source", {}).get("topic", {}).get("code")))
        if severity is None or rule is None:
            continue
        implicated = [o.reference for o in orders if o.reference and order_matches(rule, o)]
        if not implicated:
            continue
        issue: dict[str, Any] = {
            "resourceType": "DetectedIssue",
            "identifier": [{"system": CARD_SYSTEM, "value": f"urn:uuid:{card['uuid']}"}],
            "status": "preliminary",
            "code": {
                "coding": [{"system": RULE_SYSTEM, "code": rule.id, "display": rule.title}],
                "text": rule.title,
            },
            "severity": severity,
            "identifiedDateTime": identified,
            "implicated": [{"reference": ref} for ref in implicated],
            "detail": card["summary"],
            "reference": assessment_url,
        }
        if patient_id:
            issue["patient"] = {"reference": f"Patient/{patient_id}"}
        out.append(
            {
                "type": "create",
                "description": f"Record the issue shown at signing: {rule.title}",
                "resource": issue,
            }
        )
    return out
