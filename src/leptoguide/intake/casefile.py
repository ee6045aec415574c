"""Read a LeptoGuide case file (the YAML/JSON hand-entry format) into the same Case as FHIR.

The file is first checked against ``casefile.schema.json`` (errors name the field path, e.g.
``labs[2].value``); then every term is matched to a concept id like FHIR text is. The format is
documented in docs/case-file.md.
"""

from __future__ import annotations

import datetime as dt
import json
from functools import cache
from importlib import resources
from typing import Any, Literal

from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from leptoguide.case import (
    Case,
    ConditionEntry,
    DeviceEntry,
    MedicationEntry,
    ProcedureEntry,
)
from leptoguide.errors import InputError
from leptoguide.intake.common import CaseBuilder, parse_date, parse_datetime, timing_code
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.models import Concept

# Case-file field -> contract concept id (brief: "Terminology concept ids").
FINDINGS = {
    "mri_pattern": "mri-lm-pattern",
    "cytology": "csf-cytology",
    "flow_study": "csf-flow-study",
    "typical_lm_signs": "typical-lm-signs",
    "encephalopathy": "encephalopathy",
    "major_neurological_deficits": "major-neurological-deficits",
    "bulky_cns_disease": "bulky-cns-disease",
}
CANCER = {
    "her2": "her2-status",
    "egfr": "egfr-mutation",
    "alk": "alk-rearrangement",
    "braf": "braf-v600",
    "systemic_disease": "systemic-disease",
    "systemic_options": "systemic-options",
}
PERFORMANCE = {"kps": "karnofsky", "ecog": "ecog"}
CSF: dict[str, tuple[str, str | None]] = {
    "wbc": ("csf-wbc", "/uL"),
    "neutrophils_pct": ("csf-neutrophils-pct", "%"),
    "lymphocytes_pct": ("csf-lymphocytes-pct", "%"),
    "predominant_cell": ("csf-predominant-cell", None),
    "rbc": ("csf-rbc", "/uL"),
    "protein": ("csf-protein", "mg/dL"),
    "glucose": ("csf-glucose", "mg/dL"),
    "serum_glucose": ("serum-glucose", "mg/dL"),
    "opening_pressure": ("csf-opening-pressure", "cm[H2O]"),
    "culture": ("csf-culture", None),
    "gram_stain": ("csf-gram-stain", None),
}
PATIENT = {"weight_kg": ("body-weight", "kg"), "height_cm": ("body-height", "cm")}
SEX = {"F": "female", "M": "male"}


@cache
def casefile_schema() -> dict[str, Any]:
    text = resources.files("leptoguide.intake").joinpath("casefile.schema.json").read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(casefile_schema())


def _path(parts: Any) -> str:
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (("." if out else "") + str(p))
    return out or "(top level)"


def validate_casefile(doc: Any, name: str) -> None:
    """Raise InputError for the first schema error (deepest, most specific), naming its field."""
    errors = list(_validator().iter_errors(doc))
    if not errors:
        return
    err = best_match(errors)
    # a oneOf that failed: prefer the branch that matches the value's JSON type
    while err.context:
        same_type = [e for e in err.context if e.validator not in ("type", "oneOf", "anyOf")]
        if not same_type:
            break
        err = best_match(same_type)
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    raise InputError(name, err.message + more, _path(err.absolute_path))


