"""Match FHIR codings and free text to terminology concepts, from data only.

The index is built once per knowledge base (cached) from ``Concept.codes``, ``display`` and
``synonyms``: lookups are dictionary hits, O(1) per coding. Matching order:

1. by code: (system, code) exactly, then code prefixes written ``C50.*`` in the concept file
   (ICD-10 and ICD-10-CM codes are compared without dots, upper case, as one family);
2. by text: the normalized ``coding.display`` and ``CodeableConcept.text`` against the concepts'
   display, synonyms and coding displays.

No clinical code appears in this module; the concepts come from ``data/terminology``.
"""

from __future__ import annotations

import re
import unicodedata
import weakref
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.models import Concept

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


@dataclass
class TermIndex:
    """Dictionaries from codes and normalized texts to concept ids."""

    concepts: Mapping[str, Concept]
    by_code: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    by_prefix: dict[tuple[str, str], list[str]] = field(default_factory=dict)
    prefix_lengths: dict[str, list[int]] = field(default_factory=dict)
    by_text: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def build(cls, concepts: Mapping[str, Concept]) -> TermIndex:
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
        found = _CACHE[id(kb)] = TermIndex.build(kb.concepts)
        weakref.finalize(kb, _CACHE.pop, id(kb), None)
    return found
