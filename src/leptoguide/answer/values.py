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
from typing import TYPE_CHECKING, Any, Literal, overload

from leptoguide.answer.text import tokens
from leptoguide.memo import once_per

if TYPE_CHECKING:
    from collections.abc import Iterable

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
    procedure_time: str | None = None
    """The planned time of the LP ("LP at 1400", "tap tomorrow 9am"), local to the evaluation."""
    now: str | None = None
    """The time the question says it is ("it's 09:00 now"), local to the evaluation: the engine
    assesses at that time."""
    unknown_drugs: list[str] = field(default_factory=list)
    """Names written like drugs (with a dose, or before 'infusion') that the terminology does not
    know: nothing can be checked about them, and the answer says so."""

    def __bool__(self) -> bool:
        return any(not v.context for v in self.values)

    def only_values(self, question: str) -> bool:
        """Whether ``question`` says nothing but these values ("plt 35 INR 1.2", "apixaban 5 bd
        last dose last night 10pm"): once the text of every value is taken out, only units,
        times and joining words are left."""
        if not self:
            return False
        rest = question
        for v in sorted(self.values, key=lambda v: len(v.text), reverse=True):
            rest = re.sub(re.escape(v.text), " ", rest, flags=re.I)
        words = re.findall(r"[a-z]+", rest.lower())
        return all(len(w) <= 2 or w in _VALUE_WORDS for w in words)

    def form(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for v in self.values:
            for k, val in v.form.items():
                out[k] = f"{out[k]},{val}" if k in out and k == "anticoagulants" else val
        return out


_VALUE_WORDS = frozenset(
    [
        "last",
        "dose",
        "doses",
        "given",
        "taken",
        "took",
        "at",
        "and",
        "on",
        "with",
        "plus",
        "the",
        "was",
        "is",
        "of",
        "ago",
        "hrs",
        "hours",
        "hour",
        "days",
        "day",
        "mins",
        "night",
        "yesterday",
        "today",
        "tonight",
        "this",
        "morning",
        "evening",
        "afternoon",
        "am",
        "pm",
        "now",
        "pt",
        "patient",
        "latest",
        "current",
        "labs",
        "units",
        "unit",
        "mg",
        "mcg",
        "kg",
        "ul",
        "mm",
        "bd",
        "bid",
        "od",
        "tds",
        "tid",
        "qds",
        "qid",
        "daily",
        "once",
        "twice",
        "nocte",
        "mane",
        "stat",
    ]
)
"""Words left in a question made only of values ("last dose", "this morning", "bd", "/uL")."""


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


def _alternation(names: Iterable[str]) -> str:
    return "|".join(re.escape(n) for n in names)


def _words(vocab: QuestionVocabulary, means: str) -> tuple[str, ...]:
    """Terms of the vocabulary's 'value-words' entries with this meaning, longest first."""
    return vocab.value_words.get(means, ())


def _link_gap(vocab: QuestionVocabulary) -> str:
    """What may stand between a value's name and its number: signs (":", "=") and up to four
    link words of the vocabulary ("came back at", "count is only", "down to", "today =")."""
    links = _alternation(_words(vocab, "link"))
    return rf"(?:[\s:=~]*(?:{links})(?![A-Za-z]))" + "{0,4}" + r"(?:[\s:=~]|\s[-–]\s)*"


_SCALE_12 = re.compile(r"\s*(?:x|×|\*)?\s*10\s*(?:\^|\*\*|\*|e)?\s*(?:12|¹²)\s*/\s*l\b", re.I)
"""A count written per 10^12/L ("0.049 x10^12/L"): a thousand times the count per 10^9/L."""


@dataclass
class _Lab:
    match: re.Match[str]
    value: float | None
    """None when the number is a bound or a range, which is kept but never used."""
    written: str
    scale_12: bool = False
    later: re.Match[str] | None = None
    """A later value of the same test written after this one ("INR 1.3 yesterday, 1.8 today",
    "plt 35 -> 48"): it is the value read."""

    @property
    def text(self) -> str:
        end = self.later.end() if self.later else self.match.end()
        return self.match.string[self.match.start() : end]

    @property
    def end(self) -> int:
        return self.later.end() if self.later else self.match.end()


_NOT_CLOCK = r"(?!(?:[01]\d|2[0-3])[0-5]\d\b|\d{1,2}[:.]\d{2}\s*(?:am|pm|h\b)|\d{1,2}\s*(?:am|pm))"
"""Not a clock time ("now 1400", "then 9pm"): a later value is a number, not a time."""
_NOW_WORDS = r"(?:today|now|this\s+morning|this\s+am|latest|most\s+recent|repeat)"
_LATER = re.compile(
    rf"\s*(?:x\s?10\S*|k\b)?\s*(?:\((?:[^)]{{0,20}})\)|yesterday|last\s+night|on\s+admission|"
    rf"\d+\s*(?:h|hrs?|hours?|d|days?)\s+ago|earlier)?\s*[,;]?\s*"
    rf"(?:(?:->|→|=>|then|and\s+now|but\s+now|now|repeat(?:ed)?|{_NOW_WORDS})\s*:?\s*"
    rf"{_NOT_CLOCK}{_NUM}(?![\d:.]|\s*(?:am|pm|a\.m\.|p\.m\.|h\b|hrs?\b|hours?\b))"
    rf"|{_NOT_CLOCK}{_NUM}\s*{_NOW_WORDS}\b)",
    re.I,
)
"""A second value of the same test after the first, marked as the later one by an arrow, "now",
"then" or "today" ("INR 1.3 yesterday, 1.8 today", "plt 35 -> 48", "INR 1.2, repeat 1.6")."""


def _lab(names: Iterable[str], text: str, vocab: QuestionVocabulary) -> _Lab | None:
    """The value written after one of ``names``: "plt 49", "platelets came back at 49", "INR is
    1.5", "plt count today = 47". A number after "<", "under", ">" or "over" is a bound, and two
    numbers joined by "-" or "to" are a range: neither is a value (kept but not used)."""
    bounds = _alternation([*_words(vocab, "below"), *_words(vocab, "above")])
    rx = re.compile(
        rf"(?<![A-Za-z])(?:{_alternation(names)})(?![A-Za-z]){_link_gap(vocab)}"
        rf"(?:(?P<cmp>{bounds})(?![A-Za-z])\s*)?{_NUM}"
        r"(?:\s?(?:-|–|\bto\b)\s?(?P<hi>\d+(?:\.\d+)?)(?![\d.]))?",
        re.I,
    )
    m = rx.search(text)
    if not m:
        return None
    number = m.group(2)
    if m.group("cmp"):
        sign = m.group("cmp")
        return _Lab(m, None, f"{sign} {number}" if sign[-1].isalpha() else f"{sign}{number}")
    if m.group("hi"):
        return _Lab(m, None, f"{number}-{m.group('hi')}")
    later = _LATER.match(text, m.end())
    if later is not None:  # the later value is the current one
        number = next(g for g in later.groups() if g)
        return _Lab(m, _number(number), number, later=later)
    if _SCALE_12.match(text, m.end()):
        return _Lab(m, _number(number) * PER_UL_FROM, number, scale_12=True)
    return _Lab(m, _number(number), number)


_NOT_A_NUMBER = (
    r"(\?\s*\w+|\?|pending|awaited|not back|not done|unknown|tbc|clotted|haemolysed|hemolyzed|"
    r"insufficient|not available|n/a)"
)
"""What people write in place of a lab value ("plt ?low", "INR pending"): the value is
unreadable, which the engine reports as such (never as missing, never as normal)."""


def _unreadable(names: list[str], text: str, vocab: QuestionVocabulary) -> re.Match[str] | None:
    rx = re.compile(
        rf"(?<![A-Za-z])(?:{_alternation(names)})(?![A-Za-z]){_link_gap(vocab)}"
        rf"{_NOT_A_NUMBER}(?![A-Za-z])",
        re.I,
    )
    return rx.search(text)


LB_TO_KG = 0.45359237
"""UCUM [lb_av] (the unit table's factor): "154 lb" is read as 69.85 kg."""
LB_PER_STONE = 14
"""Imperial stone (UK body weight): 14 lb."""
_DOSE_UNIT = (
    r"(mg/kg|mcg/kg|micrograms?/kg|units?/kg|iu/kg|u/kg|mg|g|mcg|µg|micrograms?|units?|iu|u)"
    r"(?![A-Za-z])"
)
_AGO = re.compile(
    rf"(?:{_NUM}|\b(an?|one|two|three|four|five|six|seven|eight|nine|ten|twelve))\s*"
    r"(h|hr|hrs|hours?|d|days?|wks?|weeks?)\s+(?:ago|before)\b",
    re.I,
)
_COUNT_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
    "eight": 8, "nine": 9, "ten": 10, "twelve": 12,
}  # fmt: skip
"""Numbers written in words before an interval ("a week ago", "two days ago")."""
_LAST = re.compile(
    r"\b(?:last\s+(?:dose|given|taken|injection|inj|jab|tablet|tab|pill|one|took)"
    r"(?:\s+was)?|was\s+(?:given|taken)|given|taken|stopped|held|last|took|had|gave|"
    r"injected|administered|off\s+since|since|was(?=\s+at\b))\b",
    re.I,
)
"""Words after which a time is the time of the last dose."""
_SEGMENT_END = re.compile(r"[,;?(]|\s-\s|\b(?:LP|tap|lumbar|plts?|platelets?|INR)\b", re.I)
_CLOCK_12 = re.compile(r"\b(\d{1,2})(?:[:.](\d{2}))?\s*(am|pm|a\.m\.|p\.m\.)", re.I)
_CLOCK_24 = re.compile(
    r"\b([01]?\d|2[0-3]):([0-5]\d)\b|\b([01]\d|2[0-3])([0-5]\d)\s*(?:h|hrs|hours)?\b"
)
_DAY_PARTS: tuple[tuple[str, int, dt.time | None], ...] = (
    # words, day (0 today, -1 yesterday), the latest clock time they can mean (None: now)
    ("yesterday morning", -1, dt.time(12, 0)),
    ("yesterday afternoon", -1, dt.time(18, 0)),
    ("yesterday evening", -1, dt.time(23, 59)),
    ("last evening", -1, dt.time(23, 59)),
    ("yesterday", -1, dt.time(23, 59)),
    ("last night", 0, dt.time(6, 0)),
    ("overnight", 0, dt.time(6, 0)),
    ("this morning", 0, dt.time(12, 0)),
    ("this am", 0, dt.time(12, 0)),
    ("this afternoon", 0, dt.time(18, 0)),
    ("this evening", 0, dt.time(23, 59)),
    ("tonight", 0, dt.time(23, 59)),
    ("earlier today", 0, None),
    ("today", 0, None),
)
"""How people name a part of the day. A dose given "this morning" is read as given at the latest
time the words can mean (12:00): the shortest interval since it, so a hold is never cut short."""


