"""Builders for FHIR test resources (imported by the intake tests; not a conftest, so the module
name cannot collide with other test folders' conftest modules)."""

from __future__ import annotations

from typing import Any

import orjson

LM = "https://leptoguide.org/fhir/CodeSystem/lm"
LOINC = "http://loinc.org"
SNOMED = "http://snomed.info/sct"
ICD10CM = "http://hl7.org/fhir/sid/icd-10-cm"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def bundle(*resources: dict[str, Any], btype: str = "collection") -> dict[str, Any]:
    return {
        "resourceType": "Bundle",
        "type": btype,
        "entry": [{"fullUrl": f"urn:uuid:{i}", "resource": r} for i, r in enumerate(resources)],
    }


def dumps(obj: Any) -> bytes:
    return orjson.dumps(obj)


def obs(
    code: str,
    system: str = LOINC,
    rid: str = "o1",
    when: str | None = "2026-11-20T08:00:00Z",
    /,
    **value: Any,
) -> dict[str, Any]:
    """An Observation; keyword arguments are added to (or replace) its fields."""
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "id": rid,
        "status": "final",
        "code": {"coding": [{"system": system, "code": code}]},
    }
    if when:
        res["effectiveDateTime"] = when
    res.update(value)
    return res


def qty(value: Any, unit: str, ucum: bool = True) -> dict[str, Any]:
    q: dict[str, Any] = {"value": value, "unit": unit}
    if ucum:
        q |= {"system": "http://unitsofmeasure.org", "code": unit}
    return q
