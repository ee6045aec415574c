"""The structured assessment form: its definition (``assess_form.yaml``) and form -> case file.

The form collects and guards against the input slips that turn into silent all-clears: every
date-time is read in the user's time zone and stored with its offset; every number carries its unit
(alternatives converted by the knowledge unit table); values outside the plausible range of the
field (data in ``assess_form.yaml``) are refused, and unusual ones are queried until confirmed.
The case-file reader in ``leptoguide.intake`` then validates and normalises, exactly as for a case
file written by hand.
"""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import Any

from leptoguide import yamlsafe
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.units import unit_converter
from leptoguide.web import fmt

MAX_MED_ROWS = 4
_GROUPED = re.compile(r"^[1-9]\d{0,2}(,\d{3})+(\.\d*)?$")
"""45,000: a thousands separator or a decimal comma? Refused rather than guessed (4,5 is 4.5)."""
TZ_FIELD = "tz"
DEFAULT_TZ = "UTC"


@dataclass(frozen=True)
class FormField:
    name: str
    path: str
    type: str
    label: str
    options: tuple[str, ...] = ()
    unit: str | None = None
    units: tuple[str, ...] = ()
    concept: str | None = None
    refuse: tuple[float, float] | None = None
    """Outside this range (in the field's first unit) the value is impossible: refused."""
    query: tuple[float, float] | None = None
    """Outside this range (first unit) the value is unusual: asked to confirm."""
    min: float | None = None
    max: float | None = None
    step: str = "any"
    rows: int = 1
    route: str | None = None
    routes: tuple[str, ...] = ()
    frequencies: tuple[str, ...] = ()
    dose_units: tuple[str, ...] = ()

    @property
    def first_unit(self) -> str | None:
        return self.units[0] if self.units else self.unit


@dataclass(frozen=True)
class FormSection:
    id: str
    title: str
    fields: tuple[FormField, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class FieldError:
    """A problem shown beside its field. ``confirm``: the value is unusual, not impossible."""

    message: str
    confirm: bool = False


@dataclass
class FormResult:
    casefile: dict[str, Any]
    errors: dict[str, FieldError]
    tz: str


def _range(value: Any) -> tuple[float, float] | None:
    if value is None:
        return None
    lo, hi = value
    return float(lo), float(hi)


@cache
def form_definition() -> tuple[FormSection, ...]:
    text = resources.files("leptoguide.web").joinpath("assess_form.yaml").read_text("utf-8")
    doc = yamlsafe.load(text, untrusted=False)
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
                    concept=f.get("concept"),
                    refuse=_range(f.get("refuse")),
                    query=_range(f.get("query")),
                    min=f.get("min"),
                    max=f.get("max"),
                    step=str(f.get("step", "any")),
                    rows=int(f.get("rows", 1)),
                    route=f.get("route"),
                    routes=tuple(f.get("routes") or ()),
                    frequencies=tuple(f.get("frequencies") or ()),
                    dose_units=tuple(f.get("dose_units") or ()),
                )
            )
        sections.append(FormSection(sec["id"], sec["title"], tuple(fields)))
    return tuple(sections)


@cache
def form_codes() -> dict[str, str]:
    """Labels of the form's own codes (frequencies, units) from ``assess_form.yaml``."""
    text = resources.files("leptoguide.web").joinpath("assess_form.yaml").read_text("utf-8")
    labels = yamlsafe.load(text, untrusted=False).get("labels") or {}
    return {str(k): str(v) for k, v in labels.items()}


def field_names() -> set[str]:
    """Every input name the form can send (for prefill from a query string)."""
    names = {TZ_FIELD, "at"}
    for sec in form_definition():
        for f in sec.fields:
            if f.type in ("terms", "orders"):
                names.update(f"{f.name}.{o}" for o in f.options)
            elif f.type == "medications":
                for i in range(min(f.rows, MAX_MED_ROWS)):
                    for part in ("drug", "dose", "dose_unit", "frequency", "route", "last"):
                        names.add(f"{f.name}.{i}.{part}")
            else:
                names.add(f.name)
                if f.units:
                    names.add(f"{f.name}.unit")
    return names