@dataclass
class _When:
    time: dt.datetime
    text: str
    latest: bool = False
    """The time is the latest the words can mean (a part of the day, not a clock time)."""


def _ago(text: str, at: dt.datetime) -> _When | None:
    m = _AGO.search(text)
    if not m:
        return None
    n = _number(m.group(1)) if m.group(1) else float(_COUNT_WORDS[m.group(2).lower()])
    unit = m.group(3).lower()
    hours = n * 24 if unit.startswith("d") else n * 168 if unit.startswith("w") else n
    return _When(at - dt.timedelta(hours=hours), m.group(0))


def _last_dose(text: str, at: dt.datetime) -> _When | None:
    """When the last dose was given: "14 hrs ago", "2 days ago", or after words like "last dose"
    a clock time ("8am", "at 20:00 yesterday", "2200 last night") or a part of the day ("this
    morning"), in the local time of ``at``."""
    for anchor in _LAST.finditer(text):
        rest = text[anchor.end() : anchor.end() + 48]
        end = _SEGMENT_END.search(rest)
        seg = rest[: end.start()] if end else rest
        when = _ago(seg, at) or _clock(seg, at) or _day_part(seg, at)
        if when is not None:
            when.text = (anchor.group(0) + seg[: seg.find(when.text) + len(when.text)]).strip()
            return when
    return _ago(text, at)


def _day(words: str, at: dt.datetime | None = None) -> int | None:
    low = words.lower()
    if "yesterday" in low or "last evening" in low:
        return -1
    if re.search(r"\b(today|this morning|this am)\b", low):
        return 0
    if at is not None and (wd := _weekday(low)) is not None:
        return _weekday_offset(wd, at)
    return None


_WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_WEEKDAY = re.compile(
    r"\b(mon|tue|wed|thu|fri|sat|sun)(?:day|s|sday|nesday|rsday|urday|\.)?\b(?!\s*\d{4}-)", re.I
)
"""A day of the week ("Monday evening", "last taken Sat"), not one written before a date
("Mon 2026-12-14", a start date)."""


def _weekday(low: str) -> int | None:
    m = _WEEKDAY.search(low)
    return _WEEKDAYS.index(m.group(1).lower()) if m else None


def _weekday_offset(weekday: int, at: dt.datetime) -> int:
    """Days back to the latest past ``weekday`` (0 when it is today: the latest it can mean)."""
    return -((at.astimezone(at.tzinfo).weekday() - weekday) % 7)


