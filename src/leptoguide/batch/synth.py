"""Synthetic FHIR Bulk Data exports for tests and benchmarks (seeded, deterministic).

``write_export(out_dir, patients=N, seed=S)`` writes one NDJSON file per resource type and part
(``Observation.000.ndjson`` ...), as a ``$export`` server does. The data are shaped like real
exports on purpose, so the population audits meet what hospitals send:

- platelet counts in mixed units (``10*3/uL`` with the UCUM system, ``10^9/L`` and ``K/uL`` as
  free text, ``/uL`` with the value in cells, ``x10E9/L``), a few without a unit, a few bounds
  (``<20``), a few only named in text; INR with and without a unit;
- results entered in error, cancelled or preliminary; labs older than the look-back;
- lumbar punctures completed, not done or entered in error, some with a period instead of a time;
- antithrombotics as administrations, orders and statements (RxNorm ingredient codes), LMWH at
  prophylactic and treatment doses, running heparin infusions;
- cancers by ICD-10-CM and SNOMED CT, leptomeningeal metastasis, CSF cytology and flow studies,
  intrathecal methotrexate, neonates given ceftriaxone and IV calcium;
- optionally a few broken lines (``bad_every``), as a truncated transfer leaves them.

Codes and units are the ones real systems use; nothing here decides what counts as a finding.
"""

from __future__ import annotations

import datetime as dt
import gzip
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

import orjson

LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
UCUM = "http://unitsofmeasure.org"
LM_SYSTEM = "https://leptoguide.org/fhir/CodeSystem/lm"
COND_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
COND_VERIFY = "http://terminology.hl7.org/CodeSystem/condition-ver-status"

WARDS = ["Neuro-oncology ward", "Haematology day unit", "Emergency department", "Neonatal unit"]
START = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
SPAN_DAYS = 365

# (unit as written, use UCUM system?, factor from 10^9/L to the written value)
PLATELET_UNITS: list[tuple[str | None, bool, float]] = [
    ("10*3/uL", True, 1.0),
    ("10*9/L", True, 1.0),
    ("10^9/L", False, 1.0),
    ("K/uL", False, 1.0),
    ("x10E9/L", False, 1.0),
    ("/uL", True, 1000.0),
    ("cells/mm3", False, 1000.0),
]
ANTITHROMBOTICS = [
    # (RxNorm ingredient, display, dose mg, unit, route SNOMED, route display)
    ("67108", "enoxaparin", 40.0, "mg", "34206005", "Subcutaneous route"),
    ("67108", "enoxaparin", 80.0, "mg", "34206005", "Subcutaneous route"),
    ("1364430", "apixaban", 5.0, "mg", "26643006", "Oral route"),
    ("32968", "clopidogrel", 75.0, "mg", "26643006", "Oral route"),
    ("5224", "heparin", 5000.0, "[iU]", "47625008", "Intravenous route"),
    ("11289", "warfarin", 5.0, "mg", "26643006", "Oral route"),
    ("1037042", "dabigatran", 150.0, "mg", "26643006", "Oral route"),
]
MEDICATIONS = {
    **{code: name for code, name, *_ in ANTITHROMBOTICS},
    "6851": "methotrexate",
    "2193": "ceftriaxone",
    "1908": "calcium gluconate",
}
CANCERS = [
    # (system, code, display, driver LOINC-less local finding or None)
    (ICD10CM, "C50.911", "Malignant neoplasm of unspecified site of right female breast"),
    (SNOMED, "254837009", "Malignant neoplasm of breast"),
    (ICD10CM, "C34.90", "Malignant neoplasm of unspecified part of bronchus or lung"),
    (SNOMED, "363358000", "Malignant tumor of lung"),
    (ICD10CM, "C43.9", "Malignant melanoma of skin, unspecified"),
]
LM_CODES = [
    (ICD10CM, "C79.32", "Secondary malignant neoplasm of cerebral meninges"),
    (SNOMED, "1155991005", "Leptomeningeal metastasis"),
]


