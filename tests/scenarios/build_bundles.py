"""Writes the scenario FHIR bundles and manifest.yaml (run: python tests/scenarios/build_bundles.py).

Each scenario is a FHIR R4 Bundle read by the real intake reader. The manifest lists the --at
time, the rules expected to fire and to stay silent, and the expected classification and risk.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
AT = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)
LM = "https://leptoguide.org/fhir/CodeSystem/lm"
LOINC = "http://loinc.org"


def ago(hours: float) -> str:
    return (AT - dt.timedelta(hours=hours)).isoformat().replace("+00:00", "Z")


class B:
    """A bundle under construction."""

    def __init__(self, birth: str | None = "1970-05-01") -> None:
        self.entries: list[dict[str, Any]] = []
        self.n = 0
        pat: dict[str, Any] = {"resourceType": "Patient", "id": "p1"}
        if birth:
            pat["birthDate"] = birth
        self.add(pat)

    def add(self, res: dict[str, Any]) -> B:
        if "id" not in res:
            self.n += 1
            res["id"] = f"r{self.n}"
        if res["resourceType"] != "Patient":
            res.setdefault("subject", {"reference": "Patient/p1"})
        self.entries.append(
            {"fullUrl": f"urn:uuid:{res['resourceType'].lower()}-{res['id']}", "resource": res}
        )
        return self

    def lab(self, code: str, value: float, unit: str, hours: float = 2) -> B:
        return self.add(
            {
                "resourceType": "Observation",
                "status": "final",
                "code": {"coding": [{"system": LOINC, "code": code}]},
                "valueQuantity": {
                    "value": value,
                    "unit": unit,
                    "system": "http://unitsofmeasure.org",
                    "code": unit,
                },
                "effectiveDateTime": ago(hours),
            }
        )

    def platelets(self, v: float, unit: str = "10*9/L", hours: float = 2) -> B:
        return self.lab("777-3", v, unit, hours)

    def inr(self, v: float, hours: float = 2) -> B:
        return self.lab("6301-6", v, "{INR}", hours)

    def weight(self, kg: float) -> B:
        return self.lab("29463-7", kg, "kg", 24)

    def kps(self, v: float) -> B:
        return self.lab("89243-0", v, "{score}", 24)

    def gcs(self, v: float) -> B:
        return self.add(
            {
                "resourceType": "Observation",
                "status": "final",
                "code": {"text": "Glasgow coma scale total"},
                "valueQuantity": {"value": v},
                "effectiveDateTime": ago(1),
            }
        )

    def lm(self, code: str, value: str | bool, hours: float = 48) -> B:
        res: dict[str, Any] = {
            "resourceType": "Observation",
            "status": "final",
            "code": {"coding": [{"system": LM, "code": code}]},
            "effectiveDateTime": ago(hours),
        }
        if isinstance(value, bool):
            res["valueBoolean"] = value
        else:
            res["valueCodeableConcept"] = {"coding": [{"system": LM, "code": value}]}
        return self.add(res)

    def cond(self, text: str) -> B:
        return self.add(
            {
                "resourceType": "Condition",
                "clinicalStatus": {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                            "code": "active",
                        }
                    ]
                },
                "code": {"text": text},
            }
        )

    def med(
        self,
        text: str,
        *,
        kind: str = "MedicationRequest",
        dose: float | None = None,
        unit: str = "mg",
        per_day: float | None = None,
        route: str | None = None,
        hours: float | None = None,
        status: str = "active",
        start: str | None = None,
    ) -> B:
        res: dict[str, Any] = {
            "resourceType": kind,
            "status": status,
            "medicationCodeableConcept": {"text": text},
        }
        dosage: dict[str, Any] = {}
        if dose is not None:
            dosage["doseAndRate"] = [{"doseQuantity": {"value": dose, "unit": unit}}]
        if per_day is not None:
            dosage["timing"] = {"repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}}
        if start is not None:
            dosage.setdefault("timing", {"repeat": {}})["repeat"]["boundsPeriod"] = {"start": start}
        if route is not None:
            dosage["route"] = {"text": route}
        if kind == "MedicationRequest":
            res["intent"] = "order"
            res["authoredOn"] = ago(1)
            if dosage:
                res["dosageInstruction"] = [dosage]
        elif kind == "MedicationStatement":
            if hours is not None:
                res["effectiveDateTime"] = ago(hours)
            if dosage:
                res["dosage"] = [dosage]
        else:
            res["effectiveDateTime"] = ago(hours or 0)
            if dose is not None:
                res["dosage"] = {"dose": {"value": dose, "unit": unit}}
                if route:
                    res["dosage"]["route"] = {"text": route}
        return self.add(res)

    def order(self, text: str, hours_ahead: float | None = None, status: str = "active") -> B:
        res: dict[str, Any] = {
            "resourceType": "ServiceRequest",
            "status": status,
            "intent": "order",
            "code": {"text": text},
        }
        if hours_ahead is not None:
            res["occurrenceDateTime"] = (
                (AT + dt.timedelta(hours=hours_ahead)).isoformat().replace("+00:00", "Z")
            )
        return self.add(res)

    def done(self, text: str, hours: float) -> B:
        return self.add(
            {
                "resourceType": "Procedure",
                "status": "completed",
                "code": {"text": text},
                "performedDateTime": ago(hours),
            }
        )

    def device(self, code: str) -> B:
        return self.add(
            {
                "resourceType": "Device",
                "status": "active",
                "type": {"coding": [{"system": LM, "code": code}]},
            }
        )

    def bundle(self) -> dict[str, Any]:
        return {"resourceType": "Bundle", "type": "collection", "entry": self.entries}


def lm_base(cancer: str = "Breast cancer", *, kps: float | None = 80, good: bool = True) -> B:
    b = B().cond(cancer).lm("typical-lm-signs", True)
    if kps is not None:
        b.kps(kps)
    if good:
        b.lm("major-neurological-deficits", False).lm("bulky-cns-disease", False)
        b.lm("encephalopathy", False).lm("systemic-disease", "minimal").lm(
            "systemic-options", "reasonable"
        )
    return b


def lp_ready(b: B) -> B:
    return b.order("Lumbar puncture").platelets(220).inr(1.0)


S: list[dict[str, Any]] = []


def sc(name: str, b: B | str, fire: list[str], silent: list[str], **extra: Any) -> None:
    S.append({"name": name, "bundle": b, "fire": fire, "silent": silent, **extra})


LP_SAFETY = [
    "lp-platelets-low",
    "lp-inr-high",
    "lp-anticoagulant-timing",
    "lp-raised-icp-signs",
    "lp-safety-data-missing",
]

# --- LM diagnosis, classification, risk ---------------------------------------------------------
sc(
    "lm-probable-her2-good-risk",
    lm_base()
    .lm("mri-lm-pattern", "linear")
    .lm("csf-cytology", "negative")
    .lm("her2-status", "positive")
    .weight(65),
    [
        "lm-classification",
        "nccn-risk-group",
        "systemic-therapy-by-driver",
        "repeat-lp-after-negative-cytology",
        "proton-csi-option",
    ],
    [
        # the handling advice is inside the repeat-LP finding: one finding per message
        "csf-optimal-handling",
        "supportive-care-poor-risk",
        "poor-risk-chemosensitive-exception",
        "mri-before-lp",
        "csf-examination-recommended",
        "focal-rt-nodular-or-symptomatic",
        "hydrocephalus-csf-diversion",
        *LP_SAFETY,
    ],
    classification={"certainty": "probable", "type": "IIA"},
    risk="good",
)
sc(
    "lm-confirmed-nodular-egfr-poor-risk",
    lm_base("Non-small cell lung cancer", kps=50)
    .lm("mri-lm-pattern", "nodular")
    .lm("csf-cytology", "positive")
    .lm("egfr-mutation", "positive"),
    [
        "lm-classification",
        "nccn-single-poor-feature",
        "focal-rt-nodular-or-symptomatic",
        "systemic-therapy-by-driver",
    ],
    [
        "supportive-care-poor-risk",
        "poor-risk-chemosensitive-exception",
        "repeat-lp-after-negative-cytology",
        "proton-csi-option",
        "csf-examination-recommended",
    ],
    classification={"certainty": "confirmed", "type": "IB"},
    risk="poor",
)
sc(
    "sclc-poor-risk-chemosensitive",
    lm_base("Small cell lung cancer", kps=40)
    .lm("mri-lm-pattern", "linear")
    .lm("csf-cytology", "positive"),
    ["poor-risk-chemosensitive-exception", "lm-classification"],
    ["supportive-care-poor-risk", "systemic-therapy-by-driver", "proton-csi-option"],
    classification={"certainty": "confirmed", "type": "IA"},
    risk="poor",
)
sc(
    "lm-suspected-lp-planned-no-mri",
    lp_ready(lm_base(good=False)),
    ["mri-before-lp", "csf-examination-recommended", "csf-optimal-handling", "lm-classification"],
    ["repeat-lp-after-negative-cytology", *LP_SAFETY],
    classification={"certainty": "lacking_evidence", "type": None},
    risk="good",
)
sc(
    "lm-possible-signs-absent-unverified",
    B()
    .cond("Breast cancer")
    .lm("typical-lm-signs", False)
    .lm("mri-lm-pattern", "linear-and-nodular")
    .lm("csf-cytology", "equivocal")
    .lm("csf-cytology", "negative", hours=200),
    ["lm-classification", "focal-rt-nodular-or-symptomatic"],
    [
        "csf-optimal-handling",
        "repeat-lp-after-negative-cytology",
        "csf-examination-recommended",
        "mri-before-lp",
    ],
    classification={"certainty": "possible", "type": "IIC"},
    risk="unknown",
)
sc(
    "lm-hydrocephalus-type-d",
    lm_base().lm("mri-lm-pattern", "hydrocephalus-only").lm("csf-cytology", "negative"),
    ["hydrocephalus-csf-diversion", "lm-classification", "repeat-lp-after-negative-cytology"],
    ["focal-rt-nodular-or-symptomatic", "systemic-therapy-by-driver"],
    classification={"certainty": "lacking_evidence", "type": "IID"},
    risk="good",
)
sc(
    "nsclc-alk-kps70-proton",
    lm_base("Non-small cell lung cancer", kps=70)
    .lm("mri-lm-pattern", "linear")
    .lm("csf-cytology", "positive")
    .lm("alk-rearrangement", "positive"),
    ["proton-csi-option", "systemic-therapy-by-driver"],
    ["supportive-care-poor-risk", "repeat-lp-after-negative-cytology"],
    classification={"certainty": "confirmed", "type": "IA"},
    risk="good",
)
sc(
    "lm-no-kps-ecog-only",
    B()
    .cond("Breast cancer")
    .lm("typical-lm-signs", True)
    .lm("mri-lm-pattern", "linear")
    .lm("csf-cytology", "positive")
    .lab("89247-1", 2, "{score}"),
    ["lm-classification", "nccn-risk-group"],
    ["proton-csi-option", "supportive-care-poor-risk", "poor-risk-chemosensitive-exception"],
    classification={"certainty": "confirmed", "type": "IA"},
    risk="good",
)
sc(
    "no-cancer-no-lm",
    B().cond("Headache").platelets(250),
    [],
    [
        "lm-classification",
        "nccn-risk-group",
        "csf-examination-recommended",
        "systemic-therapy-by-driver",
        "supportive-care-poor-risk",
        "mri-before-lp",
        *LP_SAFETY,
        "bacterial-meningitis-empiric-regimen",
        "csf-optimal-handling",
        "csf-profile-differential",
    ],
    classification={"certainty": "not_applicable", "type": None},
    risk="unknown",
    not_missing=["mri-lm-pattern", "nccn-risk", "her2-status", "csf-cytology"],
)
sc(
    "melanoma-braf-ici-steroids",
    lm_base("Melanoma")
    .lm("mri-lm-pattern", "linear")
    .lm("csf-cytology", "positive")
    .lm("braf-v600", "positive")
    .med("Pembrolizumab", dose=200, route="Intravenous")
    .med("Dexamethasone", dose=4, per_day=2, route="Oral"),
    ["ici-concurrent-steroids", "systemic-therapy-by-driver"],
    ["it-route-ventricular", "liposomal-cytarabine-discontinued"],
    classification={"certainty": "confirmed", "type": "IA"},
    risk="good",
)
sc(
    "melanoma-ici-no-steroids",
    lm_base("Melanoma")
    .lm("mri-lm-pattern", "linear")
    .lm("csf-cytology", "positive")
    .med("Nivolumab", dose=240),
    ["lm-classification"],
    ["ici-concurrent-steroids", "systemic-therapy-by-driver"],
    classification={"certainty": "confirmed", "type": "IA"},
    risk="good",
)
sc(
    "lm-symptomatic-cranial-nerve",
    lm_base()
    .lm("mri-lm-pattern", "linear")
    .lm("csf-cytology", "positive")
    .cond("Cranial nerve palsy"),
    ["focal-rt-nodular-or-symptomatic"],
    ["hydrocephalus-csf-diversion"],
    classification={"certainty": "confirmed", "type": "IA"},
    risk="good",
)


# --- intrathecal therapy --------------------------------------------------------------------------
def it_base() -> B:
    return lm_base().lm("mri-lm-pattern", "linear").lm("csf-cytology", "positive")


sc(
    "it-mtx-flow-block-no-ommaya",
    it_base()
    .lm("csf-flow-study", "blocked")
    .med("Methotrexate", dose=12, route="Intrathecal", per_day=1),
    [
        "it-chemo-csf-flow-block",
        "it-route-ventricular",
        "focal-rt-nodular-or-symptomatic",
    ],
    [
        "it-mtx-schedule",
        "csf-flow-study-before-it",
        "it-chemo-standard-vp-shunt",
        "mtx-wbrt-leukoencephalopathy",
    ],
    classification={"certainty": "confirmed", "type": "IA"},
    risk="good",
)
sc(
    "it-mtx-ommaya-normal-flow-schedule",
    it_base()
    .lm("csf-flow-study", "normal")
    .device("ommaya-reservoir")
    .med("Methotrexate", dose=12, route="Intraventricular", start="2026-11-23"),
    ["it-mtx-schedule"],
    [
        "it-chemo-csf-flow-block",
        "it-route-ventricular",
        "it-chemo-standard-vp-shunt",
        "csf-flow-study-before-it",
        "focal-rt-nodular-or-symptomatic",
    ],
    classification={"certainty": "confirmed", "type": "IA"},
    risk="good",
    schedule_start="2026-11-23",
)
sc(
    "it-standard-vp-shunt",
    it_base().device("vp-shunt").device("ommaya-reservoir").order("Intrathecal chemotherapy"),
    ["it-chemo-standard-vp-shunt", "csf-flow-study-before-it"],
    ["it-route-ventricular", "it-mtx-schedule"],
    risk="good",
)
sc(
    "it-on-off-valve-shunt",
    it_base()
    .device("vp-shunt")
    .device("vp-shunt-on-off-valve")
    .device("ommaya-reservoir")
    .order("Intrathecal chemotherapy"),
    ["csf-flow-study-before-it"],
    ["it-chemo-standard-vp-shunt", "it-route-ventricular"],
    risk="good",
)
sc(
    "it-mtx-with-wbrt",
    it_base()
    .device("ommaya-reservoir")
    .lm("csf-flow-study", "normal")
    .med("Methotrexate", dose=10, route="Intrathecal")
    .order("Whole-brain radiotherapy"),
    ["mtx-wbrt-leukoencephalopathy", "it-mtx-schedule"],
    ["it-chemo-csf-flow-block"],
    risk="good",
)
sc(
    "liposomal-cytarabine-order",
    it_base().device("ommaya-reservoir").med("Liposomal cytarabine", dose=50, route="Intrathecal"),
    ["liposomal-cytarabine-discontinued"],
    ["it-mtx-schedule", "mtx-wbrt-leukoencephalopathy"],
    risk="good",
)
sc(
    "it-pemetrexed-no-vitamins",
    lm_base("Non-small cell lung cancer")
    .lm("mri-lm-pattern", "linear")
    .lm("csf-cytology", "positive")
    .device("ommaya-reservoir")
    .med("Pemetrexed", dose=10, route="Intrathecal"),
    ["it-pemetrexed-vitamin-supplementation"],
    ["liposomal-cytarabine-discontinued", "it-mtx-schedule"],
    risk="good",
)
sc(
    "it-pemetrexed-with-vitamins",
    lm_base("Non-small cell lung cancer")
    .lm("mri-lm-pattern", "linear")
    .lm("csf-cytology", "positive")
    .device("ommaya-reservoir")
    .med("Pemetrexed", dose=10, route="Intrathecal")
    .med("Vitamin B12", dose=1000, unit="ug", route="Intramuscular")
    .med("Folic acid", dose=0.4, route="Oral"),
    [],
    ["it-pemetrexed-vitamin-supplementation"],
    risk="good",
)


# --- LP safety ------------------------------------------------------------------------------------
def lp(birth: str = "1970-05-01") -> B:
    return B(birth).cond("Breast cancer").order("Lumbar puncture")


sc(
    "lp-platelets-30000-per-uL",
    lp().platelets(30000, "/uL").inr(1.1),
    ["lp-platelets-low"],
    ["lp-safety-data-missing", "lp-inr-high", "lp-anticoagulant-timing"],
)
sc(
    "lp-platelets-45-default-policy",
    lp().platelets(45).inr(1.0),
    ["lp-platelets-low"],
    ["lp-safety-data-missing"],
)
sc("lp-platelets-normal", lp().platelets(180).inr(1.0), [], LP_SAFETY)
sc(
    "lp-inr-1-6",
    lp().platelets(200).inr(1.6),
    ["lp-inr-high"],
    ["lp-platelets-low", "lp-safety-data-missing"],
)
sc(
    "lp-inr-1-45-default",
    lp().platelets(200).inr(1.45),
    ["lp-inr-high"],
    ["lp-safety-data-missing"],
)
sc(
    "lp-inr-1-45-uk-policy",
    lp().platelets(200).inr(1.45),
    [],
    ["lp-inr-high", "lp-safety-data-missing"],
    policy="policies/uk-inr-1-5.yaml",
)
sc(
    "lp-no-platelets-no-inr",
    lp(),
    ["lp-safety-data-missing"],
    ["lp-platelets-low", "lp-inr-high"],
    missing=["platelets", "inr"],
)
sc(
    "lp-inr-missing-only",
    lp().platelets(200),
    ["lp-safety-data-missing"],
    ["lp-platelets-low"],
    missing=["inr"],
)
sc(
    "lp-stale-low-platelets",
    lp().platelets(20, hours=240).inr(1.0),
    ["lp-safety-data-missing"],
    ["lp-platelets-low"],
    missing=["platelets"],
)
sc(
    "lp-enoxaparin-prophylactic-6h",
    lp()
    .platelets(200)
    .inr(1.0)
    .med(
        "Enoxaparin", kind="MedicationStatement", dose=40, per_day=1, hours=6, route="Subcutaneous"
    ),
    ["lp-anticoagulant-timing"],
    ["lp-platelets-low", "lp-safety-data-missing"],
)
sc(
    "lp-enoxaparin-prophylactic-14h",
    lp()
    .platelets(200)
    .inr(1.0)
    .med("Enoxaparin", kind="MedicationStatement", dose=40, per_day=1, hours=14),
    [],
    ["lp-anticoagulant-timing"],
)
sc(
    "lp-enoxaparin-treatment-20h",
    lp()
    .platelets(200)
    .inr(1.0)
    .med("Enoxaparin", kind="MedicationStatement", dose=80, per_day=2, hours=20),
    ["lp-anticoagulant-timing"],
    ["lp-platelets-low"],
)
sc(
    "lp-apixaban-48h",
    lp()
    .platelets(200)
    .inr(1.0)
    .med("Apixaban", kind="MedicationStatement", dose=5, per_day=2, hours=48),
    ["lp-anticoagulant-timing"],
    ["lp-inr-high"],
)
sc(
    "lp-clopidogrel-3-days",
    lp()
    .platelets(200)
    .inr(1.0)
    .med("Clopidogrel", kind="MedicationStatement", dose=75, per_day=1, hours=72),
    ["lp-anticoagulant-timing"],
    ["lp-platelets-low"],
)
sc(
    "lp-heparin-stopped-8h",
    lp()
    .platelets(200)
    .inr(1.0)
    .med("Heparin", kind="MedicationStatement", status="completed", hours=8),
    [],
    ["lp-anticoagulant-timing"],
)
sc(
    "lp-rivaroxaban-time-unknown",
    lp().platelets(200).inr(1.0).med("Rivaroxaban", kind="MedicationStatement", dose=20, per_day=1),
    ["lp-anticoagulant-timing"],
    ["lp-safety-data-missing"],
)
sc(
    "lp-papilloedema",
    lp().platelets(200).inr(1.0).cond("Papilledema"),
    ["lp-raised-icp-signs"],
    ["lp-platelets-low"],
)
sc(
    "lp-gcs-10",
    lp().platelets(200).inr(1.0).gcs(10),
    ["lp-raised-icp-signs"],
    ["lp-safety-data-missing"],
)
sc("lp-gcs-15", lp().platelets(200).inr(1.0).gcs(15), [], ["lp-raised-icp-signs"])


# --- infection ------------------------------------------------------------------------------------
def bm(birth: str, weight: float | None = 70) -> B:
    b = B(birth).cond("Bacterial meningitis")
    if weight:
        b.weight(weight)
    return b


sc(
    "bm-adult-sepsis-ct-before-antibiotics",
    bm("1991-03-01").cond("Sepsis").order("CT head"),
    [
        "antibiotics-before-imaging-sepsis",
        "bacterial-meningitis-empiric-regimen",
        "ceftriaxone-dose",
        "dexamethasone-bacterial-meningitis",
    ],
    ["culture-yield-after-antibiotics", "ceftriaxone-calcium-neonate", "tb-meningitis-regimen"],
    empiric="empiric-bm-from-1-month",
    summary_contains={"ceftriaxone-dose": "2 g every 12 h"},
)
sc(
    "bm-62y-antibiotics-2h-ago",
    bm("1964-01-10")
    .cond("Sepsis")
    .order("CT head")
    .med(
        "Ceftriaxone",
        kind="MedicationAdministration",
        dose=2,
        unit="g",
        hours=2,
        status="completed",
    ),
    ["dexamethasone-bacterial-meningitis", "bacterial-meningitis-empiric-regimen"],
    ["antibiotics-before-imaging-sepsis", "culture-yield-after-antibiotics"],
    empiric="empiric-bm-listeria",
)
sc(
    "bm-lp-6h-after-antibiotics",
    bm("1991-03-01")
    .med(
        "Ceftriaxone",
        kind="MedicationAdministration",
        dose=2,
        unit="g",
        hours=8,
        status="completed",
    )
    .done("Lumbar puncture", 2),
    ["culture-yield-after-antibiotics"],
    ["dexamethasone-bacterial-meningitis", "antibiotics-before-imaging-sepsis"],
)
sc(
    "bm-lp-6h-after-antibiotics-dex-12h-policy",
    bm("1991-03-01")
    .med(
        "Ceftriaxone",
        kind="MedicationAdministration",
        dose=2,
        unit="g",
        hours=8,
        status="completed",
    )
    .done("Lumbar puncture", 2),
    ["culture-yield-after-antibiotics", "dexamethasone-bacterial-meningitis"],
    [],
    policy="policies/dex-12h.yaml",
)
sc(
    "neonate-ceftriaxone-with-calcium",
    bm("2026-11-11", weight=3.2)
    .med("Ceftriaxone", dose=160)
    .med("Calcium gluconate", route="Intravenous"),
    ["ceftriaxone-calcium-neonate", "ceftriaxone-dose", "bacterial-meningitis-empiric-regimen"],
    ["antibiotics-before-imaging-sepsis"],
    empiric="empiric-bm-neonate",
    summary_contains={"ceftriaxone-dose": "160 mg"},
)
sc(
    "infant-40-days-ceftriaxone-with-calcium",
    bm("2026-10-12", weight=4.5)
    .med("Ceftriaxone", dose=450)
    .med("Calcium gluconate", route="Intravenous"),
    ["ceftriaxone-dose", "bacterial-meningitis-empiric-regimen"],
    ["ceftriaxone-calcium-neonate"],
    empiric="empiric-bm-from-1-month",
    summary_contains={"ceftriaxone-dose": "450 mg"},
)
sc(
    "child-6y-ceftriaxone-dose",
    bm("2020-06-01", weight=20),
    ["ceftriaxone-dose", "dexamethasone-bacterial-meningitis"],
    ["ceftriaxone-calcium-neonate"],
    summary_contains={"ceftriaxone-dose": "2 g every 24 h"},
)
sc(
    "teen-60kg-ceftriaxone-capped",
    bm("2011-01-01", weight=60),
    ["ceftriaxone-dose"],
    [],
    summary_contains={"ceftriaxone-dose": "4 g every 24 h"},
)
sc(
    "csf-bacterial-profile",
    B("1980-01-01")
    .lab("26465-5", 2500, "/uL")
    .lab("26512-4", 92, "%")
    .lab("2342-4", 18, "mg/dL")
    .lab("2345-7", 6.0, "mmol/L")
    .lab("2880-3", 250, "mg/dL"),
    ["csf-profile-differential", "bacterial-meningitis-empiric-regimen"],
    ["tb-meningitis-regimen", "lm-classification"],
    csf_pattern="bacterial",
)
sc(
    "csf-viral-profile",
    B("1980-01-01")
    .lab("26465-5", 120, "/uL")
    .lab("26479-6", 90, "%")
    .lab("2342-4", 60, "mg/dL")
    .lab("2345-7", 5.5, "mmol/L")
    .lab("2880-3", 70, "mg/dL"),
    ["csf-profile-differential"],
    ["bacterial-meningitis-empiric-regimen", "dexamethasone-bacterial-meningitis"],
    csf_pattern="viral",
)
sc(
    "csf-traumatic-tap",
    B("1980-01-01")
    .lab("26465-5", 20, "/uL")
    .lab("26454-9", 14000, "/uL")
    .lab("2342-4", 60, "mg/dL")
    .lab("2345-7", 5.5, "mmol/L")
    .lab("2880-3", 35, "mg/dL"),
    ["csf-profile-differential"],
    ["bacterial-meningitis-empiric-regimen"],
    csf_pattern="normal",
)
sc(
    "tb-meningitis-adult",
    B("1985-01-01").cond("Tuberculous meningitis"),
    ["tb-meningitis-regimen"],
    ["cryptococcal-induction", "bacterial-meningitis-empiric-regimen"],
)
sc(
    "tb-meningitis-child-hiv",
    B("2018-01-01").cond("Tuberculous meningitis").cond("HIV infection"),
    ["tb-meningitis-regimen"],
    ["neurosarcoidosis-first-line"],
)
sc(
    "cryptococcal-meningitis-hiv",
    B("1988-01-01").cond("Cryptococcal meningitis").cond("HIV infection").weight(55),
    ["cryptococcal-induction"],
    ["tb-meningitis-regimen", "ceftriaxone-dose"],
)
sc(
    "neurosarcoidosis",
    B("1975-01-01").cond("Neurosarcoidosis"),
    ["neurosarcoidosis-first-line"],
    ["cryptococcal-induction", "lm-classification"],
)

sc(
    "sclc-kps40-encephalopathy-few-options",
    lm_base("Small cell lung cancer", kps=40, good=False)
    .lm("encephalopathy", True)
    .lm("systemic-disease", "extensive")
    .lm("systemic-options", "few")
    .lm("csf-cytology", "positive"),
    ["supportive-care-poor-risk", "nccn-risk-group"],
    ["poor-risk-chemosensitive-exception", "nccn-single-poor-feature"],
    risk="poor",
)
sc(
    "melanoma-ecog1-bulky-only",
    B()
    .cond("Melanoma")
    .lm("typical-lm-signs", True)
    .lm("mri-lm-pattern", "nodular")
    .lm("bulky-cns-disease", True)
    .lm("braf-v600", "positive")
    .lab("89247-1", 1, "{score}"),
    ["nccn-single-poor-feature", "systemic-therapy-by-driver"],
    ["supportive-care-poor-risk"],
    risk="poor",
)
sc(
    "lm-ecog4-only",
    B().cond("Breast cancer").lm("csf-cytology", "positive").lab("89247-1", 4, "{score}"),
    ["nccn-single-poor-feature", "nccn-risk-group"],
    ["supportive-care-poor-risk"],
    risk="poor",
)
sc(
    "lm-kps80-nothing-else",
    B().cond("Breast cancer").lm("csf-cytology", "positive").kps(80),
    ["nccn-risk-group"],
    ["supportive-care-poor-risk", "nccn-single-poor-feature"],
    risk="good",
)
sc(
    "it-methotrexate-120mg",
    it_base().lm("csf-flow-study", "normal").med("Methotrexate", dose=120, route="Intrathecal"),
    ["it-dose-out-of-range"],
    ["it-mtx-schedule", "it-dose-unchecked", "it-never-intrathecal-drug"],
)
sc(
    "it-vincristine-with-methotrexate",
    B()
    .cond("Diffuse large B-cell lymphoma")
    .med("Methotrexate", dose=12, route="Intrathecal")
    .med("Vincristine", dose=2, route="Intrathecal"),
    ["it-never-intrathecal-drug"],
    ["it-mtx-schedule", "lm-classification"],
)
sc(
    "neonate-12-days-meningitis",
    B("2026-11-09").cond("Bacterial meningitis").weight(3.4),
    ["bacterial-meningitis-empiric-regimen"],
    ["dexamethasone-bacterial-meningitis", "ceftriaxone-dose"],
)
sc(
    "cryptococcal-meningitis-kidney-transplant",
    B("1972-01-01").cond("Cryptococcal meningitis").cond("Kidney transplant status").weight(70),
    ["cryptococcal-induction"],
    ["tb-meningitis-regimen"],
)

sc("malformed-json", '{"resourceType": "Bundle", "entry": [}', [], [], exit=2)


def main() -> None:
    out = HERE / "bundles"
    for old in out.glob("*.json"):
        old.unlink()
    manifest = []
    for i, s in enumerate(S, 1):
        fname = f"{i:02d}-{s['name']}.json"
        path = out / fname
        b = s["bundle"]
        if isinstance(b, str):
            path.write_text(b + "\n")
        else:
            path.write_text(json.dumps(b.bundle(), indent=1) + "\n")
        entry: dict[str, Any] = {
            "file": f"bundles/{fname}",
            "at": AT.isoformat().replace("+00:00", "Z"),
        }
        entry.update({k: v for k, v in s.items() if k not in ("bundle", "name")})
        manifest.append(entry)
    (HERE / "manifest.yaml").write_text(
        "# Generated by build_bundles.py. fire/silent: rule ids expected to fire / stay silent.\n"
        + yaml.safe_dump({"scenarios": manifest}, sort_keys=False, width=110)
    )
    print(f"{len(manifest)} scenarios")


if __name__ == "__main__":
    main()
