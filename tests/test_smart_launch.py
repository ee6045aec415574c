"""SMART App Launch against a local authorization server: EHR launch from a CDS card link into the
patient's assessment without a second sign-in, standalone launch, PKCE, ``iss``/``state`` checks,
the patient check, frame-ancestors and the framed session cookie."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from leptoguide.api.app import create_app
from leptoguide.settings import Settings
from service_cases import hook_request, lp_low_platelets
from smart_server import CLIENT_ID, SmartServer

if TYPE_CHECKING:  # what the TestClient of this Starlette answers with
    from httpx2 import Response

SIGN = "/cds-services/leptoguide-order-sign"
EHR_ORIGIN = "https://ehr.hospital.example"


def _app(tmp_path: Path, iss: str) -> TestClient:
    settings = Settings.from_env(
        database_url=f"sqlite:///{tmp_path / 'smart.sqlite3'}",
        smart_issuers=(iss,),
        smart_client_id=CLIENT_ID,
        frame_ancestors=(EHR_ORIGIN,),
    )
    return TestClient(create_app(settings), follow_redirects=False)


def _card_link(client: TestClient) -> dict[str, Any]:
    chart, drafts = lp_low_platelets()
    r = client.post(SIGN, json=hook_request("order-sign", "p-lp", chart, drafts))
    assert r.status_code == 200, r.text
    link: dict[str, Any] = r.json()["cards"][0]["links"][0]
    return link


def _launch(client: TestClient, smart: SmartServer, path: str, **query: str) -> Response:
    """Follow the launch through the authorization server back to LeptoGuide's callback."""
    r = client.get(path, params=query)
    assert r.status_code == 302, r.text
    authorize = r.headers["location"]
    assert authorize.startswith(f"http://127.0.0.1:{smart.port}/authorize?")
    back = httpx.get(authorize, follow_redirects=False, timeout=10)
    assert back.status_code == 302, back.text
    callback = urlsplit(back.headers["location"])
    assert callback.path == "/smart/callback"
    return client.get(f"{callback.path}?{callback.query}")


@pytest.fixture
def ehr_launch(tmp_path: Path) -> Iterator[tuple[TestClient, SmartServer]]:
    smart = SmartServer(patient="p-lp")
    with smart:
        client = _app(tmp_path, smart.iss)
        with client:
            yield client, smart
        client.app.state.leptoguide.db.dispose()  # type: ignore[attr-defined]


def test_card_link_opens_the_assessment_inside_the_ehr_session(
    ehr_launch: tuple[TestClient, SmartServer],
) -> None:
    client, smart = ehr_launch
    link = _card_link(client)
    assert link["type"] == "smart" and link["url"] == "http://testserver/smart/launch"
    smart.app_context = link["appContext"]
    assert client.get(f"/assess/{link['appContext']}").status_code == 303  # not signed in yet
    done = _launch(client, smart, "/smart/launch", iss=smart.iss, launch="launch-123")
    assert done.status_code == 303, done.text
    assert done.headers["location"] == f"/assess/{link['appContext']}"
    page = client.get(done.headers["location"])
    assert page.status_code == 200, page.text[:300]  # no second sign-in
    csp = page.headers["content-security-policy"]
    assert f"frame-ancestors 'self' {EHR_ORIGIN}" in csp
    assert "x-frame-options" not in page.headers
    sent = smart.seen[-1]
    assert sent["aud"] == smart.iss and sent["launch"] == "launch-123"
    assert sent["code_challenge_method"] == "S256" and len(sent["code_challenge"]) == 43
    assert "launch" in sent["scope"].split() and "openid" in sent["scope"].split()


def test_standalone_launch_signs_in_without_app_context(
    ehr_launch: tuple[TestClient, SmartServer],
) -> None:
    client, smart = ehr_launch
    done = _launch(client, smart, "/smart/login")
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert "launch/patient" in smart.seen[-1]["scope"]
    assert "launch" not in smart.seen[-1]


def test_assessment_of_another_patient_is_refused(
    ehr_launch: tuple[TestClient, SmartServer],
) -> None:
    client, smart = ehr_launch
    smart.app_context = _card_link(client)["appContext"]
    smart.patient = "someone-else"
    done = _launch(client, smart, "/smart/launch", iss=smart.iss, launch="launch-123")
    assert done.status_code == 403


def test_untrusted_iss_and_bad_state_are_refused(
    ehr_launch: tuple[TestClient, SmartServer],
) -> None:
    client, smart = ehr_launch
    r = client.get("/smart/launch", params={"iss": "https://evil.example/fhir", "launch": "x"})
    assert r.status_code == 400
    assert client.get("/smart/launch", params={"iss": smart.iss}).status_code == 400  # no launch
    r = client.get("/smart/launch", params={"iss": smart.iss, "launch": "launch-123"})
    state = parse_qs(urlsplit(r.headers["location"]).query)["state"][0]
    assert (
        client.get("/smart/callback", params={"code": "x", "state": state + "x"}).status_code == 400
    )
    client.cookies.clear()
    assert client.get("/smart/callback", params={"code": "x", "state": state}).status_code == 400


def test_pkce_verifier_is_checked_by_the_server(
    ehr_launch: tuple[TestClient, SmartServer],
) -> None:
    """A code redeemed with the wrong verifier is refused (the PKCE pair really binds)."""
    client, smart = ehr_launch
    r = client.get("/smart/launch", params={"iss": smart.iss, "launch": "launch-123"})
    back = httpx.get(r.headers["location"], follow_redirects=False, timeout=10)
    code = parse_qs(urlsplit(back.headers["location"]).query)["code"][0]
    redirect = smart.seen[-1]["redirect_uri"]
    bad = httpx.post(f"http://127.0.0.1:{smart.port}/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect,
        "client_id": CLIENT_ID, "code_verifier": "x" * 64})  # fmt: skip
    assert bad.status_code == 400


def test_server_without_s256_is_refused(tmp_path: Path) -> None:
    with SmartServer(patient="p", s256=False) as smart:
        client = _app(tmp_path, smart.iss)
        with client:
            r = client.get("/smart/launch", params={"iss": smart.iss, "launch": "launch-123"})
            assert r.status_code == 502 and "S256" in r.text
        client.app.state.leptoguide.db.dispose()  # type: ignore[attr-defined]


def test_without_smart_configuration_links_stay_absolute(migrated_db_url: str) -> None:
    app = create_app(Settings.from_env(database_url=migrated_db_url))
    with TestClient(app, follow_redirects=False) as client:
        link = _card_link(client)
        assert link["type"] == "absolute" and "appContext" not in link
        assert client.get("/smart/launch", params={"launch": "x"}).status_code == 404
        page = client.get("/login")
        assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
    app.state.leptoguide.db.dispose()
