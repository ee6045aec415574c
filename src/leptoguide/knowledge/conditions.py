"""The LeptoGuide condition language: a small, declarative, safe grammar for rule conditions.

A condition is a YAML/JSON mapping with exactly one of these shapes::

    {all: [C, ...]}                  every sub-condition true
    {any: [C, ...]}                  at least one sub-condition true
    {not: C}                         negation
    {fact: NAME, OP: OPERAND}        comparison; OP is eq, ne, lt, le, gt, ge, in, not_in, contains
    {fact: NAME, is: true|false}     boolean fact test
    {present: NAME}                  the fact has a usable (non-stale) value
    {missing: NAME}                  the fact is absent, stale or unparseable
    {stale: NAME}                    the fact exists but is older than policy allows

An OPERAND is a literal (number, string, boolean or a list of them), ``{policy: PARAM}`` for a site
policy value, or ``{fact: NAME}`` for another fact.

Evaluation is three-valued (Kleene): a comparison on a missing fact is *unknown*, never false, so
"no platelet count" can never read as "platelets fine". A rule fires only when its condition is
definitely true. Nothing here is Python ``eval``: the grammar is parsed into the typed tree below.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

COMPARATORS = ("eq", "ne", "lt", "le", "gt", "ge", "in", "not_in", "contains", "is")
PRESENCE = ("present", "missing", "stale")


class ConditionError(ValueError):
    """A condition does not follow the grammar; ``path`` says where."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.reason = message


@dataclass(frozen=True)
class Literal:
    value: Any


@dataclass(frozen=True)
class PolicyRef:
    name: str


@dataclass(frozen=True)
class FactRef:
    name: str


Operand = Literal | PolicyRef | FactRef


@dataclass(frozen=True)
class All:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


@dataclass(frozen=True)
class Compare:
    fact: str
    op: str
    operand: Operand


@dataclass(frozen=True)
class Presence:
    op: str
    fact: str


Node = All | AnyOf | Not | Compare | Presence


def _name(value: Any, path: str) -> str:
    if not isinstance(value, str) or not value:
        raise ConditionError(path, "expected a fact or policy name (a non-empty string)")
    return value


def _operand(value: Any, path: str) -> Operand:
    if isinstance(value, dict):
        if set(value) == {"policy"}:
            return PolicyRef(_name(value["policy"], f"{path}.policy"))
        if set(value) == {"fact"}:
            return FactRef(_name(value["fact"], f"{path}.fact"))
        raise ConditionError(path, "an operand mapping must be {policy: NAME} or {fact: NAME}")
    if isinstance(value, list):
        for i, item in enumerate(value):
            if not isinstance(item, (str, int, float, bool)):
                raise ConditionError(f"{path}[{i}]", "list operands hold only literals")
        return Literal(tuple(value))
    if isinstance(value, (str, int, float, bool)):
        return Literal(value)
    raise ConditionError(path, f"unsupported operand {value!r}")


def parse_condition(data: Any, path: str = "when") -> Node:
    """Parse a condition mapping into a typed tree, or raise ConditionError naming the path."""
    if not isinstance(data, dict) or not data:
        raise ConditionError(path, "a condition must be a non-empty mapping")
    keys = set(data)
    if keys == {"all"} or keys == {"any"}:
        key = "all" if "all" in keys else "any"
        items = data[key]
        if not isinstance(items, list) or not items:
            raise ConditionError(f"{path}.{key}", "expected a non-empty list of conditions")
        parsed = tuple(parse_condition(c, f"{path}.{key}[{i}]") for i, c in enumerate(items))
        return All(parsed) if key == "all" else AnyOf(parsed)
    if keys == {"not"}:
        return Not(parse_condition(data["not"], f"{path}.not"))
    if len(keys) == 1 and next(iter(keys)) in PRESENCE:
        op = next(iter(keys))
        return Presence(op, _name(data[op], f"{path}.{op}"))
    if "fact" in keys:
        ops = keys - {"fact"}
        if len(ops) != 1 or next(iter(ops)) not in COMPARATORS:
            raise ConditionError(
                path, f"a fact test needs exactly one operator of {', '.join(COMPARATORS)}"
            )
        op = next(iter(ops))
        operand = _operand(data[op], f"{path}.{op}")
        if op == "is" and not (isinstance(operand, Literal) and isinstance(operand.value, bool)):
            raise ConditionError(f"{path}.is", "'is' takes true or false")
        if (
            op in ("in", "not_in")
            and isinstance(operand, Literal)
            and not isinstance(operand.value, tuple)
        ):
            raise ConditionError(f"{path}.{op}", f"'{op}' takes a list")
        return Compare(_name(data["fact"], f"{path}.fact"), op, operand)
    raise ConditionError(
        path,
        f"unknown condition keys {sorted(keys)}; expected all, any, not, fact, present, "
        "missing or stale",
    )


def walk(node: Node) -> Iterator[Node]:
    """Every node of the tree, depth first."""
    yield node
    if isinstance(node, (All, AnyOf)):
        for item in node.items:
            yield from walk(item)
    elif isinstance(node, Not):
        yield from walk(node.item)


def facts_used(node: Node) -> list[str]:
    """Fact names a condition reads, in order of first use."""
    seen: dict[str, None] = {}
    for n in walk(node):
        if isinstance(n, (Compare, Presence)):
            seen.setdefault(n.fact, None)
        if isinstance(n, Compare) and isinstance(n.operand, FactRef):
            seen.setdefault(n.operand.name, None)
    return list(seen)


def policies_used(node: Node) -> list[str]:
    """Policy parameter names a condition reads."""
    seen: dict[str, None] = {}
    for n in walk(node):
        if isinstance(n, Compare) and isinstance(n.operand, PolicyRef):
            seen.setdefault(n.operand.name, None)
    return list(seen)