@dataclass
class _Writer:
    """One resource type: rotating part files, optional gzip, optional broken lines."""

    root: Path
    rtype: str
    part_lines: int
    gz: bool
    bad_every: int
    handle: IO[bytes] | None = None
    part: int = 0
    lines_in_part: int = 0
    lines: int = 0
    bad: list[tuple[str, int]] = field(default_factory=list)

    def _open(self) -> IO[bytes]:
        name = f"{self.rtype}.{self.part:03d}.ndjson" + (".gz" if self.gz else "")
        path = self.root / name
        if self.gz:
            return cast(IO[bytes], gzip.open(path, "wb", compresslevel=1))
        return path.open("wb", buffering=1 << 20)

    def write(self, res: dict[str, Any]) -> None:
        if self.handle is None or self.lines_in_part >= self.part_lines:
            if self.handle is not None:
                self.handle.close()
                self.part += 1
                self.lines_in_part = 0
            self.handle = self._open()
        line = orjson.dumps(res)
        self.lines += 1
        self.lines_in_part += 1
        if self.bad_every and self.lines % self.bad_every == 0:
            # a transfer cut mid-record: the line is kept, broken
            self.bad.append((self._name(), self.lines_in_part))
            line = line[: max(1, len(line) // 2)]
        self.handle.write(line + b"\n")

    def _name(self) -> str:
        return f"{self.rtype}.{self.part:03d}.ndjson" + (".gz" if self.gz else "")

    def close(self) -> None:
        if self.handle is not None:
            self.handle.close()


@dataclass
class ExportStats:
    patients: int
    lines: dict[str, int]
    bad_lines: list[tuple[str, int]]


def _iso(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _ref(pid: str) -> dict[str, str]:
    return {"reference": f"Patient/{pid}"}


class _Patient:
    def __init__(self, rng: random.Random, n: int, prefix: str) -> None:
        self.rng = rng
        self.pid = f"{prefix}{n}"
        self.k = 0
        self.out: list[dict[str, Any]] = []

    def rid(self, kind: str) -> str:
        self.k += 1
        return f"{self.pid}-{kind}{self.k}"

    def add(self, res: dict[str, Any]) -> None:
        self.out.append(res)

    # ------------------------------------------------------------------ labs

    def platelets(self, t: dt.datetime | None, value: float) -> None:
        r = self.rng
        status = r.choices(
            ["final", "amended", "preliminary", "entered-in-error", "cancelled"],
            [85, 3, 3, 6, 3],
        )[0]
        unit, ucum, factor = r.choice(PLATELET_UNITS)
        roll = r.random()
        code: dict[str, Any]
        loinc = r.choice(["777-3", "26515-7"])
        if roll < 0.03:
            code = {"text": "Platelet count"}
        else:
            code = {
                "coding": [{"system": LOINC, "code": loinc, "display": "Platelets"}],
                "text": "PLT",
            }
        qty: dict[str, Any] = {"value": round(value * factor, 1 if factor == 1 else 0)}
        roll = r.random()
        if roll < 0.02:
            pass  # no unit at all
        elif roll < 0.04:
            qty["comparator"] = "<"
            qty["unit"] = unit
        else:
            qty["unit"] = unit
            if ucum:
                qty["system"] = UCUM
                qty["code"] = unit
        res: dict[str, Any] = {
            "resourceType": "Observation",
            "id": self.rid("plt"),
            "status": status,
            "category": [
                {
                    "coding": [
                        {
                            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
                            "code": "laboratory",
                        }
                    ]
                }
            ],
            "code": code,
            "subject": _ref(self.pid),
            "valueQuantity": qty,
        }
        if t is not None:
            res["effectiveDateTime"] = _iso(t)
        self.add(res)

    def inr(self, t: dt.datetime, value: float) -> None:
        r = self.rng
        status = r.choices(["final", "entered-in-error", "amended"], [90, 6, 4])[0]
        qty: dict[str, Any] = {"value": round(value, 2)}
        roll = r.random()
        if roll < 0.4:
            qty.update({"unit": "INR", "system": UCUM, "code": "{INR}"})
        elif roll < 0.7:
            qty["unit"] = "ratio"
        self.add(
            {
                "resourceType": "Observation",
                "id": self.rid("inr"),
                "status": status,
                "code": {
                    "coding": [
                        {"system": LOINC, "code": r.choice(["6301-6", "34714-6"]), "display": "INR"}
                    ]
                },
                "subject": _ref(self.pid),
                "effectiveDateTime": _iso(t),
                "valueQuantity": qty,
            }
        )

    def finding(self, t: dt.datetime, code: str, text: str, value: str) -> None:
        self.add(
            {
                "resourceType": "Observation",
                "id": self.rid("f"),
                "status": "final",
                "code": {"coding": [{"system": LM_SYSTEM, "code": code}], "text": text},
                "subject": _ref(self.pid),
                "effectiveDateTime": _iso(t),
                "valueCodeableConcept": {"text": value},
            }
        )

    # ------------------------------------------------------------------ events

    def lp(self, t: dt.datetime) -> None:
        r = self.rng
        status = r.choices(
            ["completed", "not-done", "entered-in-error", "preparation", "in-progress"],
            [88, 4, 4, 2, 2],
        )[0]
        res: dict[str, Any] = {
            "resourceType": "Procedure",
            "id": self.rid("lp"),
            "status": status,
            "code": {
                "coding": [{"system": SNOMED, "code": "277762005", "display": "Lumbar puncture"}]
            },
            "subject": _ref(self.pid),
            "location": {"display": r.choice(WARDS)},
        }
        if r.random() < 0.05:
            res["performedPeriod"] = {
                "start": _iso(t),
                "end": _iso(t + dt.timedelta(minutes=30)),
            }
        else:
            res["performedDateTime"] = _iso(t)
        self.add(res)

    def med(
        self,
        t: dt.datetime,
        drug: tuple[str, str, float, str, str, str],
        *,
        kind: str = "MedicationAdministration",
        route: tuple[str, str] | None = None,
        per_day: int | None = None,
    ) -> None:
        code, name, dose, unit, route_code, route_display = drug
        if route is not None:
            route_code, route_display = route
        med = {"coding": [{"system": RXNORM, "code": code, "display": name}], "text": name}
        route_cc = {"coding": [{"system": SNOMED, "code": route_code, "display": route_display}]}
        res: dict[str, Any] = {
            "resourceType": kind,
            "id": self.rid("m"),
            "medicationCodeableConcept": med,
            "subject": _ref(self.pid),
        }
        if self.rng.random() < 0.2:
            # as many EHR exports do: the drug is a Medication resource of the export
            del res["medicationCodeableConcept"]
            res["medicationReference"] = {"reference": f"Medication/rx{code}"}
        if kind == "MedicationAdministration":
            res["status"] = self.rng.choices(
                ["completed", "entered-in-error", "not-done"], [94, 4, 2]
            )[0]
            if name == "heparin" and self.rng.random() < 0.4:
                # a running infusion: in progress, or an open period
                res["status"] = self.rng.choice(["in-progress", "on-hold", "completed"])
                res["effectivePeriod"] = {"start": _iso(t)}
            else:
                res["effectiveDateTime"] = _iso(t)
            res["dosage"] = {
                "route": route_cc,
                "dose": {"value": dose, "unit": unit, "system": UCUM, "code": unit},
            }
        elif kind == "MedicationStatement":
            res["status"] = self.rng.choice(["active", "completed", "entered-in-error"])
            if self.rng.random() < 0.5:
                res["effectivePeriod"] = {"start": _iso(t)}  # taking it, no end recorded
            else:
                res["effectiveDateTime"] = _iso(t)
            dosage_s: dict[str, Any] = {
                "doseAndRate": [{"doseQuantity": {"value": dose, "unit": unit}}]
            }
            if per_day:
                dosage_s["timing"] = {"code": {"coding": [{"code": {1: "QD", 2: "BID"}[per_day]}]}}
            res["dosage"] = [dosage_s]
        else:
            res["status"] = "active"
            res["intent"] = "order"
            res["authoredOn"] = _iso(t)
            dosage: dict[str, Any] = {
                "route": route_cc,
                "doseAndRate": [{"doseQuantity": {"value": dose, "unit": unit}}],
            }
            if per_day:
                dosage["timing"] = {
                    "repeat": {"frequency": per_day, "period": 1, "periodUnit": "d"}
                }
            res["dosageInstruction"] = [dosage]
        self.add(res)

    def condition(
        self, t: dt.datetime, coding: tuple[str, str, str], verification: str = "confirmed"
    ) -> None:
        system, code, display = coding
        self.add(
            {
                "resourceType": "Condition",
                "id": self.rid("c"),
                "clinicalStatus": {"coding": [{"system": COND_CLINICAL, "code": "active"}]},
                "verificationStatus": {"coding": [{"system": COND_VERIFY, "code": verification}]},
                "code": {"coding": [{"system": system, "code": code, "display": display}]},
                "subject": _ref(self.pid),
                "onsetDateTime": _iso(t),
            }
        )


def _platelet_value(rng: random.Random) -> float:
    roll = rng.random()
    if roll < 0.15:
        return rng.uniform(5, 49.9)
    if roll < 0.22:
        return rng.uniform(49.5, 50.5)  # around the usual threshold: unit errors would show
    return rng.uniform(51, 420)


def patient_resources(rng: random.Random, n: int, prefix: str = "p") -> list[dict[str, Any]]:
    """All resources of one synthetic patient (Patient first)."""
    p = _Patient(rng, n, prefix)
    base = START + dt.timedelta(seconds=rng.randrange(SPAN_DAYS * 86400))
    neonate = rng.random() < 0.02
    if neonate:
        birth = (base - dt.timedelta(days=rng.randrange(0, 45))).date()
    else:
        birth = dt.date(rng.randrange(1930, 2020), rng.randrange(1, 13), rng.randrange(1, 29))
    patient: dict[str, Any] = {
        "resourceType": "Patient",
        "id": p.pid,
        "gender": rng.choice(["female", "male"]),
    }
    if rng.random() > 0.01:
        patient["birthDate"] = birth.isoformat()
    p.add(patient)
    h = dt.timedelta(hours=1)
    # background labs everyone has
    for _ in range(rng.randrange(1, 4)):
        p.platelets(base - rng.randrange(0, 2000) * h, rng.uniform(60, 400))
    cancer = rng.random() < 0.10
    lm = cancer and rng.random() < 0.35
    lps = 0
    if rng.random() < 0.12 or lm:
        lps = rng.choice([1, 1, 1, 2, 3])
    if cancer:
        p.condition(base - 400 * h, rng.choice(CANCERS))
        if rng.random() < 0.3:
            p.finding(
                base - 300 * h,
                "egfr-mutation",
                "EGFR mutation",
                rng.choice(["positive", "negative"]),
            )
    if lm:
        verification = rng.choices(["confirmed", "provisional", "entered-in-error"], [70, 20, 10])[
            0
        ]
        p.condition(base - 100 * h, rng.choice(LM_CODES), verification)
        p.finding(
            base - 90 * h,
            "mri-lm-pattern",
            "MRI LM pattern",
            rng.choice(["linear", "nodular", "normal"]),
        )
    anticoag = rng.random() < 0.10 or (lps and rng.random() < 0.25)
    for i in range(lps):
        t = base + dt.timedelta(days=3 * i, minutes=rng.randrange(0, 600))
        # labs before this LP: some fresh, some stale, some after it
        for _ in range(rng.choice([0, 1, 1, 2, 3])):
            offset = rng.choice(
                [rng.uniform(0, 72), rng.uniform(0, 72), rng.uniform(60, 200), -rng.uniform(0, 12)]
            )
            lab_t = None if rng.random() < 0.01 else t - offset * h
            p.platelets(lab_t, _platelet_value(rng))
        if rng.random() < 0.7:
            p.inr(
                t - rng.uniform(0, 120) * h,
                rng.choice([rng.uniform(0.8, 1.4), rng.uniform(0.9, 3.5)]),
            )
        if anticoag:
            drug = rng.choice(ANTITHROMBOTICS)
            roll = rng.random()
            if roll < 0.7:
                p.med(t - rng.uniform(1, 200) * h, drug)
            else:
                p.med(
                    t - rng.uniform(1, 300) * h,
                    drug,
                    kind="MedicationRequest" if roll < 0.85 else "MedicationStatement",
                    per_day=rng.choice([None, 1, 2]),
                )
        p.lp(t)
        if lm:
            p.finding(
                t + 2 * h,
                "csf-cytology",
                "CSF cytology",
                rng.choice(["positive", "negative", "equivocal"]),
            )
            if rng.random() < 0.5:
                flow_t = t + dt.timedelta(hours=rng.choice([-48, 24]))
                p.finding(
                    flow_t, "csf-flow-study", "CSF flow study", rng.choice(["normal", "blocked"])
                )
            if rng.random() < 0.6:
                mtx = ("6851", "methotrexate", 12.0, "mg", "72607000", "Intrathecal route")
                p.med(t + 30 * h, mtx)
    if neonate and rng.random() < 0.6:
        t = base + 5 * h
        p.med(t, ("2193", "ceftriaxone", 50.0, "mg/kg", "47625008", "Intravenous route"))
        if rng.random() < 0.5:
            p.med(
                t + rng.choice([-2, 3]) * h,
                ("1908", "calcium gluconate", 100.0, "mg/kg", "47625008", "Intravenous route"),
            )
    return p.out


def iter_patients(patients: int, seed: int, prefix: str = "p") -> Iterator[list[dict[str, Any]]]:
    rng = random.Random(seed)
    for n in range(patients):
        yield patient_resources(rng, n, prefix)


def write_export(
    out_dir: str | Path,
    *,
    patients: int,
    seed: int = 16,
    part_lines: int = 500_000,
    gz: bool = False,
    bad_every: int = 0,
) -> ExportStats:
    """Write a synthetic Bulk export of ``patients`` patients into ``out_dir``."""
    root = Path(out_dir)
    root.mkdir(parents=True, exist_ok=True)
    writers: dict[str, _Writer] = {}
    for resources in iter_patients(patients, seed):
        for res in resources:
            rtype = res["resourceType"]
            w = writers.get(rtype)
            if w is None:
                w = writers[rtype] = _Writer(root, rtype, part_lines, gz, bad_every)
            w.write(res)
    meds = _Writer(root, "Medication", part_lines, gz, 0)
    for code, name in sorted(MEDICATIONS.items()):
        meds.write(
            {
                "resourceType": "Medication",
                "id": f"rx{code}",
                "code": {
                    "coding": [{"system": RXNORM, "code": code, "display": name}],
                    "text": name,
                },
            }
        )
    writers["Medication"] = meds
    for w in writers.values():
        w.close()
    return ExportStats(
        patients=patients,
        lines={k: w.lines for k, w in sorted(writers.items())},
        bad_lines=[b for w in writers.values() for b in w.bad],
    )
