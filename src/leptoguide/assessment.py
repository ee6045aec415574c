"""The typed Assessment: what the engine returns and every face (JSON, text, HTML, cards, web) reads.

``Assessment.model_dump()`` is the JSON contract published as ``docs/assessment.schema.json``
(generated from these models by ``leptoguide kb schema`` and checked by the tests). Field order is
output order, so the same assessment always gives the same bytes. An audit event read back
validates into the same model (:meth:`Assessment.model_validate`).

Optional keys (``references``, ``note``) are left out of the output when they are empty, as the
contract has always done; every other key is always present, ``null`` when unknown.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, ValidationError

DISCLAIMER = "Decision support only; not a medical device. Check every finding."

RecordStatus = Literal["draft", "verified", "in_review", "approved", "retired"]
FactStatus = Literal["ok", "stale", "missing", "unparseable"]
Kind = Literal["alert", "recommendation", "workup", "info"]
Severity = Literal["critical", "warning", "info"]
Certainty = Literal["confirmed", "probable", "possible", "lacking_evidence", "not_applicable"]
LmType = Literal["IA", "IB", "IC", "ID", "IIA", "IIB", "IIC", "IID"]
RiskGroup = Literal["good", "poor", "unknown"]
RuleId = Annotated[str, Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
DateTime = Annotated[str, Field(json_schema_extra={"format": "date-time"})]
Date = Annotated[str, Field(json_schema_extra={"format": "date"})]


def _absent(value: object) -> bool:
    return value is None


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Scalar = bool | int | float | str
"""A plain value: a number, a code or word, a yes/no (also every site-policy value)."""


class PolicyRef(_Model):
    """The site policy an assessment ran under: id, content hash, file and overridden values."""

    id: str
    title: str
    hash: str
    file: str | None
    time_zone: str | None = Field(default=None, exclude_if=_absent)
    """The site's IANA time zone, the zone of times written without one (absent: none set)."""
    overrides: dict[str, Scalar]


class Input(_Model):
    """Where the case came from (never the patient's data itself, only its reference)."""

    origin: str | None = None
    """How the case arrived: ``fhir`` or ``case-file``."""
    patient: str | None = None
    resources: int | None = None
    planned: list[str] = Field(default_factory=list)
    """Facts derived from the draft orders that are true (``lp-planned``, ``it-planned``): what
    the user is about to do, so a face can answer those questions first."""


class Classification(_Model):
    """EANO-ESMO LM classification: certainty, type, the reasons, and whether the rule is unverified."""

    certainty: Certainty = "not_applicable"
    type: LmType | None = None
    reasons: list[str] = Field(default_factory=list)
    unverified: bool = False


class Risk(_Model):
    """NCCN LM risk group with its reasons; a provisional group lists the assumptions it rests on
    (features the chart does not record, taken as absent)."""

    group: RiskGroup = "unknown"
    reasons: list[str] = Field(default_factory=list)
    provisional: bool = False
    assumptions: list[str] = Field(default_factory=list)


class Citation(_Model):
    """One source locator supporting one knowledge statement a finding cites."""

    statement: str
    source: str
    locator: str
    statement_status: RecordStatus | None = Field(default=None, exclude_if=_absent)


class DrugTiming(_Model):
    """One antithrombotic against the planned LP: class, last dose, hold and restart intervals.

    Rule templates read these fields (``v('lp-antithrombotics').drugs``); the JSON output names the
    class ``class``. Fields that only exist once a last dose is known are left out when empty.
    """

    model_config = ConfigDict(
        extra="forbid", frozen=True, validate_by_name=True, serialize_by_alias=True
    )

    drug: str
    drug_class: str = Field(alias="class")
    dose: float | None
    dose_unit: str | None
    last_dose: DateTime | None
    hold_hours: float | None
    restart_hours: float | None
    reference: str | None
    references: list[str]
    lp_time: DateTime | None
    hours_since_last_dose: float | None = Field(default=None, exclude_if=_absent)
    earliest_lp: DateTime | None = Field(default=None, exclude_if=_absent)
    status: Literal["hold", "clear", "unknown"]
    """After the timing it was decided from (``hours_since_last_dose``, ``earliest_lp``), when
    those are known: the key order the JSON output has always had."""
    restart_after_lp: str | None = Field(default=None, exclude_if=_absent)
    note: str | None = None


