"""FHIR resources for service tests: an LP with low platelets, IT methotrexate with a flow block."""

from __future__ import annotations

import datetime as dt
from typing import Any

LM = "https://leptoguide.org/fhir/CodeSystem/lm"
LOINC = "http://loinc.org"
SCT = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
PREFETCH_KEYS = (
    "patient", "observations", "conditions", "medicationRequests",
    "medicationAdministrations", "devices", "serviceRequests", "procedures",
)  # fmt: skip


def _now(hours: float = 0) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(hours=hours)).isoformat(timespec="seconds")


def patient(pid: str, birth: str = "1968-04-02", sex: str = "female") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid, "birthDate": birth, "gender": sex}


def observation(
    pid: str, rid: str, system: str, code: str, display: str, **value: Any
) -> dict[str, Any]:
    return {
        "resourceType": "Observation", "id": rid, "status": "final",
        "code": {"coding": [{"system": system, "code": code, "display": display}], "text": display},
        "subject": {"reference": f"Patient/{pid}"}, "effectiveDateTime": _now(2), **value,
    }  # fmt: skip


def condition(pid: str, rid: str, system: str, code: str, display: str) -> dict[str, Any]:
    return {
        "resourceType": "Condition", "id": rid,
        "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
        "code": {"coding": [{"system": system, "code": code, "display": display}], "text": display},
        "subject": {"reference": f"Patient/{pid}"},
    }  # fmt: skip


def lp_order(pid: str, rid: str = "lp-draft") -> dict[str, Any]:
    return {
        "resourceType": "ServiceRequest", "id": rid, "status": "draft", "intent": "order",
        "code": {"coding": [{"system": SCT, "code": "277762005", "display": "Lumbar puncture"}], "text": "Lumbar puncture"},
        "subject": {"reference": f"Patient/{pid}"}, "occurrenceDateTime": _now(-2),
    }  # fmt: skip


def it_methotrexate_order(pid: str, rid: str = "mtx-draft") -> dict[str, Any]:
    return {
        "resourceType": "MedicationRequest", "id": rid, "status": "draft", "intent": "order",
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "6851", "display": "Methotrexate"}], "text": "Methotrexate"},
        "subject": {"reference": f"Patient/{pid}"}, "authoredOn": _now(),
        "dosageInstruction": [{
            "text": "12 mg intrathecal",
            "route": {"coding": [{"system": SCT, "code": "72607000", "display": "Intrathecal"}], "text": "Intrathecal"},
            "doseAndRate": [{"doseQuantity": {"value": 12, "unit": "mg", "system": "http://unitsofmeasure.org", "code": "mg"}}],
        }],
    }  # fmt: skip


def lp_low_platelets(pid: str = "p-lp") -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(chart resources, draft orders): platelets 30 x10^9/L and a draft LP."""
    chart = [
        patient(pid),
        observation(pid, "obs-plt", LOINC, "777-3", "Platelets",
                    valueQuantity={"value": 30, "unit": "10*9/L", "system": "http://unitsofmeasure.org", "code": "10*9/L"}),
        observation(pid, "obs-inr", LOINC, "6301-6", "INR", valueQuantity={"value": 1.0, "unit": "{INR}"}),
        condition(pid, "cond-bc", SCT, "254837009", "Breast cancer"),
    ]  # fmt: skip
    return chart, [lp_order(pid)]


def it_mtx_flow_block(pid: str = "p-it") -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(chart resources, draft orders): a blocked CSF flow study and draft IT methotrexate."""
    chart = [
        patient(pid),
        observation(pid, "obs-flow", LM, "csf-flow-study", "CSF flow study",
                    valueCodeableConcept={"coding": [{"system": LM, "code": "blocked", "display": "Blocked"}]}),
        condition(pid, "cond-lm", "http://hl7.org/fhir/sid/icd-10-cm", "C79.32", "Leptomeningeal metastasis"),
        condition(pid, "cond-bc", SCT, "254837009", "Breast cancer"),
    ]  # fmt: skip
    return chart, [it_methotrexate_order(pid)]


def bundle(resources: list[dict[str, Any]], kind: str = "collection") -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in resources]}


def searchset(resources: list[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "Bundle", "type": "searchset",
            "entry": [{"resource": r, "search": {"mode": "match"}} for r in resources]}  # fmt: skip


def prefetch_for(chart: list[dict[str, Any]]) -> dict[str, Any]:
    """The prefetch an EHR would send for these chart resources (null where there is nothing)."""
    by_type = {
        "observations": "Observation", "conditions": "Condition",
        "medicationRequests": "MedicationRequest", "medicationAdministrations": "MedicationAdministration",
        "devices": "Device", "serviceRequests": "ServiceRequest", "procedures": "Procedure",
    }  # fmt: skip
    out: dict[str, Any] = {"patient": next(r for r in chart if r["resourceType"] == "Patient")}
    for key, rtype in by_type.items():
        hits = [r for r in chart if r["resourceType"] == rtype]
        out[key] = searchset(hits) if hits else None
    return out


def hook_request(
    hook: str,
    pid: str,
    chart: list[dict[str, Any]] | None,
    drafts: list[dict[str, Any]] | None = None,
    *,
    fhir_server: str | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    import uuid

    context: dict[str, Any] = {"userId": "Practitioner/dr-1", "patientId": pid}
    if hook != "patient-view":
        context["draftOrders"] = bundle(drafts or [])
    if hook == "order-select":
        context["selections"] = [f"{d['resourceType']}/{d['id']}" for d in drafts or []]
    req: dict[str, Any] = {"hook": hook, "hookInstance": str(uuid.uuid4()), "context": context}
    if chart is not None:
        req["prefetch"] = prefetch_for(chart)
    if fhir_server:
        req["fhirServer"] = fhir_server
        req["fhirAuthorization"] = {
            "access_token": token or "fhir-token", "token_type": "Bearer", "expires_in": 300,
            "scope": "user/*.read", "subject": "cds-service",
        }  # fmt: skip
    return req
