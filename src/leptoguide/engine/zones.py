"""Times written without a zone, read by one rule (the site's time zone, else a range).

EHRs send local clock times without an offset ("2026-12-02T08:00:00"); the reader keeps their
clock time in :data:`leptoguide.case.UNZONED`. Here, before any fact is derived:

* with a site time zone in the policy (``time_zone: Europe/London``), each such time is that clock
  time in that zone (daylight saving included); a dose written as a date only is that local day;
* without one, the true instant lies anywhere from 14 h before to 12 h after the same clock time
  in UTC (zones run from UTC-12 to UTC+14), and each check takes the less safe end: a laboratory
  value, an imaging study, a procedure done or an LP planned is read at the earliest it can be
  (older for staleness and recency, less time since a dose); a dose time keeps its range, and the
  hold is counted from the latest it can be (``leptoguide.engine.antithrombotic``).

Every time read this way says so in its note ("time had no zone; read as ..."). Deterministic: the
zone data comes from the standard library's zoneinfo (system zone files or tzdata).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo

from leptoguide.case import (
    UNZONED,
    ZONE_SPAN,
    Case,
    MedicationEntry,
    Observed,
    ProcedureEntry,
    ReadWarning,
    unzoned,
)
from leptoguide.policy import Policy, site_zone


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat(timespec="minutes").replace("+00:00", "Z")


def _clock(t: dt.datetime) -> str:
    return t.replace(tzinfo=None).isoformat(timespec="minutes")


def _in_zone(t: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    """The clock time of ``t`` read in ``zone``, as UTC (an ambiguous hour takes its first)."""
    return t.replace(tzinfo=None).replace(tzinfo=zone).astimezone(dt.UTC)


def _earliest(t: dt.datetime) -> dt.datetime:
    """The clock time of ``t`` at UTC+14, the furthest ahead of UTC a zone is: its earliest
    instant."""
    return t.replace(tzinfo=dt.UTC) - dt.timedelta(hours=ZONE_SPAN[0])


def _read(
    t: dt.datetime, zone: zoneinfo.ZoneInfo | None, name: str | None
) -> tuple[dt.datetime, str]:
    if zone is not None:
        local = _in_zone(t, zone)
        return local, f"time had no zone; read as {name} ({_clock(t)} local = {_iso(local)})"
    early = _earliest(t)
    return early, (
        f"time had no zone; read as the earliest it can be ({_clock(t)} at UTC+14 = "
        f"{_iso(early)}); set the site time zone to read it exactly"
    )


def _note(old: str | None, new: str) -> str:
    return new if not old else f"{old}; {new}"


def _observation(o: Observed, zone: zoneinfo.ZoneInfo | None, name: str | None) -> Observed:
    if not unzoned(o.time):
        return o
    assert o.time is not None
    t, note = _read(o.time, zone, name)
    return dataclasses.replace(o, time=t, note=_note(o.note, note))


def _procedure(
    p: ProcedureEntry, zone: zoneinfo.ZoneInfo | None, name: str | None
) -> ProcedureEntry:
    if not unzoned(p.time):
        return p
    assert p.time is not None
    t, _ = _read(p.time, zone, name)
    return dataclasses.replace(p, time=t)


def _medication(
    m: MedicationEntry, zone: zoneinfo.ZoneInfo | None, name: str | None
) -> MedicationEntry:
    """With a site zone, dose times without a zone become instants (a date only, that local
    day); without one they stay ranges (the reader's ``time_span``), held as UTC clock times."""

    def fix(t: dt.datetime | None) -> dt.datetime | None:
        if t is None:
            return None
        if zone is not None and unzoned(t):
            return _in_zone(t, zone)
        return t.replace(tzinfo=dt.UTC) if unzoned(t) else t

    last_time, authored, start = fix(m.last_time), fix(m.authored), fix(m.start)
    times = tuple(t for t in (fix(x) for x in m.times) if t is not None)
    span, read_in = m.time_span, m.time_zone_read
    if zone is not None and m.time_imprecise is not None and read_in is None:
        before, after = span
        if m.time_imprecise == "no time zone":
            span = (0.0, 0.0)
        elif (before, after) != (0.0, 0.0):  # a date only: that day (or month) in the zone
            day = m.last_time
            if day is not None and not unzoned(day):
                local = _in_zone(day, zone)
                last_time = local
                times = tuple(local if t == day else t for t in times)
            span = (0.0, max(after - ZONE_SPAN[1], 0.0))
        read_in = name
    return dataclasses.replace(
        m,
        last_time=last_time,
        times=times,
        authored=authored,
        start=start,
        time_span=span,
        time_zone_read=read_in,
    )


def localize(case: Case, policy: Policy) -> Case:
    """``case`` with every time written without a zone read by the rule above (a copy; the
    same case when it has none). Idempotent: times already read carry a real zone."""
    name = policy.time_zone
    zone = site_zone(name) if name else None
    found = (
        sum(unzoned(o.time) for o in case.observations)
        + sum(unzoned(p.time) for p in case.procedures)
        + sum(
            any(unzoned(t) for t in (m.last_time, m.authored, m.start, *m.times))
            or (zone is not None and m.time_imprecise is not None and m.time_zone_read is None)
            for m in case.medications
        )
    )
    if not found:
        return case
    out = dataclasses.replace(
        case,
        observations=[_observation(o, zone, name) for o in case.observations],
        procedures=[_procedure(p, zone, name) for p in case.procedures],
        medications=[_medication(m, zone, name) for m in case.medications],
        warnings=list(case.warnings),
    )
    how = (
        f"read in the site time zone {name}"
        if zone is not None
        else "no site time zone is set, so each is read at its less safe end (a result or "
        "procedure at the earliest it can be, a dose at the latest)"
    )
    out.warnings.append(
        ReadWarning(
            case.source_name or "input",
            f"{found} record(s) give a time without a zone; {how}",
            None,
        )
    )
    return out


__all__ = ["UNZONED", "localize"]
