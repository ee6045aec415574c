"""Case + evaluation time + policy -> named facts, each with status, value, unit, time, reference.

Facts are declared in ``data/facts/facts.yaml``. A fact with ``concept`` and ``derived_by:
observation`` is the latest value of that concept; ``derived_by: lab`` is the same but goes stale
after the policy ``lab-max-age-hours``. Other ``derived_by`` names are small computations in this
package (classification, risk, CSF profile, antithrombotic timing, dosing, schedules).

Status: ``ok`` | ``stale`` | ``missing`` | ``unparseable``. Only ``ok`` values are usable by rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from leptoguide.case import Observed
from leptoguide.engine.types import Computation as Computation
from leptoguide.engine.types import Context as Context
from leptoguide.engine.types import FactData as FactData
from leptoguide.engine.types import Facts as Facts
from leptoguide.engine.types import FactValue as FactValue
from leptoguide.engine.types import Status as Status
from leptoguide.engine.types import aware as aware
from leptoguide.engine.types import hours_between as hours_between
from leptoguide.engine.types import iso as iso
from leptoguide.engine.types import missing as missing
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.models import Fact
from leptoguide.knowledge.units import unit_converter


def _convert(fact: Fact, value: float, unit: str | None, kb: KnowledgeBase) -> float | None:
    """``value`` in the fact's unit, with the knowledge base's unit table, or None if the unit
    cannot be read as that quantity (never guessed). A fact without a unit takes unitless values
    and dimensionless units (scores, ratios, percent)."""
    units = unit_converter(kb)
    if fact.unit is None:
        return value if units.dimensionless(unit) else None
    if unit is None:
        return None
    if unit == fact.unit:
        return value
    return units.convert(fact.concept or fact.id, value, unit, fact.unit)


def _coerce(fact: Fact, obs: Observed, kb: KnowledgeBase) -> tuple[FactData, str | None]:
    """(value, problem) for an observation under the fact's declared type and unit."""
    value = obs.value
    if fact.type == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            try:
                value = float(str(value).strip())
            except ValueError:
                return None, f"not a number: {obs.value!r}"
        converted = _convert(fact, float(value), obs.unit, kb)
        if converted is None:
            return (
                None,
                f"unit {obs.unit!r} cannot be converted to {fact.unit or 'a unitless value'}",
            )
        return converted, None
    if fact.type == "boolean":
        if isinstance(value, bool):
            return value, None
        text = str(value).strip().lower()
        if text in ("true", "yes", "present", "positive", "y", "1"):
            return True, None
        if text in ("false", "no", "absent", "negative", "n", "0"):
            return False, None
        return None, f"not a yes/no value: {obs.value!r}"
    if fact.type == "code":
        if not isinstance(value, str) or not value.strip():
            return None, f"not a code: {obs.value!r}"
        return value.strip().lower(), None
    if value is None or isinstance(value, str | int | float | bool):
        return value, None
    return None, f"not a plain value: {type(value).__name__}"


def observation_fact(
    fact: Fact,
    ctx: Context,
    max_age_hours: float | None,
    observations: Sequence[Observed] | None = None,
) -> FactValue:
    """The latest observation of ``fact.concept`` at ``ctx.at`` (values after ``at`` are ignored).

    ``observations``: the case's observations of that concept, in case order, when the caller
    has grouped them (one pass over the case for all facts instead of one per fact)."""
    assert fact.concept is not None
    candidates = [
        o
        for o in (ctx.case.observations if observations is None else observations)
        if o.concept == fact.concept and (o.time is None or (aware(o.time) or ctx.at) <= ctx.at)
    ]
    if not candidates:
        return missing(fact.id, unit=fact.unit)
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    latest = max(candidates, key=lambda o: aware(o.time) or epoch)
    later_note: str | None = None
    if fact.sticky:  # "ever positive": a diagnostic result stands against a later different one
        stuck = [
            o
            for o in candidates
            if o.status != "unparseable" and _coerce(fact, o, ctx.kb)[0] in fact.sticky
        ]
        if stuck:
            best = max(stuck, key=lambda o: aware(o.time) or epoch)
            if best is not latest:
                later, _ = _coerce(fact, latest, ctx.kb)
                when = iso(aware(latest.time)) or "undated"
                later_note = (
                    f"{_coerce(fact, best, ctx.kb)[0]} on {iso(aware(best.time)) or 'undated'}; "
                    f"a later result ({later or 'unreadable'}, {when}) does not undo it"
                )
                latest = best
    if latest.status == "unparseable":
        return FactValue(
            fact.id,
            "unparseable",
            unit=fact.unit,
            time=aware(latest.time),
            reference=latest.reference,
            references=(latest.reference,) if latest.reference else (),
            note=latest.note or "the value could not be read",
        )
    value, problem = _coerce(fact, latest, ctx.kb)
    refs = (latest.reference,) if latest.reference else ()
    if problem:
        return FactValue(
            fact.id,
            "unparseable",
            unit=fact.unit,
            time=aware(latest.time),
            reference=latest.reference,
            references=refs,
            note=problem,
        )
    status: Status = "ok"
    note = latest.note
    if max_age_hours is not None:
        if latest.time is None:
            status, note = "stale", "undated value: its age cannot be checked"
        else:
            age = hours_between(latest.time, ctx.at)
            if age > max_age_hours:
                status = "stale"
                note = f"{age:.0f} h old; policy lab-max-age-hours is {max_age_hours:g} h" + (
                    f"; {latest.note}" if latest.note else ""
                )
    if latest.inferred and note is None:
        note = "value inferred by the reader"
    if later_note:
        note = later_note if note is None else f"{note}; {later_note}"
    return FactValue(
        fact.id,
        status,
        value=value,
        unit=fact.unit,
        time=aware(latest.time),
        reference=latest.reference,
        references=refs,
        note=note,
    )
