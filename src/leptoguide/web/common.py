"""What every page handler shares: the web state, the request context, rendering, CSRF, roles.

Security model in brief: signed-in users have a server-side session (the cookie holds a random token,
the database its SHA-256) with its own CSRF token. Anonymous visitors get a random cookie and a CSRF
token derived from it with a server key (HMAC), so forms need no database row per visitor. Every POST
checks the form's ``csrf_token`` against the expected one in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass, field
from functools import cached_property
from importlib import resources
from pathlib import Path
from typing import Any, Protocol

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.datastructures import FormData

from leptoguide import __version__
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.status import is_approved, status_label
from leptoguide.policy import Policy
from leptoguide.settings import Settings
from leptoguide.store import reviews
from leptoguide.store.accounts import SESSION_COOKIE as SESSION_COOKIE
from leptoguide.store.accounts import SessionInfo, User, resolve_session
from leptoguide.store.audit import AuditLog
from leptoguide.store.db import Database
from leptoguide.web import fmt
from leptoguide.web.citations import group_refs, source_line

ANON_COOKIE = "lg_anon"
AUDIENCE_COOKIE = "lg_audience"
"""The question box's audience the visitor last picked (patient or clinician; no personal data)."""
SECRET_FILE = "web.key"
ENV_APPROVED_ONLY = "LEPTOGUIDE_APPROVED_ONLY"
ENV_TWO_PERSON = "LEPTOGUIDE_REVIEW_TWO_PERSON"
MAX_FORM_FIELDS = 200
MAX_UPLOAD = 5 * 1024 * 1024


class WebError(Exception):
    """An error shown to the user as an HTML page with a status code."""

    def __init__(self, status: int, message: str, title: str | None = None) -> None:
        self.status = status
        self.message = message
        self.title = title or {
            400: "Bad request",
            403: "Not allowed",
            404: "Not found",
            409: "Not available now",
            413: "Too large",
            422: "Cannot use this input",
            429: "Too many attempts",
        }.get(status, "Error")
        super().__init__(message)


