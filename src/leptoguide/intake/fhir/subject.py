"""One patient per case: choose the case's patient and leave out other patients' resources.

The patient is the one named by the caller (a CDS Hooks ``patientId``, a REST or CLI option); else
the only Patient in the input; else, when there are several, the first (a searchset lists its
match first), with a warning naming the others. Resources whose ``subject`` (or ``patient``) points
to another patient are dropped and reported. Resources without a subject are kept: they belong to
the chart they were sent in.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from leptoguide.case import DroppedResource
from leptoguide.intake.fhir.bundle import Entry

SUBJECT_FIELDS = ("subject", "patient")
"""Elements that name the patient a resource is about (Observation.subject, Device.patient...)."""

_PATIENT_REF = re.compile(r"(?:^|/)Patient/([^/]+)(?:/_history/[^/]+)?$")


def patient_key(reference: str) -> str | None:
    """'Patient/<id>' for a literal reference to a Patient (relative or absolute URL), else None."""
    m = _PATIENT_REF.search(reference.strip())
    return f"Patient/{m.group(1)}" if m else None


@dataclass
class Selection:
    """The chosen patient's aliases (Patient/<id>, fullUrl) and what was left out."""

    keys: set[str] = field(default_factory=set)
    label: str | None = None
    others: list[str] = field(default_factory=list)
    dropped: list[DroppedResource] = field(default_factory=list)
    kept: list[Entry] = field(default_factory=list)
    named: bool = False
    """Some kept resource names the chosen patient as its subject."""
    assumed: str | None = None
    """The subject reference taken as the chosen Patient's when that Patient has no id or
    fullUrl a reference can name."""


def _aliases(label: str, res: Mapping[str, Any], full_url: str | None) -> set[str]:
    keys = {label}
    rid = res.get("id")
    if isinstance(rid, str) and rid:
        keys.add(f"Patient/{rid}")
    if full_url:
        keys.add(full_url)
        key = patient_key(full_url)
        if key:
            keys.add(key)
    return keys


def _subject_of(res: Mapping[str, Any]) -> tuple[str, str] | None:
    """(element, reference) of the patient a resource is about, when it names one literally."""
    for name in SUBJECT_FIELDS:
        value = res.get(name)
        if isinstance(value, Mapping) and isinstance(value.get("reference"), str):
            ref = value["reference"].strip()
            if ref.startswith("#"):
                return None
            if ref.startswith("urn:") or patient_key(ref) is not None:
                return name, ref
    return None


def select_patient(entries: list[Entry], patient_id: str | None) -> Selection:
    """Split entries into the case's patient's (and subject-less) ones and other patients'."""
    sel = Selection()
    patients = [e for e in entries if e[1].get("resourceType") == "Patient"]
    chosen: Entry | None = None
    if patient_id:
        wanted = patient_key(patient_id) or f"Patient/{patient_id}"
        sel.keys.add(wanted)
        for entry in patients:
            if wanted in _aliases(*entry):
                chosen = entry
                break
    elif patients:
        chosen = patients[0]
    # a Patient no reference can name (no usable id, no fullUrl: "id": 5) cannot tell its
    # resources from another patient's: as with no Patient, the first subject named stands for it
    nameless = chosen is not None and _aliases(*chosen) == {chosen[0]}
    if chosen is not None:
        sel.keys |= _aliases(*chosen)
        sel.label = chosen[0]
    if (chosen is None or nameless) and not patient_id:
        # no Patient resource (or a nameless one): the first subject named stands for the patient
        for _, res, _ in entries:
            subject = _subject_of(res)
            if subject is not None:
                ref = subject[1]
                sel.keys |= {ref, patient_key(ref) or ref}
                sel.assumed = ref if nameless else None
                break
    for entry in entries:
        label, res, _ = entry
        if res.get("resourceType") == "Patient":
            if entry is chosen or (chosen is None and _aliases(*entry) & sel.keys):
                sel.kept.append(entry)
            else:
                sel.others.append(label)
                sel.dropped.append(
                    DroppedResource(label, "another patient", None, kind="other-patient")
                )
            continue
        subject = _subject_of(res) if res else None
        if subject is not None:
            element, ref = subject
            if ref not in sel.keys and (patient_key(ref) or ref) not in sel.keys:
                sel.dropped.append(
                    DroppedResource(
                        label, f"about another patient ({ref})", element, kind="other-patient"
                    )
                )
                continue
            sel.named = True
        sel.kept.append(entry)
    return sel
