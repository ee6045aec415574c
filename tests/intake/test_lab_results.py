"""Laboratory result texts and the conditions they establish (Concept.implies): US and UK
wording, titres, and what a result must never do (override a recorded condition, read a serum
antigen as meningitis, read an unreadable viral load as HIV)."""

from __future__ import annotations

from typing import Any

import pytest

from intake_helpers import LOINC, bundle, dumps, obs, qty
from leptoguide.case import Case
from leptoguide.intake import read_input
from leptoguide.knowledge.loader import KnowledgeBase


def _read(kb: KnowledgeBase, *resources: dict[str, Any]) -> Case:
    return read_input(dumps(bundle(*resources)), name="labs.json", kb=kb)


def _text_obs(name: str, value: str, rid: str = "o1") -> dict[str, Any]:
    res = obs("L1", "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14", rid, valueString=value)
    res["code"]["text"] = name
    res["code"]["coding"][0]["display"] = name.upper()
    return res


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Positive", "positive"),
        ("1:640", "positive"),
        ("<1:2", "negative"),
        ("Not detected", "negative"),
        ("NEGATIVE", "negative"),
        ("Cryptococcal antigen detected", "positive"),
    ],
)
def test_csf_crag_results(shipped_kb: KnowledgeBase, value: str, expected: str) -> None:
    case = _read(shipped_kb, obs("29896-8", LOINC, "c", valueString=value))
    got = case.latest("csf-crag")
    assert got is not None and (got.status, got.value) == ("ok", expected)
    has = any(c.concept == "cryptococcal-meningitis" for c in case.conditions)
    assert has == (expected == "positive")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("No growth", False),
        ("No growth after 48 hours", False),
        ("No growth to date.", False),
        ("Streptococcus pneumoniae", "Streptococcus pneumoniae"),
        ("Cryptococcus neoformans", "Cryptococcus neoformans"),
    ],
)
def test_csf_culture_results(shipped_kb: KnowledgeBase, value: str, expected: Any) -> None:
    case = _read(shipped_kb, obs("606-4", LOINC, "c", valueString=value))
    got = case.latest("csf-culture")
    assert got is not None and got.value == expected
    crypto = any(c.concept == "cryptococcal-meningitis" for c in case.conditions)
    assert crypto == ("Cryptococcus" in value)


def test_xpert_wording_reads_detected_and_not_detected(shipped_kb: KnowledgeBase) -> None:
    detected = _read(shipped_kb, _text_obs("Xpert MTB/RIF Ultra, CSF", "MTB DETECTED VERY LOW; RIF "
                                   "Resistance INDETERMINATE"))  # fmt: skip
    assert detected.latest("csf-mtb-naat").value == "positive"  # type: ignore[union-attr]
    tbm = next(c for c in detected.conditions if c.concept == "tuberculous-meningitis")
    assert tbm.reference == "Observation/o1" and tbm.text and "established by" in tbm.text
    negative = _read(shipped_kb, _text_obs("CSF Xpert MTB/RIF Ultra", "MTB NOT DETECTED"))
    assert negative.latest("csf-mtb-naat").value == "negative"  # type: ignore[union-attr]
    assert not negative.conditions


def test_serum_antigen_alone_is_not_meningitis(shipped_kb: KnowledgeBase) -> None:
    case = _read(shipped_kb, _text_obs("Serum cryptococcal antigen", "Positive"))
    assert case.latest("serum-crag").value == "positive"  # type: ignore[union-attr]
    assert not case.conditions


@pytest.mark.parametrize(("value", "expected"), [("1:160", "positive"), ("<1:2", "negative")])
def test_serum_antigen_titre_by_loinc_code_is_not_meningitis(
    shipped_kb: KnowledgeBase, value: str, expected: str
) -> None:
    """LOINC 9820-2 (serum titre) reads as the serum antigen, never as the CSF antigen."""
    case = _read(shipped_kb, obs("9820-2", LOINC, "s", valueString=value))
    got = case.latest("serum-crag")
    assert got is not None and (got.status, got.value) == ("ok", expected)
    assert case.latest("csf-crag") is None
    assert not case.conditions


def test_a_recorded_condition_is_not_overridden(shipped_kb: KnowledgeBase) -> None:
    resolved = {
        "resourceType": "Condition",
        "id": "hiv-old",
        "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "B20"}]},
        "clinicalStatus": {"coding": [{"code": "resolved"}]},
    }
    case = _read(shipped_kb, resolved, obs("56888-1", LOINC, "h", valueString="Reactive"))
    entries = [c for c in case.conditions if c.concept == "hiv"]
    assert [(c.reference, c.active) for c in entries] == [("Condition/hiv-old", False)]


@pytest.mark.parametrize(
    ("value", "hiv"),
    [
        ({"valueQuantity": qty(245000, "copies/mL")}, True),
        ({"valueQuantity": qty(0, "copies/mL")}, False),
        ({"valueString": "Not detected"}, False),
        ({"valueString": "<20"}, False),
    ],
)
def test_viral_load_establishes_hiv_only_when_detected(
    shipped_kb: KnowledgeBase, value: dict[str, Any], hiv: bool
) -> None:
    case = _read(shipped_kb, obs("20447-9", LOINC, "v", **value))
    assert any(c.concept == "hiv" for c in case.conditions) == hiv


def test_uk_cd4_in_si_units(shipped_kb: KnowledgeBase) -> None:
    case = _read(shipped_kb, obs("24467-3", LOINC, "cd4", valueQuantity=qty(0.045, "10*9/L")))
    got = case.latest("cd4-count")
    assert got is not None and got.value == pytest.approx(45.0) and got.unit == "/uL"