def _flag(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def load_secret(home: Path) -> bytes:
    """The server key for anonymous CSRF tokens: created once (0600), shared by all processes."""
    path = home / SECRET_FILE
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        try:
            os.link(tmp, path)  # atomic: the first process wins
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return bytes.fromhex(path.read_text(encoding="utf-8").strip())


def templates_env() -> Environment:
    root = Path(str(resources.files("leptoguide.web").joinpath("templates")))
    env = Environment(
        loader=FileSystemLoader(root),
        autoescape=select_autoescape(["html", "xml"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["group_refs"] = group_refs
    env.globals["source_line"] = source_line
    env.globals["status_label"] = status_label
    env.filters["when"] = fmt.when
    env.filters["num"] = fmt.number
    env.filters["unit"] = fmt.unit
    return env


class ServiceLike(Protocol):
    """What the web application needs from the service state (``leptoguide.api.state``)."""

    settings: Settings
    kb: KnowledgeBase
    policy: Policy
    db: Database
    audit: AuditLog


@dataclass
class WebState:
    """Per-process state of the web application (nothing per user)."""

    settings: Settings
    service: ServiceLike
    secret: bytes
    approved_only: bool
    two_person: bool = True
    """Review two-person rule: the approver is not the reviewer who submitted for review."""
    env: Environment = field(default_factory=templates_env)

    @property
    def kb(self) -> KnowledgeBase:
        return self.service.kb

    @property
    def db(self) -> Database:
        return self.service.db

    @cached_property
    def yaml_status(self) -> dict[str, str]:
        return {sid: st.status for sid, st in self.kb.statements.items()}

    def statuses(self) -> dict[str, str]:
        """Effective status of every statement: the latest review in the database, else the YAML."""
        out = dict(self.yaml_status)
        out.update({k: v for k, v in reviews.latest_statuses(self.db).items() if k in out})
        return out

    def record(
        self,
        *,
        service: str,
        patient_id: str | None,
        input_data: Any,
        output: dict[str, Any],
        actor: str | None = None,
    ) -> str:
        """Append an audit event (committed before the page responds); returns its id.

        ``actor`` is the signed-in user's name (auth method ``session``), else ``None`` (``none``).
        """
        event = self.service.audit.record(
            service=service,
            patient_id=patient_id,
            input_data=input_data,
            knowledge_version=self.kb.version,
            policy_id=self.service.policy.id,
            policy_hash=self.service.policy.hash,
            output=output,
            actor=actor,
            auth_method="session" if actor else "none",
        )
        return event.id

    def visible(self, status: str) -> bool:
        """Whether content with this effective status is shown (``--approved-only`` hides others)."""
        return is_approved(status) or not self.approved_only


def web_state(request: Request) -> WebState:
    state: WebState = request.app.state.leptoguide_web
    return state


@dataclass
class Ctx:
    """The request context: who is signed in, the CSRF token, a new anonymous cookie to set."""

    request: Request
    web: WebState
    session: SessionInfo | None
    csrf: str
    session_token: str | None = None
    new_anon: str | None = None

    @property
    def user(self) -> User | None:
        return self.session.user if self.session else None

    def has(self, role: str) -> bool:
        return self.user is not None and self.user.has(role)


def _anon_csrf(secret: bytes, anon: str) -> str:
    return hmac.new(secret, f"csrf:{anon}".encode(), hashlib.sha256).hexdigest()


def context(request: Request) -> Ctx:
    """Resolve the session cookie (database) or the anonymous cookie (HMAC)."""
    web = web_state(request)
    token = request.cookies.get(SESSION_COOKIE, "")
    info = resolve_session(web.db, token) if token else None
    if info is not None:
        return Ctx(request, web, info, info.csrf_token, session_token=token)
    anon = request.cookies.get(ANON_COOKIE, "")
    new = None
    if not (16 <= len(anon) <= 100 and anon.replace("-", "").replace("_", "").isalnum()):
        anon = new = secrets.token_urlsafe(24)
    return Ctx(request, web, None, _anon_csrf(web.secret, anon), new_anon=new)


def secure_cookies(request: Request, web: WebState) -> bool:
    """Secure cookies unless this is plain HTTP on a loopback bind (local use)."""
    return request.url.scheme == "https" or not web.settings.loopback


def set_cookie(response: Response, request: Request, web: WebState, name: str, value: str) -> None:
    response.set_cookie(
        name,
        value,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request, web),
        path="/",
    )


def finish(ctx: Ctx, response: Response) -> Response:
    if ctx.new_anon:
        set_cookie(response, ctx.request, ctx.web, ANON_COOKIE, ctx.new_anon)
    response.headers.setdefault("Cache-Control", "no-store")
    return response


def render(ctx: Ctx, template: str, http_status: int = 200, **values: Any) -> Response:
    """Render a template with the common values (user, CSRF token, versions, flags)."""
    web = ctx.web
    html = web.env.get_template(template).render(
        request=ctx.request,
        path=ctx.request.url.path,
        user=ctx.user,
        csrf=ctx.csrf,
        has=ctx.has,
        approved_only=web.approved_only,
        app_version=__version__,
        knowledge_version=web.kb.version,
        policy_id=web.service.policy.id,
        **values,
    )
    return finish(ctx, HTMLResponse(html, status_code=http_status))


async def read_form(request: Request) -> FormData:
    try:
        return await request.form(max_files=2, max_fields=MAX_FORM_FIELDS, max_part_size=MAX_UPLOAD)
    except Exception as exc:  # multipart limits and malformed bodies
        raise WebError(400, f"the form could not be read ({exc})") from exc


def check_csrf(ctx: Ctx, form: FormData) -> None:
    sent = form.get("csrf_token")
    if not isinstance(sent, str) or not hmac.compare_digest(sent, ctx.csrf):
        raise WebError(
            403, "The form expired or did not come from this site. Reload the page and try again."
        )


def form_text(form: FormData, name: str, max_len: int = 2000) -> str:
    value = form.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise WebError(400, f"field {name!r} must be text")
    if len(value) > max_len:
        raise WebError(422, f"field {name!r} is longer than {max_len} characters")
    return value.strip()


def chosen_audience(request: Request) -> str | None:
    """The audience the visitor picked (``?audience=``, else the remembered choice), or None."""
    value = request.query_params.get("audience") or request.cookies.get(AUDIENCE_COOKIE) or ""
    return value if value in ("patient", "clinician") else None


def require(ctx: Ctx, role: str) -> User:
    """The signed-in user if they hold ``role`` or above; otherwise a 403 page (or sign-in)."""
    if ctx.user is None:
        raise LoginRequired(ctx.request.url.path)
    if not ctx.user.has(role):
        raise WebError(403, f"This page needs the {role} role.")
    return ctx.user


class LoginRequired(Exception):
    def __init__(self, next_path: str) -> None:
        self.next_path = next_path
        super().__init__(next_path)