def option_label(kb: KnowledgeBase, concept: str) -> str:
    """The concept's display name, else the form's own label, else the id made readable."""
    c = kb.concepts.get(concept)
    if c is not None:
        return c.display
    own = form_codes().get(concept)
    if own is not None:
        return own
    return concept.replace("-", " ").capitalize()


def unit_label(code: str) -> str:
    return form_codes().get(code) or fmt.unit(code)


def time_zone(raw: str) -> zoneinfo.ZoneInfo | None:
    """An IANA time zone by name (``America/Chicago``); None if unknown."""
    name = raw.strip()
    if not name or len(name) > 64 or ".." in name or name.startswith("/"):
        return None
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


def local_time(raw: str, zone: dt.tzinfo) -> str | None:
    """A date or datetime-local value as ISO 8601 with the offset of ``zone`` at that moment.

    Raises ValueError for text that is not a date or date-time.
    """
    if not raw:
        return None
    if len(raw) == 10:
        return dt.date.fromisoformat(raw).isoformat()
    value = dt.datetime.fromisoformat(raw)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.isoformat()


def _put(doc: dict[str, Any], path: str, value: Any) -> None:
    head, _, rest = path.partition(".")
    if not rest:
        doc[head] = value
        return
    inner = doc.setdefault(head, {})
    inner[rest] = value


