"""The normalized Case: what intake (FHIR or case file) produces and the engine reads.

Everything is plain data with provenance. Intake records what the chart says and where it says it;
it does not judge. Staleness depends on the evaluation time and the site policy, so the engine
decides it, not intake.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

FactStatus = Literal["ok", "unparseable"]

UNZONED = dt.timezone(dt.timedelta(0), "no zone")
"""The zone of a date-time written with a time of day and no zone ("2026-12-02T08:00:00", as
Epic and Cerner send local times): its clock time, held at offset 0 until the engine reads it in
the site's time zone (policy ``time_zone``) or, without one, as a range from UTC-12 to UTC+14
(``leptoguide.engine.zones``). Compares and sorts like UTC."""

ZONE_SPAN = (14.0, 12.0)
"""Hours a local time written without a zone may lie before and after the same clock time
in UTC (time zones run from UTC-12 to UTC+14)."""


def unzoned(value: dt.datetime | None) -> bool:
    """True for a time read from a date-time written without a zone (see :data:`UNZONED`)."""
    return value is not None and value.tzinfo is not None and value.tzname() == UNZONED.tzname(None)


@dataclass(frozen=True)
class Observed:
    """One value read from the input, with unit, time and where it came from."""

    concept: str
    value: Any
    unit: str | None = None
    time: dt.datetime | None = None
    reference: str | None = None
    status: FactStatus = "ok"
    inferred: bool = False
    note: str | None = None
    original_value: Any = None
    original_unit: str | None = None


@dataclass(frozen=True)
class ConditionEntry:
    concept: str
    reference: str | None = None
    onset: dt.datetime | None = None
    active: bool = True
    text: str | None = None
    verification: str | None = None


@dataclass(frozen=True)
class MedicationEntry:
    """A drug the patient takes, took, or is about to be given (an order)."""

    concept: str
    kind: Literal["request", "statement", "administration"]
    status: str = "active"
    dose: float | None = None
    dose_unit: str | None = None
    route: str | None = None
    frequency_per_day: float | None = None
    last_time: dt.datetime | None = None
    times: tuple[dt.datetime, ...] = ()
    reference: str | None = None
    draft: bool = False
    text: str | None = None
    intent: str | None = None
    authored: dt.datetime | None = None
    start: dt.datetime | None = None
    ongoing: bool = False
    """Exposure continues now: an administration in progress or with an open period (a running
    infusion), or a statement of a drug being taken with no end. The last dose is 'now'."""
    dose_source: str | None = None
    """Set when ``dose`` was not written in the order but taken from the product's strength
    (one unit of a tablet or prefilled syringe, or a count of units): says which product."""
    dose_unknown: str | None = None
    """Why no dose could be taken from the product (a vial, a concentration, several
    strengths), when the order gives none."""
    time_imprecise: str | None = None
    """Set when the dose time was written without a time of day or without a time zone ("a
    date only", "no time zone"): the time stored is read as UTC, and the true time may lie up
    to ``time_span`` hours (before, after) from it."""
    time_span: tuple[float, float] = (0.0, 0.0)
    time_zone_read: str | None = None
    """Set by the engine (``leptoguide.engine.zones``) when a dose time written without a zone
    was read in the site time zone: that zone's name (``time_span`` is then what is left)."""
    last_dose_stated: bool = False
    """The input names ``last_time`` as the time of the last dose taken (a case file's
    ``last_dose`` or dose times, or a value typed with a question), not the date a drug was
    started or listed: it counts as the last dose even for a drug still being taken."""


@dataclass(frozen=True)
class ProcedureEntry:
    """A procedure done (Procedure) or requested (ServiceRequest); draft orders flag CDS hooks."""

    concept: str
    kind: Literal["request", "procedure"]
    status: str = "active"
    time: dt.datetime | None = None
    reference: str | None = None
    draft: bool = False
    text: str | None = None
    intent: str | None = None


@dataclass(frozen=True)
class DeviceEntry:
    concept: str
    reference: str | None = None
    status: str = "active"


@dataclass(frozen=True)
class ReadWarning:
    """A data problem met while reading: which resource or field, and what was done about it."""

    where: str
    message: str
    field: str | None = None
    check: bool = False
    """Something a safety check may need could not be used (an unrecognised drug in a chart
    with an LP order): every face shows it next to the findings, the CDS Hooks not-read card
    as a warning."""


@dataclass(frozen=True)
class DroppedResource:
    """A resource left out of the case: another patient's, or unreadable (field and reason named)."""

    reference: str
    reason: str
    field: str | None = None
    kind: Literal["other-patient", "unreadable"] = "unreadable"


@dataclass
class Case:
    """A patient, normalized. ``observations`` keeps every value; the engine picks the latest."""

    origin: Literal["fhir", "case-file"]
    patient_reference: str | None = None
    birth_date: dt.date | None = None
    sex: str | None = None
    observations: list[Observed] = field(default_factory=list)
    conditions: list[ConditionEntry] = field(default_factory=list)
    medications: list[MedicationEntry] = field(default_factory=list)
    procedures: list[ProcedureEntry] = field(default_factory=list)
    devices: list[DeviceEntry] = field(default_factory=list)
    warnings: list[ReadWarning] = field(default_factory=list)
    resource_count: int = 0
    birth_date_estimated: bool = False
    source_name: str | None = None
    dropped: list[DroppedResource] = field(default_factory=list)
    """Resources not used: another patient's, or unreadable; each is also a warning."""

    def latest(self, concept: str) -> Observed | None:
        """The most recent usable observation of a concept (undated values rank oldest)."""
        best: Observed | None = None
        for obs in self.observations:
            if obs.concept != concept:
                continue
            if best is None:
                best = obs
                continue
            t_new = obs.time or dt.datetime.min.replace(tzinfo=dt.UTC)
            t_old = best.time or dt.datetime.min.replace(tzinfo=dt.UTC)
            if t_new >= t_old:
                best = obs
        return best
