"""Free-text phrase stage of the terminology matcher, against the shipped terminology."""

from __future__ import annotations

import time
from typing import Any

import pytest

from intake_helpers import bundle, dumps
from leptoguide.intake import read_input
from leptoguide.intake.terminology import TermIndex, term_index
from leptoguide.knowledge.loader import KnowledgeBase

MEDS = ("medication",)
PROCS = ("procedure",)
DEVICES = ("device",)
CONDS = ("condition", "finding")


@pytest.fixture(scope="module")
def index(shipped_kb: KnowledgeBase) -> TermIndex:
    return term_index(shipped_kb)


def ids(index: TermIndex, text: str, kinds: tuple[str, ...], multi: bool = False) -> list[str]:
    return [m.concept.id for m in index.find_phrases([text], kinds, multi=multi).matches]


@pytest.mark.parametrize(
    ("text", "kinds", "expected"),
    [
        ("Osimertinib 80 mg tablet", MEDS, "osimertinib"),
        ("Calcium gluconate 10% injection", MEDS, "calcium-iv"),
        ("IV calcium 1 g over 10 min", MEDS, "calcium-iv"),
        ("Enoxaparin 40 mg/0.4 mL prefilled syringe", MEDS, "enoxaparin"),
        ("Ceftriaxone 2 g IV q12h", MEDS, "ceftriaxone"),
        ("Dexamethasone 10 mg IV every 6 hours", MEDS, "dexamethasone"),
        ("Methotrexate 12 mg intrathecal (preservative-free)", MEDS, "methotrexate"),
        ("CT head without contrast", PROCS, "ct-head"),
        ("Lumbar puncture, diagnostic, under fluoroscopy", PROCS, "lumbar-puncture"),
        ("Ommaya reservoir, right frontal", DEVICES, "ommaya-reservoir"),
        ("Double vision, worse on left gaze", CONDS, "diplopia"),
        ("Sepsis in newborn", CONDS, "sepsis"),
        ("Neonatal jaundice", CONDS, "hyperbilirubinemia"),
    ],
)
def test_phrase_found(index: TermIndex, text: str, kinds: tuple[str, ...], expected: str) -> None:
    assert ids(index, text, kinds) == [expected]


def test_exact_match_still_first(index: TermIndex) -> None:
    found = index.match({"text": "Osimertinib"}, MEDS)
    assert [m.concept.id for m in found] == ["osimertinib"] and found[0].by == "text"


def test_longest_phrase_wins(index: TermIndex) -> None:
    # "bacterial meningitis" (2 words) beats "meningitis" inside it
    assert ids(index, "Acute bacterial meningitis, suspected", CONDS, multi=True) == [
        "bacterial-meningitis"
    ]
    # the on-off valve shunt is more specific than "vp shunt"
    assert ids(index, "VP shunt with on-off valve (Codman)", DEVICES) == ["vp-shunt-on-off-valve"]


def test_calcium_carbonate_is_not_iv_calcium(index: TermIndex) -> None:
    res = index.find_phrases(["Calcium carbonate 500 mg tablet"], MEDS)
    assert res.matches == []


def test_oral_calcium_gluconate_is_excluded(index: TermIndex) -> None:
    res = index.find_phrases(["Calcium gluconate 500 mg tablet"], MEDS)
    assert res.matches == []
    assert [(c, w) for c, w, _ in res.excluded] == [("calcium-iv", "tablet")]


def test_heparin_flush_is_not_systemic_heparin(index: TermIndex) -> None:
    res = index.find_phrases(["Heparin lock flush 10 units/mL"], MEDS)
    assert res.matches == []
    assert res.excluded and res.excluded[0][0] == "heparin"
    assert ids(index, "Heparin 5000 units subcutaneous q8h", MEDS) == ["heparin"]


@pytest.mark.parametrize(
    ("text", "cue"),
    [
        ("No headache", "negation cue 'no'"),
        ("Patient denies diplopia", "negation cue 'denies'"),
        ("Rule out meningitis", "possible cue 'rule out'"),
        ("R/O bacterial meningitis", "possible cue 'r o'"),
        ("History of breast cancer", "historical cue 'history of'"),
        ("Meningitis ruled out", "negation cue 'ruled out'"),
        ("Negative for papilledema on fundoscopy", "negation cue 'negative for'"),
        ("Possible leptomeningeal metastasis", "possible cue 'possible'"),
        ("Concern for LM", "possible cue 'concern for'"),
        ("Mother had breast cancer", "family cue 'mother had'"),
        ("Evaluate for meningitis", "hypothetical cue 'evaluate for'"),
        ("Leptomeningeal disease cannot be excluded", "possible cue 'cannot be excluded'"),
        ("Family history of melanoma", "family cue 'family history of'"),
    ],
)
def test_mentions_not_stated_as_present_are_not_asserted(
    index: TermIndex, text: str, cue: str
) -> None:
    res = index.find_phrases([text], CONDS, multi=True)
    assert res.matches == []
    assert res.negated and res.negated[0][1] == cue