@overload
def _clock(seg: str, at: dt.datetime) -> _When | None: ...
@overload
def _clock(seg: str, at: dt.datetime, future: Literal[True]) -> dt.time | None: ...
def _clock(seg: str, at: dt.datetime, future: bool = False) -> _When | dt.time | None:
    """A clock time in ``seg``: the time of a past dose (``_When``), or with ``future`` only the
    time of day. An hour written bare ("at 7 this morning", "at 10 last night") takes its half
    of the day from the words beside it; with none ("at 7"), the later of 07:00 and 19:00 that
    has passed is read (the shortest interval since the dose), and said to be the latest."""
    m12 = _CLOCK_12.search(seg)
    bare = False
    if m12:
        hour = int(m12.group(1)) % 12 + (12 if m12.group(3).lower().startswith("p") else 0)
        minute = int(m12.group(2) or 0)
    elif m24 := _CLOCK_24.search(seg):
        hour = int(m24.group(1) or m24.group(3))
        minute = int(m24.group(2) or m24.group(4))
    elif not future and (mb := _CLOCK_BARE.search(seg)):
        hour, minute, bare = int(mb.group(1)), int(mb.group(2) or 0), True
    else:
        return None
    if hour > 23 or minute > 59:
        return None
    if future:
        return dt.time(hour, minute)
    halves = [hour]
    if bare and 1 <= hour <= 12:
        low = seg.lower()
        if _MORNING.search(low):
            halves = [hour % 12]
        elif _EVENING.search(low):
            night_small_hours = hour < 6 and re.search(r"\bnight\b", low)
            halves = [hour % 12] if night_small_hours else [hour % 12 + 12]
        else:
            halves = [hour % 12, hour % 12 + 12]
    times = [t for h in halves if (t := _past_time(h, minute, seg, at)) is not None]
    if not times:
        return None
    return _When(max(times), seg.strip(), latest=len(halves) > 1)


_CLOCK_BARE = re.compile(
    r"(?:\bat|@)\s*(\d{1,2})(?:[:.]([0-5]\d))?(?![\d:.])"
    r"(?!\s*(?:h|hrs?|hours?|days?|d|wks?|weeks?|mg|mcg|g|units?|u|iu|ml|%|x)\b)",
    re.I,
)
"""An hour written without am, pm or minutes after "at" ("at 7 this morning", "at 10")."""
_MORNING = re.compile(r"\b(?:morning|am|a\.m\.|breakfast)\b")
_EVENING = re.compile(
    r"\b(?:afternoon|evening|night|tonight|pm|p\.m\.|supper|dinner|bedtime|teatime)\b"
)


def _past_time(hour: int, minute: int, seg: str, at: dt.datetime) -> dt.datetime | None:
    """The past moment of a clock time, on the day the words of ``seg`` name (or the last time
    that clock time came round)."""
    day = _day(seg, at)
    if day is None and re.search(r"\blast night\b", seg, re.I):
        day = -1 if hour >= 12 else 0
    local = at.astimezone(at.tzinfo)
    when = dt.datetime.combine(local.date(), dt.time(hour, minute), tzinfo=local.tzinfo)
    if day is not None:
        when += dt.timedelta(days=day)
    elif when > local:  # "8pm" said at 2pm: yesterday evening
        when -= dt.timedelta(days=1)
    return None if when > local else when


def _day_part(seg: str, at: dt.datetime) -> _When | None:
    low = seg.lower()
    for words, day, latest in _DAY_PARTS:
        if re.search(rf"\b{re.escape(words)}\b", low):
            local = at.astimezone(at.tzinfo)
            if latest is None:
                return _When(local, words, latest=True)
            when = dt.datetime.combine(local.date(), latest, tzinfo=local.tzinfo)
            when += dt.timedelta(days=day)
            return _When(min(when, local), words, latest=True)
    # "Monday evening", "on Sat": the latest time it can mean
    if (named := _WEEKDAY.search(low)) is not None:
        wd = _WEEKDAYS.index(named.group(1).lower())
        local = at.astimezone(at.tzinfo)
        latest_part = next(
            (t for words, _, t in _DAY_PARTS if t is not None and words.split()[-1] in low.split()),
            dt.time(23, 59),
        )
        on = local.date() + dt.timedelta(days=_weekday_offset(wd, at))
        when = dt.datetime.combine(on, latest_part, tzinfo=local.tzinfo)
        return _When(min(when, local), named.group(0), latest=True)
    return None


def _lab_time(text: str, end: int, at: dt.datetime) -> dt.datetime | None:
    """The time of a lab value written just after it ("plt 150 from 5 days ago", "INR 1.3
    yesterday", "plt 200 last week"), at the earliest the words can mean, so a stale value is
    never read as fresh; None when no time is written (the value is taken as current)."""
    tail = text[end : end + 32]
    stop = re.search(r"[,;]|\b(?:and|INR|plts?|platelets?)\b", tail, re.I)
    seg = tail[: stop.start()] if stop else tail
    if (when := _ago(seg, at)) is not None:
        return when.time
    local = at.astimezone(at.tzinfo)
    midnight = dt.datetime.combine(local.date(), dt.time(0, 0), tzinfo=local.tzinfo)
    if re.search(r"\blast week\b", seg, re.I):
        return midnight - dt.timedelta(days=13)  # the earliest day of last week
    if re.search(r"\byesterday\b", seg, re.I):
        return midnight - dt.timedelta(days=1)
    return None


_CLOCK_WORDS = (
    r"\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)|(?:[01]?\d|2[0-3]):[0-5]\d"
    r"|(?:[01]\d|2[0-3])[0-5]\d(?:\s*h(?:rs)?\b)?"
)
_NOW = re.compile(
    rf"\b(?:it'?s|it\s+is|time\s+(?:is\s+)?(?:now\s+)?|the\s+time\s+is|current\s+time(?:\s+is)?|"
    rf"now(?:\s+is)?|time\s+now)\s*:?\s*(?P<clock>{_CLOCK_WORDS})(?![\d:])"
    rf"|(?P<clock2>{_CLOCK_WORDS})\s+now\b",
    re.I,
)
"""The question's own time ("it's 09:00 now", "now 1400", "time now 9am")."""


def _reference_time(text: str, at: dt.datetime) -> tuple[dt.datetime, str] | None:
    """The time the question says it is, on the day of ``at`` in its zone: clock times in the
    question (a last dose "at 21:00", an LP "at 2pm") are read against it."""
    m = _NOW.search(text)
    if not m:
        return None
    clock = _clock(m.group("clock") or m.group("clock2"), at, future=True)
    if clock is None:
        return None
    local = at.astimezone(at.tzinfo)
    return dt.datetime.combine(local.date(), clock, tzinfo=local.tzinfo), m.group(0).strip()


_BOUND = "a bound or range, not a value"
_NAN = "not a number"


def _not_used(
    out: ValuesRead,
    labs: list[dict[str, Any]],
    test: str,
    written: str,
    why: str,
    src: str,
    context: bool = False,
) -> None:
    """A lab value kept as written but not used (``why``: a bound or range, not a number): the
    engine sees it as written, never as missing or normal, and the answer shows why."""
    labs.append({"test": test, "value": written})
    out.values.append(ValueRead(test, f"{written} ({why})", None, src, context=context))


