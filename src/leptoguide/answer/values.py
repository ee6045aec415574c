"""Patient values written in a question: platelets, INR, weight, age, drug, dose, last dose, CSF.

``read_values(question, kb, vocabulary)`` finds them and returns a case-file fragment
(docs/case-file.md) plus a human-readable list of what was read, so the user can check and correct
it. Nothing is judged here: the case-file reader validates and converts units, the engine decides.
Which words name a test or a drug comes from the terminology (concept synonyms) and the question
vocabulary (shorthand such as "plt", "bd"); this module only knows how numbers are written.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from leptoguide.answer.text import tokens

if TYPE_CHECKING:
    from leptoguide.answer.vocabulary import QuestionVocabulary
    from leptoguide.knowledge.loader import KnowledgeBase

_NUM = r"(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)"
PER_UL_FROM = 1000
"""A platelet count written as 1000 or more is a count per microlitre (the "45000" habit)."""


@dataclass
class ValueRead:
    label: str
    value: Any
    unit: str | None
    text: str
    form: dict[str, str] = field(default_factory=dict)
    context: bool = False
    """Read as context only (a drug the patient is said to be on, with no dose or time): it goes
    into the case, but alone it does not make the question one about this patient's values."""

    def to_dict(self) -> dict[str, Any]:
        return {"what": self.label, "value": self.value, "unit": self.unit, "from": self.text}


