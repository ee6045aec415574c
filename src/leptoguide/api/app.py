"""``create_app(settings)``: the FastAPI application (REST, CDS Hooks, OpenAPI, optional web UI)."""

from __future__ import annotations

import importlib
import logging
from typing import Any

from fastapi import FastAPI
from starlette.middleware.cors import CORSMiddleware

from leptoguide import __version__
from leptoguide.api import cds_hooks, rest
from leptoguide.api.errors import install_error_handlers
from leptoguide.api.jwt_auth import UNAUTHENTICATED_WARNING, WARNING_HEADER
from leptoguide.api.limits import BodySizeLimit
from leptoguide.api.responses import SafeJSONResponse
from leptoguide.api.rest import AUDIT_HEADER
from leptoguide.api.rest_auth import document_security, log_api_security
from leptoguide.api.state import ServiceState
from leptoguide.api.system_actions import check_system_actions
from leptoguide.errors import InputError
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.settings import Settings

log = logging.getLogger("leptoguide.api")

DESCRIPTION = (
    "Offline, cited decision support and evidence for leptomeningeal disease. Not a medical "
    "device. Errors are FHIR OperationOutcome resources."
)


def check_security(settings: Settings, issuer_count: int) -> None:
    """Refuse unauthenticated CDS Hooks on a non-loopback bind unless explicitly allowed, and JWT
    verification without a configured public URL (the audience is never taken from a request)."""
    if issuer_count and not settings.public_url:
        raise InputError(
            "leptoguide serve",
            "trusted CDS clients are configured but no public URL: set LEPTOGUIDE_PUBLIC_URL "
            "(or --public-url) to the external base URL EHRs call; JWT audiences are checked "
            "against it, never against the request's Host header",
            "public_url",
        )
    if issuer_count or settings.loopback or settings.allow_unauthenticated:
        if not issuer_count:
            log.warning(
                "SECURITY WARNING: no trusted CDS clients configured; CDS Hooks calls are "
                "accepted WITHOUT a JWT (%s)",
                "loopback bind" if settings.loopback else "--allow-unauthenticated",
            )
        return
    raise InputError(
        "leptoguide serve",
        f"refusing to serve CDS Hooks on {settings.host} without trusted issuers: configure "
        "LEPTOGUIDE_TRUSTED_ISSUERS (or pass --allow-unauthenticated)",
        "trusted_issuers",
    )


def create_app(settings: Settings | None = None, *, kb: KnowledgeBase | None = None) -> FastAPI:
    """Build the app: migrate the database, load knowledge and policy, mount every router."""
    settings = settings or Settings.from_env()
    check_system_actions(settings.cds_system_actions)
    state = ServiceState.build(settings, kb=kb)
    check_security(settings, len(state.verifier.issuers))
    app = FastAPI(
        title="LeptoGuide",
        version=__version__,
        description=DESCRIPTION,
        openapi_url="/openapi.json",
        docs_url=None,  # /docs is served offline by the web app (packaged Swagger UI)
        redoc_url=None,
        default_response_class=SafeJSONResponse,
    )
    app.state.leptoguide = state
    install_error_handlers(app)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=list(settings.cors_origins),
            allow_methods=["GET", "POST", "OPTIONS"],
            allow_credentials=False,
            allow_headers=["Authorization", "Content-Type", "Accept"],
            expose_headers=[WARNING_HEADER, AUDIT_HEADER, "WWW-Authenticate"],
            max_age=600,
        )
    app.include_router(rest.router())
    app.include_router(cds_hooks.router())
    _mount_web(app, settings)
    document_security(app, settings)
    # outermost: the size cap runs before routing, authentication and any body parsing
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    if not state.verifier.required:
        log.warning("CDS Hooks responses carry %s: %s", WARNING_HEADER, UNAUTHENTICATED_WARNING)
    log_api_security(settings)
    return app


def _mount_web(app: FastAPI, settings: Settings) -> None:
    try:
        web: Any = importlib.import_module("leptoguide.web.app")
    except ModuleNotFoundError as exc:
        if exc.name in ("leptoguide.web", "leptoguide.web.app"):
            return
        raise
    web.mount(app, settings)


GC_YOUNG_THRESHOLD = 10_000
"""Allocations before a young-generation garbage collection (CPython's default is 700). A hook
call allocates thousands of containers (the parsed request, the Case, the assessment) that die
by reference counting; at the default, concurrent calls trigger several collections each, every
one walking the other calls' live objects: about 1 ms of CPU per order-sign call at concurrency 8,
0.3 ms at this threshold (benchmarks/service_load.py). Memory is freed as before; only cyclic
garbage waits a little longer."""


def freeze_startup_objects() -> None:
    """Move everything built at start-up (knowledge, policy, indexes) out of the garbage
    collector's view (full collections then skip those objects, which shortened tail latency of
    the CDS endpoints in measurements) and collect the young generation less often (see
    :data:`GC_YOUNG_THRESHOLD`). Call once per server process, after ``create_app``."""
    import gc

    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, older, oldest)


def app_from_env() -> FastAPI:
    """Factory for ``uvicorn --factory`` (used by ``leptoguide serve --workers N``)."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    app = create_app(Settings.from_env())
    freeze_startup_objects()
    return app
