"""Core errors name fields, never command-line flags; the CLI face adds the flag when it reports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import leptoguide
from leptoguide.batch.engine import make_engine
from leptoguide.batch.run import resolve_names
from leptoguide.cli import describe
from leptoguide.errors import InputError
from leptoguide.knowledge.loader import get_knowledge

PACKAGE = Path(leptoguide.__file__).parent
CORE = ("knowledge", "intake", "engine", "answer", "batch", "policy.py", "errors.py", "case.py")
ERRORS = {"InputError", "MalformedInputError", "Problem", "KnowledgeError", "_missing"}


def _strings(node: ast.AST) -> list[str]:
    return [
        n.value for n in ast.walk(node) if isinstance(n, ast.Constant) and isinstance(n.value, str)
    ]


def test_no_core_error_names_a_flag() -> None:
    found = []
    for part in CORE:
        root = PACKAGE / part
        for path in [root] if root.is_file() else sorted(root.rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if not isinstance(node, ast.Call):
                    continue
                name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
                if name not in ERRORS:
                    continue
                for text in _strings(node):
                    if text.startswith("--") or " --" in text or "(--" in text:
                        found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {text!r}")
    assert not found, found


def test_batch_option_errors_name_the_field_and_the_cli_adds_the_flag() -> None:
    with pytest.raises(InputError) as err:
        make_engine("nope")
    assert (err.value.problem.where, err.value.problem.field) == ("options", "engine")
    assert describe(err.value) == "--engine: unknown engine 'nope' (duckdb or spark)"
    with pytest.raises(InputError) as err:
        resolve_names(get_knowledge(), ["no-such-audit"], [])
    assert err.value.problem.field == "audit" and "--" not in str(err.value)
    assert describe(err.value).startswith("--audit: unknown audit 'no-such-audit' (known: ")
    with pytest.raises(InputError) as err:
        resolve_names(get_knowledge(), [], ["no-such-cohort"])
    assert describe(err.value).startswith("--cohort: unknown cohort 'no-such-cohort'")


def test_other_errors_are_reported_as_the_core_words_them() -> None:
    exc = InputError("case.json", "not a number", "valueQuantity.value")
    assert describe(exc) == "case.json field 'valueQuantity.value': not a number"
