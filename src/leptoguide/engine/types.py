"""Shared engine types, at the bottom of the engine: a fact's value, the fact table, the context.

Every other engine module imports from here (or from ``facts``, which re-exports these); this
module imports no engine module, so computations never import each other through it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from leptoguide.assessment import (
    AntithromboticTiming,
    Certainty,
    DataWarning,
    FindingInput,
    InputValue,
    LmType,
    RiskGroup,
    Scalar,
    Schedule,
)
from leptoguide.case import Case, Observed
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.policy import Policy

Status = Literal["ok", "stale", "missing", "unparseable"]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class FactValue:
    """One fact as the engine sees it."""

    id: str
    status: Status
    value: FactData = None
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

    @property
    def number(self) -> float | None:
        """The value as a number, when it is usable and numeric (a yes/no is not a number)."""
        v = self.value
        if self.usable and isinstance(v, int | float) and not isinstance(v, bool):
            return float(v)
        return None

    @property
    def codes(self) -> list[str]:
        """The items of a list of ids (concepts, regimens); empty for any other value."""
        v = self.value
        return [x for x in v if isinstance(x, str)] if isinstance(v, list) else []

    def as_input(self, value: InputValue) -> FindingInput:
        """This fact as a finding shows it, with ``value`` (its short form) as the value; a fact
        that is missing or unparseable shows no value."""
        return FindingInput.model_construct(
            fact=self.id,
            status=self.status,
            value=value if self.status in ("ok", "stale") else None,
            unit=self.unit,
            time=iso(self.time),
            reference=self.reference,
            references=list(self.references) if len(self.references) > 1 else None,
            note=self.note or None,
        )


def iso(value: dt.datetime | dt.date | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    return value.isoformat()


def missing(fid: str, note: str | None = None, unit: str | None = None) -> FactValue:
    return FactValue(fid, "missing", unit=unit, note=note)


@dataclass
class Facts:
    """All facts for one evaluation. Unknown names read as missing (never as false)."""

    values: dict[str, FactValue] = field(default_factory=dict)
    warnings: list[DataWarning] = field(default_factory=list)

    def get(self, fid: str) -> FactValue:
        return self.values.get(fid) or missing(fid)

    def value(self, fid: str) -> FactData:
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
        self.warnings.append(DataWarning(where=where, field=fld, message=message))


@dataclass(frozen=True)
class Context:
    """What computations receive."""

    case: Case
    at: dt.datetime
    policy: Policy
    kb: KnowledgeBase


def observations_by_concept(case: Case) -> dict[str, list[Observed]]:
    """The case's observations grouped by concept, each group in case order."""
    out: dict[str, list[Observed]] = {}
    for obs in case.observations:
        out.setdefault(obs.concept, []).append(obs)
    return out


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


class RegimenOption(_Output):
    """A regimen of a group with why it is (not, or not known to be) for this patient."""

    regimen: str
    title: str
    why: str


class RegimenChoice(_Output):
    """A ``derived_by: regimen-selection`` object fact: the regimens of a group that fit the
    patient (ids), those for another population and those whose fit is unknown, with the reason."""

    matching: list[str]
    other: list[RegimenOption]
    unknown: list[RegimenOption]


class ItDrugCheck(_Output):
    """One intrathecal drug against the source dose range for the patient's age band."""

    drug: str
    references: list[str]
    reference: str | None
    status: Literal["never", "above", "ok", "unchecked"]
    note: str
    doses_mg: list[float] = Field(default_factory=list)
    """The readable doses ordered or given, in mg (sorted, distinct)."""
    range_mg: list[float] = Field(default_factory=list)
    """[lowest, highest] source dose in mg for the bands that fit (empty: no range)."""
    range_label: str | None = None
    statements: list[str] = Field(default_factory=list)
    dose_source: str | None = None


class ItOrderChecks(_Output):
    """The ``it-order-checks`` fact: each intrathecal drug checked, the drugs by outcome and the
    statements the out-of-range and unchecked results rest on."""

    drugs: list[ItDrugCheck]
    never: list[str]
    above: list[str]
    unchecked: list[str]
    statements: list[str]


@dataclass(frozen=True, slots=True)
class DoseCalculation:
    """One regimen's dose for one patient: the band, the per-dose and per-day amounts in mg, the
    interval, the first dose and the arithmetic steps (so a clinician can check it); ``error``
    says why no dose was computed."""

    regimen: str
    title: str
    status: str
    band: str | None = None
    error: str | None = None
    per_dose_mg: float | None = None
    interval_hours: float | None = None
    per_day_mg: float | None = None
    first_dose_mg: float | None = None
    weight_kg: float | None = None
    capped: bool = False
    steps: tuple[str, ...] = ()
    text: str = ""


FactData = (
    Scalar
    | list[str]
    | CsfProfile
    | LmClassification
    | RiskDetail
    | AntithromboticTiming
    | ItOrderChecks
    | RegimenChoice
    | list[Schedule]
    | None
)
"""A fact's value: a number, code or yes/no read from the chart, a list of concept or regimen
ids, or the typed output of a computation."""


def grounds(value: FactData) -> tuple[list[str], list[str]]:
    """The statements and the policy values a computation's output says its result rests on."""
    if isinstance(value, AntithromboticTiming):
        return value.statements, value.policies
    if isinstance(value, ItOrderChecks):
        return value.statements, []
    if isinstance(value, RiskDetail):
        return [], value.policies
    return [], []


Computation = Callable[[Context, Facts], None]
"""A derivation step: reads facts (and the case, policy, knowledge), sets the facts it declares."""