class _Reader:
    """Reads one submitted form into a case file, collecting problems per field."""

    def __init__(self, form: Mapping[str, Any], kb: KnowledgeBase) -> None:
        self.form = form
        self.kb = kb
        self.errors: dict[str, FieldError] = {}
        raw_tz = self.text(TZ_FIELD)
        zone = time_zone(raw_tz) if raw_tz else zoneinfo.ZoneInfo(DEFAULT_TZ)
        if zone is None:
            self.errors[TZ_FIELD] = FieldError(
                f"'{raw_tz[:64]}' is not a time zone name; use one such as Europe/London or "
                "America/Chicago"
            )
            zone = zoneinfo.ZoneInfo(DEFAULT_TZ)
        self.zone = zone
        self.tz = str(zone)
        self.lab_time: str | None = None

    def text(self, name: str) -> str:
        value = self.form.get(name)
        return value.strip() if isinstance(value, str) else ""

    def confirmed(self, name: str) -> bool:
        return bool(self.text(f"{name}.confirm"))

    def number(self, name: str, label: str) -> float | None:
        raw = self.text(name).replace(" ", "").replace("\u202f", "")
        if not raw:
            return None
        if _GROUPED.match(raw):
            self.errors[name] = FieldError(
                f"{label}: '{raw[:20]}' is ambiguous (thousands separator or decimal comma?); "
                "write the number without separators, with a point for decimals"
            )
            return None
        if raw.count(",") == 1 and "." not in raw:
            raw = raw.replace(",", ".")  # decimal comma
        try:
            num = float(raw)
        except ValueError:
            self.errors[name] = FieldError(f"{label}: '{raw[:20]}' is not a number")
            return None
        if num != num or num in (float("inf"), float("-inf")):
            self.errors[name] = FieldError(f"{label}: '{raw[:20]}' is not a number")
            return None
        return num

    def time(self, name: str, label: str) -> str | None:
        raw = self.text(name)
        try:
            return local_time(raw, self.zone)
        except ValueError:
            self.errors[name] = FieldError(f"{label}: '{raw[:30]}' is not a date and time")
            return None

    def convert(self, f: FormField, value: float, unit: str, target: str) -> float | None:
        return unit_converter(self.kb).convert(f.concept or "", value, unit, target)

    def plausible(self, f: FormField, num: float, unit: str | None) -> bool:
        """Check a number against the field's ranges; record the problem; True if usable."""
        if f.refuse is None and f.query is None:
            return True
        first = f.first_unit
        value = num
        if unit and first and unit != first:
            converted = self.convert(f, num, unit, first)
            if converted is None:
                self.errors[f.name] = FieldError(f"{f.label}: cannot convert {unit} to {first}")
                return False
            value = converted
        shown = f"{fmt.number(num)} {unit_label(unit)}".strip() if unit else fmt.number(num)
        if f.refuse is not None and not f.refuse[0] <= value <= f.refuse[1]:
            lo, hi = (f"{fmt.number(x)} {unit_label(first or '')}".strip() for x in f.refuse)
            msg = f"{f.label} {shown} is not possible (possible range {lo} to {hi})"
            hint = self._other_unit(f, num, unit)
            self.errors[f.name] = FieldError(msg + (f"; {hint}" if hint else ""))
            return False
        if f.query is not None and not f.query[0] <= value <= f.query[1]:
            if self.confirmed(f.name):
                return True
            lo, hi = (f"{fmt.number(x)} {unit_label(first or '')}".strip() for x in f.query)
            self.errors[f.name] = FieldError(
                f"{f.label} {shown} is unusual (usual range {lo} to {hi}). Check the value and "
                "its unit, then tick 'value checked' to use it",
                confirm=True,
            )
            return False
        return True

    def _other_unit(self, f: FormField, num: float, unit: str | None) -> str | None:
        """If the number is usual in another of the field's units, say so."""
        first = f.first_unit
        usual = f.query or f.refuse
        if not (first and usual):
            return None
        for other in f.units:
            if other == unit:
                continue
            value = self.convert(f, num, other, first)
            if value is not None and usual[0] <= value <= usual[1]:
                return (
                    f"as {fmt.number(num)} {unit_label(other)} it would be "
                    f"{fmt.number(round(value, 3))} {unit_label(first)}: choose the unit"
                )
        return None

    def read(self) -> dict[str, Any]:
        doc: dict[str, Any] = {}
        labs: list[dict[str, Any]] = []
        lists: dict[str, list[Any]] = {}
        for sec in form_definition():
            for f in sec.fields:
                self._field(f, doc, labs, lists)
        if labs:
            if self.lab_time:
                for lab in labs:
                    lab["time"] = self.lab_time
            doc["labs"] = labs
        for key, items in lists.items():
            if items:
                doc[key] = items
        doc.setdefault("date", dt.datetime.now(self.zone).replace(microsecond=0).isoformat())
        return doc

    def _field(
        self,
        f: FormField,
        doc: dict[str, Any],
        labs: list[dict[str, Any]],
        lists: dict[str, list[Any]],
    ) -> None:
        if f.type == "text":
            value = self.text(f.name)[:80]
            if value:
                _put(doc, f.path, value)
        elif f.type == "date":
            value = self.text(f.name)
            if value:
                try:
                    dt.date.fromisoformat(value)
                except ValueError:
                    self.errors[f.name] = FieldError(f"{f.label}: '{value[:20]}' is not a date")
                    return
                _put(doc, f.path, value)
        elif f.type == "datetime":
            when = self.time(f.name, f.label)
            if when and f.path == "labs.time":
                self.lab_time = when
            elif when:
                _put(doc, f.path, when)
        elif f.type in ("code", "concept"):
            value = self.text(f.name)
            if value in f.options:
                _put(doc, f.path, value)
        elif f.type == "boolean":
            value = self.text(f.name)
            if value in ("yes", "no"):
                _put(doc, f.path, value == "yes")
        elif f.type == "number":
            self._number_field(f, doc, labs)
        elif f.type == "terms":
            ticked = [o for o in f.options if self.text(f"{f.name}.{o}")]
            lists.setdefault(f.path, []).extend(ticked)
        elif f.type == "orders":
            ticked = [o for o in f.options if self.text(f"{f.name}.{o}")]
            lists.setdefault(f.path, []).extend({"type": o} for o in ticked)
        elif f.type == "drug-order":
            value = self.text(f.name)
            if value in f.options:
                order: dict[str, Any] = {"drug": value}
                if f.route:
                    order["route"] = f.route
                lists.setdefault(f.path, []).append(order)
        elif f.type == "medications":
            for i in range(min(f.rows, MAX_MED_ROWS)):
                med = self._medication(f, i)
                if med is not None:
                    lists.setdefault(f.path, []).append(med)

    def _number_field(self, f: FormField, doc: dict[str, Any], labs: list[dict[str, Any]]) -> None:
        num = self.number(f.name, f.label)
        if num is None:
            return
        unit = f.unit
        if f.units:
            chosen = self.text(f"{f.name}.unit")
            unit = chosen if chosen in f.units else f.units[0]
        if not self.plausible(f, num, unit):
            return
        if f.path.startswith("labs."):
            lab: dict[str, Any] = {"test": f.path.split(".", 1)[1], "value": num}
            if unit:
                lab["unit"] = unit
            labs.append(lab)
        elif f.units and f.unit:
            # a case-file field with one fixed unit (weight in kg): convert with the unit table
            value = num if unit == f.unit else self.convert(f, num, unit or "", f.unit)
            if value is not None:
                _put(doc, f.path, round(value, 3))
        elif f.units:
            _put(doc, f.path, {"value": num, "unit": unit})
        else:
            _put(doc, f.path, int(num) if num.is_integer() else num)

    def _medication(self, f: FormField, i: int) -> dict[str, Any] | None:
        prefix = f"{f.name}.{i}"
        drug = self.text(f"{prefix}.drug")
        if drug not in f.options:
            if drug:
                self.errors[f"{prefix}.drug"] = FieldError(f"'{drug[:40]}' is not in the list")
            return None
        med: dict[str, Any] = {"drug": drug}
        dose = self.number(f"{prefix}.dose", "Dose")
        if dose is not None:
            if dose <= 0:
                self.errors[f"{prefix}.dose"] = FieldError("Dose: must be more than 0")
            else:
                med["dose"] = dose
                chosen = self.text(f"{prefix}.dose_unit")
                units = f.dose_units or ("mg",)
                med["unit"] = chosen if chosen in units else units[0]
        frequency = self.text(f"{prefix}.frequency")
        if frequency in f.frequencies:
            med["frequency"] = frequency
        route = self.text(f"{prefix}.route")
        if route in f.routes:
            med["route"] = route
        last = self.time(f"{prefix}.last", "Time of the last dose")
        if last:
            med["last_dose"] = last
        return med


