"""Antithrombotic timing before a planned LP, and when to restart after it.

Which drugs belong to which class comes from regimen records ``lp-hold-<class>`` (drug lists with
their cited statements); the hold and restart intervals are site policy ``lp-hold-hours-<class>`` and
``lp-restart-hours-<class>``. A class with a site policy ``<class>-prophylactic-max-mg-per-day``
(LMWH, fondaparinux) is split into prophylactic and treatment dose by the recorded daily dose against
that ceiling; a dose that cannot be classed counts as a treatment dose and says so. A class with no
hold interval in the policy (treatment-dose fondaparinux: LP to be avoided) is *unknown*, with the
class regimen's notes; so is a drug with no recorded dose time. Nothing here is ever clear by default.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from typing import Literal

from leptoguide.assessment import AntithromboticTiming, DrugTiming
from leptoguide.case import MedicationEntry
from leptoguide.engine.facts import Context, Facts, FactValue, aware, hours_between, iso

PREFIX = "lp-hold-"


def _classes(ctx: Context) -> dict[str, tuple[str, list[str], str | None]]:
    """drug concept -> (class, statements, notes) from the lp-hold-* regimens."""
    out: dict[str, tuple[str, list[str], str | None]] = {}
    for rid in sorted(ctx.kb.regimens):
        if rid.startswith(PREFIX):
            reg = ctx.kb.regimens[rid]
            for drug in reg.drugs:
                out.setdefault(drug, (rid.removeprefix(PREFIX), list(reg.statements), reg.notes))
    return out


def _dose_class(
    m: MedicationEntry, ceiling: float, per_day: float | None, weight: float | None
) -> tuple[str, str]:
    """Prophylactic or treatment dose (LMWH, fondaparinux) from the dose and its frequency
    (``per_day``: the record's own, else the order's). A dose that cannot be classed is counted as
    a treatment dose (the longer hold, or none) and the reason says the class is uncertain."""
    unit = (m.dose_unit or "").strip().lower()
    # the reader already took the dose from a coded product's strength (m.dose_source) or said
    # why it could not (m.dose_unknown); a case file's free text is read here
    strength = _strength_mg(m.text) if m.dose is None and m.dose_unknown is None else None
    if strength is not None:  # a single-strength product (e.g. a prefilled syringe): one unit
        m = dataclasses.replace(m, dose=strength, dose_unit="mg")
        unit = "mg"
    if m.dose is None:
        if m.dose_unknown:
            return (
                "treatment",
                f"class uncertain: dose unknown ({m.dose_unknown}); counted as a treatment dose",
            )
        return "treatment", "class uncertain: dose not recorded; counted as a treatment dose"
    if unit in ("mg/kg",):
        return "treatment", f"{m.dose:g} mg/kg is a weight-based (treatment) dose"
    if unit != "mg":
        return (
            "treatment",
            f"class uncertain: dose in {m.dose_unit or 'no unit'}; counted as a treatment dose",
        )
    per_kg = f" ({m.dose / weight:.2g} mg/kg)" if weight else ""
    if m.dose_source:
        per_kg += f" ({m.dose_source})"
    elif strength is not None:
        per_kg += " (dose taken from the product strength)"
    if per_day is None:
        if m.dose > ceiling:
            return "treatment", f"{m.dose:g} mg{per_kg} per dose > {ceiling:g} mg/day"
        return (
            "treatment",
            f"class uncertain: {m.dose:g} mg per dose with no frequency on any record "
            f"(prophylactic once daily, treatment if more often); counted as a treatment dose",
        )
    daily = m.dose * per_day
    if daily <= ceiling:
        src = f" ({m.dose_source})" if m.dose_source else ""
        return (
            "prophylactic",
            f"{m.dose:g} mg{src} x {per_day:g}/day = {daily:g} mg/day <= {ceiling:g}",
        )
    return "treatment", f"{m.dose:g} mg{per_kg} x {per_day:g}/day = {daily:g} mg/day > {ceiling:g}"


def _strength_mg(text: str | None) -> float | None:
    """The one mg strength named in a product text ('enoxaparin 40 MG in 0.4 ML Prefilled
    Syringe'), else None (no strength, or several)."""
    found = {float(x) for x in re.findall(r"(\d+(?:\.\d+)?)\s*mg\b(?!\s*/\s*kg)", text or "", re.I)}
    return found.pop() if len(found) == 1 else None


STILL_TAKEN_GAP = "still-taken-dosing-interval-hours"
"""Site policy: the dosing interval assumed for a drug still being taken, frequency not recorded."""


def still_taken(m: MedicationEntry) -> bool:
    """A statement of a drug still being taken (status active) with one recorded time, no open
    period, and no input naming that time as the last dose taken."""
    return (
        not m.last_dose_stated
        and m.kind == "statement"
        and m.status == "active"
        and not m.ongoing
        and m.last_time is not None
    )


def active_gap_hours(m: MedicationEntry, default_gap: float | None) -> float | None:
    """For a drug still being taken (:func:`still_taken`): the longest gap between doses (24 h /
    doses a day; with no frequency recorded, the site policy ``default_gap``, and 0 when the
    policy has none, so that no recorded time counts as the last dose). A recorded time older
    than that is not the last dose. None for every other record."""
    if not still_taken(m):
        return None
    per_day = m.frequency_per_day
    if per_day and per_day >= 1:
        return 24.0 / per_day
    return default_gap if default_gap is not None else 0.0


def _policy(ctx: Context, name: str) -> float | None:
    return float(ctx.policy.get(name)) if name in ctx.policy.values else None


def assess_drugs(ctx: Context) -> AntithromboticTiming:
    classes = _classes(ctx)
    lp_time = ctx.at
    for p in ctx.case.procedures:
        if p.concept == "lumbar-puncture" and p.kind == "request" and p.time is not None:
            t = aware(p.time)
            if t is not None and t > lp_time:
                lp_time = t
    weight = next(
        (
            float(o.value)
            for o in sorted(ctx.case.observations, key=lambda o: str(o.time), reverse=True)
            if o.concept == "body-weight"
            and isinstance(o.value, (int, float))
            and (o.unit or "kg") == "kg"
        ),
        None,
    )
    entries: list[DrugTiming] = []
    policies: set[str] = set()
    statements: set[str] = set()
    # One entry per drug: an order and its administrations are one exposure. The class (and so
    # the hold) is the most conservative any record gives; the last dose is the latest recorded.
    per_drug: dict[str, list[MedicationEntry]] = {}
    default_gap = _policy(ctx, STILL_TAKEN_GAP)
    for m in sorted(ctx.case.medications, key=lambda m: (m.concept, m.reference or "")):
        if m.concept not in classes or m.status in ("entered-in-error", "not-done", "cancelled"):
            continue
        per_drug.setdefault(m.concept, []).append(m)
    for drug, meds in per_drug.items():
        base, stmts, class_notes = classes[drug]
        statements.update(stmts)
        ceiling_name = f"{base}-prophylactic-max-mg-per-day"
        ceiling = _policy(ctx, ceiling_name)
        options: list[tuple[float, bool, str, str | None]] = []  # (hold, daily known, class, why)
        # the order's frequency stands for administrations recorded without one
        ordered = [x.frequency_per_day for x in meds if x.frequency_per_day is not None]
        order_freq = next(
            (
                x.frequency_per_day
                for x in meds
                if x.kind != "administration" and x.frequency_per_day
            ),
            ordered[0] if ordered else None,
        )
        for m in meds:
            cls, why = base, None
            if ceiling is not None:
                freq = m.frequency_per_day if m.frequency_per_day is not None else order_freq
                dose_class, why = _dose_class(m, ceiling, freq, weight)
                if m.frequency_per_day is None and freq is not None:
                    why += " (frequency from the order)"
                cls = f"{base}-{dose_class}"
                policies.add(ceiling_name)
            hold_m = _policy(ctx, f"lp-hold-hours-{cls}")
            hold_key = hold_m if hold_m is not None else float("inf")
            options.append((hold_key, m.frequency_per_day is not None or not ordered, cls, why))
        _, _, cls, why = max(options, key=lambda o: (o[0], o[1], o[2]))
        note_parts: list[str] = [why] if why else []
        hold_name, restart_name = f"lp-hold-hours-{cls}", f"lp-restart-hours-{cls}"
        hold, restart = _policy(ctx, hold_name), _policy(ctx, restart_name)
        policies.update(n for n in (hold_name, restart_name) if n in ctx.policy.values)
        last: dt.datetime | None = None
        last_ref: str | None = None
        # a dose time written as a date only or without a time zone is a span, not an instant:
        # the last dose lies between ``lo`` and ``hi`` (the latest it can be, never after now)
        lo: dt.datetime | None = None
        hi: dt.datetime | None = None
        imprecise: tuple[str, str | None] | None = None
        for m in meds:
            recorded: list[tuple[dt.datetime | None, tuple[float, float]]] = [
                (aware(t), m.time_span) for t in (*m.times, m.last_time) if t is not None
            ]
            gap = active_gap_hours(m, default_gap)
            if gap is not None and not m.frequency_per_day and default_gap is not None:
                policies.add(STILL_TAKEN_GAP)
            if gap is not None and any(
                t is not None and hours_between(t, ctx.at) > gap for t, _ in recorded
            ):
                # still being taken, and the time recorded is older than one dosing interval:
                # doses were taken since, or it is when the drug was started or listed
                recorded = []
                note_parts.append(
                    f"{m.reference or 'a statement'} says it is still being taken, and its time "
                    f"is more than {gap:g} h ago: the last dose is not known"
                )
            if m.ongoing:  # a running infusion: exposure is now
                recorded.append((ctx.at, (0.0, 0.0)))
            for t, (before, after) in recorded:
                # a time without a zone whose UTC reading is after now may still be a past dose
                # (a site ahead of UTC): it counts while the earliest it can be is not after now
                if t is None or t - dt.timedelta(hours=before) > ctx.at:
                    continue
                early, late = t - dt.timedelta(hours=before), t + dt.timedelta(hours=after)
                t = min(t, ctx.at)
                if last is None or t > last:
                    last, last_ref = t, m.reference
                lo = early if lo is None or early > lo else lo
                late = min(late, ctx.at)
                hi = late if hi is None or late > hi else hi
                if (before or after) and m.time_imprecise and imprecise is None:
                    imprecise = (m.time_imprecise, m.reference)
        for m in meds:  # dose times read in the site time zone (engine.zones)
            if m.time_zone_read and m.time_span == (0.0, 0.0):
                note_parts.append(
                    f"the dose time ({m.reference or 'a record'}) had no zone; "
                    f"read as {m.time_zone_read}"
                )
        chosen = next((m for m in meds if m.reference == last_ref), meds[0])
        state: Literal["hold", "clear", "unknown"]
        since: float | None = None
        earliest: str | None = None
        if hold is None:
            state = "unknown"
            note_parts.append(class_notes or f"no site policy {hold_name}")
        elif last is None:
            state = "unknown"
            note_parts.append("time of the last dose not recorded")
        else:
            elapsed = hours_between(last, lp_time)
            since = round(elapsed, 1)
            earliest = iso(last + dt.timedelta(hours=hold))
            state = "hold" if elapsed < hold else "clear"
            if imprecise is not None and lo is not None and hi is not None:
                shortest, longest = hours_between(hi, lp_time), hours_between(lo, lp_time)
                earliest = iso(hi + dt.timedelta(hours=hold))
                how, ref = imprecise
                written = f"the dose time ({ref}) is written with {how}" if ref else how
                if how == "no time zone":
                    written += " (time had no zone; no site time zone is set, so it may be any time from UTC-12 to UTC+14)"
                if shortest >= hold:
                    state = "clear"
                    note_parts.append(f"{written}; the hold is met even from the latest it can be")
                elif longest < hold:
                    state = "hold"
                    note_parts.append(f"{written}; counted from the latest it can be")
                else:
                    state = "unknown"
                    note_parts.append(
                        f"{written}: between {shortest:.0f} and {longest:.0f} h before the LP, "
                        f"so the {hold:g} h hold may not be met; confirm the time it was given"
                    )
            if any(m.ongoing for m in meds):
                state = "hold"
                note_parts.append(
                    "running now (infusion in progress or open period): the hold starts when "
                    "it is stopped"
                )
            unknown_freq = [m for m in meds if still_taken(m) and not m.frequency_per_day]
            if state == "clear" and unknown_freq:
                # still being taken, no frequency: a dose may have been taken since the time
                # recorded, so the hold is never shown as met from it
                state = "unknown"
                policies.add(STILL_TAKEN_GAP)
                note_parts.append(
                    f"{unknown_freq[0].reference or 'a statement'} says it is still being taken "
                    "and gives no frequency: a dose may have been taken since the time recorded; "
                    "confirm the time of the last dose"
                )
            if state == "clear" and any(m.status == "active" for m in meds):
                note_parts.append("no further dose before the LP")
        entries.append(
            DrugTiming(
                drug=drug,
                drug_class=cls,
                dose=chosen.dose,
                dose_unit=chosen.dose_unit,
                last_dose=iso(last),
                hold_hours=hold,
                restart_hours=restart,
                reference=chosen.reference,
                references=[m.reference for m in meds if m.reference],
                lp_time=iso(lp_time),
                status=state,
                hours_since_last_dose=since,
                earliest_lp=earliest,
                restart_after_lp=f"{restart:g} h" if restart is not None else None,
                note="; ".join(note_parts) or None,
            )
        )
    status: Literal["none", "hold", "clear", "unknown"]
    if not entries:
        status = "none"
    elif any(e.status == "hold" for e in entries):
        status = "hold"
    elif any(e.status == "unknown" for e in entries):
        status = "unknown"
    else:
        status = "clear"
    return AntithromboticTiming(
        status=status, drugs=entries, policies=sorted(policies), statements=sorted(statements)
    )


def derive(ctx: Context, facts: Facts) -> None:
    result = assess_drugs(ctx)
    refs = tuple(r for e in result.drugs for r in e.references)
    ref = refs[0] if refs else None
    facts.set(
        FactValue("lp-antithrombotic-status", "ok", result.status, reference=ref, references=refs)
    )
    facts.set(FactValue("lp-antithrombotics", "ok", result, reference=ref, references=refs))
