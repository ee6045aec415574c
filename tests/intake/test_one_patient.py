"""One patient per case: the chosen patient's resources only, the others dropped and reported."""

from __future__ import annotations

from typing import Any

from intake_helpers import LOINC, bundle, dumps, obs, qty
from leptoguide.intake import read_document, read_input
from leptoguide.knowledge.loader import KnowledgeBase


def _patient(pid: str, birth: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "birthDate": birth, "gender": "female"}


def _plt(rid: str, subject: str, value: float) -> dict[str, Any]:
    return obs(
        "777-3", LOINC, rid, "2026-11-20T08:00:00Z",
        valueQuantity=qty(value, "10*9/L"), subject={"reference": subject},
    )  # fmt: skip


def _two_patients() -> dict[str, Any]:
    return bundle(
        _patient("a", "1960-01-01"),
        _plt("pa", "Patient/a", 180),
        _patient("b", "1990-01-01"),
        _plt("pb", "Patient/b", 20),
        btype="searchset",
    )


def test_two_patients_first_is_used_and_other_dropped(intake_kb: KnowledgeBase) -> None:
    case = read_input(dumps(_two_patients()), name="s.json", kb=intake_kb)
    assert case.patient_reference == "Patient/a" and str(case.birth_date) == "1960-01-01"
    assert [o.value for o in case.observations] == [180.0]
    assert {(d.reference, d.kind) for d in case.dropped} == {
        ("Patient/b", "other-patient"),
        ("Observation/pb", "other-patient"),
    }
    text = " ".join(w.message for w in case.warnings)
    assert "holds 2 patients; the case is Patient/a" in text and "Observation/pb" in text


def test_patient_id_names_the_patient(intake_kb: KnowledgeBase) -> None:
    case = read_document(_two_patients(), name="hook", kb=intake_kb, patient_id="b")
    assert case.patient_reference == "Patient/b"
    assert [o.value for o in case.observations] == [20.0]
    assert any(d.reference == "Observation/pa" for d in case.dropped)


def test_urn_uuid_and_absolute_references(intake_kb: KnowledgeBase) -> None:
    doc = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"fullUrl": "urn:uuid:p1", "resource": _patient("p1", "1950-05-05")},
            {"fullUrl": "urn:uuid:o1", "resource": _plt("o1", "urn:uuid:p1", 90)},
            {"resource": _plt("o2", "https://ehr.example.org/fhir/Patient/p1", 91)},
            {"resource": _plt("o3", "urn:uuid:someone-else", 10)},
        ],
    }
    case = read_document(doc, name="t", kb=intake_kb)
    assert sorted(o.value for o in case.observations) == [90.0, 91.0]
    assert [d.reference for d in case.dropped] == ["Observation/o3"]


def test_no_patient_resource_first_subject_stands(intake_kb: KnowledgeBase) -> None:
    prefetch = [_plt("x", "Patient/1", 100), _plt("y", "Patient/2", 15)]
    case = read_document(prefetch, name="hook", kb=intake_kb)
    assert [o.value for o in case.observations] == [100.0]
    case = read_document(prefetch, name="hook", kb=intake_kb, patient_id="2")
    assert [o.value for o in case.observations] == [15.0]
    assert "Patient/2 is not in the input" in " ".join(w.message for w in case.warnings)


def test_subjectless_resources_are_kept(intake_kb: KnowledgeBase) -> None:
    loose = obs("777-3", LOINC, "n", "2026-11-20", valueQuantity=qty(50, "10*9/L"))
    case = read_document(bundle(_patient("a", "1960-01-01"), loose), name="t", kb=intake_kb)
    assert [o.value for o in case.observations] == [50.0] and case.dropped == []
