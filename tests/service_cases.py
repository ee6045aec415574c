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
    "medicationStatements", "diagnosticReports",
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
        "medicationStatements": "MedicationStatement", "diagnosticReports": "DiagnosticReport",
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


def _series(pid: str, rid: str, code: str, name: str, unit: str, values: list[float],
            every_hours: float) -> list[dict[str, Any]]:  # fmt: skip
    out = []
    for i, v in enumerate(values):
        obs = observation(pid, f"{rid}-{i}", LOINC, code, name,
                          valueQuantity={"value": v, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit})  # fmt: skip
        obs["effectiveDateTime"] = _now(2 + i * every_hours)
        obs["category"] = [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "laboratory"}]}]  # fmt: skip
        out.append(obs)
    return out


def _med(pid: str, rid: str, code: str, name: str, status: str = "active",
         kind: str = "MedicationRequest") -> dict[str, Any]:  # fmt: skip
    res: dict[str, Any] = {
        "resourceType": kind, "id": rid, "status": status,
        "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": code, "display": name}], "text": name},
        "subject": {"reference": f"Patient/{pid}"},
    }  # fmt: skip
    if kind == "MedicationRequest":
        res.update(intent="order", authoredOn=_now(48))
    else:
        res["effectiveDateTime"] = _now(30)
    return res


def realistic_order_sign(pid: str = "p-real") -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(chart, drafts) shaped like an EHR's order-sign call for an LM patient: about 100 prefetched
    resources (lab histories, conditions, medications and administrations, a device, orders and
    procedures, codes the service knows and codes it does not) and two drafts (an LP and
    intrathecal methotrexate), the LP also returned by the ServiceRequest search as pending."""
    chart: list[dict[str, Any]] = [patient(pid)]
    chart += _series(
        pid,
        "plt",
        "777-3",
        "Platelets",
        "10*9/L",
        [142, 138, 120, 131, 150, 162, 171, 158, 149, 160],
        24,
    )
    chart += _series(pid, "inr", "6301-6", "INR", "{INR}", [1.1, 1.0, 1.2, 1.1, 1.0, 1.0] * 2, 24)
    chart += _series(pid, "wt", "29463-7", "Body weight", "kg", [68.2, 68.0, 67.5], 168)
    chart += _series(pid, "crcl", "35591-7", "Creatinine clearance", "mL/min", [88, 92, 90], 72)
    chart += _series(
        pid, "gcs", "9269-2", "Glasgow coma score total", "{score}", [15, 15, 15, 15] * 3, 8
    )
    chart += _series(pid, "csfwbc", "26465-5", "Leukocytes [#/volume] in CSF", "/uL", [12], 400)
    chart += _series(pid, "csfprot", "2880-3", "Protein [Mass/volume] in CSF", "mg/dL", [88], 400)
    chart += _series(pid, "csfglu", "2342-4", "Glucose [Mass/volume] in CSF", "mg/dL", [41], 400)
    chart += _series(
        pid,
        "sglu",
        "2345-7",
        "Glucose [Mass/volume] in Serum or Plasma",
        "mg/dL",
        [98, 104, 110],
        24,
    )
    chart += _series(pid, "ecog", "89247-1", "ECOG performance status", "{score}", [1, 2], 240)
    chart.append(
        observation(
            pid,
            "mri",
            LM,
            "mri-lm-pattern",
            "MRI leptomeningeal pattern",
            valueCodeableConcept={"coding": [{"system": LM, "code": "linear"}]},
        )
    )
    chart.append(
        observation(
            pid,
            "cyto",
            LM,
            "csf-cytology",
            "CSF cytology",
            valueCodeableConcept={"coding": [{"system": LM, "code": "positive"}]},
        )
    )
    chart.append(
        observation(
            pid,
            "flow",
            LM,
            "csf-flow-study",
            "CSF flow study",
            valueCodeableConcept={"coding": [{"system": LM, "code": "normal"}]},
        )
    )
    chart += [
        condition(pid, "c-bc", SCT, "254837009", "Breast cancer"),
        condition(
            pid, "c-lm", "http://hl7.org/fhir/sid/icd-10-cm", "C79.32", "Leptomeningeal metastasis"
        ),
        condition(pid, "c-htn", SCT, "38341003", "Hypertensive disorder"),
        condition(pid, "c-dm", SCT, "44054006", "Diabetes mellitus type 2"),
        condition(pid, "c-gerd", SCT, "235595009", "Gastroesophageal reflux disease"),
        condition(pid, "c-anx", SCT, "197480006", "Anxiety disorder"),
        condition(pid, "c-her2", SCT, "427685000", "HER2 positive carcinoma of breast"),
        condition(pid, "c-head", SCT, "25064002", "Headache"),
    ]
    chart += [
        _med(pid, "m-enox", "67108", "enoxaparin"),
        _med(pid, "m-dex", "3264", "dexamethasone"),
        _med(pid, "m-tras", "224905", "trastuzumab"),
        _med(pid, "m-tuca", "2361285", "tucatinib"),
        _med(pid, "m-cape", "194000", "capecitabine"),
        _med(pid, "m-ondan", "26225", "ondansetron"),
        _med(pid, "m-panto", "40790", "pantoprazole"),
        _med(pid, "m-metf", "6809", "metformin"),
        _med(pid, "m-amlo", "17767", "amlodipine"),
        _med(pid, "m-sert", "36437", "sertraline"),
        _med(pid, "m-para", "161", "acetaminophen"),
        _med(pid, "m-old", "67108", "enoxaparin", status="stopped"),
    ]
    chart += [_med(pid, f"a-enox-{i}", "67108", "enoxaparin", status="completed",
                   kind="MedicationAdministration") for i in range(6)]  # fmt: skip
    chart += [_med(pid, f"a-dex-{i}", "3264", "dexamethasone", status="completed",
                   kind="MedicationAdministration") for i in range(4)]  # fmt: skip
    chart.append({"resourceType": "Device", "id": "dev-ommaya", "status": "active",
                  "type": {"coding": [{"system": SCT, "code": "118425005", "display": "Ommaya reservoir"}]},
                  "patient": {"reference": f"Patient/{pid}"}})  # fmt: skip
    chart += [
        {"resourceType": "ServiceRequest", "id": f"sr-{i}", "status": "completed", "intent": "order",
         "code": {"coding": [{"system": SCT, "code": code, "display": name}]},
         "subject": {"reference": f"Patient/{pid}"}, "authoredOn": _now(300 + i)}
        for i, (code, name) in enumerate([("816077007", "MRI of brain"), ("26604007", "Complete blood count"),
                                          ("165566006", "Coagulation screen")])
    ]  # fmt: skip
    chart += [
        {"resourceType": "Procedure", "id": f"pr-{i}", "status": "completed",
         "code": {"coding": [{"system": SCT, "code": code, "display": name}]},
         "subject": {"reference": f"Patient/{pid}"}, "performedDateTime": _now(400 + 24 * i)}
        for i, (code, name) in enumerate([("277762005", "Lumbar puncture"), ("816077007", "MRI of brain"),
                                          ("392021009", "Lumpectomy of breast")])
    ]  # fmt: skip
    drafts = [lp_order(pid, "lp-new"), it_methotrexate_order(pid, "mtx-new")]
    chart.append(dict(drafts[0], status="active"))  # the EHR persists the pending LP order
    return chart, drafts
