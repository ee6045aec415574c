"""Home page."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from leptoguide.web.common import chosen_audience, context, render


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/", include_in_schema=False)
    def home(request: Request) -> Response:
        """The question box has no preset audience: the visitor picks, and the choice is kept."""
        return render(context(request), "home.html", audience=chosen_audience(request))

    return r
