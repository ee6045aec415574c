"""Computed answers for patient values written the way people write them.

Values after verbs and phrases ("came back at", "is only", "down to", "="), units and scales
(49,000/uL, 49k, 0.049 x10^12/L, stones and pounds, "7/12", "18 month old"), last doses typed in
local time ("at 7 this morning", "at 10 last night", "5000 units at 22:00") and against the
question's own time ("it's 09:00 now"), CSF panels on one line (a count before its name, "prot",
"gluc", a glucose ratio), negations ("not on apixaban", "no aspirin or clopidogrel"), bounds and
ranges ("plt <20", "40-50", never used as values). Each question is checked for the values read
and for the engine's own findings on the same case, written here by hand: no threshold, dose or
interval is written in this module. Evaluated at Wednesday 2 December 2026, 14:00, UTC-5; clock
times in a question are local times of that zone.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest

from computed_cases import AT, ago, gl, local, lp, mgdl, mmol
from leptoguide.answer import QA
from leptoguide.answer.values import read_values
from leptoguide.answer.vocabulary import vocabulary_for
from leptoguide.engine import assess
from leptoguide.intake.casefile import read_casefile
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.policy import Policy


def plt(value: float | str, unit: str | None = "10*9/L") -> dict[str, Any]:
    lab: dict[str, Any] = {"test": "platelets", "value": value}
    if unit and not isinstance(value, str):
        lab["unit"] = unit
    return lab


def inr(value: float | str) -> dict[str, Any]:
    return {"test": "INR", "value": value}


def drug(
    name: str, last: str | None = None, dose: float | None = None, **kw: Any
) -> dict[str, Any]:
    med: dict[str, Any] = {"drug": name, **kw}
    if last is not None:
        med["last_dose"] = last
    if dose is not None:
        med["dose"] = dose
        med.setdefault("unit", "mg")
    return med


def bm(
    ceftriaxone: bool = False, labs: list[dict[str, Any]] | None = None, **patient: float
) -> dict[str, Any]:
    doc: dict[str, Any] = {"patient": patient, "conditions": ["bacterial-meningitis"]}
    if ceftriaxone:
        doc["orders"] = [{"drug": "ceftriaxone"}]
    if labs:
        doc["labs"] = labs
    return doc


def csf(**values: Any) -> dict[str, Any]:
    return {"csf": values}


def months(n: int) -> float:
    """Age in days of an n-month-old on the evaluation date (calendar months back)."""
    year, month = AT.year, AT.month - n
    while month <= 0:
        month += 12
        year -= 1
    return float((AT.date() - dt.date(year, month, min(AT.day, 28))).days)


LPS = "intent-lp-safety"
CRO = "intent-ceftriaxone-dose"
DEX = "intent-dexamethasone-dose"
CSF = "intent-csf-results"
PLT_LOW, INR_HIGH, TIMING, MET, MISSING = (
    "lp-platelets-low",
    "lp-inr-high",
    "lp-anticoagulant-timing",
    "lp-anticoagulant-interval-met",
    "lp-safety-data-missing",
)
CRO_DOSE = "ceftriaxone-dose"
DEX_DOSE = "dexamethasone-bacterial-meningitis"
CSF_PROFILE = "csf-profile-differential"
NO_ALERT = "No LP safety alert fires for the values read"

# (question, intent, values read {what: value}, the case for the engine, rules that lead)
CASES: list[tuple[str, str, dict[str, Any], dict[str, Any], list[str]]] = [
    # ---- a platelet count after a verb or phrase
    (
        "LP booked for ?LMD but platelets came back at 49 this morning (INR 1.1) - proceed?",
        LPS, {"platelets": 49, "INR": 1.1}, lp([plt(49), inr(1.1)]), [PLT_LOW],
    ),
    (
        "platelets were 42 on this morning's bloods, INR 1.0, ok for LP?",
        LPS, {"platelets": 42, "INR": 1.0}, lp([plt(42), inr(1.0)]), [PLT_LOW],
    ),
    (
        "her platelet count is only 38 - can we still do the lumbar puncture?",
        LPS, {"platelets": 38}, lp([plt(38)]), [PLT_LOW, MISSING],
    ),
    (
        "plts down to 31 after chemo, INR 1.1, LP for cytology tomorrow?",
        LPS, {"platelets": 31, "INR": 1.1}, lp([plt(31), inr(1.1)]), [PLT_LOW],
    ),
    (
        "Platelets dropped to 45 overnight, INR 1.2; still OK to tap?",
        LPS, {"platelets": 45, "INR": 1.2}, lp([plt(45), inr(1.2)]), [PLT_LOW],
    ),
    (
        "plt count today = 47, INR 1.0, diagnostic LP?",
        LPS, {"platelets": 47, "INR": 1.0}, lp([plt(47), inr(1.0)]), [PLT_LOW],
    ),
    (
        "platelet level of 44 x10^9/L, LP ok?",
        LPS, {"platelets": 44}, lp([plt(44)]), [PLT_LOW, MISSING],
    ),
    (
        "plt was 160 and INR is 1.1 - fine to do the LP?",
        LPS, {"platelets": 160, "INR": 1.1}, lp([plt(160), inr(1.1)]), [],
    ),
    (
        "Her platelets are just 29 today. Can the lumbar puncture go ahead?",
        LPS, {"platelets": 29}, lp([plt(29)]), [PLT_LOW, MISSING],
    ),
    # ---- units and scales
    (
        "plt 49,000/uL and INR 1.2 - LP?",
        LPS, {"platelets": 49000, "INR": 1.2}, lp([plt(49000, "/uL"), inr(1.2)]), [PLT_LOW],
    ),
    ("plts 49k, INR 1.0, LP this pm?", LPS, {"platelets": 49}, lp([plt(49, "10*3/uL"), inr(1.0)]), [PLT_LOW]),
    (
        "plt 49 x 10*9/l, INR 1.1 - LP?",
        LPS, {"platelets": 49}, lp([plt(49), inr(1.1)]), [PLT_LOW],
    ),
    (
        "platelets 0.049 x10^12/L, INR 1.0 - ok to LP?",
        LPS, {"platelets": 49}, lp([plt(49), inr(1.0)]), [PLT_LOW],
    ),
    (
        "platelets 0.12 x 10^12/L, INR 1.0, LP for cytology",
        LPS, {"platelets": 120}, lp([plt(120), inr(1.0)]), [],
    ),
    # ---- the INR after a verb or phrase
    (
        "INR came back at 1.7, plts fine at 210 - LP?",
        LPS, {"platelets": 210, "INR": 1.7}, lp([plt(210), inr(1.7)]), [INR_HIGH],
    ),
    (
        "INR is 1.5 and platelet count 180; can I tap?",
        LPS, {"platelets": 180, "INR": 1.5}, lp([plt(180), inr(1.5)]), [INR_HIGH],
    ),
    ("inr=1.2, plt=95 ?LP", LPS, {"platelets": 95, "INR": 1.2}, lp([plt(95), inr(1.2)]), []),
    (
        "INR today is 1.4, plts 150 - LP ok?",
        LPS, {"platelets": 150, "INR": 1.4}, lp([plt(150), inr(1.4)]), [],
    ),
    (
        "INR of 2.1 on warfarin, needs LP for ?LM",
        LPS, {"INR": 2.1}, lp([inr(2.1)], [drug("warfarin")]), [INR_HIGH, TIMING],
    ),
    # ---- bounds and ranges are kept but never used as values
    (
        "plt <20, INR 1.0 - can we LP?",
        LPS, {"platelets": "<20 (a bound or range, not a value)"}, lp([plt("<20"), inr(1.0)]),
        [MISSING],
    ),
    (
        "platelets >150, INR 1.1, LP ok?",
        LPS, {"platelets": ">150 (a bound or range, not a value)", "INR": 1.1},
        lp([plt(">150"), inr(1.1)]), [MISSING],
    ),
    (
        "platelets 40-50, INR 1.0, LP?",
        LPS, {"platelets": "40-50 (a bound or range, not a value)"},
        lp([plt("40-50"), inr(1.0)]), [MISSING],
    ),
    (
        "plt 200, INR less than 1.5 - LP?",
        LPS, {"INR": "less than 1.5 (a bound or range, not a value)"},
        lp([plt(200), inr("less than 1.5")]), [MISSING],
    ),
    # ---- negations: a drug the patient is not on is not read as taken
    (
        "not on apixaban, plt 100 INR 1.0 - LP?",
        LPS, {"platelets": 100, "INR": 1.0}, lp([plt(100), inr(1.0)]), [],
    ),
    (
        "no aspirin or clopidogrel, plt 140, INR 1.0 - tap?",
        LPS, {"platelets": 140, "INR": 1.0}, lp([plt(140), inr(1.0)]), [],
    ),
    (
        "plt 150, INR 1.0, no anticoagulants - LP ok?",
        LPS, {"platelets": 150, "INR": 1.0, "antithrombotics": "none, as written"},
        lp([plt(150), inr(1.0)]), [],
    ),
    (
        "not on any blood thinners, plt 85 INR 1.1, LP today?",
        LPS, {"platelets": 85, "antithrombotics": "none, as written"},
        lp([plt(85), inr(1.1)]), [],
    ),
    (
        "never took warfarin but is on apixaban 5 bd, last dose 9am, plt 200, INR 1.0 - LP?",
        LPS, {"platelets": 200},
        lp([plt(200), inr(1.0)], [drug("apixaban", local(9), 5, frequency="BID")]), [TIMING],
    ),
    (
        "no bleeding on apixaban 5 bd, last tablet 8am, plt 220 INR 1.0, LP?",
        LPS, {"platelets": 220},
        lp([plt(220), inr(1.0)], [drug("apixaban", local(8), 5, frequency="BID")]), [TIMING],
    ),
    # ---- last doses typed in local time
    (
        "last apixaban at 8pm yesterday, plt 200, INR 1.0, LP now?",
        LPS, {"platelets": 200},
        lp([plt(200), inr(1.0)], [drug("apixaban", local(20, day=-1))]), [TIMING],
    ),
    (
        "took his rivaroxaban at 7 this morning, plt 250 INR 1.1 - can we LP at 3pm?",
        LPS, {"platelets": 250},
        lp([plt(250), inr(1.1)], [drug("rivaroxaban", local(7))], at=local(15)), [TIMING],
    ),
    (
        "dalteparin 5000 units at 22:00, plt 180 INR 1.0, LP at 10am tomorrow?",
        LPS, {"platelets": 180},
        lp([plt(180), inr(1.0)], [drug("dalteparin", local(22, day=-1), 5000, unit="units")],
           at=local(10, day=1)),
        [MET],
    ),
    (
        "apixaban 5mg BD - last took it at 10 last night. plt 190, INR 1.0. LP at 2pm today?",
        LPS, {"platelets": 190},
        lp([plt(190), inr(1.0)], [drug("apixaban", local(22, day=-1), 5, frequency="BID")],
           at=local(14)),
        [TIMING],
    ),
    (
        "clexane 40 given at 8 this morning, plt 300 INR 1.0 - can we tap at 4pm?",
        LPS, {"platelets": 300},
        lp([plt(300), inr(1.0)], [drug("enoxaparin", local(8), 40)], at=local(16)), [TIMING],
    ),
    (
        "heparin drip off since 10:30, plt 160, INR 1.1, LP at 2pm?",
        LPS, {"platelets": 160},
        lp([plt(160), inr(1.1)], [drug("heparin", local(10, 30))], at=local(14)), [TIMING],
    ),
    (
        "prasugrel stopped a week ago, plt 240 INR 1.0, LP for ?LMD",
        LPS, {"platelets": 240},
        lp([plt(240), inr(1.0)], [drug("prasugrel", ago(168))]), [MET],
    ),
    (
        "warfarin stopped 5 days ago, INR now 1.2, plt 220 - LP?",
        LPS, {"platelets": 220, "INR": 1.2},
        lp([plt(220), inr(1.2)], [drug("warfarin", ago(120))]), [MET],
    ),
    (
        "ticagrelor 90 bd - stopped two days ago; plt 230 INR 1.0; LP?",
        LPS, {"platelets": 230},
        lp([plt(230), inr(1.0)], [drug("ticagrelor", ago(48), 90, frequency="BID")]), [TIMING],
    ),
    (
        "rivaroxaban 20mg, had it at 9 last night, plts 210 INR 1.0 - LP?",
        LPS, {"platelets": 210},
        lp([plt(210), inr(1.0)], [drug("rivaroxaban", local(21, day=-1), 20)]), [TIMING],
    ),
    (
        "last dalteparin (5000 units) was at 9pm last night, plt 210, INR 1.0 - LP this afternoon?",
        LPS, {"platelets": 210},
        lp([plt(210), inr(1.0)], [drug("dalteparin", local(21, day=-1), 5000, unit="units")]),
        [TIMING],
    ),
    (
        "on fonda 2.5 daily, last injection 40 hrs ago; plt 230 INR 1.0. diagnostic LP ok?",
        LPS, {"platelets": 230},
        lp([plt(230), inr(1.0)], [drug("fondaparinux", ago(40), 2.5, frequency="QD")]), [MET],
    ),
    # ---- the question's own time
    (
        "it's 09:00 now; last enoxaparin 40 mg at 21:00, plt 200 INR 1.0 - LP ok?",
        LPS, {"platelets": 200, "time now": local(9)},
        {"date": local(9), **lp([plt(200), inr(1.0)], [drug("enoxaparin", local(21, day=-1), 40)])},
        [TIMING],
    ),
    (
        "time now 0700. apixaban 2.5 mg bd last dose at 19:00, plt 150, INR 1.0, LP?",
        LPS, {"platelets": 150, "time now": local(7)},
        {
            "date": local(7),
            **lp([plt(150), inr(1.0)], [drug("apixaban", local(19, day=-1), 2.5, frequency="BID")]),
        },
        [TIMING],
    ),
    # ---- CSF panels written on one line
    (
        "LP results: 40 white cells/uL, lymphs 80%, protein 2.6 g/L, CSF glucose 1.2 with a "
        "paired blood glucose of 6.0 mmol/L - TB picture?",
        CSF, {"CSF wbc": 40, "CSF protein": 2.6, "blood glucose": 6.0},
        csf(wbc=40, lymphocytes_pct=80, protein=gl(2.6), glucose=mmol(1.2), serum_glucose=mmol(6.0)),
        [CSF_PROFILE],
    ),
    (
        "csf: wcc 300, neuts 70%, prot 1.5, gluc 2.0, bld gluc 5.5",
        CSF, {"CSF wbc": 300, "CSF protein": 1.5, "CSF glucose": 2.0, "blood glucose": 5.5},
        csf(wbc=300, neutrophils_pct=70, protein=gl(1.5), glucose=mmol(2.0), serum_glucose=mmol(5.5)),
        [CSF_PROFILE],
    ),
    (
        "CSF WCC 45, 85% lymphs, protein 0.6, glucose 3.2, ratio 0.6 - viral?",
        CSF, {"CSF wbc": 45, "blood glucose": 5.33},
        csf(wbc=45, lymphocytes_pct=85, protein=gl(0.6), glucose=mmol(3.2), serum_glucose=mmol(5.33)),
        [CSF_PROFILE],
    ),
    (
        "CSF 1200 WBC/uL 90% PMN protein 250 glucose 20 (serum 120)",
        CSF, {"CSF wbc": 1200, "CSF protein": 250, "blood glucose": 120},
        csf(wbc=1200, neutrophils_pct=90, protein=mgdl(250), glucose=mgdl(20), serum_glucose=mgdl(120)),
        [CSF_PROFILE],
    ),
    (
        "CSF white count 150/mm3, 90% lymphocytes, protein 180 mg/dL, glucose 30 mg/dL, serum "
        "glucose 100 mg/dL - what does it suggest?",
        CSF, {"CSF wbc": 150, "CSF glucose": 30, "blood glucose": 100},
        csf(wbc=150, lymphocytes_pct=90, protein=mgdl(180), glucose=mgdl(30), serum_glucose=mgdl(100)),
        [CSF_PROFILE],
    ),
    (
        "CSF results - 8 white cells, 2 red cells, protein 0.35 g/L, glucose 3.6, plasma glucose 5.8",
        CSF, {"CSF wbc": 8, "CSF rbc": 2, "blood glucose": 5.8},
        csf(wbc=8, rbc=2, protein=gl(0.35), glucose=mmol(3.6), serum_glucose=mmol(5.8)),
        [CSF_PROFILE],
    ),
    (
        "CSF WBC 2,500 (polys 92%), protein 3.1 g/L, glucose 0.8 mmol/L, serum 7.0 - bacterial?",
        CSF, {"CSF wbc": 2500, "blood glucose": 7.0},
        csf(wbc=2500, neutrophils_pct=92, protein=gl(3.1), glucose=mmol(0.8), serum_glucose=mmol(7.0)),
        [CSF_PROFILE],
    ),
    (
        "CSF leucocytes 25/uL, lymphocytic, protein 1.2 g/L, glucose 1.4, CSF:serum glucose 0.35 ?TB",
        CSF, {"CSF wbc": 25, "blood glucose": 4.0},
        csf(wbc=25, predominant_cell="lymphocytes", protein=gl(1.2), glucose=mmol(1.4),
            serum_glucose=mmol(4.0)),
        [CSF_PROFILE],
    ),
    (
        "RBC 14,000/uL in a bloody tap with 45 white cells/uL - correct the white count for me",
        CSF, {"CSF wbc": 45, "CSF rbc": 14000}, csf(wbc=45, rbc=14000), [CSF_PROFILE],
    ),
    # ---- weight-based doses: ages and weights as people write them
    (
        "7 year old girl, 23 kg, Gram-positive diplococci in the CSF - what dexamethasone dose?",
        DEX, {"age": 7, "weight": 23}, bm(age_years=7, weight_kg=23), [DEX_DOSE],
    ),
    (
        "dex for pneumococcal meningitis - 9st 6lb woman aged 70",
        DEX, {"age": 70, "weight": 59.87}, bm(age_years=70, weight_kg=59.87), [DEX_DOSE],
    ),
    (
        "ceftriaxone dose for meningitis, weighs 11 stone, 58 years old",
        CRO, {"age": 58, "weight": 69.85}, bm(True, age_years=58, weight_kg=69.85), [CRO_DOSE],
    ),
    (
        "18 month old, 11 kg, meningococcal meningitis - ceftriaxone dose?",
        CRO, {"age": months(18), "weight": 11}, bm(True, age_days=months(18), weight_kg=11),
        [CRO_DOSE],
    ),
    (
        "ceftriaxone for BM, 7/12 old, 7.8 kg",
        CRO, {"age": months(7), "weight": 7.8}, bm(True, age_days=months(7), weight_kg=7.8),
        [CRO_DOSE],
    ),
    (
        "what ceftriaxone dose for a 14 month old weighing 10.2kg with meningitis?",
        CRO, {"age": months(14), "weight": 10.2}, bm(True, age_days=months(14), weight_kg=10.2),
        [CRO_DOSE],
    ),
    (
        "Dexamethasone for H. influenzae meningitis in a 2yo weighing 12kg?",
        DEX, {"age": 2, "weight": 12}, bm(age_years=2, weight_kg=12), [DEX_DOSE],
    ),
    (
        "weight 44 lbs, age 5, bacterial meningitis - ceftriaxone?",
        CRO, {"age": 5, "weight": 19.96}, bm(True, age_years=5, weight_kg=19.96), [CRO_DOSE],
    ),
    (
        "3 wk old, 3.8 kg, meningitis - how much ceftriaxone?",
        CRO, {"age": 21, "weight": 3.8}, bm(True, age_days=21, weight_kg=3.8), [CRO_DOSE],
    ),
    (
        "dex for Hib meningitis, 4yo boy weighing 2 st 5 lb",
        DEX, {"age": 4, "weight": 14.97}, bm(age_years=4, weight_kg=14.97), [DEX_DOSE],
    ),
    (
        "my patient is 80 years old and weighs 130 pounds - ceftriaxone for pneumococcal meningitis?",
        CRO, {"age": 80, "weight": 58.97}, bm(True, age_years=80, weight_kg=58.97), [CRO_DOSE],
    ),
    # ---- kidney function: creatinine clearance is read and used
    (
        "ceftriaxone dose, 62 year old with CrCl 8 mL/min, 70 kg, meningitis",
        CRO, {"age": 62, "weight": 70, "creatinine clearance": 8},
        bm(True, [{"test": "creatinine clearance", "value": 8, "unit": "mL/min"}],
           age_years=62, weight_kg=70),
        [CRO_DOSE],
    ),
    (
        "ceftriaxone for meningitis, 75 yo, 60 kg, creatinine clearance of 45",
        CRO, {"age": 75, "creatinine clearance": 45},
        bm(True, [{"test": "creatinine clearance", "value": 45, "unit": "mL/min"}],
           age_years=75, weight_kg=60),
        [CRO_DOSE],
    ),
]  # fmt: skip


@pytest.fixture(scope="module")
def qa(shipped_qa: QA) -> QA:
    return shipped_qa


def _summaries(kb: KnowledgeBase, policy: Policy, doc: dict[str, Any]) -> dict[str, str]:
    at = dt.datetime.fromisoformat(doc["date"]) if "date" in doc else AT
    case = read_casefile({"date": at.isoformat(), **doc}, name="expected", kb=kb)
    result = assess(case, kb=kb, policy=policy, at=at)
    return {f.rule: f.summary for f in result.findings}


def _plain(text: str) -> str:
    return re.sub(r"\s*(\[\d+\])+", "", text).strip()


def test_the_phrasings_are_many_and_cover_each_way_of_writing() -> None:
    assert len(CASES) >= 60
    assert {intent for _, intent, _, _, _ in CASES} == {LPS, CRO, DEX, CSF}


@pytest.mark.parametrize(
    ("question", "intent", "read", "doc", "rules"), CASES, ids=[c[0][:60] for c in CASES]
)
def test_a_phrasing_is_read_and_answered_from_its_own_numbers(
    qa: QA,
    shipped_kb: KnowledgeBase,
    shipped_policy: Policy,
    question: str,
    intent: str,
    read: dict[str, Any],
    doc: dict[str, Any],
    rules: list[str],
) -> None:
    ans = qa.ask(question, at=AT)
    assert not ans.abstained
    assert ans.computed is not None, ans.answer[:300]
    assert ans.computed["intent"] == intent
    got_read = {v["what"]: v["value"] for v in ans.values_read or []}
    for what, value in read.items():
        assert what in got_read, (what, got_read)
        if isinstance(value, float | int) and not isinstance(value, bool):
            assert got_read[what] == pytest.approx(value, abs=0.01), (what, got_read)
        else:
            assert got_read[what] == value, (what, got_read)
    expected = _summaries(shipped_kb, shipped_policy, doc)
    got = _plain(ans.lead)
    if rules:
        lead = " ".join(expected[r] for r in rules)
        if intent == LPS and all(qa.kb.rules[r].severity == "info" for r in rules):
            assert got.startswith(NO_ALERT), got
            assert got.endswith(lead), f"\n got: {got}\nwant: {lead}"
        else:
            assert got.startswith(lead), f"\n got: {got}\nwant: {lead}"
    else:  # no rule of the intent fires: said so, never "safe"
        assert not set(qa.kb.vocabulary[intent].rules) & set(expected)
        assert got.startswith(NO_ALERT), got
    assert not re.search(r"\bsafe\b", ans.lead, re.I)
    # every sentence cites its statements, and every marker resolves
    marks = {int(n) for n in re.findall(r"\[(\d+)\]", ans.answer)}
    assert marks == {c.n for c in ans.citations}
    if rules:
        assert re.search(r"\[\d+\]", ans.lead)
    assert "Values read from your question" in ans.answer


@pytest.mark.parametrize(
    ("question", "drugs"),
    [
        ("not on apixaban, plt 100", []),
        ("no aspirin or clopidogrel, plt 140", []),
        ("pt is not taking warfarin, INR 1.0", []),
        ("no longer on rivaroxaban, plt 200", []),
        ("no bleeding on apixaban 5 bd, plt 220", ["apixaban"]),
        ("no warfarin but on enoxaparin 40 od, plt 200", ["enoxaparin"]),
        ("on apixaban, no aspirin, plt 150", ["apixaban"]),
        # a time after the drug: when it was last given, not that it never was
        ("no clexane since 8pm yesterday, plt 150", ["enoxaparin"]),
        ("not had his apixaban for 2 days, plt 200", ["apixaban"]),
    ],
)
def test_a_negated_drug_is_not_read_as_taken_and_nothing_else_is_dropped(
    shipped_kb: KnowledgeBase, question: str, drugs: list[str]
) -> None:
    values = read_values(question, shipped_kb, vocabulary_for(shipped_kb), AT)
    assert [m["drug"] for m in values.case.get("medications", [])] == drugs


@pytest.mark.parametrize(
    ("question", "label"),
    [
        ("plt ?clumped, INR 1.1, LP?", "platelets"),
        ("plt <20, INR 1.0, LP?", "platelets"),
        ("platelets 40-50, INR 1.0, LP?", "platelets"),
        ("INR >3, plt 200, LP?", "INR"),
        ("INR 1.1-1.3, plt 200, LP?", "INR"),
    ],
)
def test_a_value_that_cannot_be_read_is_said_to_be_unreadable_never_missing_or_normal(
    qa: QA, question: str, label: str
) -> None:
    ans = qa.ask(question, at=AT)
    assert ans.computed is not None and ans.computed["intent"] == LPS
    assert not ans.lead.startswith(NO_ALERT)
    assert f"{label} unreadable" in ans.lead, ans.lead
    assert not re.search(r"\bsafe\b", ans.lead, re.I)


def test_a_value_the_question_does_not_give_is_not_assumed(qa: QA) -> None:
    ans = qa.ask("INR 1.1, LP for cytology tomorrow?", at=AT)
    assert ans.computed is not None
    assert not ans.lead.startswith(NO_ALERT)
    assert "platelets not recorded" in ans.lead
    read = {v["what"] for v in ans.values_read or []}
    assert "platelets" not in read


@pytest.mark.parametrize(
    ("question", "last"),
    [
        ("last apixaban at 8pm yesterday", local(20, day=-1)),
        ("took his rivaroxaban at 7 this morning", local(7)),
        ("apixaban 5 bd, last took it at 10 last night", local(22, day=-1)),
        ("apixaban 5 bd, last dose at 2 last night", local(2)),
        ("clexane 40 given at 8 this morning", local(8)),
        ("dalteparin 5000 units at 22:00", local(22, day=-1)),
        ("heparin infusion off since 10:30", local(10, 30)),
        ("prasugrel stopped a week ago", ago(168)),
        ("ticagrelor stopped two days ago", ago(48)),
        # an hour alone: the later of its two readings that has passed (the shorter interval)
        ("apixaban 5 bd, last dose at 9", local(9)),
        ("apixaban 5 bd, last dose at 3", local(3)),
        # a day of the week: that day's latest time (evening: 23:59), or its clock time
        ("rivaroxaban last taken Monday evening", local(23, 59, day=-2)),
        ("apixaban last dose Monday at 9pm", local(21, day=-2)),
        ("apixaban stopped on Sat", local(23, 59, day=-4)),
    ],
)
def test_a_last_dose_typed_in_local_time_is_read(
    shipped_kb: KnowledgeBase, question: str, last: str
) -> None:
    values = read_values(question, shipped_kb, vocabulary_for(shipped_kb), AT)
    meds = values.case["medications"]
    assert meds[0]["last_dose"] == last


def test_the_questions_own_time_moves_the_assessment(qa: QA) -> None:
    """At 09:00 a dose of 21:00 is 12 h old; the same question asked at 14:00 without a time
    of its own reads it as 17 h old."""
    with_time = qa.ask("it's 09:00 now; enoxaparin 40 mg at 21:00, LP ok?", at=AT)
    without = qa.ask("enoxaparin 40 mg at 21:00, LP ok?", at=AT)
    assert "12 h before" in with_time.lead and "17 h before" in without.lead
    assert {v["what"]: v["value"] for v in with_time.values_read or []}["time now"] == local(9)


def test_a_thousand_times_scale_is_not_misread(shipped_kb: KnowledgeBase) -> None:
    """0.049 x10^12/L is 49 x10^9/L, not 0.049 x10^9/L."""
    values = read_values("platelets 0.049 x10^12/L", shipped_kb, vocabulary_for(shipped_kb), AT)
    lab = values.case["labs"][0]
    assert (lab["value"], lab["unit"]) == (49, "10*9/L")


def test_a_stone_weight_is_not_read_as_its_pounds(shipped_kb: KnowledgeBase) -> None:
    values = read_values("9st 6lb woman", shipped_kb, vocabulary_for(shipped_kb), AT)
    assert values.case["patient"]["weight_kg"] == pytest.approx(59.87, abs=0.01)


@pytest.mark.parametrize(
    "question",
    [
        "my mum's platelets came back at 45, is her lumbar puncture still going ahead?",
        "dad takes apixaban, he had his last tablet at 8 last night - is his spinal tap ok today?",
    ],
)
def test_a_patient_who_writes_values_gets_the_general_answer_and_never_safe(
    qa: QA, shipped_kb: KnowledgeBase, question: str
) -> None:
    ans = qa.ask(question, audience="patient", at=AT)
    assert ans.computed is None  # their own values are for their care team
    assert not re.search(r"\b(?:it is|it's) safe\b", ans.answer, re.I)
    values = read_values(question, shipped_kb, vocabulary_for(shipped_kb), AT)
    assert values  # the values are still read (the clinician face computes them)


def test_egfr_is_read_and_shown_but_never_taken_for_creatinine_clearance(
    qa: QA, shipped_kb: KnowledgeBase
) -> None:
    ans = qa.ask("ceftriaxone for BM, 70 yo, 65 kg, eGFR 8", at=AT)
    read = {v["what"]: v["value"] for v in ans.values_read or []}
    assert str(read["eGFR"]).startswith("8 ") and "not used" in str(read["eGFR"])
    values = read_values("ceftriaxone for BM, eGFR 8", shipped_kb, vocabulary_for(shipped_kb), AT)
    assert not values.case.get("labs")
    # an EGFR mutation is not kidney function
    values = read_values("EGFR 19del NSCLC with LMD", shipped_kb, vocabulary_for(shipped_kb), AT)
    assert not values.values


@pytest.mark.parametrize(
    "question",
    [
        "should we transfuse if platelets are below 50 before an LP?",
        "can you do an LP with platelets less than 20?",
        "What INR above 1.5 contraindicates LP?",
        "LP with INR over 1.4 - what does ABN say?",
        "ceftriaxone max daily dose if CrCl <10?",
        "Do the ABN antithrombotic intervals before LP apply to a creatinine clearance of 25?",
    ],
)
def test_a_bound_or_a_kidney_value_alone_asks_in_general(qa: QA, question: str) -> None:
    """A bound ("below 50") or a creatinine clearance alone names a case in general, not the
    patient's values: the statements answer, not an 'unreadable' computation."""
    ans = qa.ask(question, at=AT)
    assert ans.computed is None
    assert "cannot be checked" not in ans.lead


