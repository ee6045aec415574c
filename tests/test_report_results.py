"""DiagnosticReport.result references that are not in the input: "referenced result not provided"
(unreadable, never normal); on the CDS Hooks path with a fhirServer they are read from it with the
service's bounded prefetch client."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from leptoguide.api.report_results import missing_results
from leptoguide.intake import read_document
from leptoguide.knowledge.loader import get_knowledge
from service_cases import hook_request, lp_low_platelets
from service_fhir_server import FhirTestServer

SIGN = "/cds-services/leptoguide-order-sign"
KB = get_knowledge()


def cbc_report(pid: str, refs: list[tuple[str, str | None]]) -> dict[str, Any]:
    """A Cerner-shaped CBC DiagnosticReport listing its results by reference (with displays)."""
    result = [{"reference": r, **({"display": d} if d else {})} for r, d in refs]
    return {
        "resourceType": "DiagnosticReport",
        "id": "dr-cbc",
        "status": "final",
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0074",
                                  "code": "LAB"}]}],
        "code": {"coding": [{"system": "http://loinc.org", "code": "58410-2"}],
                 "text": "CBC panel - Blood by Automated count"},
        "subject": {"reference": f"Patient/{pid}"},
        "effectiveDateTime": "2026-11-20T07:00:00Z",
        "issued": "2026-11-20T07:40:00Z",
        "result": result,
    }  # fmt: skip


def test_missing_result_is_reported_and_unreadable_never_normal() -> None:
    chart, drafts = lp_low_platelets("p1")
    hgb = {**chart[2], "id": "obs-hgb"}  # one result is in the bundle
    report = cbc_report("p1", [("Observation/obs-hgb", "Hemoglobin"),
                               ("Observation/obs-plt-new", "Platelet Count"),
                               ("https://fhir.example.org/r4/Observation/obs-wbc", None)])  # fmt: skip
    doc = {"resourceType": "Bundle", "type": "collection",
           "entry": [{"resource": r} for r in [chart[0], hgb, report, *drafts]]}  # fmt: skip
    case = read_document(doc, name="cbc.json", kb=KB)
    warning = next(w for w in case.warnings if w.field == "result")
    assert warning.where == "DiagnosticReport/dr-cbc"
    assert "2 referenced result(s) not provided" in warning.message
    assert "Observation/obs-plt-new (Platelet Count)" in warning.message
    assert "not normal" in warning.message
    plt = case.latest("platelets")
    assert plt is not None and plt.status == "unparseable" and plt.value is None
    assert plt.note and "referenced result not provided" in plt.note


def test_results_in_the_bundle_are_not_reported() -> None:
    chart, _ = lp_low_platelets("p1")
    report = cbc_report("p1", [("Observation/obs-plt", "Platelets")])
    doc = {"resourceType": "Bundle", "type": "collection",
           "entry": [{"resource": r} for r in [*chart, report]]}  # fmt: skip
    case = read_document(doc, name="cbc.json", kb=KB)
    assert not [w for w in case.warnings if w.field == "result"]
    assert case.latest("platelets").value == 30.0  # type: ignore[union-attr]


def test_missing_results_lists_only_absent_observations() -> None:
    chart, _ = lp_low_platelets("p1")
    report = cbc_report("p1", [("Observation/obs-plt", None), ("Observation/x1", None),
                               ("#contained", None)])  # fmt: skip
    prefetch = {"observations": {"resourceType": "Bundle", "entry": [{"resource": chart[1]}]},
                "reports": report}  # fmt: skip
    assert missing_results(prefetch) == ["Observation/x1"]


def _low_platelet_card(body: dict[str, Any]) -> bool:
    return any(c["source"]["topic"]["code"] == "lp-platelets-low" for c in body["cards"])


def test_cds_fetches_referenced_results_from_the_fhir_server(api_client: TestClient) -> None:
    chart, drafts = lp_low_platelets()
    platelets = chart[1]
    without = [r for r in chart if r is not platelets]
    report = cbc_report("p-lp", [(f"Observation/{platelets['id']}", "Platelets")])
    with FhirTestServer([platelets]) as fhir:
        req = hook_request("order-sign", "p-lp", without, drafts, fhir_server=fhir.url)
        req["prefetch"]["diagnosticReports"] = {
            "resourceType": "Bundle", "type": "searchset", "entry": [{"resource": report}]
        }  # fmt: skip
        r = api_client.post(SIGN, json=req)
        assert r.status_code == 200, r.text
        assert any("Observation?_id=obs-plt" in u for u in fhir.requests), fhir.requests
    assert _low_platelet_card(r.json())


def test_cds_without_fhir_server_reports_the_result_missing(api_client: TestClient) -> None:
    chart, drafts = lp_low_platelets()
    platelets = chart[1]
    without = [r for r in chart if r is not platelets]
    report = cbc_report("p-lp", [(f"Observation/{platelets['id']}", "Platelets")])
    req = hook_request("order-sign", "p-lp", without, drafts)
    req["prefetch"]["diagnosticReports"] = report
    r = api_client.post(SIGN, json=req)
    assert r.status_code == 200, r.text
    body = r.json()
    assert not _low_platelet_card(body)
    text = str(body)
    assert "unreadable" in text.lower() or "not provided" in text.lower(), text[:2000]


def test_cds_unreachable_fhir_server_still_answers(api_client: TestClient) -> None:
    chart, drafts = lp_low_platelets()
    platelets = chart[1]
    without = [r for r in chart if r is not platelets]
    report = cbc_report("p-lp", [(f"Observation/{platelets['id']}", "Platelets")])
    with FhirTestServer([platelets], token="another-token") as fhir:  # refuses our token
        req = hook_request("order-sign", "p-lp", without, drafts, fhir_server=fhir.url)
        req["prefetch"]["diagnosticReports"] = report
        r = api_client.post(SIGN, json=req)
    assert r.status_code == 200, r.text
    assert not _low_platelet_card(r.json())
