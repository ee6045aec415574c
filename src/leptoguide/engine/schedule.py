"""Dated calendars from regimen schedules (phases: times per week or every N days, for W weeks or
N doses), starting from the first planned dose. Exportable as iCalendar by the renderer."""

from __future__ import annotations

import datetime as dt

from leptoguide.assessment import Schedule, ScheduleEvent
from leptoguide.engine.facts import Context, Facts, FactValue, aware
from leptoguide.knowledge.models import Regimen


def calendar(regimen: Regimen, start: dt.date) -> list[ScheduleEvent]:
    """One event per dose: date, phase, dose number."""
    events: list[ScheduleEvent] = []
    day = start
    n = 0
    for phase in regimen.schedule:
        if phase.times_per_week:
            weeks = phase.weeks or 1
            total = phase.count or round(phase.times_per_week * weeks)
            offsets = [int(i * 7 / phase.times_per_week) for i in range(total)]
            step_days = 7 * weeks
        else:
            every = phase.every_days or 7
            total = phase.count or max(1, round((phase.weeks or 1) * 7 / every))
            offsets = [round(i * every) for i in range(total)]
            step_days = round(total * every)
        for off in offsets:
            n += 1
            events.append(
                ScheduleEvent(
                    date=(day + dt.timedelta(days=off)).isoformat(), phase=phase.name, dose=n
                )
            )
        day = day + dt.timedelta(days=step_days)
    return events


def derive(ctx: Context, facts: Facts) -> None:
    it = dict(facts.get("it-medications").items)
    schedules: list[Schedule] = []
    for rid in sorted(ctx.kb.regimens):
        reg = ctx.kb.regimens[rid]
        if not reg.schedule or reg.route not in ("intrathecal", "intraventricular"):
            continue
        drugs = [d for d in reg.drugs if d in it]
        if not drugs:
            continue
        times = [
            aware(t)
            for m in ctx.case.medications
            if m.concept in drugs
            for t in (*m.times, m.last_time, m.start)
            if t is not None
        ]
        known = sorted(t for t in times if t is not None)
        if known:
            start = known[0].date()
            start_note = "first planned or given dose in the input"
        else:
            start = ctx.at.date()
            start_note = "no dose date in the input: starts on the evaluation date"
        try:
            events = calendar(reg, start)
        except OverflowError:  # a start date near year 9999: the dates cannot be written
            events = []
            start_note += "; no calendar: the dates would fall after the year 9999"
        schedules.append(
            Schedule(
                regimen=rid,
                title=reg.title,
                status=reg.status,
                start=start.isoformat(),
                start_note=start_note,
                events=events,
                statements=list(reg.statements),
                reference=it[drugs[0]],
                notes=reg.notes,
            )
        )
    facts.set(
        FactValue(
            "schedules",
            "ok",
            schedules,
            references=tuple(s.reference for s in schedules if s.reference),
            time=None,
        )
    )
