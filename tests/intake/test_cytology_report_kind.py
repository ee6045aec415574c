"""Only a cytology or pathology report gives a CSF cytology result. "No malignant cells seen" in
a CSF cell count comment, a CSF chemistry report or a UK-laboratory CSF report is quoted in a
warning and never read as negative cytology (which would argue against leptomeningeal disease)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from intake_helpers import bundle, dumps
from leptoguide.case import Case
from leptoguide.intake import read_input
from leptoguide.knowledge.loader import KnowledgeBase

LOINC = "http://loinc.org"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
PATIENT = {"resourceType": "Patient", "id": "p1", "birthDate": "1966-03-04", "gender": "female"}


def report(code: dict[str, Any], category: str, text: str, **more: Any) -> dict[str, Any]:
    return {
        "resourceType": "DiagnosticReport",
        "id": "dr1",
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "category": [{"coding": [{"system": V2_0074, "code": category}]}],
        "code": code,
        "effectiveDateTime": "2026-12-01T09:30:00Z",
        "conclusion": text,
        **more,
    }


def read(*res: dict[str, Any], kb: KnowledgeBase) -> Case:
    return read_input(dumps(bundle(PATIENT, *res)), name="chart.json", kb=kb)


NOT_CYTOLOGY = [
    # Epic: CSF cell count report with the technologist's comment
    report({"coding": [{"system": LOINC, "code": "26466-3", "display": "Cells [#/volume] in Cerebral spinal fluid"}],
            "text": "CELL COUNT, CSF"}, "HM", "WBC 12, RBC 3. No malignant cells seen on cytospin review."),
    # Cerner: CSF chemistry panel with a comment
    report({"text": "CSF Glucose and Protein"}, "CH", "Glucose 2.1 mmol/L, protein 1.2 g/L. No malignant cells."),
    # UK laboratory: 'CSF' report from biochemistry
    report({"coding": [{"system": "https://pathology.example.nhs.uk/codes", "code": "CSFB",
                        "display": "CSF biochemistry"}]}, "LAB", "Negative for malignant cells."),
]  # fmt: skip


@pytest.mark.parametrize("res", NOT_CYTOLOGY, ids=["epic-cell-count", "cerner-chemistry", "uk-csf"])
def test_no_malignant_cells_outside_a_cytology_report_is_not_cytology(
    shipped_kb: KnowledgeBase, res: dict[str, Any]
) -> None:
    case = read(res, kb=shipped_kb)
    assert case.latest("csf-cytology") is None, case.latest("csf-cytology")
    said = [w.message for w in case.warnings if w.message.startswith("csf-cytology:")]
    assert said and "not read as a result" in said[0] and "malignant" in said[0], case.warnings


def test_a_comment_on_a_cell_count_result_is_not_cytology(shipped_kb: KnowledgeBase) -> None:
    wbc = {
        "resourceType": "Observation",
        "id": "wbc",
        "status": "final",
        "subject": {"reference": "Patient/p1"},
        "code": {"coding": [{"system": LOINC, "code": "26465-5", "display": "Leukocytes [#/volume] in Cerebral spinal fluid"}]},
        "effectiveDateTime": "2026-12-01T09:30:00Z",
        "valueQuantity": {"value": 12, "unit": "/uL"},
        "note": [{"text": "No malignant cells seen."}],
    }  # fmt: skip
    case = read(wbc, kb=shipped_kb)
    assert case.latest("csf-cytology") is None


@pytest.mark.parametrize(
    ("code", "category"),
    [
        ({"text": "CSF CYTOLOGY"}, "CP"),  # Epic
        ({"coding": [{"system": LOINC, "code": "33718-8", "display": "Cytology report of Cerebral spinal fluid Cyto stain"}]}, "LAB"),
        ({"text": "Non-gynae cytology, CSF"}, "SP"),  # UK cellular pathology
    ],
)  # fmt: skip
def test_a_cytology_report_still_gives_the_result(
    shipped_kb: KnowledgeBase, code: dict[str, Any], category: str
) -> None:
    case = read(report(code, category, "No malignant cells identified."), kb=shipped_kb)
    found = case.latest("csf-cytology")
    assert found is not None and found.value == "negative", found


def test_a_cytology_document_by_its_title(shipped_kb: KnowledgeBase) -> None:
    text = base64.b64encode(
        b"CSF: Malignant cells present, consistent with adenocarcinoma."
    ).decode()
    doc = {
        "resourceType": "DocumentReference",
        "id": "doc1",
        "status": "current",
        "subject": {"reference": "Patient/p1"},
        "type": {"text": "Pathology report"},
        "date": "2026-12-01T12:00:00Z",
        "content": [{"attachment": {"contentType": "text/plain", "title": "Fluid cytology", "data": text}}],
    }  # fmt: skip
    found = read(doc, kb=shipped_kb).latest("csf-cytology")
    assert found is not None and found.value == "positive", found


def test_a_biopsy_histopathology_report_is_not_csf_cytology(shipped_kb: KnowledgeBase) -> None:
    """UK cellular pathology: a dural biopsy report saying 'metastatic adenocarcinoma' is not a
    CSF cytology result."""
    biopsy = report(
        {"text": "Histopathology - dural biopsy"},
        "SP",
        "Metastatic adenocarcinoma, breast primary.",
    )
    assert read(biopsy, kb=shipped_kb).latest("csf-cytology") is None
