"""No ``dict[str, Any]`` crosses from the engine to a face.

1. The engine's public surface (``leptoguide/engine/*`` and ``leptoguide/assessment.py``): no public
   function, method, field or type alias is annotated with ``Any`` or with a mapping of untyped
   values (``dict[str, object]``, ``Mapping[str, JsonValue]`` ...), except the JSON forms named in
   :data:`ENGINE_JSON` (the contract as plain data, its schema, the validating boundary); and no
   engine module names ``Any`` at all, public or private.
2. The faces (web, render, api, cli, batch, store): no function takes a parameter annotated ``Any``
   or a mapping of untyped values, except those in :data:`FACE_EXCEPTIONS`, each with the reason it
   is not assessment data (FHIR input, tokens, the form as posted ...). An exception that no
   longer exists fails the test, so the list stays true.
3. The functions through which a face reads an assessment take the typed models (checked on
   the resolved annotations, not on names).
4. At run time, over the example charts: every fact value the engine derives is one of the
   declared types, and the Assessment object holds models, lists and plain values only (the one
   mapping is the policy's overridden values, ``dict[str, Scalar]``).
"""

from __future__ import annotations

import ast
import datetime as dt
import inspect
import re
import typing
from collections.abc import Callable, Iterator
from pathlib import Path

from pydantic import BaseModel

from leptoguide import assessment as contract
from leptoguide.engine import assess
from leptoguide.engine.derive import build_facts
from leptoguide.engine.types import FactData
from leptoguide.intake import read_path
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.policy import load_policy

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "leptoguide"
FACES = ("web", "render", "api", "cli", "batch", "store")

UNTYPED = re.compile(
    r"\bAny\b|\b(?:dict|Mapping|MutableMapping)\[str, (?:Any|object|JsonValue)\]|^JsonValue$"
)
"""An annotation that lets an assessment travel as loose data."""

ENGINE_JSON = {
    "assessment.py:Assessment.to_dict": "the JSON contract as plain data (same as model_dump())",
    "assessment.py:json_schema": "the published JSON Schema of the contract",
    "assessment.py:as_assessment": "the boundary: contract JSON (read back from storage) in, "
    "validated into the model",
}

FORM = "the assessment form as posted (user input read into a case file), not engine output"
FHIR_IN = "FHIR JSON from the EHR (prefetch, bundle, resources, context): input to intake"
FHIR_OUT = "FHIR / CDS Hooks wire JSON the face builds for output (cards, OperationOutcome)"
AUTH = "SMART / JWT token claims and signed session payloads"
AUDIT = (
    "the audit log stores any service's input and output (an assessment's model_dump(), an "
    "answer) as JSON: it writes the contract, it reads no assessment field"
)
ANSWER = "an answer (ask) as JSON, not an Assessment"
BATCH = (
    "a batch output row or its cells (SQL values, and finding inputs already dumped from the "
    "typed model in engine_findings) written to CSV/JSON"
)
LIB = "an object of a library without type stubs (Typer command, DuckDB/SQLAlchemy, DB-API)"
JSON_ANY = "a generic JSON or request value (parsed, checked or written as any JSON)"
CACHE = "a picture's cache key: plain drawing parameters, hashed"
TEMPLATE = "page template values (Jinja context), built from the typed model by the caller"
KNOWLEDGE = "knowledge-base objects (a CSF table band, pairs of statements), not assessment data"

