"""Sign-in and sign-out (server-side sessions, rate-limited by client address and username)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from leptoguide.store import accounts
from leptoguide.web.common import (
    SESSION_COOKIE,
    check_csrf,
    context,
    finish,
    form_text,
    read_form,
    render,
    set_cookie,
)


def _safe_next(value: str) -> str:
    """Only local paths (no scheme, no host, no backslashes) are followed after sign-in."""
    if value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value[:500]
    return "/"


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/login", include_in_schema=False)
    def login_page(request: Request) -> Response:
        ctx = context(request)
        return render(
            ctx,
            "login.html",
            error=None,
            username="",
            next_path=_safe_next(request.query_params.get("next", "/")),
        )

    @r.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        ctx = await run_in_threadpool(context, request)
        form = await read_form(request)
        check_csrf(ctx, form)
        web = ctx.web
        username = form_text(form, "username", 80)
        password = form.get("password")
        password = password if isinstance(password, str) else ""
        next_path = _safe_next(form_text(form, "next", 500))
        client = request.client.host if request.client else "unknown"
        if await run_in_threadpool(accounts.login_blocked, web.db, client, username):
            return render(
                ctx,
                "login.html",
                http_status=429,
                error="Too many failed attempts. Wait 15 minutes and try again.",
                username=username,
                next_path=next_path,
            )
        user = await run_in_threadpool(accounts.authenticate, web.db, client, username, password)
        if user is None:
            return render(
                ctx,
                "login.html",
                http_status=401,
                error="Username or password is wrong.",
                username=username,
                next_path=next_path,
            )
        if ctx.session_token:
            await run_in_threadpool(accounts.end_session, web.db, ctx.session_token)
        token, _csrf = await run_in_threadpool(accounts.create_session, web.db, user)
        response = RedirectResponse(next_path, status_code=303)
        set_cookie(response, request, web, SESSION_COOKIE, token)
        return finish(ctx, response)

    @r.post("/logout", include_in_schema=False)
    async def logout(request: Request) -> Response:
        ctx = await run_in_threadpool(context, request)
        form = await read_form(request)
        check_csrf(ctx, form)
        if ctx.session_token:
            await run_in_threadpool(accounts.end_session, ctx.web.db, ctx.session_token)
        response = RedirectResponse("/", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return finish(ctx, response)

    return r
