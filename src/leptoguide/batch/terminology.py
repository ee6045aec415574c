"""Lookup tables generated at run time from the knowledge data, for the SQL facts layer.

The SQL never carries a code list or a conversion factor. Instead the distinct CodeableConcepts,
units and timing codes found in the export are resolved here, once each, with the same terminology
index (``intake.terminology``) and unit converter (``knowledge.units``) the single-chart reader uses,
and joined back as small tables. A code the reader would match, the batch matches; a unit it would
convert, the batch converts with the same factor; what it refuses stays unusable.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from leptoguide.intake.common import timing_code
from leptoguide.intake.fhir.condition import COND_KINDS, COND_PHRASE_KINDS
from leptoguide.intake.fhir.observation import OBS_KINDS, OBS_PHRASE_KINDS
from leptoguide.intake.fhir.procedure import ORDER_KINDS
from leptoguide.intake.terminology import TermIndex, codeable_texts, is_coded, term_index
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.units import unit_converter

# What the single-chart reader asks the index for, per resource (its own constants, see
# intake/fhir/*.py, so a change there carries over).
KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...] | None, bool]] = {
    "Observation": (OBS_KINDS, OBS_PHRASE_KINDS, False),
    "Condition": (COND_KINDS, COND_PHRASE_KINDS, True),
    "Procedure": (ORDER_KINDS, None, False),
    "medication": (("medication",), None, True),
}


def concepts_of(index: TermIndex, codeable: Mapping[str, Any], family: str) -> list[str]:
    """Concept ids the single-chart reader records for this CodeableConcept (code, text, then
    the free-text phrase stage; several only when the text names several)."""
    kinds, phrase_kinds, multi = KINDS[family]
    matches = index.match(codeable, kinds)
    if not matches:
        if "medication" not in kinds and is_coded(codeable):
            return []  # coded data is never read as narrative (a product name is, for drugs)
        matches = index.find_phrases(
            codeable_texts(codeable), phrase_kinds or kinds, multi=multi
        ).matches
    if not matches:
        return []
    if multi and len(matches) > 1 and matches[0].by == "text-contains":
        return [m.concept.id for m in matches]
    return [matches[0].concept.id]


def _load(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    try:
        obj = orjson.loads(text)
    except orjson.JSONDecodeError:
        return None
    return obj if isinstance(obj, dict) else None


def code_map(kb: KnowledgeBase, codes: Iterable[str | None], family: str) -> list[tuple[str, str]]:
    """(CodeableConcept JSON text, concept id) rows for the distinct codes of one resource type."""
    index = term_index(kb)
    rows: list[tuple[str, str]] = []
    for text in codes:
        cc = _load(text)
        if cc is None or text is None:
            continue
        for cid in concepts_of(index, cc, family):
            rows.append((text, cid))
    return rows


def unit_map(
    kb: KnowledgeBase, pairs: Iterable[tuple[str, str | None]]
) -> list[tuple[str, str, float]]:
    """(concept, unit as written, factor to the concept's unit) for convertible pairs; a unit
    of '' stands for 'no unit' and converts only where the concept's unit may be implied."""
    conv = unit_converter(kb)
    rows: list[tuple[str, str, float]] = []
    for concept_id, unit in pairs:
        concept = kb.concepts.get(concept_id)
        if concept is None or concept.unit is None:
            continue
        if unit is None or not unit.strip():
            if conv.assumes_base(concept.unit):
                rows.append((concept_id, "", 1.0))
            continue
        factor = conv.factor(concept_id, unit, concept.unit)
        if factor is not None:
            rows.append((concept_id, unit, factor))
    return rows


def timing_map(codes: Iterable[str | None]) -> list[tuple[str, float]]:
    """(timing code as written, doses per day) with the reader's own timing parser."""
    rows: list[tuple[str, float]] = []
    for code in codes:
        if code:
            per_day = timing_code(code)
            if per_day is not None:
                rows.append((code, float(per_day)))
    return rows
