"""Unit conversion: every variant the brief lists, both directions, and what must not convert."""

from __future__ import annotations

import pytest

from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.units import unit_converter


@pytest.mark.parametrize(
    ("concept", "value", "unit", "target", "expected"),
    [
        ("platelets", 30000, "/uL", "10*9/L", 30.0),
        ("platelets", 30, "10*3/uL", "10*9/L", 30.0),
        ("platelets", 30, "K/uL", "10*9/L", 30.0),
        ("platelets", 30, "x10E3/uL", "10*9/L", 30.0),
        ("platelets", 30, "10^9/L", "10*9/L", 30.0),
        ("platelets", 30, "10*9/L", "/uL", 30000.0),
        ("csf-wbc", 12, "/mm3", "/uL", 12.0),
        ("csf-wbc", 12, "10*6/L", "/uL", 12.0),
        ("csf-wbc", 12, "cells/uL", "/uL", 12.0),
        ("csf-wbc", 12, "/µL", "/uL", 12.0),
        ("csf-glucose", 1.2, "mmol/L", "mg/dL", 21.6192),
        ("csf-glucose", 90.08, "mg/dL", "mmol/L", 5.0),
        ("serum-glucose", 0.9008, "g/L", "mmol/L", 5.0),
        ("csf-protein", 0.45, "g/L", "mg/dL", 45.0),
        ("csf-protein", 45, "mg/dL", "g/L", 0.45),
        ("csf-opening-pressure", 250, "mm[H2O]", "cm[H2O]", 25.0),
        ("csf-opening-pressure", 25, "cmH2O", "cm[H2O]", 25.0),
        ("body-weight", 3250, "g", "kg", 3.25),
        ("body-weight", 154, "[lb_av]", "kg", 69.85322498),
        ("body-weight", 154, "lbs", "kg", 69.85322498),
        ("body-height", 1.65, "m", "cm", 165.0),
        ("body-height", 65, "[in_i]", "cm", 165.1),
        ("creatinine-clearance", 1, "mL/s", "mL/min", 60.0),
    ],
)
def test_conversions(
    intake_kb: KnowledgeBase, concept: str, value: float, unit: str, target: str, expected: float
) -> None:
    assert unit_converter(intake_kb).convert(concept, value, unit, target) == pytest.approx(
        expected
    )


@pytest.mark.parametrize(
    ("concept", "unit", "target"),
    [
        ("csf-protein", "mmol/L", "mg/dL"),  # molar factor is glucose-only
        ("platelets", "mg/dL", "10*9/L"),
        ("body-weight", "cm", "kg"),
        ("csf-wbc", "furlongs", "/uL"),
    ],
)
def test_not_convertible(intake_kb: KnowledgeBase, concept: str, unit: str, target: str) -> None:
    assert unit_converter(intake_kb).convert(concept, 1.0, unit, target) is None


def test_shipped_units_load_with_the_real_kb(shipped_kb: KnowledgeBase) -> None:
    assert "cell-concentration" in shipped_kb.units
    assert shipped_kb.units["glucose-molar-mass"].concepts == ["csf-glucose", "serum-glucose"]


@pytest.mark.parametrize(
    ("concept", "unit", "target", "expected"),
    [  # as laboratory systems print them: multiplication sign, superscript exponents
        ("platelets", "×10⁹/L", "10*9/L", 30.0),
        ("platelets", "10⁹/L", "10*9/L", 30.0),
        ("platelets", "x10³/µL", "10*9/L", 30.0),
        ("platelets", "Gpt/l", "10*9/L", 30.0),  # German laboratories: giga-particles per litre
        ("csf-wbc", "×10⁶/L", "/uL", 30.0),
        ("csf-wbc", "cells/cu mm", "/uL", 30.0),
        ("csf-wbc", "cells/mm³", "/uL", 30.0),
        ("platelets", "x10(9)/L", "10*9/L", 30.0),
        ("csf-wbc", "x10(6)/L", "/uL", 30.0),
        ("platelets", "x10*3/uL", "10*9/L", 30.0),
    ],
)
def test_printed_spellings(
    shipped_kb: KnowledgeBase, concept: str, unit: str, target: str, expected: float
) -> None:
    assert unit_converter(shipped_kb).convert(concept, 30, unit, target) == pytest.approx(expected)


@pytest.mark.parametrize("unit", ["10 9/L", "G/l", "/HPF"])
def test_spellings_that_stay_unreadable(shipped_kb: KnowledgeBase, unit: str) -> None:
    """A lost superscript ('10 9/L' could be 10^9 or 109), 'G/l' (giga or grams per litre once
    case is lost) and a count per microscope field are never guessed."""
    assert unit_converter(shipped_kb).convert("platelets", 30, unit, "10*9/L") is None
