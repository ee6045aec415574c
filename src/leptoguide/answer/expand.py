"""Query expansion from the terminology: a phrase in the question pulls in its concept's synonyms.

"LP" finds statements that say "lumbar puncture" or "spinal tap"; "DepoCyt" finds "liposomal
cytarabine". The lexicon is built from the knowledge base's concepts (display name plus synonyms), so
the vocabulary lives in data/, not here. One- and two-letter synonyms and synonyms that are also
function words ("it", "lm", "iv") match only when written in capitals ("IT", "LM", "IV").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from leptoguide.answer.text import STOPWORDS, raw_tokens
from leptoguide.memo import once_per


@dataclass(frozen=True)
class Phrase:
    concept: str
    text: str
    words: tuple[str, ...]
    case_sensitive: bool


@dataclass(frozen=True)
class Expansion:
    """What the lexicon found in a text and what it would add."""

    concepts: tuple[str, ...] = ()
    matched: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    alternatives: dict[str, tuple[str, ...]] = field(default_factory=dict)
    """For each lower-case word of a matched phrase: the other names of its concept."""


@dataclass
class Lexicon:
    """Synonym groups keyed by concept id, with a first-word index for fast phrase matching."""

    groups: dict[str, list[Phrase]] = field(default_factory=dict)
    kinds: dict[str, str] = field(default_factory=dict)
    _by_first: dict[str, list[Phrase]] = field(default_factory=lambda: defaultdict(list))

    @classmethod
    def from_concepts(
        cls, concepts: Iterable[tuple[str, str, Iterable[str]]], keep_case: bool = False
    ) -> Lexicon:
        """Build from (concept id, kind, phrases) triples."""
        lex = cls()
        for cid, kind, phrases in concepts:
            seen: set[str] = set()
            group: list[Phrase] = []
            for text in phrases:
                words = tuple(raw_tokens(text))
                if not words:
                    continue
                sensitive = len(words) == 1 and (
                    len(words[0]) <= 2 or words[0].lower() in STOPWORDS
                )
                # short terms match in capitals ("IT", never the word "it"), or, with
                # keep_case, exactly as written ("tx" and "Tx" are listed separately)
                as_written = words[0] if keep_case else words[0].upper()
                key = as_written if sensitive else " ".join(w.lower() for w in words)
                if key in seen:
                    continue
                seen.add(key)
                phrase = Phrase(
                    cid,
                    text,
                    (as_written,) if sensitive else tuple(w.lower() for w in words),
                    sensitive,
                )
                group.append(phrase)
                lex._by_first[phrase.words[0] if sensitive else phrase.words[0].lower()].append(
                    phrase
                )
            if group:
                lex.groups[cid] = group
                lex.kinds[cid] = kind
        for plist in lex._by_first.values():
            plist.sort(key=lambda p: -len(p.words))
        return lex

    def find(self, text: str, skip: Callable[[str], bool] | None = None) -> list[Phrase]:
        """Every lexicon phrase occurring in ``text`` (longest match wins at each position),
        leaving out the groups ``skip`` names."""
        raw = raw_tokens(text)
        low = [w.lower() for w in raw]
        found: list[Phrase] = []
        i = 0
        while i < len(raw):
            step = 1
            for first in {raw[i], low[i]}:
                for phrase in self._by_first.get(first, ()):
                    if skip is not None and skip(phrase.concept):
                        continue
                    seq = raw if phrase.case_sensitive else low
                    n = len(phrase.words)
                    if tuple(seq[i : i + n]) == phrase.words:
                        found.append(phrase)
                        step = max(step, n)
                        break
            i += step
        return found

    def find_all(self, text: str) -> list[Phrase]:
        """Every lexicon phrase occurring in ``text``, overlaps included (all groups, all lengths)."""
        raw = raw_tokens(text)
        low = [w.lower() for w in raw]
        found: list[Phrase] = []
        for i in range(len(raw)):
            for first in {raw[i], low[i]}:
                for phrase in self._by_first.get(first, ()):
                    seq = raw if phrase.case_sensitive else low
                    if tuple(seq[i : i + len(phrase.words)]) == phrase.words:
                        found.append(phrase)
        return found

    def expand(self, text: str, skip: Callable[[str], bool] | None = None) -> Expansion:
        """Concepts named in ``text`` and the synonyms of theirs that ``text`` does not contain
        (the groups ``skip`` names left out)."""
        hits = self.find(text, skip)
        concepts = list(dict.fromkeys(p.concept for p in hits))
        matched = [p.text for p in hits]
        present = {" ".join(w.lower() for w in p.words) for p in hits}
        added: list[str] = []
        for cid in concepts:
            for phrase in self.groups[cid]:
                key = " ".join(w.lower() for w in phrase.words)
                if key not in present:
                    present.add(key)
                    added.append(phrase.text)
        alternatives: dict[str, list[str]] = {}
        for hit in hits:
            others = [p.text for p in self.groups[hit.concept] if p is not hit]
            for word in hit.words:
                alternatives.setdefault(word.lower(), []).extend(others)
        return Expansion(
            tuple(concepts),
            tuple(matched),
            tuple(added),
            {w: tuple(dict.fromkeys(alts)) for w, alts in alternatives.items()},
        )


READING_PREFIX = "reading-"
"""Lexicon groups built from the question vocabulary's shorthand and lay words (role same-as)
with what they mean. They count when a statement is checked for the question's words; they are
not terminology concepts, so the index gives them no synonyms and no concept token."""


def is_reading(concept: str) -> bool:
    return concept.startswith(READING_PREFIX)


_LEXICONS: dict[int, Lexicon] = {}


def lexicon_for(kb: object) -> Lexicon:
    """The lexicon of a knowledge base's terminology concepts plus the question vocabulary's
    word-form groups (kind "variant": they help matching, they never place a question in scope).

    Built once per loaded knowledge base (read only after loading) and kept while it lives."""
    return once_per(_LEXICONS, id(kb), lambda: _build_lexicon(kb), kb)


def _build_lexicon(kb: object) -> Lexicon:
    concepts = getattr(kb, "concepts", {})
    groups: list[tuple[str, str, list[str]]] = [
        (c.id, c.kind, [c.display, *c.synonyms]) for c in concepts.values()
    ]
    vocabulary = getattr(kb, "vocabulary", {})
    groups += [
        (f"variant-{e.id}", "variant", list(e.terms))
        for e in vocabulary.values()
        if e.role == "variants"
    ]
    # shorthand and lay words with what they mean: either counts for the other when a
    # statement is checked for the question's words ("TKIs" covers "tyrosine kinase inhibitor")
    groups += [
        (f"{READING_PREFIX}{e.id}", "variant", [*e.terms, e.means])
        for e in vocabulary.values()
        if e.role == "same-as" and getattr(e, "means", None)
    ]
    return Lexicon.from_concepts(groups)
