"""SMART App Launch (v2): EHR launch and standalone launch, authorization code with PKCE.

A CDS card's link (type ``smart``, ``appContext`` = the assessment's audit id) makes the EHR open
``/smart/launch?iss=...&launch=...``. LeptoGuide then

1. accepts ``iss`` only if it is one of the configured FHIR servers (never a URL from the request
   alone: no request makes the server contact a host it was not told to trust);
2. reads ``{iss}/.well-known/smart-configuration`` (timeout, size cap) and requires ``S256`` PKCE;
3. redirects to the authorization endpoint with ``state``, ``aud=iss``, ``launch``, a PKCE
   challenge, and keeps the verifier and state in a short-lived HMAC-signed cookie;
4. on ``/smart/callback`` checks ``state``, exchanges the code (with the verifier) at the token
   endpoint, reads the user from the ID token (received directly from the token endpoint over
   TLS, which OpenID Connect Core 3.1.3.7 accepts in place of a signature check; ``iss``, ``aud`` and
   ``exp`` are still checked) and opens a LeptoGuide session for that EHR user;
5. sends the browser to the assessment named by ``appContext`` after checking it is about the
   patient in the launch context; with no ``appContext`` (standalone launch) to the start page.

The session cookie of a SMART session is ``SameSite=None; Secure`` on HTTPS so it also works inside
the EHR's frame; which origins may frame the pages is ``LEPTOGUIDE_FRAME_ANCESTORS``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import jwt
import orjson
from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from leptoguide.errors import InputError
from leptoguide.settings import LOOPBACK_HOSTS
from leptoguide.store import accounts
from leptoguide.web.common import SESSION_COOKIE, WebError, WebState, web_state

PENDING_COOKIE = "lg_smart"
PENDING_SECONDS = 600
MAX_CONFIG_BYTES = 200_000
TIMEOUT = 5.0


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge) as RFC 7636 defines them."""
    verifier = _b64(secrets.token_bytes(48))
    return verifier, _b64(hashlib.sha256(verifier.encode()).digest())


