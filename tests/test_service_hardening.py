"""Limits and authentication edges: body cap before reading and before auth, fhirServer deadline and
byte cap, JWT audience from configuration only, ``typ: JWT``, tokens in open mode, login limits."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient

from cdsutil import EhrKey, write_issuers
from leptoguide.api.app import create_app
from leptoguide.errors import InputError
from leptoguide.settings import Settings
from service_cases import hook_request, lp_low_platelets
from service_fhir_server import FhirTestServer

SIGN = "/cds-services/leptoguide-order-sign"
PUBLIC = "https://cds.hospital.example"


@pytest.fixture
def secured(tmp_path: Path, migrated_db_url: str) -> Iterator[tuple[TestClient, EhrKey]]:
    key = EhrKey()
    settings = Settings.from_env(
        database_url=migrated_db_url,
        trusted_issuers_file=write_issuers(tmp_path / "issuers", key),
        public_url=PUBLIC,
        max_body_bytes=200_000,
    )
    app = create_app(settings)
    with TestClient(app) as c:
        yield c, key
    app.state.leptoguide.db.dispose()


@pytest.fixture
def open_mode(migrated_db_url: str) -> Iterator[TestClient]:
    settings = Settings.from_env(
        database_url=migrated_db_url, fhir_timeout_seconds=1.5, fhir_max_response_bytes=500_000
    )
    app = create_app(settings)
    with TestClient(app) as c:
        yield c
    app.state.leptoguide.db.dispose()


def _req() -> dict[str, Any]:
    chart, drafts = lp_low_platelets()
    return hook_request("order-sign", "p-lp", chart, drafts)


def test_declared_oversized_body_is_413_before_auth(
    secured: tuple[TestClient, EhrKey],
) -> None:
    client, _ = secured
    body = b"{" + b" " * 300_000 + b"}"
    r = client.post(SIGN, content=body, headers={"content-type": "application/json"})
    assert r.status_code == 413, r.text  # not 401: the cap comes first
    assert r.json()["resourceType"] == "OperationOutcome"


def test_streamed_oversized_body_is_413(secured: tuple[TestClient, EhrKey]) -> None:
    client, key = secured

    def chunks() -> Iterator[bytes]:
        yield b'{"hook": "order-sign", "pad": "'
        for _ in range(30):
            yield b"x" * 10_000
        yield b'"}'

    token = key.token(PUBLIC + SIGN)
    r = client.post(
        SIGN,
        content=chunks(),
        headers={"content-type": "application/json", "authorization": f"Bearer {token}"},
    )
    assert r.status_code == 413, r.text


def test_unauthenticated_call_is_rejected_before_the_body_is_parsed(
    secured: tuple[TestClient, EhrKey],
) -> None:
    client, _ = secured
    r = client.post(SIGN, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 401  # the malformed body is never looked at


def test_audience_comes_from_the_configured_public_url_only(
    secured: tuple[TestClient, EhrKey],
) -> None:
    client, key = secured
    forged = key.token("http://attacker.example" + SIGN)
    r = client.post(
        SIGN,
        json=_req(),
        headers={"authorization": f"Bearer {forged}", "host": "attacker.example"},
    )
    assert r.status_code == 401 and "aud" in r.text
    good = key.token(PUBLIC + SIGN)
    r = client.post(SIGN, json=_req(), headers={"authorization": f"Bearer {good}"})
    assert r.status_code == 200, r.text


def test_missing_typ_is_rejected(secured: tuple[TestClient, EhrKey]) -> None:
    client, key = secured
    now = int(time.time())
    claims = {"iss": "https://ehr.example.org", "aud": PUBLIC + SIGN, "exp": now + 60,
              "iat": now, "jti": "no-typ"}  # fmt: skip
    token = jwt.encode(claims, key.private, algorithm="ES384", headers={"kid": key.kid})
    header = jwt.get_unverified_header(token)
    header.pop("typ", None)
    token = jwt.encode(claims, key.private, algorithm="ES384", headers=header)
    if "typ" in jwt.get_unverified_header(token):  # PyJWT adds typ by default: strip it by hand
        import base64
        import json

        h, p, _ = token.split(".")
        raw = json.loads(base64.urlsafe_b64decode(h + "=" * (-len(h) % 4)))
        raw.pop("typ")
        h = base64.urlsafe_b64encode(json.dumps(raw).encode()).rstrip(b"=").decode()
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

        der = key.private.sign(f"{h}.{p}".encode(), ec.ECDSA(hashes.SHA384()))  # type: ignore[call-arg,arg-type]
        r_, s_ = decode_dss_signature(der)
        sig = base64.urlsafe_b64encode(r_.to_bytes(48, "big") + s_.to_bytes(48, "big"))
        token = f"{h}.{p}.{sig.rstrip(b'=').decode()}"
    assert "typ" not in jwt.get_unverified_header(token)
    r = client.post(SIGN, json=_req(), headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 401 and "typ" in r.text


def test_verifying_without_public_url_refuses_to_start(tmp_path: Path, db_url: str) -> None:
    settings = Settings.from_env(
        database_url=db_url, trusted_issuers_file=write_issuers(tmp_path / "i", EhrKey())
    )
    with pytest.raises(InputError, match="LEPTOGUIDE_PUBLIC_URL"):
        create_app(settings)


@pytest.mark.parametrize(
    "token",
    ["garbage", "a.b.c", "eyJhbGciOiJub25lIn0.e30."],
    ids=["garbage", "three-parts", "alg-none"],
)
def test_open_mode_rejects_a_present_invalid_token(open_mode: TestClient, token: str) -> None:
    r = open_mode.post(SIGN, json=_req(), headers={"authorization": f"Bearer {token}"})
    assert r.status_code == 401, r.text


def test_open_mode_rejects_an_expired_token_and_accepts_none(open_mode: TestClient) -> None:
    key = EhrKey()
    stale = key.token("http://testserver" + SIGN, exp_in=-3600, iat_offset=-7200)
    r = open_mode.post(SIGN, json=_req(), headers={"authorization": f"Bearer {stale}"})
    assert r.status_code == 401 and "expired" in r.text
    fresh = key.token("http://testserver" + SIGN)
    r = open_mode.post(SIGN, json=_req(), headers={"authorization": f"Bearer {fresh}"})
    assert r.status_code == 200 and "not checked" in r.headers["x-leptoguide-warning"]
    r = open_mode.post(SIGN, json=_req())
    assert r.status_code == 200 and "unauthenticated" in r.headers["x-leptoguide-warning"]


@pytest.mark.parametrize("base", ["drip", "huge"])
def test_fhir_server_reads_have_a_hard_deadline_and_byte_cap(
    open_mode: TestClient, base: str
) -> None:
    _, drafts = lp_low_platelets()
    with FhirTestServer([]) as fhir:
        req = hook_request("order-sign", "p-lp", None, drafts, fhir_server=f"{fhir.url}/{base}")
        start = time.monotonic()
        r = open_mode.post(SIGN, json=req)
        took = time.monotonic() - start
    assert r.status_code == 200, r.text  # the data is lost, not the call: the drafts are checked
    assert took < 5, took  # deadline 1.5 s in this fixture, whatever the server's pace
    (gap,) = [c for c in r.json()["cards"] if c["source"]["topic"]["code"] == "not-read"]
    assert gap["indicator"] == "warning"
    assert ("within" if base == "drip" else "bytes") in gap["detail"]


def test_login_limits_per_account_and_per_client(db_url: str) -> None:
    from leptoguide.store import accounts
    from leptoguide.store.db import Database

    db = Database(db_url)
    try:
        accounts.add_user(db, "alice", "a-long-password-1", "clinician")
        # one account guessed from many addresses
        for i in range(accounts.LOGIN_MAX_FAILURES):
            assert accounts.authenticate(db, f"10.0.0.{i}", "alice", "wrong") is None
        assert accounts.login_blocked(db, "10.9.9.9", "alice")
        assert accounts.login_blocked(db, "10.9.9.9", "ALICE")
        # one address spraying many accounts
        for i in range(accounts.LOGIN_MAX_CLIENT_FAILURES):
            accounts.authenticate(db, "192.0.2.7", f"user{i}", "wrong")
        assert accounts.login_blocked(db, "192.0.2.7", "someone-new")
        assert not accounts.login_blocked(db, "192.0.2.8", "someone-new")
    finally:
        db.dispose()


def test_json_bodies_hold_no_markup(open_mode: TestClient) -> None:
    """Text reaching JSON (questions, ingested passages) leaves with < > & escaped; values intact."""
    import json as _json

    from leptoguide.api.responses import html_safe_json

    doc = {"t": "<script>alert(1)</script> & <img src=x onerror=alert(2)>", "n": [1.5, None]}
    raw = html_safe_json(doc)
    assert b"<" not in raw and b">" not in raw and b"&" not in raw
    assert _json.loads(raw) == doc
    assert _json.loads(html_safe_json({"big": 10**30, "t": "<b>"})) == {"big": 10**30, "t": "<b>"}
    question = "<script>alert(1)</script> platelets before lumbar puncture?"
    r = open_mode.post("/api/ask", json={"question": question})
    assert r.status_code == 200, r.text
    assert b"<script" not in r.content and b"\\u003cscript" in r.content
    assert question in _json.dumps(r.json(), ensure_ascii=False)  # the value itself is unchanged
    r = open_mode.post(SIGN, json=_req())
    assert r.status_code == 200 and b"<" not in r.content
