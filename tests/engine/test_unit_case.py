"""One unit table, case-sensitive as UCUM: G/L (giga per litre) is a cell count, g/L is grams per
litre. A platelet count in g/L is an unreadable unit (resource and field named), never a count."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from leptoguide.engine import assess
from leptoguide.engine.derive import build_facts
from leptoguide.intake import read_input
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.units import exact_key, unit_converter, unit_key
from leptoguide.policy import load_policy

ROOT = Path(__file__).parents[2]
LP_CHART = ROOT / "examples" / "fhir" / "lp-order-low-platelets-enoxaparin.json"
AT = dt.datetime(2026, 11, 20, 12, tzinfo=dt.UTC)


def _lp_chart(unit: str, value: float = 42) -> bytes:
    """The LP-order example chart with its latest platelet count written in ``unit``."""
    chart: dict[str, Any] = json.loads(LP_CHART.read_text(encoding="utf-8"))
    for entry in chart["entry"]:
        res = entry["resource"]
        if res.get("id") == "o-plt":
            res["valueQuantity"] = {"value": value, "unit": unit}
    return json.dumps(chart).encode()


@pytest.mark.parametrize(
    ("unit", "value", "expected"),
    [("G/L", 42, 42.0), ("10*9/L", 42, 42.0), ("K/uL", 42, 42.0), ("/uL", 42000, 42.0)],
)
def test_giga_per_litre_is_a_cell_count(
    shipped_kb: KnowledgeBase, unit: str, value: float, expected: float
) -> None:
    assert unit_converter(shipped_kb).convert("platelets", value, unit, "10*9/L") == expected
    case = read_input(_lp_chart(unit, value), name="lp.json", kb=shipped_kb)
    facts = build_facts(case, kb=shipped_kb, policy=load_policy(shipped_kb), at=AT)
    plt = facts.get("platelets")
    assert (plt.status, plt.value) == ("ok", expected)


@pytest.mark.parametrize("unit", ["g/L", "g/l", "g / L"])
def test_a_cell_count_in_grams_per_litre_is_an_unreadable_unit(
    shipped_kb: KnowledgeBase, unit: str
) -> None:
    assert unit_converter(shipped_kb).convert("platelets", 42, unit, "10*9/L") is None
    case = read_input(_lp_chart(unit), name="lp.json", kb=shipped_kb)
    warning = next(w for w in case.warnings if w.where == "Observation/o-plt")
    assert warning.field == "valueQuantity"
    assert f"unreadable unit '{unit}'" in warning.message
    assert "mass per volume, not number of cells per volume" in warning.message
    policy = load_policy(shipped_kb)
    facts = build_facts(case, kb=shipped_kb, policy=policy, at=AT)
    plt = facts.get("platelets")
    assert plt.status == "unparseable" and plt.value is None
    assert plt.reference == "Observation/o-plt"
    # fail closed: the count is not used (not the older count, not 'safe'), and the assessment says so
    result = assess(case, kb=shipped_kb, policy=policy, at=AT)
    missing = {m.item: m for m in result.missing}
    assert "platelets" in missing and missing["platelets"].status == "unparseable"
    assert "lp-platelets-low" not in {f.rule for f in result.findings}
    assert any(
        w.where == "Observation/o-plt" and "unreadable unit" in w.message for w in result.warnings
    )


def test_grams_per_litre_stays_a_mass_concentration(shipped_kb: KnowledgeBase) -> None:
    conv = unit_converter(shipped_kb)
    assert conv.canonical_spelling("g/L") == "g/L"
    assert conv.canonical_spelling("g/l") == "g/L"
    assert conv.canonical_spelling("G/L") == "10*9/L"
    assert conv.convert("csf-protein", 0.45, "g/l", "mg/dL") == 45.0
    assert conv.convert("csf-protein", 0.45, "G/L", "mg/dL") is None


def test_no_spelling_means_two_units(shipped_kb: KnowledgeBase) -> None:
    """Aliases matched ignoring case never collide; case-sensitive spellings never collide exactly
    (and are the only way one case-folded spelling may mean two units)."""
    folded: dict[str, str] = {}
    exact: dict[str, str] = {}
    for group in shipped_kb.units.values():
        for udef in group.units:
            for spelling in (udef.unit, *udef.aliases):
                key = unit_key(spelling)
                assert folded.setdefault(key, udef.unit) == udef.unit, (spelling, folded[key])
            for spelling in (udef.unit, *udef.aliases, *udef.case_sensitive):
                key = exact_key(spelling)
                assert exact.setdefault(key, udef.unit) == udef.unit, (spelling, exact[key])


@pytest.mark.parametrize(
    ("unit", "accepted"),
    [(None, True), ("", True), ("{INR}", True), ("INR", True), ("1", True), ("mg", False)],
)
def test_unitless_facts_take_only_dimensionless_units(
    shipped_kb: KnowledgeBase, unit: str | None, accepted: bool
) -> None:
    assert unit_converter(shipped_kb).dimensionless(unit) is accepted
