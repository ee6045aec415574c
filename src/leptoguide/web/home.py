"""Home page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from leptoguide.web.common import context, render


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        return render(context(request), "home.html")

    return r
