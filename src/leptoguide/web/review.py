"""Review workflow (statement status changes with comments) and feedback on answers/assessments."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from leptoguide.errors import InputError
from leptoguide.store import feedback_web, reviews
from leptoguide.store.models import AuditEvent
from leptoguide.web.assess import assessment_of
from leptoguide.web.common import (
    WebError,
    check_csrf,
    context,
    finish,
    form_text,
    read_form,
    render,
    require,
)
from leptoguide.web.kb import statement_values


def _statements_of(event: AuditEvent) -> list[str]:
    """Statement ids an audited assessment (read back into the typed model) or answer cited."""
    assessment = assessment_of(event)
    if assessment is not None:
        return sorted({c.statement for f in assessment.findings for c in f.citations})
    try:
        data = json.loads(event.output)
    except ValueError:
        return []
    if not isinstance(data, dict):
        return []
    ids: set[str] = set()
    for c in data.get("citations") or []:  # an answer (``ask``): its own citations
        if isinstance(c, dict) and c.get("statement"):
            ids.add(str(c["statement"]))
    return sorted(ids)


def router() -> APIRouter:
    r = APIRouter()

    @r.post("/kb/statements/{statement_id}/review", include_in_schema=False)
    async def review_statement(statement_id: str, request: Request) -> Response:
        ctx = await run_in_threadpool(context, request)
        user = require(ctx, "reviewer")
        form = await read_form(request)
        check_csrf(ctx, form)
        web = ctx.web
        st = web.kb.statements.get(statement_id)
        if st is None:
            raise WebError(404, "No statement has this id.")
        current = form_text(form, "current", 20)
        to_status = form_text(form, "to_status", 20)
        comment = form_text(form, "comment", 4000)
        raw_version = form_text(form, "version", 12)
        clinical_role = form_text(form, "clinical_role", 120)
        expected = int(raw_version) if raw_version.isdigit() else None
        effective = (await run_in_threadpool(web.statuses)).get(st.id, st.status)
        try:
            if current != effective:
                raise InputError(
                    f"statement {st.id}",
                    f"the status changed to {effective} meanwhile; reload the page",
                    "to_status",
                )
            await run_in_threadpool(
                lambda: reviews.record_review(
                    web.db,
                    statement_id=st.id,
                    current=effective,
                    to_status=to_status,
                    reviewer=user.username,
                    comment=comment,
                    knowledge_version=web.kb.version,
                    expected_version=expected,
                    two_person=web.two_person,
                    clinical_role=clinical_role,
                )
            )
        except InputError as exc:
            values = await run_in_threadpool(statement_values, ctx, st)
            return render(
                ctx, "kb_statement.html", http_status=422, message=None, error=str(exc), **values
            )
        return finish(
            ctx, RedirectResponse(f"/kb/statements/{st.id}?reviewed=1#history", status_code=303)
        )

    @r.get("/review", include_in_schema=False)
    def review_queue(request: Request) -> Response:
        """Draft and in-review statements, filtered by topic, status, source and citing rule."""
        ctx = context(request)
        require(ctx, "reviewer")
        web = ctx.web
        kb = web.kb
        qp = request.query_params
        want = {k: (qp.get(k) or "")[:80] for k in ("topic", "status", "source", "rule")}
        statuses = web.statuses()
        unhelpful = feedback_web.unhelpful_counts(web.db)
        citing: dict[str, list[str]] = {}
        for rule in kb.rules.values():
            for sid in rule.cites:
                citing.setdefault(sid, []).append(rule.id)
        queue: dict[str, list[tuple[object, int, list[str]]]] = {
            "in_review": [],
            "verified": [],
            "draft": [],
        }
        topics: set[str] = set()
        sources: set[str] = set()
        for st in sorted(kb.statements.values(), key=lambda s: s.id):
            status = statuses.get(st.id, st.status)
            if status not in queue:
                continue
            topics.update(st.topics)
            sources.update(c.source for c in st.sources)
            rules = sorted(citing.get(st.id, []))
            if want["status"] and status != want["status"]:
                continue
            if want["topic"] and want["topic"] not in st.topics:
                continue
            if want["source"] and want["source"] not in {c.source for c in st.sources}:
                continue
            if want["rule"] and want["rule"] not in rules:
                continue
            queue[status].append((st, unhelpful.get(st.id, 0), rules))
        flagged = sorted(
            ((kb.statements[s], n) for s, n in unhelpful.items() if s in kb.statements),
            key=lambda pair: -pair[1],
        )
        return render(
            ctx,
            "review.html",
            queue=queue,
            want=want,
            topics=sorted(topics),
            sources=sorted(sources),
            source_names={s: kb.sources[s].title if s in kb.sources else s for s in sources},
            rules=sorted(kb.rules.values(), key=lambda r: r.title),
            two_person=web.two_person,
            flagged=flagged,
            recent=feedback_web.recent_feedback(web.db, 30),
        )

    @r.post("/feedback", include_in_schema=False)
    async def feedback(request: Request) -> Response:
        ctx = await run_in_threadpool(context, request)
        form = await read_form(request)
        check_csrf(ctx, form)
        web = ctx.web
        kind = form_text(form, "target_kind", 20)
        target = form_text(form, "target_id", 80)
        helpful = form_text(form, "helpful", 5)
        if kind not in feedback_web.KINDS or helpful not in ("yes", "no"):
            raise WebError(422, "Choose helpful or not helpful.")
        event = await run_in_threadpool(web.service.audit.get, target)
        if event is None:
            raise WebError(404, "The answer or assessment was not found.")
        try:
            await run_in_threadpool(
                lambda: feedback_web.add_feedback(
                    web.db,
                    target_kind=kind,
                    target_id=event.id,
                    helpful=helpful == "yes",
                    reason=form_text(form, "reason", 2000),
                    username=ctx.user.username if ctx.user else None,
                    statements=_statements_of(event),
                    knowledge_version=web.kb.version,
                )
            )
        except InputError as exc:
            raise WebError(422, str(exc)) from exc
        return render(ctx, "thanks.html")

    return r
