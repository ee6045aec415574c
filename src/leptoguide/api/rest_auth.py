"""Authentication of the REST endpoints that take or return patient data (``/api/assess``, ``/api/ask``).

A caller proves who they are with ``Authorization: Bearer <API token>`` (``leptoguide users token
create``) or with the web application's session cookie. Either acts as the account, with its current
role; these endpoints need ``clinician`` or above. The bind decides what happens without credentials,
as for CDS Hooks: on a loopback bind (or with ``--allow-unauthenticated``) the call is accepted and
the response carries the ``X-LeptoGuide-Warning`` header; on any other bind it is refused with 401.
Credentials that are sent are always checked: a bad token is 401 and a too-low role 403 on every bind.
The knowledge endpoints, ``/healthz`` and ``/readyz`` hold no patient data and stay public.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from leptoguide.api.errors import ApiError
from leptoguide.api.jwt_auth import WARNING_HEADER
from leptoguide.api.state import ServiceState, State
from leptoguide.settings import Settings
from leptoguide.store.accounts import SESSION_COOKIE, User, resolve_session
from leptoguide.store.api_tokens import resolve_token

log = logging.getLogger("leptoguide.api")

REQUIRED_ROLE = "clinician"
API_UNAUTHENTICATED_WARNING = (
    "unauthenticated: REST API calls without an API token or session are accepted"
)
WWW_AUTHENTICATE = 'Bearer realm="leptoguide"'

# Declared in the OpenAPI document (security schemes); the values are read in ``authenticate``.
bearer_scheme = HTTPBearer(
    auto_error=False,
    scheme_name="bearerAuth",
    description="An API token from `leptoguide users token create USERNAME`.",
)
session_scheme = APIKeyCookie(
    name=SESSION_COOKIE,
    auto_error=False,
    scheme_name="sessionCookie",
    description="The web application's session cookie (after signing in at /login).",
)


def auth_required(settings: Settings) -> bool:
    """Whether calls without credentials are refused: any non-loopback bind, unless allowed."""
    return not (settings.loopback or settings.allow_unauthenticated)


def log_api_security(settings: Settings) -> None:
    """The start-up warning when patient-data endpoints accept unauthenticated calls."""
    if not auth_required(settings):
        log.warning(
            "SECURITY WARNING: /api/assess and /api/ask accept calls WITHOUT an API token (%s); "
            "responses carry %s",
            "loopback bind" if settings.loopback else "--allow-unauthenticated",
            WARNING_HEADER,
        )


@dataclass(frozen=True)
class ApiPrincipal:
    """Who made a REST call: an account (by token or session), or nobody (``method == "none"``)."""

    user: User | None
    method: str  # bearer | session | none
    warning: str | None = None

    @property
    def username(self) -> str | None:
        return self.user.username if self.user else None

    def headers(self) -> dict[str, str]:
        return {WARNING_HEADER: self.warning} if self.warning else {}

    def audit(self) -> dict[str, Any]:
        """The audit event's ``actor`` (plain username) and ``auth_method``."""
        return {"actor": self.username, "auth_method": self.method}


def _unauthorized(message: str, *, invalid: bool) -> ApiError:
    challenge = WWW_AUTHENTICATE + (', error="invalid_token"' if invalid else "")
    return ApiError(
        401,
        message,
        expression=["Authorization"],
        code="security" if invalid else "login",
        headers={"WWW-Authenticate": challenge},
    )


def _same_origin(request: Request, settings: Settings) -> bool:
    """A browser's ``Origin`` (when sent) must be this server's (or an allowed CORS origin)."""
    origin = request.headers.get("origin")
    if origin is None:
        return True  # not a cross-origin browser request
    allowed = {o.rstrip("/") for o in settings.cors_origins}
    if settings.public_url:
        parts = urlsplit(settings.public_url)
        allowed.add(f"{parts.scheme}://{parts.netloc}")
    if origin.rstrip("/") in allowed:
        return True
    return urlsplit(origin).netloc.lower() == request.headers.get("host", "").lower()


def resolve_principal(request: Request, state: ServiceState, role: str) -> ApiPrincipal:
    """Check the credentials sent (token first, then session cookie) against the bind policy."""
    authorization = request.headers.get("authorization")
    principal: ApiPrincipal | None = None
    if authorization is not None:
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise _unauthorized("expected 'Authorization: Bearer <API token>'", invalid=True)
        found = resolve_token(state.db, token.strip())
        if found is None:
            raise _unauthorized("API token not valid (unknown, revoked or expired)", invalid=True)
        principal = ApiPrincipal(found.user, "bearer")
    else:
        cookie = request.cookies.get(SESSION_COOKIE, "")
        info = resolve_session(state.db, cookie) if cookie else None
        if info is not None:
            if not _same_origin(request, state.settings):
                raise ApiError(
                    403, "cross-origin request with a session cookie refused", code="forbidden"
                )
            principal = ApiPrincipal(info.user, "session")
    if principal is None or principal.user is None:
        if auth_required(state.settings):
            raise _unauthorized(
                "authentication required: send 'Authorization: Bearer <API token>' "
                "(leptoguide users token create) or sign in",
                invalid=False,
            )
        return ApiPrincipal(None, "none", warning=API_UNAUTHENTICATED_WARNING)
    if not principal.user.has(role):
        raise ApiError(
            403,
            f"user {principal.username!r} has role {principal.user.role!r}; this needs {role} "
            "or above",
            code="forbidden",
        )
    return principal


async def require_clinician(
    request: Request,
    state: State,
    _bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
    _session: Annotated[str | None, Depends(session_scheme)],
) -> ApiPrincipal:
    """FastAPI dependency for the patient-data endpoints (the two schemes document the OpenAPI)."""
    return await run_in_threadpool(resolve_principal, request, state, REQUIRED_ROLE)


Clinician = Annotated[ApiPrincipal, Depends(require_clinician)]
"""A handler parameter typed ``Clinician`` receives the caller, checked as clinician or above."""


def document_security(app: FastAPI, settings: Settings) -> None:
    """When calls without credentials are accepted, the OpenAPI document says so (``{}``)."""
    if auth_required(settings):
        return
    build = app.openapi

    def openapi() -> dict[str, Any]:
        schema = build()  # FastAPI caches it; marking twice changes nothing
        for item in schema.get("paths", {}).values():
            for operation in item.values():
                security = operation.get("security") if isinstance(operation, dict) else None
                if security and {} not in security:
                    security.append({})
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
