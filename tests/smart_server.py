"""A local SMART App Launch authorization server for tests (loopback, in a thread).

It serves ``/fhir/.well-known/smart-configuration``, an ``/authorize`` endpoint that approves at
once (checking client id, redirect URI, ``aud``, the launch id and the PKCE method) and a ``/token``
endpoint that checks the code, the redirect URI and the PKCE verifier against the challenge
(RFC 7636 S256) and answers with the launch context (patient, appContext) and an ID token.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from typing import Any
from urllib.parse import urlencode

import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from loopback_server import LoopbackServer

CLIENT_ID = "leptoguide-test"


class SmartServer(LoopbackServer):
    def __init__(self, *, patient: str, app_context: str | None = None, s256: bool = True) -> None:
        self.patient = patient
        self.app_context = app_context
        self.s256 = s256
        self.launches: set[str] = {"launch-123"}
        self.codes: dict[str, dict[str, Any]] = {}
        self.seen: list[dict[str, str]] = []

    @property
    def iss(self) -> str:
        return f"http://127.0.0.1:{self.port}/fhir"

    def app(self) -> Starlette:
        async def config(_request: Request) -> JSONResponse:
            base = f"http://127.0.0.1:{self.port}"
            return JSONResponse({
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "code_challenge_methods_supported": ["S256"] if self.s256 else ["plain"],
                "capabilities": ["launch-ehr", "launch-standalone", "context-ehr-patient"],
            })  # fmt: skip

        async def authorize(request: Request) -> Response:
            q = dict(request.query_params)
            self.seen.append(q)
            ok = (
                q.get("response_type") == "code"
                and q.get("client_id") == CLIENT_ID
                and q.get("aud") == self.iss
                and q.get("code_challenge_method") == "S256"
                and q.get("code_challenge")
                and q.get("state")
                and (q.get("launch") in self.launches or "launch/patient" in q.get("scope", ""))
            )
            if not ok:
                return JSONResponse({"error": "invalid_request"}, status_code=400)
            code = secrets.token_urlsafe(16)
            self.codes[code] = {"challenge": q["code_challenge"], "redirect_uri": q["redirect_uri"]}
            return RedirectResponse(
                f"{q['redirect_uri']}?{urlencode({'code': code, 'state': q['state']})}",
                status_code=302,
            )

        async def token(request: Request) -> JSONResponse:
            form = dict(await request.form())
            grant = self.codes.pop(str(form.get("code")), None)
            verifier = str(form.get("code_verifier") or "")
            challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            if (
                grant is None
                or form.get("grant_type") != "authorization_code"
                or form.get("client_id") != CLIENT_ID
                or form.get("redirect_uri") != grant["redirect_uri"]
                or challenge.rstrip(b"=").decode() != grant["challenge"]
            ):
                return JSONResponse({"error": "invalid_grant"}, status_code=400)
            now = int(time.time())
            id_token = jwt.encode(
                {"iss": self.iss, "sub": "dr-1", "aud": CLIENT_ID, "exp": now + 300, "iat": now,
                 "fhirUser": f"{self.iss}/Practitioner/dr-1"},
                "test-signing-key-not-checked-by-the-client-000", algorithm="HS256",
            )  # fmt: skip
            body: dict[str, Any] = {
                "access_token": secrets.token_urlsafe(16), "token_type": "Bearer",
                "expires_in": 300, "scope": "launch openid fhirUser patient/*.rs",
                "patient": self.patient, "id_token": id_token,
            }  # fmt: skip
            if self.app_context:
                body["appContext"] = self.app_context
            return JSONResponse(body, headers={"Cache-Control": "no-store"})

        return Starlette(routes=[
            Route("/fhir/.well-known/smart-configuration", config),
            Route("/authorize", authorize),
            Route("/token", token, methods=["POST"]),
        ])  # fmt: skip
