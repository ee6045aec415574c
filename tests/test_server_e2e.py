"""End to end: the real server (subprocess) over HTTP, with JWT-authenticated CDS Hooks."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from cdsutil import DISCOVERY, EhrKey, check, check_response
from service_cases import hook_request, it_mtx_flow_block, lp_low_platelets
from service_fhir_server import FhirTestServer
from service_server import ServerProcess

if TYPE_CHECKING:
    from conftest import CdsServer

pytestmark = pytest.mark.server

SIGN = "/cds-services/leptoguide-order-sign"


class Env:
    def __init__(self, server: ServerProcess, key: EhrKey, fhir: FhirTestServer) -> None:
        self.server, self.key, self.fhir = server, key, fhir
        self.http = httpx.Client(base_url=server.url, timeout=10)

    def auth(self, path: str, **kw: object) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key.token(self.server.url + path, **kw)}"}  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def env(cds_server: CdsServer) -> Iterator[Env]:
    """The session's shared server (``cds_server`` in conftest.py): its EHR key, with ``jku``
    allow-listed at the FHIR test server, which holds the low-platelet LP and intrathecal
    flow-block charts."""
    e = Env(cds_server.server, cds_server.key, cds_server.fhir)
    yield e
    e.http.close()


def test_discovery_requires_and_accepts_jwt(env: Env) -> None:
    r = env.http.get("/cds-services")
    assert r.status_code == 401 and r.json()["resourceType"] == "OperationOutcome"
    r = env.http.get("/cds-services", headers=env.auth("/cds-services"))
    assert r.status_code == 200, r.text
    check(DISCOVERY, r.json())
    assert "x-leptoguide-warning" not in r.headers


@pytest.mark.parametrize("hook,path", [("patient-view", "/cds-services/leptoguide-patient-view"),
                                       ("order-select", "/cds-services/leptoguide-order-select"),
                                       ("order-sign", SIGN)])  # fmt: skip
def test_each_hook_with_and_without_prefetch(env: Env, hook: str, path: str) -> None:
    chart, drafts = lp_low_platelets()
    with_pf = env.http.post(
        path, json=hook_request(hook, "p-lp", chart, drafts), headers=env.auth(path)
    )
    assert with_pf.status_code == 200, with_pf.text
    check_response(with_pf.json())
    before = len(env.fhir.requests)
    req = hook_request(hook, "p-lp", None, drafts, fhir_server=env.fhir.url)
    no_pf = env.http.post(path, json=req, headers=env.auth(path))
    assert no_pf.status_code == 200, no_pf.text
    check_response(no_pf.json())
    assert len(env.fhir.requests) > before

    def key(body: dict[str, object]) -> list[tuple[str, str]]:
        return sorted((c["indicator"], c["summary"]) for c in body["cards"])  # type: ignore[attr-defined,index]

    assert key(no_pf.json()) == key(with_pf.json())


def test_jwt_rejections(env: Env) -> None:
    chart, drafts = lp_low_platelets()
    body = hook_request("order-sign", "p-lp", chart, drafts)
    url = env.server.url + SIGN

    def post(headers: dict[str, str]) -> httpx.Response:
        return env.http.post(SIGN, json=body, headers=headers)

    other = EhrKey("ES384", kid=env.key.kid)
    cases = {
        "bad signature": {"Authorization": f"Bearer {other.token(url)}"},
        "aud": env.auth(SIGN.replace("sign", "select")),
        "expired": env.auth(SIGN, exp_in=-300),
        "not allow-listed": env.auth(SIGN, jku="https://attacker.example/jwks.json"),
        "not trusted": env.auth(SIGN, iss="https://unknown-ehr.example"),
    }
    for reason, headers in cases.items():
        r = post(headers)
        assert r.status_code == 401, (reason, r.text)
        assert r.json()["resourceType"] == "OperationOutcome" and reason in r.text, (reason, r.text)
    headers = env.auth(SIGN, jti="unique-once")
    assert post(headers).status_code == 200
    replay = post(env.auth(SIGN, jti="unique-once"))
    assert replay.status_code == 401 and "replay" in replay.text
    # an allow-listed jku is fetched (from the loopback test server) and its key used
    ok = post(env.auth(SIGN, jku=env.fhir.url + "/jwks.json"))
    assert ok.status_code == 200, ok.text
    assert any(u.endswith("/jwks.json") for u in env.fhir.requests)


def test_feedback_and_malformed_requests(env: Env) -> None:
    fb_path = SIGN + "/feedback"
    fb = {"feedback": [{"card": "c-1", "outcome": "overridden",
                        "overrideReason": {"reason": {"code": "not-applicable", "display": "Does not apply"}},
                        "outcomeTimestamp": "2026-11-21T10:00:00Z"}]}  # fmt: skip
    r = env.http.post(fb_path, json=fb, headers=env.auth(fb_path))
    assert r.status_code == 200 and r.json() == {"stored": 1}
    r = env.http.post(
        SIGN, content=b"{nope", headers={**env.auth(SIGN), "content-type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome"
    req = hook_request("order-sign", "p-lp", None, [])
    req["context"].pop("patientId")
    r = env.http.post(SIGN, json=req, headers=env.auth(SIGN))
    assert r.status_code == 400 and r.json()["issue"][0]["expression"] == ["context.patientId"]
    r = env.http.post(
        SIGN, json=hook_request("order-sign", "p-lp", None, []), headers=env.auth(SIGN)
    )
    assert r.status_code == 412


def test_rest_and_audit_cli(env: Env) -> None:
    chart, drafts = it_mtx_flow_block()
    r = env.http.post("/api/assess", json={"resourceType": "Bundle", "type": "collection",
                                           "entry": [{"resource": x} for x in chart + drafts]})  # fmt: skip
    assert r.status_code == 200, r.text
    audit_id = r.headers["x-leptoguide-audit-id"]
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from leptoguide.store.db import migrations_dir

    cfg = Config()
    cfg.set_main_option("script_location", migrations_dir())
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert env.http.get("/api/version").json()["database"]["schema"] == head
    import subprocess
    import sys

    exe = str(Path(sys.executable).with_name("leptoguide"))
    db = env.server.cmd[env.server.cmd.index("--database") + 1]

    def run(*a: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([exe, "audit", *a, "--database", db], env=env.server.env,
                              capture_output=True, text=True, timeout=60)  # fmt: skip

    out = run("list")
    assert (
        out.returncode == 0
        and audit_id in out.stdout
        and "cds-hooks/leptoguide-order-sign" in out.stdout
    )
    shown = json.loads(run("show", audit_id).stdout)
    assert (
        shown["id"] == audit_id and shown["service"] == "assess" and "findings" in shown["output"]
    )
    lines = run("export", "--format", "jsonl").stdout.splitlines()
    assert [json.loads(x)["seq"] for x in lines] == list(range(1, len(lines) + 1))
    assert run("verify").stdout.startswith("ok:")
    bad = run("show", "no-such-event")
    assert bad.returncode == 2 and "no-such-event" in bad.stderr


def test_server_refuses_public_bind_without_issuers(tmp_path: Path) -> None:
    import subprocess
    import sys

    exe = str(Path(sys.executable).with_name("leptoguide"))
    out = subprocess.run([exe, "serve", "--host", "0.0.0.0", "--port", "1", "--database", f"sqlite:///{tmp_path}/x.db"],
                         capture_output=True, text=True, timeout=60, env={**__import__("os").environ, "LEPTOGUIDE_HOME": str(tmp_path)})  # fmt: skip
    assert out.returncode == 2 and "trusted issuers" in out.stderr