def read_values(
    question: str,
    kb: KnowledgeBase,
    vocab: QuestionVocabulary,
    at: dt.datetime,
    asked_about: frozenset[str] = frozenset(),
) -> ValuesRead:
    """Values written in ``question``. ``asked_about``: names of drugs the question asks about
    (a dose question), which are therefore not drugs the patient takes. Clock times are local
    times in the zone of ``at``."""
    out = ValuesRead()
    patient: dict[str, Any] = {}
    labs: list[dict[str, Any]] = []
    text = question
    if (ref := _reference_time(text, at)) is not None:
        at = ref[0]
        out.now = at.isoformat()
        out.values.append(ValueRead("time now", out.now, None, ref[1], context=True))

    plt_names = _names(kb, vocab, "platelets")
    got = _lab(plt_names, text, vocab)
    if got is not None and got.value is None:
        # context: alone, a bound asks in general ("LP with platelets below 50?")
        _not_used(out, labs, "platelets", got.written, _BOUND, got.match[0], context=True)
    elif got is not None and got.value is not None:
        n = got.value
        unit = "/uL" if n >= PER_UL_FROM and not got.scale_12 else "10*9/L"
        tail = text[got.end : got.end + 2].lower()
        if unit == "10*9/L" and tail.startswith("k"):
            unit = "10*3/uL"
        lab: dict[str, Any] = {"test": "platelets", "value": n, "unit": unit}
        shown = n / PER_UL_FROM if unit == "/uL" else n
        src = got.text
        if got.scale_12:
            src += f" x10^12/L (read as {n:g} x10^9/L)"
        src = _timed(lab, src, text, got.end, at)
        labs.append(lab)
        out.values.append(ValueRead("platelets", n, unit, src, {"platelets": f"{shown:g}"}))
    elif unreadable := _unreadable(plt_names, text, vocab):
        _not_used(out, labs, "platelets", unreadable.group(1), _NAN, unreadable.group(0))
    inr_names = _names(kb, vocab, "inr")
    got = _lab(inr_names, text, vocab)
    if got is None and (unreadable := _unreadable(inr_names, text, vocab)):
        _not_used(out, labs, "INR", unreadable.group(1), _NAN, unreadable.group(0))
    elif got is not None and got.value is None:
        _not_used(out, labs, "INR", got.written, _BOUND, got.match[0], context=True)
    elif got is not None and got.value is not None:
        n = got.value
        lab = {"test": "INR", "value": n}
        src = _timed(lab, got.text, text, got.end, at)
        labs.append(lab)
        out.values.append(ValueRead("INR", n, None, src, {"inr": f"{n:g}"}))
    got = _lab(_names(kb, vocab, "creatinine-clearance"), text, vocab)
    if got is not None:
        crcl: Any = got.value if got.value is not None else got.written
        lab = {"test": "creatinine clearance", "value": crcl, "unit": "mL/min"}
        src = _timed(lab, got.text, text, got.end, at)
        labs.append(lab)
        if got.value is None:
            shown_crcl: Any = f"{crcl} ({_BOUND})"
            crcl_form = {}
        else:
            shown_crcl, crcl_form = crcl, {"crcl": f"{crcl:g}"}
        # context only: alone it does not make a question one about this patient ("ceftriaxone
        # max daily dose if CrCl <10?", "do the intervals apply at a CrCl of 25?")
        out.values.append(
            ValueRead("creatinine clearance", shown_crcl, "mL/min", src, crcl_form, context=True)
        )
    stone = re.search(
        rf"(?<![\w.]){_NUM}\s*(?:st|stone|stones)(?![A-Za-z])"
        rf"(?:\s*(?:and\s*)?{_NUM}\s*(?:lbs?|pounds?)(?![A-Za-z]))?",
        text,
        re.I,
    )
    got = _lab(_words(vocab, "egfr"), text, vocab)
    if got is not None and not re.match(
        r"\s*(?:del\w*|exon|mut\w*|ins\w*|[A-Z]\d)", text[got.match.end() :], re.I
    ):  # "EGFR 19del" is a mutation, not kidney function
        shown_egfr = got.value if got.value is not None else got.written
        out.values.append(
            ValueRead(
                "eGFR",
                (f"{shown_egfr:g}" if isinstance(shown_egfr, float) else shown_egfr)
                + " mL/min/1.73m2 (not used: the rules read creatinine clearance, not eGFR)",
                None,
                got.match[0],
                context=True,
            )
        )
    m = stone or re.search(
        rf"{_NUM}\s*(kg|kgs|kilos?|kilograms?|lbs?|pounds?)(?![A-Za-z])", text, re.I
    )
    if m and not re.match(r"\s*/", text[m.end() :]):  # "mg/kg" is a dose, not a weight
        if stone is not None:  # "9st 6lb", "11 stone": 14 lb to the stone
            pounds = _number(m.group(1)) * LB_PER_STONE + _number(m.group(2) or "0")
            n = round(pounds * LB_TO_KG, 2)
        else:
            n = _number(m.group(1))
            if m.group(2).lower().startswith(("lb", "pound")):
                n = round(n * LB_TO_KG, 2)
        patient["weight_kg"] = n
        out.values.append(ValueRead("weight", n, "kg", m.group(0), {"weight": f"{n:g}"}))
    age = _age(text, at)
    if age is not None:
        key, n, src = age
        patient[key] = n
        unit = "years" if key == "age_years" else "days"
        out.values.append(ValueRead("age", n, unit, src, {key: f"{n:g}"}))
    elif young := _YOUNG_WORD.search(text):
        # a young patient named without an age ("newborn", "baby"): the age is unread, never
        # assumed (a dose or an age limit needs it in days)
        out.values.append(
            ValueRead(
                "age",
                "not read (give it in days, weeks or months)",
                None,
                young.group(0),
                context=True,
            )
        )
    csf = _csf(text, vocab)
    meds = _medications(text, kb, vocab, at, asked_about, bool(patient or labs or csf))
    for med, src, latest in meds:
        parts = [str(med["drug"])]
        if "dose" in med:
            parts.append(f"{med['dose']:g} {med.get('unit', '')}".strip())
        if "frequency" in med:
            parts.append(str(med["frequency"]))
        if "last_dose" in med:
            parts.append(f"last dose {med['last_dose']}" + (" at the latest" if latest else ""))
        concept = kb.concepts.get(str(med["drug"]))
        classes = set(concept.classes) if concept is not None else set()
        form = {"anticoagulants": med["drug"]} if classes & ANTITHROMBOTIC_CLASSES else {}
        out.values.append(
            ValueRead(
                "drug",
                " ".join(parts),
                None,
                src,
                form,
                context="dose" not in med and "last_dose" not in med,
            )
        )
    if (none := _none_taken(text, vocab)) is not None and not any(
        _is_antithrombotic(kb, str(m["drug"])) for m, _, _ in meds
    ):
        out.values.append(
            ValueRead("antithrombotics", "none, as written", None, none[0], context=True)
        )
    out.unknown_drugs = _unknown_drugs(text, kb, vocab)
    for name in out.unknown_drugs:  # never alone a reason to compute
        out.values.append(ValueRead("drug", f"{name} (not recognised)", None, name, context=True))
    for key, (n, src) in csf.items():
        if isinstance(n, str):  # the predominant cell, in words
            out.values.append(
                ValueRead("CSF predominant cell", n, None, src, {"csf_predominant": n})
            )
            continue
        num = n["value"] if isinstance(n, dict) else n
        csf_unit: str | None = n["unit"] if isinstance(n, dict) else None
        field_name = CSF_FORM_FIELDS.get(key)
        csf_form = {field_name: f"{num:g}"} if field_name else {}
        if field_name and csf_unit:
            csf_form[f"{field_name}.unit"] = csf_unit
        label = "blood glucose" if key == "serum_glucose" else f"CSF {key.replace('_pct', ' %')}"
        out.values.append(ValueRead(label, num, csf_unit, src, csf_form))
    start = re.search(
        r"\b(?:starting|start|from|on|first dose|1st dose)\s*(?:on|is|:)?\s*(?:[A-Za-z]{3,9}\s+)?"
        r"(\d{4}-\d{2}-\d{2})\b",
        text,
        re.I,
    )

    if (planned := _procedure_time(text, at)) is not None:
        out.procedure_time = planned[0].isoformat()
        out.values.append(ValueRead("LP time", out.procedure_time, None, planned[1]))

    case: dict[str, Any] = {"date": at.isoformat()}
    if patient:
        case["patient"] = patient
    if labs:
        case["labs"] = labs
    if meds:
        case["medications"] = [m for m, _, _ in meds]
    if csf:
        case["csf"] = {k: v for k, (v, _) in csf.items()}
    if start:
        out.start = start.group(1)
        out.values.append(ValueRead("start date", start.group(1), None, start.group(0)))
    out.case = case
    return out


