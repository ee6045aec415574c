"""ConText-style assertion: is a phrase in a sentence stated as present, or negated, possible,
hypothetical, historical, or about a family member?

The cue phrases are data (``lexicons`` records in ``data/terminology/lexicon.yaml``, one role per
category and direction). A cue governs the phrases after it (``-before`` roles) or before it
(``-after`` roles) up to the end of its clause: sentence punctuation, or a scope-end word
("but", "however"). Pseudo-cues ("no change", "gram negative") hold cue words that are not cues.
Cues are matched longest first, so "cannot be excluded" (possible) wins over "excluded" (negated).
When several cues govern one phrase, the category is chosen by ``PRECEDENCE``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

Category = Literal["present", "negated", "possible", "hypothetical", "historical", "family"]

ROLE_CATEGORY: dict[str, tuple[Category | None, str]] = {
    "negation-before": ("negated", "before"),
    "negation-after": ("negated", "after"),
    "possible-before": ("possible", "before"),
    "possible-after": ("possible", "after"),
    "hypothetical-before": ("hypothetical", "before"),
    "hypothetical-after": ("hypothetical", "after"),
    "historical-before": ("historical", "before"),
    "family-before": ("family", "before"),
    "pseudo-cue": (None, "none"),
    "scope-end": (None, "end"),
}
"""Lexicon role -> (ConText category, direction). Not clinical data: the cue words are."""

PRECEDENCE: tuple[Category, ...] = ("family", "hypothetical", "negated", "possible", "historical")
"""Which category wins when several cues govern one phrase (the most restrictive reading)."""


@dataclass(frozen=True)
class Cue:
    words: tuple[str, ...]
    category: Category | None
    direction: str  # before | after | none (pseudo) | end (scope end)


@dataclass(frozen=True)
class Assertion:
    category: Category
    cue: str | None = None


class CueSet:
    """Cue phrases of every role, looked up by first word, longest first."""

    def __init__(self, roles: Mapping[str, Iterable[tuple[str, ...]]]) -> None:
        self.by_first: dict[str, list[Cue]] = {}
        for role, phrases in roles.items():
            if role not in ROLE_CATEGORY:
                continue
            category, direction = ROLE_CATEGORY[role]
            for words in phrases:
                if words:
                    self.by_first.setdefault(words[0], []).append(Cue(words, category, direction))
        for bucket in self.by_first.values():
            bucket.sort(key=lambda c: len(c.words), reverse=True)

    def scan(
        self, tokens: list[str], taken: set[int] | frozenset[int] = frozenset()
    ) -> list[tuple[int, Cue]]:
        """Cues in a token list, left to right, longest first, not overlapping ``taken``."""
        out: list[tuple[int, Cue]] = []
        i = 0
        while i < len(tokens):
            hits: list[Cue] = []
            if i not in taken:
                for cue in self.by_first.get(tokens[i], ()):
                    n = len(cue.words)
                    if hits and n < len(hits[0].words):
                        break
                    span = range(i, i + n)
                    if tuple(tokens[i : i + n]) == cue.words and not any(j in taken for j in span):
                        hits.append(cue)  # the same words can be a before- and an after-cue
            if hits:
                out.extend((i, cue) for cue in hits)
                i += len(hits[0].words)
            else:
                i += 1
        return out


def assertion_of(cues: list[tuple[int, Cue]], start: int, end: int, length: int) -> Assertion:
    """The category of tokens[start:end] given the cues found in the same sentence."""
    left = 0
    right = length
    for pos, cue in cues:
        if cue.direction == "end":
            if pos + len(cue.words) <= start:
                left = max(left, pos + len(cue.words))
            elif pos >= end:
                right = min(right, pos)
    found: dict[Category, str] = {}
    for pos, cue in cues:
        if cue.category is None:
            continue
        before = cue.direction == "before" and left <= pos and pos + len(cue.words) <= start
        after = cue.direction == "after" and end <= pos < right
        if before or after:
            found.setdefault(cue.category, " ".join(cue.words))
    for category in PRECEDENCE:
        if category in found:
            return Assertion(category, found[category])
    return Assertion("present")
