"""Security headers for every response (a strict CSP on pages; Swagger UI keeps its own needs)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)
COMMON = {
    b"x-content-type-options": b"nosniff",
    b"referrer-policy": b"same-origin",
    b"x-frame-options": b"DENY",
    b"cross-origin-opener-policy": b"same-origin",
    b"permissions-policy": b"camera=(), microphone=(), geolocation=()",
}
# The interactive API docs load FastAPI's Swagger UI, which needs inline script; no CSP there.
CSP_EXEMPT = ("/docs",)


def csp_for(frame_ancestors: tuple[str, ...] = ()) -> str:
    """The page CSP; ``frame_ancestors`` (EHR origins, SMART) replaces ``frame-ancestors 'none'``."""
    if not frame_ancestors:
        return CSP
    return CSP.replace(
        "frame-ancestors 'none'", "frame-ancestors 'self' " + " ".join(frame_ancestors)
    )


class SecurityHeaders:
    """Pure ASGI middleware: adds the headers unless the handler already set them.

    With ``frame_ancestors`` configured the pages may be framed by those origins (an EHR showing
    the app after a SMART launch): CSP ``frame-ancestors`` lists them and ``X-Frame-Options``,
    which cannot name origins, is left out."""

    def __init__(self, app: ASGIApp, frame_ancestors: tuple[str, ...] = ()) -> None:
        self.app = app
        self.csp = csp_for(frame_ancestors).encode()
        self.common = dict(COMMON)
        if frame_ancestors:
            self.common.pop(b"x-frame-options")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        with_csp = not any(path == p or path.startswith(p + "/") for p in CSP_EXEMPT)

        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                extra = dict(self.common)
                if with_csp:
                    extra[b"content-security-policy"] = self.csp
                headers.extend((k, v) for k, v in extra.items() if k not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, wrapped)
