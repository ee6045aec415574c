"""Derived facts: the run order comes from what each computation declares it reads and writes,
and the declarations are true (checked by watching every computation over real-shaped charts)."""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from leptoguide.engine import derive, types
from leptoguide.engine.derive import STEPS, DerivationError, Step, check_knowledge, order
from leptoguide.errors import KnowledgeError
from leptoguide.intake import read_path
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.policy import load_policy

ROOT = Path(__file__).parents[2]
CHARTS = [
    *sorted((ROOT / "tests" / "scenarios" / "bundles").glob("*.json")),
    *sorted((ROOT / "examples" / "fhir").glob("*.json")),
    *sorted((ROOT / "examples" / "cases").glob("*.yaml")),
]
AT = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)


def _noop(ctx: types.Context, facts: types.Facts) -> None:
    return None


def test_every_fact_is_written_before_it_is_read(shipped_kb: KnowledgeBase) -> None:
    ran: set[str] = set()
    written_by = {f: s.name for s in STEPS for f in derive._writes(s, shipped_kb)}
    for step in order(STEPS, shipped_kb):
        for fid in step.reads:
            writer = written_by.get(fid)
            assert writer is None or writer == step.name or writer in ran, (step.name, fid)
        ran.add(step.name)
    assert ran == {s.name for s in STEPS}


def test_a_cycle_is_an_error_naming_the_computations() -> None:
    steps = (
        Step("a", _noop, reads=("y",), writes=("x",)),
        Step("b", _noop, reads=("x",), writes=("y",)),
        Step("c", _noop, writes=("z",)),
    )
    with pytest.raises(DerivationError, match=r"cycle: a \(needs b\), b \(needs a\)"):
        order(steps)


def test_a_fact_written_twice_is_an_error() -> None:
    steps = (Step("a", _noop, writes=("x",)), Step("b", _noop, writes=("x",)))
    with pytest.raises(DerivationError, match="'x' is written by both 'a' and 'b'"):
        order(steps)


def test_ties_keep_the_declared_order() -> None:
    steps = (
        Step("late", _noop, reads=("x",)),
        Step("first", _noop, writes=("x",)),
        Step("other", _noop),
    )
    assert [s.name for s in order(steps)] == ["first", "late", "other"]


def test_shipped_knowledge_names_only_known_computations(shipped_kb: KnowledgeBase) -> None:
    assert check_knowledge(shipped_kb) == []


def test_an_unknown_derived_by_is_a_knowledge_error(shipped_kb: KnowledgeBase) -> None:
    fact = next(f for f in shipped_kb.facts.values() if f.derived_by == "nccn-risk")
    odd = dataclasses.replace(shipped_kb)
    odd.facts = {**shipped_kb.facts, fact.id: fact.model_copy(update={"derived_by": "nccn-risc"})}
    problems = check_knowledge(odd)
    assert [(p.field, fact.id in p.where) for p in problems] == [("derived_by", True)]
    assert "no computation named 'nccn-risc'" in problems[0].message
    with pytest.raises(KnowledgeError, match="nccn-risc"):
        derive.build_facts(
            read_path(str(CHARTS[0]), kb=shipped_kb), kb=odd, policy=load_policy(shipped_kb), at=AT
        )


@pytest.fixture
def watched(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, dict[str, set[str]]]]:
    """Every computation's actual reads and writes while it runs."""
    seen: dict[str, dict[str, set[str]]] = collections.defaultdict(
        lambda: {"reads": set(), "writes": set()}
    )
    current: list[str] = []
    get, put = types.Facts.get, types.Facts.set

    def watched_get(self: types.Facts, fid: str) -> types.FactValue:
        if current:
            seen[current[-1]]["reads"].add(fid)
        return get(self, fid)

    def watched_set(self: types.Facts, fv: types.FactValue) -> None:
        if current:
            seen[current[-1]]["writes"].add(fv.id)
        put(self, fv)

    def wrap(step: Step) -> Step:
        def run(ctx: types.Context, facts: types.Facts) -> None:
            current.append(step.name)
            try:
                step.run(ctx, facts)
            finally:
                current.pop()

        return dataclasses.replace(step, run=run)

    monkeypatch.setattr(types.Facts, "get", watched_get)
    monkeypatch.setattr(types.Facts, "set", watched_set)
    monkeypatch.setattr(derive, "STEPS", tuple(wrap(s) for s in STEPS))
    derive._PLANS.clear()
    yield seen
    derive._PLANS.clear()


def test_computations_read_and_write_only_what_they_declare(
    shipped_kb: KnowledgeBase, watched: dict[str, dict[str, set[str]]]
) -> None:
    policy = load_policy(shipped_kb)
    charts = 0
    for path in CHARTS:
        try:
            case = read_path(str(path), kb=shipped_kb)
        except KnowledgeError:
            raise
        except Exception:  # the malformed-input scenario
            continue
        derive.build_facts(case, kb=shipped_kb, policy=policy, at=AT)
        charts += 1
    assert charts > 50
    for step in STEPS:
        got = watched[step.name]
        writes = derive._writes(step, shipped_kb)
        assert got["writes"] <= writes, (step.name, sorted(got["writes"] - writes))
        undeclared = got["reads"] - derive._reads(step, shipped_kb) - writes
        assert not undeclared, (step.name, sorted(undeclared))
    assert {name for name, got in watched.items() if got["writes"]} == {s.name for s in STEPS}


def test_observations_grouped_by_concept_keep_case_order() -> None:
    """Facts and series read each concept's observations from one grouping of the case: every
    observation once, under its concept, in the order of the case (ties in time keep it)."""
    from leptoguide.case import Case, Observed

    obs = [Observed(concept=c, value=v) for c, v in
           [("platelets", 1), ("inr", 2), ("platelets", 3), ("inr", 4), ("platelets", 5)]]  # fmt: skip
    case = Case(origin="fhir", observations=obs)
    groups = types.observations_by_concept(case)
    assert [o.value for o in groups["platelets"]] == [1, 3, 5]
    assert [o.value for o in groups["inr"]] == [2, 4]
    assert sum(map(len, groups.values())) == len(obs)
