"""Shared helpers: citation numbering and display order."""

from __future__ import annotations

from typing import Any

from leptoguide.knowledge.loader import KnowledgeBase


def number_citations(
    data: dict[str, Any], kb: KnowledgeBase | None = None
) -> tuple[dict[tuple[str, str, str], int], list[dict[str, Any]]]:
    """Number each distinct (statement, source, locator) in order of first appearance."""
    numbers: dict[tuple[str, str, str], int] = {}
    refs: list[dict[str, Any]] = []
    for finding in data["findings"]:
        for c in finding["citations"]:
            key = (c["statement"], c["source"], c["locator"])
            if key not in numbers:
                numbers[key] = len(numbers) + 1
                src = kb.sources.get(c["source"]) if kb else None
                st = kb.statements.get(c["statement"]) if kb else None
                refs.append(
                    {
                        "n": numbers[key],
                        "statement": c["statement"],
                        "statement_title": st.title if st else c["statement"],
                        "status": c.get("statement_status"),
                        "source": c["source"],
                        "source_title": src.title if src else c["source"],
                        "year": src.year if src else None,
                        "locator": c["locator"],
                    }
                )
    return numbers, refs


def finding_refs(finding: dict[str, Any], numbers: dict[tuple[str, str, str], int]) -> list[int]:
    seen: list[int] = []
    for c in finding["citations"]:
        n = numbers[(c["statement"], c["source"], c["locator"])]
        if n not in seen:
            seen.append(n)
    return seen
