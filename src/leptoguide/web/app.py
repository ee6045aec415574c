"""``mount(app, settings)``: add the web application to the service's FastAPI app.

The service (``leptoguide.api.app.create_app``) calls this when the module exists. Pages are
server-rendered (Jinja2, autoescaped) with small static scripts; there is no inline script anywhere,
so the Content-Security-Policy can forbid it.
"""

from __future__ import annotations

import gc
import os
import threading
from importlib import resources
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from leptoguide.settings import Settings
from leptoguide.web import ask, assess, audit, auth, home, kb, patient, review
from leptoguide.web import smart as smart
from leptoguide.web.common import (
    ENV_APPROVED_ONLY,
    ENV_TWO_PERSON,
    LoginRequired,
    ServiceLike,
    WebError,
    WebState,
    _flag,
    context,
    load_secret,
    render,
)
from leptoguide.web.docs import mount_docs
from leptoguide.web.security import SecurityHeaders


def _warm_readability() -> None:
    from leptoguide.knowledge.readability import reading_grade

    reading_grade("This warms the reading grade dictionary.")
    # The dictionary is a quarter of a million lists that live as long as the process: move them
    # out of the garbage collector's view (as the server does with its start-up objects), or every
    # full collection walks them (about 0.2 s each, measured as tail latency of the CDS hooks).
    gc.freeze()


def build_state(settings: Settings, service: ServiceLike) -> WebState:
    approved_only = bool(settings.extra.get("approved_only")) or _flag(
        os.environ.get(ENV_APPROVED_ONLY)
    )
    two_person = settings.extra.get("review_two_person")
    if two_person is None:
        two_person = os.environ.get(ENV_TWO_PERSON, "1")
    return WebState(
        settings=settings,
        service=service,
        secret=load_secret(settings.home),
        approved_only=approved_only,
        two_person=_flag(str(two_person)) if not isinstance(two_person, bool) else two_person,
    )


def mount(app: FastAPI, settings: Settings) -> None:
    """Add pages, static files, security headers and HTML error pages to ``app``."""
    service: ServiceLike = app.state.leptoguide
    app.state.leptoguide_web = build_state(settings, service)
    app.add_middleware(SecurityHeaders, frame_ancestors=settings.frame_ancestors)
    static = str(resources.files("leptoguide.web").joinpath("static"))
    mount_docs(app)  # before /static, so /static/swagger-ui is not shadowed
    app.mount("/static", StaticFiles(directory=static), name="static")
    for module in (home, ask, assess, patient, kb, review, auth, audit, smart):
        app.include_router(module.router())
    # Loading the pronouncing dictionary for reading grades takes seconds; do it off the request path.
    threading.Thread(target=_warm_readability, name="leptoguide-warm", daemon=True).start()

    @app.exception_handler(WebError)
    async def _web_error(request: Request, exc: WebError) -> Response:
        return render(
            context(request),
            "error.html",
            http_status=exc.status,
            title=exc.title,
            message=exc.message,
        )

    @app.exception_handler(LoginRequired)
    async def _login_required(_request: Request, exc: LoginRequired) -> Response:
        return RedirectResponse(f"/login?next={quote(exc.next_path)}", status_code=303)
