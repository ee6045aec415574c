"""Real-shaped corpora: HL7 FHIR R4 specification examples, generated Synthea and carebundle
charts (fixed samples; see fixtures/README.md for the generator commands). Every file is read
without an error or a traceback; a Synthea chart gives few, summarised warning lines."""

from __future__ import annotations

import statistics
from pathlib import Path

import pytest

from leptoguide.intake import load_document, read_document, read_path
from leptoguide.knowledge.loader import KnowledgeBase

FIXTURES = Path(__file__).parent / "fixtures"
HL7 = sorted((FIXTURES / "hl7-r4-examples").glob("*.json"))
SYNTHEA = sorted((FIXTURES / "synthea").glob("*.json"))
CAREBUNDLE = sorted((FIXTURES / "carebundle").glob("*.json"))
MAX_WARNING_LINES = 20


def test_corpora_are_present() -> None:
    assert len(HL7) >= 100 and len(SYNTHEA) >= 2 and len(CAREBUNDLE) >= 8


@pytest.mark.parametrize("path", HL7, ids=[p.name for p in HL7])
def test_hl7_r4_examples_read_without_error(shipped_kb: KnowledgeBase, path: Path) -> None:
    case = read_path(path, kb=shipped_kb)
    assert len(case.warnings) <= MAX_WARNING_LINES
    for w in case.warnings:
        assert "\n" not in w.message


def test_hl7_multi_patient_report_bundle_keeps_one_patient(shipped_kb: KnowledgeBase) -> None:
    case = read_path(FIXTURES / "hl7-r4-examples" / "diagnosticreport-examples-general.json",
                     kb=shipped_kb)  # fmt: skip
    others = {d.reason for d in case.dropped if d.kind == "other-patient"}
    assert others and all("another patient" in r for r in others)
    kept_refs = {o.reference for o in case.observations}
    assert not kept_refs & {d.reference for d in case.dropped}


def test_hl7_family_history_condition_is_not_the_patients(shipped_kb: KnowledgeBase) -> None:
    case = read_path(FIXTURES / "hl7-r4-examples" / "condition-example-family-history.json",
                     kb=shipped_kb)  # fmt: skip
    assert case.conditions == []


@pytest.mark.parametrize("path", SYNTHEA + CAREBUNDLE, ids=[p.name for p in SYNTHEA + CAREBUNDLE])
def test_generated_charts_few_actionable_warnings(shipped_kb: KnowledgeBase, path: Path) -> None:
    case = read_path(path, kb=shipped_kb)
    assert case.patient_reference is not None and case.birth_date is not None
    assert case.dropped == []
    assert len(case.warnings) <= MAX_WARNING_LINES, [w.message for w in case.warnings]


def test_median_synthea_chart_within_warning_budget(shipped_kb: KnowledgeBase) -> None:
    counts = [len(read_path(p, kb=shipped_kb).warnings) for p in SYNTHEA]
    assert statistics.median(counts) <= MAX_WARNING_LINES


def test_synthea_chart_reads_its_labs_and_medications(shipped_kb: KnowledgeBase) -> None:
    case = read_path(SYNTHEA[-1], kb=shipped_kb)
    assert case.resource_count > 500
    assert case.observations, "vital signs and labs such as body weight are read"


def test_carebundle_bulk_ndjson_is_one_patient_chart(shipped_kb: KnowledgeBase) -> None:
    resources: list[object] = []
    for path in sorted((FIXTURES / "carebundle" / "ndjson").glob("*.ndjson")):
        doc = load_document(path.read_bytes(), name=path.name)
        assert isinstance(doc, list) and doc
        resources.extend(doc)
    case = read_document(resources, name="bulk", kb=shipped_kb)
    assert case.patient_reference is not None
    assert case.observations
    assert {d.kind for d in case.dropped} <= {"other-patient"}
