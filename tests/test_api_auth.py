"""Authentication of the REST API (tokens, sessions, bind policy), on SQLite and PostgreSQL.

A public bind is simulated with a non-loopback ``host`` in the settings; nothing is bound at all
(the app runs in-process).
"""

from __future__ import annotations

import datetime as dt
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import update

from cdsutil import EhrKey, write_issuers
from cli_inprocess import run_cli
from leptoguide.api.app import create_app
from leptoguide.api.state import ServiceState
from leptoguide.settings import Settings
from leptoguide.store import accounts, api_tokens
from leptoguide.store.db import Database, utcnow
from leptoguide.store.models import AuditEvent
from leptoguide.store.web_models import ApiToken
from service_cases import bundle, lp_low_platelets

PUBLIC_HOST = "192.0.2.10"  # TEST-NET-1: only a settings value, never bound
WARNING = "x-leptoguide-warning"
PUBLIC_PATHS = (
    "/api/statements",
    "/api/sources",
    "/api/rules",
    "/api/policy",
    "/api/version",
    "/healthz",
    "/readyz",
)


def _app(tmp_path: Path, db_url: str, **settings: Any) -> TestClient:
    if settings.get("host", "127.0.0.1") != "127.0.0.1" and not settings.get(
        "allow_unauthenticated"
    ):
        settings["trusted_issuers_file"] = write_issuers(tmp_path / "issuers", EhrKey())
        settings.setdefault("public_url", "http://testserver")
    return TestClient(create_app(Settings.from_env(database_url=db_url, **settings)))


def _state(client: TestClient) -> ServiceState:
    state: ServiceState = client.app.state.leptoguide  # type: ignore[attr-defined]
    return state


@pytest.fixture
def public(tmp_path: Path, migrated_db_url: str) -> Iterator[TestClient]:
    with _app(tmp_path, migrated_db_url, host=PUBLIC_HOST) as client:
        yield client
    _state(client).db.dispose()


@pytest.fixture
def loopback(tmp_path: Path, migrated_db_url: str) -> Iterator[TestClient]:
    with _app(tmp_path, migrated_db_url) as client:
        yield client
    _state(client).db.dispose()


def _user(db: Database, name: str, role: str) -> str:
    accounts.add_user(db, name, "a-long-password", role)
    token, _ = api_tokens.create_token(db, name, name="test")
    return token


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _payload() -> dict[str, Any]:
    chart, drafts = lp_low_platelets()
    return bundle(chart + drafts)


