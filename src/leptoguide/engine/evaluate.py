"""Three-valued (Kleene) evaluation of the condition language over facts and policy.

``True`` = definitely holds, ``False`` = definitely does not, ``None`` = unknown (a fact it needs is
missing, stale or unparseable). A rule fires only on ``True``; unknown is never read as safe.
"""

from __future__ import annotations

from typing import TypeGuard, TypeVar

from leptoguide.engine.facts import Facts
from leptoguide.knowledge.conditions import (
    All,
    AnyOf,
    Compare,
    FactRef,
    Literal,
    Node,
    Not,
    PolicyRef,
    Presence,
    facts_used,
)
from leptoguide.policy import Policy

Tri = bool | None


def _operand(node: Compare, facts: Facts, policy: Policy) -> tuple[bool, object]:
    op = node.operand
    if isinstance(op, Literal):
        return True, op.value
    if isinstance(op, PolicyRef):
        return True, policy.get(op.name)
    assert isinstance(op, FactRef)
    fv = facts.get(op.name)
    return (fv.usable, fv.value)


def _num(value: object) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


Ordered = TypeVar("Ordered", float, str)


def _order(op: str, left: Ordered, right: Ordered) -> Tri:
    """``lt``/``le``/``gt``/``ge`` of two numbers or two words (the caller checks which)."""
    if op == "lt":
        return bool(left < right)
    if op == "le":
        return bool(left <= right)
    if op == "gt":
        return bool(left > right)
    if op == "ge":
        return bool(left >= right)
    raise ValueError(f"unknown operator {op}")  # pragma: no cover - the parser rejects it


def _compare(op: str, left: object, right: object) -> Tri:
    if op == "is":
        return bool(left is right) if isinstance(left, bool) else None
    if isinstance(left, (list, tuple)) and isinstance(right, (list, tuple)):
        left, right = list(left), list(right)  # a YAML list literal may parse as a tuple
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if op in ("in", "not_in"):
        inside = left in tuple(right) if isinstance(right, (list, tuple)) else False
        return inside if op == "in" else not inside
    if op == "contains":
        if isinstance(left, (list, tuple, set, frozenset)):
            return right in left
        if isinstance(left, str) and isinstance(right, str):
            return right in left
        return None
    if _num(left) and _num(right):
        return _order(op, left, right)
    if isinstance(left, str) and isinstance(right, str):
        return _order(op, left, right)
    return None


def evaluate(node: Node, facts: Facts, policy: Policy) -> Tri:
    """Kleene evaluation of a parsed condition."""
    if isinstance(node, All):
        result: Tri = True
        for item in node.items:
            value = evaluate(item, facts, policy)
            if value is False:
                return False
            if value is None:
                result = None
        return result
    if isinstance(node, AnyOf):
        result = False
        for item in node.items:
            value = evaluate(item, facts, policy)
            if value is True:
                return True
            if value is None:
                result = None
        return result
    if isinstance(node, Not):
        value = evaluate(node.item, facts, policy)
        return None if value is None else not value
    if isinstance(node, Presence):
        fv = facts.get(node.fact)
        if node.op == "present":
            return fv.usable
        if node.op == "missing":
            return not fv.usable
        return fv.status == "stale"
    assert isinstance(node, Compare)
    fv = facts.get(node.fact)
    if not fv.usable:
        return None
    ok, right = _operand(node, facts, policy)
    if not ok:
        return None
    return _compare(node.op, fv.value, right)


def unknown_facts(node: Node, facts: Facts, policy: Policy) -> list[str]:
    """The facts that make ``node`` unknown: only the leaves inside sub-conditions that are
    themselves unknown (a fact inside an ``all`` that is already false does not count)."""
    out: dict[str, None] = {}

    def visit(n: Node) -> None:
        if evaluate(n, facts, policy) is not None:
            return
        if isinstance(n, (All, AnyOf)):
            for item in n.items:
                visit(item)
        elif isinstance(n, Not):
            visit(n.item)
        else:
            for fid in facts_used(n):
                if not facts.get(fid).usable:
                    out.setdefault(fid, None)

    visit(node)
    return list(out)
