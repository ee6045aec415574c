"""Computed answers for questions typed the way clinicians type them, each checked against the
engine's own result for the same case written here by hand.

Every question names what it wants (LP safety, a ceftriaxone or dexamethasone dose, empiric
antibiotics, a CSF picture, an intrathecal methotrexate calendar) and carries patient values. The
answer must lead with the engine's findings for the intent's rules, in the intent's order, with
the engine's own numbers (no dose, threshold or interval is written in this module), and must
show the values it read. Evaluated at a fixed local time (Wednesday 2 December 2026, 14:00,
UTC-5); clock times in a question are local times of that zone.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from computed_cases import AT, ago, gl, local, lp, mgdl, mmol
from leptoguide.answer import QA
from leptoguide.answer.result import Answer
from leptoguide.engine import assess
from leptoguide.intake.casefile import read_casefile
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.policy import Policy


def plt(value: float, unit: str = "10*9/L") -> dict[str, Any]:
    return {"test": "platelets", "value": value, "unit": unit}


def inr(value: float) -> dict[str, Any]:
    return {"test": "INR", "value": value}


def bm(ceftriaxone: bool = False, **patient: float) -> dict[str, Any]:
    doc: dict[str, Any] = {"patient": patient, "conditions": ["bacterial-meningitis"]}
    if ceftriaxone:
        doc["orders"] = [{"drug": "ceftriaxone"}]
    return doc


def csf(**values: Any) -> dict[str, Any]:
    return {"csf": values}


def mtx(start: str) -> dict[str, Any]:
    return {
        "orders": [{"drug": "methotrexate", "route": "intrathecal", "time": start}],
        "conditions": ["leptomeningeal-metastasis"],
    }


LPS = "intent-lp-safety"
CRO = "intent-ceftriaxone-dose"
DEX = "intent-dexamethasone-dose"
EMP = "intent-empiric-regimen"
CSF = "intent-csf-results"
MTX = "intent-it-methotrexate-schedule"
PLT_LOW, INR_HIGH, TIMING, MET, MISSING = (
    "lp-platelets-low",
    "lp-inr-high",
    "lp-anticoagulant-timing",
    "lp-anticoagulant-interval-met",
    "lp-safety-data-missing",
)
CRO_DOSE, CRO_NEO = "ceftriaxone-dose", "ceftriaxone-neonate-cautions"
DEX_DOSE, DEX_NONE = "dexamethasone-bacterial-meningitis", "dexamethasone-bm-age-not-covered"
EMPIRIC = "bacterial-meningitis-empiric-regimen"
CSF_PROFILE = "csf-profile-differential"
MTX_SCHEDULE = "it-mtx-schedule"


def enox(dose: float, freq: str, last: str) -> dict[str, Any]:
    return {"drug": "enoxaparin", "dose": dose, "unit": "mg", "frequency": freq, "last_dose": last}


def drug(
    name: str, last: str, dose: float | None = None, freq: str | None = None, **kw: Any
) -> dict[str, Any]:
    med: dict[str, Any] = {"drug": name, "last_dose": last, **kw}
    if dose is not None:
        med["dose"] = dose
        med.setdefault("unit", "mg")
    if freq:
        med["frequency"] = freq
    return med


CASES: list[tuple[str, str, dict[str, Any], list[str]]] = [
    # ---- LP safety: platelets, INR, antithrombotics, planned time
    ("plt 48k INR 1.6 ok for LP?", LPS, lp([plt(48, "10*3/uL"), inr(1.6)]), [PLT_LOW, INR_HIGH]),
    ("plt 35, ok to tap?", LPS, lp([plt(35)]), [PLT_LOW, MISSING]),
    ("platelets 48,000/uL, LP ok?", LPS, lp([plt(48000, "/uL")]), [PLT_LOW, MISSING]),
    ("platelets 25 x10^9/L, urgent LP for meningitis?", LPS, lp([plt(25)]), [PLT_LOW, MISSING]),
    ("plts 62 inr 1.1 for LP", LPS, lp([plt(62), inr(1.1)]), []),
    ("INR 1.4 plt 120 LP safe?", LPS, lp([plt(120), inr(1.4)]), []),
    (
        "INR 1.8 on warfarin, LP today?",
        LPS,
        lp([inr(1.8)], [{"drug": "warfarin"}]),
        [INR_HIGH, TIMING],
    ),
    (
        "enox 80 bd last dose 0800, LP at 1400?",
        LPS,
        lp(meds=[enox(80, "BID", local(8))], at=local(14)),
        [TIMING, MISSING],
    ),
    (
        "enox 80 bd last dose 0800, LP at 0900 tomorrow?",
        LPS,
        lp(meds=[enox(80, "BID", local(8))], at=local(9, day=1)),
        [MET, MISSING],
    ),
    (
        "enoxaparin 40mg od last dose 10pm, LP 2pm today?",
        LPS,
        lp(meds=[enox(40, "QD", local(22, day=-1))], at=local(14)),
        [MET, MISSING],
    ),
    (
        "plt 150 inr 1.0, clexane 40 od last dose 9pm yesterday - LP at 10:00 tomorrow ok?",
        LPS,
        lp([plt(150), inr(1.0)], [enox(40, "QD", local(21, day=-1))], at=local(10, day=1)),
        [MET],
    ),
    (
        "apixaban 5 bd last dose last night 10pm, LP today 3pm?",
        LPS,
        lp(meds=[drug("apixaban", local(22, day=-1), 5, "BID")], at=local(15)),
        [TIMING, MISSING],
    ),
    (
        "apixaban 2.5 bd last dose 8am LP now?",
        LPS,
        lp(meds=[drug("apixaban", local(8), 2.5, "BID")]),
        [TIMING, MISSING],
    ),
    (
        "rivaroxaban 20mg od last taken yesterday 9am - can we LP now?",
        LPS,
        lp(meds=[drug("rivaroxaban", local(9, day=-1), 20, "QD")]),
        [TIMING, MISSING],
    ),
    (
        "dabigatran 150 bd last dose 36 hrs ago, LP?",
        LPS,
        lp(meds=[drug("dabigatran", ago(36), 150, "BID")]),
        [TIMING, MISSING],
    ),
    (
        "clopidogrel 75 od stopped 3 days ago, LP?",
        LPS,
        lp(meds=[drug("clopidogrel", ago(72), 75, "QD")]),
        [TIMING, MISSING],
    ),
    (
        "ticagrelor last dose 2 days ago, LP?",
        LPS,
        lp(meds=[drug("ticagrelor", ago(48))]),
        [TIMING, MISSING],
    ),
    (
        "fondaparinux 2.5 od last dose 24h ago - LP?",
        LPS,
        lp(meds=[drug("fondaparinux", ago(24), 2.5, "QD")]),
        [TIMING, MISSING],
    ),
    (
        "dalteparin 5000 units od last dose 8pm yesterday, LP at 2pm ok?",
        LPS,
        lp(
            meds=[drug("dalteparin", local(20, day=-1), 5000, "QD", unit="units")],
            at=local(14),
        ),
        [TIMING, MISSING],
    ),
    (
        "heparin infusion stopped 3 hrs ago, LP?",
        LPS,
        lp(meds=[drug("heparin", ago(3))]),
        [TIMING, MISSING],
    ),
    # ---- ceftriaxone
    (
        "45yo 80kg bacterial meningitis ceftriaxone dose",
        CRO,
        bm(True, age_years=45, weight_kg=80),
        [CRO_DOSE],
    ),
    (
        "ceftriaxone dose 30 kg 8 yo meningitis",
        CRO,
        bm(True, age_years=8, weight_kg=30),
        [CRO_DOSE],
    ),
    (
        "pt 72kg 60 yo ceftriaxone dose for BM?",
        CRO,
        bm(True, age_years=60, weight_kg=72),
        [CRO_DOSE],
    ),
    (
        "ceftriaxone for a 2 mo 5kg with bacterial meningitis",
        CRO,
        bm(True, age_days=61, weight_kg=5),
        [CRO_DOSE],
    ),
    (
        "10d 3.5kg ceftriaxone dose meningitis",
        CRO,
        bm(True, age_days=10, weight_kg=3.5),
        [CRO_DOSE, CRO_NEO],
    ),
    (
        "rocephin for BM, 3/52 old, 3.9 kg",
        CRO,
        bm(True, age_days=21, weight_kg=3.9),
        [CRO_DOSE, CRO_NEO],
    ),
    # ---- dexamethasone (and both doses in one question)
    ("dex dose adult BM 70kg 40yo", DEX, bm(age_years=40, weight_kg=70), [DEX_DOSE]),
    ("dex 0.15 mg/kg for 30 kg 9 yo child with BM", DEX, bm(age_years=9, weight_kg=30), [DEX_DOSE]),
    ("6 weeks 5 kg BM dex?", DEX, bm(age_days=42, weight_kg=5), [DEX_DOSE]),
    ("3 wk old with BM, dexamethasone?", DEX, bm(age_days=21), [DEX_NONE]),
    (
        "2 yo 12 kg bacterial meningitis ceftriaxone + dex",
        DEX,
        bm(True, age_years=2, weight_kg=12),
        [DEX_DOSE, CRO_DOSE],
    ),
    (
        "wt 18 kg 5 yo bacterial meningitis - ceftriaxone and dex doses",
        DEX,
        bm(True, age_years=5, weight_kg=18),
        [DEX_DOSE, CRO_DOSE],
    ),
    # ---- empiric antibiotics by age
    ("4yo 16kg meningitis empiric", EMP, bm(age_years=4, weight_kg=16), [EMPIRIC]),
    ("70 yo 60 kg BM empiric abx?", EMP, bm(age_years=70, weight_kg=60), [EMPIRIC]),
    ("10 day old meningitis empiric antibiotics", EMP, bm(age_days=10), [EMPIRIC]),
    (
        "which antibiotics for bacterial meningitis in a 55 year old?",
        EMP,
        bm(age_years=55),
        [EMPIRIC],
    ),
    # ---- CSF results
    (
        "CSF wcc 250 90% neut, protein 2.1, glucose 1.2 serum 6",
        CSF,
        csf(wbc=250, neutrophils_pct=90, protein=gl(2.1), glucose=mmol(1.2), serum_glucose=mmol(6)),
        [CSF_PROFILE],
    ),
    (
        "CSF: WCC 12, lymphs 90%, protein 0.9, glucose 2.8, blood glucose 5.5",
        CSF,
        csf(
            wbc=12, lymphocytes_pct=90, protein=gl(0.9), glucose=mmol(2.8), serum_glucose=mmol(5.5)
        ),
        [CSF_PROFILE],
    ),
    (
        "csf wbc 1200 neutrophils 95% protein 250 mg/dL glucose 15 mg/dL serum glucose 100",
        CSF,
        csf(
            wbc=1200,
            neutrophils_pct=95,
            protein=mgdl(250),
            glucose=mgdl(15),
            serum_glucose=mgdl(100),
        ),
        [CSF_PROFILE],
    ),
    (
        "LP results: wbc 350, 80% lymphs, protein 3.5 g/L, CSF glucose 1.0, blood glucose 6.2 ?TB",
        CSF,
        csf(
            wbc=350, lymphocytes_pct=80, protein=gl(3.5), glucose=mmol(1.0), serum_glucose=mmol(6.2)
        ),
        [CSF_PROFILE],
    ),
    # ---- intrathecal methotrexate calendar
    (
        "IT methotrexate via ommaya starting 2026-12-07 dates?",
        MTX,
        mtx("2026-12-07"),
        [MTX_SCHEDULE],
    ),
    ("IT MTX plan starting 2026-12-14", MTX, mtx("2026-12-14"), [MTX_SCHEDULE]),
    (
        "intrathecal methotrexate schedule, first dose 2026-12-09",
        MTX,
        mtx("2026-12-09"),
        [MTX_SCHEDULE],
    ),
    ("MTX IT schedule for LM?", MTX, mtx(AT.date().isoformat()), [MTX_SCHEDULE]),
]


@pytest.fixture(scope="module")
def qa(shipped_qa: QA) -> QA:
    return shipped_qa


def _summaries(kb: KnowledgeBase, policy: Policy, doc: dict[str, Any]) -> dict[str, str]:
    case = read_casefile({"date": AT.isoformat(), **doc}, name="expected", kb=kb)
    result = assess(case, kb=kb, policy=policy, at=AT)
    return {f.rule: f.summary for f in result.findings}


def _markers_resolve(ans: Answer) -> None:
    marks = {int(n) for n in re.findall(r"\[(\d+)\]", ans.answer)}
    assert marks == {c.n for c in ans.citations}


def test_the_set_is_large_and_covers_every_computed_intent() -> None:
    assert len(CASES) >= 40
    assert {intent for _, intent, _, _ in CASES} == {LPS, CRO, DEX, EMP, CSF, MTX}


@pytest.mark.parametrize(("question", "intent", "doc", "rules"), CASES, ids=[c[0] for c in CASES])
def test_computed_answer_leads_with_the_engines_own_findings(
    qa: QA,
    shipped_kb: KnowledgeBase,
    shipped_policy: Policy,
    question: str,
    intent: str,
    doc: dict[str, Any],
    rules: list[str],
) -> None:
    ans = qa.ask(question, at=AT)
    assert not ans.abstained
    assert ans.computed is not None, ans.answer[:300]
    assert ans.computed["intent"] == intent
    expected = _summaries(shipped_kb, shipped_policy, doc)
    if rules:
        lead = " ".join(expected[r] for r in rules)
        got = re.sub(r"\s*(\[\d+\])+", "", ans.lead).strip()
        if all(qa.kb.rules[r].severity == "info" for r in rules) and intent == LPS:
            # information only ("hold interval met"): no alert is said first
            assert got.startswith("No LP safety alert fires for the values read"), got
            assert got.endswith(lead), f"\n got: {got}\nwant: {lead}"
        else:
            assert got.startswith(lead), f"\n got: {got}\nwant: {lead}"
    else:  # no rule of the intent fires: said so, never "safe"
        intent_rules = set(qa.kb.vocabulary[intent].rules)
        assert not intent_rules & set(expected)
        assert ans.lead.startswith("No LP safety alert fires for the values read")
        assert not re.search(r"\bsafe\b", ans.lead, re.I)
    if re.search(r"\d", question):  # the values read are shown so the user can correct them
        assert ans.values_read
        assert "Values read from your question" in ans.answer
    assert ans.assessment_form and ans.assessment_form in ans.answer
    assert "\n- - " not in ans.answer  # detail bullets are not doubled
    _markers_resolve(ans)


def test_an_unchecked_drug_beside_lp_values_is_said_to_be_unchecked(qa: QA) -> None:
    ans = qa.ask("plt 90 INR 1.2, on aspirin 75, LP ok?", at=AT)
    assert ans.computed is not None and ans.computed["unchecked"] == ["aspirin"]
    assert ans.lead.startswith("aspirin: cannot be checked")
    assert "not assessed" in ans.lead


def test_the_planned_lp_time_is_read_and_shown(qa: QA) -> None:
    ans = qa.ask("enox 80 bd last dose 0800, LP at 0900 tomorrow?", at=AT)
    read = {v["what"]: v["value"] for v in ans.values_read or []}
    assert read["LP time"] == local(9, day=1)
    # a clock time already past today is tomorrow's for a planned LP, unless it says today
    ans = qa.ask("enox 80 bd last dose 0800, LP at 1000?", at=AT)
    read = {v["what"]: v["value"] for v in ans.values_read or []}
    assert read["LP time"] == local(10, day=1)


@pytest.mark.parametrize(
    ("question", "doc", "rules"),
    [
        ("plt 35 INR 1.2", lp([plt(35), inr(1.2)]), [PLT_LOW]),
        ("platelets 48,000/uL", lp([plt(48000, "/uL")]), [PLT_LOW, MISSING]),
        (
            "apixaban 5 bd last dose last night 10pm",
            lp(meds=[drug("apixaban", local(22, day=-1), 5, "BID")]),
            [TIMING, MISSING],
        ),
        (
            "enox 80 bd last dose 0800",
            lp(meds=[enox(80, "BID", local(8))]),
            [TIMING, MISSING],
        ),
    ],
)
def test_a_question_of_lp_values_alone_is_read_as_lp_safety_and_says_so(
    qa: QA,
    shipped_kb: KnowledgeBase,
    shipped_policy: Policy,
    question: str,
    doc: dict[str, Any],
    rules: list[str],
) -> None:
    ans = qa.ask(question, at=AT)
    assert not ans.abstained
    assert ans.computed is not None and ans.computed["intent"] == LPS
    expected = _summaries(shipped_kb, shipped_policy, doc)
    got = re.sub(r"\s*(\[\d+\])+", "", ans.lead).strip()
    assert got.startswith(" ".join(expected[r] for r in rules)), got
    assert "Read as a question about LP safety" in ans.answer
    _markers_resolve(ans)


@pytest.mark.parametrize(
    "question",
    [
        "what causes low platelets in LM? plt 35",
        "dex 0.15 mg/kg for 30 kg child",
        "70 kg",
        "plt 150 INR 1.0",  # nothing fires: not read as an LP question it did not ask
    ],
)
def test_values_alone_are_not_read_as_lp_safety_otherwise(qa: QA, question: str) -> None:
    ans = qa.ask(question, at=AT)
    assert ans.computed is None or ans.computed["intent"] != LPS
