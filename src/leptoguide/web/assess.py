"""Clinician assessment: upload a FHIR bundle or fill a form; stored results; PDF and iCalendar."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import threading
import zoneinfo
from collections import OrderedDict
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from leptoguide.assessment import Assessment, Finding, FindingInput, stored_assessment
from leptoguide.errors import InputError
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.store.models import AuditEvent
from leptoguide.web import charts, fmt
from leptoguide.web.caseform import (
    TZ_FIELD,
    FieldError,
    field_names,
    form_definition,
    form_field_of,
    local_time,
    option_label,
    read_case_form,
    time_zone,
    unit_label,
)
from leptoguide.web.citations import assessment_refs
from leptoguide.web.common import (
    MAX_UPLOAD,
    Ctx,
    WebError,
    WebState,
    check_csrf,
    context,
    finish,
    read_form,
    render,
    require,
)
from leptoguide.web.markup import render_markdown
from leptoguide.web.verdict import verdicts

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
PATIENT_FIELD = "patient"
"""Upload form field naming the FHIR Patient id (the reader reports an unknown id on it)."""


def _assess(
    web: WebState,
    raw: bytes,
    name: str,
    at: dt.datetime | None,
    actor: str | None = None,
    patient: str | None = None,
) -> str:
    from leptoguide.engine import assess
    from leptoguide.intake import read_input

    case = read_input(raw, name=name, kb=web.kb, patient_id=patient)
    when = at or dt.datetime.now(dt.UTC)
    result = assess(case, kb=web.kb, policy=web.service.policy, at=when)
    return web.record(
        service="assess",
        patient_id=case.patient_reference,
        input_data=raw,
        output=result.model_dump(),
        actor=actor,
    )


_PDF_CACHE: OrderedDict[str, bytes] = OrderedDict()
_PDF_CACHE_SIZE = 32
_PDF_LOCK = threading.Lock()


def _pdf(html: str, base_url: str) -> bytes:
    """WeasyPrint takes about a second per report; identical report HTML reuses the last PDF."""
    key = hashlib.sha256(html.encode("utf-8")).hexdigest()
    with _PDF_LOCK:
        hit = _PDF_CACHE.get(key)
        if hit is not None:
            _PDF_CACHE.move_to_end(key)
            return hit
    from weasyprint import CSS, HTML

    css_path = resources.files("leptoguide.web").joinpath("static/css/report.css")
    pdf = HTML(string=html, base_url=base_url).write_pdf(
        stylesheets=[CSS(string=css_path.read_text("utf-8"))]
    )
    data = bytes(pdf)
    with _PDF_LOCK:
        _PDF_CACHE[key] = data
        while len(_PDF_CACHE) > _PDF_CACHE_SIZE:
            _PDF_CACHE.popitem(last=False)
    return data


def _parse_at(value: str, zone: dt.tzinfo) -> dt.datetime | None:
    """The evaluation time, a local time in the user's zone unless it carries an offset."""
    try:
        text = local_time(value, zone)
    except ValueError as exc:
        raise InputError("assessment form", f"not a date and time: {value!r}", "at") from exc
    if text is None:
        return None
    at = dt.datetime.fromisoformat(text)
    return at if isinstance(at, dt.datetime) and at.tzinfo else None


@cache
def _zones() -> tuple[str, ...]:
    return tuple(sorted(z for z in zoneinfo.available_timezones() if "/" in z or z == "UTC"))


@cache
def _field_labels() -> tuple[dict[str, str], dict[str, str]]:
    """Form input name -> readable label, and -> the id of its input (for error links)."""
    labels: dict[str, str] = {TZ_FIELD: "Time zone", "at": "Evaluate at"}
    anchors: dict[str, str] = {TZ_FIELD: "f-tz", "at": "at-form"}
    for sec in form_definition():
        for f in sec.fields:
            labels[f.name] = f.label
            if f.type == "medications":
                for i in range(f.rows):
                    for part, text in (
                        ("drug", "drug"),
                        ("dose", "dose"),
                        ("last", "time of the last dose"),
                    ):
                        labels[f"{f.name}.{i}.{part}"] = f"{f.label} {i + 1}, {text}"
                        anchors[f"{f.name}.{i}.{part}"] = f"f-{f.name}-{i}-{part}"
    return labels, anchors


def _form_page(
    ctx: Ctx,
    error: str | None = None,
    status: int = 200,
    values: dict[str, str] | None = None,
    errors: dict[str, FieldError] | None = None,
) -> Response:
    kb = ctx.web.kb
    labels, anchors = _field_labels()
    return render(
        ctx,
        "assess_form.html",
        http_status=status,
        sections=form_definition(),
        label=lambda cid: option_label(kb, cid),
        unit_label=unit_label,
        zones=_zones(),
        labels=labels,
        anchors=anchors,
        error=error,
        values=values or {},
        errors=errors or {},
    )


def _form_values(form: Any) -> dict[str, str]:
    """What the user typed, to put back into the form (only the form's own names, text only)."""
    names = field_names()
    out: dict[str, str] = {}
    for key, value in form.items():
        if key in names and isinstance(value, str) and len(value) <= 200:
            out[key] = value
    return out