FACE_EXCEPTIONS: dict[str, str] = {
    "web/assess.py:_form_values(form)": FORM,
    "web/caseform.py:_range(value)": FORM,
    "web/caseform.py:_put(doc)": FORM,
    "web/caseform.py:_put(value)": FORM,
    "web/caseform.py:read_case_form(form)": FORM,
    "web/caseform.py:form_to_casefile(form)": FORM,
    "web/caseform.py:__init__(form)": FORM,
    "web/caseform.py:_field(doc)": FORM,
    "web/caseform.py:_field(labs)": FORM,
    "web/caseform.py:_field(lists)": FORM,
    "web/caseform.py:_number_field(doc)": FORM,
    "web/caseform.py:_number_field(labs)": FORM,
    "web/charts.py:_render(key)": CACHE,
    "web/charts.py:_render(draw)": LIB,
    "web/charts.py:_span(band)": KNOWLEDGE,
    "web/citations.py:answer_refs(data)": ANSWER,
    "web/kb.py:conflict_groups(pairs)": KNOWLEDGE,
    "web/common.py:render(values)": TEMPLATE,
    "web/common.py:record(input_data)": AUDIT,
    "web/common.py:record(output)": AUDIT,
    "web/smart.py:_sign(payload)": AUTH,
    "web/smart.py:_exchange(pending)": AUTH,
    "web/smart.py:_user_of(pending)": AUTH,
    "web/smart.py:_user_of(token)": AUTH,
    "web/smart.py:_target(token)": AUTH,
    "api/cds_hooks.py:_usable(value)": FHIR_IN,
    "api/cds_hooks.py:_outcome_text(value)": FHIR_IN,
    "api/cds_hooks.py:run_hook(prefetch)": FHIR_IN,
    "api/cds_request.py:_patient_id(reference)": FHIR_IN,
    "api/cds_request.py:foreign_patient(resource)": FHIR_IN,
    "api/cds_request.py:_entries(value)": FHIR_IN,
    "api/cds_request.py:_key(res)": FHIR_IN,
    "api/cds_request.py:_draft_id(res)": FHIR_IN,
    "api/cds_request.py:assemble(prefetch)": FHIR_IN,
    "api/cds_request.py:_content(res)": FHIR_IN,
    "api/cds_request.py:assemble(draft_orders)": FHIR_IN,
    "api/cds_request.py:_ref(res)": FHIR_IN,
    "api/errors.py:operation_outcome(issues)": FHIR_OUT,
    "api/errors.py:_loc_expression(loc)": JSON_ANY,
    "api/fhir_client.py:render_template(context)": FHIR_IN,
    "api/fhir_client.py:fetch_prefetch(authorization)": AUTH,
    "api/fhir_client.py:fetch_prefetch(context)": FHIR_IN,
    "api/fhir_client.py:fetch_each(authorization)": AUTH,
    "api/fhir_client.py:fetch_each(context)": FHIR_IN,
    "api/jwt_auth.py:_check_unsigned(claims)": AUTH,
    "api/jwt_auth.py:find(jwks)": AUTH,
    "api/report_results.py:_resources(value)": FHIR_IN,
    "api/report_results.py:missing_results(prefetch)": FHIR_IN,
    "api/report_results.py:sent_reports(sent)": FHIR_IN,
    "api/report_results.py:fetch_report_results(authorization)": AUTH,
    "api/report_results.py:fetch_report_results(prefetch)": FHIR_IN,
    "api/report_results.py:fetch_report_results(context)": FHIR_IN,
    "api/report_results.py:fetch_report_results(reports)": FHIR_IN,
    "api/report_results.py:_collection(resources)": FHIR_OUT,
    "api/responses.py:html_safe_json(content)": JSON_ANY,
    "api/responses.py:render(content)": JSON_ANY,
    "api/rest.py:_parse_at(value)": JSON_ANY,
    "api/rest.py:_page(items)": JSON_ANY,
    "api/rest.py:_no_bool(value)": JSON_ANY,
    "api/state.py:record(input_data)": AUDIT,
    "api/state.py:record(output)": AUDIT,
    "api/system_actions.py:system_actions(cards)": FHIR_OUT,
    "cli/reference.py:walk(cmd)": LIB,
    "cli/reference.py:_usage(cmd)": LIB,
    "batch/engine.py:__init__(session)": LIB,
    "batch/engine.py:table(rows)": BATCH,
    "batch/replay.py:read_chart(resources)": FHIR_IN,
    "batch/replay.py:charts(engine)": LIB,
    "batch/replay.py:med_time(m)": FHIR_IN,
    "batch/run.py:_iso(t)": BATCH,
    "batch/run.py:_num(v)": BATCH,
    "batch/run.py:_csv(rows)": BATCH,
    "batch/run.py:_row(patient)": BATCH,
    "batch/run.py:_row(ref)": BATCH,
    "batch/run.py:_row(t)": BATCH,
    "batch/run.py:_row(values)": BATCH,
    "batch/run.py:_row(pv)": BATCH,
    "batch/sqlrules.py:literal(value)": BATCH,
    "batch/synth.py:write(res)": FHIR_IN,
    "batch/synth.py:add(res)": FHIR_IN,
    "batch/terminology.py:concepts_of(codeable)": FHIR_IN,
    "batch/viewdef.py:parse_view(data)": JSON_ANY,
    "store/audit.py:canonical_json(value)": AUDIT,
    "store/audit.py:canonical_bytes(value)": AUDIT,
    "store/audit.py:record(output)": AUDIT,
    "store/audit.py:record(input_data)": AUDIT,
    "store/audit.py:input_hash(data)": AUDIT,
    "store/cds.py:store_feedback(items)": FHIR_IN,
    "store/db.py:_pragmas(dbapi_conn)": LIB,
    "store/db.py:_pragmas(_record)": LIB,
}


