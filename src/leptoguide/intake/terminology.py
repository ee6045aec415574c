"""Match FHIR codings and free text to terminology concepts, from data only.

The index is built once per knowledge base (cached) from ``Concept.codes``, ``display`` and
``synonyms``: lookups are dictionary hits, O(1) per coding. Matching order:

1. by code: (system, code) exactly, then code prefixes written ``C50.*`` in the concept file
   (ICD-10 and ICD-10-CM codes are compared without dots, upper case, as one family);
2. by text: the normalized ``coding.display`` and ``CodeableConcept.text`` against the concepts'
   display, synonyms and coding displays;
3. by phrase (``find_phrases``, only for the kinds a reader asks for): the text with strengths and
   dose forms removed, compared whole; then every concept phrase contained in the text at word
   boundaries. Longest phrase wins; overlapping shorter phrases drop out; two different concepts
   on equally long phrases are ambiguous (no match). Conditions, symptoms and findings are checked
   for ConText assertion cues (``intake/assertion.py``): negated ("no", "denies"), possible
   ("concern for"), hypothetical ("evaluate for"), historical ("history of") or family ("mother
   had"); only a mention stated as present is a match. Concepts can
   list ``text_excludes`` words that veto a phrase match (oral forms for an IV-only concept).

No clinical code or word list appears in this module; the concepts and word lists come from
``data/terminology`` (``concepts`` and ``lexicons`` records).
"""

from __future__ import annotations

import re
import unicodedata
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from leptoguide.intake.assertion import CueSet, assertion_of
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.models import Concept, Lexicon

NEGATABLE_KINDS = frozenset({"condition", "finding"})
"""Concept kinds whose free-text mentions are checked for negation cues."""

_CLAUSE_BREAK = re.compile(r"[.;:!?\n]+")
_NUMBER_TOKEN = re.compile(r"^\d+%?$")

ICD10 = "icd-10"
"""The internal key of the ICD-10 / ICD-10-CM system family."""

_SYSTEM_ALIASES = {
    "http://hl7.org/fhir/sid/icd-10-cm": ICD10,
    "http://hl7.org/fhir/sid/icd-10": ICD10,
    "urn:oid:2.16.840.1.113883.6.90": ICD10,
    "urn:oid:2.16.840.1.113883.6.3": ICD10,
    "urn:oid:2.16.840.1.113883.6.96": "http://snomed.info/sct",
    "urn:oid:2.16.840.1.113883.6.1": "http://loinc.org",
    "urn:oid:2.16.840.1.113883.6.88": "http://www.nlm.nih.gov/research/umls/rxnorm",
    "http://unitsofmeasure.org/": "http://unitsofmeasure.org",
}
"""Standard FHIR spellings of the same code system (OIDs, trailing slashes). Not clinical data."""

_SNOMED_TAG = re.compile(
    r"\s*\((disorder|finding|procedure|qualifier value|substance|product|medicinal product|"
    r"observable entity|physical object|regime/therapy|morphologic abnormality|situation|"
    r"clinical drug|event|body structure)\)\s*$",
    re.IGNORECASE,
)
_NON_WORD = re.compile(r"[^0-9a-z%+]+")


STANDARD_SYSTEMS = frozenset(
    {
        "http://loinc.org",
        "http://snomed.info/sct",
        ICD10,
        "http://www.nlm.nih.gov/research/umls/rxnorm",
        "http://hl7.org/fhir/sid/ndc",
        "http://hl7.org/fhir/sid/cvx",
        "http://www.ama-assn.org/go/cpt",
        "http://hl7.org/fhir/sid/icd-9-cm",
        "http://unitsofmeasure.org",
        "https://dmd.nhs.uk",
        "http://nucc.org/provider-taxonomy",
    }
)
"""Published code systems: a coding in one of them is coded data, never read as narrative."""


def codeable_texts(codeable: Mapping[str, Any]) -> list[str]:
    """The narrative of a CodeableConcept: its text, then each coding's display."""
    texts: list[str] = []
    if isinstance(codeable.get("text"), str):
        texts.append(codeable["text"])
    for coding in codeable.get("coding") or []:
        if isinstance(coding, Mapping) and isinstance(coding.get("display"), str):
            texts.append(coding["display"])
    return texts


