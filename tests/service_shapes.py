"""Every CDS Hooks request shape the service must handle, as (name, chart, drafts, tweak).

Used in-process and against the real server: drafts duplicated in the prefetch, drafts with other
statuses or without ids, other patients' resources, an unreadable value, a garbled draft entry,
the neonatal ceftriaxone + IV calcium pair, intrathecal and non-intrathecal orders.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Any

from service_cases import (
    LOINC,
    RXNORM,
    SCT,
    it_methotrexate_order,
    it_mtx_flow_block,
    lp_low_platelets,
    lp_order,
    observation,
    patient,
)

Tweak = Callable[[dict[str, Any]], None]
IV = ("47625008", "Intravenous route")
ORAL = ("26643006", "Oral route")


def med_order(
    pid: str, rid: str | None, code: str, name: str, route: tuple[str, str] | None
) -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "MedicationRequest", "status": "draft", "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": code, "display": name}], "text": name},
        "subject": {"reference": f"Patient/{pid}"},
    }  # fmt: skip
    if rid:
        res["id"] = rid
    if route:
        res["dosageInstruction"] = [
            {"route": {"coding": [{"system": SCT, "code": route[0], "display": route[1]}]}}
        ]
    return res


def _noop(_req: dict[str, Any]) -> None:
    return None


def _draft_status(status: str) -> Tweak:
    def tweak(req: dict[str, Any]) -> None:
        req["context"]["draftOrders"]["entry"][0]["resource"]["status"] = status

    return tweak


def _no_id(full_url: str | None) -> Tweak:
    def tweak(req: dict[str, Any]) -> None:
        entry = req["context"]["draftOrders"]["entry"][0]
        entry["resource"].pop("id", None)
        if full_url:
            entry["fullUrl"] = full_url
        req["context"]["selections"] = [full_url] if full_url else []

    return tweak


def _garbled_draft_entry(req: dict[str, Any]) -> None:
    req["context"]["draftOrders"]["entry"].append({"resource": "ServiceRequest/lp"})


def _outcome_entry(req: dict[str, Any]) -> None:
    req["prefetch"]["observations"]["entry"].append(
        {
            "resource": {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "information", "code": "informational"}],
            },
            "search": {"mode": "outcome"},
        }
    )


def shapes() -> list[tuple[str, str, list[dict[str, Any]], list[dict[str, Any]], Tweak]]:
    """(name, patient id, chart, drafts, tweak of the built request)."""
    lp_chart, lp_drafts = lp_low_platelets()
    it_chart, it_drafts = it_mtx_flow_block()
    neo_birth = (dt.date.today() - dt.timedelta(days=9)).isoformat()
    neo_chart = [patient("p-neo", birth=neo_birth, sex="male")]
    neo_drafts = [
        med_order("p-neo", "cro", "2193", "ceftriaxone", IV),
        med_order("p-neo", "cagluc", "1908", "calcium gluconate", IV),
    ]
    other = [
        observation("p-b", "plt-b", LOINC, "777-3", "Platelets", valueQuantity={"value": 20, "unit": "10*9/L"}),
        patient("p-b"),
    ]  # fmt: skip
    bad_value = observation(
        "p-lp", "crcl", LOINC, "35591-7", "Creatinine clearance",
        valueQuantity={"value": "<5", "unit": "mL/min"},
    )  # fmt: skip
    no_inr = [r for r in lp_chart if r.get("id") != "obs-inr"]
    existing_it = dict(it_methotrexate_order("p-it", "mtx-old"), status="active")
    return [
        ("lp-low-platelets", "p-lp", lp_chart, lp_drafts, _noop),
        ("draft-also-in-prefetch", "p-lp", [*lp_chart, dict(lp_drafts[0], status="active")], lp_drafts, _noop),
        ("draft-status-active", "p-lp", lp_chart, lp_drafts, _draft_status("active")),
        ("draft-status-completed", "p-lp", lp_chart, lp_drafts, _draft_status("completed")),
        ("draft-without-id", "p-it", it_chart, copy.deepcopy(it_drafts), _no_id(None)),
        ("draft-fullurl-only", "p-it", it_chart, copy.deepcopy(it_drafts), _no_id("urn:uuid:1b4e28ba-2fa1-11d2-883f-0016d3cca427")),
        ("other-patient-in-prefetch", "p-lp", [*lp_chart, *other], lp_drafts, _noop),
        ("unreadable-value", "p-lp", [*lp_chart, bad_value], lp_drafts, _noop),
        ("garbled-draft-entry", "p-lp", lp_chart, lp_drafts, _garbled_draft_entry),
        ("draft-for-other-patient", "p-lp", lp_chart, [lp_order("p-other")], _noop),
        ("neonate-ceftriaxone-calcium", "p-neo", neo_chart, neo_drafts, _noop),
        ("it-flow-block", "p-it", it_chart, it_drafts, _noop),
        ("iv-trastuzumab-with-it-order", "p-it", [*it_chart, existing_it],
         [med_order("p-it", "tras", "224905", "trastuzumab", IV)], _noop),
        ("oral-methotrexate-with-it-order", "p-it", [*it_chart, existing_it],
         [med_order("p-it", "mtx-po", "6851", "methotrexate", ORAL)], _noop),
        ("lp-without-inr", "p-lp", no_inr, lp_drafts, _noop),
        ("search-outcome-entry", "p-lp", lp_chart, lp_drafts, _outcome_entry),
        ("no-draft-orders", "p-lp", lp_chart, [], _noop),
    ]  # fmt: skip