class _CaseFile:
    def __init__(self, b: CaseBuilder, name: str, doc: dict[str, Any]) -> None:
        self.b = b
        self.name = name
        self.doc = doc
        self.default_time = self.time(doc.get("date"), "date")

    def time(self, value: Any, field: str) -> dt.datetime | None:
        if value is None:
            return None
        return parse_datetime(value, self.name, field)

    def when(self, value: Any, field: str, default: dt.datetime | None) -> dt.datetime | None:
        t = self.time(value, field)
        return t if t is not None else default

    def concept(self, term: str, kinds: tuple[str, ...], field: str) -> Concept | None:
        matches = self.b.index.match_text(term, kinds)
        if not matches:
            self.b.warn(field, f"'{term}' is not a known {'/'.join(kinds)} term; ignored", field)
            return None
        if len(matches) > 1:
            others = ", ".join(m.concept.id for m in matches[1:])
            self.b.warn(
                field,
                f"'{term}' matches several concepts; used {matches[0].concept.id}, not {others}",
                field,
            )
        return matches[0].concept

    def fixed(self, cid: str, field: str) -> Concept | None:
        concept = self.b.kb.concepts.get(cid)
        if concept is None:
            self.b.warn(field, f"the knowledge base has no concept '{cid}'; value ignored", field)
        return concept

    def value(
        self, concept: Concept, value: Any, unit: str | None, time: dt.datetime | None, field: str
    ) -> None:
        b = self.b
        if isinstance(value, bool):
            out, ok = b.bool_to_value(concept, value)
        elif isinstance(value, int | float):
            b.add_quantity(
                concept, float(value), unit, time=time, reference=field, where=field, field=field
            )
            return
        else:
            out, ok = b.coded_value(concept, [str(value)])
        if ok:
            b.add_value(concept, out, time=time, reference=field, where=field, field=field)
        else:
            b.add_value(
                concept,
                out,
                time=time,
                reference=field,
                where=field,
                field=field,
                status="unparseable",
            )
            b.warn(field, f"{concept.id}: value {out!r} not understood; kept but not used", field)

    def quantity(
        self,
        concept: Concept,
        spec: Any,
        default_unit: str | None,
        time: dt.datetime | None,
        field: str,
    ) -> None:
        if isinstance(spec, dict):
            t = self.when(spec.get("time"), field + ".time", time)
            self.value(concept, spec["value"], spec.get("unit", default_unit), t, field)
        else:
            self.value(concept, spec, default_unit, time, field)

    # ------------------------------------------------------------------ sections

    def run(self) -> None:
        d = self.doc
        self.patient(d.get("patient") or {})
        self.cancer(d.get("cancer") or {})
        perf = d.get("performance") or {}
        t = self.when(perf.get("time"), "performance.time", self.default_time)
        for key, cid in PERFORMANCE.items():
            if perf.get(key) is not None and (c := self.fixed(cid, f"performance.{key}")):
                self.value(c, perf[key], None, t, f"performance.{key}")
        findings = d.get("findings") or {}
        t = self.when(findings.get("time"), "findings.time", self.default_time)
        for key, cid in FINDINGS.items():
            if findings.get(key) is not None and (c := self.fixed(cid, f"findings.{key}")):
                self.value(c, findings[key], None, t, f"findings.{key}")
        self.named(d.get("symptoms") or [], "symptoms")
        self.named(d.get("conditions") or [], "conditions")
        for i, lab in enumerate(d.get("labs") or []):
            field = f"labs[{i}]"
            c = self.concept(lab["test"], ("observation", "finding"), field + ".test")
            if c is not None:
                t = self.when(lab.get("time"), field + ".time", self.default_time)
                self.value(c, lab["value"], lab.get("unit"), t, field)
        csf = d.get("csf") or {}
        t = self.when(csf.get("time"), "csf.time", self.default_time)
        for key, (cid, unit) in CSF.items():
            if csf.get(key) is not None and (c := self.fixed(cid, f"csf.{key}")):
                self.quantity(c, csf[key], unit, t, f"csf.{key}")
        for i, med in enumerate(d.get("medications") or []):
            self.medication(med, f"medications[{i}]", draft=bool(med.get("order")))
        for i, order in enumerate(d.get("orders") or []):
            field = f"orders[{i}]"
            if "drug" in order:
                self.medication(order, field, draft=True)
            else:
                self.procedure(order, field, draft=True)
        for i, proc in enumerate(d.get("procedures") or []):
            self.procedure(
                proc if isinstance(proc, dict) else {"type": proc}, f"procedures[{i}]", draft=False
            )
        for i, dev in enumerate(d.get("devices") or []):
            spec = dev if isinstance(dev, dict) else {"type": dev}
            field = f"devices[{i}]"
            c = self.concept(spec["type"], ("device",), field)
            if c is not None:
                self.b.case.devices.append(
                    DeviceEntry(concept=c.id, reference=field, status=spec.get("status", "active"))
                )

    def patient(self, p: dict[str, Any]) -> None:
        case = self.b.case
        case.patient_reference = self.doc.get("case_id")
        ref = self.default_time.date() if self.default_time else dt.date.today()
        if "birth_date" in p:
            case.birth_date = parse_date(p["birth_date"], self.name, "patient.birth_date")
        elif "age_years" in p:
            case.birth_date = ref - dt.timedelta(days=round(p["age_years"] * 365.25))
            case.birth_date_estimated = True
        elif "age_days" in p:
            case.birth_date = ref - dt.timedelta(days=round(p["age_days"]))
            case.birth_date_estimated = True
        if "sex" in p:
            case.sex = SEX.get(p["sex"], p["sex"])
        t = self.when(p.get("time"), "patient.time", self.default_time)
        for key, (cid, unit) in PATIENT.items():
            if p.get(key) is not None and (c := self.fixed(cid, f"patient.{key}")):
                self.value(c, p[key], unit, t, f"patient.{key}")

    def cancer(self, c: dict[str, Any]) -> None:
        t = self.when(c.get("time"), "cancer.time", self.default_time)
        if c.get("primary"):
            concept = self.concept(c["primary"], ("condition",), "cancer.primary")
            if concept is not None:
                self.b.case.conditions.append(
                    ConditionEntry(
                        concept=concept.id,
                        reference="cancer.primary",
                        onset=None,
                        text=c["primary"],
                    )
                )
        for key, cid in CANCER.items():
            if c.get(key) is not None and (concept := self.fixed(cid, f"cancer.{key}")):
                self.value(concept, c[key], None, t, f"cancer.{key}")

    def named(self, items: list[Any], section: str) -> None:
        for i, item in enumerate(items):
            field = f"{section}[{i}]"
            spec = item if isinstance(item, dict) else {"name": item}
            concept = self.concept(spec["name"], ("condition", "finding", "observation"), field)
            if concept is None:
                continue
            onset = self.time(spec.get("onset"), field + ".onset")
            active = bool(spec.get("active", spec.get("present", True)))
            if concept.kind == "condition":
                self.b.case.conditions.append(
                    ConditionEntry(
                        concept=concept.id,
                        reference=field,
                        onset=onset,
                        active=active,
                        text=spec["name"],
                    )
                )
            else:
                self.value(concept, active, None, onset or self.default_time, field)

    def medication(self, m: dict[str, Any], field: str, *, draft: bool) -> None:
        concept = self.concept(m["drug"], ("medication",), field + ".drug")
        if concept is None:
            return
        route = None
        if m.get("route"):
            r = self.concept(m["route"], ("route",), field + ".route")
            route = r.id if r else None
        freq = m.get("frequency")
        if isinstance(freq, str):
            code = freq
            freq = timing_code(code)
            if freq is None:
                self.b.warn(
                    field,
                    f"frequency '{code}' not understood (use times per day or QD, BID, Q12H...)",
                    field + ".frequency",
                )
        times = tuple(
            t
            for j, raw in enumerate(m.get("times") or [])
            if (t := self.time(raw, f"{field}.times[{j}]"))
        )
        last = self.time(m.get("last_dose"), field + ".last_dose")
        if last is None and times:
            last = max(times)
        kind: Literal["request", "statement", "administration"] = m.get("kind") or (
            "request" if draft else "statement"
        )
        self.b.case.medications.append(
            MedicationEntry(
                concept=concept.id,
                kind=kind,
                status=m.get("status", "draft" if draft else "active"),
                dose=float(m["dose"]) if m.get("dose") is not None else None,
                dose_unit=m.get("unit"),
                route=route,
                frequency_per_day=freq,
                last_time=last,
                times=times,
                reference=field,
                draft=draft,
                text=m["drug"],
                intent="proposal" if draft else None,
                start=self.time(m.get("start") or m.get("time"), field + ".start"),
                last_dose_stated=last is not None,
            )
        )

    def procedure(self, p: dict[str, Any], field: str, *, draft: bool) -> None:
        concept = self.concept(p["type"], ("procedure",), field + ".type")
        if concept is None:
            return
        time = self.time(p.get("time"), field + ".time")
        if time is None and not draft:
            self.b.warn(field, f"{concept.id}: procedure without a date", field + ".time")
        self.b.case.procedures.append(
            ProcedureEntry(
                concept=concept.id,
                kind="request" if draft else "procedure",
                status=p.get("status", "draft" if draft else "completed"),
                time=time,
                reference=field,
                draft=draft,
                text=p["type"],
                intent="proposal" if draft else None,
            )
        )


def read_casefile(doc: dict[str, Any], *, name: str, kb: KnowledgeBase) -> Case:
    """Validate a parsed case file and read it into a Case."""
    validate_casefile(doc, name)
    builder = CaseBuilder.start(kb, "case-file", name)
    reader = _CaseFile(builder, name, doc)
    reader.run()
    builder.case.resource_count = sum(
        len(v) if isinstance(v, list) else 1
        for k, v in doc.items()
        if k not in ("case_id", "description", "date")
    )
    return builder.finish()
