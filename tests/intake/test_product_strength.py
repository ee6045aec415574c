"""Dose from the product: an order that names an RxNorm product (or a product text) and gives no
dose quantity takes one unit of the product as the dose when that is unambiguous, says where the
dose came from, and says "dose unknown" otherwise. Orders are shaped as Epic (Medication
reference with an Epic local code beside RxNorm, a sig text, no doseAndRate) and Cerner
(medicationCodeableConcept with RxNorm, a count dose '1 syringe') export them."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from intake_helpers import RXNORM, bundle, dumps
from leptoguide.assessment import Assessment
from leptoguide.case import Case, MedicationEntry
from leptoguide.engine import assess
from leptoguide.intake import read_input
from leptoguide.intake.strength import rxnorm_dose, text_dose
from leptoguide.knowledge.loader import KnowledgeBase, get_knowledge
from leptoguide.policy import load_policy

KB = get_knowledge()
AT = dt.datetime(2026, 11, 20, 14, tzinfo=dt.UTC)
EPIC_MED = "urn:oid:1.2.840.114350.1.13.0.1.7.2.698288"
UNIT_FORMS: tuple[tuple[str, ...], ...] = (("tablet",), ("prefilled", "syringe"), ("syringe",))


def patient() -> dict[str, Any]:
    return {"resourceType": "Patient", "id": "p", "birthDate": "1961-02-03", "gender": "female"}


def lp_order() -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest",
        "id": "sr-lp",
        "status": "draft",
        "intent": "proposal",
        "subject": {"reference": "Patient/p"},
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "277762005"}]},
        "occurrenceDateTime": "2026-11-20T14:00:00Z",
    }


def weight() -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": "wt",
        "status": "final",
        "subject": {"reference": "Patient/p"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}]},
        "effectiveDateTime": "2026-11-19",
        "valueQuantity": {"value": 70, "unit": "kg", "system": "http://unitsofmeasure.org"},
    }


def epic_enoxaparin(code: str, display: str, sig: str) -> list[dict[str, Any]]:
    """Epic: the order references a Medication holding the Epic ERX code and the RxNorm code;
    the dose is only in the sig text."""
    med = {
        "resourceType": "Medication",
        "id": "med-enox",
        "code": {
            "text": display,
            "coding": [
                {"system": EPIC_MED, "code": "44210", "display": display},
                {"system": RXNORM, "code": code},
            ],
        },
    }
    req = {
        "resourceType": "MedicationRequest",
        "id": "mr-enox",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p"},
        "medicationReference": {"reference": "Medication/med-enox", "display": display},
        "authoredOn": "2026-11-18T09:00:00Z",
        "dosageInstruction": [
            {
                "text": sig,
                "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}},
                "route": {"coding": [{"system": "http://snomed.info/sct", "code": "34206005"}]},
            }
        ],
    }
    admin = {
        "resourceType": "MedicationAdministration",
        "id": "ma-enox",
        "status": "completed",
        "subject": {"reference": "Patient/p"},
        "medicationReference": {"reference": "Medication/med-enox"},
        "effectiveDateTime": "2026-11-20T06:00:00Z",
    }
    return [med, req, admin]


def cerner_enoxaparin(code: str, count: float, unit: str) -> dict[str, Any]:
    """Cerner: RxNorm in medicationCodeableConcept, the dose as a count of units."""
    return {
        "resourceType": "MedicationRequest",
        "id": "mr-enox-c",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p"},
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "code": code, "userSelected": True}],
            "text": "enoxaparin",
        },
        "authoredOn": "2026-11-18T09:00:00Z",
        "dosageInstruction": [
            {
                "timing": {
                    "code": {"text": "Q12H"},
                    "repeat": {"frequency": 2, "period": 1, "periodUnit": "d"},
                },
                "doseAndRate": [{"doseQuantity": {"value": count, "unit": unit}}],
            }
        ],
    }


def read(*resources: dict[str, Any]) -> Case:
    return read_input(dumps(bundle(*resources)), name="orders.json", kb=KB)


def enox(case: Case, kind: str = "request") -> MedicationEntry:
    return next(m for m in case.medications if m.concept == "enoxaparin" and m.kind == kind)


def run(case: Case, intake_kb: KnowledgeBase = KB) -> Assessment:
    return assess(case, kb=intake_kb, policy=load_policy(intake_kb, None), at=AT)


def lp_timing_detail(a: Assessment) -> str:
    hits = [f for f in a.findings if f.rule == "lp-anticoagulant-timing"]
    assert hits, [f.rule for f in a.findings]
    return f"{hits[0].summary} {hits[0].detail}"


def test_epic_prefilled_syringe_without_dose_uses_the_product_strength() -> None:
    case = read(
        patient(),
        lp_order(),
        weight(),
        *epic_enoxaparin("854235", "ENOXAPARIN 40 MG/0.4 ML SC SYRG", "40 mg, Subcutaneous"),
    )
    m = enox(case)
    assert (m.dose, m.dose_unit) == (40.0, "mg")
    assert m.dose_source is not None
    assert "0.4 ML enoxaparin sodium 100 MG/ML Prefilled Syringe" in m.dose_source
    assert "one prefilled syringe" in m.dose_source
    text = lp_timing_detail(run(case))
    assert "enoxaparin (lmwh-prophylactic)" in text
    assert "40 mg/day <= 40" in text
    assert "one prefilled syringe of '0.4 ML enoxaparin sodium 100 MG/ML Prefilled Syringe'" in text


def test_cerner_count_dose_times_the_product_strength_is_a_treatment_dose() -> None:
    case = read(patient(), lp_order(), weight(), cerner_enoxaparin("854241", 1, "syringe"))
    m = enox(case)
    assert (m.dose, m.dose_unit) == (80.0, "mg")
    assert m.dose_source and "x 1 (1 syringe)" in m.dose_source
    assert "enoxaparin (lmwh-treatment)" in lp_timing_detail(run(case))


def test_a_concentration_product_gives_dose_unknown_never_a_guess() -> None:
    case = read(patient(), lp_order(), weight(), cerner_enoxaparin("854255", 1, "syringe"))
    m = enox(case)
    assert m.dose is None
    assert m.dose_unknown and "concentration" in m.dose_unknown
    text = lp_timing_detail(run(case))
    assert "enoxaparin (lmwh-treatment)" in text
    assert "dose unknown" in text


def test_an_order_with_its_own_dose_keeps_it() -> None:
    res = cerner_enoxaparin("854241", 60, "mg")
    m = enox(read(patient(), res))
    assert (m.dose, m.dose_unit, m.dose_source) == (60.0, "mg", None)


def it_methotrexate(code: str | None, text: str, dose: dict[str, Any] | None) -> dict[str, Any]:
    coding = [{"system": RXNORM, "code": code}] if code else []
    dosage: dict[str, Any] = {
        "route": {"coding": [{"system": "http://snomed.info/sct", "code": "72607000"}]},
        "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "wk"}},
    }
    if dose:
        dosage["doseAndRate"] = [{"doseQuantity": dose}]
    return {
        "resourceType": "MedicationRequest",
        "id": "mr-it",
        "status": "draft",
        "intent": "order",
        "subject": {"reference": "Patient/p"},
        "medicationCodeableConcept": {"coding": coding, "text": text},
        "authoredOn": "2026-11-20T09:00:00Z",
        "dosageInstruction": [dosage],
    }


def it_check(case: Case) -> dict[str, Any]:
    a = run(case)
    value = a.model_dump(mode="json")
    text = str(value)
    assert "methotrexate" in text
    hits = [f for f in a.findings if f.rule.startswith("it-")]
    return {
        "rules": {f.rule for f in hits},
        "text": " ".join(f"{f.summary} {f.detail}" for f in hits),
    }


def test_it_vial_without_dose_is_dose_unknown_and_unchecked() -> None:
    case = read(patient(), it_methotrexate("1655960", "methotrexate 25 mg/mL PF vial", None))
    m = next(x for x in case.medications if x.concept == "methotrexate")
    assert m.route == "intrathecal"
    assert m.dose is None and m.dose_unknown
    res = it_check(case)
    assert "it-dose-unchecked" in res["rules"], res
    assert "dose unknown" in res["text"]


def test_it_text_strength_is_checked_against_the_range() -> None:
    case = read(patient(), it_methotrexate(None, "methotrexate 50 mg preservative-free", None))
    m = next(x for x in case.medications if x.concept == "methotrexate")
    assert (m.dose, m.dose_unit) == (50.0, "mg")
    assert m.dose_source and "strength named in" in m.dose_source
    res = it_check(case)
    assert "it-dose-out-of-range" in res["rules"], res
    assert "dose taken from the product strength" in res["text"]


@pytest.mark.parametrize(
    ("name", "amount"),
    [
        ("0.4 ML enoxaparin sodium 100 MG/ML Prefilled Syringe", 40.0),
        ("apixaban 5 MG Oral Tablet [Eliquis]", 5.0),
        ("{74 (apixaban 5 MG Oral Tablet) } Pack", 5.0),
        ("enoxaparin sodium 40 MG in 0.4 ML Prefilled Syringe", 40.0),
        ("2 ML methotrexate 25 MG/ML Injection", None),
        ("methotrexate 25 MG/ML Injectable Solution", None),
        ("{42 (rivaroxaban 15 MG Oral Tablet) / 9 (rivaroxaban 20 MG Oral Tablet) } Pack", None),
        ("heparin sodium, porcine 5000 UNT/ML Injectable Solution", None),
        ("aspirin 81 MG / calcium carbonate 777 MG Oral Tablet", None),
    ],
)
def test_rxnorm_names(name: str, amount: float | None) -> None:
    found = rxnorm_dose(name, UNIT_FORMS)
    assert found is not None
    assert found.amount == amount, found.why


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("Lovenox 40 mg SC daily", 40.0),
        ("enoxaparin 40 mg/0.4 mL syringe", 40.0),
        ("enoxaparin 100 mg/mL", None),
        ("enoxaparin 1 mg/kg", None),
        ("methotrexate 12 mg or 15 mg", None),
        ("enoxaparin 300 mg/3 mL multi-dose vial", None),
        ("methotrexate 50 mg/2 mL vial", None),
    ],
)
def test_text_strengths(text: str, amount: float | None) -> None:
    found = text_dose(text, UNIT_FORMS)
    assert (found.amount if found else None) == amount
