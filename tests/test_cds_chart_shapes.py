"""CDS Hooks with real-shaped chart data in the prefetch: a laboratory report holding its results in
``contained``, a completed infusion whose period has no end, and an order whose Medication the
prefetch did not include. The same chart read by ``leptoguide assess`` gives the same facts; the
cards must never be silent about what could not be used near an LP."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cdsutil import check_response
from leptoguide.api.app import create_app
from leptoguide.settings import Settings
from service_cases import hook_request, lp_order, patient, searchset

SIGN = "/cds-services/leptoguide-order-sign"
PID = "p-shapes"
UKLAB = "https://pathology.example.nhs.uk/codes"


def _ago(hours: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)).isoformat(timespec="seconds")


@pytest.fixture
def client(migrated_db_url: str) -> Iterator[TestClient]:
    app = create_app(Settings.from_env(database_url=migrated_db_url))
    with TestClient(app) as c:
        yield c
    app.state.leptoguide.db.dispose()


def _cards(client: TestClient, req: dict[str, Any]) -> dict[str, dict[str, Any]]:
    r = client.post(SIGN, json=req)
    assert r.status_code == 200, r.text
    body = r.json()
    check_response(body)
    return {c["source"]["topic"]["code"]: c for c in body["cards"]}


def _lab(rid: str, name: str, value: float, unit: str) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": UKLAB, "code": rid.upper(), "display": name}]},
        "valueQuantity": {"value": value, "unit": unit},
    }


def test_results_contained_in_a_sent_report_reach_the_lp_check(client: TestClient) -> None:
    report = {
        "resourceType": "DiagnosticReport",
        "id": "fbc",
        "status": "final",
        "subject": {"reference": f"Patient/{PID}"},
        "code": {"text": "Full blood count"},
        "effectiveDateTime": _ago(3),
        "contained": [_lab("plt", "Platelet count", 35, "×10⁹/L"), _lab("inr", "INR", 1.0, "")],
        "result": [{"reference": "#plt"}, {"reference": "#inr"}],
    }
    req = hook_request("order-sign", PID, [patient(PID)], [lp_order(PID)])
    req["prefetch"]["diagnosticReports"] = searchset([report])
    cards = _cards(client, req)
    assert "lp-platelets-low" in cards, sorted(cards)
    assert "35" in cards["lp-platelets-low"]["summary"]


def test_a_completed_infusion_without_an_end_is_not_interval_met(client: TestClient) -> None:
    heparin = {
        "resourceType": "MedicationAdministration",
        "id": "hep",
        "status": "completed",
        "subject": {"reference": f"Patient/{PID}"},
        "medicationCodeableConcept": {"text": "heparin 25,000 units in dextrose 5% 250 mL"},
        "effectivePeriod": {"start": _ago(10)},  # stopped at a time the record does not give
    }
    req = hook_request("order-sign", PID, [patient(PID), heparin], [lp_order(PID)])
    cards = _cards(client, req)
    assert "lp-anticoagulant-interval-met" not in cards
    assert "timing unknown" in cards["lp-anticoagulant-timing"]["summary"]


def test_an_order_whose_medication_was_not_prefetched_is_a_warning(client: TestClient) -> None:
    order = {
        "resourceType": "MedicationRequest",
        "id": "mr-ref",
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{PID}"},
        "medicationReference": {"reference": "Medication/med-991"},  # not in the prefetch
        "authoredOn": _ago(30),
    }
    req = hook_request("order-sign", PID, [patient(PID), order], [lp_order(PID)])
    cards = _cards(client, req)
    card = cards["not-read"]
    assert card["indicator"] == "warning"
    assert "check before the LP" in card["summary"]
    assert "MedicationRequest/mr-ref" in card["detail"] and "Medication/med-991" in card["detail"]


@pytest.mark.parametrize(
    ("medication", "warned"),
    [
        ({"text": "Study drug XR-42 10 mg tablet"}, True),  # may be anything
        (  # an RxNorm drug outside the listed anticoagulant and antiplatelet products
            {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                         "code": "860975", "display": "24 HR Metformin hydrochloride 500 MG "
                         "Extended Release Oral Tablet"}]},  # as Synthea sends it
            False,
        ),
    ],
)  # fmt: skip
def test_only_unidentifiable_drugs_raise_the_check_before_the_lp(
    client: TestClient, medication: dict[str, Any], warned: bool
) -> None:
    order = {
        "resourceType": "MedicationRequest",
        "id": "mr-x",
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{PID}"},
        "medicationCodeableConcept": medication,
        "authoredOn": _ago(30),
    }
    cards = _cards(client, hook_request("order-sign", PID, [patient(PID), order], [lp_order(PID)]))
    card = cards.get("not-read")
    assert (card is not None and card["indicator"] == "warning") == warned, card


def test_resources_sent_under_keys_of_the_clients_own_are_read(client: TestClient) -> None:
    """A home anticoagulant sent as a MedicationStatement under 'medicationStatements', and the
    Medication an order refers to under 'medications': neither key is asked for, both are read."""
    rx = "http://www.nlm.nih.gov/research/umls/rxnorm"
    statement = {
        "resourceType": "MedicationStatement",
        "id": "ms-apix",
        "status": "active",
        "subject": {"reference": f"Patient/{PID}"},
        "medicationCodeableConcept": {
            "coding": [{"system": rx, "code": "1364445", "display": "apixaban 5 MG Oral Tablet"}]
        },
        "effectiveDateTime": _ago(10),
    }
    order = {
        "resourceType": "MedicationRequest",
        "id": "mr-clop",
        "status": "active",
        "intent": "order",
        "subject": {"reference": f"Patient/{PID}"},
        "medicationReference": {"reference": "Medication/med-clop"},
        "authoredOn": _ago(30),
    }
    medication = {
        "resourceType": "Medication",
        "id": "med-clop",
        "code": {"coding": [{"system": rx, "code": "32968", "display": "clopidogrel"}]},
    }
    req = hook_request("order-sign", PID, [patient(PID), order], [lp_order(PID)])
    req["prefetch"]["medicationStatements"] = searchset([statement])
    req["prefetch"]["medications"] = searchset([medication])
    cards = _cards(client, req)
    timing = cards["lp-anticoagulant-timing"]
    assert "apixaban" in timing["summary"] and "clopidogrel" in timing["summary"], timing
    assert "not-read" not in cards