def _outcome(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    body: dict[str, Any] = response.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["code"] == code
    return body


def _event(client: TestClient, response: Any) -> AuditEvent:
    event = _state(client).audit.get(response.headers["x-leptoguide-audit-id"])
    assert event is not None
    return event


def test_public_bind_refuses_unauthenticated_patient_data(public: TestClient) -> None:
    for path, body in (("/api/assess", _payload()), ("/api/ask", {"question": "LP and INR?"})):
        r = public.post(path, json=body)
        _outcome(r, 401, "login")
        assert r.headers["www-authenticate"].startswith("Bearer")
        assert "invalid_token" not in r.headers["www-authenticate"]
    # even an invalid body gets 401 first: nothing about the input is checked before auth
    _outcome(public.post("/api/ask", json={"nonsense": 1}), 401, "login")
    assert _state(public).audit.count() == 0
    for path in PUBLIC_PATHS:  # knowledge and health hold no patient data
        r = public.get(path)
        assert r.status_code == 200, (path, r.text)
        assert WARNING not in r.headers


def test_bearer_token_of_a_clinician_is_accepted_and_audited(public: TestClient) -> None:
    state = _state(public)
    token = _user(state.db, "clin", "clinician")
    r = public.post("/api/assess", json=_payload(), headers=_bearer(token))
    assert r.status_code == 200, r.text
    assert WARNING not in r.headers
    event = _event(public, r)
    assert (event.actor, event.auth_method) == ("clin", "bearer")
    r = public.post(
        "/api/ask", json={"question": "INR before a lumbar puncture?"}, headers=_bearer(token)
    )
    assert r.status_code == 200, r.text
    assert (_event(public, r).actor, _event(public, r).auth_method) == ("clin", "bearer")
    assert state.audit.verify().ok


def test_bad_revoked_expired_tokens_and_wrong_scheme_are_401(public: TestClient) -> None:
    db = _state(public).db
    token = _user(db, "clin", "clinician")
    for headers in (
        _bearer(token + "x"),
        _bearer("x" * 300),
        {"Authorization": "Bearer "},
        {"Authorization": f"Basic {token}"},
        {"Authorization": token},
    ):
        r = public.post("/api/assess", json=_payload(), headers=headers)
        _outcome(r, 401, "security")
        assert 'error="invalid_token"' in r.headers["www-authenticate"]
    # the good token works, then stops working when it expires ...
    assert public.post("/api/assess", json=_payload(), headers=_bearer(token)).status_code == 200
    (row,) = api_tokens.list_tokens(db, "clin")
    with db.session() as session, session.begin():
        session.execute(
            update(ApiToken)
            .where(ApiToken.id == row["id"])
            .values(expires_at=utcnow() - dt.timedelta(seconds=1))
        )
    _outcome(public.post("/api/assess", json=_payload(), headers=_bearer(token)), 401, "security")
    assert api_tokens.list_tokens(db, "clin")[0]["state"] == "expired"
    # ... and a token that expires in a day works until it is revoked
    fresh, info = api_tokens.create_token(db, "clin", name="ci", expires_days=1)
    assert public.post("/api/assess", json=_payload(), headers=_bearer(fresh)).status_code == 200
    assert api_tokens.revoke_token(db, int(str(info["id"]))) is True
    assert api_tokens.revoke_token(db, int(str(info["id"]))) is False
    _outcome(public.post("/api/assess", json=_payload(), headers=_bearer(fresh)), 401, "security")


def test_viewer_token_is_403_and_follows_role_changes(public: TestClient) -> None:
    db = _state(public).db
    token = _user(db, "vic", "viewer")
    for path, body in (("/api/assess", _payload()), ("/api/ask", {"question": "LP and INR?"})):
        body_ = _outcome(public.post(path, json=body, headers=_bearer(token)), 403, "forbidden")
        assert "clinician" in body_["issue"][0]["diagnostics"]
    accounts.set_role(db, "vic", "reviewer")  # the token carries the account's current role
    assert public.post("/api/assess", json=_payload(), headers=_bearer(token)).status_code == 200
    accounts.set_role(db, "vic", "viewer")
    _outcome(public.post("/api/assess", json=_payload(), headers=_bearer(token)), 403, "forbidden")


def test_web_session_cookie_authenticates(public: TestClient) -> None:
    db = _state(public).db
    accounts.add_user(db, "ses", "a-long-password", "clinician")
    accounts.add_user(db, "look", "a-long-password", "viewer")
    user = accounts.authenticate(db, "testclient", "ses", "a-long-password")
    viewer = accounts.authenticate(db, "testclient", "look", "a-long-password")
    assert user is not None and viewer is not None
    cookie, _csrf = accounts.create_session(db, user)
    viewer_cookie, _ = accounts.create_session(db, viewer)

    r = public.post("/api/assess", json=_payload(), cookies={"lg_session": cookie})
    assert r.status_code == 200, r.text
    event = _event(public, r)
    assert (event.actor, event.auth_method) == ("ses", "session")
    # a browser on this same origin may use it; another site's page may not
    same = {"Origin": "http://testserver"}
    assert (
        public.post("/api/assess", json=_payload(), cookies={"lg_session": cookie}, headers=same)
    ).status_code == 200
    evil = {"Origin": "https://evil.example"}
    _outcome(
        public.post("/api/assess", json=_payload(), cookies={"lg_session": cookie}, headers=evil),
        403,
        "forbidden",
    )
    _outcome(
        public.post("/api/assess", json=_payload(), cookies={"lg_session": viewer_cookie}),
        403,
        "forbidden",
    )
    _outcome(
        public.post("/api/assess", json=_payload(), cookies={"lg_session": cookie + "x"}),
        401,
        "login",
    )
    accounts.end_session(db, cookie)
    _outcome(
        public.post("/api/assess", json=_payload(), cookies={"lg_session": cookie}), 401, "login"
    )


def test_loopback_accepts_unauthenticated_with_a_warning(loopback: TestClient) -> None:
    r = loopback.post("/api/assess", json=_payload())
    assert r.status_code == 200, r.text
    assert r.headers[WARNING].startswith("unauthenticated")
    event = _event(loopback, r)
    assert (event.actor, event.auth_method) == (None, "none")
    r = loopback.post("/api/ask", json={"question": "INR before a lumbar puncture?"})
    assert r.status_code == 200 and r.headers[WARNING].startswith("unauthenticated")
    # credentials that are sent are still checked on loopback
    db = _state(loopback).db
    good, viewer = _user(db, "clin", "clinician"), _user(db, "vic", "viewer")
    _outcome(
        loopback.post("/api/assess", json=_payload(), headers=_bearer("nope")), 401, "security"
    )
    _outcome(
        loopback.post("/api/assess", json=_payload(), headers=_bearer(viewer)), 403, "forbidden"
    )
    r = loopback.post("/api/assess", json=_payload(), headers=_bearer(good))
    assert r.status_code == 200 and WARNING not in r.headers
    for path in PUBLIC_PATHS:
        assert WARNING not in loopback.get(path).headers


def test_allow_unauthenticated_on_a_public_bind(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'open.sqlite3'}"
    with _app(tmp_path, url, host=PUBLIC_HOST, allow_unauthenticated=True) as client:
        r = client.post("/api/assess", json=_payload())
        assert r.status_code == 200, r.text
        assert r.headers[WARNING].startswith("unauthenticated")
    _state(client).db.dispose()


def test_openapi_declares_security(public: TestClient, loopback: TestClient) -> None:
    for client, optional in ((public, False), (loopback, True)):
        doc = client.get("/openapi.json").json()
        schemes = doc["components"]["securitySchemes"]
        assert schemes["bearerAuth"] == {
            "type": "http",
            "scheme": "bearer",
            "description": schemes["bearerAuth"]["description"],
        }
        assert schemes["sessionCookie"]["in"] == "cookie"
        assert schemes["sessionCookie"]["name"] == "lg_session"
        for path in ("/api/assess", "/api/ask"):
            op = doc["paths"][path]["post"]
            assert {"bearerAuth": []} in op["security"] and {"sessionCookie": []} in op["security"]
            assert ({} in op["security"]) is optional
            assert {"401", "403"} <= set(op["responses"])
        for path in ("/api/statements", "/api/policy", "/healthz"):
            assert "security" not in doc["paths"][path]["get"]


def test_audit_actor_is_hashed_and_old_events_still_verify(loopback: TestClient) -> None:
    state = _state(loopback)
    audit = state.audit
    kw: dict[str, Any] = dict(
        service="assess",
        patient_id=None,
        input_data=b"x",
        knowledge_version="k",
        policy_id="p",
        policy_hash="0" * 64,
        output={},
    )
    old = audit.record(**kw)  # as written before revision 0003: no actor fields in the hash
    from leptoguide.store.audit import canonical_json, sha256_hex

    legacy = {
        "id": old.id,
        "seq": int(old.seq),
        "time": old.time.isoformat(timespec="microseconds"),
        "service": old.service,
        "patient_hash": None,
        "patient_identifier": None,
        "input_hash": old.input_hash,
        "knowledge_version": "k",
        "policy_id": "p",
        "policy_hash": "0" * 64,
        "output_hash": sha256_hex(old.output),
        "prev_hash": old.prev_hash,
    }
    assert old.hash == sha256_hex(canonical_json(legacy))
    new = audit.record(**kw, actor="clin", auth_method="bearer")
    assert audit.verify().ok
    with state.db.session() as session, session.begin():
        session.execute(update(AuditEvent).where(AuditEvent.id == new.id).values(actor="mallory"))
    check = audit.verify()
    assert not check.ok and check.bad_seq == int(new.seq)


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``leptoguide users ARGS`` in process (tests/cli_inprocess.py)."""
    return run_cli("users", *args)


def test_token_cli_create_list_revoke(tmp_path: Path) -> None:
    pw = tmp_path / "pw"
    pw.write_text("correct-horse-battery\n")
    assert _cli("add", "clin", "--role", "clinician", "--password-file", str(pw)).returncode == 0
    made = _cli("token", "create", "clin", "--name", "lab robot", "--expires-days", "30")
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip()
    assert len(token) >= 43 and "\n" not in token  # token_urlsafe(32): 43 characters
    assert "Shown once" in made.stderr and "expires" in made.stderr
    listed = _cli("token", "list")
    assert listed.returncode == 0
    assert listed.stdout.startswith("1\tclin\tlab robot\tactive\t")
    assert token not in listed.stdout
    # only the SHA-256 is in the database
    home = Path(Settings.from_env().home)
    assert token.encode() not in (home / "leptoguide.sqlite3").read_bytes()
    url = Settings.from_env().database_url
    with _app(tmp_path, url, host=PUBLIC_HOST) as client:
        assert (
            client.post("/api/assess", json=_payload(), headers=_bearer(token)).status_code == 200
        )
        revoked = _cli("token", "revoke", "1")
        assert revoked.returncode == 0 and "revoked" in revoked.stdout
        r = client.post("/api/assess", json=_payload(), headers=_bearer(token))
        assert r.status_code == 401
    _state(client).db.dispose()
    assert "\trevoked\t" in _cli("token", "list", "clin").stdout
    assert "already revoked" in _cli("token", "revoke", "1").stdout
    assert _cli("token", "list", "nobody").stdout.strip() == "no API tokens"
    for bad in (
        ("token", "revoke", "99"),
        ("token", "create", "nobody"),
        ("token", "create", "clin", "--expires-days", "0"),
        ("token", "create", "clin", "--name", "bad\tname"),
    ):
        out = _cli(*bad)
        assert out.returncode == 2, (bad, out.stdout, out.stderr)
        assert "Traceback" not in out.stderr