def test_negation_scope_ends(index: TermIndex) -> None:
    assert ids(index, "No fever but headache", CONDS, multi=True) == ["headache"]
    assert ids(index, "No fever. Headache since morning", CONDS, multi=True) == ["headache"]
    # a cue only reaches forward: the headache before "no" stays present
    assert ids(index, "Headache, no fever", CONDS, multi=True) == ["headache"]


def test_negation_does_not_apply_to_orders_or_drugs(index: TermIndex) -> None:
    assert ids(index, "CT head without contrast", PROCS) == ["ct-head"]
    assert ids(index, "Dexamethasone, no taper", MEDS) == ["dexamethasone"]


def test_two_equally_long_names_are_ambiguous_for_a_single_valued_reader(index: TermIndex) -> None:
    res = index.find_phrases(["CT head or MRI brain"], PROCS)
    assert res.matches == []
    assert res.ambiguous == ["ct-head", "mri-brain"]


def test_same_words_two_concepts_are_ambiguous() -> None:
    from leptoguide.knowledge.models import Concept

    concepts = {
        "aa": Concept(id="aa", kind="medication", display="A", synonyms=["drug x"]),
        "bb": Concept(id="bb", kind="medication", display="B", synonyms=["drug x"]),
    }
    res = TermIndex.build(concepts).find_phrases(["drug x 10 mg tablet"], MEDS, multi=True)
    assert res.matches == [] and res.ambiguous == ["aa", "bb"]


def test_combination_product_names_each_drug(index: TermIndex) -> None:
    assert ids(index, "Dabrafenib and trametinib", MEDS, multi=True) == ["dabrafenib", "trametinib"]


def test_condition_text_can_name_two_conditions(index: TermIndex) -> None:
    found = ids(index, "Leptomeningeal metastasis from breast cancer", CONDS, multi=True)
    assert sorted(found) == ["breast-cancer", "leptomeningeal-metastasis"]


def test_unrelated_text_gives_nothing(index: TermIndex) -> None:
    for text in ("Paracetamol 1 g tablet", "Chest X-ray", "Heart rate", "it was fine"):
        res = index.find_phrases([text], (*MEDS, *PROCS, *CONDS))
        assert res.matches == [] and not res.ambiguous, text


# ---------------------------------------------------------------- through the FHIR reader


def _cond(rid: str, text: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition",
        "id": rid,
        "code": {"text": text},
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "onsetDateTime": "2026-11-20T08:00:00Z",
    }


def _med(rid: str, text: str) -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest",
        "id": rid,
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": text},
        "authoredOn": "2026-11-20T08:00:00Z",
    }


def test_reader_uses_phrases_and_warns_on_refusals(shipped_kb: KnowledgeBase) -> None:
    b = bundle(
        _cond("c1", "Double vision, worse on left gaze"),
        _cond("c2", "No headache"),
        _med("m1", "Osimertinib 80 mg tablet"),
        _med("m2", "Calcium carbonate 1250 mg tablet"),
        _med("m3", "Heparin lock flush 100 units/mL"),
        {
            **_med("m4", "Dabrafenib and trametinib"),
            "dosageInstruction": [
                {"doseAndRate": [{"doseQuantity": {"value": 150, "unit": "mg"}}]}
            ],
        },
        {
            "resourceType": "ServiceRequest",
            "id": "s1",
            "status": "active",
            "intent": "order",
            "code": {"text": "CT head without contrast"},
            "authoredOn": "2026-11-20T08:00:00Z",
        },
    )
    case = read_input(dumps(b), name="b.json", kb=shipped_kb)
    assert [c.concept for c in case.conditions] == ["diplopia"]
    assert [m.concept for m in case.medications] == ["osimertinib", "dabrafenib", "trametinib"]
    assert [m.dose for m in case.medications[1:]] == [None, None]
    assert [p.concept for p in case.procedures] == ["ct-head"]
    by = {w.where: w.message for w in case.warnings}
    assert "negation cue 'no'" in by["Condition/c2"]
    assert "text only: 1 not recognised" in by["b.json"]
    assert "names heparin but also 'lock flush'" in by["MedicationRequest/m3"]
    assert "names several medications (dabrafenib, trametinib)" in by["MedicationRequest/m4"]
    # one warning per refused resource (no second "not recognised")
    assert sum(w.where == "Condition/c2" for w in case.warnings) == 1


def test_phrase_stage_is_fast(index: TermIndex) -> None:
    texts = [
        "Osimertinib 80 mg tablet",
        "Calcium gluconate 10% injection",
        "CT head without contrast",
        "Double vision, worse on left gaze",
        "No fever but headache",
    ] * 40  # 200 texts, as many as a 200-resource bundle with only free text
    kinds = (*MEDS, *PROCS, *DEVICES, *CONDS)
    start = time.perf_counter()
    for t in texts:
        index.find_phrases([t], kinds, multi=True)
    elapsed = time.perf_counter() - start
    assert elapsed < 0.25, f"{elapsed * 1000:.1f} ms for 200 texts"
