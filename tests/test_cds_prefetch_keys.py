"""Discovery asks for home medicines (MedicationStatement) and reports (DiagnosticReport), and the
service reads them under its own keys and under keys of the client's own, once each.

Real-shaped: an Epic-style home-medication list entry (MedicationStatement, RxNorm product, no
frequency) and a Cerner-style order-sign request whose draft LP order, sent without an id, comes
back in the prefetch as the EHR's pending copy."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cdsutil import check_response
from leptoguide.api.app import create_app
from leptoguide.api.cds_hooks import discovery
from leptoguide.api.cds_request import assemble, read_case
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.settings import Settings
from service_cases import hook_request, lp_order, patient, searchset

SIGN = "/cds-services/leptoguide-order-sign"
PID = "eIx8d.3"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def _ago(hours: float) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)).isoformat(timespec="seconds")


def _home_apixaban(rid: str | None = "eMS-4471") -> dict[str, Any]:
    res: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "status": "active",
        "subject": {"reference": f"Patient/{PID}", "display": "Test, Ellie"},
        "medicationCodeableConcept": {
            "coding": [
                {"system": RXNORM, "code": "1364445", "display": "apixaban 5 MG Oral Tablet"}
            ],
            "text": "ELIQUIS 5 MG TABLET",
        },
        "effectiveDateTime": _ago(6),
        "dosage": [{"text": "Take 1 tablet by mouth", "route": {"text": "Oral"}}],
    }
    if rid is not None:
        res["id"] = rid
    return res


@pytest.fixture
def client(migrated_db_url: str) -> Iterator[TestClient]:
    app = create_app(Settings.from_env(database_url=migrated_db_url))
    with TestClient(app) as c:
        yield c
    app.state.leptoguide.db.dispose()


def test_discovery_asks_for_home_medicines_and_reports(shipped_kb: KnowledgeBase) -> None:
    for service in discovery(shipped_kb)["services"]:
        prefetch = service["prefetch"]
        assert prefetch["medicationStatements"] == (
            "MedicationStatement?patient={{context.patientId}}"
        )
        assert prefetch["diagnosticReports"] == "DiagnosticReport?patient={{context.patientId}}"


@pytest.mark.parametrize("keys", [("medicationStatements",), ("homeMedications",),
                                  ("medicationStatements", "homeMedications")])  # fmt: skip
def test_home_anticoagulant_under_either_key_is_read_once(
    client: TestClient, keys: tuple[str, ...]
) -> None:
    req = hook_request("order-sign", PID, [patient(PID)], [lp_order(PID)])
    for key in keys:
        req["prefetch"][key] = searchset([_home_apixaban()])
    r = client.post(SIGN, json=req)
    assert r.status_code == 200, r.text
    check_response(r.json())
    cards = {c["source"]["topic"]["code"]: c for c in r.json()["cards"]}
    timing = cards["lp-anticoagulant-timing"]
    assert "apixaban" in timing["summary"], timing
    assert "not-read" not in cards, cards.get("not-read")


def test_an_id_less_statement_under_two_keys_is_one_record(shipped_kb: KnowledgeBase) -> None:
    statement = _home_apixaban(rid=None)
    pre = {"medicationStatements": searchset([statement]), "homeMeds": searchset([statement])}
    hook_input = assemble(pre, None, PID)
    case = read_case(hook_input, name="hook", kb=shipped_kb, patient_id=PID)
    assert [m.concept for m in case.medications] == ["apixaban"]


def test_a_draft_without_id_repeated_in_the_prefetch_is_one_order(
    shipped_kb: KnowledgeBase,
) -> None:
    """Cerner-style: the draft is sent without an id; the pending copy the EHR saved comes back
    in the ServiceRequest search with a server id and status active."""
    draft = lp_order(PID)
    del draft["id"]
    pending = dict(draft, id="SR-77120", status="active", meta={"versionId": "1"})
    draft_bundle = {"resourceType": "Bundle", "type": "collection", "entry": [{"resource": draft}]}
    hook_input = assemble({"serviceRequests": searchset([pending])}, draft_bundle, PID)
    case = read_case(hook_input, name="hook", kb=shipped_kb, patient_id=PID)
    lps = [p for p in case.procedures if p.concept == "lumbar-puncture"]
    assert len(lps) == 1 and lps[0].draft, lps


def test_home_medicines_not_obtained_are_named_not_silent(client: TestClient) -> None:
    """An EHR that does not send the home-medication key and names no fhirServer: the anti-
    coagulant check cannot be complete, and the not-read card says which key is missing."""
    req = hook_request("order-sign", PID, [patient(PID)], [lp_order(PID)])
    del req["prefetch"]["medicationStatements"]
    r = client.post(SIGN, json=req)
    assert r.status_code == 200, r.text
    cards = {c["source"]["topic"]["code"]: c for c in r.json()["cards"]}
    card = cards["not-read"]
    assert card["indicator"] == "warning"
    assert "medicationStatements" in card["summary"], card["summary"]


def _platelets_local(hours_ago: float, zone: str) -> dict[str, Any]:
    """Epic-style: the collection time as a local clock time with no offset."""
    import zoneinfo

    local = dt.datetime.now(zoneinfo.ZoneInfo(zone)) - dt.timedelta(hours=hours_ago)
    return {
        "resourceType": "Observation",
        "id": "eLab-plt",
        "status": "final",
        "subject": {"reference": f"Patient/{PID}"},
        "code": {
            "coding": [{"system": "http://loinc.org", "code": "777-3", "display": "Platelets"}]
        },
        "effectiveDateTime": local.replace(tzinfo=None).isoformat(timespec="seconds"),
        "valueQuantity": {"value": 35, "unit": "K/uL"},
    }


@pytest.mark.parametrize("site_zone", [None, "Pacific/Honolulu"])
def test_local_lab_times_in_a_hook_follow_the_site_time_zone(
    migrated_db_url: str, tmp_path: Path, site_zone: str | None
) -> None:
    """A platelet count drawn 60 h ago at a UTC-10 site, written without a zone: with the site
    time zone it is 60 h old (fresh under the 72 h default: low platelets card); without it, it
    may be 84 h old (the same clock time at UTC+14), so it is stale and the card asks for a
    repeat count instead of judging an old value."""
    policy = None
    if site_zone:
        policy = tmp_path / "site.yaml"
        policy.write_text(f"policy:\n  id: st-honolulu\n  time_zone: {site_zone}\n")
    app = create_app(Settings.from_env(database_url=migrated_db_url, policy_path=policy))
    req = hook_request("order-sign", PID, [patient(PID)], [lp_order(PID)])
    req["prefetch"]["observations"] = searchset([_platelets_local(60, "Pacific/Honolulu")])
    with TestClient(app) as client:
        r = client.post(SIGN, json=req)
    app.state.leptoguide.db.dispose()
    assert r.status_code == 200, r.text
    cards = {c["source"]["topic"]["code"]: c for c in r.json()["cards"]}
    if site_zone:
        assert "lp-platelets-low" in cards, sorted(cards)
    else:
        assert "lp-platelets-low" not in cards
        assert "lp-safety-data-missing" in cards, sorted(cards)
