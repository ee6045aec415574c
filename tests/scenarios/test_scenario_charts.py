"""Real-shaped charts (tests/scenarios/charts): every chart is read without an error, every expected
fact is read with its value, other patients' data is never used, and LM given as narrative
reports gets the right EANO-ESMO class and type. Regenerate with charts/build_charts.py."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest
import yaml

from leptoguide.case import Case
from leptoguide.engine import assess
from leptoguide.intake import read_path
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.policy import load_policy

HERE = Path(__file__).parent / "charts"
CHARTS: list[dict[str, Any]] = yaml.safe_load((HERE / "expected.yaml").read_text())["charts"]
AT = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)


def test_at_least_sixty_charts() -> None:
    assert len(CHARTS) >= 60
    assert len(list((HERE / "bundles").glob("*.json"))) == len(CHARTS)


def _fact(case: Case, concept: str) -> Any:
    obs = case.latest(concept)
    assert obs is not None, f"{concept} not read"
    return obs


@pytest.mark.parametrize("spec", CHARTS, ids=[Path(c["file"]).stem for c in CHARTS])
def test_chart_reads_every_expected_fact(shipped_kb: KnowledgeBase, spec: dict[str, Any]) -> None:
    case = read_path(HERE / spec["file"], kb=shipped_kb)
    for concept, value in (spec.get("facts") or {}).items():
        obs = _fact(case, concept)
        assert obs.status == "ok" and obs.value == value, (concept, obs)
    for concept, value in (spec.get("approx") or {}).items():
        obs = _fact(case, concept)
        assert obs.status == "ok" and obs.value == pytest.approx(value, rel=0.02), (concept, obs)
    for concept, needle in (spec.get("quotes") or {}).items():
        note = _fact(case, concept).note or ""
        assert needle in note, (concept, note)
    for concept in spec.get("unreadable") or []:
        assert _fact(case, concept).status == "unparseable", concept
    for concept in spec.get("absent_facts") or []:
        assert case.latest(concept) is None, concept
    active = {c.concept for c in case.conditions if c.active}
    assert not active & set(spec.get("absent_conditions") or []), active
    meds = {m.concept for m in case.medications}
    assert set(spec.get("medications") or []) <= meds, meds
    if "ongoing" in spec:
        assert {m.concept for m in case.medications if m.ongoing} == set(spec["ongoing"])
    if "patient" in spec:
        assert case.patient_reference == spec["patient"]
    if "dropped" in spec:
        assert len(case.dropped) == spec["dropped"], case.dropped
    messages = " | ".join(w.message for w in case.warnings)
    for needle in spec.get("warnings") or []:
        assert needle in messages
    assert len(case.warnings) <= spec.get("max_warnings", 20), messages
    # no cross-patient data: nothing kept comes from a dropped resource
    foreign = {d.reference for d in case.dropped if d.kind == "other-patient"}
    assert not {o.reference for o in case.observations} & foreign


@pytest.mark.parametrize(
    "spec",
    [c for c in CHARTS if "classification" in c],
    ids=[Path(c["file"]).stem for c in CHARTS if "classification" in c],
)
def test_lm_from_narrative_reports_is_classified(
    shipped_kb: KnowledgeBase, spec: dict[str, Any]
) -> None:
    case = read_path(HERE / spec["file"], kb=shipped_kb)
    result: Any = assess(case, kb=shipped_kb, policy=load_policy(shipped_kb), at=AT).to_dict()
    got = result["classification"]
    want = spec["classification"]
    assert (got["certainty"], got["type"]) == (want["certainty"], want["type"]), got
    fired = {f["rule"] for f in result["findings"]}
    assert "mri-before-lp" not in fired  # the MRI report is read: no "do the MRI first"


INFECTION = [c for c in CHARTS if "rules" in c or "absent_rules" in c or "conditions" in c]


@pytest.mark.parametrize("spec", INFECTION, ids=[Path(c["file"]).stem for c in INFECTION])
def test_laboratory_results_establish_infections_and_the_rules_fire(
    shipped_kb: KnowledgeBase, spec: dict[str, Any]
) -> None:
    """CSF microbiology, CD4 and HIV results (US and UK shapes) become the facts the infection
    rules read: a positive CSF CrAg or India ink gives cryptococcal meningitis, a detected CSF
    MTB NAAT TB meningitis, a reactive HIV test or a detected viral load HIV; negative results
    ('No growth', 'No organisms seen', 'Non-reactive') establish nothing."""
    case = read_path(HERE / spec["file"], kb=shipped_kb)
    conditions = {c.concept for c in case.conditions if c.active}
    assert set(spec.get("conditions") or []) <= conditions, conditions
    for cid in spec.get("conditions") or []:
        entry = next(c for c in case.conditions if c.concept == cid)
        assert entry.text and "established by" in entry.text and entry.reference, entry
    result: Any = assess(case, kb=shipped_kb, policy=load_policy(shipped_kb), at=AT).to_dict()
    fired = {f["rule"] for f in result["findings"]}
    assert set(spec.get("rules") or []) <= fired, fired
    assert not set(spec.get("absent_rules") or []) & fired, fired