@pytest.mark.parametrize(
    ("question", "value"),
    [
        ("plts - 45, LP?", 45),
        ("plt ct 45, LP?", 45),
        ("his platelets are sitting at 45 - LP?", 45),
        ("platelets have come up to 60 after transfusion, LP now?", 60),
        ("platelets increased to 60 post transfusion, LP?", 60),
        ("platelets 45,000 per microliter, LP?", 45000),
        ("Plt 45 K/uL, LP?", 45),
    ],
)
def test_a_platelet_count_after_everyday_words_is_read(
    shipped_kb: KnowledgeBase, question: str, value: float
) -> None:
    values = read_values(question, shipped_kb, vocabulary_for(shipped_kb), AT)
    assert values.case["labs"][0]["value"] == value


@pytest.mark.parametrize(
    ("question", "test", "value"),
    [
        # the later of two values is the current one: "INR 1.3 yesterday, 1.8 today" is 1.8
        ("INR 1.3 yesterday, 1.8 today - LP?", "INR", 1.8),
        ("plt 35 yesterday, 42 today, LP?", "platelets", 42),
        ("plt 35 -> 48 after transfusion, LP?", "platelets", 48),
        ("INR 1.2, repeat 1.6 - LP?", "INR", 1.6),
        ("INR 1.2 (on admission), now 1.5 - LP?", "INR", 1.5),
        # a clock time after "now" is the question's time, not a later value
        ("plt 200, INR 1.0, now 1400 - LP?", "INR", 1.0),
        ("INR 1.2, now 14:30, LP?", "INR", 1.2),
        # a number that is not the same test is not a later value
        ("plt 40, 50 needed?", "platelets", 40),
        ("plt 150, 45 kg", "platelets", 150),
    ],
)
def test_a_later_value_of_the_same_test_is_the_one_read(
    shipped_kb: KnowledgeBase, question: str, test: str, value: float
) -> None:
    values = read_values(question, shipped_kb, vocabulary_for(shipped_kb), AT)
    lab = next(x for x in values.case["labs"] if x["test"] == test)
    assert lab["value"] == value


def test_an_inr_rising_today_is_judged_on_todays_value(
    qa: QA, shipped_kb: KnowledgeBase, shipped_policy: Policy
) -> None:
    ans = qa.ask("INR 1.3 yesterday, 1.8 today, plt 200 - LP?", at=AT)
    expected = _summaries(shipped_kb, shipped_policy, lp([plt(200), inr(1.8)]))
    assert _plain(ans.lead).startswith(expected[INR_HIGH])
