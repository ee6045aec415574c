"""Read the knowledge base's tables: pattern scoring (``scores``) and ordered classification steps
(``classifications``). The rows, points, cut-offs and reasons are data; this module only applies
them, with the rules' three-valued condition language (a row holds only when its condition is
definitely true, so a missing value never earns or loses points by default).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from leptoguide.engine.evaluate import evaluate
from leptoguide.engine.types import FactData, Facts, FactValue
from leptoguide.knowledge.conditions import Node, parse_condition
from leptoguide.knowledge.models import ClassificationTable, ScoreTable
from leptoguide.knowledge.tables import POLICY_PREFIX, STATUS_SUFFIX, fill, placeholders
from leptoguide.policy import Policy


def overlay(facts: Facts, values: Mapping[str, FactData]) -> Facts:
    """``facts`` with some values replaced (None: missing), for a table to read."""
    new = {
        fid: FactValue(fid, "ok", value) if value is not None else FactValue(fid, "missing")
        for fid, value in values.items()
    }
    return Facts(values={**facts.values, **new})


def _lower(facts: Facts) -> Facts:
    """Text values in lower case: table conditions compare words regardless of case."""
    return Facts(
        values={
            fid: FactValue(fid, fv.status, fv.value.lower(), fv.unit)
            if fv.usable and isinstance(fv.value, str)
            else fv
            for fid, fv in facts.values.items()
        }
    )


def text(template: str, facts: Facts, policy: Policy) -> str:
    """A table reason with its placeholders filled from facts and policy."""

    def lookup(name: str) -> object:
        if name.startswith(POLICY_PREFIX):
            return policy.get(name.removeprefix(POLICY_PREFIX))
        if name.endswith(STATUS_SUFFIX):
            return facts.get(name.removesuffix(STATUS_SUFFIX)).status
        return facts.value(name)

    return fill(template, lookup)


_PARSED: dict[int, tuple[Mapping[str, object], Node]] = {}


def _holds(when: Mapping[str, object] | None, facts: Facts, policy: Policy) -> bool:
    if when is None:
        return True
    hit = _PARSED.get(id(when))
    if hit is None or hit[0] is not when:  # parsed once per loaded table row
        hit = _PARSED[id(when)] = (when, parse_condition(when))
    return evaluate(hit[1], facts, policy) is True


@dataclass
class Scored:
    """The result of a scoring table: the outcome, the listed outcomes, and the values rows set."""

    outcome: str
    differential: list[tuple[str, int, list[str]]]
    sets: dict[str, str] = field(default_factory=dict)


def score(table: ScoreTable, facts: Facts, policy: Policy) -> Scored:
    """Apply a scoring table: points per outcome, the ranked differential and the outcome."""
    words = _lower(facts)
    points = dict.fromkeys(table.outcomes, 0)
    why: dict[str, list[str]] = {k: [] for k in table.outcomes}
    sets: dict[str, str] = {}
    taken: set[str] = set()
    for row in table.features:
        if row.group is not None and row.group in taken:
            continue
        if not _holds(row.when, words, policy):
            continue
        if row.group is not None:
            taken.add(row.group)
        for outcome, gain in row.points.items():
            points[outcome] += gain
            why[outcome].append(text(row.reasons.get(outcome, row.reason), facts, policy))
        sets.update(row.sets)
    order = table.outcomes
    ranked = sorted(order, key=lambda k: (-points[k], order.index(k)))
    listed = [(k, points[k], why[k]) for k in ranked if points[k] >= table.listed_from]
    if max(points.values()) < table.decisive and _holds(table.normal, words, policy):
        outcome = table.normal_outcome
    elif listed and not (len(listed) > 1 and listed[1][1] == listed[0][1]):
        outcome = listed[0][0]
    else:
        outcome = table.tie_outcome
    return Scored(outcome, listed, sets)


@dataclass
class Classified:
    certainty: str
    type: str | None
    reasons: list[str]
    unverified: bool


def classify(table: ClassificationTable, facts: Facts, policy: Policy) -> Classified:
    """Apply a classification table: its lookups, then its steps in order until one decides."""
    local = overlay(
        facts,
        {
            lk.id: lk.map.get(str(facts.value(lk.fact))) if facts.get(lk.fact).usable else None
            for lk in table.lookups
        },
    )
    reasons: list[str] = []
    for step in table.steps:
        if not _holds(step.when, local, policy):
            continue
        reason = text(step.reason, local, policy)
        reasons.append(f"{reason}; {table.unverified_note}" if step.unverified else reason)
        if step.result is None:
            continue
        typ = step.result.type
        if typ is not None and not all(
            local.get(n).usable for n in placeholders(typ) if not n.startswith(POLICY_PREFIX)
        ):
            typ = None
        return Classified(
            step.result.certainty,
            text(typ, local, policy) if typ is not None else None,
            reasons,
            step.unverified,
        )
    raise AssertionError("the loader checks that the last step always decides")  # pragma: no cover