def _untyped(node: ast.expr | None) -> bool:
    return node is not None and bool(UNTYPED.search(ast.unparse(node)))


def _params(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[ast.arg]:
    a = fn.args
    yield from (*a.posonlyargs, *a.args, *a.kwonlyargs)
    if a.vararg:
        yield a.vararg
    if a.kwarg:
        yield a.kwarg


def _public(name: str) -> bool:
    return not name.startswith("_") or (name.startswith("__") and name.endswith("__"))


def engine_violations(sources: list[tuple[str, str]]) -> list[str]:
    """Public engine names annotated with Any or a mapping of untyped values, in the given
    (file name, source text) pairs."""
    out: list[str] = []
    for rel, text in sources:
        tree = ast.parse(text)

        def scan(body: list[ast.stmt], owner: str, rel: str = rel) -> None:
            for node in body:
                if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    if not _public(node.name):
                        continue
                    where = f"{rel}:{owner}{node.name}"
                    bad = [p.arg for p in _params(node) if _untyped(p.annotation)]
                    if _untyped(node.returns):
                        bad.append("return")
                    if bad and where not in ENGINE_JSON:
                        out.append(f"{where} ({', '.join(bad)})")
                elif isinstance(node, ast.ClassDef) and _public(node.name) and not owner:
                    scan(node.body, f"{node.name}.")
                elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
                    if _public(node.target.id) and _untyped(node.annotation):
                        out.append(f"{rel}:{owner}{node.target.id}")
                elif isinstance(node, ast.Assign) and not owner:
                    names = [t.id for t in node.targets if isinstance(t, ast.Name)]
                    if any(_public(n) for n in names) and re.search(
                        r"\bAny\b", ast.unparse(node.value)
                    ):
                        out.append(f"{rel}:{'/'.join(names)} (alias)")

        scan(tree.body, "")
    return out


def untyped_params(rel: str, text: str) -> set[str]:
    """Every function parameter in ``text`` annotated with Any or a mapping of untyped values."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for p in _params(node):
                if _untyped(p.annotation):
                    found.add(f"{rel}:{node.name}({p.arg})")
    return found


def face_untyped_params() -> set[str]:
    found: set[str] = set()
    for face in FACES:
        for path in sorted((SRC / face).rglob("*.py")):
            rel = path.relative_to(SRC).as_posix()
            found |= untyped_params(rel, path.read_text(encoding="utf-8"))
    return found


def test_the_engine_exposes_no_untyped_data() -> None:
    files = [*sorted((SRC / "engine").glob("*.py")), SRC / "assessment.py"]
    assert len(files) > 10
    sources = [
        (p.relative_to(SRC).as_posix().removeprefix("engine/"), p.read_text(encoding="utf-8"))
        for p in files
    ]
    assert engine_violations(sources) == []
    # nor privately: the engine names no ``Any`` at all (condition literals and template values
    # are ``object``; fact values are ``FactData``)
    assert [rel for rel, text in sources if re.search(r"\bAny\b", text)] == []


def test_the_engine_scan_sees_an_untyped_name() -> None:
    text = (
        "from typing import Any\n"
        "def compute(x: int) -> dict[str, Any]: ...\n"
        "def typed(x: int) -> dict[str, float]: ...\n"
        "class Out:\n    value: Any\n    def dump(self) -> dict[str, object]: ...\n"
        "    def _private(self) -> Any: ...\n"
        "Loose = dict[str, Any]\n"
        "def to_dict() -> dict[str, JsonValue]: ...\n"
    )
    assert engine_violations([("probe.py", text)]) == [
        "probe.py:compute (return)",
        "probe.py:Out.value",
        "probe.py:Out.dump (return)",
        "probe.py:Loose (alias)",
        "probe.py:to_dict (return)",
    ]
    # the contract's own JSON form is the one named exception
    own = "class Assessment:\n    def to_dict(self) -> dict[str, JsonValue]: ...\n"
    assert engine_violations([("assessment.py", own)]) == []


def test_no_face_takes_assessment_data_as_a_dict() -> None:
    found = face_untyped_params()
    unexplained = sorted(found - set(FACE_EXCEPTIONS))
    assert not unexplained, (
        "a face takes loose data; read the typed Assessment (attributes) instead, or name the "
        f"exception with its reason in FACE_EXCEPTIONS: {unexplained}"
    )
    stale = sorted(set(FACE_EXCEPTIONS) - found)
    assert not stale, f"exceptions that no longer exist (remove them): {stale}"
    assert all(reason.strip() for reason in FACE_EXCEPTIONS.values())


def test_the_face_scan_sees_a_dict_parameter() -> None:
    text = (
        "def drug_reasons(finding: dict[str, Any], zone: object) -> list[str]: ...\n"
        "def reasons(missing: list[Mapping[str, object]], f: Finding) -> None: ...\n"
        "def show(value: Any, data: Assessment, n: dict[str, int]) -> None: ...\n"
    )
    assert untyped_params("web/probe.py", text) == {
        "web/probe.py:drug_reasons(finding)",
        "web/probe.py:reasons(missing)",
        "web/probe.py:show(value)",
    }


def _entry_points() -> list[tuple[Callable[..., object], str, type]]:
    from leptoguide.api.cards import build_cards, card_for
    from leptoguide.render.common import missing_items, number_citations
    from leptoguide.render.html import render_html
    from leptoguide.render.ics import render_ics
    from leptoguide.render.json import render_json
    from leptoguide.render.text import render_text
    from leptoguide.web import charts
    from leptoguide.web.assess import result_values, schedules_blocked
    from leptoguide.web.citations import assessment_refs
    from leptoguide.web.verdict import drug_reasons, verdicts

    return [
        (render_text, "data", contract.Assessment),
        (render_html, "data", contract.Assessment),
        (render_json, "data", contract.Assessment),
        (render_ics, "data", contract.Assessment),
        (number_citations, "data", contract.Assessment),
        (missing_items, "data", contract.Assessment),
        (build_cards, "assessment", contract.Assessment),
        (card_for, "finding", contract.Finding),
        (verdicts, "assessment", contract.Assessment),
        (drug_reasons, "finding", contract.Finding),
        (schedules_blocked, "data", contract.Assessment),
        (result_values, "data", contract.Assessment),
        (assessment_refs, "data", contract.Assessment),
        (charts.lp_timeline, "data", contract.Assessment),
        (charts.finding_number_lines, "finding", contract.Finding),
        (charts.csf_patterns, "finding", contract.Finding),
        (charts.schedule_calendar, "schedule", contract.Schedule),
        (charts.lab_trend, "series", contract.Series),
    ]


def test_faces_read_the_typed_models() -> None:
    for fn, param, model in _entry_points():
        annotation = inspect.signature(fn).parameters[param].annotation
        resolved = (
            eval(annotation, vars(inspect.getmodule(fn)))
            if isinstance(annotation, str)
            else annotation
        )
        assert resolved is model, f"{fn.__module__}.{fn.__name__}({param}: {annotation})"


def _walk(value: object, path: str) -> Iterator[tuple[str, object]]:
    """Every value inside a model, with where it is."""
    yield path, value
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _walk(getattr(value, name), f"{path}.{name}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, f"{path}[{i}]")


CHARTS = [
    *sorted((ROOT / "examples" / "fhir").glob("*.json")),
    *sorted((ROOT / "examples" / "cases").glob("*.yaml")),
    ROOT / "tests" / "scenarios" / "bundles" / "18-liposomal-cytarabine-order.json",
]
AT = dt.datetime(2026, 11, 21, 12, tzinfo=dt.UTC)
FACT_TYPES = (
    list,
    *(t for t in typing.get_args(FactData) if isinstance(t, type) and t is not type(None)),
)


def test_engine_output_holds_models_and_plain_values_only(shipped_kb: KnowledgeBase) -> None:
    policy = load_policy(shipped_kb)
    seen: set[type] = set()
    for path in CHARTS:
        case = read_path(str(path), kb=shipped_kb)
        facts = build_facts(case, kb=shipped_kb, policy=policy, at=AT)
        for fv in facts:
            value = fv.value
            assert value is None or isinstance(value, FACT_TYPES), (path.name, fv.id, value)
            if isinstance(value, list):
                assert all(isinstance(x, str | contract.Schedule) for x in value), fv.id
            seen.add(type(value))
        for audience in ("clinician", "patient"):
            result = assess(case, kb=shipped_kb, policy=policy, at=AT, audience=audience)
            for where, item in _walk(result, path.name):
                if where.endswith(".policy.overrides"):
                    assert isinstance(item, dict)
                    assert all(isinstance(v, bool | int | float | str) for v in item.values())
                    continue
                assert isinstance(item, BaseModel | list | str | int | float | bool | None), (
                    where,
                    type(item),
                )
    # the typed computation outputs did appear, so the check checked them
    assert contract.AntithromboticTiming in seen
    assert sum(1 for t in seen if issubclass(t, BaseModel)) >= 5, seen


def test_a_structured_value_where_text_is_expected_is_unparseable(
    shipped_kb: KnowledgeBase,
) -> None:
    """A reader that hands the engine a mapping for a text fact (CSF culture) gets an unreadable
    fact, never loose data in the Assessment (and never a safe reading)."""
    from leptoguide.case import Case, Observed
    from leptoguide.engine.facts import observation_fact
    from leptoguide.engine.types import Context

    fact = shipped_kb.facts["csf-culture"]
    assert fact.type == "string" and fact.concept
    case = Case(origin="case-file")
    for value in ({"organism": "Listeria"}, "Listeria monocytogenes", None):
        case.observations[:] = [Observed(concept=fact.concept, value=value, time=AT)]
        ctx = Context(case=case, at=AT, policy=load_policy(shipped_kb), kb=shipped_kb)
        fv = observation_fact(fact, ctx, None)
        if isinstance(value, dict):
            assert fv.status == "unparseable" and fv.value is None
            assert fv.note == "not a plain value: dict"
        else:
            assert fv.status == "ok" and fv.value == value
