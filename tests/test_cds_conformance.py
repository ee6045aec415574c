"""Conformance to the CDS Hooks logical models, and a black-box run against ``leptoguide serve``.

Discovery, every response and the feedback we send are checked against the models vendored from
the HL7 CDS Hooks specification (tests/fixtures/cds-hooks-spec) by ``cdsspec``. The black-box part
drives order-select and order-sign of the real server over HTTP, signed like an EHR, with every
request shape in ``service_shapes``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from cdsspec import assert_conforms, violations
from cdsutil import EhrKey, write_issuers
from service_cases import hook_request
from service_server import ServerProcess
from service_shapes import shapes

if TYPE_CHECKING:
    from conftest import CdsServer

SERVICES = {"order-select": "/cds-services/leptoguide-order-select",
            "order-sign": "/cds-services/leptoguide-order-sign"}  # fmt: skip
SHAPES = {name: (pid, chart, drafts, tweak) for name, pid, chart, drafts, tweak in shapes()}
# The card topic each shape must raise ("!" prefix: must not raise)
EXPECTED = {
    "lp-low-platelets": ["lp-platelets-low"],
    "draft-also-in-prefetch": ["lp-platelets-low"],
    "draft-status-active": ["lp-platelets-low"],
    "draft-status-completed": ["lp-platelets-low"],
    "draft-without-id": ["it-chemo-csf-flow-block"],
    "draft-fullurl-only": ["it-chemo-csf-flow-block"],
    "other-patient-in-prefetch": ["lp-platelets-low", "not-read"],
    "unreadable-value": ["lp-platelets-low", "not-read"],
    "garbled-draft-entry": ["lp-platelets-low", "not-read"],
    "draft-for-other-patient": ["not-read", "!lp-platelets-low"],
    "neonate-ceftriaxone-calcium": ["ceftriaxone-calcium-neonate"],
    "it-flow-block": ["it-chemo-csf-flow-block"],
    "iv-trastuzumab-with-it-order": ["!it-chemo-csf-flow-block"],
    "oral-methotrexate-with-it-order": ["!it-chemo-csf-flow-block"],
    "lp-without-inr": ["lp-safety-data-missing"],
    "search-outcome-entry": ["lp-platelets-low", "!not-read"],
    "no-draft-orders": ["!lp-platelets-low"],
}


def test_checker_catches_what_the_spec_forbids() -> None:
    """The checker is not vacuous: each rule of the models is seen to fail on a bad body."""
    card = {"summary": "s", "indicator": "warning", "source": {"label": "x"}}
    assert violations("CDSHooksResponse", {"cards": [card]}) == []
    assert violations("CDSHooksResponse", {})  # cards is required ("present")
    assert violations("CDSHooksResponse", {"cards": [{**card, "indicator": "hard-stop"}]})
    two = [{"label": "a", "isRecommended": True}, {"label": "b", "isRecommended": True}]
    assert any(
        "cds-resp-1" in v
        for v in violations(
            "CDSHooksResponse",
            {"cards": [{**card, "suggestions": two, "selectionBehavior": "at-most-one"}]},
        )
    )
    assert any(
        "cds-resp-6" in v
        for v in violations("CDSHooksResponse", {"cards": [{**card, "suggestions": two[:1]}]})
    )
    delete = {"type": "delete", "description": "d", "resource": {"resourceType": "X"}}
    assert any(
        "cds-resp-2" in v
        for v in violations(
            "CDSHooksResponse",
            {
                "cards": [
                    {
                        **card,
                        "selectionBehavior": "any",
                        "suggestions": [{"label": "a", "actions": [delete]}],
                    }
                ]
            },
        )
    )
    assert any(
        "cds-resp-4" in v
        for v in violations(
            "CDSHooksResponse", {"cards": [{**card, "overrideReasons": [{"code": "x"}]}]}
        )
    )
    link = {"label": "l", "url": "https://a.example", "type": "absolute", "appContext": "x"}
    assert any(
        "cds-resp-3" in v
        for v in violations("CDSHooksResponse", {"cards": [{**card, "links": [link]}]})
    )
    fb = {
        "card": "f2b362af-b934-563e-866a-84e41a4cd14c",
        "outcome": "accepted",
        "outcomeTimestamp": "2026-01-01T00:00:00Z",
    }
    assert any("cds-fb-2" in v for v in violations("CDSHooksFeedback", {"feedback": [fb]}))
    assert any(
        "cds-fb-3" in v
        for v in violations(
            "CDSHooksFeedback",
            {"feedback": [{**fb, "outcome": "overridden", "overrideReason": {}}]},
        )
    )
    assert violations("CDSHooksServices", {"services": [{"hook": "patient-view", "id": "x"}]})


class Ehr:
    """A signed HTTP client for the real server."""

    def __init__(self, server: ServerProcess, key: EhrKey) -> None:
        self.server, self.key = server, key
        self.http = httpx.Client(base_url=server.url, timeout=30)

    def call(self, method: str, path: str, body: Any = None) -> httpx.Response:
        token = self.key.token(self.server.url + path)
        headers = {"Authorization": f"Bearer {token}"}
        return self.http.request(method, path, json=body, headers=headers)


@pytest.fixture(scope="module")
def actions_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[ServerProcess, EhrKey]]:
    """The server of a site that enabled the DetectedIssue system action, not yet started (``ehr``
    starts it, so that it starts while the tests of the first server run); stopped at the end."""
    home = tmp_path_factory.mktemp("system-actions")
    key = EhrKey("ES384")
    issuers = write_issuers(home / "cfg", key)
    db = f"sqlite:///{home / 'actions.sqlite3'}"
    env = {"LEPTOGUIDE_CDS_SYSTEM_ACTIONS": "detected-issue"}
    server = ServerProcess(home, db, "--trusted-issuers", str(issuers), env=env)
    try:
        yield server, key
    finally:
        server.__exit__()


@pytest.fixture(scope="module")
def ehr(
    request: pytest.FixtureRequest, actions_server: tuple[ServerProcess, EhrKey]
) -> Iterator[Ehr]:
    """The session's shared server (``cds_server`` in conftest.py), signed for by its EHR key;
    the system-actions server starts first, so that it starts while these tests run."""
    actions_server[0].start()
    shared: CdsServer = request.getfixturevalue("cds_server")
    e = Ehr(shared.server, shared.key)
    yield e
    e.http.close()


def test_every_shape_has_an_expectation() -> None:
    assert set(EXPECTED) == set(SHAPES)


@pytest.mark.server
def test_discovery_conforms(ehr: Ehr) -> None:
    r = ehr.call("GET", "/cds-services")
    assert r.status_code == 200, r.text
    assert_conforms("CDSHooksServices", r.json())


def _draft_refs(req: dict[str, Any]) -> set[str]:
    refs: set[str] = set()
    for entry in req["context"]["draftOrders"]["entry"]:
        res = entry.get("resource")
        if isinstance(res, dict) and res.get("id"):
            refs.add(f"{res['resourceType']}/{res['id']}")
        elif entry.get("fullUrl"):
            refs.add(entry["fullUrl"])
    return refs


@pytest.mark.server
@pytest.mark.parametrize("hook", sorted(SERVICES))
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_every_request_shape_answers_conformant_cards(ehr: Ehr, hook: str, shape: str) -> None:
    pid, chart, drafts, tweak = SHAPES[shape]
    req = hook_request(hook, pid, chart, drafts)
    tweak(req)
    r = ehr.call("POST", SERVICES[hook], req)
    assert r.status_code == 200, r.text
    body = r.json()
    assert_conforms("CDSHooksResponse", body)
    assert "systemActions" not in body  # off unless the site enables them
    refs = _draft_refs(req)
    for card in body["cards"]:
        assert len(card["summary"]) < 140
        for sug in card.get("suggestions") or []:
            for action in sug["actions"]:
                if action["type"] == "delete":
                    rid = action["resourceId"]
                    assert rid in refs or rid.startswith(f"{drafts[0]['resourceType']}/draft-"), rid
                    assert "entry[" not in rid
    topics = {c["source"]["topic"]["code"] for c in body["cards"]}
    for want in EXPECTED[shape]:
        if want.startswith("!"):
            assert want[1:] not in topics, topics
        else:
            assert want in topics, topics


@pytest.mark.server
def test_feedback_round_trip_conforms(ehr: Ehr) -> None:
    pid, chart, drafts, _tweak = SHAPES["neonate-ceftriaxone-calcium"]
    req = hook_request("order-sign", pid, chart, drafts)
    body = ehr.call("POST", SERVICES["order-sign"], req).json()
    card = next(c for c in body["cards"] if c.get("suggestions"))
    now = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    feedback = {
        "feedback": [
            {"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": now,
             "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}]},
            {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": now,
             "overrideReason": {"reason": card["overrideReasons"][0], "userComment": "discussed"}},
        ]
    }  # fmt: skip
    assert_conforms("CDSHooksFeedback", feedback)
    r = ehr.call("POST", "/cds-services/leptoguide-order-sign/feedback", feedback)
    assert r.status_code == 200 and r.json() == {"stored": 2}, r.text
    for bad in (
        {"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": now},
        {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": now,
         "overrideReason": {}},
    ):  # fmt: skip
        assert violations("CDSHooksFeedback", {"feedback": [bad]})
        r = ehr.call("POST", "/cds-services/leptoguide-order-sign/feedback", {"feedback": [bad]})
        assert r.status_code == 422, r.text


# ---- systemActions (opt-in per site) -----------------------------------------------------------


@pytest.fixture(scope="module")
def ehr_actions(actions_server: tuple[ServerProcess, EhrKey]) -> Iterator[Ehr]:
    """A server whose site enabled the DetectedIssue system action."""
    server, key = actions_server
    with server:  # waits until it is ready (started already when ``ehr`` ran first)
        e = Ehr(server, key)
        yield e
        e.http.close()


def _rule_cards(body: dict[str, Any], rules: set[str]) -> list[dict[str, Any]]:
    return [
        c
        for c in body["cards"]
        if c["indicator"] in ("warning", "critical") and c["source"]["topic"]["code"] in rules
    ]


@pytest.mark.server
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_enabled_system_actions_record_detected_issues(ehr_actions: Ehr, shape: str) -> None:
    from fhir.resources.R4B.detectedissue import DetectedIssue

    from leptoguide.knowledge.loader import get_knowledge

    pid, chart, drafts, tweak = SHAPES[shape]
    req = hook_request("order-sign", pid, chart, drafts)
    tweak(req)
    r = ehr_actions.call("POST", SERVICES["order-sign"], req)
    assert r.status_code == 200, r.text
    body = r.json()
    assert_conforms("CDSHooksResponse", body)
    actions = body.get("systemActions", [])
    refs = _draft_refs(req) | {
        a["resourceId"]
        for c in body["cards"]
        for s in c.get("suggestions") or []
        for a in s["actions"]
        if a["type"] == "delete"
    }
    cards = {c["uuid"]: c for c in body["cards"]}
    for action in actions:
        assert action["type"] == "create"  # never an update or delete of an order
        issue = action["resource"]
        DetectedIssue.model_validate(issue)  # a valid FHIR R4 resource
        assert issue["status"] == "preliminary"
        assert issue["patient"] == {"reference": f"Patient/{pid}"}
        card = cards[issue["identifier"][0]["value"].removeprefix("urn:uuid:")]
        assert card["indicator"] in ("warning", "critical")
        assert issue["severity"] == {"critical": "high", "warning": "moderate"}[card["indicator"]]
        assert issue["code"]["coding"][0]["code"] == card["source"]["topic"]["code"]
        assert issue["implicated"] and all(i["reference"] in refs for i in issue["implicated"])
        assert issue["reference"].startswith(ehr_actions.server.url + "/assess/")
    rules = set(get_knowledge().rules)
    recorded = {a["resource"]["code"]["coding"][0]["code"] for a in actions}
    for want in EXPECTED[shape]:
        if want in rules and not want.startswith("!") and _rule_cards(body, {want}):
            assert want in recorded, (want, recorded)
    assert "not-read" not in recorded and "missing-data" not in recorded


@pytest.mark.server
@pytest.mark.parametrize("hook", ["order-select", "patient-view"])
def test_system_actions_only_at_order_sign(ehr_actions: Ehr, hook: str) -> None:
    pid, chart, drafts, _tweak = SHAPES["lp-low-platelets"]
    req = hook_request(hook, pid, chart, drafts)
    r = ehr_actions.call("POST", f"/cds-services/leptoguide-{hook}", req)
    assert r.status_code == 200, r.text
    assert "lp-platelets-low" in {c["source"]["topic"]["code"] for c in r.json()["cards"]} or (
        hook == "patient-view"
    )
    assert "systemActions" not in r.json()


@pytest.mark.server
def test_discovery_says_when_system_actions_are_on(ehr_actions: Ehr, ehr: Ehr) -> None:
    on = ehr_actions.call("GET", "/cds-services").json()
    off = ehr.call("GET", "/cds-services").json()
    assert_conforms("CDSHooksServices", on)
    usage = {s["id"]: s["usageRequirements"] for s in on["services"]}
    assert "DetectedIssue" in usage["leptoguide-order-sign"]
    assert "DetectedIssue" not in usage["leptoguide-order-select"]
    assert all("DetectedIssue" not in s["usageRequirements"] for s in off["services"])


def test_unknown_system_action_refuses_to_start(tmp_path: Path) -> None:
    from leptoguide.api.app import create_app
    from leptoguide.errors import InputError
    from leptoguide.settings import Settings

    settings = Settings.from_env(
        database_url=f"sqlite:///{tmp_path / 'x.sqlite3'}", cds_system_actions=("update-order",)
    )
    with pytest.raises(InputError, match="unknown system action 'update-order'"):
        create_app(settings)
