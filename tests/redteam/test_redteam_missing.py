"""Missing is not safe: absent, stale, unparseable or bounded data never reads as reassurance.

Each case names the finding that must fire, the items ``missing`` must list (with their status)
and the rules that must stay silent; every output format is searched for reassuring wording."""

from __future__ import annotations

from typing import Any

import pytest

from redteam_util import missing, outputs, reassuring, rules, run

LP_ORDER = {"type": "lumbar-puncture", "time": "2026-11-20T14:00:00Z"}
PATIENT = {"age_years": 60, "sex": "F", "weight_kg": 70}


def _case(**parts: Any) -> dict[str, Any]:
    return {"case_id": "rt", "date": "2026-11-20T06:00:00Z", "patient": PATIENT, **parts}


FRESH = [
    {"test": "platelets", "value": 200, "unit": "10*9/L"},
    {"test": "INR", "value": 1.0},
]

CASES: dict[str, tuple[dict[str, Any], set[str], dict[str, str], set[str]]] = {
    # name: (case, rules that must fire, missing item -> status, rules that must stay silent)
    "lp-no-platelets-no-inr": (
        _case(orders=[LP_ORDER]),
        {"lp-safety-data-missing"},
        {"platelets": "missing", "inr": "missing"},
        {"lp-platelets-low", "lp-inr-high"},
    ),
    "lp-inr-3-days-old": (
        _case(
            labs=[FRESH[0], {"test": "INR", "value": 1.0, "time": "2026-11-17T06:00:00Z"}],
            orders=[LP_ORDER],
        ),
        {"lp-safety-data-missing"},
        {"inr": "stale"},
        {"lp-inr-high"},
    ),
    "lp-platelets-see-comment": (
        _case(labs=[{"test": "platelets", "value": "see comment"}, FRESH[1]], orders=[LP_ORDER]),
        {"lp-safety-data-missing"},
        {"platelets": "unparseable"},
        {"lp-platelets-low"},
    ),
    "lp-platelets-bound-in-text": (
        _case(labs=[{"test": "platelets", "value": "<150"}, FRESH[1]], orders=[LP_ORDER]),
        {"lp-safety-data-missing"},
        {"platelets": "unparseable"},
        set(),
    ),
    "lp-platelets-wrong-unit": (
        _case(labs=[{"test": "platelets", "value": 200, "unit": "mg"}, FRESH[1]], orders=[LP_ORDER]),
        {"lp-safety-data-missing"},
        {"platelets": "unparseable"},
        set(),
    ),
    "lp-labs-undated": (
        {"case_id": "rt", "patient": PATIENT, "labs": FRESH, "orders": [{"type": "lumbar-puncture"}]},
        {"lp-safety-data-missing"},
        {"platelets": "stale", "inr": "stale"},
        set(),
    ),
    "lp-anticoagulant-last-dose-unknown": (
        _case(
            labs=FRESH,
            medications=[{"drug": "apixaban", "dose": 5, "unit": "mg", "frequency": "BID"}],
            orders=[LP_ORDER],
        ),
        {"lp-anticoagulant-timing"},
        {},
        set(),
    ),
    "lp-anticoagulant-dose-unknown": (
        _case(
            labs=FRESH,
            medications=[{"drug": "enoxaparin", "last_dose": "2026-11-19T20:00:00Z"}],
            orders=[LP_ORDER],
        ),
        {"lp-anticoagulant-timing"},
        {},
        set(),
    ),
    "it-chemo-no-flow-study": (
        _case(
            cancer={"primary": "breast-cancer"},
            conditions=["leptomeningeal-metastasis"],
            findings={"cytology": "positive"},
            devices=["ommaya-reservoir"],
            orders=[{"drug": "methotrexate", "dose": 12, "unit": "mg",
                     "route": "intraventricular", "time": "2026-11-21"}],
        ),
        {"csf-flow-study-before-it"},
        {"csf-flow-study": "missing"},
        {"it-chemo-csf-flow-block"},
    ),
    "ceftriaxone-child-no-weight": (
        {"case_id": "rt", "date": "2026-11-20", "patient": {"age_years": 6, "sex": "M"},
         "conditions": ["bacterial-meningitis"],
         "orders": [{"drug": "ceftriaxone", "dose": 2000, "unit": "mg", "route": "IV"}]},
        {"ceftriaxone-dose"},
        {"body-weight": "missing"},
        set(),
    ),
    "neonate-no-birth-date": (
        {"case_id": "rt", "date": "2026-11-20", "patient": {"sex": "M", "weight_kg": 3.2},
         "conditions": ["hyperbilirubinemia", "sepsis"],
         "orders": [{"drug": "ceftriaxone", "dose": 160, "unit": "mg", "route": "IV"},
                    {"drug": "calcium gluconate", "dose": 1.6, "unit": "mL", "route": "IV"}]},
        {"ceftriaxone-calcium-neonate"},
        {"age-days": "missing"},
        set(),
    ),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("audience", ["clinician", "patient"])
def test_missing_data_is_reported_never_reassuring(name: str, audience: str) -> None:
    doc, fire, want_missing, silent = CASES[name]
    data = run(doc, audience=audience)
    fired = rules(data)
    assert fire <= fired, f"{name}: expected {fire}, fired {fired}"
    assert not (silent & fired), f"{name}: {silent & fired} fired on missing data"
    got = missing(data)
    for item, status in want_missing.items():
        assert got.get(item) == status, f"{name}: missing[{item}] is {got.get(item)}"
    for fmt, text in outputs(data).items():
        assert not reassuring(text), f"{name} ({fmt}, {audience}): {reassuring(text)}"


def test_unknown_anticoagulant_facts_are_named_in_the_finding() -> None:
    timing = run(CASES["lp-anticoagulant-last-dose-unknown"][0])
    text = " ".join(outputs(timing)["text"].split())
    assert "unknown" in text.lower() and "last dose not recorded" in text
    dose = run(CASES["lp-anticoagulant-dose-unknown"][0])
    assert "dose not recorded" in " ".join(outputs(dose)["text"].split())


def test_the_same_cases_with_complete_data_are_quiet() -> None:
    """The other direction: with fresh, plain values the data-missing finding stays silent."""
    data = run(_case(labs=FRESH, orders=[LP_ORDER]))
    assert "lp-safety-data-missing" not in rules(data)
    assert not {"platelets", "inr"} & set(missing(data))
    child = dict(CASES["ceftriaxone-child-no-weight"][0])
    child["patient"] = {"age_years": 6, "sex": "M", "weight_kg": 20}
    data = run(child)
    assert "body-weight" not in missing(data)
    assert "not computed" not in outputs(data)["text"]


@pytest.mark.parametrize(
    "phrase",
    ["Safe to proceed with LP", "No contraindication found", "OK to proceed", "INR is normal"],
)
def test_the_reassurance_detector_can_fire(phrase: str) -> None:
    assert reassuring(phrase)


def test_the_reassurance_detector_allows_the_warning_wording() -> None:
    assert not reassuring("Missing or stale data never count as safe.")


def _obs(rid: str, loinc: str, text: str, **value: Any) -> dict[str, Any]:
    return {"resource": {
        "resourceType": "Observation", "id": rid, "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": loinc}], "text": text},
        "effectiveDateTime": "2026-11-20T06:00:00Z", **value}}  # fmt: skip


def test_fhir_bounds_are_not_values() -> None:
    """Platelets '<150' and INR '>1.0' (comparator or text) must not pass the LP thresholds."""
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "p", "birthDate": "1960-01-01"}},
        _obs("plt", "777-3", "Platelets", valueQuantity={
            "value": 150, "comparator": "<", "system": "http://unitsofmeasure.org",
            "code": "10*9/L"}),
        _obs("inr", "6301-6", "INR", valueString=">1.0"),
        {"resource": {"resourceType": "ServiceRequest", "id": "lp", "status": "draft",
                      "intent": "order", "code": {"text": "Lumbar puncture"},
                      "occurrenceDateTime": "2026-11-20T14:00:00Z"}},
    ]}  # fmt: skip
    import json

    data = run(json.dumps(bundle), name="b.json")
    assert "lp-safety-data-missing" in rules(data)
    assert missing(data)["platelets"] == "unparseable" and missing(data)["inr"] == "unparseable"
    assert any("bound" in w["message"] for w in data["warnings"])
    for fmt, text in outputs(data).items():
        assert not reassuring(text), (fmt, reassuring(text))
