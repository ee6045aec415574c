"""Small text helpers shared by indexing, expansion and abstention (no clinical content)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_TOKEN = re.compile(r"[A-Za-z0-9]+")
_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\[(\"'])")

# Function words and question scaffolding. These say nothing about the topic of a question.
STOPWORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "also",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "done",
        "down",
        "during",
        "each",
        "either",
        "else",
        "ever",
        "few",
        "for",
        "from",
        "further",
        "get",
        "gets",
        "getting",
        "give",
        "given",
        "go",
        "going",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "know",
        "let",
        "like",
        "may",
        "me",
        "might",
        "more",
        "most",
        "much",
        "must",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "out",
        "over",
        "own",
        "please",
        "same",
        "say",
        "shall",
        "she",
        "should",
        "so",
        "some",
        "such",
        "tell",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "upon",
        "us",
        "use",
        "used",
        "using",
        "very",
        "want",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "whose",
        "why",
        "will",
        "with",
        "would",
        "yes",
        "you",
        "your",
        "yours",
        "yourself",
        "anyone",
        "someone",
        "something",
        "thing",
        "things",
        "really",
        "actually",
        "kind",
        "sort",
        "way",
        "ok",
        "okay",
        "hi",
        "hello",
        "thanks",
        "thank",
        "explain",
        "mean",
        "means",
        "meaning",
        "happen",
        "happens",
        "needed",
        "need",
        "needs",
        "recommend",
        "recommended",
        "recommendation",
        "recommendations",
        "best",
        "usual",
        "usually",
        "typical",
        "typically",
        "right",
        "correct",
        "good",
        "patient",
        "patients",
        "person",
        "people",
        "doctor",
        "doctors",
        "someone's",
        "one",
        "ones",
        # number words (numbers written in digits are set aside the same way)
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        # question scaffolding
        "take",
        "taking",
        "taken",
        "receive",
        "receives",
        "received",
        "receiving",
        "problem",
        # what is left of contractions ("I'm", "I've", "doesn't", "we'll", "they're", "it's")
        "m",
        "ve",
        "t",
        "ll",
        "re",
        "s",
    ]
)


def tokens(text: str) -> list[str]:
    """Lower-case alphanumeric tokens, in order."""
    return [t.lower() for t in _TOKEN.findall(text)]


def raw_tokens(text: str) -> list[str]:
    """Alphanumeric tokens with their original case, in order."""
    return _TOKEN.findall(text)


def content_tokens(text: str) -> list[str]:
    """Tokens that are not function words, de-duplicated, in order of first appearance."""
    seen: dict[str, None] = {}
    for tok in tokens(text):
        if tok not in STOPWORDS and tok not in seen:
            seen[tok] = None
    return list(seen)


def split_sentences(text: str) -> list[str]:
    """Split prose into sentences (good enough for composed answers and model output)."""
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        out.extend(s.strip() for s in _SENTENCE.split(line) if s.strip())
    return out


def fts_quote(token_or_phrase: str) -> str:
    """Quote a token or phrase for an FTS5 MATCH expression (only alphanumerics survive)."""
    words = _TOKEN.findall(token_or_phrase)
    return '"' + " ".join(w.lower() for w in words) + '"' if words else ""


NEWBORN_DAYS = 28
"""The neonatal period, in days (the usual convention): older babies are infants."""


_AGE_YEARS = re.compile(
    r"\b(\d{1,3})\s*[- ]?\s*(?:years?|yrs?|y)\s*[- ]?\s*old\b|\b(\d{1,3})\s*(?:yo|y/o|y\.o\.)(?![a-z])"
    r"|\baged?\s+(\d{1,3})\b(?!\s*(?:days?|d|weeks?|wks?|months?|mo|mos)\b)",
    re.I,
)
_AGE_YOUNG = re.compile(
    r"\b(\d{1,3})\s*[- ]?\s*(days?|d|weeks?|wks?|months?|mo|mos)\s*[- ]?\s*old\b", re.I
)
ADULT_FROM_YEARS = 18
"""An age in years from which a person is an adult (the usual convention)."""


def _age_group(text: str) -> str | None:
    """The population group of an age written in ``text`` ("70-year-old", "8 yo", "6 mo old")."""
    m = _AGE_YEARS.search(text)
    if m:
        years = int(next(g for g in m.groups() if g))
        return "adult" if years >= ADULT_FROM_YEARS else "child" if years >= 1 else "newborn"
    m = _AGE_YOUNG.search(text)
    if m:
        # days, weeks or months old: a newborn in the first 28 days, then an infant
        n, unit = int(m.group(1)), m.group(2).lower()
        days = n if unit.startswith("d") else 7 * n if unit.startswith("w") else 30 * n
        if days <= NEWBORN_DAYS:
            return "newborn"
        return "infant" if days < 365 else "child"
    m = _AGE_SEX.search(text)
    if m and int(m.group(1)) >= ADULT_FROM_YEARS:
        return "adult"  # "a 35M" (a small number could be months: "a 6M old" is left alone)
    return None


CONDITION_GROUPS: dict[str, frozenset[str]] = {
    "hiv": frozenset(["hiv", "aids", "plhiv"]),
    "pregnancy": frozenset(["pregnant", "pregnancy", "pregnancies", "trimester"]),
    "transplant": frozenset(["transplant", "transplants", "transplantation", "transplanted"]),
}
"""Patient groups a question can name besides age, as English words say them: a question about
a pregnant woman or a child living with HIV is led by a statement that names that group, when
one is retrieved. Unlike the age groups, a statement naming one of these does not stop it
answering a question that names none."""


def conditions(text: str) -> frozenset[str]:
    """The patient groups of ``CONDITION_GROUPS`` that ``text`` names."""
    words = set(tokens(text))
    return frozenset(g for g, members in CONDITION_GROUPS.items() if words & members)


_AGE_SEX = re.compile(r"\b(\d{1,3})\s?(?:yo\s?)?[MF]\b(?!\s*old)")
"""Clinic shorthand for age and sex ("a 35M", "72F")."""


@dataclass(frozen=True)
class Populations:
    """Who a sentence is about, as the vocabulary's 'population' words say it (knowledge data):
    a statement about children should not lead an answer to a question about adults (or one
    that names nobody), nor a statement about newborns (the first 28 days) one about a
    6-month-old infant. ``groups``: group name -> its words; ``words``: every population word
    (a follow-up naming one replaces the earlier population)."""

    groups: dict[str, frozenset[str]]
    words: frozenset[str]

    def named(self, text: str, ages: bool = False) -> frozenset[str]:
        """The population groups ``text`` names; with ``ages`` (a question), also by an age
        ("a 70-year-old" is an adult, "6 mo old" an infant)."""
        words = set(tokens(text))
        named = {g for g, members in self.groups.items() if words & members}
        group = _age_group(text) if ages else None
        if group is not None:
            named.add(group)
        return frozenset(named)
