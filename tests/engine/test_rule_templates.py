"""Rule templates against the typed outputs of the computations they read.

1. Statically: every field a template reads from a typed fact (``v('fact').field``, and the fields
   of the items it loops over, at any depth: ``for s in v('schedules')``, ``for e in s.events``)
   exists in the model the computation declares for that fact (or for the items of a list fact).
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
from leptoguide.engine.derive import build_facts, item_types, output_types
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


def _reads(
    source: str,
    declared: dict[str, type[BaseModel]],
    items: dict[str, type[BaseModel]] | None = None,
) -> list[tuple[str, str, str]]:
    """(fact or loop variable, model name, field) for every field read from a typed fact or from
    the items of a loop over one."""
    tree = environment().parse(source)
    items = items or {}
    found: list[tuple[str, str, str]] = []
    loops: dict[str, type[BaseModel]] = {}
    for loop in tree.find_all(nodes.For):  # outer loops come first
        it = loop.iter
        if not isinstance(loop.target, nodes.Name):
            continue
        item: type[BaseModel] | None = None
        fid = _fact_call(it)
        if fid in items:
            item = items[fid]
        elif isinstance(it, nodes.Getattr):
            fid = _fact_call(it.node)
            owner: type[BaseModel] | None = None
            if fid in declared:
                owner = declared[fid]
            elif isinstance(it.node, nodes.Name) and it.node.name in loops:
                owner = loops[it.node.name]
            if owner is not None and it.attr in owner.model_fields:
                item = _item_model(owner, it.attr)
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
    declared = output_types(shipped_kb)
    items = item_types()
    assert declared and items, "no computation declares a typed output"
    models = _models({**declared, **items})
    checked: dict[str, int] = {}
    for rule in shipped_kb.rules.values():
        for name in TEXTS:
            source = getattr(rule, name)
            if not source:
                continue
            for var, model, attr in _reads(source, declared, items):
                checked[model] = checked.get(model, 0) + 1
                assert attr in _field_names(models[model]), (
                    f"rule {rule.id} {name}: {var}.{attr} is not a field of {model}"
                )
    # every typed output a shipped template reads from is checked, down to the loop items
    for model in (
        "AntithromboticTiming",
        "ItOrderChecks",
        "ItDrugCheck",
        "RegimenChoice",
        "RegimenOption",
        "Schedule",
        "ScheduleEvent",
    ):
        assert checked.get(model), f"no template field of {model} was checked"


def test_the_static_check_sees_a_wrong_field(shipped_kb: KnowledgeBase) -> None:
    declared = output_types(shipped_kb)
    fid, model = next(iter(declared.items()))
    reads = _reads(f"{{{{ v('{fid}').no_such_field }}}}", declared)
    assert reads == [(fid, model.__name__, "no_such_field")]
    assert "no_such_field" not in _field_names(model)


def test_the_static_check_follows_loops_over_list_facts(shipped_kb: KnowledgeBase) -> None:
    declared, items = output_types(shipped_kb), item_types()
    source = (
        "{% for s in v('schedules') %}{{ s.begin }}{% for e in s.events %}{{ e.when }}"
        "{% endfor %}{% endfor %}{% for d in v('it-order-checks').drugs %}{{ d.dose }}{% endfor %}"
        "{% for o in v('tbm-regimen-choice').other %}{{ o.reason }}{% endfor %}"
    )
    reads = _reads(source, declared, items)
    assert ("s", "Schedule", "begin") in reads
    assert ("e", "ScheduleEvent", "when") in reads
    assert ("d", "ItDrugCheck", "dose") in reads
    assert ("o", "RegimenOption", "reason") in reads
    models = _models({**declared, **items})
    wrong = [(m, a) for _, m, a in reads if a not in _field_names(models[m])]
    assert sorted(wrong) == [
        ("ItDrugCheck", "dose"),
        ("RegimenOption", "reason"),
        ("Schedule", "begin"),
        ("ScheduleEvent", "when"),
    ]


def _allowed(error: str) -> bool:
    return "'Unknown'" in error and "unsupported operand" in error


def test_every_template_renders_against_every_chart(shipped_kb: KnowledgeBase) -> None:
    policy = load_policy(shipped_kb)
    declared = output_types(shipped_kb)
    items = item_types()
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
        for fid, model in items.items():
            fv = facts.get(fid)
            if fv.usable and isinstance(fv.value, list) and fv.value:
                assert all(isinstance(x, model) for x in fv.value), (path.name, fid)
                typed_seen.add(fid)
        for audience in ("clinician", "patient"):
            ctx = _Env(shipped_kb, facts, policy, audience).context()
            for rule in sorted(shipped_kb.rules.values(), key=lambda r: r.id):
                rendered += _render_all(rule, ctx, path.name)
    assert rendered > 1000
    assert typed_seen == set(declared) | set(items), "a typed output never appeared in the charts"


def _render_all(rule: Rule, ctx: dict[str, typing.Callable[..., object]], chart: str) -> int:
    count = 0
    for name in TEXTS:
        source = getattr(rule, name)
        if not source:
            continue
        _, error = render(source, ctx)
        assert error is None or _allowed(error), f"{chart}: rule {rule.id} {name}: {error}"
        count += 1
    return count


def test_plain_text_renders_as_jinja_would(shipped_kb: KnowledgeBase) -> None:
    """Text without any ``{`` is returned without rendering: the same text Jinja gives (every
    plain-text template of the shipped rules), and an expression still renders."""
    from leptoguide.engine.templates import _compiled

    plain = [
        text
        for rule in shipped_kb.rules.values()
        for text in (rule.summary, rule.detail)
        if isinstance(text, str) and "{" not in text
    ]
    assert plain
    for text in [*plain, "  two\nlines \n", "100% sure: a # and %} alone"]:
        assert render(text, {}) == (_compiled(text).render().strip(), None)
    assert render("{{ v('x') }} mg", {"v": lambda _fact: 12}) == ("12 mg", None)