class AntithromboticTiming(_Model):
    """Antithrombotic timing before a planned LP (the ``lp-antithrombotics`` fact): overall
    status, one entry per drug, and the policy values and statements it rests on."""

    status: Literal["none", "hold", "clear", "unknown"]
    drugs: list[DrugTiming]
    policies: list[str]
    statements: list[str]


InputValue = AntithromboticTiming | list[str] | Scalar | None
"""What a finding shows of a fact it used: the antithrombotic timing in full, the list items the
rule asked about (or a regimen list), else a short scalar form (a computed object by its status,
pattern, certainty or group; another list by its length)."""


class FindingInput(_Model):
    """One fact a finding used: status, value (short form), unit, time and the FHIR reference."""

    fact: str
    status: FactStatus
    value: InputValue
    unit: str | None
    time: DateTime | None
    reference: str | None
    references: list[str | None] | None = Field(default=None, exclude_if=_absent)
    note: str | None = Field(default=None, exclude_if=_absent)


class Alternative(_Model):
    """A value other sources give for a policy parameter."""

    value: Scalar
    statement: str | None = Field(default=None, exclude_if=_absent)
    source: str | None = Field(default=None, exclude_if=_absent)
    note: str | None = Field(default=None, exclude_if=_absent)


class Threshold(_Model):
    """A site-policy value a finding used, with its default, source and the alternatives."""

    id: str
    value: Scalar
    unit: str | None
    overridden: bool
    default: Scalar
    statement: str | None
    source: str | None
    alternatives: list[Alternative]


class Finding(_Model):
    """One fired rule: what it says, why (inputs, thresholds) and where it comes from (citations)."""

    rule: RuleId
    kind: Kind
    severity: Severity
    title: str
    summary: Annotated[str, Field(max_length=140, json_schema_extra={"minLength": 1})]
    detail: str
    citations: Annotated[list[Citation], Field(json_schema_extra={"minItems": 1})]
    inputs: list[FindingInput]
    thresholds: list[Threshold]
    rule_status: RecordStatus
    evidence_status: RecordStatus
    suggestion: str | None = None


class MissingItem(_Model):
    """A fact some rule could not decide without, and what to do about it."""

    item: str
    status: Literal["stale", "missing", "unparseable"] | None = Field(
        default=None, exclude_if=_absent
    )
    needed_for: Annotated[list[str], Field(json_schema_extra={"minItems": 1})]
    suggestion: str


class DataWarning(_Model):
    """A problem reading the input or rendering a rule (where, which field, what)."""

    where: str
    field: str | None = None
    message: str


class ScheduleEvent(_Model):
    date: Date
    phase: str
    dose: int


class Schedule(_Model):
    """A dated calendar for an intrathecal regimen, from its first planned or given dose."""

    regimen: str
    title: str
    status: RecordStatus
    start: Date
    start_note: str | None = Field(default=None, exclude_if=_absent)
    events: list[ScheduleEvent]
    statements: list[str]
    reference: str | None = None
    notes: str | None = None


class SeriesPoint(_Model):
    """One dated value of a repeated measurement, in the fact's unit."""

    time: DateTime
    value: float
    reference: str | None


class SeriesLimit(_Model):
    """A site-policy value a rule compares the measurement with (``op`` as in the rule: ``lt``,
    ``gt`` ...), and the rules that do."""

    op: str
    threshold: Threshold
    rules: list[str]


class Series(_Model):
    """A measurement recorded more than once (platelets, INR, CSF cells ...): every dated value up to
    the assessment time, the policy values rules compare it with, and, for labs, how old a value
    may be before it is stale."""

    fact: str
    unit: str | None
    points: Annotated[list[SeriesPoint], Field(json_schema_extra={"minItems": 2})]
    limits: list[SeriesLimit]
    max_age_hours: float | None
    shown: int
    """How many of the recorded values are in ``points`` (the latest ones)."""
    total: int
    """How many dated values the chart holds up to the assessment time."""


