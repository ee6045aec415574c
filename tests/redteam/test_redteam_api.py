"""The service never answers bad input with a 500: every 4xx is an OperationOutcome naming the
field. In-process FastAPI TestClient on SQLite in a temporary LEPTOGUIDE_HOME."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leptoguide.api.app import create_app
from leptoguide.settings import Settings
from redteam_util import REASSURING
from service_cases import bundle, hook_request, lp_low_platelets, lp_order, patient

SIGN = "/cds-services/leptoguide-order-sign"
SELECT = "/cds-services/leptoguide-order-select"
VIEW = "/cds-services/leptoguide-patient-view"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    home = tmp_path_factory.mktemp("rt-home")
    app = create_app(Settings.from_env(home=home, database_url=f"sqlite:///{home}/rt.db"))
    with TestClient(app, raise_server_exceptions=False) as c:
        yield c
    app.state.leptoguide.db.dispose()


def outcome(r: Any, *statuses: int, expression: str | None = None) -> dict[str, Any]:
    assert r.status_code in statuses, (r.status_code, r.text[:300])
    body: dict[str, Any] = r.json()
    assert body["resourceType"] == "OperationOutcome", body
    issue = body["issue"][0]
    assert issue["severity"] == "error" and issue.get("diagnostics"), body
    if expression is not None:
        exprs = [e for i in body["issue"] for e in i.get("expression", [])]
        assert any(expression in e for e in exprs) or expression in issue["diagnostics"], body
    return body


# ---- /api/assess -------------------------------------------------------------------------------

ASSESS_BAD: dict[str, tuple[bytes, str, int, str | None]] = {
    # name: (body, content type, status, expected field/diagnostic text)
    "empty": (b"", "application/json", 400, "body"),
    "broken json": (b"{", "application/json", 400, "malformed JSON"),
    "deep json": (b"[" * 5000 + b"]" * 5000, "application/json", 400, "depth"),
    "deep wrapper": (b'{"input":' * 3000 + b"{}" + b"}" * 3000, "application/json", 400, "depth"),
    "deep yaml": (b"a: " + b"[" * 3000 + b"]" * 3000, "application/yaml", 400, "nested"),
    "yaml bomb": (b"a: &a [1,1]\nb: [*a,*a]\n", "application/yaml", 400, "aliases"),
    "nan": (b'{"input": {"case_id": "x", "labs": [{"test": "platelets", "value": NaN}]}}',
            "application/json", 400, "malformed JSON"),
    "binary": (bytes(range(256)), "application/json", 400, "request body"),
    "wrong content type": (b"{}", "image/png", 415, "content type"),
    "wrapper unknown key": (b'{"input": {}, "extra": 1}', "application/json", 422, "extra"),
    "wrapper input list": (b'{"input": [1]}', "application/json", 422, "input"),
    "wrapper bad at": (b'{"input": {"case_id": "x"}, "at": "soon"}', "application/json", 422, "at"),
    "wrapper at number": (b'{"input": {"case_id": "x"}, "at": 5}', "application/json", 422, "at"),
    "wrapper audience": (b'{"input": {"case_id": "x"}, "audience": "cat"}', "application/json",
                         422, "audience"),
    "wrong resourceType": (b'{"resourceType": "Banana"}', "application/fhir+json", 422,
                           "resourceType"),
    "bundle type list": (b'{"resourceType": "Bundle", "type": []}', "application/json", 422,
                         "type"),
    "duplicate-free garbage": (b'"just a string"', "application/json", 422, "expected a FHIR"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(ASSESS_BAD))
def test_assess_rejects_bad_bodies(client: TestClient, name: str) -> None:
    body, ctype, status, needle = ASSESS_BAD[name]
    r = client.post("/api/assess", content=body, headers={"content-type": ctype})
    outcome(r, status, expression=needle)


def test_assess_20_mb_body_is_413(client: TestClient) -> None:
    r = client.post("/api/assess", content=b" " * (20 * 1024 * 1024) + b"{}",
                    headers={"content-type": "application/json"})  # fmt: skip
    outcome(r, 413)


@pytest.mark.parametrize("at", ["yesterday", "2026-13-01T00:00", "2026-11-20T25:00:00"])
def test_assess_bad_at_query(client: TestClient, at: str) -> None:
    chart, drafts = lp_low_platelets()
    outcome(client.post(f"/api/assess?at={at}", json=bundle(chart + drafts)), 422, expression="at")


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.binary(max_size=200), ctype=st.sampled_from(["application/json", "application/yaml"])
)
def test_assess_random_bytes_never_500(client: TestClient, body: bytes, ctype: str) -> None:
    r = client.post("/api/assess", content=body, headers={"content-type": ctype})
    assert r.status_code != 500, r.text
    if r.status_code >= 400:
        outcome(r, r.status_code)


# ---- CDS Hooks -----------------------------------------------------------------------------------


def _req(hook: str = "order-sign") -> dict[str, Any]:
    chart, drafts = lp_low_platelets()
    return hook_request(hook, "p-lp", chart, drafts)


MUTATIONS: dict[str, tuple[Callable[[dict[str, Any]], Any], int, str]] = {
    "no hook": (lambda r: r.pop("hook"), 422, "hook"),
    "no hookInstance": (lambda r: r.pop("hookInstance"), 422, "hookInstance"),
    "no context": (lambda r: r.pop("context"), 422, "context"),
    "context null": (lambda r: r.update(context=None), 422, "context"),
    "wrong hook": (lambda r: r.update(hook="patient-view"), 400, "hook"),
    "no patientId": (lambda r: r["context"].pop("patientId"), 400, "context.patientId"),
    "userId number": (lambda r: r["context"].update(userId=7), 400, "context.userId"),
    "draftOrders not a Bundle": (lambda r: r["context"].update(draftOrders={"resourceType": "Patient"}),
                                 400, "context.draftOrders"),
    "draftOrders list": (lambda r: r["context"].update(draftOrders=[]), 400, "context.draftOrders"),
    "draftOrders entry not list": (lambda r: r["context"]["draftOrders"].update(entry=5), 400,
                                   "context.draftOrders.entry"),
    "prefetch list": (lambda r: r.update(prefetch=[1]), 422, "prefetch"),
    "prefetch value string": (lambda r: r["prefetch"].update(patient="x"), 400, "prefetch.patient"),
    "fhirAuthorization string": (lambda r: r.update(fhirAuthorization="x"), 422,
                                 "fhirAuthorization"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(MUTATIONS))
def test_cds_malformed_requests(client: TestClient, name: str) -> None:
    mutate, status, expression = MUTATIONS[name]
    req = _req()
    mutate(req)
    outcome(client.post(SIGN, json=req), status, expression=expression)


# Parts of an otherwise readable request that cannot be used: the rest is assessed (200) and a card
# names each part left out, with the reason.
PARTIAL: dict[str, tuple[Callable[[dict[str, Any]], Any], str, str]] = {
    "draftOrders entry null": (lambda r: r["context"]["draftOrders"]["entry"].append(None),
                               "context.draftOrders.entry[1]", "warning"),
    "draftOrders resource string": (lambda r: r["context"]["draftOrders"]["entry"].append(
        {"resource": "ServiceRequest/lp"}), "context.draftOrders.entry[1]", "warning"),
    "prefetch bundle entry int": (lambda r: r["prefetch"].update(
        observations={"resourceType": "Bundle", "entry": 5}), "prefetch.observations.entry", "info"),
    "prefetch bundle entry string": (lambda r: r["prefetch"].update(
        observations={"resourceType": "Bundle", "entry": "abc"}), "prefetch.observations", "info"),
    "prefetch search string": (lambda r: r["prefetch"].update(observations={
        "resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Observation"},
                                             "search": "match"}]}),
        "prefetch.observations.entry[0]", "info"),
    "prefetch resource bad field": (lambda r: r["prefetch"].update(
        patient={"resourceType": "Patient", "id": "p-lp", "birthDate": 5}), "birthDate", "info"),
}  # fmt: skip


@pytest.mark.parametrize("name", sorted(PARTIAL))
def test_cds_unusable_parts_are_named_and_the_rest_assessed(client: TestClient, name: str) -> None:
    mutate, where, indicator = PARTIAL[name]
    req = _req()
    mutate(req)
    r = client.post(SIGN, json=req)
    assert r.status_code == 200, r.text
    cards = r.json()["cards"]
    not_read = [c for c in cards if c["source"]["topic"]["code"] == "not-read"]
    assert len(not_read) == 1 and where in not_read[0]["detail"], cards
    assert not_read[0]["indicator"] == indicator
    assert any(c["source"]["topic"]["code"].startswith("lp-") for c in cards), cards


def test_one_unreadable_resource_does_not_fail_the_document(client: TestClient) -> None:
    """Fail closed locally: the bad entry is named in a warning; the rest is assessed."""
    r = client.post("/api/assess", content=b'{"resourceType": "Bundle", "entry": [null]}',
                    headers={"content-type": "application/json"})  # fmt: skip
    assert r.status_code == 200, r.text
    assert any(w["where"] == "entry[0]" for w in r.json()["warnings"]), r.text
    req = _req()
    req["prefetch"]["patient"] = {"resourceType": "Patient", "id": "p", "birthDate": 5}
    r = client.post(SIGN, json=req)
    assert r.status_code == 200, r.text


def test_cds_draft_order_that_cannot_be_read_is_never_an_empty_answer(client: TestClient) -> None:
    """A garbled draft order must not come back as 200 with no cards (reads as 'nothing wrong')."""
    req = _req()
    req["context"]["draftOrders"]["entry"] = [None, {"resource": 5}]
    r = client.post(SIGN, json=req)
    assert r.status_code == 200, r.text
    (card,) = r.json()["cards"]
    assert card["indicator"] == "warning" and "was not checked" in card["summary"]
    assert "context.draftOrders.entry[0]" in card["detail"]
    assert "context.draftOrders.entry[1]" in card["detail"]


@pytest.mark.parametrize("path", [SIGN, SELECT])
def test_cds_lp_without_labs_says_what_is_missing(client: TestClient, path: str) -> None:
    pid = "p-nolabs"
    req = hook_request(
        "order-sign" if path == SIGN else "order-select", pid, [patient(pid)], [lp_order(pid)]
    )
    r = client.post(path, json=req)
    assert r.status_code == 200, r.text
    cards = r.json()["cards"]
    assert cards, "an LP with no platelets or INR must produce a card"
    text = json.dumps(cards)
    assert "platelets" in text.lower() and "missing" in text.lower()
    assert not REASSURING.search(text), REASSURING.findall(text)
    for card in cards:
        assert card["indicator"] in ("warning", "critical"), card


json_leaf = st.none() | st.booleans() | st.integers() | st.text(max_size=10)
garbage = st.recursive(
    json_leaf,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=10,
)
FIELDS = [("hook",), ("hookInstance",), ("context",), ("prefetch",), ("context", "draftOrders"),
          ("context", "userId"), ("context", "patientId"), ("prefetch", "patient"),
          ("prefetch", "observations"), ("context", "draftOrders", "entry"),
          ("fhirServer",), ("fhirAuthorization",)]  # fmt: skip


@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(field=st.sampled_from(FIELDS), value=garbage)
def test_cds_garbage_anywhere_never_500(
    client: TestClient, field: tuple[str, ...], value: Any
) -> None:
    req = copy.deepcopy(_req())
    target = req
    for key in field[:-1]:
        target = target[key] if isinstance(target.get(key), dict) else target.setdefault(key, {})
    target[field[-1]] = value
    r = client.post(SIGN, json=req)
    assert r.status_code != 500, (field, value, r.text)
    if r.status_code >= 400:
        outcome(r, r.status_code)


FEEDBACK_BAD: list[Any] = [
    {}, {"feedback": []}, {"feedback": "x"}, [1], {"feedback": [{}]},
    {"feedback": [{"card": "c", "outcome": "maybe", "outcomeTimestamp": "2026-01-01T00:00:00Z"}]},
    {"feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": "garbage"}]},
    {"feedback": [{"card": "c", "outcome": "accepted", "outcomeTimestamp": "2026-01-01T00:00:00"}]},
    {"feedback": [{"card": "c" * 500, "outcome": "accepted", "outcomeTimestamp": "2026-01-01T00:00:00Z"}]},
    {"feedback": [{"card": "c", "outcome": "overridden", "outcomeTimestamp": "2026-01-01T00:00:00Z",
                   "overrideReason": {"reason": "not a coding"}}]},
]  # fmt: skip


@pytest.mark.parametrize("body", FEEDBACK_BAD)
def test_feedback_garbage_is_4xx(client: TestClient, body: Any) -> None:
    outcome(client.post(SIGN + "/feedback", json=body), 400, 422)


def test_feedback_binary_and_unknown_service(client: TestClient) -> None:
    r = client.post(SIGN + "/feedback", content=bytes(range(256)),
                    headers={"content-type": "application/json"})  # fmt: skip
    outcome(r, 400)
    outcome(client.post("/cds-services/nope/feedback", json={"feedback": []}), 404, 422)


# ---- /api/ask ------------------------------------------------------------------------------------

ASK_BAD: list[tuple[Any, str]] = [
    ({}, "question"), ({"question": 5}, "question"), ({"question": ""}, "question"),
    ({"question": "   "}, "question"), ({"question": "x" * 3000}, "question"),
    ({"question": "lp", "top_k": 0}, "top_k"), ({"question": "lp", "top_k": True}, "top_k"),
    ({"question": "lp", "top_k": "3"}, "top_k"), ({"question": "lp", "audience": "x"}, "audience"),
    ({"question": "lp", "conversation_id": "../../etc"}, "conversation_id"),
    ({"question": "lp", "extra": 1}, "extra"), ([1], "body"),
]  # fmt: skip


@pytest.mark.parametrize("body,field", ASK_BAD)
def test_ask_bad_bodies(client: TestClient, body: Any, field: str) -> None:
    outcome(client.post("/api/ask", json=body), 422, expression=field)


def test_ask_bad_json(client: TestClient) -> None:
    r = client.post("/api/ask", content=b"[" * 5000, headers={"content-type": "application/json"})
    outcome(r, 400, 422)


def test_cds_nan_platelets_in_prefetch_is_an_error_not_silence(client: TestClient) -> None:
    """FastAPI's JSON parser accepts NaN; a NaN platelet count must not pass every threshold."""
    req = _req()
    obs = req["prefetch"]["observations"]
    plt = next(e["resource"] for e in obs["entry"] if "valueQuantity" in e["resource"])
    plt["valueQuantity"]["value"] = 0.0
    body = json.dumps(req).replace('"value": 0.0', '"value": NaN', 1).encode()
    r = client.post(SIGN, content=body, headers={"content-type": "application/json"})
    outcome(r, 400)  # NaN is not JSON (RFC 8259): the request is refused, never read as a value
