"""Chart shapes EHR exports send that once lost a fact or gave "clear" from missing data: results
contained in a laboratory DiagnosticReport, a completed infusion whose period has no end, and dose
times written as a date only or without a time zone."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from intake_helpers import RXNORM, SNOMED, bundle, dumps, qty
from leptoguide.case import Case
from leptoguide.engine import assess
from leptoguide.intake import read_input
from leptoguide.intake.common import time_imprecision
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.policy import load_policy

UKLAB = "https://pathology.example.nhs.uk/codes"
AT = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)
PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1961-02-03", "gender": "male"}
LP = {
    "resourceType": "ServiceRequest",
    "id": "lp1",
    "status": "draft",
    "intent": "order",
    "subject": {"reference": "Patient/p1"},
    "code": {"coding": [{"system": SNOMED, "code": "277762005", "display": "Lumbar puncture"}]},
    "occurrenceDateTime": "2026-11-21T14:00:00Z",
}


def read(*resources: dict[str, Any], kb: KnowledgeBase) -> Case:
    return read_input(dumps(bundle(PATIENT, LP, *resources)), name="chart.json", kb=kb)


def findings(case: Case, kb: KnowledgeBase) -> dict[str, dict[str, Any]]:
    result: Any = assess(case, kb=kb, policy=load_policy(kb), at=AT).to_dict()
    return {f["rule"]: f for f in result["findings"]}


def lab(rid: str, name: str, value: float, unit: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": UKLAB, "code": rid.upper(), "display": name}]},
        "valueQuantity": qty(value, unit),
    }


def panel(*results: dict[str, Any], refs: list[str] | None = None) -> dict[str, Any]:
    """A Cerner-style laboratory report holding its results in ``contained``."""
    return {
        "resourceType": "DiagnosticReport",
        "id": "fbc",
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "code": {"text": "Full blood count"},
        "effectiveDateTime": "2026-11-21T06:40:00+00:00",
        "contained": list(results),
        "result": [{"reference": r} for r in (refs or [f"#{r['id']}" for r in results])],
    }


def test_results_contained_in_a_report_are_read(shipped_kb: KnowledgeBase) -> None:
    case = read(
        panel(lab("plt", "Platelet count", 35, "x10^9/L"), lab("inr", "INR", 1.1, "{INR}")),
        kb=shipped_kb,
    )
    plt = case.latest("platelets")
    assert plt is not None and plt.status == "ok" and plt.value == 35
    assert plt.reference == "DiagnosticReport/fbc#plt"
    assert plt.time == dt.datetime(2026, 11, 21, 6, 40, tzinfo=dt.UTC)  # the report's time
    assert "lp-platelets-low" in findings(case, shipped_kb)
    assert not any("not provided" in w.message for w in case.warnings)


def test_a_contained_result_that_cannot_be_read_is_unreadable_not_missing(
    shipped_kb: KnowledgeBase,
) -> None:
    bad = lab("plt", "Platelet count", 35, "x10^9/L")
    bad["valueQuantity"]["value"] = "35"
    case = read(panel(bad), kb=shipped_kb)
    plt = case.latest("platelets")
    assert plt is not None and plt.status == "unparseable"
    assert [d.reference for d in case.dropped] == ["DiagnosticReport/fbc#plt"]


def test_a_result_reference_to_nothing_contained_is_reported(shipped_kb: KnowledgeBase) -> None:
    case = read(panel(refs=["#plt"]), kb=shipped_kb)
    assert case.latest("platelets") is None
    assert any("#plt" in w.message and "not normal" in w.message for w in case.warnings)


def heparin(status: str, period: dict[str, str]) -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration",
        "id": "hep",
        "status": status,
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {"text": "heparin 25,000 units in dextrose 5% 250 mL"},
        "effectivePeriod": period,
        "dosage": {"route": {"text": "Intravenous"}, "rateQuantity": {"value": 18, "unit": "mL/h"}},
    }


@pytest.mark.parametrize(
    ("status", "period", "state"),
    [
        # completed, start 7 h before the LP, end not given: it may have stopped minutes ago
        ("completed", {"start": "2026-11-21T07:00:00Z"}, "unknown"),
        ("stopped", {"start": "2026-11-21T07:00:00Z"}, "unknown"),
        ("completed", {"start": "2026-11-21T01:00:00Z", "end": "2026-11-21T07:00:00Z"}, "clear"),
        ("in-progress", {"start": "2026-11-21T07:00:00Z"}, "hold"),
    ],
)
def test_an_infusion_period_without_an_end(
    shipped_kb: KnowledgeBase, status: str, period: dict[str, str], state: str
) -> None:
    case = read(heparin(status, period), kb=shipped_kb)
    fired = findings(case, shipped_kb)
    timing = fired.get("lp-anticoagulant-timing") or fired["lp-anticoagulant-interval-met"]
    assert "heparin (heparin" in timing["summary"]
    want = {"unknown": "timing unknown", "hold": "too recently", "clear": "Hold interval met"}
    assert want[state] in timing["summary"], timing["summary"]
    if state == "unknown":
        assert any("no end" in w.message for w in case.warnings)


def enoxaparin(when: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration",
        "id": "enx",
        "status": "completed",
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {
            "coding": [
                {
                    "system": RXNORM,
                    "code": "854235",
                    "display": "0.4 ML enoxaparin sodium 100 MG/ML Prefilled Syringe",
                }
            ]
        },
        "effectiveDateTime": when,
        "dosage": {"dose": {"value": 40, "unit": "mg"}},
    }


@pytest.mark.parametrize(
    ("when", "state"),
    [
        ("2026-11-21T00:30:00Z", "hold"),  # 13.5 h before the LP; treatment-dose hold 24 h
        ("2026-11-20T08:00:00Z", "clear"),  # 30 h
        # 'T08:00' with no zone: read as UTC it is 30 h before, but local time in the Americas
        # can be up to 12 h later: the hold may not be met
        ("2026-11-20T08:00:00", "unknown"),
        ("2026-11-19T08:00:00", "clear"),  # 54 h, or at least 42 h
        ("2026-11-20", "unknown"),  # any time that day: between 2 and 52 h before
        ("2026-11-18", "clear"),  # at least 50 h before
    ],
)
def test_dose_times_without_a_time_or_a_zone(
    shipped_kb: KnowledgeBase, when: str, state: str
) -> None:
    case = read(enoxaparin(when), kb=shipped_kb)
    fired = findings(case, shipped_kb)
    timing = fired.get("lp-anticoagulant-timing") or fired["lp-anticoagulant-interval-met"]
    want = {"unknown": "timing unknown", "hold": "too recently", "clear": "Hold interval met"}
    assert want[state] in timing["summary"], timing["summary"]
    imprecise = time_imprecision(when) is not None
    assert ("is written with" in timing["detail"]) == imprecise, timing["detail"]


@pytest.mark.parametrize(
    "text",
    [
        "2026-11-20",
        "2026-11",
        "2026",
        "2026-11-20T08:00:00",
        "2026-11-20T08:00:00.250",
        "2026-11-20T08:00:00Z",
        "2026-11-20T08:00:00-05:00",
        "2026-11-20T08:00:00.1+01:00",
    ],
)
def test_population_sql_gives_the_same_time_spans(text: str) -> None:
    """The batch SQL layer widens dose times exactly as the single-chart reader does."""
    import duckdb

    from leptoguide.batch.lp import span_after, span_before

    con = duckdb.connect()
    got = con.execute(f"SELECT {span_before('x')}, {span_after('x')} FROM (SELECT ? AS x)", [text])
    row = got.fetchone()
    assert row is not None
    want = time_imprecision(text)
    assert (float(row[0]), float(row[1])) == (want[1] if want else (0.0, 0.0))


@pytest.mark.parametrize(
    "ref",
    [
        "Medication/m1/_history/3",
        "https://ehr.example.org/fhir/Medication/m1/_history/3",
        "https://ehr.example.org/fhir/Medication/m1",
    ],
)
def test_versioned_and_absolute_medication_references_resolve(
    shipped_kb: KnowledgeBase, ref: str
) -> None:
    med = {
        "resourceType": "Medication",
        "id": "m1",
        "code": {"coding": [{"system": RXNORM, "code": "1364445", "display": "apixaban 5 MG"}]},
    }
    order = {
        "resourceType": "MedicationRequest",
        "id": "mr1",
        "status": "active",
        "intent": "order",
        "subject": {"reference": "Patient/p1/_history/2"},
        "medicationReference": {"reference": ref},
    }
    case = read(med, order, kb=shipped_kb)
    assert [m.concept for m in case.medications] == ["apixaban"]
    assert not case.dropped


@pytest.mark.parametrize("text", ["not detected", "Negative", "QNS", "see comment"])
def test_a_result_word_is_not_a_platelet_count(shipped_kb: KnowledgeBase, text: str) -> None:
    """Free text typed where a count belongs (carebundle's defect injector does this): unreadable,
    never the value false read as a recorded count."""
    plt = lab("plt", "Platelet count", 0, "10*9/L")
    del plt["valueQuantity"]
    plt["valueString"] = text
    case = read(plt, kb=shipped_kb)
    found = case.latest("platelets")
    assert found is not None and found.status == "unparseable" and found.value == text
    assert "lp-safety-data-missing" in findings(case, shipped_kb)


def test_a_viral_load_not_detected_is_still_read(shipped_kb: KnowledgeBase) -> None:
    vl = lab("vl", "HIV-1 RNA, quantitative", 0, "copies/mL")
    del vl["valueQuantity"]
    vl["valueString"] = "Not detected"
    found = read(vl, kb=shipped_kb).latest("hiv-viral-load")
    assert found is not None and found.status == "ok" and found.value is False


@pytest.mark.parametrize(
    ("numerator", "denominator", "value"),
    [({"value": 1}, 640, "positive"), ({"value": 1, "comparator": "<"}, 2, "negative")],
)
def test_a_titre_sent_as_a_ratio(
    shipped_kb: KnowledgeBase, numerator: dict[str, Any], denominator: int, value: str
) -> None:
    crag = lab("crag", "Cryptococcal antigen titre, CSF", 0, "")
    del crag["valueQuantity"]
    crag["valueRatio"] = {"numerator": numerator, "denominator": {"value": denominator}}
    case = read(crag, kb=shipped_kb)
    found = case.latest("csf-crag")
    assert found is not None and found.status == "ok" and found.value == value
    assert any(c.concept == "cryptococcal-meningitis" for c in case.conditions) == (
        value == "positive"
    )


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("35 x10^9/L", 35.0),
        ("35 x 10^9/L", 35.0),
        ("35000 /uL", 35.0),
        ("35", None),  # no unit: 35 or 35 000?
        ("<10", None),  # a bound, not a value
        ("35 (L)", None),  # a flag, not a unit
        ("35 see comment", None),
    ],
)
def test_a_count_sent_as_text_with_its_unit(
    shipped_kb: KnowledgeBase, text: str, value: float | None
) -> None:
    plt = lab("plt", "Platelet count", 0, "10*9/L")
    del plt["valueQuantity"]
    plt["valueString"] = text
    found = read(plt, kb=shipped_kb).latest("platelets")
    assert found is not None
    if value is None:
        assert found.status == "unparseable", found
        return
    assert found.status == "ok" and found.value == value and found.unit == "10*9/L", found


@pytest.mark.parametrize(
    ("status", "effective", "state"),
    [
        # still being taken, time recorded months ago (when it was started or listed)
        ("active", {"effectiveDateTime": "2026-08-01"}, "unknown"),
        ("active", {"effectiveDateTime": "2026-11-17T09:00:00Z"}, "unknown"),  # > 1 interval
        ("active", {"effectiveDateTime": "2026-11-20T20:00:00Z"}, "hold"),  # last dose 18 h
        ("active", {"effectivePeriod": {"start": "2026-08-01"}}, "hold"),  # taking it now
        ("intended", {"effectiveDateTime": "2026-08-01"}, "unknown"),
        ("on-hold", {"effectiveDateTime": "2026-11-10T08:00:00Z"}, "unknown"),
        ("completed", {"effectiveDateTime": "2026-11-10T08:00:00Z"}, "clear"),
    ],
)
def test_a_home_anticoagulant_statement(
    shipped_kb: KnowledgeBase, status: str, effective: dict[str, Any], state: str
) -> None:
    statement = {
        "resourceType": "MedicationStatement",
        "id": "ms",
        "status": status,
        "subject": {"reference": "Patient/p1"},
        "medicationCodeableConcept": {
            "coding": [
                {"system": RXNORM, "code": "1364445", "display": "apixaban 5 MG Oral Tablet"}
            ]
        },
        **effective,
    }
    fired = findings(read(statement, kb=shipped_kb), shipped_kb)
    timing = fired.get("lp-anticoagulant-timing") or fired["lp-anticoagulant-interval-met"]
    want = {"unknown": "timing unknown", "hold": "too recently", "clear": "Hold interval met"}
    assert want[state] in timing["summary"], timing["summary"]


@pytest.mark.parametrize("panel_name", ["CSF cell count and differential", "Cell count, CSF"])
def test_a_csf_panel_names_its_components(shipped_kb: KnowledgeBase, panel_name: str) -> None:
    """A UK-laboratory CSF panel whose components are named without the specimen ('White
    cells', 'Neutrophils'); the same names in a blood count stay unknown."""
    comps = [("WBC", "White cells", 250, "10*6/L"), ("NEUT", "Neutrophils", 85, "%")]
    panel = lab("panel", panel_name, 0, "")
    del panel["valueQuantity"]
    panel["component"] = [
        {
            "code": {"coding": [{"system": UKLAB, "code": c, "display": d}]},
            "valueQuantity": qty(v, u),
        }
        for c, d, v, u in comps
    ]
    case = read(panel, kb=shipped_kb)
    got = {o.concept: (o.value, o.status) for o in case.observations}
    assert got == {"csf-wbc": (250.0, "ok"), "csf-neutrophils-pct": (85.0, "ok")}, got
    assert not any("no value" in w.message for w in case.warnings)
    blood = lab("fbc", "Full blood count", 0, "")
    del blood["valueQuantity"]
    blood["component"] = panel["component"][1:]
    assert not read(blood, kb=shipped_kb).observations


@pytest.mark.parametrize(
    ("last_dose", "state"),
    [("2026-11-17T09:00:00Z", "clear"), ("2026-11-20T20:00:00Z", "hold")],
)
def test_a_last_dose_written_in_a_case_file_counts(
    shipped_kb: KnowledgeBase, last_dose: str, state: str
) -> None:
    """A case file (or a question) names its time as the last dose taken: it counts even for a
    drug still being taken, however long ago, unlike a chart statement's recorded time."""
    text = f"""
date: "2026-11-21T12:00:00Z"
patient: {{age_years: 65, sex: M}}
medications:
  - {{drug: apixaban, dose: 5, unit: mg, frequency: BID, last_dose: "{last_dose}"}}
orders:
  - {{type: lumbar-puncture, time: "2026-11-21T14:00:00Z"}}
"""
    case = read_input(text, name="case.yaml", kb=shipped_kb)
    fired = findings(case, shipped_kb)
    timing = fired.get("lp-anticoagulant-timing") or fired["lp-anticoagulant-interval-met"]
    want = {"hold": "too recently", "clear": "Hold interval met"}
    assert want[state] in timing["summary"], timing["summary"]
    assert "still being taken" not in str(timing)