def _sign(web: WebState, payload: dict[str, Any]) -> str:
    body = _b64(orjson.dumps(payload))
    mac = hmac.new(web.secret, f"smart:{body}".encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def _unsign(web: WebState, value: str) -> dict[str, Any] | None:
    body, _, mac = value.rpartition(".")
    good = hmac.new(web.secret, f"smart:{body}".encode(), hashlib.sha256).hexdigest()
    if not body or not hmac.compare_digest(mac, good):
        return None
    try:
        data = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        return None
    if not isinstance(data, dict) or float(data.get("exp", 0)) < time.time():
        return None
    return data


def _https_or_loopback(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (
        parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS
    )


def allowed_iss(web: WebState, iss: str | None) -> str:
    """The configured FHIR server ``iss`` names; 400 for anything else."""
    allowed = {i.rstrip("/") for i in web.settings.smart_issuers}
    if not web.settings.smart_client_id or not allowed:
        raise WebError(404, "SMART App Launch is not configured on this server.")
    if iss is None and len(allowed) == 1:
        return next(iter(allowed))
    if not iss or iss.rstrip("/") not in allowed:
        raise WebError(400, "This EHR (iss) is not one LeptoGuide is configured to trust.")
    return iss.rstrip("/")


def smart_configuration(iss: str) -> dict[str, str]:
    """The authorization and token endpoints of ``iss``; PKCE S256 required."""
    url = f"{iss}/.well-known/smart-configuration"
    try:
        with httpx.stream("GET", url, timeout=TIMEOUT, headers={"Accept": "application/json"}) as r:
            if r.status_code != 200:
                raise WebError(502, f"The EHR's SMART configuration answered {r.status_code}.")
            raw = b""
            for chunk in r.iter_bytes():
                raw += chunk
                if len(raw) > MAX_CONFIG_BYTES:
                    raise WebError(502, "The EHR's SMART configuration is too large.")
        conf = orjson.loads(raw)
    except (httpx.HTTPError, orjson.JSONDecodeError) as exc:
        raise WebError(502, "The EHR's SMART configuration could not be read.") from exc
    if not isinstance(conf, dict):
        raise WebError(502, "The EHR's SMART configuration is not a JSON object.")
    auth, token = conf.get("authorization_endpoint"), conf.get("token_endpoint")
    if not (isinstance(auth, str) and isinstance(token, str)):
        raise WebError(502, "The EHR's SMART configuration lacks its endpoints.")
    if not (_https_or_loopback(auth) and _https_or_loopback(token)):
        raise WebError(502, "The EHR's SMART endpoints must use https.")
    if "S256" not in (conf.get("code_challenge_methods_supported") or []):
        raise WebError(502, "The EHR does not offer PKCE with S256; LeptoGuide requires it.")
    return {"authorization_endpoint": auth, "token_endpoint": token}


def _redirect_uri(web: WebState, request: Request) -> str:
    base = (web.settings.public_url or str(request.base_url)).rstrip("/")
    return f"{base}/smart/callback"


def _cookie(response: Response, request: Request, web: WebState, name: str, value: str,
            max_age: int | None = None) -> None:  # fmt: skip
    """HttpOnly; ``SameSite=None; Secure`` on HTTPS (the EHR frames the app), else Lax."""
    https = request.url.scheme == "https" or (web.settings.public_url or "").startswith("https:")
    response.set_cookie(name, value, httponly=True, path="/", max_age=max_age,
                        secure=https or not web.settings.loopback,
                        samesite="none" if https else "lax")  # fmt: skip


def _start(request: Request, iss: str, launch: str | None) -> Response:
    web = web_state(request)
    conf = smart_configuration(iss)
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    scope = (
        "launch openid fhirUser patient/*.rs"
        if launch
        else "launch/patient openid fhirUser patient/*.rs"
    )
    params = {
        "response_type": "code",
        "client_id": web.settings.smart_client_id or "",
        "redirect_uri": _redirect_uri(web, request),
        "scope": scope,
        "state": state,
        "aud": iss,
        "code_challenge": challenge,
        "code_challenge_method": "S256",
    }
    if launch:
        params["launch"] = launch
    pending = {
        "state": state,
        "verifier": verifier,
        "iss": iss,
        "token_endpoint": conf["token_endpoint"],
        "exp": time.time() + PENDING_SECONDS,
    }
    response = RedirectResponse(
        f"{conf['authorization_endpoint']}?{urlencode(params)}", status_code=302
    )
    _cookie(response, request, web, PENDING_COOKIE, _sign(web, pending), PENDING_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def _exchange(
    web: WebState, pending: dict[str, Any], code: str, redirect_uri: str
) -> dict[str, Any]:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "client_id": web.settings.smart_client_id or "",
        "code_verifier": pending["verifier"],
    }
    try:
        r = httpx.post(pending["token_endpoint"], data=data, timeout=TIMEOUT,
                       headers={"Accept": "application/json"})  # fmt: skip
        body = r.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise WebError(502, "The EHR's token endpoint could not be reached.") from exc
    if r.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
        raise WebError(403, "The EHR did not grant access (token request refused).")
    return body


def _user_of(web: WebState, pending: dict[str, Any], token: dict[str, Any]) -> str:
    """A stable account name for the EHR user (ID token ``sub``, else the launch's patient)."""
    id_token = token.get("id_token")
    subject = None
    if isinstance(id_token, str):
        try:
            claims = jwt.decode(id_token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise WebError(403, "The EHR's ID token is malformed.") from exc
        aud = claims.get("aud")
        auds = aud if isinstance(aud, list) else [aud]
        if web.settings.smart_client_id not in auds:
            raise WebError(403, "The EHR's ID token is for another client.")
        if float(claims.get("exp") or 0) < time.time() - 60:
            raise WebError(403, "The EHR's ID token has expired.")
        subject = claims.get("fhirUser") or claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise WebError(403, "The EHR did not say who the user is (no ID token with fhirUser).")
    digest = hashlib.sha256(f"{pending['iss']}\x00{subject}".encode()).hexdigest()[:24]
    return f"ehr-{digest}"


def _session_for(web: WebState, username: str) -> str:
    user = accounts.get_user(web.db, username)
    if user is None:
        try:
            user = accounts.add_user(
                web.db, username, secrets.token_urlsafe(32), web.settings.smart_role
            )
        except (InputError, SQLAlchemyError):  # a concurrent launch created it first
            user = accounts.get_user(web.db, username)
    if user is None:
        raise WebError(403, "No LeptoGuide account could be opened for this EHR user.")
    token, _csrf = accounts.create_session(web.db, user)
    return token


def _target(web: WebState, token: dict[str, Any]) -> str:
    """Where to go: the assessment named by appContext, if it is about the launch's patient."""
    app_context = token.get("appContext")
    if not app_context:
        return "/"
    event_id = str(app_context).strip()
    event = web.service.audit.get(event_id) if len(event_id) <= 64 else None
    if event is None:
        raise WebError(404, "The assessment this card links to does not exist.")
    patient = token.get("patient")
    if (
        not isinstance(patient, str)
        or web.service.audit.patient_hash(patient) != event.patient_hash
    ):
        raise WebError(403, "The linked assessment is about another patient than the EHR's.")
    return f"/assess/{event_id}"


def router() -> APIRouter:
    r = APIRouter()

    @r.get("/smart/launch", include_in_schema=False)
    async def launch(request: Request) -> Response:
        """EHR launch: ``iss`` and ``launch`` from the EHR."""
        web = web_state(request)
        launch_id = request.query_params.get("launch")
        if not launch_id or len(launch_id) > 2000:
            raise WebError(400, "An EHR launch needs a 'launch' parameter.")
        iss = allowed_iss(web, request.query_params.get("iss"))
        return await run_in_threadpool(_start, request, iss, launch_id)

    @r.get("/smart/login", include_in_schema=False)
    async def standalone(request: Request) -> Response:
        """Standalone launch: the user starts at LeptoGuide and picks a patient at the EHR."""
        web = web_state(request)
        iss = allowed_iss(web, request.query_params.get("iss"))
        return await run_in_threadpool(_start, request, iss, None)

    @r.get("/smart/callback", include_in_schema=False)
    async def callback(request: Request) -> Response:
        web = web_state(request)
        if request.query_params.get("error"):
            raise WebError(403, "The EHR refused the launch.")
        pending = _unsign(web, request.cookies.get(PENDING_COOKIE, ""))
        state = request.query_params.get("state", "")
        if pending is None or not hmac.compare_digest(str(pending.get("state")), state):
            raise WebError(400, "This sign-in link is stale or was not started here; launch again.")
        code = request.query_params.get("code")
        if not code:
            raise WebError(400, "The EHR sent no authorization code.")
        token = await run_in_threadpool(_exchange, web, pending, code, _redirect_uri(web, request))
        username = _user_of(web, pending, token)
        target = await run_in_threadpool(_target, web, token)
        session = await run_in_threadpool(_session_for, web, username)
        response = RedirectResponse(target, status_code=303)
        _cookie(response, request, web, SESSION_COOKIE, session)
        response.delete_cookie(PENDING_COOKIE, path="/")
        response.headers["Cache-Control"] = "no-store"
        return response

    return r
