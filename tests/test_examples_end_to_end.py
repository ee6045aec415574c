"""Every example bundle through the shipped KB, reader, engine and renderers, at a fixed time.

Each example lists the rule ids a clinician expects to fire and some that must stay silent, so a
change in terminology, rules or engine that breaks a realistic case shows up here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from leptoguide.assessment import as_assessment
from leptoguide.engine import assess
from leptoguide.intake import read_path
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.policy import load_policy
from leptoguide.render.html import render_html
from leptoguide.render.text import render_text

EXAMPLES = Path(__file__).parents[1] / "examples" / "fhir"

CASES: dict[str, dict[str, Any]] = {
    "adult-bacterial-meningitis-sepsis": {
        "at": "2026-11-20T04:30:00Z",
        "fire": {
            "antibiotics-before-imaging-sepsis": "critical",
            "bacterial-meningitis-empiric-regimen": "warning",
            "dexamethasone-bacterial-meningitis": "warning",
            "ceftriaxone-dose": "info",
            "csf-profile-differential": "info",
        },
        "silent": ["culture-yield-after-antibiotics", "lm-classification", "lp-platelets-low"],
        "summary": {
            "ceftriaxone-dose": "2 g every 12 h",
            "antibiotics-before-imaging-sepsis": "after the CT head order",
            "csf-profile-differential": "bacterial",
        },
    },
    "egfr-nsclc-probable-lm": {
        "at": "2026-11-18T18:00:00Z",
        "fire": {
            "lm-classification": "info",
            "systemic-therapy-by-driver": "info",
            "repeat-lp-after-negative-cytology": "warning",
            "proton-csi-option": "info",
        },
        "silent": ["supportive-care-poor-risk", "it-chemo-csf-flow-block", "lp-platelets-low"],
        "summary": {"lm-classification": "probable", "systemic-therapy-by-driver": "EGFR"},
        "medications": ["osimertinib"],
    },
    "her2-breast-confirmed-lm-ommaya": {
        "at": "2026-11-19T12:00:00Z",
        "fire": {
            "lm-classification": "info",
            "systemic-therapy-by-driver": "info",
            "proton-csi-option": "info",
        },
        "silent": ["repeat-lp-after-negative-cytology", "supportive-care-poor-risk"],
        "summary": {"lm-classification": "confirmed", "systemic-therapy-by-driver": "HER2"},
        "conditions": ["diplopia"],
    },
    "it-methotrexate-blocked-flow": {
        "at": "2026-11-20T09:00:00Z",
        "fire": {
            "it-chemo-csf-flow-block": "critical",
            "mtx-wbrt-leukoencephalopathy": "warning",
            "focal-rt-nodular-or-symptomatic": "info",
        },
        # no IT methotrexate calendar while the flow study shows a block
        "silent": ["it-chemo-standard-vp-shunt", "lp-platelets-low", "it-mtx-schedule"],
        "missing": ["her2-status"],
        "not_missing": ["egfr-mutation", "alk-rearrangement", "braf-v600"],
    },
    "lp-order-low-platelets-enoxaparin": {
        "at": "2026-11-20T12:00:00Z",
        "fire": {"lp-platelets-low": "critical", "lp-anticoagulant-timing": "critical"},
        "silent": ["lp-inr-high", "lm-classification"],
    },
    "melanoma-nodular-lm": {
        "at": "2026-11-17T12:00:00Z",
        "fire": {
            # one poor-risk feature (bulky disease) with ECOG 1: NCCN does not settle it
            "nccn-single-poor-feature": "info",
            "focal-rt-nodular-or-symptomatic": "info",
            "systemic-therapy-by-driver": "info",
            "lm-classification": "info",
        },
        "silent": [
            "supportive-care-poor-risk",
            "poor-risk-chemosensitive-exception",
            "proton-csi-option",
        ],
        "medications": ["dabrafenib", "trametinib"],
    },
    "neonate-ceftriaxone-calcium": {
        "at": "2026-11-20T08:00:00Z",
        "fire": {
            "ceftriaxone-calcium-neonate": "critical",
            "ceftriaxone-hyperbilirubinemia-neonate": "warning",
        },
        # sepsis without meningitis: the meningitis dose calculation stays silent
        "silent": ["antibiotics-before-imaging-sepsis", "lm-classification", "ceftriaxone-dose"],
        "medications": ["calcium-iv", "ceftriaxone"],
        "conditions": ["hyperbilirubinemia", "sepsis"],
    },
    "sclc-poor-risk": {
        "at": "2026-11-20T12:00:00Z",
        "fire": {
            # few systemic options recorded: the chemosensitive exception does not apply
            "supportive-care-poor-risk": "warning",
            "lm-classification": "info",
            "nccn-risk-group": "info",
        },
        "silent": [
            "poor-risk-chemosensitive-exception",
            "proton-csi-option",
            "systemic-therapy-by-driver",
        ],
        "risk": "poor",
    },
    "tb-meningitis-csf": {
        "at": "2026-11-18T12:00:00Z",
        "fire": {"tb-meningitis-regimen": "warning", "csf-profile-differential": "info"},
        "silent": ["bacterial-meningitis-empiric-regimen", "ceftriaxone-dose"],
    },
}


def run(shipped_kb: KnowledgeBase, name: str, audience: str = "clinician") -> dict[str, Any]:
    spec = CASES[name]
    case = read_path(EXAMPLES / f"{name}.json", kb=shipped_kb)
    at = dt.datetime.fromisoformat(spec["at"].replace("Z", "+00:00"))
    return assess(
        case, kb=shipped_kb, policy=load_policy(shipped_kb, None), at=at, audience=audience
    ).to_dict()


def test_every_example_is_covered() -> None:
    assert sorted(p.stem for p in EXAMPLES.glob("*.json")) == sorted(CASES)


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_rules(shipped_kb: KnowledgeBase, name: str) -> None:
    spec = CASES[name]
    data = run(shipped_kb, name)
    fired = {f["rule"]: f for f in data["findings"]}
    for rule, severity in spec["fire"].items():
        assert rule in fired, f"{name}: {rule} did not fire; fired {sorted(fired)}"
        assert fired[rule]["severity"] == severity
    for rule in spec["silent"]:
        assert rule not in fired, f"{name}: {rule} fired"
    for rule, text in spec.get("summary", {}).items():
        assert text in fired[rule]["summary"], fired[rule]["summary"]
    missing = {m["item"] for m in data["missing"]}
    assert set(spec.get("missing", [])) <= missing
    assert not set(spec.get("not_missing", [])) & missing
    if "risk" in spec:
        assert data["risk"]["group"] == spec["risk"]
    for w in data["warnings"]:
        assert w["field"] != "template", w
    # alerts come first, by severity
    order = {"critical": 0, "warning": 1, "info": 2}
    ranks = [order[f["severity"]] for f in data["findings"]]
    assert ranks == sorted(ranks)


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_reading(shipped_kb: KnowledgeBase, name: str) -> None:
    spec = CASES[name]
    case = read_path(EXAMPLES / f"{name}.json", kb=shipped_kb)
    meds = {m.concept for m in case.medications}
    conds = {c.concept for c in case.conditions if c.active}
    assert set(spec.get("medications", [])) <= meds
    assert set(spec.get("conditions", [])) <= conds
    assert not [
        w for w in case.warnings if "not recognised" in w.message and "Heart rate" not in w.message
    ]


@pytest.mark.parametrize("name", sorted(CASES))
def test_example_renders(shipped_kb: KnowledgeBase, name: str) -> None:
    data = as_assessment(run(shipped_kb, name))
    text = render_text(data, shipped_kb, width=100)
    html = render_html(data, shipped_kb)
    for f in data.findings:
        assert f.rule in text and f.rule in html and f.title in text
    assert "unknown regimen" not in text and ": ;" not in text
    patient = render_text(
        as_assessment(run(shipped_kb, name, audience="patient")), shipped_kb, width=100
    )
    assert "References" in patient or not data.findings


def test_citations_numbered_once_per_statement(shipped_kb: KnowledgeBase) -> None:
    from leptoguide.render.common import finding_refs, number_citations, ranges

    data = as_assessment(run(shipped_kb, "adult-bacterial-meningitis-sepsis"))
    numbers, refs = number_citations(data, shipped_kb)
    cited = {c.statement for f in data.findings for c in f.citations}
    assert len(refs) == len(cited) == len(numbers)
    assert [r.n for r in refs] == list(range(1, len(refs) + 1))
    # a statement cited by two findings keeps one number
    assert ranges([1, 2, 3, 5, 7, 8]) == "[1-3, 5, 7-8]" and ranges([]) == ""
    text = render_text(data, shipped_kb, width=100)
    for f in data.findings:
        assert ranges(finding_refs(f, numbers)) in text


def test_patient_report_plain_and_same_numbers(shipped_kb: KnowledgeBase) -> None:
    from leptoguide.render.common import number_citations

    clin = as_assessment(run(shipped_kb, "neonate-ceftriaxone-calcium"))
    pat = as_assessment(run(shipped_kb, "neonate-ceftriaxone-calcium", audience="patient"))
    assert number_citations(clin, shipped_kb)[0] == number_citations(pat, shipped_kb)[0]
    text = render_text(pat, shipped_kb, width=100)
    assert "ceftriaxone-calcium-neonate" not in text  # no rule ids
    assert "thresholds:" not in text and "inputs:" not in text and "…" not in text
    assert "Babies up to 28 days old" in text
    html = render_html(pat, shipped_kb)
    assert "Babies up to 28 days old" in html and 'href="#ref-1"' in html


def test_text_report_has_no_duplicate_summary_lines(shipped_kb: KnowledgeBase) -> None:
    data = as_assessment(run(shipped_kb, "adult-bacterial-meningitis-sepsis"))
    text = render_text(data, shipped_kb, width=200)
    assert "Empiric therapy: Empiric therapy" not in text
    assert text.count("Empiric therapy from 1 month (children and adults) without Listeria") == 1
    assert "What is missing" not in text or "needed for" in text
