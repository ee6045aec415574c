"""Narrative reports: MRI pattern, CSF cytology, flow study and biomarkers read from text, with the
sentence quoted; ConText categories keep possible/family/hypothetical mentions from reading as
present."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from intake_helpers import LOINC, bundle, dumps
from leptoguide.intake import read_input
from leptoguide.knowledge.loader import KnowledgeBase

MRI = "MRI brain and total spine with and without contrast"
CYTO = "CSF cytology"
FLOW = "NM CSF flow study (In-111 DTPA cisternography)"
MOLECULAR = "Molecular pathology report"


def report(title: str, text: str, *, html: bool = False, rid: str = "r1") -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "DiagnosticReport",
        "id": rid,
        "status": "final",
        "code": {"text": title},
        "effectiveDateTime": "2026-11-18T10:00:00Z",
    }
    if html:
        data = base64.b64encode(text.encode()).decode()
        res["presentedForm"] = [{"contentType": "text/html; charset=utf-8", "data": data}]
    else:
        res["conclusion"] = text
    return res


CASES: list[tuple[str, str, str, str | None]] = [
    # (report kind, text, concept, expected value; None = nothing read)
    (MRI, "Linear leptomeningeal enhancement along the cerebellar folia.", "mri-lm-pattern",
     "linear"),
    (MRI, "Smooth pial enhancement coating the brainstem and cranial nerves.", "mri-lm-pattern",
     "linear"),
    (MRI, "Multiple enhancing nodules along the cauda equina nerve roots.", "mri-lm-pattern",
     "nodular"),
    (MRI, "Nodular and linear leptomeningeal enhancement of the spinal cord.", "mri-lm-pattern",
     "linear-and-nodular"),
    (MRI, "No abnormal leptomeningeal enhancement. Communicating hydrocephalus.",
     "mri-lm-pattern", "hydrocephalus-only"),
    (MRI, "No leptomeningeal enhancement. No hydrocephalus.", "mri-lm-pattern", "normal"),
    (MRI, "Leptomeningeal disease cannot be excluded.", "mri-lm-pattern", "equivocal"),
    (MRI, "Subtle enhancement of the sulci, possibly leptomeningeal metastases.",
     "mri-lm-pattern", "equivocal"),
    (MRI, "Indication: evaluate for leptomeningeal disease. Unremarkable study of the brain.",
     "mri-lm-pattern", None),
    (CYTO, "POSITIVE FOR MALIGNANT CELLS, consistent with metastatic adenocarcinoma.",
     "csf-cytology", "positive"),
    (CYTO, "Atypical cells present, suspicious for malignancy.", "csf-cytology", "equivocal"),
    (CYTO, "Negative for malignant cells. Reactive lymphocytes.", "csf-cytology", "negative"),
    (CYTO, "No malignant cells identified.", "csf-cytology", "negative"),
    (FLOW, "Complete block at T10; no tracer above the block.", "csf-flow-study", "blocked"),
    (FLOW, "Normal CSF flow with tracer over the convexities at 24 hours.", "csf-flow-study",
     "normal"),
    (FLOW, "No evidence of CSF flow obstruction.", "csf-flow-study", "normal"),
    (MOLECULAR, "HER2 positive (IHC 3+).", "her2-status", "positive"),
    (MOLECULAR, "HER2 not amplified by FISH.", "her2-status", "negative"),
    (MOLECULAR, "EGFR exon 19 deletion detected.", "egfr-mutation", "positive"),
    (MOLECULAR, "EGFR: wild type.", "egfr-mutation", "negative"),
    (MOLECULAR, "No EGFR mutation detected.", "egfr-mutation", "negative"),
    (MOLECULAR, "ALK rearrangement not detected.", "alk-rearrangement", "negative"),
    (MOLECULAR, "BRAF V600E mutation detected.", "braf-v600", "positive"),
    (MOLECULAR, "Her mother's tumour was HER2 positive.", "her2-status", None),
]  # fmt: skip


@pytest.mark.parametrize(("kind", "text", "concept", "value"), CASES)
def test_report_text(
    shipped_kb: KnowledgeBase, kind: str, text: str, concept: str, value: str | None
) -> None:
    case = read_input(dumps(bundle(report(kind, text))), name="r.json", kb=shipped_kb)
    found = case.latest(concept)
    if value is None:
        assert found is None or found.status != "ok", found
        return
    assert found is not None and found.status == "ok" and found.value == value, found
    assert found.reference == "DiagnosticReport/r1"
    assert found.note is not None and "read from the report text" in found.note


def test_flow_block_level_and_quote(shipped_kb: KnowledgeBase) -> None:
    case = read_input(
        dumps(bundle(report(FLOW, "Impression: complete block at T10. Delayed images obtained."))),
        name="r.json",
        kb=shipped_kb,
    )
    flow = case.latest("csf-flow-study")
    assert flow is not None and flow.value == "blocked"
    assert flow.note is not None and "(T10)" in flow.note and "complete block at T10" in flow.note


def test_html_presented_form(shipped_kb: KnowledgeBase) -> None:
    html = "<html><body><p>FINAL DIAGNOSIS</p><p>CSF: <b>Positive</b> for malignant cells.</p>"
    case = read_input(dumps(bundle(report(CYTO, html, html=True))), name="r.json", kb=shipped_kb)
    cyto = case.latest("csf-cytology")
    assert cyto is not None and cyto.value == "positive"


def test_cytology_report_is_not_read_as_mri(shipped_kb: KnowledgeBase) -> None:
    text = "Malignant cells present, consistent with leptomeningeal carcinomatosis."
    case = read_input(dumps(bundle(report(CYTO, text))), name="r.json", kb=shipped_kb)
    assert case.latest("mri-lm-pattern") is None
    assert case.latest("csf-cytology") is not None


def test_unqualified_enhancement_is_unreadable_not_absent(shipped_kb: KnowledgeBase) -> None:
    case = read_input(
        dumps(bundle(report(MRI, "Leptomeningeal enhancement is present."))),
        name="r.json",
        kb=shipped_kb,
    )
    mri = case.latest("mri-lm-pattern")
    assert mri is not None and mri.status == "unparseable"
    assert any("could not be read" in w.message for w in case.warnings)


def test_impression_observation_with_unknown_code(shipped_kb: KnowledgeBase) -> None:
    obs = {
        "resourceType": "Observation",
        "id": "imp",
        "status": "final",
        "code": {"coding": [{"system": LOINC, "code": "19005-8", "display": "MRI Impression"}]},
        "effectiveDateTime": "2026-11-18T10:00:00Z",
        "valueString": "1. Nodular leptomeningeal enhancement along the conus medullaris.",
    }
    case = read_input(dumps(bundle(obs)), name="o.json", kb=shipped_kb)
    mri = case.latest("mri-lm-pattern")
    assert mri is not None and mri.value == "nodular" and mri.reference == "Observation/imp"
    assert not any("not recognised" in w.message for w in case.warnings)


def test_known_concept_given_as_free_text(shipped_kb: KnowledgeBase) -> None:
    lm = "https://leptoguide.org/fhir/CodeSystem/lm"
    obs = {
        "resourceType": "Observation",
        "id": "c",
        "status": "final",
        "code": {"coding": [{"system": lm, "code": "csf-cytology"}]},
        "effectiveDateTime": "2026-11-18T10:00:00Z",
        "valueString": "Atypical lymphoid cells, suspicious for malignancy; repeat sampling advised",
    }
    case = read_input(dumps(bundle(obs)), name="o.json", kb=shipped_kb)
    cyto = case.latest("csf-cytology")
    assert cyto is not None and cyto.value == "equivocal" and cyto.status == "ok"


def test_unreadable_attachment_does_not_fail_the_report(shipped_kb: KnowledgeBase) -> None:
    res = report(CYTO, "No malignant cells identified.")
    res["presentedForm"] = [{"contentType": "text/plain", "data": "!!not base64!!"}]
    case = read_input(dumps(bundle(res)), name="r.json", kb=shipped_kb)
    cyto = case.latest("csf-cytology")
    assert cyto is not None and cyto.value == "negative"


# ---- ongoing infusions and unrecognised drugs near an LP ---------------------------------------


def _admin(
    status: str, period: dict[str, str], text: str = "Heparin 25,000 units/250 mL"
) -> dict[str, Any]:
    return {
        "resourceType": "MedicationAdministration",
        "id": "ma",
        "status": status,
        "medicationCodeableConcept": {"text": text},
        "effectivePeriod": period,
    }


@pytest.mark.parametrize(
    ("status", "period", "ongoing"),
    [
        ("in-progress", {"start": "2026-11-20T06:00:00Z"}, True),
        ("in-progress", {"start": "2026-11-20T06:00:00Z", "end": "2026-11-20T08:00:00Z"}, True),
        ("completed", {"start": "2026-11-20T06:00:00Z"}, False),
        ("unknown", {"start": "2026-11-20T06:00:00Z"}, True),
        ("completed", {"start": "2026-11-20T06:00:00Z", "end": "2026-11-20T07:00:00Z"}, False),
    ],
)
def test_running_infusion_is_ongoing_exposure(
    shipped_kb: KnowledgeBase, status: str, period: dict[str, str], ongoing: bool
) -> None:
    case = read_input(dumps(bundle(_admin(status, period))), name="a.json", kb=shipped_kb)
    (med,) = case.medications
    assert med.concept == "heparin" and med.ongoing is ongoing


def test_running_heparin_infusion_holds_the_lp(shipped_kb: KnowledgeBase) -> None:
    import datetime as dt

    from leptoguide.engine import assess
    from leptoguide.policy import load_policy

    lp = {
        "resourceType": "ServiceRequest",
        "id": "lp",
        "status": "active",
        "intent": "order",
        "code": {"text": "Lumbar puncture"},
        "occurrenceDateTime": "2026-11-21T12:00:00Z",
    }
    infusion = _admin("in-progress", {"start": "2026-11-18T06:00:00Z"})
    case = read_input(dumps(bundle(infusion, lp)), name="a.json", kb=shipped_kb)
    at = dt.datetime(2026, 11, 21, 10, tzinfo=dt.UTC)
    result = assess(case, kb=shipped_kb, policy=load_policy(shipped_kb), at=at)
    fired = {f.rule for f in result.findings}
    assert "lp-anticoagulant-timing" in fired, fired


def test_unrecognised_drug_near_an_lp_is_its_own_warning(shipped_kb: KnowledgeBase) -> None:
    lp = {
        "resourceType": "ServiceRequest",
        "id": "lp",
        "status": "draft",
        "intent": "order",
        "code": {"text": "Lumbar puncture"},
    }
    odd = {
        "resourceType": "MedicationRequest",
        "id": "odd",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": "Zorblatinib 40 mg tablet"},
    }
    it = {
        "resourceType": "MedicationRequest",
        "id": "it",
        "status": "draft",
        "intent": "order",
        "medicationCodeableConcept": {"text": "Investigational agent X"},
        "dosageInstruction": [{"route": {"text": "Intrathecal"}}],
    }
    case = read_input(dumps(bundle(lp, odd, it)), name="m.json", kb=shipped_kb)
    by = {w.where: w.message for w in case.warnings}
    assert "unrecognised drug 'Zorblatinib 40 mg tablet'" in by["MedicationRequest/odd"]
    assert "check before the LP" in by["MedicationRequest/odd"]
    assert "intrathecal or intraventricular route" in by["MedicationRequest/it"]
    case = read_input(dumps(bundle(odd)), name="m.json", kb=shipped_kb)
    assert "MedicationRequest/odd" not in {w.where for w in case.warnings}
