"""Convert quantities to a concept's canonical unit, with factors kept as data: the one unit table.

Unit groups (record type ``units``, ``data/terminology/units.yaml``) list UCUM codes with a factor
to the group's base unit and the other spellings met in real data. A group may be limited to some
concepts (glucose mmol/L <-> mg/dL is substance-specific). Conversion walks the groups that apply to
a concept, so g/L glucose reaches mmol/L through mg/dL. Results are cached per (concept, unit).
The chart readers (intake, batch), the case form and the engine's fact reader all use this table.

Spellings are looked up exactly first (UCUM codes are case-sensitive), then ignoring case for the
``aliases``; ``case_sensitive`` spellings only match exactly. So ``G/L`` (giga per litre) is a cell
count in 10*9/L, while ``g/L`` and ``g/l`` are grams per litre, which no cell count converts from:
a platelet count in g/L is unreadable, never guessed.

Why not pint/ucumvert: see docs/fhir.md ("Units"): a 1.5 s start-up and 1-10 ms per first
conversion, and "K/uL" read as kelvin per microlitre.
"""

from __future__ import annotations

import re
import weakref
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field

from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.models import UnitGroup

_SUPERSCRIPT = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")
_EXPONENT = re.compile(r"[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+")
_POWER = re.compile(r"10\((\d{1,2})\)")
"""A power of ten printed with brackets: '10(9)/L' is '10^9/L'."""


def exact_key(unit: str) -> str:
    """A unit spelling without spaces, 'µ'/'μ' as 'u', '×' as 'x', a superscript or bracketed
    exponent of ten as '^n' ('×10⁹/L' and '10(9)/L' are 'x10^9/L' and '10^9/L', 'mm³' is
    'mm3'), case kept (UCUM is case-sensitive)."""
    text = "".join(unit.split()).replace("µ", "u").replace("μ", "u").replace("×", "x")
    text = _EXPONENT.sub(lambda m: "^" + m.group(0).translate(_SUPERSCRIPT), text)
    return _POWER.sub(r"10^\1", text).replace("mm^3", "mm3")


def unit_key(unit: str) -> str:
    """How an alias is looked up ignoring case: :func:`exact_key` in lower case."""
    return exact_key(unit).lower()


@dataclass
class UnitConverter:
    """Factors between units, per concept, from the knowledge base's unit groups."""

    groups: list[UnitGroup]
    exact: dict[str, str] = field(default_factory=dict)
    spelling: dict[str, str] = field(default_factory=dict)
    implicit: set[str] = field(default_factory=set)
    _edges: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    _cache: dict[tuple[str, str, str], float | None] = field(default_factory=dict)

    @classmethod
    def build(cls, groups: Iterable[UnitGroup]) -> UnitConverter:
        conv = cls(groups=list(groups))
        for group in conv.groups:
            conv.spelling.setdefault(unit_key(group.base), group.base)
            for udef in group.units:
                conv.spelling.setdefault(unit_key(udef.unit), udef.unit)
                for alias in udef.aliases:
                    conv.spelling.setdefault(unit_key(alias), udef.unit)
                for alias in (*udef.aliases, *udef.case_sensitive):
                    conv.exact.setdefault(exact_key(alias), udef.unit)
            if group.implicit:
                conv.implicit.update(u.unit for u in group.units)
        # exact UCUM codes win over aliases that happen to share a key
        for group in conv.groups:
            for udef in group.units:
                conv.spelling[unit_key(udef.unit)] = udef.unit
                conv.exact[exact_key(udef.unit)] = udef.unit
        return conv

    def canonical_spelling(self, unit: str) -> str | None:
        """The UCUM code of a unit as written in the data, or None if no group knows it."""
        if not unit:
            return None
        return self.exact.get(exact_key(unit)) or self.spelling.get(unit_key(unit))

    def assumes_base(self, unit: str | None) -> bool:
        """True if a value without a unit may be taken to be in this (dimensionless) unit."""
        return unit is not None and unit in self.implicit

    def dimensionless(self, unit: str | None) -> bool:
        """True for no unit, or a unit of a dimensionless group (a score, a ratio, a percent): what
        a fact without a canonical unit accepts."""
        if unit is None or not unit.strip():
            return True
        return self.canonical_spelling(unit) in self.implicit

    def kind(self, unit: str) -> str | None:
        """The title of the group a unit belongs to (for messages), or None if no group knows it."""
        code = self.canonical_spelling(unit)
        for group in self.groups:
            if any(u.unit == code for u in group.units):
                return group.title
        return None

    def factor(self, concept: str, source: str, target: str) -> float | None:
        """Multiply a value in ``source`` by this to get ``target``; None if not convertible."""
        src = self.canonical_spelling(source) or source
        dst = self.canonical_spelling(target) or target
        if src == dst:
            return 1.0
        key = (concept, src, dst)
        if key in self._cache:
            return self._cache[key]
        graph = self._graph(concept)
        result: float | None = None
        seen = {src}
        queue: deque[tuple[str, float]] = deque([(src, 1.0)])
        while queue:
            node, acc = queue.popleft()
            if node == dst:
                result = acc
                break
            for nxt, f in graph.get(node, {}).items():
                if nxt not in seen:
                    seen.add(nxt)
                    queue.append((nxt, acc * f))
        self._cache[key] = result
        return result

    def convert(self, concept: str, value: float, source: str, target: str) -> float | None:
        f = self.factor(concept, source, target)
        if f is None:
            return None
        return _tidy(value * f)

    def _graph(self, concept: str) -> dict[str, dict[str, float]]:
        graph = self._edges.get(concept)
        if graph is not None:
            return graph
        graph = {}
        for group in self.groups:
            if group.concepts and concept not in group.concepts:
                continue
            for udef in group.units:
                if udef.unit == group.base:
                    continue
                graph.setdefault(udef.unit, {})[group.base] = udef.factor
                graph.setdefault(group.base, {})[udef.unit] = 1.0 / udef.factor
        self._edges[concept] = graph
        return graph


def _tidy(x: float) -> float:
    """Round away binary noise from factor chains (30000 x 1/1000 -> 30.0, not 29.999999)."""
    return float(f"{x:.12g}")


_CACHE: dict[int, UnitConverter] = {}


def unit_converter(kb: KnowledgeBase) -> UnitConverter:
    """The converter of a knowledge base, built on first use."""
    found = _CACHE.get(id(kb))
    if found is None:
        found = _CACHE[id(kb)] = UnitConverter.build(kb.units.values())
        weakref.finalize(kb, _CACHE.pop, id(kb), None)
    return found
