"""Computed answers for questions written the way clinicians type them.

Each phrasing is checked for the values read from it (so the user can correct them) and for the
engine's own result on the same case, built here as a case file: no threshold, dose or interval is
written in this module. Runs on the shipped knowledge base (lexical retrieval, no model) at a
fixed evaluation time; clock times in a question are local times in the zone of that time.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from typer.testing import CliRunner

from leptoguide.answer import QA
from leptoguide.answer.result import Answer
from leptoguide.answer.values import read_values
from leptoguide.answer.vocabulary import vocabulary_for
from leptoguide.engine import assess
from leptoguide.intake.casefile import read_casefile
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.policy import Policy

UTC_AT = dt.datetime(2026, 12, 2, 12, 0, tzinfo=dt.UTC)
LOCAL = dt.timezone(dt.timedelta(hours=-5))
AT = dt.datetime(2026, 12, 2, 14, 0, tzinfo=LOCAL)
"""Wednesday 2 December 2026, 14:00 local time (UTC-5)."""
LP = {"orders": [{"type": "lumbar-puncture"}]}


@pytest.fixture(scope="module")
def policy(shipped_policy: Policy) -> Policy:
    return shipped_policy


@pytest.fixture(scope="module")
def qa(shipped_qa: QA) -> QA:
    return shipped_qa


def _engine(
    kb: KnowledgeBase, policy: Policy, doc: dict[str, Any], at: dt.datetime = AT
) -> dict[str, str]:
    """Rule id -> finding summary, from the engine itself, for the same case."""
    case = read_casefile({"date": at.isoformat(), **doc}, name="expected", kb=kb)
    result = assess(case, kb=kb, policy=policy, at=at)
    return {f.rule: f.summary for f in result.findings}


def _read(ans: Answer) -> dict[str, Any]:
    return {v["what"]: v["value"] for v in ans.values_read or []}


def _form(ans: Answer) -> dict[str, list[str]]:
    assert ans.assessment_form is not None
    assert urlsplit(ans.assessment_form).path == "/assess"
    return parse_qs(urlsplit(ans.assessment_form).query)


def _never_safe(ans: Answer) -> None:
    assert not re.search(r"\bsafe\b", ans.lead, re.I), ans.lead
    assert "No LP safety alert fires" not in ans.lead


def _markers_resolve(ans: Answer) -> None:
    marks = {int(n) for n in re.findall(r"\[(\d+)\]", ans.answer)}
    assert marks == {c.n for c in ans.citations}


# ---------------------------------------------------------------- platelets as people write them


@pytest.mark.parametrize(
    "question",
    [
        "plt 35, ok to tap?",
        "platelets 35k, can we do the LP?",
        "platelets 35,000/uL - LP today?",
        "Plts 35 x10^9/L, lumbar puncture ok?",
        "PLT=35, LP?",
        "Plt: 35 - ok for LP this afternoon?",
        "platelet count of 35, is an LP ok?",
        "plts 35 x 10*9/L, can I do the LP",
        "platelets are 35 - ok to do a lumbar puncture?",
        "plt 35000, LP ok?",
        "platelets 35 x 10⁹/L, lp?",
        "LP planned, plt 35 today",
    ],
)
def test_platelets_written_every_way_are_read_and_judged_by_the_engine(
    qa: QA, shipped_kb: KnowledgeBase, policy: Policy, question: str
) -> None:
    ans = qa.ask(question, at=AT)
    expected = _engine(
        shipped_kb, policy, {"labs": [{"test": "platelets", "value": 35, "unit": "10*9/L"}], **LP}
    )
    assert ans.computed is not None and ans.computed["intent"] == "intent-lp-safety"
    assert ans.lead.startswith(expected["lp-platelets-low"]), ans.lead
    plt = next(v for v in ans.values_read if v["what"] == "platelets")
    assert plt["value"] in (35, 35000)
    assert _form(ans)["platelets"] == ["35"]
    assert f": {policy.get('lp-platelet-min')}" in ans.answer  # the site policy, with its source
    _never_safe(ans)
    _markers_resolve(ans)


@pytest.mark.parametrize(
    "question",
    [
        "INR 1.6, plt 200 - ok for LP?",
        "INR=1.6 plts 200, LP?",
        "inr of 1.6 and platelets 200, can we tap?",
        "plt 200, INR: 1.6 - lumbar puncture today?",
    ],
)
def test_inr_above_the_site_maximum(
    qa: QA, shipped_kb: KnowledgeBase, policy: Policy, question: str
) -> None:
    ans = qa.ask(question, at=AT)
    expected = _engine(
        shipped_kb,
        policy,
        {"labs": [{"test": "platelets", "value": 200}, {"test": "INR", "value": 1.6}], **LP},
    )
    assert ans.lead.startswith(expected["lp-inr-high"]), ans.lead
    assert _read(ans)["INR"] == 1.6 and _read(ans)["platelets"] == 200
    assert _form(ans)["inr"] == ["1.6"]
    assert str(policy.get("lp-inr-max")) in ans.lead


# ---------------------------------------------------------------- antithrombotics and their interval


def _hours_ago(hours: float) -> str:
    return (AT - dt.timedelta(hours=hours)).isoformat()


ANTITHROMBOTIC_CASES = [
    # (question, drug, dose, unit, frequency, hours since the last dose)
    ("enoxaparin 1 mg/kg bd, last dose 14 h ago, LP ok?", "enoxaparin", 1, "mg/kg", "BID", 14),
    (
        "enoxaparin 80 mg bd for PE, last injection 14 h ago, plt 250 - LP now?",
        "enoxaparin",
        80,
        "mg",
        "BID",
        14,
    ),
    ("clexane 40mg od, last dose 6 hrs ago, LP?", "enoxaparin", 40, "mg", "QD", 6),
    (
        "enoxaparin 1.5mg/kg once daily, last given 20h ago - tap?",
        "enoxaparin",
        1.5,
        "mg/kg",
        "QD",
        20,
    ),
    (
        "dalteparin 200 units/kg od, last dose 10 hours ago, LP?",
        "dalteparin",
        200,
        "units/kg",
        "QD",
        10,
    ),
    (
        "tinzaparin 175 units/kg od, last dose 20 h ago, LP?",
        "tinzaparin",
        175,
        "units/kg",
        "QD",
        20,
    ),
    ("apixaban 5 bd, last dose 20 hours ago, can I do the LP?", "apixaban", 5, "mg", "BID", 20),
    ("eliquis 2.5 bd, last tablet 30 hrs ago, LP?", "apixaban", 2.5, "mg", "BID", 30),
    ("rivaroxaban 20 od, last dose 36 h ago, LP?", "rivaroxaban", 20, "mg", "QD", 36),
    ("xarelto 15mg daily, last taken 2 days ago - ok for LP?", "rivaroxaban", 15, "mg", "QD", 48),
    ("edoxaban 60 od last dose 14 hrs ago, LP?", "edoxaban", 60, "mg", "QD", 14),
    (
        "dabigatran 150 bid with CrCl 40, last dose 30 hours ago, LP?",
        "dabigatran",
        150,
        "mg",
        "BID",
        30,
    ),
    ("clopidogrel 75, last dose 72 h ago, LP today?", "clopidogrel", 75, "mg", None, 72),
    ("ticagrelor 90 bd, last dose 24 hours ago, LP?", "ticagrelor", 90, "mg", "BID", 24),
    ("prasugrel 10 mg od, last dose 3 days ago - LP?", "prasugrel", 10, "mg", "QD", 72),
    ("fondaparinux 2.5 mg od last dose 24 h ago, LP?", "fondaparinux", 2.5, "mg", "QD", 24),
    ("warfarin 5 mg, last dose 2 days ago, INR 1.3, LP?", "warfarin", 5, "mg", None, 48),
]


@pytest.mark.parametrize(
    ("question", "drug", "dose", "unit", "frequency", "hours"), ANTITHROMBOTIC_CASES
)
def test_antithrombotic_lead_gives_the_interval(
    qa: QA,
    shipped_kb: KnowledgeBase,
    policy: Policy,
    question: str,
    drug: str,
    dose: float,
    unit: str,
    frequency: str | None,
    hours: float,
) -> None:
    ans = qa.ask(question, at=AT)
    med: dict[str, Any] = {"drug": drug, "dose": dose, "unit": unit, "last_dose": _hours_ago(hours)}
    if frequency:
        med["frequency"] = frequency
    labs = [{"test": k, "value": v} for k, v in _read(ans).items() if k in ("platelets", "INR")]
    expected = _engine(shipped_kb, policy, {"medications": [med], "labs": labs, **LP})
    assert "lp-anticoagulant-timing" in expected, expected
    summary = expected["lp-anticoagulant-timing"]
    assert ans.lead.startswith(summary), ans.lead
    # the interval the engine applied is in the lead, as the site policy gives it
    hold = re.search(r"hold (\d+(?:\.\d+)?) h", summary)
    assert hold is not None, summary
    assert drug in ans.lead
    assert _form(ans)["anticoagulants"] == [drug]
    read = next(v for v in ans.values_read if v["what"] == "drug")
    assert drug in read["value"] and f"{dose:g} {unit}" in read["value"]
    _never_safe(ans)
    _markers_resolve(ans)


def test_treatment_dose_lmwh_leads_with_the_24_hour_hold(qa: QA, policy: Policy) -> None:
    ans = qa.ask("enoxaparin 1 mg/kg bd, last dose 14 h ago, LP ok?", at=AT)
    hold = policy.get("lp-hold-hours-lmwh-treatment")
    assert f"hold {hold} h" in ans.lead
    assert "lmwh-treatment" in ans.lead


def test_prophylactic_lmwh_past_its_interval_is_not_an_alert(
    qa: QA, shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    ans = qa.ask("enoxaparin 40 mg od, last dose 14 hrs ago, plt 220, INR 1.0, LP ok?", at=AT)
    expected = _engine(
        shipped_kb,
        policy,
        {
            "medications": [
                {
                    "drug": "enoxaparin",
                    "dose": 40,
                    "unit": "mg",
                    "frequency": "QD",
                    "last_dose": _hours_ago(14),
                }
            ],
            "labs": [{"test": "platelets", "value": 220}, {"test": "INR", "value": 1.0}],
            **LP,
        },
    )
    assert "lp-anticoagulant-timing" not in expected
    assert ans.computed is not None
    assert "lp-anticoagulant-timing" not in [f["rule"] for f in ans.computed["findings"]]
    assert "enoxaparin 40 mg QD" in _read(ans)["drug"]


# ---------------------------------------------------------------- times of the last dose


@pytest.mark.parametrize(
    ("question", "last"),
    [
        ("apixaban 5 bd, last dose 8am, LP ok?", dt.datetime(2026, 12, 2, 8, 0, tzinfo=LOCAL)),
        ("apixaban 5 bd last dose at 08:00, LP?", dt.datetime(2026, 12, 2, 8, 0, tzinfo=LOCAL)),
        (
            "rivaroxaban 20 od last dose at 20:00 yesterday, LP?",
            dt.datetime(2026, 12, 1, 20, 0, tzinfo=LOCAL),
        ),
        (
            "rivaroxaban 20 od, last dose yesterday at 8pm, LP?",
            dt.datetime(2026, 12, 1, 20, 0, tzinfo=LOCAL),
        ),
        (
            "enoxaparin 40 mg od, last dose 9 pm, LP now?",
            dt.datetime(2026, 12, 1, 21, 0, tzinfo=LOCAL),  # 9 pm today is still to come
        ),
        ("edoxaban 60 od last dose 14 hrs ago, LP?", AT - dt.timedelta(hours=14)),
        ("enoxaparin 40mg od - last dose 1.5 days ago, LP?", AT - dt.timedelta(hours=36)),
        (
            "clexane 40 od last dose at 2200 last night, LP?",
            dt.datetime(2026, 12, 1, 22, 0, tzinfo=LOCAL),
        ),
    ],
)
def test_clock_times_are_local_times_of_the_evaluation(
    shipped_kb: KnowledgeBase, question: str, last: dt.datetime
) -> None:
    vals = read_values(question, shipped_kb, vocabulary_for(shipped_kb), AT)
    med = vals.case["medications"][0]
    assert dt.datetime.fromisoformat(med["last_dose"]) == last


@pytest.mark.parametrize(
    ("question", "latest"),
    [
        # a part of the day is read as the latest time it can mean (the shorter interval)
        (
            "ticagrelor 90 bd last dose this morning, LP?",
            dt.datetime(2026, 12, 2, 12, 0, tzinfo=LOCAL),
        ),
        (
            "dalteparin 5000 units od, last dose last night, can we tap?",
            dt.datetime(2026, 12, 2, 6, 0, tzinfo=LOCAL),
        ),
        (
            "apixaban 5 bd, last dose yesterday evening, LP?",
            dt.datetime(2026, 12, 1, 23, 59, tzinfo=LOCAL),
        ),
        (
            "enoxaparin 40 od, last dose yesterday morning, LP this afternoon?",
            dt.datetime(2026, 12, 1, 12, 0, tzinfo=LOCAL),
        ),
    ],
)
def test_parts_of_the_day_read_as_their_latest_time(
    qa: QA, shipped_kb: KnowledgeBase, question: str, latest: dt.datetime
) -> None:
    vals = read_values(question, shipped_kb, vocabulary_for(shipped_kb), AT)
    med = vals.case["medications"][0]
    assert dt.datetime.fromisoformat(med["last_dose"]) == latest
    ans = qa.ask(question, at=AT)
    drug = next(v for v in ans.values_read if v["what"] == "drug")
    assert "at the latest" in drug["value"]
    _never_safe(ans)


def test_without_a_time_the_timing_is_unknown_never_clear(
    qa: QA, shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    ans = qa.ask("on eliquis 5 bd, plt 210 INR 1.0, LP tomorrow?", at=AT)
    expected = _engine(
        shipped_kb,
        policy,
        {
            "medications": [{"drug": "apixaban", "dose": 5, "unit": "mg", "frequency": "BID"}],
            "labs": [{"test": "platelets", "value": 210}, {"test": "INR", "value": 1.0}],
            **LP,
        },
    )
    assert ans.lead.startswith(expected["lp-anticoagulant-timing"])
    assert "unknown" in ans.lead.lower()
    _never_safe(ans)


# ---------------------------------------------------------------- drugs the engine cannot check


@pytest.mark.parametrize(
    ("question", "drug"),
    [
        ("aspirin 75mg, plt 180 INR 1.0, ok to do LP?", "aspirin"),
        ("on bivalirudin, plt 200, INR 1.1 - LP?", "bivalirudin"),
        ("ibuprofen 400 tds, plts 250, INR 1.0, lumbar puncture ok?", "ibuprofen"),
        ("cilostazol 100 bd, last dose 8am, plt 300 INR 1.0, LP?", "cilostazol"),
    ],
)
def test_a_drug_the_lp_rules_do_not_cover_fails_closed(qa: QA, question: str, drug: str) -> None:
    ans = qa.ask(question, at=AT)
    assert ans.computed is not None
    assert drug in ans.lead.lower() and "cannot be checked" in ans.lead
    assert drug in ans.computed["unchecked"]
    _never_safe(ans)


def test_a_named_antithrombotic_counts_when_the_question_gives_values(
    shipped_kb: KnowledgeBase,
) -> None:
    vals = read_values("warfarin, INR 1.3, LP ok?", shipped_kb, vocabulary_for(shipped_kb), AT)
    assert [m["drug"] for m in vals.case["medications"]] == ["warfarin"]
    general = read_values(
        "how long to stop warfarin before an LP?", shipped_kb, vocabulary_for(shipped_kb), AT
    )
    assert "medications" not in general.case


# ---------------------------------------------------------------- missing, stale, unreadable


@pytest.mark.parametrize(
    "question",
    [
        "apixaban stopped 4 days ago, ok to tap?",
        "plt ?low, INR pending - LP?",
        "LP this afternoon, plt 150 from 5 days ago, INR 1.0 today",
        "plt 180 but no INR yet, can we tap?",
    ],
)
def test_missing_stale_or_unreadable_values_are_never_safe(
    qa: QA, shipped_kb: KnowledgeBase, policy: Policy, question: str
) -> None:
    ans = qa.ask(question, at=AT)
    assert ans.computed is not None
    assert "cannot be checked" in ans.answer
    _never_safe(ans)


def test_a_lab_value_with_its_age_is_judged_stale(
    qa: QA, shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    ans = qa.ask("LP this afternoon, plt 150 from 5 days ago, INR 1.0 today", at=AT)
    expected = _engine(
        shipped_kb,
        policy,
        {
            "labs": [
                {"test": "platelets", "value": 150, "unit": "10*9/L", "time": _hours_ago(120)},
                {"test": "INR", "value": 1.0},
            ],
            **LP,
        },
    )
    assert ans.lead.startswith(expected["lp-safety-data-missing"])
    assert "too old" in ans.lead


# ---------------------------------------------------------------- weights and ages


@pytest.mark.parametrize(
    ("text", "weight"),
    [
        ("70kg", 70),
        ("70 kg", 70),
        ("70 kgs", 70),
        ("wt 3.2kg", 3.2),
        ("154 lb", 69.85),
        ("154lbs", 69.85),
    ],
)
def test_weights(shipped_kb: KnowledgeBase, text: str, weight: float) -> None:
    vals = read_values(
        f"ceftriaxone dose, 40 yo, {text}", shipped_kb, vocabulary_for(shipped_kb), AT
    )
    got = next(v for v in vals.values if v.label == "weight")
    assert got.unit == "kg" and got.value == pytest.approx(weight, abs=0.01)
    assert vals.case["patient"]["weight_kg"] == pytest.approx(weight, abs=0.01)


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("10 day old", "age_days", 10),
        ("10-day-old", "age_days", 10),
        ("3 yo", "age_years", 3),
        ("3yo", "age_years", 3),
        ("65-year-old", "age_years", 65),
        ("aged 65", "age_years", 65),
        ("5 yrs", "age_years", 5),
        ("78M", "age_years", 78),
        ("72 F", "age_years", 72),
        ("2 y/o", "age_years", 2),
        ("3 week old", "age_days", 21),
        ("3/52 old", "age_days", 21),
        ("10/7 old", "age_days", 10),
    ],
)
def test_ages(shipped_kb: KnowledgeBase, text: str, key: str, value: float) -> None:
    vals = read_values(
        f"ceftriaxone for meningitis, {text}, 12 kg", shipped_kb, vocabulary_for(shipped_kb), AT
    )
    assert vals.case["patient"][key] == value
    assert any(v.label == "age" for v in vals.values)


@pytest.mark.parametrize(
    ("text", "months"), [("6/12 old", 6), ("6/12", 6), ("18 month old", 18), ("6 mo old", 6)]
)
def test_ages_in_months(shipped_kb: KnowledgeBase, text: str, months: int) -> None:
    vals = read_values(
        f"dexamethasone for meningitis, {text}, 8 kg", shipped_kb, vocabulary_for(shipped_kb), AT
    )
    days = vals.case["patient"]["age_days"]
    assert months * 28 <= days <= months * 31


# ---------------------------------------------------------------- ceftriaxone and dexamethasone


@pytest.mark.parametrize(
    ("question", "patient"),
    [
        (
            "ceftriaxone dose for a 20 kg child with meningitis, 5 yo",
            {"age_years": 5, "weight_kg": 20},
        ),
        ("ceftriaxone for bacterial meningitis, 5 yrs, 20kg", {"age_years": 5, "weight_kg": 20}),
        ("ceftriaxone for a 6/12 old, 7.5 kg, meningitis", {"age_days": 182, "weight_kg": 7.5}),
        ("ceftriaxone in a 3 week old baby, 3.8 kg", {"age_days": 21, "weight_kg": 3.8}),
        (
            "ceftriaxone for 65-year-old 154 lb with bacterial meningitis",
            {"age_years": 65, "weight_kg": 69.85},
        ),
        ("ceftriaxone meningitis dose 45M 80kg", {"age_years": 45, "weight_kg": 80}),
    ],
)
def test_ceftriaxone_dose_from_age_and_weight(
    qa: QA, shipped_kb: KnowledgeBase, policy: Policy, question: str, patient: dict[str, float]
) -> None:
    ans = qa.ask(question, at=AT)
    expected = _engine(
        shipped_kb,
        policy,
        {
            "patient": patient,
            "conditions": ["bacterial-meningitis"],
            "orders": [{"drug": "ceftriaxone"}],
        },
    )
    assert ans.computed is not None and ans.computed["intent"] == "intent-ceftriaxone-dose"
    assert ans.lead.startswith(expected["ceftriaxone-dose"]), ans.lead
    assert "not computed" not in ans.lead
    assert {"age", "weight"} <= set(_read(ans))
    _markers_resolve(ans)


@pytest.mark.parametrize(
    ("question", "patient"),
    [
        (
            "dex dose for bacterial meningitis, 20 kg child, 5 yrs",
            {"age_years": 5, "weight_kg": 20},
        ),
        ("dexamethasone in meningitis for a 6 month old 8kg", {"age_days": 183, "weight_kg": 8}),
        ("dexamethasone dose BM, 30 yo, 58 kg", {"age_years": 30, "weight_kg": 58}),
        ("dex for pneumococcal meningitis 70 yo F 60kg", {"age_years": 70, "weight_kg": 60}),
    ],
)
def test_dexamethasone_dose_from_age_and_weight(
    qa: QA, shipped_kb: KnowledgeBase, policy: Policy, question: str, patient: dict[str, float]
) -> None:
    ans = qa.ask(question, at=AT)
    expected = _engine(
        shipped_kb, policy, {"patient": patient, "conditions": ["bacterial-meningitis"]}
    )
    assert ans.computed is not None
    assert ans.lead.startswith(expected["dexamethasone-bacterial-meningitis"]), ans.lead


@pytest.mark.parametrize(
    "question",
    [
        "dexamethasone for pneumococcal meningitis adult 80 kg",
        "dex for BM in a 10 day old",
    ],
)
def test_a_dose_question_the_engine_does_not_answer_is_not_no_alert(qa: QA, question: str) -> None:
    """No finding of a dose intent is no answer: the statements answer and the values are shown."""
    ans = qa.ask(question, at=AT)
    assert not ans.abstained
    assert "alert fires" not in ans.lead
    assert ans.values_read and ans.assessment_form


# ---------------------------------------------------------------- intrathecal schedules


@pytest.mark.parametrize(
    "question",
    [
        "IT methotrexate schedule via Ommaya starting 2026-12-07",
        "IT MTX by LP, calendar from 2026-12-07",
        "intrathecal mtx via ommaya, first dose 2026-12-07 - what dates?",
    ],
)
def test_intrathecal_methotrexate_calendar_by_either_route(
    qa: QA, shipped_kb: KnowledgeBase, policy: Policy, question: str
) -> None:
    ans = qa.ask(question, at=AT)
    case = read_casefile(
        {
            "date": AT.isoformat(),
            "orders": [{"drug": "methotrexate", "route": "intrathecal", "time": "2026-12-07"}],
            "conditions": ["leptomeningeal-metastasis"],
        },
        name="expected",
        kb=shipped_kb,
    )
    result = assess(case, kb=shipped_kb, policy=policy, at=AT)
    summaries = {f.rule: f.summary for f in result.findings}
    assert ans.computed is not None
    assert ans.computed["intent"] == "intent-it-methotrexate-schedule"
    assert ans.lead.startswith(summaries["it-mtx-schedule"])
    dates = [str(e.date) for e in result.schedules[0].events[:4]]
    assert all(d in ans.answer for d in dates)
    assert _form(ans)["it_drug"] == ["methotrexate"]


def test_an_intrathecal_drug_is_not_an_antithrombotic(qa: QA) -> None:
    ans = qa.ask("IT cytarabine 50 mg twice weekly by LP - schedule?", at=AT)
    if ans.assessment_form:
        assert "anticoagulants" not in _form(ans)
    assert "Antithrombotic" not in ans.lead


# ---------------------------------------------------------------- CSF results


@pytest.mark.parametrize(
    ("question", "csf"),
    [
        (
            "CSF WBC 250, 90% neut, protein 2.1 g/L, glucose 1.2, serum glucose 6 - bacterial?",
            {
                "wbc": 250,
                "neutrophils_pct": 90,
                "protein": {"value": 2.1, "unit": "g/L"},
                "glucose": {"value": 1.2, "unit": "mmol/L"},
                "serum_glucose": {"value": 6, "unit": "mmol/L"},
            },
        ),
        (
            "CSF: WCC 250 (90% neutrophils), protein 210 mg/dL, glucose 22 mg/dL, blood glucose "
            "108 mg/dL - what does this mean?",
            {
                "wbc": 250,
                "neutrophils_pct": 90,
                "protein": {"value": 210, "unit": "mg/dL"},
                "glucose": {"value": 22, "unit": "mg/dL"},
                "serum_glucose": {"value": 108, "unit": "mg/dL"},
            },
        ),
        (
            "LP results: wbc 15, lymphs 95%, protein 0.9 g/L, glucose 2.8, serum glucose 5.5",
            {
                "wbc": 15,
                "lymphocytes_pct": 95,
                "protein": {"value": 0.9, "unit": "g/L"},
                "glucose": {"value": 2.8, "unit": "mmol/L"},
                "serum_glucose": {"value": 5.5, "unit": "mmol/L"},
            },
        ),
        (
            "CSF wbc 200, mostly lymphs, protein 2.0 g/L, glucose 1.2 mmol/L, serum glucose 6",
            {
                "wbc": 200,
                "predominant_cell": "lymphocytes",
                "protein": {"value": 2.0, "unit": "g/L"},
                "glucose": {"value": 1.2, "unit": "mmol/L"},
                "serum_glucose": {"value": 6, "unit": "mmol/L"},
            },
        ),
        (
            "csf wcc 1800 neutrophilic, protein 250 mg/dL, glucose 20 mg/dL, blood glucose 110",
            {
                "wbc": 1800,
                "predominant_cell": "neutrophils",
                "protein": {"value": 250, "unit": "mg/dL"},
                "glucose": {"value": 20, "unit": "mg/dL"},
                "serum_glucose": {"value": 110, "unit": "mg/dL"},
            },
        ),
    ],
)
def test_csf_results_in_uk_and_us_units(
    qa: QA, shipped_kb: KnowledgeBase, policy: Policy, question: str, csf: dict[str, Any]
) -> None:
    ans = qa.ask(question, at=AT)
    expected = _engine(shipped_kb, policy, {"csf": csf})
    assert ans.computed is not None and ans.computed["intent"] == "intent-csf-results"
    assert ans.lead.startswith(expected["csf-profile-differential"]), ans.lead
    read = _read(ans)
    assert read["CSF wbc"] == csf["wbc"]
    assert read["blood glucose"] == csf["serum_glucose"]["value"]
    units = {v["what"]: v["unit"] for v in ans.values_read}
    assert units["CSF glucose"] == csf["glucose"]["unit"]
    assert units["CSF protein"] == csf["protein"]["unit"]
    form = _form(ans)
    assert form["csf_wbc"] == [f"{csf['wbc']:g}"]
    assert form["csf_glucose.unit"] == [csf["glucose"]["unit"]]
    for key, field in (
        ("neutrophils_pct", "csf_neutrophils"),
        ("lymphocytes_pct", "csf_lymphocytes"),
        ("predominant_cell", "csf_predominant"),
    ):
        if key in csf:  # the share or the predominant cell is carried into the form too
            assert form[field] == [f"{csf[key]}"]


def test_csf_predominant_cell_in_words_needs_other_csf_values(
    shipped_kb: KnowledgeBase,
) -> None:
    vocab = vocabulary_for(shipped_kb)
    general = read_values("what causes a lymphocytic CSF?", shipped_kb, vocab, AT)
    assert "csf" not in general.case
    both = read_values(
        "CSF wbc 90, mostly lymphs, some neutrophilic cells, protein 0.6", shipped_kb, vocab, AT
    )
    assert "predominant_cell" not in both.case["csf"]  # both named: not read


# ---------------------------------------------------------------- the JSON contract, through the CLI


def test_ask_json_carries_the_values_and_the_result(
    shipped_kb_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leptoguide.answer import reset
    from leptoguide.cli import app
    from leptoguide.knowledge.loader import get_knowledge

    monkeypatch.setenv("LEPTOGUIDE_KB", str(shipped_kb_dir))
    monkeypatch.setenv("LEPTOGUIDE_QA_DENSE", "0")
    get_knowledge.cache_clear()
    reset()
    try:
        res = CliRunner().invoke(
            app,
            [
                "ask",
                "enoxaparin 1 mg/kg bd, last dose at 8am, plt 35, LP ok?",
                "--format",
                "json",
                "--at",
                "2026-12-02T14:00:00-05:00",
            ],
        )
        assert res.exit_code == 0, res.output
        data = json.loads(res.output)
        assert data["abstained"] is False
        assert data["computed"]["intent"] == "intent-lp-safety"
        assert data["computed"]["evaluated_at"] == "2026-12-02T19:00:00Z"  # 14:00 at UTC-5
        rules = [f["rule"] for f in data["computed"]["findings"]]
        assert "lp-platelets-low" in rules and "lp-anticoagulant-timing" in rules
        assert {"rule", "severity", "summary"} <= set(data["computed"]["findings"][0])
        values = {v["what"]: v for v in data["values_read"]}
        assert values["platelets"]["value"] == 35 and values["platelets"]["from"]
        assert "2026-12-02T08:00:00-05:00" in values["drug"]["value"]
        assert data["assessment_form"].startswith("/assess?")
        assert all(c["n"] for c in data["citations"])
        bad = CliRunner().invoke(app, ["ask", "plt 35, LP?", "--at", "yesterday"])
        assert bad.exit_code == 2 and "at" in bad.output
    finally:
        get_knowledge.cache_clear()
        reset()


@pytest.mark.parametrize(
    "question",
    [
        "dexamethasone for TB meningitis 40 yo 60 kg",
        "dex dose for tuberculous meningitis, 30 yo, 55kg",
        "ceftriaxone for cryptococcal meningitis, 50 yo 70 kg",
    ],
)
def test_a_dose_intent_is_not_computed_for_another_meningitis(qa: QA, question: str) -> None:
    """The dose intents describe bacterial meningitis: another cause is answered from the
    statements, never with the bacterial-meningitis dose."""
    ans = qa.ask(question, at=AT)
    assert ans.computed is None


def test_units_written_u_are_units(shipped_kb: KnowledgeBase) -> None:
    vals = read_values(
        "LP tomorrow am - on dalteparin 5000u od, last dose 6pm yesterday",
        shipped_kb,
        vocabulary_for(shipped_kb),
        AT,
    )
    med = vals.case["medications"][0]
    assert (med["dose"], med["unit"], med["frequency"]) == (5000, "units", "QD")
    assert dt.datetime.fromisoformat(med["last_dose"]) == dt.datetime(
        2026, 12, 1, 18, 0, tzinfo=LOCAL
    )


@pytest.mark.parametrize(
    ("text", "time"),
    [
        ("plt 150 from 5 days ago", AT - dt.timedelta(days=5)),
        ("plt 150 yesterday", dt.datetime(2026, 12, 1, 0, 0, tzinfo=LOCAL)),
        ("plt 150 last week", dt.datetime(2026, 11, 19, 0, 0, tzinfo=LOCAL)),
        ("plt 150 today", None),
        ("plt 150", None),
    ],
)
def test_a_lab_value_is_dated_at_the_earliest_its_words_mean(
    shipped_kb: KnowledgeBase, text: str, time: dt.datetime | None
) -> None:
    vals = read_values(f"LP later, {text}, INR 1.0", shipped_kb, vocabulary_for(shipped_kb), AT)
    lab = vals.case["labs"][0]
    assert lab["test"] == "platelets"
    assert (dt.datetime.fromisoformat(lab["time"]) if "time" in lab else None) == time


# ---------------------------------------------------------------- young patients: ages as written


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("should a 10 day old baby with bacterial meningitis get dexamethasone?", 10),
        ("10d old with BM, dex?", 10),
        ("10d baby bacterial meningitis dexamethasone?", 10),
        ("10d 3.5kg ceftriaxone dose meningitis", 10),
        ("3 wk old bacterial meningitis dexamethasone?", 21),
        ("8 wk old M meningitis dex", 56),
        ("6 weeks bacterial meningitis dexamethasone?", 42),
        ("infant aged 6 weeks, BM, dex?", 42),
        ("baby 10 days, ceftriaxone for meningitis", 10),
        ("3/52 old bacterial meningitis dexamethasone", 21),
        ("neonate 10/7 with BM, dex?", 10),
        ("dex dose, 2 mo, 4.5 kg", None),
        ("2 mo 5kg ceftriaxone dose", None),
        ("6/12 7kg meningitis ceftriaxone", None),
    ],
)
def test_young_ages_as_written(shipped_kb: KnowledgeBase, text: str, days: int | None) -> None:
    vals = read_values(text, shipped_kb, vocabulary_for(shipped_kb), AT)
    got = vals.case["patient"]["age_days"]
    if days is not None:
        assert got == days
    else:  # months: calendar days back from the evaluation date
        months = int(re.search(r"(\d+)\s*(?:mo|/12)", text).group(1))  # type: ignore[union-attr]
        assert months * 28 <= got <= months * 31
    assert "age_years" not in vals.case["patient"]


@pytest.mark.parametrize(
    "text",
    [
        "dex for 4 days in bacterial meningitis?",
        "ceftriaxone for 14 days, 70 kg",
        "dex 0.15 mg/kg q6h for 2-4 days",
        "steroids tapered over 6-8 weeks",
        "6 weeks of dex?",
        "10 days, ok to stop ceftriaxone?",
        "dex in infants under 3 months?",
    ],
)
def test_a_duration_is_not_an_age(shipped_kb: KnowledgeBase, text: str) -> None:
    vals = read_values(text, shipped_kb, vocabulary_for(shipped_kb), AT)
    assert "age_days" not in vals.case.get("patient", {})
    assert "age_years" not in vals.case.get("patient", {})


def _finding(kb: KnowledgeBase, policy: Policy, doc: dict[str, Any], rule: str) -> tuple[str, str]:
    case = read_casefile({"date": AT.isoformat(), **doc}, name="expected", kb=kb)
    result = assess(case, kb=kb, policy=policy, at=AT)
    found = [f for f in result.findings if f.rule == rule]
    assert found, f"{rule} does not fire for {doc}"
    return found[0].summary, found[0].detail


@pytest.mark.parametrize(
    ("question", "days"),
    [
        ("should a 10 day old baby with bacterial meningitis get dexamethasone?", 10),
        ("should a 10d old with bacterial meningitis get dex?", 10),
        ("3 wk old bacterial meningitis dexamethasone?", 21),
        ("3/52 old baby with BM - dex dose 3.6 kg?", 21),
        ("dex for BM in a 10 day old", 10),
        ("neonate 10/7 with bacterial meningitis, dexamethasone?", 10),
    ],
)
def test_a_neonate_gets_the_neonatal_dexamethasone_guidance_never_no_alert(
    qa: QA, shipped_kb: KnowledgeBase, policy: Policy, question: str, days: int
) -> None:
    ans = qa.ask(question, at=AT)
    doc: dict[str, Any] = {
        "patient": {"age_days": days},
        "conditions": ["bacterial-meningitis"],
    }
    summary, _ = _finding(shipped_kb, policy, doc, "dexamethasone-bm-age-not-covered")
    engine = _engine(shipped_kb, policy, doc)
    assert "dexamethasone-bacterial-meningitis" not in engine  # no regimen: no dose
    assert ans.computed is not None and ans.computed["intent"] == "intent-dexamethasone-dose"
    assert ans.lead.startswith(summary), ans.lead
    assert f"{days} days" in ans.lead
    assert "alert fires" not in ans.answer
    assert "Give dexamethasone" not in ans.answer
    # what the statements say for neonates and young infants, cited
    for sid in ("dexamethasone-bm-not-neonates", "dexamethasone-nice-2024-young-infants"):
        assert sid in ans.statements
        assert shipped_kb.statements[sid].clinician[:60] in ans.answer
    assert _read(ans)["age"] == days
    _markers_resolve(ans)


@pytest.mark.parametrize(
    ("question", "days", "weight"),
    [
        ("6 weeks old baby bacterial meningitis, dex dose 4.5 kg?", 42, 4.5),
        ("2 mo bacterial meningitis dex 4kg", None, 4.0),
        ("infant aged 6 weeks, 5 kg, BM - dexamethasone?", 42, 5.0),
    ],
)
def test_a_young_infant_gets_the_dose_and_the_specialist_advice(
    qa: QA,
    shipped_kb: KnowledgeBase,
    policy: Policy,
    question: str,
    days: int | None,
    weight: float,
) -> None:
    ans = qa.ask(question, at=AT)
    age = days if days is not None else _read(ans)["age"]
    assert 28 <= age < 91
    doc: dict[str, Any] = {
        "patient": {"age_days": age, "weight_kg": weight},
        "conditions": ["bacterial-meningitis"],
    }
    engine = _engine(shipped_kb, policy, doc)
    assert ans.computed is not None
    assert ans.lead.startswith(engine["dexamethasone-bacterial-meningitis"]), ans.lead
    assert "infection specialist" in ans.lead
    assert "dexamethasone-nice-2024-young-infants" in ans.statements


@pytest.mark.parametrize(
    ("question", "days", "weight"),
    [
        ("10 day old bacterial meningitis ceftriaxone dose 3.5kg", 10, 3.5),
        ("10d 3.5kg ceftriaxone dose meningitis", 10, 3.5),
        ("3 wk old 4kg ceftriaxone meningitis", 21, 4.0),
        ("ceftriaxone for a 3/52 old with BM, 3.9 kg", 21, 3.9),
    ],
)
def test_ceftriaxone_in_a_neonate_gives_the_neonatal_cautions(
    qa: QA, shipped_kb: KnowledgeBase, policy: Policy, question: str, days: int, weight: float
) -> None:
    ans = qa.ask(question, at=AT)
    doc: dict[str, Any] = {
        "patient": {"age_days": days, "weight_kg": weight},
        "conditions": ["bacterial-meningitis"],
        "orders": [{"drug": "ceftriaxone"}],
    }
    engine = _engine(shipped_kb, policy, doc)
    assert ans.computed is not None and ans.computed["intent"] == "intent-ceftriaxone-dose"
    assert ans.lead.startswith(engine["ceftriaxone-dose"]), ans.lead
    assert engine["ceftriaxone-neonate-cautions"] in ans.lead
    for sid in ("empiric-neonate", "ceftriaxone-calcium-neonate-contraindicated"):
        assert sid in ans.statements
    _markers_resolve(ans)


@pytest.mark.parametrize(
    "question",
    [
        "newborn 3kg ceftriaxone dose",
        "baby 4 kg ceftriaxone dose meningitis",
        "neonate with meningitis, 3.2 kg - ceftriaxone?",
        "dex dose for a 20 kg kid with bacterial meningitis",
        "neonate bacterial meningitis dexamethasone dose 3.5 kg",
    ],
)
def test_a_young_patient_without_an_age_is_never_given_the_adult_dose(
    qa: QA, shipped_kb: KnowledgeBase, policy: Policy, question: str
) -> None:
    ans = qa.ask(question, at=AT)
    assert not ans.abstained
    read = _read(ans)
    assert str(read["age"]).startswith("not read"), read
    adult = _engine(
        shipped_kb,
        policy,
        {
            "patient": {"age_years": 40, "weight_kg": 70},
            "conditions": ["bacterial-meningitis"],
            "orders": [{"drug": "ceftriaxone"}],
        },
    )
    for rule in ("ceftriaxone-dose", "dexamethasone-bacterial-meningitis"):
        dose = adult[rule].split(": ", 1)[-1][:25]
        assert dose not in ans.lead, ans.lead
    assert "alert fires" not in ans.answer
    _markers_resolve(ans)
