"""REST API in-process, on SQLite and PostgreSQL: assess, knowledge browsing, policy, health."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from leptoguide.api.app import create_app
from leptoguide.knowledge.loader import get_knowledge
from leptoguide.settings import Settings
from service_cases import bundle, lp_low_platelets


@pytest.fixture
def client(migrated_db_url: str) -> Iterator[TestClient]:
    app = create_app(Settings.from_env(database_url=migrated_db_url))
    with TestClient(app) as c:
        yield c
    app.state.leptoguide.db.dispose()


def _outcome(r: object, status: int) -> dict[str, object]:
    assert r.status_code == status, r.text  # type: ignore[attr-defined]
    body: dict[str, object] = r.json()  # type: ignore[attr-defined]
    assert body["resourceType"] == "OperationOutcome"
    return body


def test_assess_bundle_matches_engine_and_is_audited(client: TestClient) -> None:
    chart, drafts = lp_low_platelets()
    payload = bundle(chart + drafts)
    r = client.post("/api/assess?at=2026-11-21T10:00:00Z", json=payload)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["evaluated_at"].startswith("2026-11-21T10:00:00")
    assert body["knowledge_version"] == get_knowledge().version
    # the body is the engine's JSON (the CLI contract), identical for the same input and time
    import datetime as dt

    from leptoguide.engine import assess
    from leptoguide.intake import read_input
    from leptoguide.policy import load_policy

    kb = get_knowledge()
    case = read_input(json.dumps(payload).encode(), name="request body", kb=kb)
    expected = assess(
        case, kb=kb, policy=load_policy(kb), at=dt.datetime(2026, 11, 21, 10, tzinfo=dt.UTC)
    ).to_dict()
    assert body == json.loads(json.dumps(expected))
    audit_id = r.headers["x-leptoguide-audit-id"]
    event = client.app.state.leptoguide.audit.get(audit_id)  # type: ignore[attr-defined]
    assert event is not None and event.service == "assess"


def test_assess_wrapper_and_yaml(client: TestClient) -> None:
    chart, _ = lp_low_platelets()
    r = client.post(
        "/api/assess",
        json={"input": bundle(chart), "at": "2026-11-21T10:00:00+00:00", "audience": "patient"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["audience"] == "patient"
    import yaml

    r = client.post(
        "/api/assess",
        content=yaml.safe_dump(bundle(chart)),
        headers={"content-type": "application/yaml"},
    )
    assert r.status_code == 200, r.text


def test_assess_errors(client: TestClient) -> None:
    _outcome(
        client.post("/api/assess", content=b"{bad", headers={"content-type": "application/json"}),
        400,
    )
    _outcome(
        client.post("/api/assess", content=b"", headers={"content-type": "application/json"}), 400
    )
    _outcome(client.post("/api/assess", content=b"x", headers={"content-type": "image/png"}), 415)
    body = _outcome(client.post("/api/assess?at=yesterday", json=bundle([])), 422)
    assert body["issue"][0]["expression"] == ["at"]  # type: ignore[index]
    body = _outcome(client.post("/api/assess?audience=robot", json=bundle([])), 422)
    assert body["issue"][0]["expression"] == ["audience"]  # type: ignore[index]
    bad_obs = {"resourceType": "Observation", "id": "o1", "status": "final",
               "code": {"coding": [{"system": "http://loinc.org", "code": "777-3"}]},
               "valueQuantity": {"value": "abc", "unit": "10*9/L"}}  # fmt: skip
    r = client.post("/api/assess", json=bundle([bad_obs]))
    if r.status_code != 200:  # only when the platelet concept is known to the reader
        body = _outcome(r, 422)
        assert body["issue"][0]["expression"] == ["valueQuantity.value"]  # type: ignore[index]
    _outcome(client.post("/api/assess", json={"input": "x"}), 422)
    _outcome(client.post("/api/assess", json={"input": {}, "bogus": 1}), 422)


def test_statements_and_sources(client: TestClient) -> None:
    kb = get_knowledge()
    r = client.get("/api/statements", params={"limit": 5})
    assert r.status_code == 200 and r.json()["total"] == len(kb.statements)
    assert len(r.json()["items"]) == min(5, len(kb.statements))
    if kb.statements:
        st = next(iter(sorted(kb.statements.values(), key=lambda s: s.id)))
        topic = st.topics[0]
        items = client.get("/api/statements", params={"topic": topic, "limit": 1000}).json()[
            "items"
        ]
        assert st.id in [i["id"] for i in items] and all(topic in i["topics"] for i in items)
        status_items = client.get(
            "/api/statements", params={"status": "verified", "limit": 1000}
        ).json()["items"]
        assert status_items and all(i["status"] == "verified" for i in status_items)
        refused = client.get("/api/statements", params={"status": "approved"})
        assert refused.status_code == 422  # approval lives in a site's review workflow
        q = client.get("/api/statements", params={"q": st.title[:12]}).json()["items"]
        assert st.id in [i["id"] for i in q]
        one = client.get(f"/api/statements/{st.id}").json()
        assert one["id"] == st.id and one["sources_detail"][0]["locator"]
    _outcome(client.get("/api/statements/no-such-statement"), 404)
    src = next(iter(kb.sources))
    r = client.get(f"/api/sources/{src}")
    assert r.status_code == 200 and r.json()["id"] == src and "cited_by" in r.json()
    assert client.get("/api/sources", params={"q": "zzzz-nothing"}).json()["total"] == 0
    _outcome(client.get("/api/sources/no-such-source"), 404)
    _outcome(client.get("/api/statements", params={"limit": 0}), 422)


def _alembic_head() -> str:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from leptoguide.store import migrations

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(migrations.__file__).parent))
    head = ScriptDirectory.from_config(cfg).get_current_head()
    assert head is not None
    return head


def test_rules_policy_version_health(client: TestClient) -> None:
    kb = get_knowledge()
    assert client.get("/api/rules").json()["total"] == len(kb.rules)
    pol = client.get("/api/policy").json()
    assert pol["id"] == "leptoguide-default" and len(pol["values"]) == len(kb.parameters)
    for v in pol["values"]:
        assert {"value", "source", "alternatives", "overridden"} <= set(v)
    ver = client.get("/api/version").json()
    assert ver["knowledge"] == kb.version and ver["database"]["schema"] == _alembic_head()
    assert client.get("/healthz").json() == {"status": "ok"}
    assert client.get("/readyz").json()["status"] == "ready"
    assert client.get("/openapi.json").json()["info"]["title"] == "LeptoGuide"
    assert client.get("/docs").status_code == 200
    _outcome(client.get("/nope"), 404)
    _outcome(client.delete("/api/rules"), 405)


def test_readyz_reports_database_down(client: TestClient) -> None:
    state = client.app.state.leptoguide  # type: ignore[attr-defined]
    state.db.ping = lambda: False
    _outcome(client.get("/readyz"), 503)


def test_security_refuses_public_bind_without_issuers(tmp_path: object) -> None:
    from leptoguide.errors import InputError

    url = f"sqlite:///{tmp_path}/s.db"
    with pytest.raises(InputError, match="trusted issuers"):
        create_app(Settings.from_env(database_url=url, host="0.0.0.0"))
    app = create_app(
        Settings.from_env(database_url=url, host="0.0.0.0", allow_unauthenticated=True)
    )
    assert app.state.leptoguide.verifier.required is False


def test_ask_is_answered_audited_and_conversation_shared(client: TestClient) -> None:
    from leptoguide.store.conversations import DbConversationStore

    r = client.post("/api/ask", json={"question": "What platelet count is needed before a lumbar puncture?",
                                      "conversation_id": "conv-1"})  # fmt: skip
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["question"].startswith("What platelet") and "abstained" in body
    state = client.app.state.leptoguide  # type: ignore[attr-defined]
    assert state.audit.get(r.headers["x-leptoguide-audit-id"]).service == "ask"
    r2 = client.post("/api/ask", json={"question": "And the INR?", "conversation_id": "conv-1"})
    assert r2.status_code == 200
    turns = DbConversationStore(state.db).history("conv-1")
    assert [t.question for t in turns] == [body["question"], "And the INR?"]
    _outcome(client.post("/api/ask", json={"question": ""}), 422)
    # nothing but characters some regex dialect or str.strip() counts as whitespace
    for blank in (" \t", "\x1c\x1f", "\x85", "\ufeff", "\u2028\u3000"):
        _outcome(client.post("/api/ask", json={"question": blank}), 422)
    _outcome(client.post("/api/ask", json={"question": "x", "top_k": 0}), 422)
    _outcome(client.post("/api/ask", json={"question": "x", "conversation_id": "bad id!"}), 422)


def test_ask_limits_mirror_the_answer_engine() -> None:
    from leptoguide.answer import conversation, pipeline
    from leptoguide.api import rest

    assert rest.ASK_MAX_TOP_K == pipeline.MAX_TOP_K
    assert rest.ASK_MAX_QUESTION == pipeline.MAX_QUESTION_CHARS
    assert conversation.ID_PATTERN.pattern == rest.CONVERSATION_ID
