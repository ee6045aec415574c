"""Conformance to the CDS Hooks logical models, and a black-box run against ``leptoguide serve``.

Discovery, every response and the feedback we send are checked against the models vendored from
the HL7 CDS Hooks specification (tests/fixtures/cds-hooks-spec) by ``cdsspec``. The black-box part
drives order-select and order-sign of the real server over HTTP, signed like an EHR, with every
request shape in ``service_shapes``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from cdsspec import assert_conforms, violations
from cdsutil import EhrKey, write_issuers
from service_cases import hook_request
from service_server import ServerProcess
from service_shapes import shapes

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
def ehr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Ehr]:
    home = tmp_path_factory.mktemp("conformance")
    key = EhrKey("ES384")
    issuers = write_issuers(home / "cfg", key)
    db = f"sqlite:///{home / 'conf.sqlite3'}"
    with ServerProcess(home, db, "--trusted-issuers", str(issuers)) as server:
        e = Ehr(server, key)
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
