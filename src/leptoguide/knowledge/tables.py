"""Reason texts of knowledge tables: placeholders for facts and policy values, filled without ``eval``.

A reason in a scoring or classification table (see docs/knowledge-format.md, "Tables") is plain
text with placeholders in braces:

- ``{fact-id}`` the value of a fact (or of a name the table itself defines), ``{fact-id:.2f}``
  with a Python format specification;
- ``{fact-id.status}`` the fact's status (``missing``, ``stale``, ``unparseable``);
- ``{policy.parameter-id:g}`` a site-policy value.

Only whole names are looked up (no attribute or index access), so a table cannot reach into code.
The loader checks every name against the facts, policy parameters and table names it knows.
"""

from __future__ import annotations

from collections.abc import Callable
from string import Formatter
from typing import Any

from leptoguide.knowledge.conditions import facts_used, parse_condition
from leptoguide.knowledge.models import ClassificationTable, ScoreTable

POLICY_PREFIX = "policy."
STATUS_SUFFIX = ".status"


class _Fill(Formatter):
    def __init__(self, lookup: Callable[[str], Any]) -> None:
        self.lookup = lookup

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        return self.lookup(field_name), field_name


def placeholders(text: str) -> list[str]:
    """The names a reason text reads, in order (raises ValueError on unbalanced braces)."""
    return [name for _, name, _, _ in Formatter().parse(text) if name is not None]


def fill(text: str, lookup: Callable[[str], Any]) -> str:
    """``text`` with every placeholder replaced by ``lookup(name)`` formatted by its spec."""
    return _Fill(lookup).format(text)


def unknown_names(
    text: str, facts: set[str], policies: set[str], local: frozenset[str] = frozenset()
) -> list[str]:
    """Placeholder names of ``text`` that name no fact, policy parameter or table name."""
    out = []
    for name in placeholders(text):
        if name.startswith(POLICY_PREFIX):
            if name.removeprefix(POLICY_PREFIX) not in policies:
                out.append(name)
            continue
        base = name.removesuffix(STATUS_SUFFIX)
        if base not in facts and base not in local:
            out.append(name)
    return out


def table_reads(table: ScoreTable | ClassificationTable) -> list[str]:
    """Every fact (or table name) a table's conditions, texts and lookups read, in order."""
    conditions: list[dict[str, Any]] = []
    texts: list[str] = []
    names: list[str] = []
    if isinstance(table, ScoreTable):
        conditions.append(table.normal)
        for row in table.features:
            conditions.append(row.when)
            texts += [row.reason, *row.reasons.values()]
    else:
        names += [name for lk in table.lookups for name in (lk.fact, lk.id)]
        for step in table.steps:
            if step.when is not None:
                conditions.append(step.when)
            texts += [
                step.reason,
                *([step.result.type] if step.result and step.result.type else []),
            ]
    for when in conditions:
        names += facts_used(parse_condition(when))
    for text in texts:
        names += [
            n.removesuffix(STATUS_SUFFIX)
            for n in placeholders(text)
            if not n.startswith(POLICY_PREFIX)
        ]
    return list(dict.fromkeys(names))