_PROCEDURE_AT = re.compile(
    r"\b(?:LP|tap|lumbar puncture)\s+(?:is\s+)?(?:(?:planned|booked|scheduled|due|set)\s+)?"
    r"(?:(?:for|at)\s+|@\s*)?(?P<day1>today|tomorrow|tmrw|tmr)?\s*(?:at\s+|@\s*)?"
    r"(?P<clock>\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.)|(?:[01]?\d|2[0-3]):[0-5]\d"
    r"|(?:[01]\d|2[0-3])[0-5]\d)(?![\d:])(?:\s*(?:h|hrs)\b)?"
    r"(?:\s+(?P<day2>today|tomorrow|tmrw|tmr))?",
    re.I,
)


def _procedure_time(text: str, at: dt.datetime) -> tuple[dt.datetime, str] | None:
    """When the LP is planned: a clock time right after "LP", "tap" or "lumbar puncture" ("LP at
    1400", "LP 2pm today", "tap tomorrow 9am"), in the local time of ``at``. A planned LP lies
    ahead: a clock time already past today is tomorrow's unless the question says "today"."""
    m = _PROCEDURE_AT.search(text)
    if not m:
        return None
    when = _clock(m.group("clock"), at, future=True)
    if when is None:
        return None
    day = (m.group("day1") or m.group("day2") or "").lower()
    local = at.astimezone(at.tzinfo)
    t = dt.datetime.combine(local.date(), when, tzinfo=local.tzinfo)
    tomorrow = day.startswith("t") and day != "today"
    if tomorrow or (day != "today" and t < local):  # a planned LP lies ahead
        t += dt.timedelta(days=1)
    return t, m.group(0).strip()


CSF_FORM_FIELDS = {
    "wbc": "csf_wbc",
    "protein": "csf_protein",
    "glucose": "csf_glucose",
    "serum_glucose": "serum_glucose",
    "neutrophils_pct": "csf_neutrophils",
    "lymphocytes_pct": "csf_lymphocytes",
}
"""CSF values read -> assessment form field names (web/assess_form.yaml)."""

ANTITHROMBOTIC_CLASSES = frozenset({"anticoagulant", "antiplatelet"})
"""Terminology classes whose drugs go in the assessment form's antithrombotic field."""


def _age(text: str, at: dt.datetime) -> tuple[str, float, str] | None:
    m = re.search(
        rf"{_NUM}\s*[- ]?\s*(?:years?|yrs?|y)\s*[- ]?\s*old\b|{_NUM}\s*(?:yo|y/o|y\.o\.)(?![a-z])"
        rf"|\baged?\s+{_NUM}\b(?!\s*[-/ ]?\s*(?:days?|d|weeks?|wks?|wk|months?|mos?|mths?|m/o|7|52|12)\b)"
        rf"|(?<![\w.])(\d{{1,3}})\s*(?:years?|yrs?)\b(?!\s*(?:ago|before|after|of|since|later))",
        text,
        re.I,
    )
    bare = m is not None and m.group(4) is not None  # "5 yrs": not "for 2 years", "in 5 years"
    if m and not (
        bare and re.search(r"\b(?:for|over|within|after|past|last|in)\s+$", text[: m.start()], re.I)
    ):
        n = _number(next(g for g in m.groups() if g))
        return "age_years", n, m.group(0)
    m = re.search(r"(?<![\w.])(\d{1,3})\s?([MF])\b(?![/\w])", text)  # "78M", "72 F"
    if m:
        return "age_years", float(m.group(1)), m.group(0)
    m = _young_age(text)
    if m:
        if "uk" in m.re.groupindex:  # UK clinical shorthand: 10/7 days, 3/52 weeks, 6/12 months
            n = _number(m.group("uk"))
            unit = {"7": "day", "52": "week", "12": "month"}[m.group("den")]
        else:
            n = _number(m.group("n"))
            unit = m.group("unit").lower()
        src = m.group(0).strip(" ,;")
        if unit.startswith("d"):
            return "age_days", n, src
        if unit.startswith("w"):
            return "age_days", n * 7, src
        # months: count calendar days back from the evaluation date
        months = int(n)
        year, month = at.year, at.month - months
        while month <= 0:
            month += 12
            year -= 1
        day = min(at.day, 28)
        born = dt.date(year, month, day)
        return "age_days", float((at.date() - born).days), src
    return None