def is_coded(codeable: Mapping[str, Any]) -> bool:
    """True when a CodeableConcept carries a code from a standard system or the project's own."""
    for coding in codeable.get("coding") or []:
        if not isinstance(coding, Mapping) or not coding.get("code"):
            continue
        system = normalize_system(coding.get("system"))
        if system in STANDARD_SYSTEMS or system.startswith(PROJECT_SYSTEM_PREFIX):
            return True
    return False


PROJECT_SYSTEM_PREFIX = "https://leptoguide.org/fhir/"


def normalize_system(system: str | None) -> str:
    if not system:
        return ""
    s = system.strip().rstrip("/")
    return _SYSTEM_ALIASES.get(s, _SYSTEM_ALIASES.get(s + "/", s))


def normalize_code(system: str, code: str) -> str:
    code = code.strip()
    if system == ICD10:
        return code.upper().replace(".", "")
    return code


@lru_cache(maxsize=8192)
def normalize_text(text: str) -> str:
    """Lower case, no accents, SNOMED semantic tags and punctuation removed, single spaces."""
    text = _SNOMED_TAG.sub("", text)
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return " ".join(_NON_WORD.sub(" ", text).split())


@dataclass(frozen=True)
class Match:
    """A concept found for a CodeableConcept, and how it was found."""

    concept: Concept
    by: str  # "code", "code-prefix" or "text"
    key: str  # the system|code or the text that matched


_CLAUSE = re.compile(r"[;,.\n]")
_TIME_TAIL = re.compile(r"(?:\s+(?:after|at|in|to)\s+(?:\d+\s*(?:hours?|hrs?|h|days?|d)|date))+$")


