"""Dose maths over regimen records: pick the age band, apply per-kg and per-day rules and caps.

Everything numeric comes from the regimen (``bands``: per kg, per day, maxima, age bands,
intervals). The result states each step, so a clinician can check the arithmetic.
"""

from __future__ import annotations

import dataclasses

from leptoguide.engine.facts import Context, Facts, FactValue, missing
from leptoguide.engine.types import DoseCalculation, FactData, RegimenChoice, RegimenOption
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.models import DoseBand, Regimen

LISTERIA_SUFFIX = "-listeria"


def band_for_age(regimen: Regimen, age_days: int | None) -> DoseBand | None:
    """The first band whose age range holds ``age_days`` (a band without limits holds all)."""
    for band in regimen.bands:
        if age_days is None:
            if band.age_min_days is None and band.age_max_days is None:
                return band
            continue
        if band.age_min_days is not None and age_days < band.age_min_days:
            continue
        if band.age_max_days is not None and age_days > band.age_max_days:
            continue
        return band
    return None


def _fmt(mg: float) -> str:
    if mg >= 1000 and (mg / 1000) == round(mg / 1000, 2):
        return f"{mg / 1000:g} g"
    if mg >= 100:
        return f"{mg:.0f} mg"
    # a tenth of a milligram is kept below 100 mg: 4 x 2.7 mg is 10.8 mg a day, not 11
    return f"{round(mg, 1):g} mg" if mg >= 10 else f"{mg:.3g} mg"


def every(hours: float) -> str:
    """'every 12 h' or, from two days, 'every 21 days'."""
    if hours >= 48 and hours % 24 == 0:
        return f"every {hours / 24:g} days"
    return f"every {hours:g} h"


def _mg(amount: float, unit: str) -> float | None:
    u = unit.strip()
    if u.startswith("mg"):
        return amount
    if u.startswith("g"):
        return amount * 1000
    return None


def compute(regimen: Regimen, age_days: int | None, weight_kg: float | None) -> DoseCalculation:
    """Dose for one patient: band, per-dose, interval, per-day, first dose, caps applied, steps."""
    band = band_for_age(regimen, age_days)
    head = DoseCalculation(regimen=regimen.id, title=regimen.title, status=regimen.status)
    if band is None:
        error = "age not recorded" if age_days is None else "no age band fits this patient"
        return dataclasses.replace(head, error=error)
    head = dataclasses.replace(head, band=band.label)
    unit = band.unit or "mg"
    steps: list[str] = []
    per_kg = band.basis.startswith("per-kg")
    if per_kg and weight_kg is None:
        return dataclasses.replace(head, error="body weight not recorded (dose is per kg)")
    if band.amount is None:
        return dataclasses.replace(head, error="the regimen gives no amount for this band")
    interval = band.interval_hours
    doses_per_day = 24 / interval if interval else None
    per_dose: float | None = None
    per_day: float | None = None
    capped = False
    amount = band.amount
    if band.basis == "per-kg-per-day":
        assert weight_kg is not None
        per_day = amount * weight_kg
        steps.append(f"{amount:g} {unit}/kg/day x {weight_kg:g} kg = {per_day:g} {unit}/day")
    elif band.basis == "per-kg-per-dose":
        assert weight_kg is not None
        per_dose = amount * weight_kg
        steps.append(f"{amount:g} {unit}/kg x {weight_kg:g} kg = {per_dose:g} {unit} per dose")
    elif band.basis == "per-day":
        per_day = amount
    else:
        per_dose = amount
    if per_day is not None and band.max_per_day is not None:
        cap = _mg(band.max_per_day.amount, band.max_per_day.unit)
        if cap is not None and per_day > cap:
            steps.append(
                f"capped at the maximum {band.max_per_day.amount:g} {band.max_per_day.unit}/day"
            )
            per_day = cap
            capped = True
    if per_day is not None and doses_per_day:
        per_dose = per_day / doses_per_day
    if per_dose is not None and per_day is None and doses_per_day:
        per_day = per_dose * doses_per_day
    if per_dose is not None and band.max_per_dose is not None:
        cap = _mg(band.max_per_dose.amount, band.max_per_dose.unit)
        if cap is not None and per_dose > cap:
            steps.append(
                f"capped at {band.max_per_dose.amount:g} {band.max_per_dose.unit} per dose"
            )
            per_dose = cap
            capped = True
            if doses_per_day:
                per_day = per_dose * doses_per_day
    if per_day is not None and band.max_per_day is not None and per_dose is not None:
        cap = _mg(band.max_per_day.amount, band.max_per_day.unit)
        if cap is not None and doses_per_day and per_dose * doses_per_day > cap + 1e-9:
            per_dose = cap / doses_per_day
            per_day = cap
            capped = True
    first_dose: float | None = None
    if band.first_dose is not None:
        first = band.first_dose.amount * (weight_kg if per_kg and weight_kg else 1.0)
        if band.max_per_dose is not None:
            cap = _mg(band.max_per_dose.amount, band.max_per_dose.unit)
            if cap is not None:
                first = min(first, cap)
        first_dose = round(first, 1)
    parts = []
    if per_dose is not None:
        parts.append(_fmt(per_dose))
    if interval:
        parts.append(every(interval))
    if per_day is not None and (interval is None or interval <= 24):
        parts.append(f"({_fmt(per_day)}/day)")
    if first_dose is not None:
        parts.append(f"; first dose {_fmt(first_dose)}")
    return dataclasses.replace(
        head,
        per_dose_mg=round(per_dose, 1) if per_dose is not None else None,
        interval_hours=interval,
        per_day_mg=round(per_day, 1) if per_day is not None else None,
        first_dose_mg=first_dose,
        weight_kg=weight_kg,
        capped=capped,
        steps=tuple(steps),
        text=" ".join(parts),
    )


