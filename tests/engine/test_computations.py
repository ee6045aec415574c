"""Units, dose maths, schedules, classification, risk and CSF profile: small functions, both ways."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from leptoguide.engine import classification, csf, dosing, risk, schedule
from leptoguide.engine.facts import Facts, FactValue
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.models import Regimen
from leptoguide.policy import Policy, load_policy


@pytest.fixture(scope="module")
def policy(shipped_kb: KnowledgeBase) -> Policy:
    return load_policy(shipped_kb)


def facts(**values: Any) -> Facts:
    f = Facts()
    for k, v in values.items():
        f.set(FactValue(k.replace("_", "-"), "ok", v))
    return f


CEF = Regimen.model_validate(
    {
        "id": "cef",
        "title": "Ceftriaxone",
        "drugs": ["ceftriaxone"],
        "indication": "x",
        "statements": ["st"],
        "status": "draft",
        "bands": [
            {
                "label": "neonate",
                "age_max_days": 13,
                "amount": 50,
                "unit": "mg",
                "basis": "per-kg-per-day",
                "interval_hours": 24,
            },
            {
                "label": "child",
                "age_min_days": 14,
                "age_max_days": 6574,
                "amount": 100,
                "unit": "mg",
                "basis": "per-kg-per-day",
                "interval_hours": 24,
                "max_per_day": {"amount": 4, "unit": "g"},
                "max_per_dose": {"amount": 4, "unit": "g"},
                "first_dose": {"amount": 100, "unit": "mg"},
            },
            {
                "label": "adult",
                "age_min_days": 6575,
                "amount": 2000,
                "unit": "mg",
                "basis": "per-dose",
                "interval_hours": 12,
                "max_per_day": {"amount": 4, "unit": "g"},
            },
        ],
    }
)


def test_ceftriaxone_adult_is_2g_every_12h() -> None:
    res = dosing.compute(CEF, 40 * 365, 80)
    assert res.per_dose_mg == 2000 and res.interval_hours == 12 and res.per_day_mg == 4000
    assert res.error is None and res.band == "adult"


def test_ceftriaxone_child_per_kg_and_cap() -> None:
    small = dosing.compute(CEF, 5 * 365, 18)
    assert small.per_day_mg == 1800 and not small.capped
    big = dosing.compute(CEF, 15 * 365, 55)
    assert big.per_day_mg == 4000 and big.capped and big.first_dose_mg == 4000
    assert big.steps and "capped" in big.steps[-1]


def test_ceftriaxone_neonate_limit_and_missing_weight() -> None:
    assert dosing.compute(CEF, 7, 3.2).per_day_mg == 160
    no_weight = dosing.compute(CEF, 7, None)
    assert no_weight.error is not None and "weight" in no_weight.error
    assert no_weight.per_day_mg is None and no_weight.text == ""
    assert dosing.compute(CEF, None, 3.2).error == "age not recorded"


def test_child_dexamethasone_daily_total_is_not_rounded_up(shipped_kb: KnowledgeBase) -> None:
    dex = shipped_kb.regimens["dexamethasone-bacterial-meningitis"]
    res = dosing.compute(dex, 4 * 365, 18)  # 0.15 mg/kg x 18 kg every 6 h
    assert res.per_dose_mg is not None and round(res.per_dose_mg, 2) == 2.7
    assert "2.7 mg every 6 h (10.8 mg/day)" in res.text, res.text


def test_schedule_calendar_dates() -> None:
    reg = Regimen.model_validate(
        {
            "id": "mtx",
            "title": "IT MTX",
            "indication": "x",
            "statements": ["st"],
            "status": "draft",
            "schedule": [
                {"name": "induction", "times_per_week": 2, "weeks": 4},
                {"name": "consolidation", "times_per_week": 1, "weeks": 4},
                {"name": "maintenance", "every_days": 28, "count": 3},
            ],
        }
    )
    events = schedule.calendar(reg, dt.date(2026, 1, 5))
    assert len(events) == 15
    assert [e.date for e in events[:3]] == ["2026-01-05", "2026-01-08", "2026-01-12"]
    assert events[8].model_dump() == {"date": "2026-02-02", "phase": "consolidation", "dose": 9}
    assert events[-1].date == "2026-04-27"


@pytest.mark.parametrize(
    ("cyto", "mri", "signs", "certainty", "typ", "unverified"),
    [
        ("positive", "linear", True, "confirmed", "IA", False),
        ("positive", "normal", False, "confirmed", "ID", False),
        ("negative", "nodular", True, "probable", "IIB", False),
        ("negative", "linear-and-nodular", False, "possible", "IIC", True),
        ("equivocal", "hydrocephalus-only", True, "possible", "IID", True),
        ("negative", "normal", True, "lacking_evidence", "IID", True),
    ],
)
def test_eano_classification(
    cyto: str,
    mri: str,
    signs: bool,
    certainty: str,
    typ: str,
    unverified: bool,
    shipped_kb: KnowledgeBase,
    policy: Policy,
) -> None:
    f = facts(
        lm_context=True,
        known_cancer=True,
        csf_cytology=cyto,
        mri_lm_pattern=mri,
        typical_lm_signs=signs,
    )
    res = classification.classify(f, shipped_kb.classifications["eano-esmo-lm"], policy)
    assert (res.certainty, res.type, res.unverified) == (certainty, typ, unverified)
    if unverified:
        assert any("unverified" in r for r in res.reasons)


def test_classification_not_applicable_without_lm_context(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    table = shipped_kb.classifications["eano-esmo-lm"]
    assert classification.classify(facts(lm_context=False), table, policy).certainty == (
        "not_applicable"
    )


GOOD = dict(
    lm_context=True,
    karnofsky=80,
    major_neurological_deficits=False,
    bulky_cns_disease=False,
    encephalopathy=False,
    systemic_disease="minimal",
    systemic_options="reasonable",
)


def test_nccn_good_poor_unknown() -> None:
    assert risk.stratify(facts(**GOOD), 60, 2, 4).group == "good"
    assert risk.stratify(facts(**{**GOOD, "karnofsky": 50}), 60, 2, 4).group == "poor"
    assert risk.stratify(facts(**{**GOOD, "karnofsky": 65}), 70, 2, 4).group == "poor"
    assert risk.stratify(facts(**{**GOOD, "encephalopathy": True}), 60, 2, 4).group == "poor"
    no_kps = {k: v for k, v in GOOD.items() if k != "karnofsky"}
    ecog2 = risk.stratify(facts(**no_kps, ecog=2), 60, 2, 4)
    assert ecog2.group == "good" and ecog2.provisional
    assert any("ECOG 2 (no KPS): read as KPS >= 60" in a for a in ecog2.assumptions)
    ecog3 = risk.stratify(facts(**no_kps, ecog=3), 60, 2, 4)
    assert ecog3.group == "unknown" and "mappings disagree" in ecog3.reasons[0]
    ecog4 = risk.stratify(facts(**no_kps, ecog=4), 60, 2, 4)
    assert ecog4.group == "poor" and ecog4.poor_features == 1


def test_nccn_provisional_good_and_poor_stays_decisive() -> None:
    kps_only = risk.stratify(facts(lm_context=True, karnofsky=80), 60, 2, 4)
    assert kps_only.group == "good" and kps_only.provisional
    assert "encephalopathy: not recorded (taken as absent)" in kps_only.assumptions
    assert kps_only.assumptions[-1].startswith("extent of systemic disease not recorded")
    bulky = risk.stratify(facts(lm_context=True, ecog=1, bulky_cns_disease=True), 60, 2, 4)
    assert bulky.group == "poor" and bulky.poor_features == 1
    assert any("only one is recorded" in r for r in bulky.reasons)
    assert not risk.stratify(facts(**GOOD), 60, 2, 4).provisional


def test_csf_patterns(shipped_kb: KnowledgeBase, policy: Policy) -> None:
    table = shipped_kb.scores["csf-pattern"]

    def pattern(f: Facts) -> str | None:
        got = csf.profile(f, table, policy)
        return got.pattern if got else None

    bact = facts(
        csf_wbc=2000, csf_neutrophils_pct=90, csf_glucose=1.0, serum_glucose=6.0, csf_protein=2.5
    )
    assert pattern(bact) == "bacterial"
    viral = facts(
        csf_wbc=80, csf_lymphocytes_pct=90, csf_glucose=3.5, serum_glucose=5.5, csf_protein=0.7
    )
    assert pattern(viral) == "viral"
    tb = facts(
        csf_wbc=200, csf_lymphocytes_pct=85, csf_glucose=1.2, serum_glucose=6.0, csf_protein=2.0
    )
    assert pattern(tb) == "tuberculous"
    # the predominant cell reported in words, with no percentage, scores as a percentage would
    tb_words = facts(
        csf_wbc=200,
        csf_predominant_cell="lymphocytes",
        csf_glucose=1.2,
        serum_glucose=6.0,
        csf_protein=2.0,
    )
    assert pattern(tb_words) == "tuberculous"
    viral_words = facts(
        csf_wbc=80, csf_predominant_cell="lymphocytes", csf_glucose=3.5, serum_glucose=5.5
    )
    assert pattern(viral_words) == "viral"
    bact_words = facts(
        csf_wbc=2000,
        csf_predominant_cell="neutrophils",
        csf_glucose=1.0,
        serum_glucose=6.0,
        csf_protein=2.5,
    )
    assert pattern(bact_words) == "bacterial"
    # a percentage, when given, wins over the words
    mixed = facts(
        csf_wbc=80,
        csf_neutrophils_pct=90,
        csf_predominant_cell="lymphocytes",
        csf_glucose=3.5,
        serum_glucose=5.5,
    )
    got = csf.profile(mixed, table, policy)
    assert got is not None and got.values.predominant == "neutrophils"
    normal = facts(csf_wbc=2, csf_glucose=3.5, serum_glucose=5.5, csf_protein=0.3)
    assert pattern(normal) == "normal"
    assert pattern(facts()) is None


def test_traumatic_tap_correction_uses_policy_ratio(
    shipped_kb: KnowledgeBase, policy: Policy, tmp_path: Path
) -> None:
    table = shipped_kb.scores["csf-pattern"]
    f = facts(csf_wbc=20, csf_rbc=7000, csf_glucose=3.5, serum_glucose=5.5, csf_protein=0.3)
    got = csf.profile(f, table, policy)
    assert got is not None and got.values.wbc_corrected == 10.0
    site = tmp_path / "site.yaml"
    site.write_text(
        "policy:\n  id: site-tap\n  title: Site\n  values:\n    traumatic-tap-rbc-per-wbc: 1000\n"
    )
    other = load_policy(shipped_kb, site)
    got = csf.profile(f, table, other)
    assert got is not None and got.values.wbc_corrected == 13.0


def test_csf_bands_are_the_scoring(shipped_kb: KnowledgeBase, policy: Policy) -> None:
    """The ranges a picture draws give exactly the points the CSF scoring table gives, alone and
    beside the other values (a neutrophil share makes the lymphocyte share count for nothing)."""
    from leptoguide.engine.bands import bands

    table = shipped_kb.scores["csf-pattern"]
    alone = bands(table, policy)
    assert {b.measure for b in alone} == {
        "csf-wbc-corrected",
        "csf-neutrophils-pct",
        "csf-lymphocytes-pct",
        "csf-glucose-ratio",
        "csf-protein",
    }
    tb_ratio = [b for b in alone if b.outcome == "tuberculous" and b.measure == "csf-glucose-ratio"]
    assert [(b.high, b.points) for b in tb_ratio] == [(0.3, 2), (0.5, 1)]  # policy cut-offs
    serum = 5.0
    checked = 0
    for wbc in (3, 5, 6, 99, 100, 2000):
        for cells in (
            {"csf-neutrophils-pct": 10.0},
            {"csf-neutrophils-pct": 50.0},
            {"csf-lymphocytes-pct": 49.0},
            {"csf-lymphocytes-pct": 80.0},
            {"csf-neutrophils-pct": 80.0, "csf-lymphocytes-pct": 20.0},
        ):
            for ratio in (0.1, 0.3, 0.45, 0.5, 0.8):
                for protein in (0.4, 1.0, 2.5):
                    values = {
                        "csf-wbc-corrected": float(wbc),
                        "csf-glucose-ratio": ratio,
                        "csf-protein": protein,
                        **cells,
                    }
                    f = facts(
                        csf_wbc=wbc,
                        csf_glucose=ratio * serum,
                        serum_glucose=serum,
                        csf_protein=protein,
                        **{k.replace("-", "_"): v for k, v in cells.items()},
                    )
                    result = csf.profile(f, table, policy)
                    assert result is not None
                    got = {d.pattern: d.score for d in result.differential}
                    expected = dict.fromkeys(table.outcomes, 0)
                    for b in bands(table, policy, values):
                        if b.measure in values and b.contains(values[b.measure]):
                            expected[b.outcome] += b.points
                    want = {k: v for k, v in expected.items() if v >= table.listed_from}
                    assert got == want, values
                    checked += 1
    assert checked == 6 * 5 * 5 * 3


def _band(regimen: Regimen, drug: str) -> Regimen:
    band = next(b for b in regimen.bands if b.label.startswith(drug))
    return regimen.model_copy(update={"bands": [band]})


def test_adult_tb_meningitis_pyrazinamide_is_capped_at_2g(shipped_kb: KnowledgeBase) -> None:
    """25 mg/kg would give a 100 kg adult 2.5 g; the regimen caps pyrazinamide at 2.0 g a day."""
    reg = shipped_kb.regimens["tbm-regimen-adult"]
    pza = _band(reg, "pyrazinamide")
    heavy = dosing.compute(pza, 40 * 365, 100)
    assert heavy.per_day_mg == 2000 and heavy.capped
    light = dosing.compute(pza, 40 * 365, 60)
    assert light.per_day_mg == 1500 and not light.capped
    ceiling = shipped_kb.statements["tb-adult-pyrazinamide-bts-ceiling"]
    assert ceiling.id in reg.statements and ceiling.status == "verified"
    assert "2.0 g" in ceiling.clinician


def test_adult_tb_meningitis_ethambutol_is_capped_at_1200mg(shipped_kb: KnowledgeBase) -> None:
    """15 mg/kg would give a 100 kg adult 1500 mg; the MSF monograph caps ethambutol at 1200 mg."""
    reg = shipped_kb.regimens["tbm-regimen-adult"]
    emb = _band(reg, "ethambutol")
    heavy = dosing.compute(emb, 40 * 365, 100)
    assert heavy.per_day_mg == 1200 and heavy.capped
    light = dosing.compute(emb, 40 * 365, 70)
    assert light.per_day_mg == 1050 and not light.capped
    doses = shipped_kb.statements["tb-adult-pyrazinamide-ethambutol-doses"]
    assert doses.id in reg.statements and doses.status == "verified"
    assert "1200 mg" in doses.clinician and "2 g" in doses.clinician


def test_it_trastuzumab_schedule_is_the_trial_schedule(shipped_kb: KnowledgeBase) -> None:
    """80 mg per dose; twice weekly for 4 weeks, weekly for 4 weeks, then every 2 weeks."""
    reg = shipped_kb.regimens["it-trastuzumab"]
    assert [b.amount for b in reg.bands] == [80]
    phases = [(p.times_per_week, p.weeks, p.every_days) for p in reg.schedule]
    assert phases == [(2, 4, None), (1, 4, None), (None, None, 14)]
    assert "it-trastuzumab-schedule" in reg.statements
    assert all(shipped_kb.statements[s].status == "verified" for s in reg.statements)