@dataclass
class TermIndex:
    """Dictionaries from codes and normalized texts to concept ids."""

    concepts: Mapping[str, Concept]
    by_code: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    by_prefix: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    prefix_lengths: dict[str, list[int]] = field(default_factory=dict)
    by_text: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    phrases: dict[str, list[tuple[tuple[str, ...], str]]] = field(default_factory=dict)
    cues: dict[str, PhraseSet] = field(default_factory=dict)
    unit_forms: tuple[tuple[str, ...], ...] = ()
    """Normalized ``unit-dose-form`` phrases: one unit of such a product is one dose."""
    specimens: tuple[tuple[PhraseSet, str], ...] = ()
    """(words naming a specimen, its name) from the ``specimen`` lexicons."""
    count_units: frozenset[str] = frozenset()
    """Normalized ``count-unit`` words (singular): a dose unit that counts product units."""
    result_words: dict[str, bool] = field(default_factory=dict)
    """Normalized laboratory result phrases: True for ``result-positive``, False for
    ``result-negative``."""

    def result_word(self, text: str) -> bool | None:
        """Detected (True) / not detected (False) for a laboratory result text, from its first
        clause without a trailing incubation time ('No growth after 48 hours'); else None."""
        first = _CLAUSE.split(text, maxsplit=1)[0]
        norm = _TIME_TAIL.sub("", normalize_text(first))
        return self.result_words.get(norm)

    excludes: dict[str, PhraseSet] = field(default_factory=dict)
    units: frozenset[str] = frozenset()
    context: CueSet = field(default_factory=lambda: CueSet({}))
    _memo: dict[tuple[str, frozenset[str], bool], PhraseResult] = field(default_factory=dict)

    @classmethod
    def build(
        cls, concepts: Mapping[str, Concept], lexicons: Mapping[str, Lexicon] | None = None
    ) -> TermIndex:
        index = cls(concepts=concepts)
        lengths: dict[str, set[int]] = {}
        for cid, concept in concepts.items():
            for coding in concept.codes:
                system = normalize_system(coding.system)
                raw = coding.code.strip()
                if raw.endswith("*"):
                    prefix = normalize_code(system, raw.rstrip("*").rstrip("."))
                    _add(index.by_prefix, (system, prefix), cid)
                    lengths.setdefault(system, set()).add(len(prefix))
                else:
                    _add(index.by_code, (system, normalize_code(system, raw)), cid)
                if coding.display:
                    _add(index.by_text, normalize_text(coding.display), cid)
            for text in (concept.display, *concept.synonyms):
                _add(index.by_text, normalize_text(text), cid)
            if concept.value_set:
                index.values[cid] = {
                    normalize_text(v.replace("-", " ")): v for v in concept.value_set
                }
        index.prefix_lengths = {s: sorted(ls, reverse=True) for s, ls in lengths.items()}
        for text, ids in index.by_text.items():
            tokens = tuple(text.split())
            for cid in ids:
                if tokens:
                    _add_phrase(index.phrases, tokens, cid)
        for cid, concept in concepts.items():
            words = [tuple(normalize_text(t).split()) for t in concept.text_excludes]
            if any(words):
                index.excludes[cid] = PhraseSet(w for w in words if w)
        cues: dict[str, list[tuple[str, ...]]] = {}
        for lex in (lexicons or {}).values():
            cues.setdefault(lex.role, []).extend(
                tuple(normalize_text(term).split()) for term in lex.terms
            )
        index.cues = {role: PhraseSet(t for t in terms if t) for role, terms in cues.items()}
        index.units = frozenset(t[0] for t in cues.get("strength-unit", []) if len(t) == 1)
        index.unit_forms = tuple(t for t in cues.get("unit-dose-form", []) if t)
        index.count_units = frozenset(" ".join(t) for t in cues.get("count-unit", []) if t)
        index.result_words = {
            **{" ".join(t): False for t in cues.get("result-negative", []) if t},
            **{" ".join(t): True for t in cues.get("result-positive", []) if t},
        }
        index.specimens = tuple(
            (PhraseSet(t for t in words if t), lex.terms[0])
            for lex in (lexicons or {}).values()
            if lex.role == "specimen"
            for words in [[tuple(normalize_text(term).split()) for term in lex.terms]]
        )
        index.context = CueSet(cues)
        return index

    def by_coding(self, system: str | None, code: str | None) -> tuple[list[str], str]:
        """Concept ids for one coding: exact code first, then the longest matching prefix."""
        if not code or not isinstance(code, str):
            return [], ""
        sys_ = normalize_system(system)
        norm = normalize_code(sys_, code)
        hit = self.by_code.get((sys_, norm))
        if hit:
            return hit, "code"
        for length in self.prefix_lengths.get(sys_, ()):
            if len(norm) >= length:
                hit = self.by_prefix.get((sys_, norm[:length]))
                if hit:
                    return hit, "code-prefix"
        return [], ""

    def match(
        self, codeable: Mapping[str, Any] | None, kinds: Iterable[str] | None = None
    ) -> list[Match]:
        """Concepts a CodeableConcept denotes, code matches first, then text matches."""
        if not codeable:
            return []
        allowed = set(kinds) if kinds is not None else None
        found: dict[str, Match] = {}
        codings = codeable.get("coding") or []
        texts: list[str] = []
        for coding in codings if isinstance(codings, list) else []:
            if not isinstance(coding, Mapping):
                continue
            ids, how = self.by_coding(coding.get("system"), coding.get("code"))
            key = f"{coding.get('system') or ''}|{coding.get('code') or ''}"
            self._collect(found, ids, how, key, allowed)
            display = coding.get("display")
            if isinstance(display, str):
                texts.append(display)
        if found:
            return list(found.values())
        text = codeable.get("text")
        if isinstance(text, str):
            texts.insert(0, text)
        for t in texts:
            self._collect(found, self.by_text.get(normalize_text(t), []), "text", t, allowed)
        return list(found.values())

    def match_text(self, text: str, kinds: Iterable[str] | None = None) -> list[Match]:
        """Concepts for a plain word or phrase: a concept id itself, or a display or synonym."""
        allowed = set(kinds) if kinds is not None else None
        found: dict[str, Match] = {}
        if text in self.concepts:
            self._collect(found, [text], "id", text, allowed)
            if found:
                return list(found.values())
        self._collect(found, self.by_text.get(normalize_text(text), []), "text", text, allowed)
        return list(found.values())

    def value_code(self, concept_id: str, text: str) -> str | None:
        """The value-set entry of a concept that a code, display or text denotes."""
        table = self.values.get(concept_id)
        if not table:
            return None
        return table.get(normalize_text(text.replace("-", " ")))

    def find_phrases(
        self, texts: Iterable[str], kinds: Iterable[str], *, multi: bool = False
    ) -> PhraseResult:
        """The free-text stage: concepts of ``kinds`` named inside ``texts`` (first text that
        gives an answer wins). ``multi``: every distinct concept mentioned is returned (a
        condition text naming two diagnoses); otherwise one concept, or none if ambiguous."""
        allowed = frozenset(kinds)
        result = PhraseResult()
        for text in texts:
            if not text or not text.strip():
                continue
            key = (text, allowed, multi)
            one = self._memo.get(key)
            if one is None:
                if len(self._memo) > 4096:
                    self._memo.clear()
                one = self._memo[key] = self._phrases_in(text, allowed, multi)
            result.negated.extend(one.negated)
            result.excluded.extend(one.excluded)
            result.ambiguous.extend(one.ambiguous)
            if one.matches:
                result.matches = list(one.matches)
                return result
        return result

    def _phrases_in(self, text: str, allowed: frozenset[str], multi: bool) -> PhraseResult:
        result = PhraseResult()
        clauses = [self._strip_strengths(normalize_text(c).split()) for c in _split(text)]
        clauses = [c for c in clauses if c]
        # 1. the whole text without dose forms, compared as a name
        forms = self.cues.get("dose-form", EMPTY)
        whole = " ".join(t for c in clauses for t in forms.remove(c))
        for cid in self.by_text.get(whole, ()):
            concept = self.concepts[cid]
            if concept.kind in allowed and not self._excluded(cid, clauses, text, result):
                result.matches.append(Match(concept, "text-stripped", text))
        if len(result.matches) == 1:
            return result
        result.matches = []
        # 2. concept phrases inside the text, longest first, no overlaps
        spans: list[tuple[int, int, int, str]] = []  # (clause, start, end, concept)
        for ci, tokens in enumerate(clauses):
            for i, tok in enumerate(tokens):
                for phrase, cid in self.phrases.get(tok, ()):
                    n = len(phrase)
                    if tuple(tokens[i : i + n]) != phrase:
                        continue
                    if self.concepts[cid].kind in allowed:
                        spans.append((ci, i, i + n, cid))
        spans.sort(key=lambda s: (-(s[2] - s[1]), s[0], s[1], s[3]))
        kept: list[tuple[int, int, int, str]] = []
        for span in spans:
            ci, start, end, cid = span
            clash = [k for k in kept if k[0] == ci and k[1] < end and start < k[2]]
            if not clash:
                kept.append(span)
            elif all(k[1:3] == (start, end) for k in clash) and all(k[3] != cid for k in clash):
                kept.append(span)  # the same words name another concept: ambiguous below
        asserted: list[tuple[int, int, int, str]] = []
        for ci, start, end, cid in kept:
            if self._excluded(cid, clauses, text, result):
                continue
            concept = self.concepts[cid]
            if concept.kind in NEGATABLE_KINDS:
                cue = self._negation(clauses[ci], start, end)
                if cue:
                    result.negated.append((cid, cue, text))
                    continue
            asserted.append((ci, start, end, cid))
        if not asserted:
            return result
        by_span: dict[tuple[int, int, int], set[str]] = {}
        for ci, start, end, cid in asserted:
            by_span.setdefault((ci, start, end), set()).add(cid)
        if any(len(ids) > 1 for ids in by_span.values()):
            result.ambiguous.extend(sorted({c for ids in by_span.values() for c in ids}))
            return result
        if multi:
            seen: list[str] = []
            for _, _, _, cid in sorted(asserted):
                if cid not in seen:
                    seen.append(cid)
            result.matches = [Match(self.concepts[c], "text-contains", text) for c in seen]
            return result
        best = max(end - start for _, start, end, _ in asserted)
        top = sorted({cid for _, start, end, cid in asserted if end - start == best})
        if len(top) > 1:
            result.ambiguous.extend(top)
            return result
        result.matches = [Match(self.concepts[top[0]], "text-contains", text)]
        return result

    def _strip_strengths(self, tokens: list[str]) -> list[str]:
        """Drop numbers and the unit words right after them ("80 mg", "10 %", "2 5 mg")."""
        units = self.units
        out: list[str] = []
        after_number = False
        for tok in tokens:
            if _NUMBER_TOKEN.match(tok):
                after_number = True
                continue
            if after_number and tok in units:
                continue
            after_number = False
            out.append(tok)
        return out

    def _excluded(
        self, cid: str, clauses: list[list[str]], text: str, result: PhraseResult
    ) -> bool:
        words = self.excludes.get(cid)
        if words is None:
            return False
        for c in clauses:
            found = words.first(c, 0, len(c))
            if found is not None:
                hit = (cid, " ".join(found[1]), text)
                if hit not in result.excluded:
                    result.excluded.append(hit)
                return True
        return False

    def _negation(self, tokens: list[str], start: int, end: int) -> str | None:
        """The ConText cue that makes tokens[start:end] other than present, described, if any
        (same clause, no scope end): "negation cue 'no'", "possible cue 'concern for'"."""
        cues = self.context.scan(tokens, frozenset(range(start, end)))
        found = assertion_of(cues, start, end, len(tokens))
        if found.category == "present":
            return None
        kind = "negation" if found.category == "negated" else found.category
        return f"{kind} cue '{found.cue}'"

    def _collect(
        self,
        found: dict[str, Match],
        ids: Iterable[str],
        how: str,
        key: str,
        allowed: set[str] | None,
    ) -> None:
        for cid in ids:
            concept = self.concepts[cid]
            if allowed is not None and concept.kind not in allowed:
                continue
            found.setdefault(cid, Match(concept, how, key))