def read_case_form(form: Mapping[str, Any], kb: KnowledgeBase) -> FormResult:
    """Build a case file (docs/case-file.md) from the submitted form, with per-field problems."""
    reader = _Reader(form, kb)
    doc = reader.read()
    return FormResult(doc, reader.errors, reader.tz)


def form_to_casefile(form: Mapping[str, Any], kb: KnowledgeBase | None = None) -> dict[str, Any]:
    """The case file of a form (problems dropped: for tests and scripts that check them apart)."""
    if kb is None:
        from leptoguide.knowledge.loader import get_knowledge

        kb = get_knowledge()
    return read_case_form(form, kb).casefile


def form_field_of(case_path: str | None) -> str | None:
    """The form field a case-file path comes from (``patient.weight_kg`` -> ``weight``)."""
    if not case_path:
        return None
    for sec in form_definition():
        for f in sec.fields:
            if f.path == case_path:
                return f.name
            if f.type == "medications" and case_path.startswith(f.path + "["):
                idx, _, rest = case_path[len(f.path) + 1 :].partition("]")
                part = {"last_dose": "last", "dose": "dose", "drug": "drug", "unit": "dose_unit"}
                key = part.get(rest.lstrip("."), "drug")
                return f"{f.name}.{idx}.{key}"
    return None
