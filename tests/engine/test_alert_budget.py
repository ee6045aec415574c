"""The alert budget holds on the project's chart sets (benchmarks/alert_budget.py measures it;
docs/alert-budget.md reports it): median warnings per chart at most 3, never more than 2 criticals
on one chart, and every critical comes from a rule whose evidence is reviewed in that document."""

from __future__ import annotations

import importlib.util
import statistics
import sys
from pathlib import Path
from types import ModuleType

from leptoguide.knowledge.loader import get_knowledge

ROOT = Path(__file__).parents[2]
REVIEWED_CRITICALS = {
    "lp-platelets-low",
    "lp-inr-high",
    "lp-anticoagulant-timing",
    "lp-raised-icp-signs",
    "antibiotics-before-imaging-sepsis",
    "ceftriaxone-calcium-neonate",
    "it-chemo-csf-flow-block",
    "it-never-intrathecal-drug",
    "it-dose-out-of-range",
}


def _budget() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "alert_budget", ROOT / "benchmarks" / "alert_budget.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["alert_budget"] = mod  # dataclasses resolve their module by name
    spec.loader.exec_module(mod)
    return mod


def test_alert_budget_on_every_chart_set() -> None:
    results = _budget().measure(get_knowledge())
    assert {r.name for r in results} == {
        "scenarios",
        "examples",
        "real-shaped LM and meningitis charts",
        "generic corpora",
    }
    for r in results:
        assert r.charts, r.name
        assert statistics.median(r.warnings) <= 3, (r.name, r.warning_rules)
        assert max(r.criticals) <= 2, (r.name, r.critical_charts)
        assert set(r.critical_rules) <= REVIEWED_CRITICALS, (r.name, r.critical_rules)
    documented = (ROOT / "docs" / "alert-budget.md").read_text()
    for rule in REVIEWED_CRITICALS:
        assert f"`{rule}`" in documented, rule