class Assessment(_Model):
    """The result of evaluating every rule for one case, time, policy and knowledge version."""

    knowledge_version: Annotated[str, Field(pattern=r"^\d+\.\d+\.\d+\+sha256\.[0-9a-f]{12}$")]
    policy: PolicyRef
    evaluated_at: DateTime
    audience: Literal["clinician", "patient"]
    input: Input = Field(default_factory=Input)
    classification: Classification = Field(default_factory=Classification)
    risk: Risk = Field(default_factory=Risk)
    findings: list[Finding] = Field(default_factory=list)
    missing: list[MissingItem] = Field(default_factory=list)
    warnings: list[DataWarning] = Field(default_factory=list)
    schedules: list[Schedule] = Field(default_factory=list)
    series: list[Series] = Field(default_factory=list)
    """Measurements recorded more than once, for trends."""
    disclaimer: str = DISCLAIMER

    def to_dict(self) -> dict[str, JsonValue]:
        """The JSON contract as plain data (same as ``model_dump()``)."""
        return self.model_dump()


def as_assessment(data: Assessment | Mapping[str, object]) -> Assessment:
    """The typed assessment; JSON-contract data (e.g. read back from storage) is validated into it."""
    return data if isinstance(data, Assessment) else Assessment.model_validate(data)


def stored_assessment(output: str | bytes) -> Assessment | None:
    """The assessment in a stored service output (the assessment itself, or a CDS Hooks response
    that holds it under ``assessment``), validated into the model; None when the output holds no
    assessment, is not JSON, or does not validate."""
    try:
        data = json.loads(output)
    except ValueError:
        return None
    if isinstance(data, dict) and "findings" not in data:
        data = data.get("assessment")
    if not isinstance(data, dict) or "findings" not in data:
        return None
    try:
        return Assessment.model_validate(data)
    except ValidationError:
        return None


SCHEMA_ID = "https://leptoguide.org/schemas/assessment.schema.json"


def _strip_titles(node: object) -> None:
    if isinstance(node, dict):
        props = node.get("properties")
        if isinstance(props, dict):
            for prop in props.values():
                if isinstance(prop, dict):
                    prop.pop("title", None)
        for value in node.values():
            _strip_titles(value)
    elif isinstance(node, list):
        for value in node:
            _strip_titles(value)


def json_schema() -> dict[str, JsonValue]:
    """The JSON Schema of :class:`Assessment` output (``docs/assessment.schema.json``).

    Generated from the models in serialization mode: a key is required unless the model leaves it
    out when empty. Constraints the engine guarantees but does not re-check at run time (non-empty
    summary and citations) are published as schema annotations.
    """
    schema: dict[str, JsonValue] = Assessment.model_json_schema(mode="serialization")
    defs = schema.get("$defs")
    models: list[type[BaseModel]] = [Assessment]
    seen: set[type[BaseModel]] = set()
    while models:
        model = models.pop()
        if model in seen:
            continue
        seen.add(model)
        required = [
            info.serialization_alias or info.alias or name
            for name, info in model.model_fields.items()
            if info.exclude_if is None
        ]
        if model is Assessment:
            target: object = schema
        else:
            target = defs.get(model.__name__) if isinstance(defs, dict) else None
        if isinstance(target, dict):
            target["required"] = list(required)
        for info in model.model_fields.values():
            for arg in _models_in(info.annotation):
                models.append(arg)
    _strip_titles(schema)
    head: dict[str, JsonValue] = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "LeptoGuide assessment",
        "description": "Output of `leptoguide assess --format json`. Same input, --at, policy "
        "and knowledge version give byte-identical output.",
    }
    schema.pop("title", None)
    schema.pop("description", None)
    return {**head, **schema}


def _models_in(annotation: object) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in getattr(annotation, "__args__", ()) for m in _models_in(arg)]


def schema_text() -> str:
    """``docs/assessment.schema.json`` as written (2-space indent, trailing newline)."""
    return json.dumps(json_schema(), indent=2, ensure_ascii=False) + "\n"