def assessment_of(event: AuditEvent) -> Assessment | None:
    """The assessment stored in an audit event (web/REST assess, or a CDS Hooks response).

    None when the event holds no assessment or one that does not validate against the model.
    """
    return stored_assessment(event.output)


def _load(ctx: Ctx, event_id: str) -> tuple[AuditEvent, Assessment]:
    event = ctx.web.service.audit.get(event_id) if len(event_id) <= 80 else None
    data = assessment_of(event) if event is not None else None
    if event is None or data is None:
        raise WebError(404, "No stored assessment has this id.")
    return event, data


def _finding_status(web: WebState, finding: Finding, statuses: dict[str, str]) -> str:
    """Weakest effective status of what a finding cites (this site's review decisions included)."""
    rule = web.kb.rules.get(finding.rule)
    if rule is not None:
        return web.kb.status_of(rule.cites, statuses)
    return web.kb.status_of([c.statement for c in finding.citations if c.statement], statuses)


def display_zone(ctx: Ctx) -> zoneinfo.ZoneInfo | None:
    """The time zone the user asked to see times in (``?tz=``), else None (UTC as stored)."""
    raw = ctx.request.query_params.get("tz", "")
    return time_zone(raw) if raw else None


def schedules_blocked(kb: KnowledgeBase, data: Assessment) -> bool:
    """True while a critical finding blocks the treatment a schedule is for."""
    return any(v.blocks_schedules for v in verdicts(kb, data, None))


@dataclass(frozen=True)
class MissingRow:
    """A missing or stale item as the page lists it: the fact, its label, what to do, and the
    rules (id, title) that need it."""

    item: str
    status: str
    suggestion: str
    label: str
    rules: list[tuple[str, str]]


