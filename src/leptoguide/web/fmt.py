"""Display formatting for values, units, dates and ids on pages (never used for computation)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from markupsafe import Markup, escape
from pydantic import BaseModel

from leptoguide.knowledge.loader import KnowledgeBase

_SUPERSCRIPT = str.maketrans("0123456789-", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻")
_POWER = re.compile(r"^10\*(-?\d+)(.*)$")


def number(value: float | int) -> str:
    """Integers without a decimal part ("1", not "1.0"); other numbers without float noise."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return str(value)
    if value != value or value in (float("inf"), float("-inf")):  # NaN, infinities
        return str(value)
    if float(value).is_integer():
        return str(int(value))
    return f"{value:.6g}"


_MICRO = re.compile(r"(?<![A-Za-z])u(?=[LgmM])")
_ANNOTATION = re.compile(r"\[([A-Za-z0-9]+?)(?:_[a-z]+)?\]")


def unit(code: str | None) -> str:
    """A UCUM code as people write it: ``10*9/L`` -> ``×10⁹/L``; ``/uL`` -> ``/µL``;
    ``[lb_av]`` -> ``lb``; ``{score}`` braces dropped."""
    if not code:
        return ""
    m = _POWER.match(code)
    if m:
        return "×10" + m.group(1).translate(_SUPERSCRIPT) + _MICRO.sub("µ", m.group(2))
    text = code.replace("{", "").replace("}", "")
    text = _ANNOTATION.sub(lambda a: " " + a.group(1) if a.start() else a.group(1), text)
    return _MICRO.sub("µ", text)


_CHOICES = re.compile(r":[^:]*\|.*$")


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def label(kb: KnowledgeBase, key: str) -> str:
    """A readable name for a fact, concept or rule id (capitalised), else the id made readable.

    A fact read from a concept takes the concept's display name; otherwise its description
    without the list of allowed values (``"CSF cytology: positive | negative"`` -> ``"CSF cytology"``).
    """
    fact = kb.facts.get(key)
    if fact is not None:
        concept = kb.concepts.get(fact.concept) if fact.concept else None
        if concept is not None:
            return _cap(concept.display)
        text = _CHOICES.sub("", fact.description).replace(" (concept ids)", "").strip()
        if text:
            return _cap(text)
    concept = kb.concepts.get(key)
    if concept is not None:
        return _cap(concept.display)
    rule = kb.rules.get(key)
    if rule is not None:
        return rule.title
    return key.replace("-", " ").capitalize()


def value(kb: KnowledgeBase, raw: object) -> str:
    """A recorded value for reading: numbers tidy, booleans yes/no, concept ids by their name."""
    if raw is None:
        return ""
    if isinstance(raw, bool | int | float):
        return number(raw)
    if isinstance(raw, list | tuple | set):
        return ", ".join(value(kb, x) for x in raw)
    if isinstance(raw, BaseModel):  # a computed object a finding shows in full
        raw = raw.model_dump()
    if isinstance(raw, dict):
        return "; ".join(f"{k}: {value(kb, v)}" for k, v in raw.items())
    text = str(raw)
    concept = kb.concepts.get(text)
    return _cap(concept.display) if concept is not None else text


def _parse(text: str) -> dt.datetime | dt.date | None:
    try:
        if len(text) == 10:
            return dt.date.fromisoformat(text)
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def when_text(raw: object, zone: dt.tzinfo | None = None) -> str:
    """``2026-11-18T00:00:00Z`` -> ``18 Nov 2026``; with a time of day -> ``12 Nov 2026, 10:20 UTC``.

    With ``zone``, a date-time is shown in that zone (``12 Nov 2026, 04:20 CST``).
    """
    if raw is None or raw == "":
        return ""
    text = str(raw)
    parsed = _parse(text)
    if parsed is None:
        return text
    if not isinstance(parsed, dt.datetime):
        return f"{parsed.day} {parsed:%b %Y}"
    if zone is not None and parsed.tzinfo is not None:
        local = parsed.astimezone(zone)
        return f"{local.day} {local:%b %Y}, {local:%H:%M} {local.tzname() or ''}".rstrip()
    day = f"{parsed.day} {parsed:%b %Y}"
    if (parsed.hour, parsed.minute, parsed.second) == (0, 0, 0):
        return day
    offset = parsed.utcoffset()
    if offset is None:
        suffix = ""
    elif offset == dt.timedelta(0):
        suffix = " UTC"
    else:
        suffix = " " + parsed.strftime("%z")[:3] + ":" + parsed.strftime("%z")[3:]
    return f"{day}, {parsed:%H:%M}{suffix}"


def when(raw: object, zone: dt.tzinfo | None = None) -> Markup:
    """A ``<time>`` element: readable text (in ``zone`` if given), the ISO value in ``datetime``."""
    if raw is None or raw == "":
        return Markup("")
    iso = escape(str(raw))
    if _parse(str(raw)) is None:
        return Markup(iso)
    return Markup(f'<time datetime="{iso}" title="{iso}">{escape(when_text(raw, zone))}</time>')


@dataclass(frozen=True)
class Currency:
    """Topics that share a literature-search date and a last-update date."""

    literature_reviewed_through: dt.date
    last_updated: dt.date
    topics: tuple[str, ...]


def topic_currency(kb: KnowledgeBase, topic_ids: Iterable[str]) -> list[Currency]:
    """The currency of these topics as readers expect it (UpToDate: "literature review current
    through", "last updated"), topics with the same two dates together; topics without a record
    are left out. Oldest literature date first."""
    groups: dict[tuple[dt.date, dt.date], list[str]] = {}
    for tid in dict.fromkeys(topic_ids):
        topic = kb.topics.get(tid)
        if topic is not None:
            key = (topic.literature_reviewed_through, topic.last_updated)
            groups.setdefault(key, []).append(topic.title)
    return [Currency(lit, upd, tuple(titles)) for (lit, upd), titles in sorted(groups.items())]
