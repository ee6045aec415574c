"""Shared parts of the FHIR and case-file readers: dates, values, units, warnings, inference."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, TypeGuard

from leptoguide.case import UNZONED, ZONE_SPAN, Case, ConditionEntry, Observed, ReadWarning
from leptoguide.errors import InputError
from leptoguide.intake.terminology import TermIndex, normalize_text, term_index
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.models import Concept, Implication
from leptoguide.knowledge.units import UnitConverter, unit_converter

TYPICAL_SIGNS = "typical-lm-signs"
"""Contract concept id of the 'typical clinical signs of LM' finding."""
SYMPTOM_CLASS = "lm-symptom"
"""Concept class of the symptoms that count as typical LM signs."""

_TRUE_WORDS = {"yes", "y", "true", "present", "positive", "detected", "pos", "1"}
_FALSE_WORDS = {
    "no",
    "n",
    "false",
    "absent",
    "negative",
    "not detected",
    "neg",
    "0",
    "none",
    "no growth",
}

_TIMING_CODES = {
    "QD": 1.0,
    "AM": 1.0,
    "PM": 1.0,
    "BED": 1.0,
    "BID": 2.0,
    "TID": 3.0,
    "QID": 4.0,
    "QOD": 0.5,
    "WK": 1 / 7,
    "MO": 1 / 30,
}
"""FHIR Timing.code abbreviations (HL7 GTSAbbreviation) as times per day; QnH is parsed."""
_QNH = re.compile(r"^Q(\d+)H$")
_PER = re.compile(r"^(\d+(?:\.\d+)?)\s*(?:X\s*)?/\s*(H|D|WK|MO)$")
_PER_DAYS = {"H": 1 / 24, "D": 1.0, "WK": 7.0, "MO": 30.0}

_DATE_RE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def parse_datetime(value: Any, where: str, field: str) -> dt.datetime:
    """A FHIR date or dateTime as an aware datetime (dates and partial dates at 00:00 UTC; a time
    of day without a zone in :data:`UNZONED`)."""
    if not isinstance(value, str):
        raise InputError(where, f"expected a date or date-time string, got {_show(value)}", field)
    text = value.strip()
    try:
        if _DATE_RE.match(text):
            parts = [int(p) for p in text.split("-")]
            while len(parts) < 3:
                parts.append(1)
            return dt.datetime(parts[0], parts[1], parts[2], tzinfo=dt.UTC)
        parsed = dt.datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        raise InputError(where, f"cannot read date '{text}' (expected ISO 8601)", field) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UNZONED)
    return parsed


_ZONED = re.compile(r"(?:[zZ]|[+-]\d{2}:?\d{2})$")


def time_imprecision(value: Any) -> tuple[str, tuple[float, float]] | None:
    """Why a FHIR date or dateTime (as read by ``parse_datetime``, which takes it as UTC) does
    not fix an instant, and how many hours before and after it the true time may be; None when
    it has a time of day and a zone."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if _DATE_RE.match(text):  # a day, a month (counted as 31 days) or a year (366 days)
        days = {10: 1, 7: 31, 4: 366}.get(len(text), 366)
        return "a date and no time", (ZONE_SPAN[0], days * 24 + ZONE_SPAN[1])
    if "T" in text and not _ZONED.search(text):
        return "no time zone", ZONE_SPAN
    return None


def parse_date(value: Any, where: str, field: str) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    return parse_datetime(value, where, field).date()


def bool_word(text: str) -> bool | None:
    """True/False for yes/no, present/absent, positive/negative and the like; else None."""
    norm = normalize_text(text)
    if norm in _TRUE_WORDS:
        return True
    if norm in _FALSE_WORDS:
        return False
    return None


def is_number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f"string '{value[:40]}'"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return f"{type(value).__name__} {value!r}"


show = _show
_TITRE = re.compile(r"^\s*(<)?\s*1\s*:\s*\d+\s*$")
"""A titre: '1:640' (antigen detected at that dilution) or '<1:2' (not detected)."""


