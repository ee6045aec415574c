"""CDS Hooks in-process: discovery, hooks with and without prefetch, cards, feedback, errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cdsutil import DISCOVERY, check, check_response
from leptoguide.api.app import create_app
from leptoguide.knowledge.loader import get_knowledge
from leptoguide.settings import Settings
from service_cases import PREFETCH_KEYS, hook_request, it_mtx_flow_block, lp_low_platelets
from service_fhir_server import FhirTestServer

SIGN = "/cds-services/leptoguide-order-sign"
SELECT = "/cds-services/leptoguide-order-select"
VIEW = "/cds-services/leptoguide-patient-view"


def has_rule(hook: str, order: str, *concepts: str) -> bool:
    """The knowledge base can decide the scenario: a rule for the order and the concepts to read it."""
    kb = get_knowledge()
    return all(c in kb.concepts for c in (order, *concepts)) and any(
        hook in r.hooks and order in r.orders for r in kb.rules.values()
    )


@pytest.fixture
def client(migrated_db_url: str) -> Iterator[TestClient]:
    app = create_app(Settings.from_env(database_url=migrated_db_url))
    with TestClient(app) as c:
        yield c
    app.state.leptoguide.db.dispose()


def test_discovery(client: TestClient) -> None:
    r = client.get("/cds-services")
    assert r.status_code == 200
    body = r.json()
    check(DISCOVERY, body)
    hooks = {s["hook"]: s for s in body["services"]}
    assert set(hooks) == {"patient-view", "order-select", "order-sign"}
    for s in body["services"]:
        assert s["prefetch"]["patient"] == "Patient/{{context.patientId}}"
        assert s["prefetch"]["observations"].startswith("Observation?patient={{context.patientId}}")
        for key in PREFETCH_KEYS:
            assert key in s["prefetch"]
    assert "unauthenticated" in r.headers["x-leptoguide-warning"]


@pytest.mark.parametrize(
    "path,hook", [(VIEW, "patient-view"), (SELECT, "order-select"), (SIGN, "order-sign")]
)
def test_each_hook_with_prefetch_answers_valid_cards(
    client: TestClient, path: str, hook: str
) -> None:
    chart, drafts = lp_low_platelets()
    r = client.post(path, json=hook_request(hook, "p-lp", chart, drafts))
    assert r.status_code == 200, r.text
    check_response(r.json())


def test_order_sign_lp_with_low_platelets_raises_a_card(client: TestClient) -> None:
    assert has_rule("order-sign", "lumbar-puncture", "platelets")
    chart, drafts = lp_low_platelets()
    body = client.post(SIGN, json=hook_request("order-sign", "p-lp", chart, drafts)).json()
    check_response(body)
    platelet_cards = [
        c for c in body["cards"] if "platelet" in (c["summary"] + c["detail"]).lower()
    ]
    assert platelet_cards, [c["summary"] for c in body["cards"]]
    card = platelet_cards[0]
    assert card["indicator"] in ("warning", "critical")
    assert card["links"][0]["url"].startswith("http://testserver/assess/")
    assert "**Sources**" in card["detail"] and "1. " in card["detail"]
    assert card["source"]["url"].startswith("http://testserver/kb/statements/")
    for s in card.get("suggestions", []):
        assert s["actions"][0] == {
            **s["actions"][0],
            "type": "delete",
            "resourceId": "ServiceRequest/lp-draft",
        }


def test_it_methotrexate_with_flow_block_is_critical(client: TestClient) -> None:
    assert has_rule("order-sign", "methotrexate", "csf-flow-study", "intrathecal")
    chart, drafts = it_mtx_flow_block()
    body = client.post(SIGN, json=hook_request("order-sign", "p-it", chart, drafts)).json()
    check_response(body)
    critical = [c for c in body["cards"] if c["indicator"] == "critical"]
    assert critical, [(c["indicator"], c["summary"]) for c in body["cards"]]
    # the block card offers to remove the draft IT order (a delete action on its id)
    actions = [a for c in critical for s in c.get("suggestions", []) for a in s["actions"]]
    assert {"type": "delete", "resourceId": "MedicationRequest/mtx-draft"}.items() <= actions[
        0
    ].items()
    assert all(c.get("selectionBehavior") for c in critical if c.get("suggestions"))


def test_same_chart_without_draft_orders_gives_no_order_cards(client: TestClient) -> None:
    chart, _ = lp_low_platelets()
    body = client.post(SIGN, json=hook_request("order-sign", "p-lp", chart, [])).json()
    kb = get_knowledge()
    for card in body["cards"]:
        rule = kb.rules[card["source"]["topic"]["code"]]
        assert not rule.orders, f"{rule.id} needs an order but none was drafted"


def test_fhir_server_path_equals_prefetch_path(client: TestClient) -> None:
    chart, drafts = lp_low_platelets()
    with_prefetch = client.post(SIGN, json=hook_request("order-sign", "p-lp", chart, drafts)).json()
    with FhirTestServer(chart + drafts) as fhir:
        req = hook_request("order-sign", "p-lp", None, drafts, fhir_server=fhir.url)
        r = client.post(SIGN, json=req)
        assert r.status_code == 200, r.text
        assert any("/Patient/p-lp" in u for u in fhir.requests)
        assert any("Observation?patient=p-lp" in u for u in fhir.requests)

    def strip(body: dict[str, Any]) -> list[tuple[str, str, str]]:
        return sorted(
            (c["indicator"], c["summary"], c["source"]["topic"]["code"]) for c in body["cards"]
        )

    assert strip(r.json()) == strip(with_prefetch)


def test_partial_prefetch_fetches_only_missing_keys(client: TestClient) -> None:
    chart, drafts = lp_low_platelets()
    with FhirTestServer(chart) as fhir:
        req = hook_request("order-sign", "p-lp", chart, drafts, fhir_server=fhir.url)
        del req["prefetch"]["conditions"]
        r = client.post(SIGN, json=req)
        assert r.status_code == 200, r.text
        assert len(fhir.requests) == 1 and "/Condition?patient=p-lp" in fhir.requests[0]


def test_search_pagination_is_followed(client: TestClient) -> None:
    chart, drafts = lp_low_platelets()
    extra = [
        {**chart[1], "id": f"plt-{i}", "effectiveDateTime": f"2020-01-0{i + 1}T00:00:00Z"}
        for i in range(5)
    ]
    with FhirTestServer(chart + extra) as fhir:
        r = client.post(
            SIGN, json=hook_request("order-sign", "p-lp", None, drafts, fhir_server=fhir.url)
        )
        assert r.status_code == 200
        assert sum("_offset=" in u for u in fhir.requests) >= 2


def test_missing_prefetch_without_fhir_server_is_412(client: TestClient) -> None:
    r = client.post(SIGN, json=hook_request("order-sign", "p-lp", None, []))
    assert r.status_code == 412
    assert r.json()["resourceType"] == "OperationOutcome"
    assert "fhirServer" in r.json()["issue"][0]["expression"]


def test_unobtainable_prefetch_keys_are_named_and_the_rest_assessed(client: TestClient) -> None:
    """A key answered with an OperationOutcome (Epic, for a search the client may not run) or
    omitted, with no fhirServer to read it from, is unknown: the draft is still checked with what
    there is, and a warning names each key and why (never a silent 412 or a clean card set)."""
    chart, drafts = lp_low_platelets()
    req = hook_request("order-sign", "p-lp", chart, drafts)
    req["prefetch"]["medicationRequests"] = {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "warning", "code": "suppressed",
                   "diagnostics": "Client not authorized for MedicationRequest - Search"}],
    }  # fmt: skip
    del req["prefetch"]["observations"]
    r = client.post(SIGN, json=req)
    assert r.status_code == 200, r.text
    check_response(r.json())
    cards = {c["source"]["topic"]["code"]: c for c in r.json()["cards"]}
    assert "lp-safety-data-missing" in cards  # platelets unknown, not normal
    gap = cards["not-read"]
    assert gap["indicator"] == "warning"
    assert "medicationRequests" in gap["summary"] and "observations" in gap["summary"]
    assert "Client not authorized" in gap["detail"] and "not sent" in gap["detail"]


def test_one_stalled_search_costs_only_its_own_key() -> None:
    import asyncio

    from leptoguide.api.fhir_client import fetch_each

    chart, _ = lp_low_platelets()
    with FhirTestServer(chart, token=None) as fhir:
        got, failed = asyncio.run(
            fetch_each(
                fhir.url,
                None,
                {"patient": "Patient/{{context.patientId}}", "meds": "drip/MedicationRequest",
                 "user": "Practitioner/{{userPractitionerId}}"},
                {"patientId": "p-lp", "userId": "PractitionerRole/x"},
                timeout=1.0,
            )
        )  # fmt: skip
    assert got["patient"]["id"] == "p-lp"
    assert "within 1 s" in failed["meds"]
    assert "lacks a value" in failed["user"]


def _not_obtained(r: Any) -> dict[str, Any]:
    """The warning card of a 200 answer that could not obtain its chart data."""
    assert r.status_code == 200, r.text
    topics = {c["source"]["topic"]["code"]: c for c in r.json()["cards"]}
    assert "lp-safety-data-missing" in topics  # the draft LP is still checked: platelets unknown
    card: dict[str, Any] = topics["not-read"]
    assert card["indicator"] == "warning" and "patient" in card["summary"]
    return card


def test_fhir_server_errors_leave_the_drafts_checked(client: TestClient) -> None:
    """A FHIR server that refuses, lacks the patient, is gone or is not https costs the data it
    was to give, not the call: 200, the draft LP checked with platelets unknown, and a warning
    card naming each key not obtained and why. 412 only when there is nothing to assess."""
    chart, drafts = lp_low_platelets()
    with FhirTestServer(chart, token="another-token") as fhir:  # our token is refused
        r = client.post(
            SIGN, json=hook_request("order-sign", "p-lp", None, drafts, fhir_server=fhir.url)
        )
        assert "401" in _not_obtained(r)["detail"]
        r = client.post(
            SIGN, json=hook_request("order-sign", "p-lp", None, [], fhir_server=fhir.url)
        )
        assert r.status_code == 412 and "401" in r.text
    with FhirTestServer([]) as fhir:  # patient not found
        r = client.post(
            SIGN, json=hook_request("order-sign", "p-lp", None, drafts, fhir_server=fhir.url)
        )
        assert "404" in _not_obtained(r)["detail"]
    gone = FhirTestServer([])
    with gone:
        url = gone.url
    r = client.post(SIGN, json=hook_request("order-sign", "p-lp", None, drafts, fhir_server=url))
    assert "unreachable" in _not_obtained(r)["detail"]
    r = client.post(
        SIGN,
        json=hook_request("order-sign", "p", None, drafts, fhir_server="http://example.org/fhir"),
    )
    assert r.status_code == 200 and "https" in r.text


@pytest.mark.parametrize(
    "mutate,status,expression",
    [
        (lambda r: r.pop("hookInstance"), 422, "hookInstance"),
        (lambda r: r["context"].pop("patientId"), 400, "context.patientId"),
        (lambda r: r["context"].update(draftOrders=[1]), 400, "context.draftOrders"),
        (lambda r: r.update(hook="patient-view"), 400, "hook"),
        (lambda r: r["prefetch"].update(patient="x"), 400, "prefetch.patient"),
        (lambda r: r.update(context="nope"), 422, "context"),
    ],
)
def test_malformed_requests_get_operation_outcome(
    client: TestClient, mutate: Any, status: int, expression: str
) -> None:
    chart, drafts = lp_low_platelets()
    req = hook_request("order-sign", "p-lp", chart, drafts)
    mutate(req)
    r = client.post(SIGN, json=req)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    assert expression in body["issue"][0]["expression"]


def test_unknown_service_and_bad_json(client: TestClient) -> None:
    r = client.post("/cds-services/nope", json=hook_request("order-sign", "p", None, []))
    assert r.status_code == 404 and r.json()["resourceType"] == "OperationOutcome"
    r = client.post(SIGN, content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 400 and r.json()["resourceType"] == "OperationOutcome"


def test_hook_call_is_audited_with_cards_and_assessment(client: TestClient) -> None:
    chart, drafts = lp_low_platelets()
    body = client.post(SIGN, json=hook_request("order-sign", "p-lp", chart, drafts)).json()
    audit = client.app.state.leptoguide.audit  # type: ignore[attr-defined]
    event = audit.list(limit=1)[0]
    assert event.service == "cds-hooks/leptoguide-order-sign"
    assert event.patient_hash == audit.patient_hash("p-lp")
    assert "p-lp" not in event.output
    import json

    out = json.loads(event.output)
    assert [c["summary"] for c in out["response"]["cards"]] == [c["summary"] for c in body["cards"]]
    assert "findings" in out["assessment"]
    for card in body["cards"]:
        assert card["links"][0]["url"].endswith(f"/assess/{event.id}")
    assert audit.verify().ok


def test_feedback_is_stored(client: TestClient) -> None:
    from leptoguide.store.cds import list_feedback

    fb = {
        "feedback": [
            {"card": "card-1", "outcome": "accepted", "acceptedSuggestions": [{"id": "s-1"}],
             "outcomeTimestamp": "2026-11-21T10:00:00Z"},
            {"card": "card-2", "outcome": "overridden",
             "overrideReason": {"reason": {"system": "x", "code": "not-applicable", "display": "N/A"}, "userComment": "fine"},
             "outcomeTimestamp": "2026-11-21T10:01:00Z"},
        ]
    }  # fmt: skip
    r = client.post(SIGN + "/feedback", json=fb)
    assert r.status_code == 200, r.text
    rows = list_feedback(client.app.state.leptoguide.db)  # type: ignore[attr-defined]
    assert [(x["card"], x["outcome"]) for x in rows] == [
        ("card-1", "accepted"),
        ("card-2", "overridden"),
    ]
    bad = {
        "feedback": [
            {"card": "c", "outcome": "ignored", "outcomeTimestamp": "2026-11-21T10:00:00Z"}
        ]
    }
    r = client.post(SIGN + "/feedback", json=bad)
    assert r.status_code == 422 and "feedback[0].outcome" in r.json()["issue"][0]["expression"]
    r = client.post("/cds-services/nope/feedback", json=fb)
    assert r.status_code == 404


def test_cors_configured(tmp_path: Path) -> None:
    app = create_app(
        Settings.from_env(
            database_url=f"sqlite:///{tmp_path}/c.db", cors_origins=("https://ehr.example",)
        )
    )
    with TestClient(app) as c:
        r = c.options("/cds-services", headers={"Origin": "https://ehr.example", "Access-Control-Request-Method": "POST",
                                                 "Access-Control-Request-Headers": "authorization,content-type"})  # fmt: skip
        assert r.headers["access-control-allow-origin"] == "https://ehr.example"
        r = c.options(
            "/cds-services",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        )
        assert "access-control-allow-origin" not in r.headers
