"""Facts from the chart's lists: age, conditions, medications, orders, devices, antibiotic timing."""

from __future__ import annotations

import datetime as dt

from leptoguide.engine.classes import members
from leptoguide.engine.facts import Context, Facts, FactValue, aware, hours_between, missing

IT_ROUTES = ("intrathecal", "intraventricular")
_INACTIVE_MED = {"stopped", "completed", "entered-in-error", "cancelled", "not-taken", "revoked"}
_PLANNED = {"active", "draft", "on-hold", "requested", "planned", "accepted"}
_DONE = {"completed", "in-progress"}


def derive_age(ctx: Context, facts: Facts) -> None:
    bd = ctx.case.birth_date
    if bd is None:
        facts.set(missing("age-years", unit="a"))
        facts.set(missing("age-days", unit="d"))
        return
    today = ctx.at.date()
    days = (today - bd).days
    years = today.year - bd.year - ((today.month, today.day) < (bd.month, bd.day))
    ref = ctx.case.patient_reference
    refs = (ref,) if ref else ()
    if days < 0:
        facts.set(
            FactValue(
                "age-years",
                "unparseable",
                unit="a",
                reference=ref,
                note="birth after the evaluation time",
            )
        )
        facts.set(FactValue("age-days", "unparseable", unit="d", reference=ref))
        facts.warn(ref or "Patient", "birth date is after the evaluation time", "birthDate")
        return
    facts.set(FactValue("age-years", "ok", years, "a", reference=ref, references=refs))
    facts.set(FactValue("age-days", "ok", days, "d", reference=ref, references=refs))


def _list(fid: str, items: dict[str, str | None]) -> FactValue:
    keys = sorted(items)
    refs = tuple(r for r in (items[k] for k in keys) if r)
    return FactValue(
        fid,
        "ok",
        value=keys,
        reference=refs[0] if refs else None,
        references=refs,
        items=tuple((k, items[k]) for k in keys),
    )


def _before(t: dt.datetime | None, at: dt.datetime) -> bool:
    return t is None or (aware(t) or at) <= at


def derive_lists(ctx: Context, facts: Facts) -> None:
    case, at = ctx.case, ctx.at
    conditions: dict[str, str | None] = {}
    for c in case.conditions:
        if c.active and _before(c.onset, at):
            conditions.setdefault(c.concept, c.reference)
    meds: dict[str, str | None] = {}
    it_meds: dict[str, str | None] = {}
    for m in case.medications:
        if m.status in ("entered-in-error", "not-done", "cancelled"):
            continue
        if m.kind != "administration" and m.status in _INACTIVE_MED:
            continue
        if m.kind == "administration" and m.last_time and not _before(m.last_time, at):
            continue
        meds.setdefault(m.concept, m.reference)
        if (m.route or "") in IT_ROUTES:
            it_meds.setdefault(m.concept, m.reference)
    planned: dict[str, str | None] = {}
    done: dict[str, str | None] = {}
    for p in case.procedures:
        if p.kind == "request" and (p.status in _PLANNED or p.draft):
            planned.setdefault(p.concept, p.reference)
        elif p.kind == "procedure" and p.status in _DONE and _before(p.time, at):
            done.setdefault(p.concept, p.reference)
    devices = {d.concept: d.reference for d in case.devices if d.status == "active"}
    facts.set(_list("conditions", conditions))
    facts.set(_list("medications", meds))
    facts.set(_list("it-medications", it_meds))
    facts.set(_list("procedures-planned", planned))
    facts.set(_list("procedures-done", done))
    facts.set(_list("devices", devices))


def _bool(fid: str, value: bool, refs: list[str | None], note: str | None = None) -> FactValue:
    clean = tuple(r for r in refs if r)
    return FactValue(
        fid, "ok", value, reference=clean[0] if clean else None, references=clean, note=note
    )


def derive_orders(ctx: Context, facts: Facts) -> None:
    planned = dict(facts.get("procedures-planned").items)
    it_meds = dict(facts.get("it-medications").items)
    lp = "lumbar-puncture" in planned
    facts.set(_bool("lp-planned", lp, [planned.get("lumbar-puncture")]))
    it_refs = [planned.get("intrathecal-chemotherapy"), *it_meds.values()]
    facts.set(_bool("it-planned", "intrathecal-chemotherapy" in planned or bool(it_meds), it_refs))


