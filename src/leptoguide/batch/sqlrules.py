"""A rule's condition (the YAML ``when``) compiled to a SQL predicate over a facts table.

Each fact is a column ``f_<fact id>`` holding its value when the fact is usable and NULL when it
is missing, stale or unreadable; ``s_<fact id>`` holds its status. SQL's NULL logic is the engine's
three-valued logic: ``AND``/``OR``/``NOT`` over NULL give the Kleene results, a comparison with
NULL is NULL, and a rule fires only where the predicate IS TRUE. Conditions the compiler cannot
express (list membership, facts the table lacks) raise ``NotCompilable``; those rules run through
the Python engine instead.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

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
)
from leptoguide.policy import Policy

_OPS = {"lt": "<", "le": "<=", "gt": ">", "ge": ">=", "eq": "=", "ne": "<>"}


class NotCompilable(Exception):
    pass


def column(fact: str) -> str:
    return "f_" + fact.replace("-", "_")


def status_column(fact: str) -> str:
    return "s_" + fact.replace("-", "_")


def literal(value: Any) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(float(value))
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    raise NotCompilable(f"value {value!r}")


def compile_condition(node: Node, available: Collection[str], policy: Policy) -> str:
    if isinstance(node, All):
        return "(" + " AND ".join(compile_condition(n, available, policy) for n in node.items) + ")"
    if isinstance(node, AnyOf):
        return "(" + " OR ".join(compile_condition(n, available, policy) for n in node.items) + ")"
    if isinstance(node, Not):
        return "(NOT " + compile_condition(node.item, available, policy) + ")"
    if isinstance(node, Presence):
        if node.fact not in available:
            raise NotCompilable(f"fact {node.fact}")
        if node.op == "present":
            return f"({column(node.fact)} IS NOT NULL)"
        if node.op == "missing":
            return f"({column(node.fact)} IS NULL)"
        return f"({status_column(node.fact)} = 'stale')"
    if not isinstance(node, Compare):
        raise NotCompilable(type(node).__name__)
    if node.fact not in available:
        raise NotCompilable(f"fact {node.fact}")
    left = column(node.fact)
    op = node.operand
    if isinstance(op, PolicyRef):
        right = literal(policy.get(op.name))
    elif isinstance(op, FactRef):
        if op.name not in available:
            raise NotCompilable(f"fact {op.name}")
        right = column(op.name)
    else:
        assert isinstance(op, Literal)
        if node.op in ("in", "not_in"):
            values = op.value if isinstance(op.value, (list, tuple)) else []
            inner = ", ".join(literal(v) for v in values) or "NULL"
            word = "IN" if node.op == "in" else "NOT IN"
            return f"({left} {word} ({inner}))"
        right = literal(op.value)
    if node.op == "is":
        return f"({left} = {right})"
    if node.op in _OPS:
        return f"({left} {_OPS[node.op]} {right})"
    raise NotCompilable(f"operator {node.op}")
