"""iCalendar export of dated schedules (one all-day event per dose). Deterministic UIDs and stamps."""

from __future__ import annotations

import datetime as dt

from icalendar import Calendar, Event

from leptoguide.assessment import Assessment
from leptoguide.knowledge.status import checked


def render_ics(data: Assessment) -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//LeptoGuide//assessment schedules//EN")
    cal.add("version", "2.0")
    stamp = dt.datetime.fromisoformat(data.evaluated_at.replace("Z", "+00:00"))
    for s in data.schedules:
        draft = " (DRAFT schedule, unverified)" if not checked(s.status) else ""
        for e in s.events:
            ev = Event()
            ev.add("uid", f"{s.regimen}-{s.start}-{e.dose}@leptoguide")
            ev.add("dtstamp", stamp)
            ev.add("dtstart", dt.date.fromisoformat(e.date))
            ev.add("summary", f"{s.title}: dose {e.dose} ({e.phase}){draft}")
            ev.add(
                "description",
                f"Planned from {s.start} ({s.start_note}). Statements: "
                + ", ".join(s.statements)
                + ". Decision support only; confirm with the treating team.",
            )
            cal.add_component(ev)
    return bytes(cal.to_ical())