def derive_known_cancer(ctx: Context, facts: Facts) -> None:
    conds = dict(facts.get("conditions").items)
    cancers = members(ctx.kb, "cancer")
    hits = sorted(c for c in conds if c in cancers)
    facts.set(_bool("known-cancer", bool(hits), [conds[c] for c in hits]))
    haem = [c for c in hits if c in members(ctx.kb, "haematological-cancer")]
    solid = [c for c in hits if c in members(ctx.kb, "solid-tumour")]
    facts.set(
        _bool("haematological-cancer-only", bool(haem) and not solid, [conds[c] for c in haem])
    )
    cyto = facts.get("csf-cytology")
    mri = facts.get("mri-lm-pattern")
    signs = facts.get("typical-lm-signs")
    refs: list[str | None] = []
    lm = "leptomeningeal-metastasis" in conds
    if lm:
        refs.append(conds["leptomeningeal-metastasis"])
    if cyto.usable and cyto.value == "positive":
        lm = True
        refs.append(cyto.reference)
    if hits:
        # symptoms alone (a headache in a patient with cancer) are not a suspicion of LM: they
        # count once an LP or intrathecal therapy is planned, i.e. the workup has begun
        work_up = facts.value("lp-planned") or facts.value("it-planned")
        if signs.usable and signs.value is True and work_up:
            lm = True
            refs.append(signs.reference)
        if mri.usable and mri.value in ("linear", "nodular", "linear-and-nodular"):
            lm = True
            refs.append(mri.reference)
        if cyto.usable:
            lm = True
            refs.append(cyto.reference)
    facts.set(_bool("lm-context", lm, refs))
    samples = [
        o
        for o in ctx.case.observations
        if o.concept == "csf-cytology" and (o.time is None or (aware(o.time) or ctx.at) <= ctx.at)
    ]
    facts.set(
        FactValue(
            "csf-cytology-samples",
            "ok",
            len(samples),
            references=tuple(o.reference for o in samples if o.reference),
        )
    )


def derive_antibiotic_timing(ctx: Context, facts: Facts) -> None:
    """First antibiotic dose time, hours since it, and hours from it to a completed LP."""
    abx = members(ctx.kb, "antibiotic")
    first: dt.datetime | None = None
    first_ref: str | None = None
    given = False
    given_refs: list[str | None] = []
    for m in ctx.case.medications:
        if m.concept not in abx or m.status in ("entered-in-error", "not-done", "cancelled"):
            continue
        if m.kind == "request":
            continue
        recorded = [
            a for a in (aware(t) for t in (*m.times, m.last_time) if t is not None) if a is not None
        ]
        times = [t for t in recorded if t <= ctx.at]
        if recorded and not times:
            continue  # every recorded dose is after the evaluation time
        if m.kind == "administration" or times or m.status == "active":
            given = True
            given_refs.append(m.reference)
        for t in times:
            if first is None or t < first:
                first, first_ref = t, m.reference
    facts.set(_bool("antibiotic-given", given, given_refs))
    if first is None:
        note = "antibiotics recorded without a time" if given else "no antibiotic given"
        facts.set(missing("hours-since-first-antibiotic", note=note, unit="h"))
        facts.set(missing("lp-hours-after-antibiotic", note=note, unit="h"))
        return
    facts.set(
        FactValue(
            "hours-since-first-antibiotic",
            "ok",
            round(hours_between(first, ctx.at), 2),
            "h",
            time=first,
            reference=first_ref,
            references=(first_ref,) if first_ref else (),
        )
    )
    lp_times = [
        aware(p.time)
        for p in ctx.case.procedures
        if p.concept == "lumbar-puncture"
        and p.kind == "procedure"
        and p.time is not None
        and (aware(p.time) or ctx.at) <= ctx.at
    ]
    after = sorted(t for t in lp_times if t is not None and t >= first)
    if not after:
        facts.set(missing("lp-hours-after-antibiotic", note="no LP after the first antibiotic"))
        return
    facts.set(
        FactValue(
            "lp-hours-after-antibiotic",
            "ok",
            round(hours_between(first, after[0]), 2),
            "h",
            time=after[0],
            reference=first_ref,
        )
    )


def derive_procedure_timing(ctx: Context, facts: Facts) -> None:
    """Facts ``derived_by: procedure-timing`` with a ``concept``: hours since that order or
    procedure was first requested or done (at or before the evaluation time), else missing."""
    for fact in ctx.kb.facts.values():
        if fact.derived_by != "procedure-timing" or not fact.concept:
            continue
        first: dt.datetime | None = None
        ref: str | None = None
        for p in ctx.case.procedures:
            t = aware(p.time)
            if p.concept != fact.concept or t is None or t > ctx.at:
                continue
            if first is None or t < first:
                first, ref = t, p.reference
        if first is None:
            facts.set(
                missing(fact.id, note=f"no dated {fact.concept} order or procedure", unit="h")
            )
            continue
        facts.set(
            FactValue(
                fact.id,
                "ok",
                round(hours_between(first, ctx.at), 2),
                "h",
                time=first,
                reference=ref,
                references=(ref,) if ref else (),
            )
        )