@dataclass
class CaseBuilder:
    """Collects what a reader finds into a Case, converting units and recording warnings."""

    kb: KnowledgeBase
    case: Case
    index: TermIndex
    units: UnitConverter

    @classmethod
    def start(cls, kb: KnowledgeBase, origin: Any, name: str) -> CaseBuilder:
        case = Case(origin=origin, source_name=name)
        return cls(kb=kb, case=case, index=term_index(kb), units=unit_converter(kb))

    def warn(
        self, where: str, message: str, field: str | None = None, *, check: bool = False
    ) -> None:
        self.case.warnings.append(
            ReadWarning(where=where, message=message, field=field, check=check)
        )

    def add_quantity(
        self,
        concept: Concept,
        value: float,
        unit: str | None,
        *,
        time: dt.datetime | None,
        reference: str | None,
        where: str,
        field: str,
        note: str | None = None,
    ) -> None:
        """A number with a unit, converted to the concept's canonical unit when it has one."""
        target = concept.unit
        status: Any = "ok"
        out_value: Any = value
        out_unit = unit
        if target is not None:
            if unit is None or not unit.strip():
                if self.units.assumes_base(target):
                    out_unit = target
                else:
                    status = "unparseable"
                    self.warn(
                        where,
                        f"{concept.id}: value {value:g} has no unit (expected {target}); "
                        "kept but not used",
                        field,
                    )
            else:
                converted = self.units.convert(concept.id, float(value), unit, target)
                if converted is None:
                    status = "unparseable"
                    have, want = self.units.kind(unit), self.units.kind(target)
                    what = (
                        f" ({have.lower()}, not {want.lower()})"
                        if have and want and have != want
                        else ""
                    )
                    self.warn(
                        where,
                        f"{concept.id}: unreadable unit '{unit}'{what}: cannot be converted to "
                        f"{target}; value {value:g} {unit} kept but not used",
                        field,
                    )
                else:
                    out_value, out_unit = converted, target
        self.case.observations.append(
            Observed(
                concept=concept.id,
                value=out_value,
                unit=out_unit,
                time=time,
                reference=reference,
                status=status,
                note=note,
                original_value=value,
                original_unit=unit,
            )
        )
        if time is None:
            self.warn(where, f"{concept.id}: value has no date or time", field)

    def add_value(
        self,
        concept: Concept,
        value: Any,
        *,
        time: dt.datetime | None,
        reference: str | None,
        where: str,
        field: str | None,
        note: str | None = None,
        status: Any = "ok",
    ) -> None:
        """A coded, boolean or text value (or an unusable one with status 'unparseable')."""
        self.case.observations.append(
            Observed(
                concept=concept.id,
                value=value,
                time=time,
                reference=reference,
                status=status,
                note=note,
                original_value=value,
            )
        )
        if time is None and status == "ok":
            self.warn(where, f"{concept.id}: value has no date or time", field)

    def coded_value(self, concept: Concept, candidates: list[str]) -> tuple[Any, bool]:
        """Interpret codes/texts as a value of a concept: ``(value, usable)``.

        A value-set entry for coded concepts; yes/no words as booleans; else the text itself for
        text-valued concepts (a culture's organism); else the first candidate, not usable."""
        if concept.value_set:
            for cand in candidates:
                hit = self.index.value_code(concept.id, cand)
                if hit is not None:
                    return hit, True
            vs = set(concept.value_set)
            if {"positive", "negative"} <= vs:
                for cand in candidates:
                    b = self._result_bool(cand)
                    if b is not None:
                        return ("positive" if b else "negative"), True
            return (candidates[0] if candidates else None), False
        if concept.unit is None or concept.detectable:
            for cand in candidates:
                b = self._result_bool(cand)
                if b is not None:
                    return b, True
        if concept.unit is None and candidates:
            return candidates[0], True
        return (candidates[0] if candidates else None), False

    def _result_bool(self, text: str) -> bool | None:
        """A yes/no word, a laboratory result phrase ('Reactive', 'No growth after 48 hours',
        'MTB DETECTED LOW; RIF resistance NOT DETECTED') or a titre ('1:640' is detected,
        '<1:2' is not); else None."""
        b = bool_word(text)
        if b is None:
            b = self.index.result_word(text)
        if b is None:
            m = _TITRE.match(text)
            if m:
                b = not m.group(1)
        return b

    def bool_to_value(self, concept: Concept, value: bool) -> tuple[Any, bool]:
        if concept.value_set:
            vs = set(concept.value_set)
            if {"positive", "negative"} <= vs:
                return ("positive" if value else "negative"), True
            return value, False
        if concept.unit is not None:
            return value, False
        return value, True

    def finish(self) -> Case:
        infer_typical_signs(self)
        infer_implied_conditions(self)
        return self.case