@dataclass
class PhraseResult:
    """What the free-text stage found: matches, and what it refused (for warnings)."""

    matches: list[Match] = field(default_factory=list)
    negated: list[tuple[str, str, str]] = field(default_factory=list)  # (concept, cue, text)
    """Mentions not stated as present: negated, possible, hypothetical, historical, family."""
    excluded: list[tuple[str, str, str]] = field(default_factory=list)  # (concept, word, text)
    ambiguous: list[str] = field(default_factory=list)


def _split(text: str) -> list[str]:
    return [part for part in _CLAUSE_BREAK.split(text) if part.strip()]


class PhraseSet:
    """Word sequences looked up by their first word; matching is at word boundaries."""

    def __init__(self, phrases: Iterable[tuple[str, ...]]) -> None:
        self.by_first: dict[str, list[tuple[str, ...]]] = {}
        for p in phrases:
            bucket = self.by_first.setdefault(p[0], [])
            if p not in bucket:
                bucket.append(p)
        for bucket in self.by_first.values():
            bucket.sort(key=len, reverse=True)

    def all(self, tokens: list[str], lo: int, hi: int) -> list[tuple[int, tuple[str, ...]]]:
        """Every (position, phrase) inside tokens[lo:hi], longest phrase per position."""
        out = []
        for i in range(lo, hi):
            for p in self.by_first.get(tokens[i], ()):
                if i + len(p) <= hi and tuple(tokens[i : i + len(p)]) == p:
                    out.append((i, p))
                    break
        return out

    def first(self, tokens: list[str], lo: int, hi: int) -> tuple[int, tuple[str, ...]] | None:
        found = self.all(tokens, lo, hi)
        return found[0] if found else None

    def remove(self, tokens: list[str]) -> list[str]:
        out: list[str] = []
        i = 0
        while i < len(tokens):
            for p in self.by_first.get(tokens[i], ()):
                if tuple(tokens[i : i + len(p)]) == p:
                    i += len(p)
                    break
            else:
                out.append(tokens[i])
                i += 1
        return out


EMPTY = PhraseSet(())


def _add_phrase(
    table: dict[str, list[tuple[tuple[str, ...], str]]], tokens: tuple[str, ...], cid: str
) -> None:
    bucket = table.setdefault(tokens[0], [])
    if (tokens, cid) not in bucket:
        bucket.append((tokens, cid))


def _add(table: dict[Any, list[str]], key: Any, cid: str) -> None:
    if not key:
        return
    ids = table.setdefault(key, [])
    if cid not in ids:
        ids.append(cid)


_CACHE: dict[int, TermIndex] = {}


def term_index(kb: KnowledgeBase) -> TermIndex:
    """The index of a knowledge base, built on first use and kept while the knowledge base lives."""
    found = _CACHE.get(id(kb))
    if found is None:
        found = _CACHE[id(kb)] = TermIndex.build(kb.concepts, kb.lexicons)
        weakref.finalize(kb, _CACHE.pop, id(kb), None)
    return found
