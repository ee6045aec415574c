"""One bad field never hides a home anticoagulant, an LP order or the whole chart: a record whose
code is still recognisable is kept with its time unknown, and a Patient that no reference can name
does not turn the chart into "another patient's". Epic- and Cerner-shaped records with one field
malformed, as interface errors produce them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from intake_helpers import RXNORM, SNOMED, dumps
from leptoguide.engine import assess
from leptoguide.intake import read_input
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.policy import load_policy

AT = dt.datetime(2026, 12, 4, 8, tzinfo=dt.UTC)
SUBJECT = {"reference": "Patient/eRk2.9"}


def chart(*changes: tuple[int, str, Any]) -> list[dict[str, Any]]:
    resources: list[dict[str, Any]] = [
        {"resourceType": "Patient", "id": "eRk2.9", "birthDate": "1957-07-21", "gender": "male"},
        {
            "resourceType": "ServiceRequest",
            "id": "SR-LP-1",
            "status": "active",
            "intent": "order",
            "subject": SUBJECT,
            "code": {
                "coding": [{"system": SNOMED, "code": "277762005", "display": "Lumbar puncture"}]
            },
            "occurrenceDateTime": "2026-12-04T10:00:00Z",
        },
        {
            "resourceType": "MedicationStatement",
            "id": "eMS-1",
            "status": "active",
            "subject": SUBJECT,
            "medicationCodeableConcept": {
                "coding": [
                    {"system": RXNORM, "code": "1364445", "display": "apixaban 5 MG Oral Tablet"}
                ],
                "text": "ELIQUIS 5 MG TABLET",
            },
            "effectiveDateTime": "2026-12-04T06:00:00Z",
            "dosage": [{"text": "1 tablet twice a day"}],
        },
    ]
    for index, key, value in changes:
        resources[index][key] = value
    return resources


def findings(resources: list[dict[str, Any]], kb: KnowledgeBase) -> dict[str, str]:
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": r} for r in resources]}  # fmt: skip
    case = read_input(dumps(bundle), name="chart.json", kb=kb)
    result = assess(case, kb=kb, policy=load_policy(kb), at=AT)
    return {f.rule: f.summary for f in result.findings}


@pytest.mark.parametrize(
    "change",
    [
        (2, "effectiveDateTime", "2026-13-45T10:00:00"),  # impossible date
        (2, "dosage", {"text": "1 tablet twice a day"}),  # an object where a list belongs
        (2, "effectivePeriod", {"start": 20261204}),  # a number where a date belongs
    ],
)
def test_a_home_anticoagulant_with_one_bad_field_is_timing_unknown(
    shipped_kb: KnowledgeBase, change: tuple[int, str, Any]
) -> None:
    got = findings(chart(change), shipped_kb)
    assert "lp-anticoagulant-interval-met" not in got
    assert "apixaban" in got.get("lp-anticoagulant-timing", ""), got


def test_an_lp_order_with_a_bad_time_is_still_an_lp_order(shipped_kb: KnowledgeBase) -> None:
    got = findings(chart((1, "occurrenceDateTime", 20261204)), shipped_kb)
    assert "apixaban" in got.get("lp-anticoagulant-timing", ""), got


def test_a_patient_no_reference_can_name_does_not_silence_the_chart(
    shipped_kb: KnowledgeBase,
) -> None:
    resources = chart((0, "id", 5))
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": r} for r in resources]}  # fmt: skip
    case = read_input(dumps(bundle), name="chart.json", kb=shipped_kb)
    assert any("no id or fullUrl" in w.message for w in case.warnings), case.warnings
    assert not any(d.kind == "other-patient" for d in case.dropped), case.dropped
    assert "apixaban" in findings(resources, shipped_kb).get("lp-anticoagulant-timing", "")


def test_a_report_with_one_malformed_attachment_still_gives_its_conclusion(
    shipped_kb: KnowledgeBase,
) -> None:
    """Epic radiology report: the impression in ``conclusion``, and a rendered report attachment
    whose ``data`` came through the interface as a number."""
    mri = {
        "resourceType": "DiagnosticReport",
        "id": "eRAD-88",
        "status": "final",
        "subject": SUBJECT,
        "category": [{"coding": [{"code": "RAD"}]}],
        "code": {"text": "MRI BRAIN W WO CONTRAST"},
        "effectiveDateTime": "2026-12-02T10:00:00Z",
        "conclusion": "IMPRESSION: Linear leptomeningeal enhancement along the cerebellar folia.",
        "presentedForm": [{"contentType": "application/pdf", "data": 1}],
    }
    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [{"resource": r} for r in [*chart(), mri]]}  # fmt: skip
    case = read_input(dumps(bundle), name="chart.json", kb=shipped_kb)
    found = case.latest("mri-lm-pattern")
    assert found is not None and found.value == "linear", found
    assert any(
        w.where == "DiagnosticReport/eRAD-88" and "that part not read" in w.message
        for w in case.warnings
    ), case.warnings