_YOUNG_WORD = re.compile(
    r"\b(?:new[- ]?borns?|neonates?|neonatal|babies|baby|infants?|prem(?:ature)?|ex[- ]?prem|"
    r"toddlers?|child|children|kids?|paediatric|pediatric|peds|paeds)\b",
    re.I,
)
"""Words that name a young patient: without an age read, the answer says the age is unread."""
_YOUNG_UNIT = r"(?P<unit>days?|d|weeks?|wks?|wk|months?|mos?|mths?|mnths?|m/o)"
_PERSON = (
    r"(?:old|baby|babies|infant|neonate|newborn|boy|girl|child|kid|toddler|son|daughter|male|"
    r"female|[MF]|pt|patient|ex[- ]?prem\w*|prem\w*)"
)
_DURATION_BEFORE = re.compile(
    r"(?:\b(?:for|over|within|after|past|last|in|every|each|per|next|first|x|q|than|up to|until|"
    r"till|at least|under|below|above|older|younger|from|to|and|or)|[-–x/<>≤≥])\s*$",
    re.I,
)
_DURATION_AFTER = re.compile(
    r"\s*(?:ago|before|after|of|since|later|course|courses|treatment|therapy|tx|duration|"
    r"long|apart|post|from|earlier|prior|each|total|more|less|then)\b",
    re.I,
)


def _young_age(text: str) -> re.Match[str] | None:
    """An age in days, weeks or months, as people write it: "10 day old", "10d old baby",
    "3 wk old", "a 6 week infant", "baby 10 days", "aged 6 weeks", "2 mo, 5 kg", "6 weeks
    bacterial meningitis ..." (at the start of the question) and UK "3/52", "6/12", "10/7".
    A number of days, weeks or months that reads as a duration ("for 10 days", "6 weeks of
    steroids", "2 weeks ago", "2-4 days") is not an age."""
    uk = re.search(r"(?<![\d/])(?P<uk>\d{1,2})/(?P<den>7|52|12)(?![\d/])(?:\s*old)?", text, re.I)
    if uk:
        return uk
    forms = (
        # "10 day old", "10-day-old", "3 wk old", "10d old", "6 mo old baby"
        rf"(?<![\w.])(?P<n>\d{{1,3}})\s*[- ]?\s*{_YOUNG_UNIT}\s*[- ]?\s*old\b",
        # "10d baby", "6 week infant", "3 wk old boy", "2 mo M"
        rf"(?<![\w.])(?P<n>\d{{1,3}})\s*[- ]?\s*{_YOUNG_UNIT}\s*[- ]?\s*{_PERSON}(?![\w/])",
        # "baby 10 days", "infant, 6 weeks", "neonate aged 10 days", "aged 6 weeks", "age 2 mo"
        rf"(?:\b(?:baby|infant|neonate|newborn|boy|girl|child|pt|patient)\b[\s,:]*(?:aged?|of)?|"
        rf"\baged?\b[\s:]*)\s*(?P<n>\d{{1,3}})\s*[- ]?\s*{_YOUNG_UNIT}(?![\w/])",
        # standing alone at the start or after "a", before what the question is about ("6 weeks
        # bacterial meningitis ...", "10d 3.5kg ...", "for a 2 mo 5kg with BM")
        rf"(?:^\W*|\ban?\s+)(?P<n>\d{{1,3}})\s*[- ]?\s*{_YOUNG_UNIT}"
        rf"(?=\s*(?:\d+(?:\.\d+)?\s*kg\b|with\b|w/|has\b|bacterial\b|bact\w*\b|BM\b|"
        rf"mening\w*|ceftriaxone\b|dex\w*|cefotaxime\b|ampicillin\b|empiric\w*|febrile\b|"
        rf"fever\b|sepsis\b))",
        # standing alone between commas ("dex dose, 2 mo, 4.5 kg")
        rf"[,;(]\s*(?P<n>\d{{1,3}})\s*[- ]?\s*{_YOUNG_UNIT}(?=\s*(?:$|[,;)?]|\d+(?:\.\d+)?\s*kg\b))",
    )
    for i, pattern in enumerate(forms):
        for m in re.finditer(pattern, text, re.I):
            if i == 0:  # "... old" is an age whatever stands before it
                return m
            if _DURATION_BEFORE.search(text[: m.start("n")]):
                continue
            if i > 1 and _DURATION_AFTER.match(text[m.end("unit") :]):
                continue
            return m
    return None


def _medications(
    text: str,
    kb: KnowledgeBase,
    vocab: QuestionVocabulary,
    at: dt.datetime,
    asked_about: frozenset[str] = frozenset(),
    with_values: bool = False,
) -> list[tuple[dict[str, Any], str, bool]]:
    """Drugs named in the question with dose, frequency and time of the last dose when given:
    (medication, text read, whether the last dose is the latest time the words can mean).

    A drug becomes a medication of the case only when the question gives its dose or last dose,
    says the patient is on it, or names it beside other patient values ("warfarin, INR 1.3"):
    "ceftriaxone dose for ..." asks about a drug, it does not say the patient takes it.
    """
    from leptoguide.answer.expand import Lexicon

    meds = [
        c
        for c in kb.concepts.values()
        if c.kind == "medication"
        and not {n.lower() for n in (c.id, c.display, *c.synonyms)} & asked_about
    ]
    lex = Lexicon.from_concepts((c.id, c.kind, [c.display, *c.synonyms]) for c in meds)
    out: list[tuple[dict[str, Any], str, bool]] = []
    seen: set[str] = set()
    found = list(lex.find(text))
    med_names = [n for c in meds for n in (c.display, *c.synonyms) if n]
    for phrase in found:
        if phrase.concept in seen:
            continue
        seen.add(phrase.concept)
        med: dict[str, Any] = {"drug": phrase.concept}
        idx = text.lower().find(phrase.text.lower())
        if idx >= 0 and _negated(text, idx, vocab, med_names):
            continue  # "not on apixaban", "no aspirin or clopidogrel"
        window = text[idx : idx + 80] if idx >= 0 else text
        src = window.split(",")[0] if idx >= 0 else phrase.text
        dose = re.search(
            rf"(?:{re.escape(phrase.text)})\w*\s*(?:\(\s*)?(?<![\w.]){_NUM}\s*(?:{_DOSE_UNIT})?",
            window,
            re.I,
        )
        if dose:
            med["dose"] = _number(dose.group(1))
            med["unit"] = _dose_unit(dose.group(2))
        freq = _frequency(window, vocab)
        if freq:
            med["frequency"] = freq
        # the last dose belongs to the drug when one drug is named (else to the nearest one)
        scope = text if len({p.concept for p in found}) == 1 else text[max(idx, 0) :]
        last = _last_dose(scope, at)
        if last is None and dose:
            # a clock time right after the dose is when it was given ("dalteparin 5000 units
            # at 22:00"), within the drug's own part of the question
            after = window[dose.end() :]
            end = _SEGMENT_END.search(after)
            seg = after[: end.start()] if end else after
            if re.match(r"\s*(?:at\b|@)", seg, re.I) and (when := _clock(seg, at)) is not None:
                when.text = seg.strip()
                last = when
        if last is not None:
            med["last_dose"] = last.time.isoformat()
            if last.text not in src:
                src = f"{src}, {last.text}"
        if "dose" in med or "last_dose" in med:  # a drug the patient takes
            out.append((med, src.strip(), bool(last and last.latest)))
        elif taking := _taking(text, phrase.text, vocab):  # "on apixaban", "calcium drip"
            out.append((med, taking.strip(), False))
        elif with_values and _is_antithrombotic(kb, phrase.concept):  # "warfarin, INR 1.3"
            out.append((med, phrase.text, False))
    return out


