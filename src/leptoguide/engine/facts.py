"""Case + evaluation time + policy -> named facts, each with status, value, unit, time, reference.

Facts are declared in ``data/facts/facts.yaml``. A fact with ``concept`` and ``derived_by:
observation`` is the latest value of that concept; ``derived_by: lab`` is the same but goes stale
after the policy ``lab-max-age-hours``. Other ``derived_by`` names are small computations in this
package (classification, risk, CSF profile, antithrombotic timing, dosing, schedules).

Status: ``ok`` | ``stale`` | ``missing`` | ``unparseable``. Only ``ok`` values are usable by rules.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from leptoguide.case import Case, Observed
from leptoguide.engine.units import convert
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.models import Fact
from leptoguide.policy import Policy

Status = Literal["ok", "stale", "missing", "unparseable"]


@dataclass(frozen=True)
class FactValue:
    """One fact as the engine sees it."""

    id: str
    status: Status
    value: Any = None
    unit: str | None = None
    time: dt.datetime | None = None
    reference: str | None = None
    references: tuple[str, ...] = ()
    note: str | None = None
    items: tuple[tuple[str, str | None], ...] = ()
    """For list facts: (item, FHIR reference) pairs, so inputs can name the resource."""

    @property
    def usable(self) -> bool:
        return self.status == "ok"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "fact": self.id,
            "status": self.status,
            "value": _jsonable(self.value) if self.status in ("ok", "stale") else None,
            "unit": self.unit,
            "time": iso(self.time),
            "reference": self.reference,
        }
        if len(self.references) > 1:
            out["references"] = list(self.references)
        if self.note:
            out["note"] = self.note
        return out


def iso(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def _jsonable(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, (dt.datetime, dt.date)):
        return iso(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    return value


def missing(fid: str, note: str | None = None, unit: str | None = None) -> FactValue:
    return FactValue(fid, "missing", unit=unit, note=note)


@dataclass
class Facts:
    """All facts for one evaluation. Unknown names read as missing (never as false)."""

    values: dict[str, FactValue] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    def get(self, fid: str) -> FactValue:
        return self.values.get(fid) or missing(fid)

    def value(self, fid: str) -> Any:
        fv = self.get(fid)
        return fv.value if fv.usable else None

    def set(self, fv: FactValue) -> None:
        self.values[fv.id] = fv

    def __iter__(self) -> Iterator[FactValue]:
        return iter(self.values.values())

    def warn(self, where: str, message: str, fld: str | None = None) -> None:
        self.warnings.append({"where": where, "field": fld, "message": message})


@dataclass(frozen=True)
class Context:
    """What computations receive."""

    case: Case
    at: dt.datetime
    policy: Policy
    kb: KnowledgeBase


def aware(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def hours_between(a: dt.datetime, b: dt.datetime) -> float:
    return ((aware(b) or b) - (aware(a) or a)).total_seconds() / 3600.0


def _convert(fact: Fact, value: float, unit: str | None, kb: KnowledgeBase | None) -> float | None:
    """Convert with the terminology's unit records (intake's converter), else the built-in table."""
    if unit is not None and fact.unit is not None and unit != fact.unit and kb is not None:
        try:
            from leptoguide.intake.units import unit_converter
        except ImportError:  # pragma: no cover - intake is part of the package
            unit_converter = None  # type: ignore[assignment]
        if unit_converter is not None and fact.concept:
            got = unit_converter(kb).convert(fact.concept, value, unit, fact.unit)
            if got is not None:
                return float(got)
    return convert(value, unit, fact.unit)


def _coerce(fact: Fact, obs: Observed, kb: KnowledgeBase | None = None) -> tuple[Any, str | None]:
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
    return value, None


def observation_fact(fact: Fact, ctx: Context, max_age_hours: float | None) -> FactValue:
    """The latest observation of ``fact.concept`` at ``ctx.at`` (values after ``at`` are ignored)."""
    assert fact.concept is not None
    candidates = [
        o
        for o in ctx.case.observations
        if o.concept == fact.concept and (o.time is None or (aware(o.time) or ctx.at) <= ctx.at)
    ]
    if not candidates:
        return missing(fact.id, unit=fact.unit)
    epoch = dt.datetime.min.replace(tzinfo=dt.UTC)
    latest = max(candidates, key=lambda o: aware(o.time) or epoch)
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
                note = f"{age:.0f} h old; policy lab-max-age-hours is {max_age_hours:g} h"
    if latest.inferred and note is None:
        note = "value inferred by the reader"
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


Computation = Callable[[Context, Facts], None]


def _registry() -> dict[str, Computation]:
    from leptoguide.engine import (
        antithrombotic,
        classification,
        csf,
        dosing,
        intrathecal,
        orders,
        risk,
        schedule,
    )

    return {
        "age": orders.derive_age,
        "orders": orders.derive_orders,
        "lists": orders.derive_lists,
        "known-cancer": orders.derive_known_cancer,
        "antibiotic-timing": orders.derive_antibiotic_timing,
        "procedure-timing": orders.derive_procedure_timing,
        "csf-profile": csf.derive,
        "eano-classification": classification.derive,
        "nccn-risk": risk.derive,
        "it-safety": intrathecal.derive,
        "regimen-selection": dosing.derive_selection,
        "antithrombotic": antithrombotic.derive,
        "dosing": dosing.derive,
        "schedule": schedule.derive,
    }


# Order matters: later computations read earlier facts.
ORDER = (
    "age",
    "lists",
    "orders",
    "known-cancer",
    "antibiotic-timing",
    "procedure-timing",
    "csf-profile",
    "eano-classification",
    "nccn-risk",
    "it-safety",
    "antithrombotic",
    "dosing",
    "regimen-selection",
    "schedule",
)


def build_facts(case: Case, *, kb: KnowledgeBase, policy: Policy, at: dt.datetime) -> Facts:
    """Every fact declared in the knowledge base, for this case at time ``at``."""
    ctx = Context(case=case, at=aware(at) or at, policy=policy, kb=kb)
    facts = Facts()
    for w in case.warnings:
        facts.warn(w.where, w.message, w.field)
    lab_age = (
        float(policy.get("lab-max-age-hours")) if "lab-max-age-hours" in policy.values else None
    )
    for fact in sorted(kb.facts.values(), key=lambda f: f.id):
        if fact.concept and fact.derived_by in (None, "observation", "lab"):
            fv = observation_fact(fact, ctx, lab_age if fact.derived_by == "lab" else None)
            facts.set(fv)
            if fv.status in ("unparseable", "stale"):
                facts.warn(fv.reference or fact.id, f"{fact.id}: {fv.note}", "value")
    registry = _registry()
    wanted = {f.derived_by for f in kb.facts.values() if f.derived_by}
    for name in ORDER:
        if name in wanted or name in ("lists", "orders", "age"):
            registry[name](ctx, facts)
    return facts