@dataclass
class ValuesRead:
    values: list[ValueRead] = field(default_factory=list)
    case: dict[str, Any] = field(default_factory=dict)
    start: str | None = None
    """A start date for a planned course ("starting 2026-12-07")."""

    def __bool__(self) -> bool:
        return any(not v.context for v in self.values)

    def form(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for v in self.values:
            for k, val in v.form.items():
                out[k] = f"{out[k]},{val}" if k in out and k == "anticoagulants" else val
        return out


def _number(text: str) -> float:
    return float(text.replace(",", ""))


def _names(kb: KnowledgeBase, vocab: QuestionVocabulary, concept: str) -> list[str]:
    c = kb.concepts.get(concept)
    names = [concept.replace("-", " ")]
    if c is not None:
        names += [c.display, *c.synonyms]
    for entry in vocab.by_role.get("same-as", []):
        if entry.means and entry.means.split()[0] in {n.lower() for n in names}:
            names += entry.terms
    return sorted({n for n in names if n and len(n) >= 2}, key=len, reverse=True)


def _alternation(names: list[str]) -> str:
    return "|".join(re.escape(n) for n in names)


def _after(
    names: list[str], text: str, gap: str = r"[\s:=]*(?:of|is|are|was|at|now)?[\s:=]*"
) -> re.Match[str] | None:
    rx = re.compile(rf"(?<![A-Za-z])(?:{_alternation(names)})(?![A-Za-z]){gap}{_NUM}", re.I)
    return rx.search(text)


def read_values(
    question: str,
    kb: KnowledgeBase,
    vocab: QuestionVocabulary,
    at: dt.datetime,
    asked_about: frozenset[str] = frozenset(),
) -> ValuesRead:
    """Values written in ``question``. ``asked_about``: names of drugs the question asks about
    (a dose question), which are therefore not drugs the patient takes."""
    out = ValuesRead()
    patient: dict[str, Any] = {}
    labs: list[dict[str, Any]] = []
    text = question

    m = _after(_names(kb, vocab, "platelets"), text)
    if m:
        n = _number(m.group(1))
        unit = "/uL" if n >= PER_UL_FROM else "10*9/L"
        tail = text[m.end() : m.end() + 2].lower()
        if unit == "10*9/L" and tail.startswith("k"):
            unit = "10*3/uL"
        labs.append({"test": "platelets", "value": n, "unit": unit})
        shown = n / PER_UL_FROM if unit == "/uL" else n
        out.values.append(ValueRead("platelets", n, unit, m.group(0), {"platelets": f"{shown:g}"}))
    m = _after(_names(kb, vocab, "inr"), text)
    if m:
        n = _number(m.group(1))
        labs.append({"test": "INR", "value": n})
        out.values.append(ValueRead("INR", n, None, m.group(0), {"inr": f"{n:g}"}))
    m = re.search(rf"{_NUM}\s*(?:kg|kgs|kilos?|kilograms?)\b", text, re.I)
    if m:
        n = _number(m.group(1))
        patient["weight_kg"] = n
        out.values.append(ValueRead("weight", n, "kg", m.group(0), {"weight": f"{n:g}"}))
    age = _age(text, at)
    if age is not None:
        key, n, src = age
        patient[key] = n
        unit = "years" if key == "age_years" else "days"
        out.values.append(ValueRead("age", n, unit, src, {key: f"{n:g}"}))
    meds = _medications(text, kb, vocab, at, asked_about)
    for med, src in meds:
        parts = [str(med["drug"])]
        if "dose" in med:
            parts.append(f"{med['dose']:g} {med.get('unit', '')}".strip())
        if "frequency" in med:
            parts.append(str(med["frequency"]))
        if "last_dose" in med:
            parts.append(f"last dose {med['last_dose']}")
        out.values.append(
            ValueRead(
                "drug",
                " ".join(parts),
                None,
                src,
                {"anticoagulants": med["drug"]},
                context="dose" not in med and "last_dose" not in med,
            )
        )
    csf = _csf(text)
    for key, (n, src) in csf.items():
        num = n["value"] if isinstance(n, dict) else n
        csf_unit: str | None = n["unit"] if isinstance(n, dict) else None
        out.values.append(ValueRead(f"CSF {key}", num, csf_unit, src, {f"csf_{key}": f"{num:g}"}))
    start = re.search(r"\b(?:starting|start|from|on)\s+(\d{4}-\d{2}-\d{2})\b", text)

    case: dict[str, Any] = {"date": at.isoformat()}
    if patient:
        case["patient"] = patient
    if labs:
        case["labs"] = labs
    if meds:
        case["medications"] = [m for m, _ in meds]
    if csf:
        case["csf"] = {k: v for k, (v, _) in csf.items()}
    if start:
        out.start = start.group(1)
        out.values.append(ValueRead("start date", start.group(1), None, start.group(0)))
    out.case = case
    return out


def _age(text: str, at: dt.datetime) -> tuple[str, float, str] | None:
    m = re.search(
        rf"{_NUM}\s*[- ]?\s*(?:years?|yrs?|y)\s*[- ]?\s*old\b|{_NUM}\s*(?:yo|y/o|y\.o\.)(?![a-z])"
        rf"|\baged?\s+{_NUM}\b",
        text,
        re.I,
    )
    if m:
        n = _number(next(g for g in m.groups() if g))
        return "age_years", n, m.group(0)
    m = re.search(rf"{_NUM}\s*[- ]?\s*(days?|weeks?|months?)\s*[- ]?\s*old\b", text, re.I)
    if m:
        n = _number(m.group(1))
        unit = m.group(2).lower()
        if unit.startswith("day"):
            return "age_days", n, m.group(0)
        if unit.startswith("week"):
            return "age_days", n * 7, m.group(0)
        # months: count calendar days back from the evaluation date
        months = int(n)
        year, month = at.year, at.month - months
        while month <= 0:
            month += 12
            year -= 1
        day = min(at.day, 28)
        born = dt.date(year, month, day)
        return "age_days", float((at.date() - born).days), m.group(0)
    return None


def _medications(
    text: str,
    kb: KnowledgeBase,
    vocab: QuestionVocabulary,
    at: dt.datetime,
    asked_about: frozenset[str] = frozenset(),
) -> list[tuple[dict[str, Any], str]]:
    """Drugs named in the question with dose, frequency and time of the last dose when given.

    A drug becomes a medication of the case only when the question gives its dose or last dose: "ceftriaxone dose for ..." asks about a drug, it does not say the patient takes it.
    """
    from leptoguide.answer.expand import Lexicon

    meds = [
        c
        for c in kb.concepts.values()
        if c.kind == "medication"
        and not {n.lower() for n in (c.id, c.display, *c.synonyms)} & asked_about
    ]
    lex = Lexicon.from_concepts((c.id, c.kind, [c.display, *c.synonyms]) for c in meds)
    out: list[tuple[dict[str, Any], str]] = []
    seen: set[str] = set()
    for phrase in lex.find(text):
        if phrase.concept in seen:
            continue
        seen.add(phrase.concept)
        med: dict[str, Any] = {"drug": phrase.concept}
        idx = text.lower().find(phrase.text.lower())
        window = text[idx : idx + 80] if idx >= 0 else text
        src = window.split(",")[0] if idx >= 0 else phrase.text
        dose = re.search(
            rf"(?:{re.escape(phrase.text)})\w*\s+{_NUM}\s*(mg|g|mcg|micrograms?|units?|iu)?",
            window,
            re.I,
        )
        if dose:
            med["dose"] = _number(dose.group(1))
            med["unit"] = (dose.group(2) or "mg").lower()
        freq = _frequency(window, vocab)
        if freq:
            med["frequency"] = freq
        last = re.search(
            rf"(?:last\s+(?:dose|given|taken|injection|tablet)\D{{0,12}})?{_NUM}\s*"
            r"(h|hr|hrs|hours?|d|days?)\s+ago",
            text,
            re.I,
        )
        if last:
            n = _number(last.group(1))
            hours = n * 24 if last.group(2).lower().startswith("d") else n
            med["last_dose"] = (at - dt.timedelta(hours=hours)).isoformat()
        if "dose" in med or "last_dose" in med:  # a drug the patient takes
            out.append((med, src.strip()))
        elif taking := _taking(text, phrase.text, vocab):  # "on apixaban", "calcium drip"
            out.append((med, taking.strip()))
    return out


def _taking(text: str, name: str, vocab: QuestionVocabulary) -> str | None:
    """The words around ``name`` that say the patient is on it ("with a calcium infusion",
    "on apixaban"), from the vocabulary role 'taking'; None when there are none."""
    for entry in vocab.by_role.get("taking", []):
        terms = _alternation(sorted(entry.terms, key=len, reverse=True))
        if entry.means == "after":
            rx = rf"(?<![A-Za-z]){re.escape(name)}\w*\s+(?:{terms})(?![A-Za-z])"
        else:
            rx = rf"(?<![A-Za-z])(?:{terms})\s+(?:(?:a|an|the|some|his|her|their|iv|i\.v\.)\s+)?{re.escape(name)}(?![A-Za-z])"
        m = re.search(rx, text, re.I)
        if m:
            return m.group(0)
    return None


def _frequency(window: str, vocab: QuestionVocabulary) -> str | None:
    words = " " + " ".join(tokens(window)) + " "
    for entry in vocab.by_role.get("frequency", []):
        for term in entry.terms:
            if f" {' '.join(tokens(term))} " in words and entry.means:
                return entry.means
    return None


def _csf(text: str) -> dict[str, tuple[Any, str]]:
    if not re.search(r"\b(csf|cerebrospinal|spinal fluid|lp)\b", text, re.I):
        return {}
    out: dict[str, tuple[Any, str]] = {}
    pats = {
        "wbc": r"(?:wcc|wbc|white cells?|white count|cells)\s*(?:of|is|=|:)?\s*",
        "protein": r"protein\s*(?:of|is|=|:)?\s*",
        "glucose": r"(?<!serum )(?<!blood )glucose\s*(?:of|is|=|:)?\s*",
    }
    for key, pat in pats.items():
        m = re.search(pat + _NUM + r"\s*(g/l|mg/dl|mmol/l|/ul|/mm3)?", text, re.I)
        if m:
            value: Any = _number(m.group(1))
            if m.group(2):
                value = {"value": value, "unit": m.group(2)}
            out[key] = (value, m.group(0).strip())
    return out


__all__ = ["ValueRead", "ValuesRead", "read_values"]
