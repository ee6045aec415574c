"""CDS Hooks called the way EHRs call it: drafts that also sit in the prefetch, drafts with other
statuses or without ids, other patients' resources, unreadable values, suggestions that name the
exact order, intrathecal cards only for intrathecal orders."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cdsutil import check_response
from leptoguide.api.app import create_app
from leptoguide.settings import Settings
from service_cases import (
    LM,
    LOINC,
    RXNORM,
    SCT,
    condition,
    hook_request,
    it_methotrexate_order,
    it_mtx_flow_block,
    lp_low_platelets,
    lp_order,
    observation,
    patient,
    searchset,
)
from service_fhir_server import FhirTestServer
from service_shapes import IV, ORAL, med_order

SIGN = "/cds-services/leptoguide-order-sign"
SELECT = "/cds-services/leptoguide-order-select"


@pytest.fixture
def client(migrated_db_url: str) -> Iterator[TestClient]:
    app = create_app(Settings.from_env(database_url=migrated_db_url))
    with TestClient(app) as c:
        yield c
    app.state.leptoguide.db.dispose()


def _cards(client: TestClient, path: str, req: dict[str, Any]) -> list[dict[str, Any]]:
    r = client.post(path, json=req)
    assert r.status_code == 200, r.text
    body = r.json()
    check_response(body)
    cards: list[dict[str, Any]] = body["cards"]
    return cards


def _rules(cards: list[dict[str, Any]]) -> set[str]:
    return {c["source"]["topic"]["code"] for c in cards}


# ---- draft orders are the truth ----------------------------------------------------------------


@pytest.mark.parametrize("status", ["active", "draft", "on-hold"])
def test_draft_also_in_prefetch_as_active_keeps_its_card(client: TestClient, status: str) -> None:
    """The EHR persists the pending LP: the prefetch copy (status active) must not hide the draft."""
    chart, drafts = lp_low_platelets()
    pending = dict(drafts[0], status="active")
    req = hook_request("order-sign", "p-lp", [*chart, pending], [dict(drafts[0], status=status)])
    cards = _cards(client, SIGN, req)
    assert "lp-platelets-low" in _rules(cards), _rules(cards)


@pytest.mark.parametrize("status", ["active", "completed", "unknown"])
def test_draft_orders_count_whatever_their_status(client: TestClient, status: str) -> None:
    chart, drafts = lp_low_platelets()
    req = hook_request("order-sign", "p-lp", chart, [dict(drafts[0], status=status)])
    req["context"]["draftOrders"]["entry"][0]["resource"]["intent"] = "proposal"
    assert "lp-platelets-low" in _rules(_cards(client, SIGN, req))


def test_pending_copy_returned_by_fhir_server_does_not_replace_the_draft(
    client: TestClient,
) -> None:
    chart, drafts = lp_low_platelets()
    pending = dict(drafts[0], status="active")
    with FhirTestServer([*chart, pending]) as fhir:
        req = hook_request("order-sign", "p-lp", None, drafts, fhir_server=fhir.url)
        cards = _cards(client, SIGN, req)
    assert "lp-platelets-low" in _rules(cards)


def test_drafts_without_ids_get_stable_references(client: TestClient) -> None:
    pid = "p-it"
    chart, _ = it_mtx_flow_block(pid)
    no_id = {k: v for k, v in it_methotrexate_order(pid).items() if k != "id"}
    req = hook_request("order-sign", pid, chart, [no_id])
    with_url = copy.deepcopy(req)
    with_url["context"]["draftOrders"]["entry"][0]["fullUrl"] = "urn:uuid:6f1c0b1e-0d8e-4c71"

    def delete_targets(r: dict[str, Any]) -> list[str]:
        cards = _cards(client, SIGN, r)
        (card,) = [c for c in cards if c["source"]["topic"]["code"] == "it-chemo-csf-flow-block"]
        return [a["resourceId"] for s in card["suggestions"] for a in s["actions"]]

    first = delete_targets(req)
    assert first == delete_targets(copy.deepcopy(req))  # same request, same reference
    assert first[0].startswith("MedicationRequest/draft-0-") and "entry[" not in first[0]
    assert delete_targets(with_url) == ["urn:uuid:6f1c0b1e-0d8e-4c71"]


# ---- one patient, partial results ----------------------------------------------------------------


def test_other_patients_resources_are_dropped_and_named(client: TestClient) -> None:
    pid = "p-a"
    chart = [
        patient(pid),
        observation(pid, "plt-a", LOINC, "777-3", "Platelets", valueQuantity={"value": 250, "unit": "10*9/L"}),
        observation(pid, "inr-a", LOINC, "6301-6", "INR", valueQuantity={"value": 1.0, "unit": "{INR}"}),
        observation("p-b", "plt-b", LOINC, "777-3", "Platelets", valueQuantity={"value": 20, "unit": "10*9/L"}),
        patient("p-b"),
    ]  # fmt: skip
    req = hook_request("order-sign", pid, chart, [lp_order(pid)])
    req["prefetch"]["patient"] = chart[0]
    req["prefetch"]["observations"]["entry"][2]["resource"]["effectiveDateTime"] = chart[0].get(
        "x", req["prefetch"]["observations"]["entry"][0]["resource"]["effectiveDateTime"]
    )
    cards = _cards(client, SIGN, req)
    assert "lp-platelets-low" not in _rules(cards)
    (note,) = [c for c in cards if c["source"]["topic"]["code"] == "not-read"]
    assert "Observation/plt-b" in note["detail"] and "another patient (p-b)" in note["detail"]


def test_unreadable_unrelated_value_does_not_silence_the_hook(client: TestClient) -> None:
    """A lab reported as "<5" in the value field of an unrelated result: the LP still gets its card."""
    chart, drafts = lp_low_platelets()
    crp = observation(
        "p-lp",
        "obs-crcl",
        LOINC,
        "35591-7",
        "Creatinine clearance",
        valueQuantity={"value": "<5", "unit": "mL/min"},
    )
    req = hook_request("order-sign", "p-lp", [*chart, crp], drafts)
    cards = _cards(client, SIGN, req)
    assert "lp-platelets-low" in _rules(cards)
    (note,) = [c for c in cards if c["source"]["topic"]["code"] == "not-read"]
    assert note["indicator"] == "info" and "Observation/obs-crcl" in note["detail"]
    assert "valueQuantity.value" in note["detail"]


def test_draft_for_another_patient_is_a_warning(client: TestClient) -> None:
    chart, _ = lp_low_platelets()
    req = hook_request("order-sign", "p-lp", chart, [lp_order("p-other")])
    cards = _cards(client, SIGN, req)
    (note,) = [c for c in cards if c["source"]["topic"]["code"] == "not-read"]
    assert note["indicator"] == "warning" and "another patient (p-other)" in note["detail"]
    assert "lp-platelets-low" not in _rules(cards)


# ---- suggestions name the exact order ----------------------------------------------------------------


def _neonate(pid: str = "p-neo") -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    import datetime as dt

    birth = (dt.date.today() - dt.timedelta(days=10)).isoformat()
    chart = [patient(pid, birth=birth, sex="male")]
    drafts = [
        med_order(pid, "cro", "2193", "ceftriaxone", IV),
        med_order(pid, "cagluc", "1908", "calcium gluconate", IV),
    ]
    return chart, drafts


@pytest.mark.parametrize("path", [SIGN, SELECT])
def test_neonate_ceftriaxone_calcium_never_suggests_deleting_calcium(
    client: TestClient, path: str
) -> None:
    chart, drafts = _neonate()
    hook = "order-sign" if path == SIGN else "order-select"
    cards = _cards(client, path, hook_request(hook, "p-neo", chart, drafts))
    (card,) = [c for c in cards if c["source"]["topic"]["code"] == "ceftriaxone-calcium-neonate"]
    assert card["selectionBehavior"] == "at-most-one"
    assert sum(s["isRecommended"] for s in card["suggestions"]) == 1
    deleted = {
        a["resourceId"] for s in card["suggestions"] for a in s["actions"] if a["type"] == "delete"
    }
    assert deleted == {"MedicationRequest/cro"}
    replace = [s for s in card["suggestions"] if len(s["actions"]) == 2]
    assert replace, card["suggestions"]
    created = replace[0]["actions"][1]["resource"]
    assert created["resourceType"] == "MedicationRequest" and created["status"] == "draft"
    coding = created["medicationCodeableConcept"]["coding"][0]
    assert (coding["system"], coding["code"]) == (RXNORM, "2186")  # cefotaxime, from terminology
    assert created["subject"] == {"reference": "Patient/p-neo"}


def test_at_most_one_recommended_even_with_two_target_orders(client: TestClient) -> None:
    chart, drafts = _neonate()
    second = med_order("p-neo", "cro-2", "2193", "ceftriaxone", IV)
    cards = _cards(client, SIGN, hook_request("order-sign", "p-neo", chart, [*drafts, second]))
    (card,) = [c for c in cards if c["source"]["topic"]["code"] == "ceftriaxone-calcium-neonate"]
    assert sum(s["isRecommended"] for s in card["suggestions"]) <= 1
    targets = {
        a["resourceId"] for s in card["suggestions"] for a in s["actions"] if a["type"] == "delete"
    }
    assert targets == {"MedicationRequest/cro", "MedicationRequest/cro-2"}


@pytest.mark.parametrize(
    "draft",
    [
        med_order("p-it", "tras-iv", "224905", "trastuzumab", IV),
        med_order("p-it", "mtx-po", "6851", "methotrexate", ORAL),
    ],
    ids=["iv-trastuzumab", "oral-methotrexate"],
)
def test_non_intrathecal_orders_get_no_intrathecal_card(
    client: TestClient, draft: dict[str, Any]
) -> None:
    """An IT order already exists and the flow is blocked; the new IV / oral order is not IT."""
    chart, _ = it_mtx_flow_block("p-it")
    existing = dict(it_methotrexate_order("p-it", "mtx-it-old"), status="active")
    cards = _cards(client, SIGN, hook_request("order-sign", "p-it", [*chart, existing], [draft]))
    it_rules = {"it-chemo-csf-flow-block", "it-mtx-schedule", "csf-flow-study-before-it"}
    assert not (_rules(cards) & it_rules), _rules(cards)
    for card in cards:
        for s in card.get("suggestions") or []:
            assert all(a.get("resourceId") != "MedicationRequest/mtx-it-old" for a in s["actions"])


@pytest.mark.parametrize("route", ["Intraventricular", "via Ommaya", "intrathecal"])
def test_ventricular_access_card_only_for_lumbar_intrathecal_orders(
    client: TestClient, route: str
) -> None:
    """An order given into the ventricles (intraventricular, "via Ommaya") is itself given
    through ventricular access: no card may say it is planned without one, even when the chart
    records no reservoir Device; a lumbar intrathecal order without one still gets it."""
    chart, _ = it_mtx_flow_block()
    chart = [r for r in chart if r.get("id") != "obs-flow"]
    order = med_order("p-it", "mtx-ivt", "6851", "methotrexate", None)
    order["dosageInstruction"] = [{"route": {"text": route}}]
    cards = _cards(client, SIGN, hook_request("order-sign", "p-it", chart, [order]))
    assert ("it-route-ventricular" in _rules(cards)) == (route == "intrathecal")


def test_intrathecal_order_with_flow_block_targets_that_order(client: TestClient) -> None:
    chart, drafts = it_mtx_flow_block("p-it")
    cards = _cards(client, SIGN, hook_request("order-sign", "p-it", chart, drafts))
    (card,) = [c for c in cards if c["source"]["topic"]["code"] == "it-chemo-csf-flow-block"]
    assert card["indicator"] == "critical"
    (sug,) = card["suggestions"]
    assert sug["isRecommended"] and sug["actions"][0] == {
        "type": "delete",
        "description": sug["actions"][0]["description"],
        "resourceId": "MedicationRequest/mtx-draft",
    }


# ---- create suggestions --------------------------------------------------------------------------


def test_lp_without_inr_suggests_ordering_an_inr_only(client: TestClient) -> None:
    chart, drafts = lp_low_platelets()
    chart = [r for r in chart if r.get("id") != "obs-inr"]
    cards = _cards(client, SIGN, hook_request("order-sign", "p-lp", chart, drafts))
    (card,) = [c for c in cards if c["source"]["topic"]["code"] == "lp-safety-data-missing"]
    assert card["selectionBehavior"] == "any"
    (sug,) = card["suggestions"]
    (action,) = sug["actions"]
    assert action["type"] == "create"
    res = action["resource"]
    assert res["resourceType"] == "ServiceRequest" and res["intent"] == "proposal"
    assert {(c["system"], c["code"]) for c in res["code"]["coding"]} >= {(LOINC, "6301-6")}


def test_stale_platelets_and_no_inr_suggest_both(client: TestClient) -> None:
    chart, drafts = lp_low_platelets()
    chart = [r for r in chart if r.get("id") != "obs-inr"]
    for r in chart:
        if r.get("id") == "obs-plt":
            r["effectiveDateTime"] = "2020-01-01T08:00:00Z"
    cards = _cards(client, SIGN, hook_request("order-sign", "p-lp", chart, drafts))
    (card,) = [c for c in cards if c["source"]["topic"]["code"] == "lp-safety-data-missing"]
    codes = {
        c["code"]
        for s in card["suggestions"]
        for a in s["actions"]
        for c in a["resource"]["code"].get("coding", [])
    }
    assert {"777-3", "6301-6"} <= codes


def test_intrathecal_order_without_flow_study_suggests_one(client: TestClient) -> None:
    pid = "p-it2"
    chart = [
        patient(pid),
        condition(pid, "c-lm", "http://hl7.org/fhir/sid/icd-10-cm", "C79.32", "Leptomeningeal metastasis"),
        condition(pid, "c-bc", SCT, "254837009", "Breast cancer"),
    ]  # fmt: skip
    cards = _cards(
        client, SIGN, hook_request("order-sign", pid, chart, [it_methotrexate_order(pid)])
    )
    (card,) = [c for c in cards if c["source"]["topic"]["code"] == "csf-flow-study-before-it"]
    (sug,) = card["suggestions"]
    res = sug["actions"][0]["resource"]
    assert res["resourceType"] == "ServiceRequest" and "flow" in res["code"]["text"].lower()


def test_flow_study_recorded_means_no_create(client: TestClient) -> None:
    chart, drafts = it_mtx_flow_block("p-it")
    for r in chart:
        if r.get("id") == "obs-flow":
            r["valueCodeableConcept"] = {"coding": [{"system": LM, "code": "normal"}]}
    cards = _cards(client, SIGN, hook_request("order-sign", "p-it", chart, drafts))
    assert "csf-flow-study-before-it" not in _rules(cards)


def test_order_select_selections_limit_targets(client: TestClient) -> None:
    chart, drafts = _neonate()
    req = hook_request("order-select", "p-neo", chart, drafts)
    req["context"]["selections"] = ["MedicationRequest/cagluc"]
    cards = _cards(client, SELECT, req)
    (card,) = [c for c in cards if c["source"]["topic"]["code"] == "ceftriaxone-calcium-neonate"]
    # the calcium order is selected; the card still only ever offers to remove the ceftriaxone
    for s in card.get("suggestions") or []:
        assert all(a.get("resourceId") != "MedicationRequest/cagluc" for a in s["actions"])


@pytest.mark.parametrize(
    "selection",
    ["ServiceRequest/lp-draft", "https://ehr.example.org/R4/ServiceRequest/lp-draft",
     "https://other.example.org/fhir/ServiceRequest/lp-draft/_history/2"],
)  # fmt: skip
def test_order_select_selection_by_full_url_or_absolute_url(
    client: TestClient, selection: str
) -> None:
    """Only the selected LP is checked at order-select, however the client writes the selection
    (the spec's Type/id, the draft's fullUrl, an absolute or versioned URL): the unselected
    intrathecal order with a flow block gets no card."""
    lp_chart, lp_drafts = lp_low_platelets("p-x")
    it_chart, it_drafts = it_mtx_flow_block("p-x")
    req = hook_request("order-select", "p-x", [*lp_chart, it_chart[1]], [*lp_drafts, *it_drafts])
    req["context"]["draftOrders"]["entry"][0]["fullUrl"] = (
        "https://ehr.example.org/R4/ServiceRequest/lp-draft"
    )
    req["context"]["selections"] = [selection]
    rules = _rules(_cards(client, SELECT, req))
    assert "lp-platelets-low" in rules
    assert "it-chemo-csf-flow-block" not in rules


def test_searchset_prefetch_with_outcome_entries_is_read(client: TestClient) -> None:
    chart, drafts = lp_low_platelets()
    req = hook_request("order-sign", "p-lp", chart, drafts)
    obs = req["prefetch"]["observations"]
    obs["entry"].append(
        {
            "resource": {
                "resourceType": "OperationOutcome",
                "issue": [{"severity": "warning", "code": "informational"}],
            },
            "search": {"mode": "outcome"},
        }
    )
    req["prefetch"]["procedures"] = searchset([])
    cards = _cards(client, SIGN, req)
    assert "lp-platelets-low" in _rules(cards)
    assert "not-read" not in _rules(cards)


# ---- coded override reasons, counted per rule ---------------------------------------------------


def test_override_analytics_per_rule(client: TestClient) -> None:
    import datetime as dt
    import uuid

    from leptoguide.api.cards import card_topic

    chart, drafts = _neonate()
    cards = _cards(client, SIGN, hook_request("order-sign", "p-neo", chart, drafts))
    (card,) = [c for c in cards if c["source"]["topic"]["code"] == "ceftriaxone-calcium-neonate"]
    assert card_topic(card["uuid"], ["lp-platelets-low", "ceftriaxone-calcium-neonate"]) == (
        "ceftriaxone-calcium-neonate"
    )
    assert card_topic(str(uuid.uuid4()), ["ceftriaxone-calcium-neonate"]) is None
    reason = card["overrideReasons"][0]
    assert set(reason) == {"system", "code", "display"}
    now = dt.datetime.now(dt.UTC).isoformat()
    feedback = {
        "feedback": [
            {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": now,
             "overrideReason": {"reason": reason, "userComment": "calcium stopped"}},
            {"card": card["uuid"], "outcome": "overridden", "outcomeTimestamp": now,
             "overrideReason": {"reason": reason}},
            {"card": card["uuid"], "outcome": "accepted", "outcomeTimestamp": now,
             "acceptedSuggestions": [{"id": card["suggestions"][0]["uuid"]}]},
            {"card": str(uuid.uuid4()), "outcome": "overridden", "outcomeTimestamp": now,
             "overrideReason": {"userComment": "no reason picked"}},
        ]
    }  # fmt: skip
    r = client.post(SIGN + "/feedback", json=feedback)
    assert r.status_code == 200, r.text
    rows = {row["rule"]: row for row in client.get("/api/cds/overrides").json()["rules"]}
    neo = rows["ceftriaxone-calcium-neonate"]
    assert (neo["accepted"], neo["overridden"], neo["comments"]) == (1, 2, 1)
    assert neo["override_rate"] == round(2 / 3, 3) and neo["title"]
    assert neo["reasons"] == [
        {"reason": f"{reason['system']}|{reason['code']}", "display": reason["display"], "count": 2}
    ]
    assert rows[None]["reasons"][0]["reason"] == "uncoded"
