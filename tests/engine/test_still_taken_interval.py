"""A medicine-list entry (MedicationStatement) that says a drug is still being taken, with one time
and no frequency: the dosing interval assumed is site policy, and the LP hold is never shown as met
from that time (a dose may have been taken since). Epic-style home-medication entry."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from intake_helpers import RXNORM, SNOMED, bundle, dumps
from leptoguide.assessment import AntithromboticTiming
from leptoguide.engine.derive import build_facts
from leptoguide.intake import read_input
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.policy import Policy, load_policy

AT = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)
PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1950-05-06", "gender": "female"}
LP = {
    "resourceType": "ServiceRequest",
    "id": "lp1",
    "status": "draft",
    "intent": "order",
    "subject": {"reference": "Patient/p1"},
    "code": {"coding": [{"system": SNOMED, "code": "277762005", "display": "Lumbar puncture"}]},
    "occurrenceDateTime": "2026-11-21T12:00:00Z",
}


def heparin_statement(when: str, dosage: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "resourceType": "MedicationStatement",
        "id": "eMS-22",
        "status": "active",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": "5224", "display": "heparin"}],
            "text": "HEPARIN 5,000 UNIT/ML INJECTION",
        },
        "effectiveDateTime": when,
        "dosage": [
            dosage or {"text": "Inject 5,000 Units under the skin", "route": {"text": "SC"}}
        ],
    }


def timing(kb: KnowledgeBase, statement: dict[str, Any], policy: Policy) -> dict[str, Any]:
    case = read_input(dumps(bundle(PATIENT, LP, statement)), name="chart.json", kb=kb)
    value = build_facts(case, kb=kb, policy=policy, at=AT).get("lp-antithrombotics").value
    assert isinstance(value, AntithromboticTiming)
    return next(d for d in value.drugs if d.drug == "heparin").__dict__


def test_no_frequency_never_clears_the_hold(shipped_kb: KnowledgeBase) -> None:
    """Recorded 10 h before the LP, the heparin hold is 6 h: without a frequency, a dose may have
    been given since (heparin is often given two or three times a day)."""
    got = timing(shipped_kb, heparin_statement("2026-11-21T02:00:00Z"), load_policy(shipped_kb))
    assert got["status"] == "unknown", got
    assert "no frequency" in got["note"] and "confirm the time of the last dose" in got["note"]


def test_a_frequency_recorded_lets_the_hold_be_judged(shipped_kb: KnowledgeBase) -> None:
    once = {
        "text": "once daily",
        "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
    }
    got = timing(
        shipped_kb, heparin_statement("2026-11-21T02:00:00Z", once), load_policy(shipped_kb)
    )
    assert got["status"] == "clear", got


def test_the_interval_is_site_policy(shipped_kb: KnowledgeBase, tmp_path: Path) -> None:
    param = shipped_kb.parameters["still-taken-dosing-interval-hours"]
    assert param.default == 24 and param.statement
    site = tmp_path / "site.yaml"
    site.write_text(
        "policy:\n  id: st-example\n  values:\n    still-taken-dosing-interval-hours: 8\n"
    )
    got = timing(
        shipped_kb, heparin_statement("2026-11-21T02:00:00Z"), load_policy(shipped_kb, site)
    )
    assert got["status"] == "unknown" and "the last dose is not known" in got["note"], got
    assert "more than 8 h ago" in got["note"]
