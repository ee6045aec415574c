"""The shipped examples read cleanly, and every code and concept id intake relies on exists."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from leptoguide.intake import read_path
from leptoguide.intake.casefile import CANCER, CSF, FINDINGS, PATIENT, PERFORMANCE
from leptoguide.intake.common import SYMPTOM_CLASS, TYPICAL_SIGNS
from leptoguide.intake.terminology import term_index
from leptoguide.knowledge.loader import KnowledgeBase

EXAMPLES = Path(__file__).parents[2] / "examples"
FHIR = sorted((EXAMPLES / "fhir").glob("*.json"))
CASES = sorted((EXAMPLES / "cases").glob("*.yaml"))

# Deliberately irrelevant or unknown codings in the examples (the "messy bits").
NOT_RELIED_ON = {"8867-4", "11506-3", "IMP", "active", "confirmed", "QD", "resolved"}
CODED_SYSTEMS = (
    "http://loinc.org",
    "http://snomed.info/sct",
    "http://hl7.org/fhir/sid/icd-10-cm",
    "http://www.nlm.nih.gov/research/umls/rxnorm",
    "https://leptoguide.org/fhir/CodeSystem/lm",
)


def test_there_are_enough_examples() -> None:
    assert len(FHIR) >= 8 and len(CASES) >= 4
    types = {json.loads(p.read_text())["type"] for p in FHIR}
    assert {"collection", "searchset", "transaction", "document"} <= types


@pytest.mark.parametrize("path", FHIR + CASES, ids=lambda p: p.name)
def test_example_reads(intake_kb: KnowledgeBase, path: Path) -> None:
    case = read_path(path, kb=intake_kb)
    assert case.observations or case.conditions or case.medications


EXPECTED: dict[str, list[tuple[str, Any]]] = {
    "her2-breast-confirmed-lm-ommaya.json": [
        ("csf-cytology", "positive"),
        ("her2-status", "positive"),
        ("typical-lm-signs", True),
    ],
    "egfr-nsclc-probable-lm.json": [
        ("egfr-mutation", "positive"),
        ("platelets", 184.0),
        ("csf-protein", 92.0),
    ],
    "melanoma-nodular-lm.json": [("mri-lm-pattern", "nodular"), ("bulky-cns-disease", True)],
    "sclc-poor-risk.json": [
        ("karnofsky", 40.0),
        ("encephalopathy", True),
        ("systemic-options", "few"),
    ],
    "lp-order-low-platelets-enoxaparin.json": [("platelets", 42.0), ("inr", 1.1)],
    "it-methotrexate-blocked-flow.json": [("csf-flow-study", "blocked")],
    "neonate-ceftriaxone-calcium.json": [("body-weight", 3.25)],
    "adult-bacterial-meningitis-sepsis.json": [("csf-glucose", 21.619), ("csf-protein", 210.0)],
    "tb-meningitis-csf.json": [("csf-wbc", 180.0), ("csf-opening-pressure", 25.0)],
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_values(intake_kb: KnowledgeBase, name: str) -> None:
    case = read_path(EXAMPLES / "fhir" / name, kb=intake_kb)
    for concept, value in EXPECTED[name]:
        obs = case.latest(concept)
        assert obs is not None, concept
        got = round(obs.value, 3) if isinstance(obs.value, float) else obs.value
        assert got == value, concept


def test_draft_orders_in_examples(intake_kb: KnowledgeBase) -> None:
    lp = read_path(EXAMPLES / "fhir" / "lp-order-low-platelets-enoxaparin.json", kb=intake_kb)
    assert [(p.concept, p.draft) for p in lp.procedures] == [("lumbar-puncture", True)]
    assert len([m for m in lp.medications if m.kind == "administration"]) == 2
    mtx = read_path(EXAMPLES / "fhir" / "it-methotrexate-blocked-flow.json", kb=intake_kb)
    m = mtx.medications[0]
    assert (m.concept, m.route, m.draft) == ("methotrexate", "intrathecal", True)


def _codings(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        if "system" in node and "code" in node and isinstance(node.get("code"), str):
            yield node
        for value in node.values():
            yield from _codings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _codings(item)


def test_contract_concepts_exist_in_concepts_yaml(shipped_kb: KnowledgeBase) -> None:
    needed = {TYPICAL_SIGNS, *FINDINGS.values(), *CANCER.values(), *PERFORMANCE.values()}
    needed |= {cid for cid, _ in CSF.values()} | {cid for cid, _ in PATIENT.values()}
    for group in shipped_kb.units.values():
        needed |= set(group.concepts)
    missing = sorted(needed - set(shipped_kb.concepts))
    assert not missing, f"concepts.yaml lacks {missing}"
    assert any(SYMPTOM_CLASS in c.classes for c in shipped_kb.concepts.values())


def test_canonical_units_are_known_to_the_converter(shipped_kb: KnowledgeBase) -> None:
    from leptoguide.knowledge.units import unit_converter

    conv = unit_converter(shipped_kb)
    unknown = sorted(
        f"{c.id}: {c.unit}"
        for c in shipped_kb.concepts.values()
        if c.unit and conv.canonical_spelling(c.unit) is None
    )
    assert not unknown, f"canonical units missing from units.yaml: {unknown}"


@pytest.mark.parametrize("path", FHIR, ids=lambda p: p.name)
def test_example_codes_exist_in_concepts_yaml(shipped_kb: KnowledgeBase, path: Path) -> None:
    index = term_index(shipped_kb)
    doc = json.loads(path.read_text())
    missing = []
    for coding in _codings(doc):
        if coding["system"] not in CODED_SYSTEMS or coding["code"] in NOT_RELIED_ON:
            continue
        ids, _ = index.by_coding(coding["system"], coding["code"])
        is_value = coding["system"].startswith("https://leptoguide.org") and any(
            coding["code"] in (c.value_set or []) for c in shipped_kb.concepts.values()
        )
        if not ids and not is_value:
            missing.append(f"{coding['system']}|{coding['code']}")
    assert not missing, f"{path.name}: codes not in concepts.yaml: {missing}"