_NEGATION_FILLER = frozenset(
    {
        "any",
        "or",
        "and",
        "nor",
        "his",
        "her",
        "their",
        "my",
        "regular",
        "current",
        "other",
        "/",
        "&",
    }
)
"""Words that may stand between a negation and the drug it negates ("no aspirin or
clopidogrel", "not on any of her blood thinners")."""


def _negated(text: str, idx: int, vocab: QuestionVocabulary, med_names: list[str]) -> bool:
    """Whether the drug at ``idx`` is said not to be taken: a negation of the vocabulary ("not on",
    "no", "never took") earlier in the same clause, with nothing but other drug names, group words
    ("blood thinners") and joining words between ("no aspirin or clopidogrel"). "no bleeding on
    apixaban" does not negate apixaban."""
    clause = re.split(r"[,;.!?()]|\s-\s|\bbut\b", text[:idx], flags=re.I)[-1]
    negs = list(
        re.finditer(
            rf"(?<![A-Za-z])(?:{_alternation(_words(vocab, 'negation'))})(?![A-Za-z])",
            clause,
            re.I,
        )
    )
    if not negs:
        return False
    after = re.split(r"[,;.!?()]|\s-\s|\bbut\b", text[idx:], flags=re.I)[0]
    if re.search(
        r"\b(?:since|for|in the (?:last|past)|today|yesterday|tonight|this morning|last night|"
        r"ago|until|till)\b",
        after,
        re.I,
    ):
        return False  # "no clexane since 8pm yesterday": a time since the last dose, not "never"
    between = clause[negs[-1].end() :].lower()
    for name in sorted([*med_names, *_words(vocab, "antithrombotics")], key=len, reverse=True):
        between = re.sub(rf"(?<![a-z]){re.escape(name.lower())}\w*", " ", between)
    return all(w in _NEGATION_FILLER for w in re.findall(r"[a-z]+|[/&]", between))


def _none_taken(text: str, vocab: QuestionVocabulary) -> re.Match[str] | None:
    """ "not on any blood thinners", "no anticoagulants": the question says no antithrombotic."""
    return re.search(
        rf"(?<![A-Za-z])(?:{_alternation(_words(vocab, 'negation'))})\s+(?:(?:any|of|his|her|"
        rf"their)\s+)*(?:{_alternation(_words(vocab, 'antithrombotics'))})(?![A-Za-z])",
        text,
        re.I,
    )


def _is_antithrombotic(kb: KnowledgeBase, concept: str) -> bool:
    c = kb.concepts.get(concept)
    return c is not None and bool(set(c.classes) & ANTITHROMBOTIC_CLASSES)


def _dose_unit(raw: str | None) -> str:
    unit = (raw or "mg").lower().replace("micrograms", "mcg").replace("microgram", "mcg")
    unit = unit.replace("µg", "mcg").replace("iu", "units").replace("unit/", "units/")
    if unit in ("u", "unit"):
        return "units"
    return "units/kg" if unit == "u/kg" else unit


_NOT_DRUGS = frozenset(
    {
        "dose",
        "doses",
        "dosed",
        "given",
        "gave",
        "taken",
        "takes",
        "taking",
        "total",
        "daily",
        "about",
        "around",
        "approx",
        "weighs",
        "weighing",
        "weight",
        "last",
        "then",
        "plus",
        "with",
        "was",
        "were",
        "and",
        "from",
        "over",
        "under",
        "extra",
        "loading",
        "maintenance",
        "bolus",
        "stat",
        "each",
        "every",
        "once",
        "twice",
        "times",
        "now",
        "also",
        "only",
        "just",
        "same",
    }
)
"""Everyday words that can stand before a dose ("last dose 40 mg"): never read as a drug name."""


_KNOWN: dict[tuple[int, int], frozenset[str]] = {}


def _known_words(kb: KnowledgeBase, vocab: QuestionVocabulary) -> frozenset[str]:
    """Words of every concept name and vocabulary term (lower case), once per knowledge base."""

    def build() -> frozenset[str]:
        words = {w.lower() for w in vocab.term_words} | set(_NOT_DRUGS)
        for c in kb.concepts.values():
            for name in (c.id, c.display, *c.synonyms):
                words.update(tokens(name.lower()))
        return frozenset(words)

    return once_per(_KNOWN, (id(kb), id(vocab)), build, kb, vocab)


def _unknown_drugs(text: str, kb: KnowledgeBase, vocab: QuestionVocabulary) -> list[str]:
    """Words written like a drug the patient is on that name no concept of the terminology and
    no vocabulary term: before a dose ("cilostazol 100 bd", "ibuprofen 400 mg"), and, when the
    word is not ordinary English either (CMU dictionary), next to a word that says the patient
    is on it ("bivalirudin infusion", "on argatroban")."""
    from leptoguide.answer.index import english_words

    known = _known_words(kb, vocab)
    english = english_words()

    def terms(role: str, means: str | None = None) -> str:
        found = [
            t
            for e in vocab.by_role.get(role, [])
            if means is None or e.means == means
            for t in e.terms
        ]
        return _alternation(sorted(found, key=len, reverse=True))

    word = r"([A-Za-z][A-Za-z-]{3,})"
    dosed = re.compile(
        rf"(?<![\w-]){word}\s+{_NUM}\s*(?:{_DOSE_UNIT}|(?:{terms('frequency')})(?![A-Za-z]))",
        re.I,
    )
    beside = re.compile(
        rf"(?<![\w-]){word}\s+(?:{terms('taking', 'after')})(?![A-Za-z])"
        rf"|(?<![A-Za-z])(?:{terms('taking', 'before')})\s+{word}(?![A-Za-z])",
        re.I,
    )
    out: list[str] = []
    for rx, plain_english_ok in ((dosed, True), (beside, False)):
        for m in rx.finditer(text):
            name = next(g for g in m.groups() if g and not g[0].isdigit()).lower()
            if name in known or any(p in known for p in tokens(name)):
                continue
            if not plain_english_ok and name in english:
                continue
            if name not in out:
                out.append(name)
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


_SI = re.compile(r"g/l|mmol/l", re.I)
_US = re.compile(r"mg/dl", re.I)


