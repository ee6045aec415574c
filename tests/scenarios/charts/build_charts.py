"""Write the real-shaped chart scenarios (bundles/*.json) and their expected facts (expected.yaml).

Run from the repository root: ``python tests/scenarios/charts/build_charts.py``. The shapes follow
what EHR exports send: Epic-style (local OID codings beside LOINC, HTML report bodies, v2-0074
report categories), Cerner-style (code-set codings, text names, conventional US units), UK
laboratory style (text names, local codes, SI units), narrative reports, drug products named as
text, mixed statuses, several patients in one bundle, one unreadable value among good ones, and a
1,000-resource chart. No code here is invented: codings use only the LOINC, SNOMED CT and ICD-10
codes already in the terminology (verified there), LOINC 18748-4 "Diagnostic imaging study" (FHIR R4
document type value set), SNOMED CT 424132000 (as Synthea sends it), or vendor-local systems; drug
products are text.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
EPIC = "urn:oid:1.2.840.114350.1.13.0.1.7.5.737384.14"
CERNER = "https://fhir.cerner.com/ec2458f2-1e24-41c8-b71b-0e701af7583d/codeSet/72"
UKLAB = "https://pathology.example.nhs.uk/codes"
V2_0074 = "http://terminology.hl7.org/CodeSystem/v2-0074"
WHEN = "2026-11-19T09:30:00-05:00"

Res = dict[str, Any]


class Chart:
    def __init__(self, pid: str = "p1", birth: str = "1968-04-02", sex: str = "female") -> None:
        self.pid = pid
        self.entries: list[Res] = [
            {"resourceType": "Patient", "id": pid, "birthDate": birth, "gender": sex}
        ]
        self.n = 0

    def _id(self, prefix: str) -> str:
        self.n += 1
        return f"{prefix}{self.n}"

    def add(self, res: Res, subject: str | None = None) -> Res:
        res.setdefault("id", self._id(res["resourceType"][:3].lower()))
        if res["resourceType"] not in ("Patient", "Medication"):
            res.setdefault("subject", {"reference": f"Patient/{subject or self.pid}"})
        self.entries.append(res)
        return res

    def bundle(self, btype: str = "collection") -> Res:
        return {
            "resourceType": "Bundle",
            "type": btype,
            "entry": [
                {"fullUrl": f"https://ehr.example.org/fhir/{r['resourceType']}/{r['id']}",
                 "resource": r}
                for r in self.entries
            ],
        }  # fmt: skip


def lab(
    vendor: str,
    name: str,
    loinc: str | None,
    value: float | str,
    unit: str,
    *,
    status: str = "final",
    when: str = WHEN,
    local: str = "0000",
) -> Res:
    codings: list[Res] = []
    text = name
    if vendor == "epic":
        codings.append({"system": EPIC, "code": local, "display": name.upper()})
        if loinc:
            codings.append({"system": LOINC, "code": loinc, "display": name})
    elif vendor == "cerner":
        codings.append({"system": CERNER, "code": local, "display": name})
    else:  # uk: local code and text only
        codings.append({"system": UKLAB, "code": local, "display": name})
    res: Res = {
        "resourceType": "Observation",
        "status": status,
        "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/"
                                  "observation-category", "code": "laboratory"}]}],
        "code": {"coding": codings, "text": text},
        "effectiveDateTime": when,
    }  # fmt: skip
    if isinstance(value, str):
        res["valueString"] = value
    else:
        res["valueQuantity"] = {"value": value, "unit": unit}
        if vendor != "cerner":
            res["valueQuantity"] |= {"system": "http://unitsofmeasure.org", "code": unit}
    return res


def report(
    vendor: str, title: str, text: str, *, category: str = "RAD", status: str = "final",
    when: str = WHEN,
) -> Res:  # fmt: skip
    res: Res = {
        "resourceType": "DiagnosticReport",
        "status": status,
        "category": [{"coding": [{"system": V2_0074, "code": category}]}],
        "code": {"text": title},
        "effectiveDateTime": when,
    }
    if vendor == "epic":
        html = "<html><body>" + "".join(f"<p>{line}</p>" for line in text.split("\n")) + "</body>"
        data = base64.b64encode(html.encode()).decode()
        res["code"]["coding"] = [{"system": EPIC, "code": "IMG1234", "display": title.upper()}]
        res["presentedForm"] = [{"contentType": "text/html", "data": data}]
    elif vendor == "cerner":
        data = base64.b64encode(text.encode()).decode()
        res["presentedForm"] = [{"contentType": "text/plain; charset=utf-8", "data": data}]
    else:
        res["conclusion"] = text
    return res


def condition(text: str, code: tuple[str, str, str] | None = None, **extra: Any) -> Res:
    cc: Res = {"text": text}
    if code:
        cc["coding"] = [{"system": code[0], "code": code[1], "display": code[2]}]
    res: Res = {
        "resourceType": "Condition",
        "clinicalStatus": {"coding": [{"code": "active"}]},
        "verificationStatus": {"coding": [{"code": "confirmed"}]},
        "code": cc,
        "onsetDateTime": "2026-10-01",
    }
    res.update(extra)
    return res


def med(rtype: str, text: str, status: str = "active", **extra: Any) -> Res:
    res: Res = {
        "resourceType": rtype,
        "status": status,
        "medicationCodeableConcept": {"text": text},
    }
    if rtype == "MedicationRequest":
        res |= {"intent": "order", "authoredOn": "2026-11-18T08:00:00Z"}
    res.update(extra)
    return res


def lp_order(status: str = "active") -> Res:
    return {
        "resourceType": "ServiceRequest",
        "status": status,
        "intent": "order",
        "code": {"text": "Lumbar puncture, diagnostic"},
        "occurrenceDateTime": "2026-11-21T14:00:00Z",
    }


BREAST = ("http://snomed.info/sct", "254837009", "Malignant neoplasm of breast")
MRI_TITLE = {
    "epic": "MRI BRAIN AND TOTAL SPINE W WO CONTRAST",
    "cerner": "MR Brain w/wo Contrast and MR Spine Complete",
    "uk": "MRI head and whole spine with gadolinium",
}
CYTO_TITLE = {"epic": "CSF CYTOLOGY", "cerner": "Cytology, Body Fluid (CSF)",
              "uk": "Cerebrospinal fluid cytology"}  # fmt: skip
FLOW_TITLE = "NM CSF flow study (In-111 DTPA cisternography)"

MRI_TEXT = {
    "linear": "IMPRESSION:\n1. Linear leptomeningeal enhancement along the cerebellar folia and "
    "the surface of the conus, consistent with leptomeningeal metastatic disease.\n"
    "2. No hydrocephalus.",
    "nodular": "IMPRESSION: Multiple enhancing nodules along the cauda equina nerve roots, "
    "compatible with leptomeningeal metastases. Ventricles are normal in size.",
    "linear-and-nodular": "Findings: Nodular and linear leptomeningeal enhancement of the "
    "spinal cord and the basal cisterns.\nImpression: leptomeningeal carcinomatosis.",
    "hydrocephalus-only": "No abnormal leptomeningeal enhancement. Communicating hydrocephalus "
    "with transependymal flow.",
    "normal": "Indication: evaluate for leptomeningeal disease.\nIMPRESSION: No leptomeningeal "
    "enhancement. No hydrocephalus. No acute intracranial abnormality.",
    "equivocal": "Subtle sulcal FLAIR signal in the parietal lobes. Leptomeningeal disease "
    "cannot be excluded; correlate with CSF cytology.",
}
CYTO_TEXT = {
    "positive": "FINAL DIAGNOSIS:\nCerebrospinal fluid: POSITIVE FOR MALIGNANT CELLS, consistent "
    "with metastatic adenocarcinoma.",
    "negative": "DIAGNOSIS: Negative for malignant cells. Reactive lymphocytes and monocytes.",
    "equivocal": "Atypical cells present, suspicious for malignancy. Repeat sampling advised.",
}


def lm_case(vendor: str, mri: str, cyto: str | None, *, signs: bool = True) -> Chart:
    c = Chart()
    c.add(condition("Breast cancer", BREAST))
    if signs:
        c.add(condition("Headache", (SNOMED, "25064002", "Headache")))
        c.add(condition("Diplopia"))
    c.add(report(vendor, MRI_TITLE[vendor], MRI_TEXT[mri]))
    if cyto:
        c.add(report(vendor, CYTO_TITLE[vendor], CYTO_TEXT[cyto], category="CP",
                     when="2026-11-20T11:00:00Z"))  # fmt: skip
    return c


def build() -> tuple[dict[str, Res], list[Res]]:
    out: dict[str, Res] = {}
    expected: list[Res] = []

    def put(name: str, chart: Chart | Res, exp: Res, btype: str = "collection") -> None:
        out[name] = chart.bundle(btype) if isinstance(chart, Chart) else chart
        expected.append({"file": f"bundles/{name}.json", **exp})

    vendors = ("epic", "cerner", "uk")
    letter = {"linear": "A", "nodular": "B", "linear-and-nodular": "C", "hydrocephalus-only": "D"}
    # --- narrative LM cases: class and type from reports ---------------------------------
    for v in vendors:
        for mri, cyto in [
            ("linear", "positive"),
            ("nodular", "positive"),
            ("linear-and-nodular", "positive"),
            ("hydrocephalus-only", "positive"),
        ]:
            put(
                f"lm-{v}-{mri}-cytology-{cyto}",
                lm_case(v, mri, cyto),
                {
                    "facts": {"mri-lm-pattern": mri, "csf-cytology": cyto},
                    "quotes": {
                        "mri-lm-pattern": "leptomeningeal"
                        if mri != "hydrocephalus-only"
                        else "hydrocephalus"
                    },
                    "classification": {"certainty": "confirmed", "type": f"I{letter[mri]}"},
                },
            )
        put(
            f"lm-{v}-linear-cytology-negative-probable",
            lm_case(v, "linear", "negative"),
            {
                "facts": {"mri-lm-pattern": "linear", "csf-cytology": "negative"},
                "classification": {"certainty": "probable", "type": "IIA"},
            },
        )
        put(
            f"lm-{v}-equivocal-mri",
            lm_case(v, "equivocal", "equivocal", signs=False),
            {"facts": {"mri-lm-pattern": "equivocal", "csf-cytology": "equivocal"}},
        )
        put(
            f"lm-{v}-normal-mri-indication",
            lm_case(v, "normal", "negative", signs=False),
            {"facts": {"mri-lm-pattern": "normal", "csf-cytology": "negative"}},
        )
    # --- flow study and intrathecal orders ----------------------------------------------------
    for v, text, value, level in [
        (
            "epic",
            "Impression: complete block at T10. No tracer ascent to the convexities.",
            "blocked",
            "T10",
        ),
        (
            "cerner",
            "Normal CSF flow; tracer reaches the cerebral convexities at 24 hours.",
            "normal",
            None,
        ),
        ("uk", "Partial obstruction of CSF flow at the level of C5-C6.", "blocked", "C5-C6"),
    ]:
        c = lm_case(v, "linear", "positive")
        c.add(report(v, FLOW_TITLE, text, category="NMR"))
        c.add(
            med(
                "MedicationRequest",
                "Methotrexate 12 mg intrathecal",
                status="draft",
                dosageInstruction=[{"route": {"text": "Intrathecal"}}],
            )
        )
        exp: Res = {"facts": {"csf-flow-study": value}, "medications": ["methotrexate"]}
        if level:
            exp["quotes"] = {"csf-flow-study": level}
        put(f"flow-{v}-{value}", c, exp)
    # --- biomarkers ---------------------------------------------------------------------------
    for v, text, facts in [
        ("epic", "HER2 (ERBB2) by IHC: positive, score 3+.", {"her2-status": "positive"}),
        (
            "cerner",
            "EGFR exon 19 deletion detected. ALK rearrangement not detected.",
            {"egfr-mutation": "positive", "alk-rearrangement": "negative"},
        ),
        (
            "uk",
            "BRAF V600E mutation detected by NGS. EGFR: wild type.",
            {"braf-v600": "positive", "egfr-mutation": "negative"},
        ),
        ("epic", "HER2 negative (IHC 1+); FISH not amplified.", {"her2-status": "negative"}),
    ]:
        c = Chart()
        c.add(report(v, "Molecular pathology report", text, category="PAT"))
        put(f"biomarker-{v}-{'-'.join(f'{k}-{x}' for k, x in facts.items())}", c, {"facts": facts})
    # --- assertion: possible / family / hypothetical / historical never read as present -----
    for i, text in enumerate(
        [
            "Possible leptomeningeal metastasis",
            "Concern for leptomeningeal disease",
            "Family history of breast cancer",
            "Mother had melanoma",
            "Evaluate for meningitis",
            "Leptomeningeal metastasis cannot be excluded",
        ]
    ):
        c = Chart()
        c.add(condition(text))
        put(f"assertion-{i + 1:02d}", c, {"absent_conditions": ["leptomeningeal-metastasis",
            "breast-cancer", "melanoma", "meningitis"]})  # fmt: skip
    # --- coded data is not free text --------------------------------------------------------
    c = Chart()
    c.add(
        condition(
            "Non-small cell carcinoma of lung, TNM stage 1",
            (SNOMED, "424132000", "Non-small cell carcinoma of lung, TNM stage 1"),
        )
    )
    c.add(
        {
            "resourceType": "Observation",
            "status": "final",
            "effectiveDateTime": WHEN,
            "code": {
                "coding": [
                    {"system": LOINC, "code": "9268-4", "display": "Glasgow coma score motor"}
                ]
            },
            "valueInteger": 6,
        }
    )
    put("coded-not-phrase", c, {"absent_conditions": ["sclc", "altered-consciousness"],
                                "absent_facts": ["gcs"]})  # fmt: skip
    # --- drug products as text, statements, infusions ---------------------------------------
    drugs: list[tuple[str, str, str, str, Res]] = [
        ("apixaban-scd-text", "MedicationRequest", "apixaban 5 MG Oral Tablet", "apixaban", {}),
        (
            "eliquis-brand",
            "MedicationStatement",
            "Eliquis 5 mg tablet",
            "apixaban",
            {"effectivePeriod": {"start": "2026-01-01"}},
        ),
        (
            "enoxaparin-syringe",
            "MedicationRequest",
            "enoxaparin 40 MG in 0.4 ML Prefilled Syringe",
            "enoxaparin",
            {},
        ),
        (
            "clopidogrel-statement",
            "MedicationStatement",
            "Plavix 75 mg tablet",
            "clopidogrel",
            {"effectiveDateTime": "2026-11-19"},
        ),
        ("rivaroxaban-text", "MedicationRequest", "Xarelto 20 mg tablet", "rivaroxaban", {}),
    ]
    for name, rtype, text, drug, extra in drugs:
        c = Chart()
        c.add(med(rtype, text, **extra))
        c.add(lp_order())
        put(f"drug-{name}", c, {"medications": [drug]})
    for status, period, ongoing in [
        ("in-progress", {"start": "2026-11-18T06:00:00Z"}, True),
        ("completed", {"start": "2026-11-18T06:00:00Z", "end": "2026-11-18T18:00:00Z"}, False),
        ("unknown", {"start": "2026-11-19T06:00:00Z"}, True),
    ]:
        c = Chart()
        c.add(med("MedicationAdministration", "heparin 25,000 units in dextrose 5% 250 mL "
                  "infusion", status=status, effectivePeriod=period))  # fmt: skip
        c.add(lp_order())
        put(f"infusion-heparin-{status}", c, {"medications": ["heparin"],
            "ongoing": ["heparin"] if ongoing else []})  # fmt: skip
    c = Chart()
    c.add(med("MedicationRequest", "Zorblatinib 40 mg tablet"))
    c.add(lp_order(status="draft"))
    put("drug-unrecognised-near-lp", c, {"warnings": ["unrecognised drug 'Zorblatinib"]})
    # --- laboratory codes and units (US and SI) ---------------------------------------------
    labs: list[tuple[str, str, str, dict[str, tuple[float, str]], float | None]] = [
        ("platelets", "Platelet Count", "777-3", {"epic": (42, "10*3/uL"),
         "cerner": (42, "x10^3/mcL"), "uk": (42, "10*9/L")}, 42.0),
        ("inr", "INR", "6301-6", {"epic": (1.6, "{INR}"), "cerner": (1.6, ""),
         "uk": (1.6, "{ratio}")}, 1.6),
        ("csf-wbc", "Nucleated Cell Count, CSF", "26465-5", {"epic": (85, "/uL"),
         "cerner": (85, "cells/uL"), "uk": (85, "10*6/L")}, 85.0),
        ("csf-protein", "Protein, CSF", "2880-3", {"epic": (112, "mg/dL"),
         "cerner": (112, "mg/dL"), "uk": (1.12, "g/L")}, 112.0),
        ("csf-glucose", "Glucose, CSF", "2342-4", {"epic": (36, "mg/dL"),
         "cerner": (36, "mg/dL"), "uk": (2.0, "mmol/L")}, None),
    ]  # fmt: skip
    for v in vendors:
        c = Chart()
        lab_facts: Res = {}
        approx: Res = {}
        for i, (cid, name, loinc, per, expect) in enumerate(labs):
            qv, unit = per[v]
            uk_name = {"csf-wbc": "CSF white cell count", "csf-glucose": "CSF glucose",
                       "csf-protein": "CSF protein", "platelets": "Platelet count",
                       "inr": "INR"}[cid]  # fmt: skip
            c.add(lab(v, uk_name if v == "uk" else name, loinc if v == "epic" else None,
                      qv, unit or "1", local=f"L{i:03d}"))  # fmt: skip
            if expect is not None:
                lab_facts[cid] = expect
            else:
                approx[cid] = 36.0
        c.add(
            lab(
                v,
                "Glucose, Serum" if v != "uk" else "Plasma glucose",
                "2345-7" if v == "epic" else None,
                6.0 if v == "uk" else 108,
                "mmol/L" if v == "uk" else "mg/dL",
            )
        )
        approx["serum-glucose"] = 108.0
        put(f"labs-{v}", c, {"facts": lab_facts, "approx": approx})
    c = Chart()  # an Epic site reporting in SI units with the moles/volume LOINC codes
    c.add(lab("epic", "Glucose", "14749-6", 6.0, "mmol/L", local="GLU"))
    c.add(lab("epic", "Glucose, CSF", "14744-7", 2.0, "mmol/L", local="CSFGLU"))
    put("labs-epic-si-glucose", c, {"approx": {"serum-glucose": 108.0, "csf-glucose": 36.0}})
    # --- CSF microbiology, CD4 and HIV status: results that establish an infection ----------
    # (name per vendor, LOINC sent by the Epic-style site where a verified code exists)
    micro: dict[str, dict[str, tuple[str, str | None]]] = {
        "crag": {"epic": ("Cryptococcus Ag, CSF", "29896-8"),
                 "cerner": ("Cryptococcus Ag Screen w/Titer, CSF", None),
                 "uk": ("CSF cryptococcal antigen", None)},
        "crag-titre": {"epic": ("Cryptococcus Ag Titer, CSF", "32674-4"),
                       "cerner": ("Cryptococcus Ag Titer, LFA, CSF", None),
                       "uk": ("CSF cryptococcal antigen titre", None)},
        "india-ink": {"epic": ("India Ink Prep, CSF", "638-7"),
                      "cerner": ("India Ink Preparation, Spinal Fluid", None),
                      "uk": ("CSF India ink", None)},
        "serum-crag": {"epic": ("Cryptococcus Ag Screen w/Titer, S", None),
                       "cerner": ("Cryptococcal Antigen, Serum", None),
                       "uk": ("Serum cryptococcal antigen", None)},
        "cd4": {"epic": ("CD4 T-Cell Count", "24467-3"), "cerner": ("CD4 Absolute", None),
                "uk": ("CD4 count", None)},
        "hiv": {"epic": ("HIV 1/2 Ag/Ab 4th Generation", "56888-1"),
                "cerner": ("HIV-1/2 Antigen/Antibody Screen", None), "uk": ("HIV 1/2 Ag/Ab", None)},
        "vl": {"epic": ("HIV-1 RNA Quant", "20447-9"), "cerner": ("HIV-1 RNA, Quantitative", None),
               "uk": ("HIV-1 viral load", None)},
        "xpert": {"epic": ("Xpert MTB/RIF Ultra, CSF", None), "cerner": ("MTB PCR, CSF", None),
                  "uk": ("CSF Xpert MTB/RIF Ultra", None)},
        "afb": {"epic": ("AFB Smear, CSF", "32188-5"), "cerner": ("AFB Stain, CSF", None),
                "uk": ("CSF ZN stain", None)},
        "gram": {"epic": ("Gram Stain, CSF", "14357-8"), "cerner": ("CSF Gram Stain", None),
                 "uk": ("CSF Gram stain", None)},
        "culture": {"epic": ("Culture, CSF", "606-4"), "cerner": ("CSF Culture", None),
                    "uk": ("CSF culture", None)},
    }  # fmt: skip

    def mlab(c: Chart, v: str, key: str, value: float | str, unit: str = "") -> None:
        name, loinc = micro[key][v]
        c.add(lab(v, name, loinc if v == "epic" else None, value, unit or "1",
                  local=f"M{len(c.entries):03d}"))  # fmt: skip

    for v in vendors:
        c = Chart(sex="male")
        mlab(c, v, "hiv", "Reactive" if v != "cerner" else "REACTIVE")
        mlab(c, v, "vl", 245000, "{copies}/mL" if v == "epic" else "copies/mL")
        mlab(c, v, "cd4", 0.045 if v == "uk" else 45, "10*9/L" if v == "uk" else "cells/uL")
        mlab(c, v, "serum-crag", "Positive")
        mlab(c, v, "crag", "POSITIVE" if v == "cerner" else "Positive")
        mlab(c, v, "crag-titre", "1:640")
        mlab(c, v, "india-ink", "Encapsulated yeast seen")
        mlab(c, v, "gram", "No organisms seen")
        put(f"infection-cryptococcal-hiv-{v}", c, {
            "facts": {"hiv-screen": "positive", "hiv-viral-load": 245000.0, "cd4-count": 45.0,
                      "serum-crag": "positive", "csf-crag": "positive", "csf-india-ink": "positive",
                      "csf-gram-stain": False},
            "conditions": ["cryptococcal-meningitis", "hiv"],
            "rules": ["cryptococcal-induction"],
            "absent_rules": ["bacterial-meningitis-empiric-regimen", "tb-meningitis-regimen"]})  # fmt: skip
        c = Chart(sex="female")
        mlab(c, v, "xpert", "MTB DETECTED LOW; Rif Resistance NOT DETECTED")
        mlab(c, v, "afb", "No acid fast bacilli seen")
        mlab(c, v, "culture", "No growth after 48 hours" if v != "uk" else "No growth")
        mlab(c, v, "hiv", "Non-reactive" if v != "cerner" else "NONREACTIVE")
        put(f"infection-tuberculous-{v}", c, {
            "facts": {"csf-mtb-naat": "positive", "csf-afb-smear": "negative",
                      "csf-culture": False, "hiv-screen": "negative"},
            "conditions": ["tuberculous-meningitis"],
            "absent_conditions": ["hiv", "cryptococcal-meningitis"],
            "rules": ["tb-meningitis-regimen"],
            "absent_rules": ["bacterial-meningitis-empiric-regimen", "cryptococcal-induction"]})  # fmt: skip
        c = Chart(birth="1984-06-01")
        si = v == "uk"
        c.add(
            lab(
                v,
                "CSF white cell count" if si else "Nucleated Cell Count, CSF",
                "26465-5" if v == "epic" else None,
                2400,
                "10*6/L" if si else "cells/uL",
                local="CSFWBC",
            )
        )
        c.add(
            lab(
                v,
                "CSF protein" if si else "Protein, CSF",
                "2880-3" if v == "epic" else None,
                2.1 if si else 210,
                "g/L" if si else "mg/dL",
                local="CSFPRO",
            )
        )
        c.add(
            lab(
                v,
                "CSF glucose" if si else "Glucose, CSF",
                "2342-4" if v == "epic" else None,
                1.1 if si else 20,
                "mmol/L" if si else "mg/dL",
                local="CSFGLU",
            )
        )
        c.add(lab(v, "Plasma glucose" if si else "Glucose, Serum", "2345-7" if v == "epic" else None,
                  6.5 if si else 117, "mmol/L" if si else "mg/dL", local="GLU"))  # fmt: skip
        mlab(c, v, "gram", "Gram positive diplococci seen")
        mlab(c, v, "culture", "Streptococcus pneumoniae")
        mlab(c, v, "crag", "Negative")
        put(f"infection-bacterial-{v}", c, {
            "facts": {"csf-gram-stain": "Gram positive diplococci seen",
                      "csf-culture": "Streptococcus pneumoniae", "csf-crag": "negative"},
            "absent_conditions": ["cryptococcal-meningitis", "tuberculous-meningitis"],
            "rules": ["bacterial-meningitis-empiric-regimen"],
            "absent_rules": ["cryptococcal-induction", "tb-meningitis-regimen"]})  # fmt: skip
        c = Chart(birth="1979-02-11")
        mlab(c, v, "gram", "No organisms seen")
        mlab(c, v, "culture", "No growth to date")
        mlab(c, v, "crag", "Not detected")
        mlab(c, v, "india-ink", "No encapsulated yeast seen")
        mlab(c, v, "xpert", "MTB NOT DETECTED")
        mlab(c, v, "hiv", "Non-reactive")
        mlab(c, v, "vl", "Not detected")
        put(f"infection-microbiology-negative-{v}", c, {
            "facts": {"csf-gram-stain": False, "csf-culture": False, "csf-crag": "negative",
                      "csf-india-ink": "negative", "csf-mtb-naat": "negative",
                      "hiv-screen": "negative", "hiv-viral-load": False},
            "absent_conditions": ["cryptococcal-meningitis", "tuberculous-meningitis", "hiv",
                                  "bacterial-meningitis"],
            "absent_rules": ["bacterial-meningitis-empiric-regimen", "cryptococcal-induction",
                             "tb-meningitis-regimen"]})  # fmt: skip
    # --- mixed statuses -------------------------------------------------------------------
    c = Chart()
    c.add(lab("epic", "Platelet Count", "777-3", 20, "10*3/uL", status="entered-in-error"))
    c.add(lab("epic", "Platelet Count", "777-3", 180, "10*3/uL",
              when="2026-11-18T09:00:00Z"))  # fmt: skip
    put("status-entered-in-error", c, {"facts": {"platelets": 180.0}})
    c = Chart()
    c.add(report("cerner", CYTO_TITLE["cerner"], CYTO_TEXT["positive"], category="CP",
                 status="preliminary"))  # fmt: skip
    put(
        "status-preliminary-cytology",
        c,
        {"facts": {"csf-cytology": "positive"}, "quotes": {"csf-cytology": "preliminary"}},
    )
    c = Chart()
    c.add(report("uk", MRI_TITLE["uk"], MRI_TEXT["nodular"], status="amended"))
    put("status-amended-mri", c, {"facts": {"mri-lm-pattern": "nodular"}})
    c = Chart()
    c.add(report("epic", MRI_TITLE["epic"], MRI_TEXT["linear"], status="cancelled"))
    put("status-cancelled-mri", c, {"absent_facts": ["mri-lm-pattern"]})
    # --- several patients ------------------------------------------------------------------
    c = Chart("a")
    c.add(lab("epic", "Platelet Count", "777-3", 190, "10*3/uL"))
    c.entries.append({"resourceType": "Patient", "id": "b", "birthDate": "1990-01-01"})
    c.add(lab("epic", "Platelet Count", "777-3", 20, "10*3/uL"), subject="b")
    c.add(report("epic", MRI_TITLE["epic"], MRI_TEXT["linear"]), subject="b")
    put("two-patients-searchset", c, {"patient": "Patient/a", "facts": {"platelets": 190.0},
        "absent_facts": ["mri-lm-pattern"], "dropped": 3}, btype="searchset")  # fmt: skip
    tx = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:pa", "resource": {"resourceType": "Patient", "birthDate": "1955-03-03"}},
        {"fullUrl": "urn:uuid:o1", "resource": {**lab("cerner", "Platelets", None, 75, "x10^3/mcL"),
                                                "subject": {"reference": "urn:uuid:pa"}}},
        {"fullUrl": "urn:uuid:o2", "resource": {**lab("cerner", "Platelets", None, 15, "x10^3/mcL"),
                                                "subject": {"reference": "urn:uuid:pz"}}},
    ]}  # fmt: skip
    put("two-patients-transaction-urn", tx, {"facts": {"platelets": 75.0}, "dropped": 1})
    c = Chart()
    c.add(lab("uk", "Platelet count", None, 95, "10*9/L"))
    c.add(lab("uk", "Platelet count", None, 11, "10*9/L", when="2026-11-20T09:00:00Z"),
          subject="someone-else")  # fmt: skip
    put("two-patients-subject-only", c, {"facts": {"platelets": 95.0}, "dropped": 1})
    # --- fail closed, locally ----------------------------------------------------------------
    c = Chart()
    c.add(lab("epic", "Platelet Count", "777-3", "<5", "10*3/uL"))
    c.add(lab("epic", "INR", "6301-6", 1.1, "{INR}"))
    put("unreadable-bound-string", c, {"facts": {"inr": 1.1}, "unreadable": ["platelets"]})
    c = Chart()
    bad = lab("cerner", "Platelet Count", None, 50, "x10^3/mcL")
    bad["valueQuantity"]["value"] = "abc"
    c.add(bad)
    c.add(report("cerner", CYTO_TITLE["cerner"], CYTO_TEXT["negative"], category="CP"))
    put(
        "unreadable-wrong-type",
        c,
        {"facts": {"csf-cytology": "negative"}, "unreadable": ["platelets"], "dropped": 1},
    )
    c = Chart()
    c.add(lab("uk", "INR", None, 1.0, "{ratio}", when="yesterday"))
    c.add(lab("uk", "Platelet count", None, 210, "10*9/L"))
    chart = c.bundle()
    chart["entry"].append(None)
    put(
        "unreadable-date-and-null-entry",
        chart,
        {"facts": {"platelets": 210.0}, "unreadable": ["inr"], "dropped": 2},
    )
    # --- impression and final-diagnosis Observations (free text, vendor codes) -------------
    for v, title, text, cid, value in [
        (
            "epic",
            "MRI Impression",
            "1. Nodular leptomeningeal enhancement along the conus.",
            "mri-lm-pattern",
            "nodular",
        ),
        (
            "cerner",
            "Final Diagnosis - CSF Cytology",
            "No malignant cells identified.",
            "csf-cytology",
            "negative",
        ),
        (
            "uk",
            "Cytopathology final diagnosis (CSF)",
            "Malignant cells present, in keeping with metastatic breast carcinoma.",
            "csf-cytology",
            "positive",
        ),
    ]:
        c = Chart()
        obs = lab(v, title, None, text, "", local="IMP")
        obs["category"] = [{"text": "Imaging" if "MRI" in title else "Pathology"}]
        c.add(obs)
        put(f"impression-{v}-{cid}-{value}", c, {"facts": {cid: value}})
    c = Chart()  # a Cerner-style radiology report sent as a DocumentReference
    text = MRI_TEXT["linear-and-nodular"]
    c.add(
        {
            "resourceType": "DocumentReference",
            "status": "current",
            "docStatus": "final",
            "type": {
                "coding": [
                    {"system": LOINC, "code": "18748-4", "display": "Diagnostic imaging study"}
                ]
            },
            "description": "MR Brain and Spine w/wo Contrast",
            "date": WHEN,
            "content": [
                {
                    "attachment": {
                        "contentType": "text/plain",
                        "data": base64.b64encode(text.encode()).decode(),
                        "title": "MR Brain and Spine w/wo Contrast",
                    }
                }
            ],
        }
    )
    c.add(
        {
            "resourceType": "DocumentReference",
            "status": "current",
            "type": {"text": "Progress note"},
            "date": WHEN,
            "content": [
                {
                    "attachment": {
                        "contentType": "text/plain",
                        "data": base64.b64encode(b"Possible LM.").decode(),
                    }
                }
            ],
        }
    )
    put("document-reference-mri", c, {"facts": {"mri-lm-pattern": "linear-and-nodular"}})
    # --- the CSF differential in words: cell-count reports, text results, comments ---------
    meningitis = ("http://hl7.org/fhir/sid/icd-10-cm", "G03.9", "Meningitis, unspecified")
    for v, shape, text, value, pct in [
        ("epic", "report", "CSF CELL COUNT: WBC 240 /uL. Differential: predominantly "
         "neutrophils (88%).", "neutrophils", {"csf-neutrophils-pct": 88.0}),
        ("cerner", "report", "Lymphocytic pleocytosis. Mononuclear cells predominate.",
         "lymphocytes", {}),
        ("uk", "comment", "Mostly lymphocytes 80%", "lymphocytes", {"csf-lymphocytes-pct": 80.0}),
        ("cerner", "text", "Predominantly Lymphocytes", "lymphocytes", {}),
    ]:  # fmt: skip
        c = Chart(birth="1990-06-11", sex="male")
        c.add(condition("Meningitis", meningitis))
        count = lab(v, "CSF white cell count" if v == "uk" else "Nucleated Cell Count, CSF", None,
                    240, "10*6/L" if v == "uk" else "/uL", local="CSFWBC")  # fmt: skip
        if shape == "comment":
            count["note"] = [{"text": text}]
        c.add(count)
        if shape == "report":
            c.add(report(v, "CSF cell count and differential", text, category="HM"))
        elif shape == "text":
            c.add(lab(v, "CSF Differential", None, text, "", local="CSFDIFF"))
        put(
            f"csf-differential-{v}-{shape}",
            c,
            {"facts": {"csf-wbc": 240.0, "csf-predominant-cell": value, **pct},
             "quotes": {"csf-predominant-cell": text.split(". ")[-1].split(" (")[0]}},
        )  # fmt: skip
    c = Chart()  # a differential that names both kinds as predominant: unreadable, not a default
    c.add(lab("uk", "CSF white cell count", None, 240, "10*6/L", local="CSFWBC"))
    c.add(report("uk", "CSF cell count and differential",
                 "Predominantly neutrophils on the first tube; lymphocytic pleocytosis on the "
                 "third.", category="HM"))  # fmt: skip
    put("csf-differential-contradictory", c, {"unreadable": ["csf-predominant-cell"]})
    # --- laboratory panels with contained results, printed units, titres as ratios ---------
    c = Chart()  # a Cerner-style full blood count: results held in the report itself
    plt = lab("uk", "Platelet count", None, 35, "×10⁹/L", local="PLT")
    inr = lab("uk", "INR", None, 1.1, "", local="INR")
    for res, rid in ((plt, "plt"), (inr, "inr")):
        res["id"] = rid
        del res["effectiveDateTime"]  # the report's time stands for its results
    panel = report("cerner", "Full blood count and clotting", "See results.", category="HM")
    panel |= {"contained": [plt, inr], "result": [{"reference": "#plt"}, {"reference": "#inr"}]}
    c.add(panel)
    c.add(lp_order())
    put("lab-panel-contained-results", c, {"facts": {"platelets": 35.0, "inr": 1.1}})
    c = Chart()  # a UK laboratory printing powers of ten
    c.add(lab("uk", "Platelet count", None, 88, "x10(9)/L", local="PLT"))
    c.add(lab("uk", "CSF white cell count", None, 12, "cells/mm³", local="CSFWCC"))
    put("labs-uk-printed-units", c, {"facts": {"platelets": 88.0, "csf-wbc": 12.0}})
    c = Chart()  # a CSF cryptococcal antigen titre sent as a ratio
    crag = lab("cerner", "Cryptococcus Ag Screen w/Titer, CSF", None, 0, "", local="CRAG")
    del crag["valueQuantity"]
    crag["valueRatio"] = {"numerator": {"value": 1}, "denominator": {"value": 640}}
    c.add(crag)
    put("crag-titre-ratio", c, {"facts": {"csf-crag": "positive"},
                                "conditions": ["cryptococcal-meningitis"]})  # fmt: skip
    # --- a CDS Hooks style prefetch: a list of a Patient and search Bundles ---------------
    c = lm_case("cerner", "nodular", "positive")
    patient, rest = c.entries[0], c.entries[1:]
    prefetch: Any = [patient, {"resourceType": "Bundle", "type": "searchset",
                               "entry": [{"resource": r} for r in rest]}]  # fmt: skip
    out["prefetch-list-lm-nodular"] = prefetch
    expected.append(
        {
            "file": "bundles/prefetch-list-lm-nodular.json",
            "facts": {"mri-lm-pattern": "nodular", "csf-cytology": "positive"},
            "classification": {"certainty": "confirmed", "type": "IB"},
        }
    )
    # --- a 1,000-resource chart ---------------------------------------------------------------
    c = lm_case("epic", "linear", "positive")
    for day in range(333):
        when = f"2026-{1 + day // 34:02d}-{1 + day % 28:02d}T08:00:00Z"
        c.add(lab("epic", "Platelet Count", "777-3", 150 + day % 40, "10*3/uL", when=when))
        c.add(lab("epic", "Heart rate", None, 70 + day % 9, "/min", when=when, local="HR"))
        c.add(lab("epic", "Body weight", "29463-7", 70.0, "kg", when=when, local="WT"))
    c.add(lab("epic", "Platelet Count", "777-3", 61, "10*3/uL", when="2026-11-20T08:00:00Z"))
    assert len(c.entries) >= 1000
    put("chart-1000-resources", c, {"facts": {"platelets": 61.0, "mri-lm-pattern": "linear",
        "csf-cytology": "positive"}, "classification": {"certainty": "confirmed",
        "type": "IA"}, "max_warnings": 20})  # fmt: skip
    return out, expected


def main() -> None:
    bundles, expected = build()
    target = HERE / "bundles"
    target.mkdir(exist_ok=True)
    for old in target.glob("*.json"):
        old.unlink()
    for name, doc in bundles.items():
        (target / f"{name}.json").write_text(json.dumps(doc, indent=1) + "\n")
    header = "# Generated by build_charts.py: expected facts of each real-shaped chart.\n"
    (HERE / "expected.yaml").write_text(
        header + yaml.safe_dump({"charts": expected}, sort_keys=False, width=100)
    )
    print(f"{len(bundles)} charts written")


if __name__ == "__main__":
    main()
