"""Explicit patient choice on every path: CLI ``--patient``, REST ``patient`` (query parameter or
wrapper key), CDS Hooks ``context.patientId`` (tests/test_cds_hooks.py) and the web upload field
(tests/web/test_pages.py). Default: the only Patient, else the first, the others' resources left
out and reported. An id not in the input is a clear error naming the field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from cli_inprocess import run_cli

AT = "2026-11-20T12:00:00Z"


def _patient(pid: str, birth: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "birthDate": birth, "gender": "female"}


def _platelets(rid: str, pid: str, value: float) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "subject": {"reference": f"Patient/{pid}"},
        "code": {"coding": [{"system": "http://loinc.org", "code": "777-3"}]},
        "effectiveDateTime": "2026-11-20T08:00:00Z",
        "valueQuantity": {"value": value, "unit": "10*9/L", "system": "http://unitsofmeasure.org",
                          "code": "10*9/L"},
    }  # fmt: skip


def _searchset() -> dict[str, Any]:
    """An Epic-style searchset with two patients: A (platelets 180) listed first, B (20)."""
    resources = [
        _patient("eA1b2", "1960-01-01"),
        _platelets("pltA", "eA1b2", 180),
        _patient("eZ9y8", "1990-01-01"),
        _platelets("pltB", "eZ9y8", 20),
        {  # a draft LP order with no subject (kept for whichever patient is chosen)
            "resourceType": "ServiceRequest",
            "id": "lp",
            "status": "draft",
            "intent": "proposal",
            "code": {"coding": [{"system": "http://snomed.info/sct", "code": "277762005"}]},
            "occurrenceDateTime": "2026-11-20T14:00:00Z",
        },
    ]
    return {
        "resourceType": "Bundle",
        "type": "searchset",
        "entry": [
            {"fullUrl": f"https://fhir.example.org/api/FHIR/R4/{r['resourceType']}/{r['id']}",
             "resource": r, "search": {"mode": "match" if r["resourceType"] == "Patient" else
                                       "include"}}
            for r in resources
        ],
    }  # fmt: skip


def _low_platelets(result: dict[str, Any]) -> bool:
    """Whether the 20 x10^9/L platelets of patient B were used (the LP platelet alert fires)."""
    return any(f["rule"] == "lp-platelets-low" for f in result["findings"])


@pytest.fixture
def chart(tmp_path: Path) -> Path:
    path = tmp_path / "searchset.json"
    path.write_text(json.dumps(_searchset()))
    return path


def test_cli_default_is_the_first_patient_and_the_other_is_reported(chart: Path) -> None:
    res = run_cli("assess", str(chart), "--format", "json", "--at", AT)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["input"]["patient"] == "Patient/eA1b2"
    assert not _low_platelets(out)
    assert "Patient/eZ9y8 is not used" in json.dumps(out["warnings"])


@pytest.mark.parametrize("given", ["eZ9y8", "Patient/eZ9y8"])
def test_cli_patient_option_picks_the_other_patient(chart: Path, given: str) -> None:
    res = run_cli("assess", str(chart), "--format", "json", "--at", AT, "--patient", given)
    assert res.returncode == 0, res.stderr
    out = json.loads(res.stdout)
    assert out["input"]["patient"] == "Patient/eZ9y8"
    assert _low_platelets(out)


def test_cli_unknown_patient_is_exit_2_naming_the_field(chart: Path) -> None:
    res = run_cli("assess", str(chart), "--at", AT, "--patient", "nobody")
    assert res.returncode == 2
    assert "field 'patient'" in res.stderr and "no patient 'nobody'" in res.stderr
    assert "Patient/eA1b2" in res.stderr and "Traceback" not in res.stderr


def test_rest_patient_query_parameter(api_client: TestClient) -> None:
    r = api_client.post(f"/api/assess?at={AT}&patient=eZ9y8", json=_searchset())
    assert r.status_code == 200, r.text
    assert r.json()["input"]["patient"] == "Patient/eZ9y8"
    assert _low_platelets(r.json())
    r = api_client.post(f"/api/assess?at={AT}", json=_searchset())
    assert r.json()["input"]["patient"] == "Patient/eA1b2"
    assert not _low_platelets(r.json())


def test_rest_patient_wrapper_key(api_client: TestClient) -> None:
    body = {"input": _searchset(), "at": AT, "patient": "Patient/eZ9y8"}
    r = api_client.post("/api/assess", json=body)
    assert r.status_code == 200, r.text
    assert _low_platelets(r.json())


@pytest.mark.parametrize("how", ["query", "wrapper"])
def test_rest_unknown_patient_is_422_operation_outcome_naming_patient(
    api_client: TestClient, how: str
) -> None:
    if how == "query":
        r = api_client.post(f"/api/assess?at={AT}&patient=nobody", json=_searchset())
    else:
        r = api_client.post("/api/assess", json={"input": _searchset(), "patient": "nobody"})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    issue = body["issue"][0]
    assert issue["expression"] == ["patient"]
    assert "no patient 'nobody'" in issue["diagnostics"]


def test_rest_patient_wrapper_key_must_be_a_string(api_client: TestClient) -> None:
    r = api_client.post("/api/assess", json={"input": _searchset(), "patient": 7})
    assert r.status_code == 422
    assert r.json()["issue"][0]["expression"] == ["patient"]
