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
    path: str
    type: str
    label: str
    options: tuple[str, ...] = ()
    unit: str | None = None
    units: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    step: str = "any"
    rows: int = 1
    route: str | None = None


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
                    path=f["path"],
                    type=f["type"],
                    label=f["label"],
                    options=tuple(f.get("options") or ()),
                    unit=f.get("unit"),
                    units=tuple(f.get("units") or ()),
                    min=f.get("min"),
                    max=f.get("max"),
                    step=str(f.get("step", "any")),
                    rows=int(f.get("rows", 1)),
                    route=f.get("route"),
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


def _put(doc: dict[str, Any], path: str, value: Any) -> None:
    head, _, rest = path.partition(".")
    if not rest:
        doc[head] = value
        return
    inner = doc.setdefault(head, {})
    inner[rest] = value


def form_to_casefile(form: FormData) -> dict[str, Any]:
    """Build a case file (docs/case-file.md) from the submitted structured form."""
    doc: dict[str, Any] = {}
    labs: list[dict[str, Any]] = []
    lab_time: str | None = None
    lists: dict[str, list[Any]] = {}
    for sec in form_definition():
        for f in sec.fields:
            if f.type == "text":
                value = _text(form, f.name)[:80]
                if value:
                    _put(doc, f.path, value)
            elif f.type == "date":
                value = _text(form, f.name)
                if value:
                    _put(doc, f.path, value)
            elif f.type == "datetime":
                when = _time(_text(form, f.name))
                if when and f.path == "labs.time":
                    lab_time = when
                elif when:
                    _put(doc, f.path, when)
            elif f.type in ("code", "concept"):
                value = _text(form, f.name)
                if value in f.options:
                    _put(doc, f.path, value)
            elif f.type == "boolean":
                value = _text(form, f.name)
                if value in ("yes", "no"):
                    _put(doc, f.path, value == "yes")
            elif f.type == "number":
                num = _number(form, f.name)
                if num is None:
                    continue
                unit = f.unit
                if f.units:
                    chosen = _text(form, f"{f.name}.unit")
                    unit = chosen if chosen in f.units else f.units[0]
                if f.path.startswith("labs."):
                    lab: dict[str, Any] = {"test": f.path.split(".", 1)[1], "value": num}
                    if unit:
                        lab["unit"] = unit
                    labs.append(lab)
                elif f.units:
                    _put(doc, f.path, {"value": num, "unit": unit})
                else:
                    _put(doc, f.path, int(num) if num.is_integer() else num)
            elif f.type == "terms":
                ticked = [o for o in f.options if _text(form, f"{f.name}.{o}")]
                lists.setdefault(f.path, []).extend(ticked)
            elif f.type == "orders":
                ticked = [o for o in f.options if _text(form, f"{f.name}.{o}")]
                lists.setdefault(f.path, []).extend({"type": o} for o in ticked)
            elif f.type == "drug-order":
                value = _text(form, f.name)
                if value in f.options:
                    order: dict[str, Any] = {"drug": value}
                    if f.route:
                        order["route"] = f.route
                    lists.setdefault(f.path, []).append(order)
            elif f.type == "medications":
                for i in range(min(f.rows, MAX_MED_ROWS)):
                    drug = _text(form, f"{f.name}.{i}.drug")
                    if drug not in f.options:
                        continue
                    med: dict[str, Any] = {"drug": drug}
                    dose = _number(form, f"{f.name}.{i}.dose")
                    if dose is not None:
                        med["dose"] = dose
                        med["unit"] = _text(form, f"{f.name}.{i}.dose_unit") or "mg"
                    last = _time(_text(form, f"{f.name}.{i}.last"))
                    if last:
                        med["last_dose"] = last
                    lists.setdefault(f.path, []).append(med)
    if labs:
        if lab_time:
            for lab in labs:
                lab["time"] = lab_time
        doc["labs"] = labs
    for key, items in lists.items():
        if items:
            doc[key] = items
    doc.setdefault("date", dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat())
    return doc
