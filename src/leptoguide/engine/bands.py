"""Where a scoring table gives points along one measure: the ranges a picture draws.

For each numeric fact a scoring table compares (the CSF white-cell count, the neutrophil share,
the glucose ratio, protein ...), the table is applied by the engine's own :func:`score` to that
value alone (every other fact missing) at each cut-off the table uses and between them, and the
points each outcome gets are merged into ranges. So the ranges are the scoring itself, under the
same site policy, with no number of their own: rows that need another fact (a known cancer, a
positive cytology) earn nothing here and are not ranges.
"""

from __future__ import annotations

from dataclasses import dataclass

from leptoguide.engine.tables import score
from leptoguide.engine.types import Facts, FactValue
from leptoguide.knowledge.conditions import Compare, Literal, PolicyRef, parse_condition, walk
from leptoguide.knowledge.models import ScoreTable
from leptoguide.policy import Policy


@dataclass(frozen=True)
class Band:
    """A range of one measure in which one outcome gets ``points`` (bounds None = open)."""

    outcome: str
    measure: str
    low: float | None
    high: float | None
    low_inclusive: bool
    high_inclusive: bool
    points: int

    def contains(self, value: float) -> bool:
        if self.low is not None and (
            value < self.low or (value == self.low and not self.low_inclusive)
        ):
            return False
        return not (
            self.high is not None
            and (value > self.high or (value == self.high and not self.high_inclusive))
        )


def _num(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def measures(table: ScoreTable, policy: Policy) -> dict[str, list[float]]:
    """Each numeric fact the table compares with a number or a policy value, with its cut-offs
    (in the order the table first uses the fact)."""
    out: dict[str, set[float]] = {}
    for row in table.features:
        if row.when is None:
            continue
        for node in walk(parse_condition(row.when)):
            if not isinstance(node, Compare):
                continue
            operand = node.operand
            if isinstance(operand, PolicyRef) and operand.name in policy.values:
                value = policy.get(operand.name)
            elif isinstance(operand, Literal):
                value = operand.value
            else:
                continue
            if _num(value):
                out.setdefault(node.fact, set()).add(float(value))
    return {fact: sorted(cuts) for fact, cuts in out.items()}


def _points(table: ScoreTable, policy: Policy, values: dict[str, float]) -> dict[str, int]:
    facts = Facts(values={k: FactValue(k, "ok", v) for k, v in values.items()})
    scored = score(table.model_copy(update={"listed_from": 1}), facts, policy)
    return {outcome: points for outcome, points, _ in scored.differential}


def bands(table: ScoreTable, policy: Policy, context: dict[str, float] | None = None) -> list[Band]:
    """The ranges in which each outcome gets points from one measure.

    ``context``: the measured values (e.g. the patient's). A measure's points are then those it
    adds to the measures the table reads before it, so a row an earlier measure already decides
    (the neutrophil share, read before the lymphocyte share) earns it nothing, and the points of
    all measured values add up to the table's score. Without it, each measure stands alone.
    """
    out: list[Band] = []
    found = measures(table, policy)
    order = list(found)
    for fact, cuts in found.items():
        earlier = order[: order.index(fact)]
        others = {k: v for k, v in (context or {}).items() if k in earlier}
        base = _points(table, policy, others)
        # regions in order: below the first cut, each cut, between cuts, above the last
        span = max(abs(cuts[-1] - cuts[0]), abs(cuts[-1]), 1.0)
        regions: list[tuple[float | None, float | None, bool, bool, float]] = [
            (None, cuts[0], False, False, cuts[0] - span)
        ]
        for i, cut in enumerate(cuts):
            regions.append((cut, cut, True, True, cut))
            nxt = cuts[i + 1] if i + 1 < len(cuts) else None
            probe = (cut + nxt) / 2 if nxt is not None else cut + span
            regions.append((cut, nxt, False, False, probe))
        got = []
        for r in regions:
            with_it = _points(table, policy, {**others, fact: r[4]})
            got.append((r, {k: with_it.get(k, 0) - base.get(k, 0) for k in table.outcomes}))
        for outcome in table.outcomes:
            runs: list[tuple[int, list[tuple[float | None, float | None, bool, bool, float]]]] = []
            for region, points in got:
                p = points.get(outcome, 0)
                if runs and runs[-1][0] == p:
                    runs[-1][1].append(region)
                else:
                    runs.append((p, [region]))
            for level, run in runs:
                if level > 0:
                    first, last = run[0], run[-1]
                    out.append(Band(outcome, fact, first[0], last[1], first[2], last[3], level))
    return out
