"""Case-file builders shared by the computed-answer tests: a fixed evaluation time (Wednesday
2 December 2026, 14:00, UTC-5), local clock times and LP cases with labs and medicines."""

from __future__ import annotations

import datetime as dt
from typing import Any

LOCAL = dt.timezone(dt.timedelta(hours=-5))
AT = dt.datetime(2026, 12, 2, 14, 0, tzinfo=LOCAL)


def local(hour: int, minute: int = 0, day: int = 0) -> str:
    """A local clock time ``day`` days from the evaluation date."""
    base = dt.datetime(2026, 12, 2, hour, minute, tzinfo=LOCAL)
    return (base + dt.timedelta(days=day)).isoformat()


def ago(hours: float) -> str:
    """The time ``hours`` before the evaluation time."""
    return (AT - dt.timedelta(hours=hours)).isoformat()


def lp(
    labs: list[dict[str, Any]] | None = None,
    meds: list[dict[str, Any]] | None = None,
    at: str | None = None,
) -> dict[str, Any]:
    """A case file with one lumbar puncture order (at ``at`` when given), labs and medicines."""
    order: dict[str, Any] = {"type": "lumbar-puncture"}
    if at:
        order["time"] = at
    doc: dict[str, Any] = {"orders": [order]}
    if labs:
        doc["labs"] = labs
    if meds:
        doc["medications"] = meds
    return doc


def mmol(v: float) -> dict[str, Any]:
    """A value in mmol/L."""
    return {"value": v, "unit": "mmol/L"}


def gl(v: float) -> dict[str, Any]:
    """A value in g/L."""
    return {"value": v, "unit": "g/L"}


def mgdl(v: float) -> dict[str, Any]:
    """A value in mg/dL."""
    return {"value": v, "unit": "mg/dL"}
