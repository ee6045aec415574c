"""Rule templates against the typed outputs of the computations they read.

1. Statically: every field a template reads from a typed fact (``v('fact').field``, and the fields
   of the items it loops over) exists in the model the computation declares for that fact.
2. By rendering: every template of every rule renders against the facts of every scenario and
   example chart (fired or not) without an unknown-field error; the only errors allowed are
   arithmetic on a value that is missing (those rules do not fire without it).
"""

from __future__ import annotations

import datetime as dt
import typing
from pathlib import Path

from jinja2 import nodes
from pydantic import BaseModel

from leptoguide.engine.assessment import _Env
from leptoguide.engine.derive import build_facts, output_types
from leptoguide.engine.templates import environment, render
from leptoguide.intake import read_path
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.models import Rule
from leptoguide.policy import load_policy

ROOT = Path(__file__).parents[2]
CHARTS = [
    *sorted((ROOT / "tests" / "scenarios" / "bundles").glob("*.json")),
    *sorted((ROOT / "examples" / "fhir").glob("*.json")),
]
AT = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)
TEXTS = ("summary", "detail", "patient")


def _fact_call(node: nodes.Node) -> str | None:
    """'x' for the template expression v('x'), else None."""
    if (
        isinstance(node, nodes.Call)
        and isinstance(node.node, nodes.Name)
        and node.node.name == "v"
        and len(node.args) == 1
        and isinstance(node.args[0], nodes.Const)
    ):
        return str(node.args[0].value)
    return None


def _item_model(model: type[BaseModel], field: str) -> type[BaseModel] | None:
    """The model of the items of a list field (list[Model]), else None."""
    annotation = model.model_fields[field].annotation
    for arg in typing.get_args(annotation) or ():
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    return None


def _field_names(model: type[BaseModel]) -> set[str]:
    return set(model.model_fields)


def _reads(source: str, declared: dict[str, type[BaseModel]]) -> list[tuple[str, str, str]]:
    """(fact or loop variable, model name, field) for every field read from a typed fact."""
    tree = environment().parse(source)
    found: list[tuple[str, str, str]] = []
    loops: dict[str, type[BaseModel]] = {}
    for loop in tree.find_all(nodes.For):
        it = loop.iter
        if isinstance(it, nodes.Getattr) and isinstance(loop.target, nodes.Name):
            fid = _fact_call(it.node)
            if fid in declared and it.attr in declared[fid].model_fields:
                item = _item_model(declared[fid], it.attr)
                if item is not None:
                    loops[loop.target.name] = item
    for get in tree.find_all(nodes.Getattr):
        fid = _fact_call(get.node)
        if fid in declared:
            found.append((fid, declared[fid].__name__, get.attr))
        elif isinstance(get.node, nodes.Name) and get.node.name in loops:
            found.append((get.node.name, loops[get.node.name].__name__, get.attr))
    return found


def _models(declared: dict[str, type[BaseModel]]) -> dict[str, type[BaseModel]]:
    out: dict[str, type[BaseModel]] = {}
    stack = list(declared.values())
    while stack:
        model = stack.pop()
        out[model.__name__] = model
        for name in model.model_fields:
            item = _item_model(model, name)
            if item is not None and item.__name__ not in out:
                stack.append(item)
    return out


def test_templates_read_only_fields_the_declared_types_have(shipped_kb: KnowledgeBase) -> None:
    declared = output_types()
    assert declared, "no computation declares a typed output"
    models = _models(declared)
    checked = 0
    for rule in shipped_kb.rules.values():
        for name in TEXTS:
            source = getattr(rule, name)
            if not source:
                continue
            for var, model, attr in _reads(source, declared):
                checked += 1
                assert attr in _field_names(models[model]), (
                    f"rule {rule.id} {name}: {var}.{attr} is not a field of {model}"
                )
    assert checked, "no template reads a typed output: the check checks nothing"


def test_the_static_check_sees_a_wrong_field() -> None:
    declared = output_types()
    fid, model = next(iter(declared.items()))
    reads = _reads(f"{{{{ v('{fid}').no_such_field }}}}", declared)
    assert reads == [(fid, model.__name__, "no_such_field")]
    assert "no_such_field" not in _field_names(model)


def _allowed(error: str) -> bool:
    return "'Unknown'" in error and "unsupported operand" in error


def test_every_template_renders_against_every_chart(shipped_kb: KnowledgeBase) -> None:
    policy = load_policy(shipped_kb)
    declared = output_types()
    rendered = 0
    typed_seen: set[str] = set()
    for path in CHARTS:
        try:
            case = read_path(str(path), kb=shipped_kb)
        except Exception:  # the malformed-input scenario
            continue
        facts = build_facts(case, kb=shipped_kb, policy=policy, at=AT)
        for fid, model in declared.items():
            fv = facts.get(fid)
            if fv.usable:
                assert isinstance(fv.value, model), (path.name, fid, type(fv.value))
                typed_seen.add(fid)
        for audience in ("clinician", "patient"):
            ctx = _Env(shipped_kb, facts, policy, audience).context()
            for rule in sorted(shipped_kb.rules.values(), key=lambda r: r.id):
                rendered += _render_all(rule, ctx, path.name)
    assert rendered > 1000
    assert typed_seen == set(declared), "a typed output never appeared in the charts"


def _render_all(rule: Rule, ctx: dict[str, typing.Any], chart: str) -> int:
    count = 0
    for name in TEXTS:
        source = getattr(rule, name)
        if not source:
            continue
        _, error = render(source, ctx)
        assert error is None or _allowed(error), f"{chart}: rule {rule.id} {name}: {error}"
        count += 1
    return count
