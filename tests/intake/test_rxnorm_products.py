"""RxNorm product codes (SCD, SBD, packs) of the antithrombotics are verified data: each resolves,
through the FHIR reader, to the ingredient concept the rules read, and its recorded display names
that ingredient."""

from __future__ import annotations

import pytest

from intake_helpers import RXNORM, bundle, dumps
from leptoguide.intake import read_input
from leptoguide.intake.terminology import normalize_system, normalize_text
from leptoguide.knowledge.loader import get_knowledge

KB = get_knowledge()
PRODUCTS = [
    (cid, coding.code, coding.display or "")
    for cid, concept in sorted(KB.concepts.items())
    if concept.kind == "medication"
    for coding in concept.codes
    if normalize_system(coding.system) == RXNORM and coding.display and " " in coding.display
]


def test_product_codes_are_verified_with_a_source() -> None:
    assert len(PRODUCTS) >= 100
    for cid in ("apixaban", "rivaroxaban", "enoxaparin", "heparin", "warfarin", "clopidogrel"):
        assert any(p[0] == cid for p in PRODUCTS), cid
    for cid, code, _ in PRODUCTS:
        coding = next(c for c in KB.concepts[cid].codes if c.code == code)
        assert coding.verified and coding.checked_in, (cid, code)


@pytest.mark.parametrize(("cid", "code", "display"), PRODUCTS, ids=[p[1] for p in PRODUCTS])
def test_product_code_reads_as_its_ingredient(cid: str, code: str, display: str) -> None:
    names = [KB.concepts[cid].display, *KB.concepts[cid].synonyms]
    words = f" {normalize_text(display)} "
    assert any(f" {normalize_text(n)} " in words for n in names), (cid, display)
    res = {
        "resourceType": "MedicationRequest",
        "id": "m",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": code}]},
    }
    case = read_input(dumps(bundle(res)), name="m.json", kb=KB)
    assert [m.concept for m in case.medications] == [cid]


def test_unknown_product_code_with_a_product_display_still_names_the_drug() -> None:
    res = {
        "resourceType": "MedicationStatement",
        "id": "s",
        "status": "active",
        "medicationCodeableConcept": {
            "coding": [{"system": RXNORM, "display": "apixaban 5 MG Oral Tablet [Eliquis]"}]
        },
    }
    case = read_input(dumps(bundle(res)), name="m.json", kb=KB)
    assert [m.concept for m in case.medications] == ["apixaban"]