def result_values(ctx: Ctx, event: AuditEvent, data: Assessment) -> dict[str, Any]:
    web = ctx.web
    zone = display_zone(ctx)
    bottom = verdicts(web.kb, data, zone)
    timeline = charts.lp_timeline(web.kb, data, zone)
    lines = {f.rule: charts.finding_number_lines(web.kb, f) for f in data.findings}
    for f in data.findings:
        csf_chart = charts.csf_patterns(web.kb, f, web.service.policy)
        if csf_chart is not None:
            lines.setdefault(f.rule, []).append(csf_chart)
    trends = [
        c
        for c in (charts.lab_trend(web.kb, s, data.evaluated_at, zone) for s in data.series)
        if c is not None
    ]
    blocked = any(v.blocks_schedules for v in bottom)
    statuses = web.statuses()
    refs, by_rule = assessment_refs(data, web.kb, statuses)
    findings = sorted(data.findings, key=lambda f: (SEVERITY_ORDER.get(f.severity, 3), f.rule))
    alerts = [f for f in findings if f.kind == "alert"]
    others = [f for f in findings if f.kind != "alert"]
    numbers = {r.n for r in refs}
    details = {f.rule: render_markdown(f.detail, numbers) for f in findings}
    statements = sorted({r.statement_id for r in refs if r.statement_id})
    used: dict[str, FindingInput] = {}
    for f in findings:
        for item in f.inputs:
            if item.fact and item.fact not in used:
                used[item.fact] = item
    kb = web.kb
    inputs_used = []
    for key in sorted(used, key=lambda k: fmt.label(kb, k).lower()):
        item = used[key]
        fact = kb.facts.get(key)
        raw = item.value
        numeric = isinstance(raw, int | float) and not isinstance(raw, bool)
        inputs_used.append(
            {
                "fact": key,
                "label": fmt.label(kb, key),
                "value": fmt.value(kb, raw) if raw is not None else None,
                "unit": fmt.unit(item.unit or (fact.unit if fact and numeric else None)),
                "status": item.status,
                "time": item.time,
                "reference": item.reference,
                "note": item.note,
            }
        )
    missing = [
        MissingRow(
            item=x.item,
            status=x.status or "missing",
            suggestion=x.suggestion,
            label=fmt.label(kb, x.item),
            rules=[(r, fmt.label(kb, r)) for r in x.needed_for],
        )
        for x in data.missing
    ]
    reasons = data.risk.reasons
    return {
        "event": event,
        "data": data,
        "missing": missing,
        "risk_unknown": data.risk.group == "unknown",
        "risk_not_known": [r for r in reasons if r.lower().startswith("not known")],
        "incomplete": bool(missing or data.warnings),
        "alerts": alerts,
        "recommendations": others,
        "refs": refs,
        "by_rule": by_rule,
        "details": details,
        "statements": statements,
        "inputs_used": inputs_used,
        "has_draft": any(r.draft for r in refs),
        "finding_status": {f.rule: _finding_status(web, f, statuses) for f in findings},
        "hidden_unapproved": web.approved_only,
        "has_schedule": not blocked and any(s.events for s in data.schedules),
        "schedules_blocked": blocked,
        "verdicts": bottom,
        "tz": zone,
        "timeline": timeline,
        "number_lines": lines,
        "trends": trends,
        "calendars": {}
        if blocked
        else {s.regimen: charts.schedule_calendar(s) for s in data.schedules},
    }


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/assess", include_in_schema=False)
    def assess_form(request: Request) -> Response:
        """The form; query parameters with the form's field names pre-fill it (computed answers)."""
        ctx = context(request)
        require(ctx, "clinician")
        return _form_page(ctx, values=_form_values(request.query_params))

    async def _submit(request: Request, kind: str) -> Response:
        ctx = await run_in_threadpool(context, request)
        require(ctx, "clinician")
        form = await read_form(request)
        check_csrf(ctx, form)
        values = _form_values(form)
        patient = ""
        tz_raw = values.get(TZ_FIELD, "").strip()
        zone = time_zone(tz_raw) if tz_raw else dt.UTC
        try:
            if zone is None:
                raise InputError("assessment form", f"unknown time zone {tz_raw[:64]!r}", TZ_FIELD)
            at = _parse_at(values.get("at", "").strip(), zone)
            if kind == "upload":
                upload = form.get("bundle")
                if not isinstance(upload, UploadFile):
                    raise InputError(
                        "upload", "choose a FHIR bundle or case file to upload", "bundle"
                    )
                raw = await upload.read(MAX_UPLOAD + 1)
                if len(raw) > MAX_UPLOAD:
                    raise WebError(413, f"The file is larger than {MAX_UPLOAD // 1024 // 1024} MB.")
                if not raw.strip():
                    raise InputError("upload", "the file is empty", "bundle")
                name = f"uploaded file {upload.filename or ''}".strip()
                chosen = form.get(PATIENT_FIELD)
                patient = chosen.strip()[:200] if isinstance(chosen, str) else ""
            else:
                result = read_case_form(form, ctx.web.kb)
                if result.errors:
                    return _form_page(
                        ctx,
                        error="Some values were refused or need checking; see the fields marked below.",
                        status=422,
                        values=values,
                        errors=result.errors,
                    )
                raw = json.dumps(result.casefile, ensure_ascii=False).encode("utf-8")
                name = "assessment form"
            event_id = await run_in_threadpool(
                _assess,
                ctx.web,
                raw,
                name,
                at,
                ctx.user.username if ctx.user else None,
                (patient or None) if kind == "upload" else None,
            )
        except InputError as exc:
            problem = exc.problem
            field = problem.field if problem.field in (TZ_FIELD, "at") else None
            field = field or (form_field_of(problem.field) if kind == "form" else None)
            errors = {field: FieldError(problem.message)} if field else {}
            return _form_page(ctx, error=str(exc), status=422, values=values, errors=errors)
        tz_name = str(zone) if zone is not None and tz_raw else ""
        target = f"/assess/{event_id}" + (f"?{urlencode({'tz': tz_name})}" if tz_name else "")
        return finish(ctx, RedirectResponse(target, status_code=303))

    @r.post("/assess/upload", include_in_schema=False)
    async def assess_upload(request: Request) -> Response:
        return await _submit(request, "upload")

    @r.post("/assess/form", include_in_schema=False)
    async def assess_from_form(request: Request) -> Response:
        return await _submit(request, "form")

    @r.get("/assess/{event_id}", include_in_schema=False)
    def assess_result(event_id: str, request: Request) -> Response:
        ctx = context(request)
        require(ctx, "clinician")
        event, data = _load(ctx, event_id)
        return render(ctx, "assess_result.html", zones=_zones(), **result_values(ctx, event, data))

    @r.get("/assess/{event_id}/report.pdf", include_in_schema=False)
    def assess_pdf(event_id: str, request: Request) -> Response:
        ctx = context(request)
        require(ctx, "clinician")
        event, data = _load(ctx, event_id)
        html = ctx.web.env.get_template("assess_report.html").render(
            knowledge_version=ctx.web.kb.version,
            policy_id=ctx.web.service.policy.id,
            **result_values(ctx, event, data),
        )
        pdf = _pdf(html, str(request.base_url))
        return finish(
            ctx,
            Response(
                pdf,
                media_type="application/pdf",
                headers={
                    "Content-Disposition": f'attachment; filename="leptoguide-assessment-{event.seq}.pdf"'
                },
            ),
        )

    @r.get("/assess/{event_id}/schedule.ics", include_in_schema=False)
    def assess_ics(event_id: str, request: Request) -> Response:
        ctx = context(request)
        require(ctx, "clinician")
        event, data = _load(ctx, event_id)
        if schedules_blocked(ctx.web.kb, data):
            raise WebError(
                409,
                "A critical finding blocks this treatment, so no calendar is offered. "
                "Resolve the finding and assess again.",
            )
        if not any(s.events for s in data.schedules):
            raise WebError(404, "This assessment has no dated schedule.")
        from leptoguide.render.ics import render_ics

        return finish(
            ctx,
            Response(
                render_ics(data),
                media_type="text/calendar; charset=utf-8",
                headers={
                    "Content-Disposition": f'attachment; filename="leptoguide-schedule-{event.seq}.ics"'
                },
            ),
        )

    return r
