"""The structured assessment form: its definition (``assess_form.yaml``) and form -> case file.

The form only collects; the case-file reader in ``leptoguide.intake`` validates and normalises, so a
value typed here is checked by exactly the same code as a case file written by hand.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

import yaml
from starlette.datastructures import FormData

from leptoguide.knowledge.loader import KnowledgeBase

MAX_MED_ROWS = 4


@dataclass(frozen=True)
class FormField:
    name: str
    type: str
    label: str
    options: tuple[str, ...] = ()
    unit: str | None = None
    units: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    step: str = "any"
    rows: int = 1
    applies_to: tuple[str, ...] = ()


@dataclass(frozen=True)
class FormSection:
    id: str
    title: str
    fields: tuple[FormField, ...] = field(default_factory=tuple)


@cache
def form_definition() -> tuple[FormSection, ...]:
    text = resources.files("leptoguide.web").joinpath("assess_form.yaml").read_text("utf-8")
    doc = yaml.safe_load(text)
    sections = []
    for sec in doc["sections"]:
        fields = []
        for f in sec["fields"]:
            fields.append(
                FormField(
                    name=f["name"],
                    type=f["type"],
                    label=f["label"],
                    options=tuple(f.get("options") or ()),
                    unit=f.get("unit"),
                    units=tuple(f.get("units") or ()),
                    min=f.get("min"),
                    max=f.get("max"),
                    step=str(f.get("step", "any")),
                    rows=int(f.get("rows", 1)),
                    applies_to=tuple(f.get("applies_to") or ()),
                )
            )
        sections.append(FormSection(sec["id"], sec["title"], tuple(fields)))
    return tuple(sections)


def option_label(kb: KnowledgeBase, concept: str) -> str:
    """The concept's display name, else the id made readable."""
    c = kb.concepts.get(concept)
    if c is not None:
        return c.display
    return concept.replace("-", " ").capitalize()


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _number(form: FormData, name: str) -> float | None:
    raw = _text(form, name).replace(",", ".")
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        return None


def _time(raw: str) -> str | None:
    """A date or datetime-local value as ISO 8601 (datetime-local has no zone: taken as UTC)."""
    if not raw:
        return None
    try:
        if len(raw) == 10:
            return dt.date.fromisoformat(raw).isoformat()
        value = dt.datetime.fromisoformat(raw)
    except ValueError:
        return raw  # the case-file reader reports it with the field name
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.isoformat()


def form_to_casefile(form: FormData) -> dict[str, Any]:
    """Build a case file (docs/case-file.md) from the submitted structured form."""
    observations: list[dict[str, Any]] = []
    conditions: list[dict[str, Any]] = []
    medications: list[dict[str, Any]] = []
    procedures: list[dict[str, Any]] = []
    devices: list[dict[str, Any]] = []
    dates: dict[str, str] = {}
    sections = form_definition()
    for sec in sections:
        for f in sec.fields:
            if f.type == "date-for":
                when = _time(_text(form, f.name))
                if when:
                    for target in f.applies_to:
                        dates[target] = when
    for sec in sections:
        for f in sec.fields:
            if f.type == "condition-choice":
                value = _text(form, f.name)
                if value in f.options:
                    conditions.append({"concept": value})
            elif f.type == "conditions":
                for opt in f.options:
                    if _text(form, f"{f.name}.{opt}"):
                        conditions.append({"concept": opt})
            elif f.type == "code":
                value = _text(form, f.name)
                if value in f.options:
                    observations.append(_obs(f.name, value, None, dates))
            elif f.type == "boolean":
                value = _text(form, f.name)
                if value in ("yes", "no"):
                    observations.append(_obs(f.name, value == "yes", None, dates))
            elif f.type == "number":
                num = _number(form, f.name)
                if num is not None:
                    unit = f.unit
                    if f.units:
                        chosen = _text(form, f"{f.name}.unit")
                        unit = chosen if chosen in f.units else f.units[0]
                    observations.append(_obs(f.name, num, unit, dates))
            elif f.type == "medications":
                for i in range(min(f.rows, MAX_MED_ROWS)):
                    drug = _text(form, f"{f.name}.{i}.drug")
                    if drug not in f.options:
                        continue
                    med: dict[str, Any] = {"concept": drug, "status": "active"}
                    dose = _number(form, f"{f.name}.{i}.dose")
                    if dose is not None:
                        med["dose"] = dose
                        med["dose_unit"] = _text(form, f"{f.name}.{i}.dose_unit") or "mg"
                    last = _time(_text(form, f"{f.name}.{i}.last"))
                    if last:
                        med["last_dose"] = last
                    medications.append(med)
            elif f.type == "devices":
                for opt in f.options:
                    if _text(form, f"{f.name}.{opt}"):
                        devices.append({"concept": opt})
            elif f.type == "orders":
                for opt in f.options:
                    if _text(form, f"{f.name}.{opt}"):
                        procedures.append({"concept": opt, "planned": True})
            elif f.type == "medication-order":
                value = _text(form, f.name)
                if value in f.options:
                    medications.append({"concept": value, "route": "intrathecal", "planned": True})
    case: dict[str, Any] = {"leptoguide_case": 1}
    patient: dict[str, Any] = {}
    if _text(form, "patient_id"):
        patient["id"] = _text(form, "patient_id")[:80]
    if _text(form, "birth_date"):
        patient["birth_date"] = _text(form, "birth_date")
    if _text(form, "sex") in ("female", "male", "other", "unknown"):
        patient["sex"] = _text(form, "sex")
    if patient:
        case["patient"] = patient
    for key, items in (
        ("observations", observations),
        ("conditions", conditions),
        ("medications", medications),
        ("procedures", procedures),
        ("devices", devices),
    ):
        if items:
            case[key] = items
    return case


def _obs(concept: str, value: Any, unit: str | None, dates: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"concept": concept, "value": value}
    if unit and unit != "1":
        out["unit"] = unit
    if concept in dates:
        out["time"] = dates[concept]
    return out
