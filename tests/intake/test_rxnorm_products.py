"""RxNorm product codes (SCD, SBD, packs) of the antithrombotics are verified data: each resolves,
through the FHIR reader, to the ingredient concept the rules read, and its recorded display names
that ingredient."""

from __future__ import annotations

import re

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


RULE_DRUGS_WITH_PRODUCTS = [
    # intrathecal agents and drugs that must never go into the CSF
    "methotrexate", "cytarabine", "liposomal-cytarabine", "thiotepa", "pemetrexed", "trastuzumab",
    "vincristine", "vinblastine", "vinorelbine", "bortezomib",
    # antibiotics, antifungals, TB drugs
    "ceftriaxone", "cefotaxime", "vancomycin", "ampicillin", "amoxicillin", "gentamicin",
    "flucytosine", "fluconazole", "isoniazid", "rifampicin", "pyrazinamide", "ethambutol",
    "ethionamide",
    # steroids, calcium, folate rescue
    "dexamethasone", "prednisolone", "prednisone", "calcium-iv", "leucovorin",
    # immune checkpoint inhibitors and targeted agents
    "pembrolizumab", "nivolumab", "ipilimumab", "osimertinib", "tucatinib", "capecitabine",
    "ceritinib", "lorlatinib", "dabrafenib", "trametinib", "vemurafenib", "trastuzumab-deruxtecan",
    "infliximab",
]  # fmt: skip
"""Drug concepts the rules read whose RxNorm product codes are listed (beyond antithrombotics).
Not listed, so read by ingredient code and name only: alectinib, aumolertinib, amphotericin B
(conventional and liposomal), vindesine (no public RxNorm product list was read for them)."""


@pytest.mark.parametrize("cid", RULE_DRUGS_WITH_PRODUCTS)
def test_every_rule_drug_class_has_verified_product_codes(cid: str) -> None:
    products = [p for p in PRODUCTS if p[0] == cid]
    assert products, cid


def test_product_displays_parse_as_rxnorm_names() -> None:
    """Every listed product display is in the RxNorm clinical/branded drug or pack shape, so its
    strength can be read from it (or a reason given why one unit is not a dose)."""
    from leptoguide.intake.strength import rxnorm_dose
    from leptoguide.intake.terminology import term_index

    forms = term_index(KB).unit_forms
    named = [(cid, d) for cid, _, d in PRODUCTS if re.search(r"\d (MG|MCG|UNT|MEQ|ML)\b", d)]
    assert len(named) >= 500
    unparsed = [(cid, d) for cid, d in named if rxnorm_dose(d, forms) is None]
    assert unparsed == []


BRANDS = sorted(
    {(cid, brand) for cid, _, display in PRODUCTS for brand in re.findall(r"\[([^\]]+)\]", display)}
)


@pytest.mark.parametrize(("cid", "brand"), BRANDS, ids=[b for _, b in BRANDS])
def test_brand_name_as_text_only_reads_as_the_ingredient(cid: str, brand: str) -> None:
    """A text-only order naming an RxNorm branded product ('Keytruda 200 mg IV') is read as the
    ingredient the rules expect: brand names are data (the concept's synonyms)."""
    res = {
        "resourceType": "MedicationRequest",
        "id": "m",
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": {"text": f"{brand} 1 vial"},
    }
    case = read_input(dumps(bundle(res)), name="m.json", kb=KB)
    assert [m.concept for m in case.medications] == [cid]