_CSF_WORDS = re.compile(r"\b(csf|cerebrospinal|spinal fluid|lp|tap|lumbar puncture)\b", re.I)
_CSF_UNIT = r"\s*(g/l|mg/dl|mg/l|mmol/l|/ul|/µl|/mm3|cells/ul|cells/mm3|x10\^?6/l)?(?![A-Za-z])"
_CSF_COUNT_UNIT = r"(?:\s*(?:/ul|/µl|/mm3|/mm³|x\s?10\^?6/l|cells/ul|cells/mm3))?"
_CSF_KEYS = (
    # (value field, vocabulary meaning), in the order they claim the words they read
    ("ratio", "csf-glucose-ratio"),
    ("serum_glucose", "csf-serum-glucose"),
    ("rbc", "csf-rbc"),
    ("wbc", "csf-wbc"),
    ("protein", "csf-protein"),
    ("glucose", "csf-glucose"),
)


def _csf(text: str, vocab: QuestionVocabulary) -> dict[str, tuple[Any, str]]:
    """CSF results: white and red cells, neutrophil or lymphocyte share, protein, glucose and the
    paired blood glucose (or the CSF to blood glucose ratio, from which it follows). Names come
    from the vocabulary (role 'value-words'); a count may be written before its name ("40 white
    cells/uL"). A protein or glucose written without a unit takes the unit the question uses for
    the others (g/L and mmol/L, or mg/dL); with none, the one its size fits (a protein of 10 or
    less is g/L, a glucose of 15 or less mmol/L), and the value read says it assumed it."""
    if not _CSF_WORDS.search(text):
        return {}
    out: dict[str, tuple[Any, str]] = {}
    si, us = bool(_SI.search(text)), bool(_US.search(text))
    claimed: list[tuple[int, int]] = []
    gap = r"\s*(?:of|is|was|were|=|:|~)?\s*"
    for key, means in _CSF_KEYS:
        names = _alternation(_words(vocab, means))
        forms = [rf"(?<![A-Za-z])(?:{names})(?![A-Za-z]){gap}{_NUM}{_CSF_UNIT}"]
        if key in ("wbc", "rbc"):
            forms.append(rf"(?<![\d.,]){_NUM}{_CSF_COUNT_UNIT}\s*(?:{names})(?![A-Za-z])")
        found: re.Match[str] | None = None
        for form in forms:
            for hit in re.finditer(form, text, re.I):
                if any(hit.start() < b and a < hit.end() for a, b in claimed):
                    continue
                if key == "glucose" and re.search(
                    rf"(?:{_alternation(_words(vocab, 'csf-serum-glucose'))})\s*$",
                    text[: hit.start()],
                    re.I,
                ):
                    continue  # "blood glucose": the paired blood value, not the CSF one
                if hit.group(1) and re.match(r"\s*%", text[hit.end(1) :]):
                    continue  # "90% lymphs": a share, not a count
                found = hit
                break
            if found:
                break
        if found is None:
            continue
        claimed.append((found.start(), found.end()))
        n = _number(found.group(1))
        unit = ((found.group(2) if found.lastindex and found.lastindex >= 2 else "") or "").lower()
        value: Any = n
        src = found.group(0).strip()
        if key in ("protein", "glucose", "serum_glucose"):
            if unit not in _UNIT_SHOWN:
                if si != us:
                    unit = ("g/l" if key == "protein" else "mmol/l") if si else "mg/dl"
                elif key == "protein":
                    unit = "g/l" if n <= 10 else "mg/dl"
                else:
                    unit = "mmol/l" if n <= (15 if key == "glucose" else 30) else "mg/dl"
                src += f" (read as {_UNIT_SHOWN[unit]})"
            value = {"value": n, "unit": _UNIT_SHOWN[unit]}
        out[key] = (value, src)
    order = {key: i for i, (key, _) in enumerate(_CSF_KEYS)} | {"serum_glucose": len(_CSF_KEYS)}
    out = dict(sorted(out.items(), key=lambda kv: order[kv[0]]))
    ratio = out.pop("ratio", None)
    if ratio is not None and "serum_glucose" not in out and "glucose" in out:
        r = float(ratio[0])
        glu = out["glucose"][0]
        if 0 < r <= 1.5 and isinstance(glu, dict):
            serum = round(float(glu["value"]) / r, 2)
            out["serum_glucose"] = (
                {"value": serum, "unit": glu["unit"]},
                f"{ratio[1]} (blood glucose {serum:g} {glu['unit']} from the CSF glucose and ratio)",
            )
    share = {
        "neutrophils_pct": r"(?:neut\w*|polys|polymorphs?|pmns?|neuts)",
        "lymphocytes_pct": r"(?:lymph\w*|lymphs|monos?|mononuclear)",
    }
    for key, pat in share.items():
        m = re.search(
            rf"{_NUM}\s*%\s*{pat}|(?<![A-Za-z]){pat}\s*(?:of|=|:)?\s*{_NUM}\s*%", text, re.I
        )
        if m:
            out[key] = (_number(m.group(1) or m.group(2)), m.group(0).strip())
    if out and not ({"neutrophils_pct", "lymphocytes_pct"} & out.keys()):
        # the predominant cell in words, read only beside other CSF values and only when one
        # kind is named ("mostly lymphs", "neutrophilic"); a percentage, when given, wins
        said = {
            cell: m for cell, pat in _PREDOMINANT.items() if (m := pat.search(text)) is not None
        }
        if len(said) == 1:
            cell, m = next(iter(said.items()))
            out["predominant_cell"] = (cell, m.group(0).strip())
    return out


_PREDOMINANT = {
    "lymphocytes": re.compile(
        r"\b(?:mostly|mainly|predominantly|largely|mostly\s+all)\s+(?:lymph\w*|monos?|mononuclear\w*)"
        r"|\blymph(?:ocyte|ocytic|s)?[- ]?(?:predominan\w*|pleocytosis)"
        r"|\bmononuclear\s+(?:predominan\w*|pleocytosis|cells?)|\blymphocytic\b",
        re.I,
    ),
    "neutrophils": re.compile(
        r"\b(?:mostly|mainly|predominantly|largely)\s+(?:neut\w*|polys|polymorph\w*|pmns?)"
        r"|\b(?:neutrophil(?:ic|s)?|polymorph\w*|pmn|poly)[- ]?(?:predominan\w*|pleocytosis)"
        r"|\bneutrophilic\b",
        re.I,
    ),
}
"""The predominant CSF white cell as people write it without a percentage."""


def _timed(lab: dict[str, Any], src: str, text: str, end: int, at: dt.datetime) -> str:
    """Give ``lab`` the time written after its value (if any) and say it in the text read."""
    if (when := _lab_time(text, end, at)) is None:
        return src
    lab["time"] = when.isoformat()
    return src + f" (taken {when.isoformat()})"


_UNIT_SHOWN = {"g/l": "g/L", "mg/dl": "mg/dL", "mg/l": "mg/L", "mmol/l": "mmol/L"}


__all__ = ["ValueRead", "ValuesRead", "read_values"]
