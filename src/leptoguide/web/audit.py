"""Audit viewer for administrators: list and detail of the service's audit events."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import Response

from leptoguide.store.audit import event_dict
from leptoguide.web.common import WebError, context, render, require

PAGE_SIZE = 50


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/admin/audit", include_in_schema=False)
    def audit_list(request: Request) -> Response:
        ctx = context(request)
        require(ctx, "admin")
        log = ctx.web.service.audit
        service = (request.query_params.get("service") or "")[:80] or None
        try:
            page = max(1, int(request.query_params.get("page") or 1))
        except ValueError:
            page = 1
        total = log.count(service)
        events = log.list(limit=PAGE_SIZE, offset=(page - 1) * PAGE_SIZE, service=service)
        return render(
            ctx,
            "audit_list.html",
            events=events,
            total=total,
            service=service or "",
            page=page,
            pages=max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE),
        )

    @r.get("/admin/audit/{ref}", include_in_schema=False)
    def audit_detail(ref: str, request: Request) -> Response:
        ctx = context(request)
        require(ctx, "admin")
        event = ctx.web.service.audit.get(ref) if len(ref) <= 80 else None
        if event is None:
            raise WebError(404, "No audit event has this id.")
        data = event_dict(event)
        output = json.dumps(data.pop("output"), indent=2, ensure_ascii=False, sort_keys=True)
        return render(ctx, "audit_detail.html", event=data, output=output)

    return r
