"""Shared engine types, at the bottom of the engine: a fact's value, the fact table, the context.

Every other engine module imports from here (or from ``facts``, which re-exports these); this
module imports no engine module, so computations never import each other through it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from leptoguide.assessment import Certainty, LmType, RiskGroup
from leptoguide.case import Case
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.policy import Policy

Status = Literal["ok", "stale", "missing", "unparseable"]
M = TypeVar("M", bound=BaseModel)


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
            "value": jsonable(self.value) if self.status in ("ok", "stale") else None,
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


def jsonable(value: Any) -> Any:
    """A fact value as plain JSON data (a typed computation output as its model dump)."""
    if isinstance(value, BaseModel):
        return jsonable(value.model_dump(by_alias=True))
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, (dt.datetime, dt.date)):
        return iso(value)
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
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

    def typed(self, fid: str, model: type[M]) -> M | None:
        """The value of a computation's typed output, or None when it is not usable."""
        fv = self.get(fid)
        return fv.value if fv.usable and isinstance(fv.value, model) else None

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


def _absent(value: object) -> bool:
    return value is None


class _Output(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class CsfPatternScore(_Output):
    """One pattern of the CSF differential: its score and the features that gave it points."""

    pattern: str
    score: int
    reasons: list[str]


class CsfValues(_Output):
    """The CSF values the profile was read from (values not recorded are left out)."""

    wbc: float
    rbc: float | None = Field(default=None, exclude_if=_absent)
    wbc_corrected: float
    glucose_ratio: float | None = Field(default=None, exclude_if=_absent)
    protein: float | None = Field(default=None, exclude_if=_absent)
    predominant: str | None = Field(default=None, exclude_if=_absent)


class CsfProfile(_Output):
    """The ``csf-profile`` fact: the pattern it most resembles, the ranked differential, the values
    and the arithmetic that drove it (traumatic-tap correction, glucose ratio)."""

    pattern: str
    differential: list[CsfPatternScore]
    values: CsfValues
    drivers: list[str]


class LmClassification(_Output):
    """The ``lm-classification`` fact: EANO-ESMO certainty and type with the reasons; ``unverified``
    when the matrix cell that decided it rests on an unverified statement."""

    certainty: Certainty
    type: LmType | None
    reasons: list[str]
    unverified: bool


class RiskDetail(_Output):
    """The ``nccn-risk-detail`` fact: NCCN risk group, reasons, what is missing, the number of poor-
    risk features, whether the group is provisional (with its assumptions) and the policy values read."""

    group: RiskGroup
    reasons: list[str]
    missing: list[str] = Field(default_factory=list)
    poor_features: int = 0
    provisional: bool = False
    assumptions: list[str] = Field(default_factory=list)
    policies: list[str] = Field(default_factory=list)


Computation = Callable[[Context, Facts], None]
"""A derivation step: reads facts (and the case, policy, knowledge), sets the facts it declares."""
