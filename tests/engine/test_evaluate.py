"""The condition language is three-valued: a comparison on a missing fact is unknown, never false."""

from __future__ import annotations

from typing import Any

import pytest

from leptoguide.engine.evaluate import evaluate
from leptoguide.engine.facts import Facts, FactValue
from leptoguide.knowledge.conditions import parse_condition
from leptoguide.policy import Policy, PolicyValue


def _policy(**values: Any) -> Policy:
    return Policy(
        id="t",
        title="t",
        path=None,
        values={
            k.replace("_", "-"): PolicyValue(k.replace("_", "-"), v, None, False, v, None, None, [])
            for k, v in values.items()
        },
    )


def _facts(**values: Any) -> Facts:
    f = Facts()
    for k, v in values.items():
        fid = k.replace("_", "-")
        if isinstance(v, tuple) and v and v[0] in ("stale", "unparseable", "missing"):
            f.set(FactValue(fid, v[0], v[1] if len(v) > 1 else None))
        else:
            f.set(FactValue(fid, "ok", v))
    return f


POL = _policy(lp_platelet_min=50)
LOW = {"fact": "platelets", "lt": {"policy": "lp-platelet-min"}}


@pytest.mark.parametrize(
    ("facts", "expected"),
    [
        (_facts(platelets=30), True),
        (_facts(platelets=80), False),
        (_facts(), None),
        (_facts(platelets=("stale", 30)), None),
        (_facts(platelets=("unparseable",)), None),
    ],
)
def test_comparison_is_three_valued(facts: Facts, expected: bool | None) -> None:
    assert evaluate(parse_condition(LOW), facts, POL) is expected


def test_kleene_connectives() -> None:
    unknown = LOW
    true = {"fact": "x", "is": True}
    false = {"fact": "x", "is": False}
    f = _facts(x=True)
    assert evaluate(parse_condition({"all": [true, unknown]}), f, POL) is None
    assert evaluate(parse_condition({"all": [false, unknown]}), f, POL) is False
    assert evaluate(parse_condition({"any": [true, unknown]}), f, POL) is True
    assert evaluate(parse_condition({"any": [false, unknown]}), f, POL) is None
    assert evaluate(parse_condition({"not": unknown}), f, POL) is None
    assert evaluate(parse_condition({"not": false}), f, POL) is True


def test_presence_tests() -> None:
    f = _facts(a=1, b=("stale", 2))
    assert evaluate(parse_condition({"present": "a"}), f, POL) is True
    assert evaluate(parse_condition({"missing": "a"}), f, POL) is False
    assert evaluate(parse_condition({"missing": "b"}), f, POL) is True
    assert evaluate(parse_condition({"stale": "b"}), f, POL) is True
    assert evaluate(parse_condition({"missing": "nope"}), f, POL) is True
    assert evaluate(parse_condition({"present": "nope"}), f, POL) is False


def test_operators_and_fact_operands() -> None:
    f = _facts(lst=["a", "b"], code="x", n=3, m=4)
    assert evaluate(parse_condition({"fact": "lst", "contains": "a"}), f, POL) is True
    assert evaluate(parse_condition({"fact": "lst", "contains": "z"}), f, POL) is False
    assert evaluate(parse_condition({"fact": "code", "in": ["x", "y"]}), f, POL) is True
    assert evaluate(parse_condition({"fact": "code", "not_in": ["x"]}), f, POL) is False
    assert evaluate(parse_condition({"fact": "n", "lt": {"fact": "m"}}), f, POL) is True
    assert evaluate(parse_condition({"fact": "n", "lt": {"fact": "gone"}}), f, POL) is None
    assert evaluate(parse_condition({"fact": "code", "gt": 3}), f, POL) is None
    assert evaluate(parse_condition({"fact": "n", "ne": 3}), f, POL) is False
    assert evaluate(parse_condition({"fact": "n", "ge": 3}), f, POL) is True
    assert evaluate(parse_condition({"fact": "n", "le": 2}), f, POL) is False