def infer_typical_signs(builder: CaseBuilder) -> None:
    """Typical LM signs = True when active lm-symptom conditions exist and nothing says otherwise.

    No symptoms -> nothing is added (absence of recorded symptoms is not evidence of absence).
    """
    case = builder.case
    concepts = builder.kb.concepts
    if TYPICAL_SIGNS not in concepts:
        return
    if any(o.concept == TYPICAL_SIGNS for o in case.observations):
        return
    found: list[ConditionEntry] = []
    for cond in case.conditions:
        c = concepts.get(cond.concept)
        if cond.active and c is not None and SYMPTOM_CLASS in c.classes:
            found.append(cond)
    if not found:
        return
    names = []
    for cond in found:
        label = cond.concept + (f" ({cond.reference})" if cond.reference else "")
        if label not in names:
            names.append(label)
    times = [c.onset for c in found if c.onset is not None]
    case.observations.append(
        Observed(
            concept=TYPICAL_SIGNS,
            value=True,
            time=max(times) if times else None,
            reference=found[0].reference,
            inferred=True,
            note="inferred from " + ", ".join(names),
        )
    )


def _implied(imp: Implication, value: Any) -> bool:
    if isinstance(value, bool):
        return str(value).lower() in imp.values
    if isinstance(value, int | float):
        return imp.above is not None and value > imp.above
    if isinstance(value, str):
        low = value.lower()
        return value in imp.values or any(c.lower() in low for c in imp.contains)
    return False


def infer_implied_conditions(builder: CaseBuilder) -> None:
    """Conditions a laboratory result establishes (``Concept.implies``): a positive CSF
    cryptococcal antigen adds cryptococcal meningitis, a detected HIV-1 RNA adds HIV, quoting the
    result. Only readable, current results count; a condition already recorded (in any status)
    is left as recorded."""
    case = builder.case
    concepts = builder.kb.concepts
    recorded = {c.concept for c in case.conditions}
    added: dict[str, ConditionEntry] = {}
    for obs in sorted(case.observations, key=lambda o: str(o.time)):
        concept = concepts.get(obs.concept)
        if concept is None or not concept.implies or obs.status != "ok":
            continue
        for imp in concept.implies:
            if imp.condition in recorded or not _implied(imp, obs.value):
                continue
            shown = obs.original_value if obs.original_value is not None else obs.value
            added[imp.condition] = ConditionEntry(
                concept=imp.condition,
                reference=obs.reference,
                onset=obs.time,
                text=f"established by {concept.display}: {shown}"
                + (f" ({obs.reference})" if obs.reference else ""),
            )
    case.conditions.extend(added.values())


def timing_code(code: str) -> float | None:
    """Times per day for QD/BID/TID/QID/QOD/AM/PM/BED/WK/MO, QnH, and 'n/d', 'n/wk', 'n/h', 'n/mo'."""
    c = code.strip().upper()
    if c in _TIMING_CODES:
        return _TIMING_CODES[c]
    m = _QNH.match(c)
    if m and int(m.group(1)) > 0:
        return 24 / int(m.group(1))
    m = _PER.match(c)
    if m:
        return round(float(m.group(1)) / _PER_DAYS[m.group(2)], 6)
    return None