def select_by_age(ctx: Context, prefix: str, age_days: int | None) -> list[str]:
    """Regimen ids with ``prefix`` whose bands cover ``age_days`` (variants excluded)."""
    out = []
    for rid in sorted(ctx.kb.regimens):
        if not rid.startswith(prefix) or rid.endswith(LISTERIA_SUFFIX):
            continue
        if band_for_age(ctx.kb.regimens[rid], age_days) is not None:
            out.append(rid)
    return out


def derive(ctx: Context, facts: Facts) -> None:
    age = facts.get("age-days")
    years = facts.get("age-years")
    ref = age.reference
    if age.number is None:
        facts.set(missing("empiric-regimen", note="age not recorded"))
        return
    age_days = int(age.number)
    candidates = select_by_age(ctx, "empiric-bm-", age_days)
    conds = facts.get("conditions").codes
    listeria_min = float(ctx.policy.get("listeria-cover-age-min-years"))
    listeria_id = next(
        (
            r
            for r in sorted(ctx.kb.regimens)
            if r.startswith("empiric-bm-") and r.endswith(LISTERIA_SUFFIX)
        ),
        None,
    )
    chosen: str | None = candidates[0] if candidates else None
    why = f"age {years.value} years" if years.usable else "age"
    older = years.number is not None and years.number > listeria_min
    if (
        listeria_id
        and band_for_age(ctx.kb.regimens[listeria_id], age_days) is not None
        and (older or "immunocompromise" in conds)
    ):
        chosen = listeria_id
        why += (
            f" > {listeria_min:g} (policy listeria-cover-age-min-years)"
            if older
            else "; immunocompromised"
        )
    facts.set(
        FactValue(
            "empiric-regimen", "ok", chosen, reference=ref, references=age.references, note=why
        )
        if chosen
        else missing("empiric-regimen", note="no regimen for this age")
    )


def _names(kb: KnowledgeBase, ids: list[str]) -> str:
    return " or ".join(kb.concepts[c].display if c in kb.concepts else c for c in ids)


def population_fit(
    kb: KnowledgeBase,
    regimen: Regimen,
    age_days: int | None,
    conditions: set[str],
    crcl: float | None,
) -> tuple[bool | None, str]:
    """Does the patient belong to the regimen's population? (True, ''), (False, why) or
    (None, what is unknown). Age comes from the population limits, else from the dose bands."""
    pop = regimen.population
    label = pop.label if pop else regimen.title
    lo = pop.age_min_days if pop else None
    hi = pop.age_max_days if pop else None
    if lo is not None or hi is not None:
        if age_days is None:
            return None, f"for {label}; age not recorded"
        if (lo is not None and age_days < lo) or (hi is not None and age_days > hi):
            return False, f"for {label}"
    elif any(b.age_min_days is not None or b.age_max_days is not None for b in regimen.bands):
        if age_days is None:
            return None, f"for {label}; age not recorded"
        if band_for_age(regimen, age_days) is None:
            return False, f"for {label}"
    if pop is None:
        return True, ""
    if pop.requires_any and not set(pop.requires_any) & conditions:
        return False, f"for {label}; {_names(kb, pop.requires_any)} not recorded"
    hits = [c for c in pop.excludes if c in conditions]
    if hits:
        return False, f"for {label}; not with {_names(kb, hits)}"
    lo_c, hi_c = pop.creatinine_clearance_min, pop.creatinine_clearance_max
    if lo_c is not None or hi_c is not None:
        if crcl is None:
            if hi_c is None:  # only a lower limit: the usual dose unless renal failure is recorded
                return True, ""
            return None, f"for {label}; creatinine clearance not recorded"
        if (lo_c is not None and crcl < lo_c) or (hi_c is not None and crcl > hi_c):
            return False, f"for {label}; creatinine clearance {crcl:g} mL/min"
    return True, ""


def patient_context(facts: Facts) -> tuple[int | None, set[str], float | None]:
    age = facts.get("age-days").number
    return (
        int(age) if age is not None else None,
        set(facts.get("conditions").codes),
        facts.get("creatinine-clearance").number,
    )


def derive_selection(ctx: Context, facts: Facts) -> None:
    """Facts ``derived_by: regimen-selection``: the regimens of a group that fit the patient
    (a list fact: their ids) and, for an object fact, also the ones for another population."""
    age_days, conditions, crcl = patient_context(facts)
    refs = tuple(
        r
        for fid in ("age-days", "conditions", "creatinine-clearance")
        for r in facts.get(fid).references
    )
    for fact in sorted(ctx.kb.facts.values(), key=lambda f: f.id):
        if fact.derived_by != "regimen-selection" or not fact.regimen_group:
            continue
        matching: list[str] = []
        other: list[RegimenOption] = []
        unknown: list[RegimenOption] = []
        for rid in sorted(ctx.kb.regimens):
            reg = ctx.kb.regimens[rid]
            if reg.group != fact.regimen_group:
                continue
            fit, why = population_fit(ctx.kb, reg, age_days, conditions, crcl)
            item = RegimenOption(regimen=rid, title=reg.title, why=why)
            if fit is True:
                matching.append(rid)
            elif fit is False:
                other.append(item)
            else:
                unknown.append(item)
        value: FactData = (
            matching
            if fact.type == "list"
            else RegimenChoice(matching=matching, other=other, unknown=unknown)
        )
        facts.set(
            FactValue(fact.id, "ok", value, reference=refs[0] if refs else None, references=refs)
        )
