"""Ask: a question box with an audience toggle; cited answers, follow-ups, plain abstentions."""

from __future__ import annotations

import re
import secrets
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from leptoguide.errors import InputError
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.web.citations import answer_refs, short_source
from leptoguide.web.common import (
    AUDIENCE_COOKIE,
    WebState,
    check_csrf,
    chosen_audience,
    context,
    form_text,
    read_form,
    render,
    set_cookie,
)
from leptoguide.web.markup import render_markdown

CONVERSATION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
MAX_TURNS = 6


def _ask(
    web: WebState,
    question: str,
    audience: str,
    conversation_id: str | None,
    actor: str | None = None,
) -> tuple[dict[str, Any], str]:
    import importlib

    ask = importlib.import_module("leptoguide.answer").ask
    result = ask(question, audience=audience, conversation_id=conversation_id).to_dict()
    payload = {"question": question, "audience": audience, "conversation_id": conversation_id}
    audit_id = web.record(
        service="ask", patient_id=None, input_data=payload, output=result, actor=actor
    )
    return result, audit_id


_SOURCE_WARNING = re.compile(r"^source (\S+): (.+)$", re.I)


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def warnings_not_in_text(warnings: list[str], text: str) -> list[str]:
    """Warnings the answer text does not already state (its notes name the source and flags)."""
    body = _norm(text)
    out = []
    for w in warnings:
        m = _SOURCE_WARNING.match(w.strip())
        if m:
            parts = [m.group(1), *(p.strip() for p in m.group(2).split(";"))]
            if all(_norm(p) in body for p in parts if p):
                continue
        elif _norm(w).rstrip(".") in body:
            continue
        out.append(w)
    return out


def source_names(kb: KnowledgeBase) -> dict[str, str]:
    return {sid: short_source(src, sid) for sid, src in kb.sources.items()}


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/ask", include_in_schema=False)
    def ask_page(request: Request) -> Response:
        ctx = context(request)
        audience = "patient" if chosen_audience(request) == "patient" else "clinician"
        return render(
            ctx,
            "ask.html",
            answer=None,
            turns=[],
            turns_next=[],
            conversation_id=None,
            audience=audience,
        )

    @r.post("/ask", include_in_schema=False)
    async def ask_post(request: Request) -> Response:
        ctx = await run_in_threadpool(context, request)
        form = await read_form(request)
        check_csrf(ctx, form)
        question = form_text(form, "question", 2000)
        audience = "patient" if form_text(form, "audience") == "patient" else "clinician"
        conv = form_text(form, "conversation_id", 80) or None
        if not conv or not CONVERSATION_ID.match(conv):
            conv = "web-" + secrets.token_hex(8)  # a new conversation starts with this question
        turns = [t[:300] for t in form.getlist("turn") if isinstance(t, str)][-MAX_TURNS:]
        values: dict[str, Any] = {
            "answer": None,
            "turns": turns,
            "turns_next": turns,
            "conversation_id": conv,
            "audience": audience,
        }
        if not question:
            return render(ctx, "ask.html", http_status=422, **values)
        web = ctx.web
        try:
            result, audit_id = await run_in_threadpool(
                _ask, web, question, audience, conv, ctx.user.username if ctx.user else None
            )
        except InputError as exc:
            result = {
                "question": question,
                "audience": audience,
                "abstained": True,
                "reason": str(exc),
                "answer": "",
                "citations": [],
                "knowledge_version": web.kb.version,
            }
            audit_id = None
        statuses = await run_in_threadpool(web.statuses)
        refs = answer_refs(result, web.kb, statuses)
        numbers = {r.n for r in refs}
        text = str(result.get("answer") or "")
        values.update(
            answer=result,
            body_html=render_markdown(text, numbers, sources=source_names(web.kb)),
            extra_warnings=warnings_not_in_text(
                [str(w) for w in result.get("warnings") or []], text
            ),
            refs=refs,
            has_draft=any(r.draft for r in refs),
            audit_id=audit_id,
            conversation_id=result.get("conversation_id") or conv,
            turns_next=[*turns, question][-MAX_TURNS:],
        )
        response = render(ctx, "ask.html", **values)
        set_cookie(response, request, web, AUDIENCE_COOKIE, audience)  # the home page remembers
        return response

    return r
