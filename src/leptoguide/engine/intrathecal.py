"""Intrathecal order safety: drugs that must never go into the CSF, and doses outside the source range.

Which drugs are never to be given intrathecally is the terminology class ``never-intrathecal``; the
dose ranges are the per-dose bands of regimens whose route is intrathecal or intraventricular (age
bands where the source gives them). A dose above the highest source dose for the patient's age band
is out of range. A dose that cannot be compared (no amount, a unit other than mg, age unknown where
the range depends on it, or no source range for the drug) is reported as unchecked, never as safe.
"""

from __future__ import annotations

from leptoguide.case import MedicationEntry
from leptoguide.engine.classes import members
from leptoguide.engine.dosing import band_for_age
from leptoguide.engine.facts import Context, Facts, FactValue, aware
from leptoguide.engine.orders import IT_ROUTES
from leptoguide.engine.types import ItDrugCheck, ItOrderChecks
from leptoguide.knowledge.models import DoseBand, Regimen

NEVER_CLASS = "never-intrathecal"
_SKIP = {"entered-in-error", "not-done", "cancelled", "stopped", "completed", "revoked"}


def _ranges(ctx: Context, drug: str) -> list[tuple[Regimen, DoseBand]]:
    out = []
    for rid in sorted(ctx.kb.regimens):
        reg = ctx.kb.regimens[rid]
        if reg.route not in IT_ROUTES or drug not in reg.drugs:
            continue
        for band in reg.bands:
            if band.amount is not None and band.basis == "per-dose" and (band.unit or "") == "mg":
                out.append((reg, band))
    return out


def _mg(m: MedicationEntry) -> float | None:
    unit = (m.dose_unit or "").strip().lower()
    if m.dose is None:
        return None
    if unit == "mg":
        return float(m.dose)
    if unit == "g":
        return float(m.dose) * 1000
    if unit in ("ug", "mcg", "µg"):
        return float(m.dose) / 1000
    return None


def _band_statements(reg: Regimen, band: DoseBand) -> list[str]:
    return list(band.statements or reg.statements)


def check_drug(
    ctx: Context, drug: str, meds: list[MedicationEntry], age_days: int | None
) -> ItDrugCheck:
    """One intrathecal drug: its status (never / above / ok / unchecked) and the range used."""
    refs = [m.reference for m in meds if m.reference]
    head = ItDrugCheck(
        drug=drug,
        references=refs,
        reference=refs[0] if refs else None,
        status="unchecked",
        note="",
    )
    if drug in members(ctx.kb, NEVER_CLASS):
        return head.model_copy(
            update={"status": "never", "note": "must never be given into the CSF"}
        )
    doses = [(m, _mg(m)) for m in meds]
    known = [d for _, d in doses if d is not None]
    doses_mg = sorted(set(known))
    ranges = _ranges(ctx, drug)
    if not ranges:
        return head.model_copy(
            update={
                "doses_mg": doses_mg,
                "note": "no intrathecal dose range in the knowledge base",
            }
        )
    fitting: list[tuple[Regimen, DoseBand]] = []
    for reg, band in ranges:
        one = reg.model_copy(update={"bands": [band]})
        if band_for_age(one, age_days) is not None:
            fitting.append((reg, band))
    pool = fitting or ranges
    top = max((b.amount_max or b.amount or 0.0) for _, b in pool)
    low = min((b.amount or 0.0) for _, b in pool)
    unreadable = [m for m, d in doses if d is None]
    sourced = [m.dose_source for m, d in doses if d is not None and m.dose_source]
    checked = head.model_copy(
        update={
            "doses_mg": doses_mg,
            "range_mg": [low, top],
            "range_label": "; ".join(dict.fromkeys(b.label for _, b in pool)),
            "statements": sorted({s for r, b in pool for s in _band_statements(r, b)}),
            "dose_source": sourced[0] if sourced else None,
        }
    )
    taken = f"; dose taken from the {sourced[0]}" if sourced else ""
    if known and max(known) > top + 1e-9:
        note = f"{max(known):g} mg is above the highest source dose of {top:g} mg" + (
            "" if fitting else " for any age band (age not recorded)"
        )
        return checked.model_copy(update={"status": "above", "note": note + taken})
    if unreadable:
        m = unreadable[0]
        what = "no dose recorded" if m.dose is None else f"dose in {m.dose_unit or 'no unit'}"
        if m.dose is None and m.dose_unknown:
            what = f"dose unknown ({m.dose_unknown})"
        return checked.model_copy(update={"note": f"{what}: cannot be compared with the mg range"})
    if not fitting:
        return checked.model_copy(
            update={"note": "no source range for this age (or age not recorded)"}
        )
    note = f"{max(known):g} mg within the source range {low:g}-{top:g} mg"
    return checked.model_copy(update={"status": "ok", "note": note + taken})


def derive(ctx: Context, facts: Facts) -> None:
    age = facts.get("age-days").number
    age_days = int(age) if age is not None else None
    per_drug: dict[str, list[MedicationEntry]] = {}
    for m in sorted(ctx.case.medications, key=lambda m: (m.concept, m.reference or "")):
        if (m.route or "") not in IT_ROUTES or m.status in _SKIP:
            continue
        if m.kind == "administration" and m.last_time and (aware(m.last_time) or ctx.at) > ctx.at:
            continue
        per_drug.setdefault(m.concept, []).append(m)
    entries = [check_drug(ctx, d, meds, age_days) for d, meds in sorted(per_drug.items())]
    never = [e.drug for e in entries if e.status == "never"]
    above = [e.drug for e in entries if e.status == "above"]
    unchecked = [e.drug for e in entries if e.status == "unchecked"]
    statements = sorted(
        {s for e in entries if e.status in ("above", "unchecked") for s in e.statements}
    )
    refs = tuple(r for e in entries for r in e.references)
    ref = refs[0] if refs else None
    value = ItOrderChecks(
        drugs=entries, never=never, above=above, unchecked=unchecked, statements=statements
    )
    facts.set(FactValue("it-order-checks", "ok", value, reference=ref, references=refs))
    facts.set(FactValue("it-never-event", "ok", bool(never), reference=ref, references=refs))
    facts.set(FactValue("it-dose-above-range", "ok", bool(above), reference=ref, references=refs))
    facts.set(FactValue("it-dose-unchecked", "ok", bool(unchecked), reference=ref, references=refs))
