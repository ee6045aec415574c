"""Repeated measurements for trends: every dated value of a numeric observation fact.

Generic over the knowledge base: any fact read from a concept (``derived_by: observation`` or
``lab``) with a numeric type and at least two dated, readable values up to the assessment time
becomes a series, in the fact's unit. Each series carries the site-policy values that rule
conditions compare the fact with (so a picture can draw the threshold the rules use) and, for
labs, the policy ``lab-max-age-hours`` (the window in which a value is fresh).
"""

from __future__ import annotations

import datetime as dt

from leptoguide.assessment import Alternative, Series, SeriesLimit, SeriesPoint, Threshold
from leptoguide.case import Case
from leptoguide.engine.facts import _coerce
from leptoguide.engine.types import aware, iso, observations_by_concept
from leptoguide.knowledge.conditions import Compare, PolicyRef, parse_condition, walk
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.memo import once_per
from leptoguide.policy import Policy

MAX_POINTS = 20
"""Points kept per series (the latest): a display bound, not a clinical one."""
LAB_MAX_AGE = "lab-max-age-hours"


_Limits = dict[str, dict[tuple[str, str], list[str]]]
_CACHE: dict[tuple[int, str], _Limits] = {}


def _limits(kb: KnowledgeBase, policy: Policy) -> _Limits:
    """fact -> (op, policy id) -> rules whose condition compares the fact with that policy value."""
    return once_per(_CACHE, (id(kb), policy.hash), lambda: _find_limits(kb, policy), kb)


def _find_limits(kb: KnowledgeBase, policy: Policy) -> _Limits:
    out: _Limits = {}
    for rule in sorted(kb.rules.values(), key=lambda r: r.id):
        if rule.status == "retired":
            continue
        for node in walk(parse_condition(rule.when)):
            if isinstance(node, Compare) and isinstance(node.operand, PolicyRef):
                if node.operand.name not in policy.values:
                    continue
                rules = out.setdefault(node.fact, {}).setdefault((node.op, node.operand.name), [])
                if rule.id not in rules:
                    rules.append(rule.id)
    return out


def threshold(policy: Policy, pid: str) -> Threshold:
    """A policy value as the assessment shows it: value, default, source and alternatives."""
    pv = policy.values[pid]
    return Threshold(
        id=pid,
        value=pv.value,
        unit=pv.unit,
        overridden=pv.overridden,
        default=pv.default,
        statement=pv.statement,
        source=pv.source,
        alternatives=[
            Alternative(value=a.value, statement=a.statement, source=a.source, note=a.note)
            for a in pv.alternatives
        ],
    )


def series(case: Case, *, kb: KnowledgeBase, policy: Policy, at: dt.datetime) -> list[Series]:
    """Every numeric observation fact with two or more dated readable values up to ``at``."""
    limits = _limits(kb, policy)
    out: list[Series] = []
    by_concept = observations_by_concept(case)
    for fact in sorted(kb.facts.values(), key=lambda f: f.id):
        if fact.type != "number" or not fact.concept:
            continue
        if fact.derived_by not in ("observation", "lab"):
            continue
        points: list[tuple[dt.datetime, float, str | None]] = []
        for obs in by_concept.get(fact.concept, ()):
            when = aware(obs.time)
            if when is None or when > at:
                continue
            if obs.status == "unparseable":
                continue
            value, problem = _coerce(fact, obs, kb)
            if problem or isinstance(value, bool) or not isinstance(value, int | float):
                continue
            points.append((when, float(value), obs.reference))
        if len(points) < 2:
            continue
        points.sort(key=lambda p: (p[0], p[1]))
        kept = points[-MAX_POINTS:]
        fact_limits = limits.get(fact.id, {})
        out.append(
            Series(
                fact=fact.id,
                unit=fact.unit,
                points=[
                    SeriesPoint(time=iso(t) or "", value=round(v, 6), reference=ref)
                    for t, v, ref in kept
                ],
                limits=[
                    SeriesLimit(op=op, threshold=threshold(policy, pid), rules=rules)
                    for (op, pid), rules in sorted(fact_limits.items())
                ],
                max_age_hours=float(policy.get(LAB_MAX_AGE))
                if fact.derived_by == "lab" and LAB_MAX_AGE in policy.values
                else None,
                shown=len(kept),
                total=len(points),
            )
        )
    return out
