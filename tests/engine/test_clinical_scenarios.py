"""Clinical scenarios for issue-level safety behaviour: each asserts the exact finding, severity and
citation (intrathecal never-events and doses, regimen population, NCCN risk on sparse charts,
time-aware facts, LMWH dose class)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from leptoguide.assessment import Assessment, Finding
from leptoguide.case import Case, ConditionEntry, MedicationEntry, Observed, ProcedureEntry
from leptoguide.engine import assess
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.policy import Policy, load_policy
from leptoguide.render.ics import render_ics

AT = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def policy(shipped_kb: KnowledgeBase) -> Policy:
    return load_policy(shipped_kb, None)


def born(years: float = 0, days: int = 0) -> dt.date:
    return (AT - dt.timedelta(days=round(years * 365.25) + days)).date()


def obs(concept: str, value: Any, unit: str | None = None, hours_ago: float = 2) -> Observed:
    return Observed(
        concept, value, unit, AT - dt.timedelta(hours=hours_ago), f"Observation/{concept}"
    )


def cond(concept: str) -> ConditionEntry:
    return ConditionEntry(concept, f"Condition/{concept}")


def it_order(drug: str, dose: float | None, unit: str | None = "mg") -> MedicationEntry:
    return MedicationEntry(
        drug,
        "request",
        "active",
        dose=dose,
        dose_unit=unit,
        route="intrathecal",
        reference=f"MedicationRequest/it-{drug}",
        start=AT + dt.timedelta(days=1),
    )


def run(shipped_kb: KnowledgeBase, policy: Policy, case: Case) -> Assessment:
    return assess(case, kb=shipped_kb, policy=policy, at=AT)


def finding(a: Assessment, rule: str) -> Finding:
    hits = [f for f in a.findings if f.rule == rule]
    assert hits, f"{rule} did not fire; fired: {[f.rule for f in a.findings]}"
    return hits[0]


def fired(a: Assessment) -> set[str]:
    return {f.rule for f in a.findings}


def cited(f: Finding) -> set[str]:
    return {c.statement for c in f.citations}


def lm_patient(**kw: Any) -> Case:
    base: dict[str, Any] = {
        "origin": "case-file",
        "patient_reference": "Patient/p",
        "birth_date": born(58),
        "conditions": [cond("breast-cancer"), cond("leptomeningeal-metastasis")],
        "observations": [obs("body-weight", 70, "kg")],
    }
    base.update(kw)
    return Case(**base)


# 1. Intrathecal safety --------------------------------------------------------------------------


def test_it_methotrexate_120_mg_is_a_critical_with_cancel_and_no_calendar(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    a = run(shipped_kb, policy, lm_patient(medications=[it_order("methotrexate", 120)]))
    f = finding(a, "it-dose-out-of-range")
    assert f.severity == "critical"
    assert "120 mg exceeds the 15 mg maximum" in f.summary
    assert f.suggestion == "Cancel the intrathecal order and re-check the dose"
    assert "it-mtx-dose-trials" in cited(f)
    assert any(c.source == "sno-asco-lm-2024" for c in f.citations)
    assert "it-mtx-schedule" not in fired(a)
    assert a.schedules == []
    assert b"VEVENT" not in render_ics(a)


def test_it_methotrexate_12_mg_adult_keeps_its_calendar(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    a = run(shipped_kb, policy, lm_patient(medications=[it_order("methotrexate", 12)]))
    assert {"it-dose-out-of-range", "it-dose-unchecked", "it-never-intrathecal-drug"}.isdisjoint(
        fired(a)
    )
    assert a.schedules and a.schedules[0].regimen == "it-methotrexate"
    assert b"VEVENT" in render_ics(a)


def test_it_methotrexate_child_uses_the_age_band(shipped_kb: KnowledgeBase, policy: Policy) -> None:
    child = lm_patient(birth_date=born(2, 30), medications=[it_order("methotrexate", 12)])
    a = run(shipped_kb, policy, child)
    f = finding(a, "it-dose-out-of-range")
    assert "12 mg exceeds the 10 mg maximum" in f.summary
    assert "it-mtx-paediatric-age-doses" in cited(f)
    # the paediatric range is recalled from the label (draft): shown as a warning, not a critical,
    # and the calendar is still withheld
    assert f.severity == "warning"
    assert f.detail.startswith("Shown as a warning, not a critical alert")
    assert a.schedules == []


def test_it_vincristine_is_a_never_event(shipped_kb: KnowledgeBase, policy: Policy) -> None:
    case = lm_patient(
        conditions=[cond("lymphoma")],
        medications=[it_order("methotrexate", 12), it_order("vincristine", 2)],
    )
    a = run(shipped_kb, policy, case)
    f = finding(a, "it-never-intrathecal-drug")
    assert f.severity == "critical"
    assert f.summary.startswith("vincristine ordered into the CSF")
    assert f.suggestion == "Cancel the intrathecal order"
    assert {"never-intrathecal-vinca-alkaloids", "never-intrathecal-other-agents"} <= cited(f)
    assert any(c.source == "ismp-gtmsbp-vinca-minibag-2020" for c in f.citations)
    assert a.schedules == []
    assert "it-mtx-schedule" not in fired(a)


def test_intravenous_vincristine_is_not_flagged(shipped_kb: KnowledgeBase, policy: Policy) -> None:
    iv = MedicationEntry("vincristine", "request", dose=2, dose_unit="mg", route="intravenous")
    a = run(shipped_kb, policy, lm_patient(conditions=[cond("lymphoma")], medications=[iv]))
    assert "it-never-intrathecal-drug" not in fired(a)


def test_it_dose_without_a_unit_is_unchecked_never_safe(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    a = run(shipped_kb, policy, lm_patient(medications=[it_order("methotrexate", 12, unit=None)]))
    f = finding(a, "it-dose-unchecked")
    assert f.severity == "warning"
    assert "dose in no unit" in f.summary


def test_flow_block_withholds_the_calendar(shipped_kb: KnowledgeBase, policy: Policy) -> None:
    case = lm_patient(
        medications=[it_order("methotrexate", 12)],
        observations=[obs("csf-flow-study", "blocked")],
    )
    a = run(shipped_kb, policy, case)
    assert finding(a, "it-chemo-csf-flow-block").severity == "critical"
    assert a.schedules == []


# 2. Right population --------------------------------------------------------------------------


def meningitis(years: float = 0, days: int = 0, *extra: str, weight: float = 70) -> Case:
    return Case(
        origin="case-file",
        patient_reference="Patient/m",
        birth_date=born(years, days),
        conditions=[cond("bacterial-meningitis"), *(cond(c) for c in extra)],
        observations=[obs("body-weight", weight, "kg")],
    )


def test_12_day_old_gets_no_dexamethasone(shipped_kb: KnowledgeBase, policy: Policy) -> None:
    a = run(shipped_kb, policy, meningitis(0, 12, weight=3.4))
    assert "dexamethasone-bacterial-meningitis" not in fired(a)
    f = finding(a, "bacterial-meningitis-empiric-regimen")
    assert f.summary.startswith("Empiric therapy under 1 month")
    assert "Adjunctive dexamethasone is for another population" in f.detail
    assert "dexamethasone-bm-not-neonates" in cited(f)


def test_child_and_adult_still_get_dexamethasone(shipped_kb: KnowledgeBase, policy: Policy) -> None:
    child = finding(
        run(shipped_kb, policy, meningitis(6, weight=20)), "dexamethasone-bacterial-meningitis"
    )
    assert "3 mg every 6 h" in child.summary
    adult = finding(run(shipped_kb, policy, meningitis(40)), "dexamethasone-bacterial-meningitis")
    assert "10 mg every 6 h" in adult.summary


def test_immunocompromised_infant_gets_listeria_cover(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    """CPS 2014, Table 1: add ampicillin for an immunocompromised child older than 1 month."""
    infant = run(shipped_kb, policy, meningitis(0, 200, "immunocompromise", weight=7))
    f = finding(infant, "bacterial-meningitis-empiric-regimen")
    assert f.summary.startswith("Empiric therapy with Listeria cover"), f.summary
    well = run(shipped_kb, policy, meningitis(0, 200, weight=7))
    summary = finding(well, "bacterial-meningitis-empiric-regimen").summary
    assert summary.startswith("Empiric therapy from 1 month"), summary
    reg = shipped_kb.regimens["empiric-bm-listeria"]
    assert "empiric-children-cps-2014" in reg.statements


def test_vancomycin_in_empiric_therapy_is_site_policy(
    shipped_kb: KnowledgeBase, policy: Policy, tmp_path: Path
) -> None:
    """2019 guideline review, Table 7: IDSA adds vancomycin for every child and adult; ESCMID, EFNS,
    NICE and the UK joint societies only with suspected penicillin resistance or travel."""
    adult = finding(run(shipped_kb, policy, meningitis(40)), "bacterial-meningitis-empiric-regimen")
    assert "vancomycin + a third-generation cephalosporin" in adult.summary
    assert "empiric-vancomycin-if-resistance-europe" in cited(adult)
    site = tmp_path / "eu.yaml"
    site.write_text(
        "policy:\n  id: eu-site\n  values:\n    empiric-vancomycin-routine: false\n",
        encoding="utf-8",
    )
    eu = load_policy(shipped_kb, site)
    a = finding(run(shipped_kb, eu, meningitis(40)), "bacterial-meningitis-empiric-regimen")
    assert a.summary.startswith("A third-generation cephalosporin; add vancomycin if"), a.summary
    old = finding(run(shipped_kb, eu, meningitis(70)), "bacterial-meningitis-empiric-regimen")
    assert old.summary.startswith("A third-generation cephalosporin + ampicillin;"), old.summary
    baby = finding(
        run(shipped_kb, eu, meningitis(0, 60, weight=5)), "bacterial-meningitis-empiric-regimen"
    )
    assert "NICE also adds Listeria cover" in baby.detail
    newborn = run(shipped_kb, eu, meningitis(0, 10, weight=3.5))
    assert "vancomycin" not in finding(newborn, "bacterial-meningitis-empiric-regimen").summary


def csf_case(**pct: float) -> Case:
    observations = [obs("csf-wbc", 200, "/uL"), obs("csf-protein", 2.1, "g/L")]
    observations += [obs(f"csf-{k}-pct", v, "%") for k, v in pct.items()]
    return Case(
        origin="case-file",
        patient_reference="Patient/csf",
        birth_date=born(30),
        observations=observations,
    )


def test_mostly_lymphocytes_is_the_lymphocytic_pattern(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    """CMAJ 2011, Table 2: the predominant cell is the one above 50% of the white cells."""
    lymph = finding(run(shipped_kb, policy, csf_case(lymphocytes=80)), "csf-profile-differential")
    assert "lymphocyte predominance" in lymph.detail
    assert "csf-predominant-cell-50pct" in cited(lymph)
    neut = finding(run(shipped_kb, policy, csf_case(neutrophils=80)), "csf-profile-differential")
    assert "neutrophil predominance" in neut.detail
    half = finding(run(shipped_kb, policy, csf_case(neutrophils=50)), "csf-profile-differential")
    assert "predominance" not in half.detail


def test_intrathecal_cytarabine_gets_no_calendar_and_an_unchecked_dose(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    """No guideline or label schedule for free intrathecal cytarabine in solid-tumour LM was read:
    no dose calendar is built and the dose is reported as unchecked, never as in range."""
    a = run(shipped_kb, policy, lm_patient(medications=[it_order("cytarabine", 50)]))
    assert not [s for s in a.schedules if "cytarabine" in s.regimen]
    assert "it-dose-unchecked" in fired(a)
    assert not any(
        r.route in ("intrathecal", "intraventricular") and "cytarabine" in r.drugs
        for r in shipped_kb.regimens.values()
    )


def crypto(*hosts: str) -> Case:
    return Case(
        origin="case-file",
        patient_reference="Patient/c",
        birth_date=born(54),
        conditions=[cond("cryptococcal-meningitis"), *(cond(h) for h in hosts)],
        observations=[obs("body-weight", 60, "kg")],
    )


def test_transplant_recipient_is_not_offered_the_who_hiv_regimen(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    f = finding(run(shipped_kb, policy, crypto("solid-organ-transplant")), "cryptococcal-induction")
    assert f.severity == "warning"
    assert f.summary.startswith("Cryptococcal meningitis: Organ transplant recipients (IDSA 2010)")
    assert "10 mg/kg" not in f.summary
    assert "For another population, not this patient: People with HIV, WHO preferred" in f.detail
    assert "crypto-idsa-transplant-induction" in cited(f)


def test_hiv_patient_gets_the_who_single_dose_regimen(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    f = finding(run(shipped_kb, policy, crypto("hiv")), "cryptococcal-induction")
    assert f.summary.startswith("Cryptococcal meningitis: People with HIV, WHO preferred induction")
    assert "600 mg" in f.detail  # 10 mg/kg x 60 kg single dose


def test_crypto_without_hiv_or_transplant_says_test_for_hiv(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    f = finding(run(shipped_kb, policy, crypto()), "cryptococcal-induction")
    assert f.summary.startswith("Cryptococcal meningitis: Neither HIV nor transplant (IDSA 2010)")
    assert "test for HIV" in f.detail


def tbm(years: float, weight: float, *extra: str) -> Case:
    return Case(
        origin="case-file",
        patient_reference="Patient/t",
        birth_date=born(years),
        conditions=[cond("tuberculous-meningitis"), *(cond(c) for c in extra)],
        observations=[obs("body-weight", weight, "kg")],
    )


def test_adult_tbm_is_9_to_12_months_with_weight_doses(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    f = finding(run(shipped_kb, policy, tbm(35, 60)), "tb-meningitis-regimen")
    assert "9-12 months" in f.summary
    assert "isoniazid (12 months): 300 mg" in f.detail
    assert "rifampicin (12 months): 600 mg" in f.detail
    assert "tbm-not-six-month-regimen" in cited(f)
    assert "dexamethasone or prednisolone" in f.detail


def test_adult_tbm_with_hiv_names_art_timing(shipped_kb: KnowledgeBase, policy: Policy) -> None:
    f = finding(run(shipped_kb, policy, tbm(35, 60, "hiv")), "tb-meningitis-regimen")
    assert "delaying ART until 4-8 weeks after TB treatment starts may be considered" in f.detail
    assert "tbm-art-timing-hiv-adults" in cited(f)


def test_child_tbm_with_hiv_excludes_the_short_regimen(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    a = run(shipped_kb, policy, tbm(6, 20, "hiv"))
    f = finding(a, "tb-meningitis-regimen")
    assert "2HRZE/10HR (12 months)" in f.summary
    assert "not with HIV infection" in f.detail
    assert "isoniazid (12 months): 200 mg" in f.detail
    child = finding(run(shipped_kb, policy, tbm(6, 20)), "tb-meningitis-regimen")
    assert "6HRZEto" in child.detail
    assert (
        "not this patient: TB meningitis, children and adolescents without HIV" not in child.detail
    )


# 3. NCCN risk on real charts --------------------------------------------------------------------


def lm_chart(*observations: Observed, conditions: tuple[str, ...] = ("breast-cancer",)) -> Case:
    return Case(
        origin="case-file",
        patient_reference="Patient/r",
        birth_date=born(60),
        conditions=[cond(c) for c in conditions],
        observations=[obs("csf-cytology", "positive", hours_ago=48), *observations],
    )


def test_ecog_4_only_is_poor_with_one_feature(shipped_kb: KnowledgeBase, policy: Policy) -> None:
    a = run(shipped_kb, policy, lm_chart(obs("ecog", 4)))
    assert a.risk.group == "poor" and not a.risk.provisional
    f = finding(a, "nccn-single-poor-feature")
    assert f.severity == "info"
    assert f.summary.startswith("One NCCN poor-risk feature (ECOG 4 (no KPS): read as KPS < 60")
    assert "nccn-poor-risk-features" in cited(f)
    assert "supportive-care-poor-risk" not in fired(a)


def test_kps_80_with_nothing_else_is_provisional_good(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    a = run(shipped_kb, policy, lm_chart(obs("karnofsky", 80)))
    assert a.risk.group == "good" and a.risk.provisional
    assert "encephalopathy: not recorded (taken as absent)" in a.risk.assumptions
    f = finding(a, "nccn-risk-group")
    assert f.summary == "NCCN risk group: good (provisional: 4 assumption(s) to confirm)"
    assert {"nccn-good-risk-features", "ecog-kps-nccn-side"} <= cited(f)


def test_ecog_3_stays_unknown(shipped_kb: KnowledgeBase, policy: Policy) -> None:
    a = run(shipped_kb, policy, lm_chart(obs("ecog", 3)))
    assert a.risk.group == "unknown"
    assert "mappings disagree" in a.risk.reasons[0]


def test_sclc_with_few_options_gets_supportive_care_not_the_exception(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    case = lm_chart(
        obs("karnofsky", 40),
        obs("encephalopathy", True),
        obs("systemic-disease", "extensive"),
        obs("systemic-options", "few"),
        conditions=("sclc",),
    )
    a = run(shipped_kb, policy, case)
    f = finding(a, "supportive-care-poor-risk")
    assert f.severity == "warning"
    assert f.summary.startswith("NCCN poor risk (3 poor-risk features)")
    assert "exception is not applied: few systemic treatment options" in f.detail
    assert "nccn-poor-risk-bsc" in cited(f)
    assert "poor-risk-chemosensitive-exception" not in fired(a)


def test_sclc_poor_risk_without_few_options_keeps_the_exception(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    a = run(shipped_kb, policy, lm_chart(obs("karnofsky", 40), conditions=("sclc",)))
    f = finding(a, "poor-risk-chemosensitive-exception")
    assert "nccn-chemosensitive-exception" in cited(f)
    assert "supportive-care-poor-risk" not in fired(a)


# 4. Time-aware facts ----------------------------------------------------------------------------


def test_positive_then_negative_cytology_stays_confirmed(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    case = lm_chart(
        obs("karnofsky", 80),
        obs("csf-cytology", "negative", hours_ago=2),
        obs("mri-lm-pattern", "linear", hours_ago=72),
        conditions=("breast-cancer",),
    )
    a = run(shipped_kb, policy, case)
    assert a.classification.certainty == "confirmed"
    assert "repeat-lp-after-negative-cytology" not in fired(a)
    f = finding(a, "lm-classification")
    cyto = next(i for i in f.inputs if i.fact == "csf-cytology")
    assert cyto.value == "positive"
    assert cyto.note and "a later result (negative" in cyto.note
    assert "eano-classification-confirmed" in cited(f)


def test_negative_then_positive_cytology_is_positive(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    case = lm_chart(obs("csf-cytology", "negative", hours_ago=200))  # positive 48 h ago
    assert run(shipped_kb, policy, case).classification.certainty == "confirmed"


def test_flow_study_uses_the_latest_result(shipped_kb: KnowledgeBase, policy: Policy) -> None:
    case = lm_patient(
        medications=[it_order("methotrexate", 12)],
        observations=[
            obs("csf-flow-study", "blocked", hours_ago=400),
            obs("csf-flow-study", "normal", hours_ago=20),
        ],
    )
    a = run(shipped_kb, policy, case)
    assert "it-chemo-csf-flow-block" not in fired(a)
    assert a.schedules


# 5. LMWH dose class -----------------------------------------------------------------------------


def lp_case(*meds: MedicationEntry) -> Case:
    return Case(
        origin="case-file",
        patient_reference="Patient/lp",
        birth_date=born(70),
        observations=[
            obs("platelets", 210, "10*9/L"),
            obs("inr", 1.0),
            obs("body-weight", 80, "kg"),
        ],
        procedures=[
            ProcedureEntry("lumbar-puncture", "request", "active", AT, "ServiceRequest/lp")
        ],
        medications=list(meds),
    )


def enox(kind: str, dose: float, per_day: float | None, hours_ago: float | None) -> MedicationEntry:
    t = AT - dt.timedelta(hours=hours_ago) if hours_ago is not None else None
    return MedicationEntry(
        "enoxaparin",
        kind,  # type: ignore[arg-type]
        "active" if kind == "request" else "completed",
        dose=dose,
        dose_unit="mg",
        route="subcutaneous",
        frequency_per_day=per_day,
        last_time=t,
        times=(t,) if t else (),
        reference=f"{'MedicationRequest' if kind == 'request' else 'MedicationAdministration'}/e",
    )


def test_prophylactic_enoxaparin_at_14h_order_frequency_wins(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    a = run(
        shipped_kb,
        policy,
        lp_case(enox("request", 40, 1, None), enox("administration", 40, None, 14)),
    )
    assert "lp-anticoagulant-timing" not in fired(a)


def test_enoxaparin_40mg_at_8h_is_a_prophylactic_hold(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    a = run(
        shipped_kb,
        policy,
        lp_case(enox("request", 40, 1, None), enox("administration", 40, None, 8)),
    )
    f = finding(a, "lp-anticoagulant-timing")
    assert f.severity == "critical"
    assert "enoxaparin (lmwh-prophylactic, hold " in f.summary
    assert "40 mg x 1/day = 40 mg/day <= 40" in f.detail
    assert "lp-lmwh-prophylactic-12h" in cited(f)


def test_enoxaparin_without_any_frequency_states_class_uncertain(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    a = run(shipped_kb, policy, lp_case(enox("administration", 40, None, 14)))
    f = finding(a, "lp-anticoagulant-timing")
    assert "enoxaparin (lmwh-treatment, hold " in f.summary
    assert "class uncertain: 40 mg per dose with no frequency" in f.detail


def test_enoxaparin_1mg_per_kg_twice_daily_is_treatment(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    a = run(
        shipped_kb,
        policy,
        lp_case(enox("request", 80, 2, None), enox("administration", 80, None, 14)),
    )
    f = finding(a, "lp-anticoagulant-timing")
    assert "enoxaparin (lmwh-treatment, hold " in f.summary
    assert "80 mg (1 mg/kg) x 2/day = 160 mg/day > 40" in f.detail
    assert "lp-lmwh-treatment-24h" in cited(f)


def fonda(dose: float, per_day: float | None, hours_ago: float) -> MedicationEntry:
    t = AT - dt.timedelta(hours=hours_ago)
    return MedicationEntry(
        "fondaparinux",
        "administration",
        "completed",
        dose=dose,
        dose_unit="mg",
        route="subcutaneous",
        frequency_per_day=per_day,
        last_time=t,
        times=(t,),
        reference="MedicationAdministration/f",
    )


def test_prophylactic_fondaparinux_is_clear_after_36_hours(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    assert "lp-anticoagulant-timing" not in fired(
        run(shipped_kb, policy, lp_case(fonda(2.5, 1, 40)))
    )
    f = finding(run(shipped_kb, policy, lp_case(fonda(2.5, 1, 20))), "lp-anticoagulant-timing")
    assert "fondaparinux (fondaparinux-prophylactic, hold 36 h" in f.summary


@pytest.mark.parametrize(("dose", "per_day"), [(7.5, 1), (2.5, None), (10, 1)])
def test_treatment_or_unclassed_fondaparinux_is_never_clear(
    shipped_kb: KnowledgeBase, policy: Policy, dose: float, per_day: float | None
) -> None:
    """ABN: avoid LP at treatment dose; no interval exists, so even 5 days later it is unknown."""
    f = finding(
        run(shipped_kb, policy, lp_case(fonda(dose, per_day, 120))), "lp-anticoagulant-timing"
    )
    assert "fondaparinux (fondaparinux-treatment, no LP interval: ask haematology)" in f.summary
    assert "ABN advises avoiding LP" in f.detail
    assert "fondaparinux-dose-classes" in cited(f)


# 5b. Neonatal and infant dosing cautions ------------------------------------------------------


def infant(days: int, kg: float, *meds: MedicationEntry) -> Case:
    return Case(
        origin="case-file",
        patient_reference="Patient/infant",
        birth_date=born(days=days),
        conditions=[cond("bacterial-meningitis")],
        observations=[obs("body-weight", kg, "kg")],
        medications=list(meds),
    )


def ceftriaxone_order() -> MedicationEntry:
    return MedicationEntry(
        "ceftriaxone", "request", route="intravenous", reference="MedicationRequest/cro"
    )


@pytest.mark.parametrize("days", [10, 20, 28])
def test_ceftriaxone_in_the_neonatal_period_carries_its_cautions(
    shipped_kb: KnowledgeBase, policy: Policy, days: int
) -> None:
    """Up to 28 days the computed dose says it is not the guideline choice, and the caution
    names the label contraindications and offers cefotaxime (IDSA: not for neonates)."""
    a = run(shipped_kb, policy, infant(days, 3.5, ceftriaxone_order()))
    dose = finding(a, "ceftriaxone-dose")
    assert "neonate: not the guideline choice" in dose.summary
    assert "caution: not the guideline choice under 1 month" in dose.detail
    caution = finding(a, "ceftriaxone-neonate-cautions")
    assert "premature" in caution.summary and "cefotaxime" in caution.summary
    assert {"empiric-neonate", "ceftriaxone-neonate-label-contraindications"} <= cited(caution)


def test_ceftriaxone_from_29_days_is_the_child_dose_without_neonatal_caution(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    a = run(shipped_kb, policy, infant(29, 4, ceftriaxone_order()))
    assert "ceftriaxone-neonate-cautions" not in fired(a)
    dose = finding(a, "ceftriaxone-dose")
    assert "neonate" not in dose.summary
    assert "child (29 days to under 18 years): 400 mg every 24 h" in dose.detail


def test_ceftriaxone_in_an_infant_born_preterm_asks_for_the_postmenstrual_age(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    case = infant(50, 3, ceftriaxone_order())
    case.conditions.append(cond("preterm-birth"))
    f = finding(run(shipped_kb, policy, case), "ceftriaxone-preterm-infant")
    assert "41 weeks postmenstrual age" in f.summary
    assert "ceftriaxone-preterm-infant" not in fired(
        run(shipped_kb, policy, infant(50, 3, ceftriaxone_order()))
    )


def test_dexamethasone_from_1_to_3_months_leads_with_specialist_advice(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    f = finding(run(shipped_kb, policy, infant(60, 5)), "dexamethasone-bacterial-meningitis")
    assert f.summary.startswith("Under 3 months: ask an infection specialist")
    assert "infant 1 to 3 months (caution: ask an infection specialist" in f.detail
    older = finding(run(shipped_kb, policy, infant(120, 6)), "dexamethasone-bacterial-meningitis")
    assert older.summary.startswith("Give dexamethasone")


def test_child_dexamethasone_is_capped_at_the_adult_10mg_dose(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    case = infant(16 * 365, 90)
    f = finding(run(shipped_kb, policy, case), "dexamethasone-bacterial-meningitis")
    assert "10 mg every 6 h" in f.summary
    assert "dexamethasone-child-max-10mg" in cited(f)


# 6. Alert budget --------------------------------------------------------------------------------


def test_headache_in_a_cancer_patient_is_not_lm_context(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    case = Case(
        origin="case-file",
        patient_reference="Patient/h",
        birth_date=born(50),
        conditions=[cond("breast-cancer"), cond("headache")],
        observations=[obs("typical-lm-signs", True)],
    )
    a = run(shipped_kb, policy, case)
    assert a.classification.certainty == "not_applicable"
    assert not {"lm-classification", "nccn-risk-group", "csf-examination-recommended"} & fired(a)


def test_headache_with_an_lp_planned_is_a_suspicion(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    case = Case(
        origin="case-file",
        patient_reference="Patient/h",
        birth_date=born(50),
        conditions=[cond("breast-cancer"), cond("headache")],
        observations=[obs("typical-lm-signs", True), obs("platelets", 200), obs("inr", 1.0)],
        procedures=[
            ProcedureEntry("lumbar-puncture", "request", "active", AT, "ServiceRequest/lp")
        ],
    )
    a = run(shipped_kb, policy, case)
    f = finding(a, "mri-before-lp")
    assert f.severity == "info"  # its evidence is a recalled guideline passage and a digest
    assert "eano-mri-before-lp" in cited(f)


def test_lymphoma_is_not_classified_by_eano_esmo(shipped_kb: KnowledgeBase, policy: Policy) -> None:
    a = run(shipped_kb, policy, lm_chart(obs("karnofsky", 70), conditions=("lymphoma",)))
    assert a.classification.certainty == "not_applicable"
    assert "solid tumours" in a.classification.reasons[0]
    assert "lm-classification" not in fired(a)
    f = finding(a, "eano-not-for-haematological-cancer")
    assert f.severity == "info" and "eano-esmo-2017-scope" in cited(f)


def test_negative_cytology_gives_one_handling_finding(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    case = lm_chart(obs("csf-cytology", "negative", hours_ago=1), obs("karnofsky", 80))
    case.observations = [o for o in case.observations if o.value != "positive"]
    case.conditions.append(cond("leptomeningeal-metastasis"))
    a = run(shipped_kb, policy, case)
    f = finding(a, "repeat-lp-after-negative-cytology")
    assert "eano-csf-volume-processing" in cited(f)
    assert "csf-optimal-handling" not in fired(a)


# 7. Knowledge fixes -----------------------------------------------------------------------------


def test_her2_low_breast_lm_is_offered_tdxd_only(shipped_kb: KnowledgeBase, policy: Policy) -> None:
    case = lm_chart(obs("her2-status", "low"), obs("body-weight", 60, "kg"), obs("karnofsky", 80))
    f = finding(run(shipped_kb, policy, case), "systemic-therapy-by-driver")
    assert "HER2-low" in f.summary
    assert "Trastuzumab deruxtecan (HER2-positive or HER2-low breast LM)" in f.detail
    assert "324 mg" in f.detail  # 5.4 mg/kg x 60 kg
    assert "Tucatinib" not in f.detail
    assert "her2-tdxd-lm" in cited(f)


def test_adult_lp_platelet_finding_cites_the_adult_guideline(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    case = lp_case()
    case.observations = [obs("platelets", 30, "10*9/L"), obs("inr", 1.0)]
    f = finding(run(shipped_kb, policy, case), "lp-platelets-low")
    assert f.severity == "critical"
    assert "lp-platelet-threshold-aabb-adult" in cited(f)
    assert any(c.source == "aabb-platelet-transfusion-2015" for c in f.citations)
    assert "AABB adult platelet transfusion guideline" in f.detail


def test_enoxaparin_dose_inferred_from_the_syringe_strength(
    shipped_kb: KnowledgeBase, policy: Policy
) -> None:
    order = MedicationEntry(
        "enoxaparin",
        "request",
        frequency_per_day=1,
        route="subcutaneous",
        text="enoxaparin 40 MG in 0.4 ML Prefilled Syringe",
        reference="MedicationRequest/e",
    )
    a = run(shipped_kb, policy, lp_case(order, enox("administration", 40, None, 8)))
    f = finding(a, "lp-anticoagulant-timing")
    assert "enoxaparin (lmwh-prophylactic, hold " in f.summary
    a14 = run(shipped_kb, policy, lp_case(order, enox("administration", 40, None, 14)))
    assert "lp-anticoagulant-timing" not in fired(a14)


# --- restarting treatment-dose LMWH after the LP: site policy, never a fixed number


@pytest.mark.parametrize(
    ("values", "atraumatic", "traumatic"),
    [
        ({}, None, None),
        (
            {
                "lp-restart-hours-lmwh-treatment": 6,
                "lp-restart-hours-lmwh-treatment-traumatic": 36,
            },
            6,
            36,
        ),
    ],
)
def test_lmwh_treatment_restart_reads_the_site_policy(
    shipped_kb: KnowledgeBase,
    tmp_path: Any,
    values: dict[str, float],
    atraumatic: float | None,
    traumatic: float | None,
) -> None:
    import yaml

    from leptoguide.intake.casefile import read_casefile

    path = None
    if values:
        path = tmp_path / "site.yaml"
        path.write_text(yaml.safe_dump({"policy": {"id": "st-lmwh-test", "values": values}}))
    pol = load_policy(shipped_kb, path)
    params = shipped_kb.parameters
    atraumatic = atraumatic or float(params["lp-restart-hours-lmwh-treatment"].default)
    traumatic = traumatic or float(params["lp-restart-hours-lmwh-treatment-traumatic"].default)
    # both defaults come from the ABN row the statement cites (4 h; 24 h after a traumatic tap)
    assert params["lp-restart-hours-lmwh-treatment"].statement == "lp-lmwh-treatment-24h"
    assert params["lp-restart-hours-lmwh-treatment-traumatic"].statement == "lp-lmwh-treatment-24h"
    case = read_casefile(
        {
            "date": AT.isoformat(),
            "patient": {"weight_kg": 80},
            "orders": [{"type": "lumbar-puncture"}],
            "labs": [
                {"test": "platelets", "value": 200, "unit": "10*9/L"},
                {"test": "INR", "value": 1.0},
            ],
            "medications": [
                {
                    "drug": "enoxaparin",
                    "dose": 80,
                    "unit": "mg",
                    "frequency": "BID",
                    "last_dose": (AT - dt.timedelta(hours=6)).isoformat(),
                }
            ],
        },
        name="lmwh",
        kb=shipped_kb,
    )
    result = assess(case, kb=shipped_kb, policy=pol, at=AT)
    timing = next(f for f in result.findings if f.rule == "lp-anticoagulant-timing")
    assert (
        f"Treatment-dose LMWH: restart {atraumatic:g} h after the LP, or {traumatic:g} h after "
        "a traumatic tap." in timing.detail
    )
    assert f"restart {atraumatic:.1f} h after the LP" in timing.detail
