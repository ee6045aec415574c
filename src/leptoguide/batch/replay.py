"""The single-chart engine on candidate patients: charts rebuilt from the export's own lines.

An event (a performed procedure or a drug administration) is replayed as if it were the order, at
its own time T: the patient's chart is read with the FHIR reader, cut to what was recorded at or
before T (drug records by administration or order time, procedures by date; observations and
conditions the engine already reads as of T), a draft order for a procedure event is added, and
``assess`` runs at T. The rules that fire are the findings.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

import orjson

from leptoguide.assessment import Assessment
from leptoguide.case import Case, ProcedureEntry
from leptoguide.engine.assessment import assess
from leptoguide.errors import InputError
from leptoguide.intake.fhir import read_fhir
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.policy import Policy

PATIENT_KEY = (
    "COALESCE(CASE WHEN json ->> '$.resourceType' = 'Patient' THEN json ->> '$.id' END, "
    "NULLIF(regexp_extract(COALESCE(json ->> '$.subject.reference', "
    "json ->> '$.patient.reference'), 'Patient/([^/]+)', 1), ''))"
)


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    if t is None:
        return None
    return t if t.tzinfo else t.replace(tzinfo=dt.UTC)


def read_chart(
    resources: list[dict[str, Any]], name: str, kb: KnowledgeBase
) -> tuple[Case, list[str]]:
    """The Case of one patient; resources the reader refuses are left out and named."""
    try:
        return read_fhir(resources, name=name, kb=kb), []
    except InputError:
        pass
    kept: list[dict[str, Any]] = []
    dropped: list[str] = []
    for res in resources:
        try:
            read_fhir([res], name=name, kb=kb)
        except InputError as exc:
            dropped.append(f"{res.get('resourceType')}/{res.get('id')}: {exc}")
        else:
            kept.append(res)
    return read_fhir(kept, name=name, kb=kb), dropped


def as_of(case: Case, at: dt.datetime) -> Case:
    """The case as it stood at ``at``: drug records and procedures dated after it removed."""

    def med_time(m: Any) -> dt.datetime | None:
        return _aware(m.authored if m.kind == "request" else m.last_time)

    meds = [m for m in case.medications if (t := med_time(m)) is None or t <= at]
    procs = [p for p in case.procedures if (t := _aware(p.time)) is None or t <= at]
    return replace(case, medications=meds, procedures=procs)


def replay(
    case: Case,
    *,
    at: dt.datetime,
    kb: KnowledgeBase,
    policy: Policy,
    order: str | None = None,
    order_ref: str | None = None,
) -> Assessment:
    """Assess the case at ``at`` as if ``order`` (a procedure concept) were being ordered."""
    cut = as_of(case, at)
    if order is not None:
        cut.procedures.append(
            ProcedureEntry(
                concept=order,
                kind="request",
                status="draft",
                time=at,
                reference=order_ref,
                draft=True,
            )
        )
    return assess(cut, kb=kb, policy=policy, at=at)


def charts(
    engine: Any, types: Iterable[str], patients: list[str]
) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    types = list(types)
    """(patient id, resources) for the given patients, Patient first, then by type and id."""
    if not patients:
        return
    engine.table("cand_patients", [("patient", "VARCHAR")], [(p,) for p in patients])
    found: dict[str, list[tuple[str, str, dict[str, Any]]]] = {p: [] for p in patients}
    for rtype in types:
        if rtype == "Medication":
            continue
        rows = engine.rows(
            f"SELECT pk, json FROM (SELECT {PATIENT_KEY} AS pk, json FROM src_{rtype} "
            f"WHERE json IS NOT NULL) s WHERE pk IN (SELECT patient FROM cand_patients)"
        )
        for pk, text in rows:
            try:
                res = orjson.loads(text)
            except orjson.JSONDecodeError:
                continue
            if isinstance(res, dict) and pk in found:
                order = (
                    "0"
                    if res.get("resourceType") == "Patient"
                    else "1" + str(res.get("resourceType"))
                )
                found[pk].append((order, str(res.get("id")), res))
    # Medication resources the drug records refer to (they carry no patient)
    wanted: dict[str, set[str]] = {}
    for pid, items in found.items():
        for _, _, res in items:
            ref = (res.get("medicationReference") or {}).get("reference")
            if isinstance(ref, str) and ref.startswith("Medication/"):
                wanted.setdefault(ref.removeprefix("Medication/"), set()).add(pid)
    if wanted and "Medication" in types:
        engine.table("cand_medications", [("id", "VARCHAR")], [(m,) for m in sorted(wanted)])
        for (text,) in engine.rows(
            "SELECT json FROM src_Medication WHERE json IS NOT NULL AND "
            "json ->> '$.id' IN (SELECT id FROM cand_medications)"
        ):
            try:
                med = orjson.loads(text)
            except orjson.JSONDecodeError:
                continue
            if isinstance(med, dict) and med.get("resourceType") == "Medication":
                for pid in wanted.get(str(med.get("id")), ()):
                    found[pid].append(("2Medication", str(med.get("id")), med))
    for pid in patients:
        items = sorted(found[pid], key=lambda x: (x[0], x[1]))
        yield pid, [r for _, _, r in items]
