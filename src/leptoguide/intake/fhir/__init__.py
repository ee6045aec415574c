"""Read a FHIR R4 Bundle (or one resource, or a list of them) into a Case.

Plain dicts, no model validation on the hot path. One module per resource family:
``patient``, ``observation``, ``condition``, ``medication``, ``procedure``, ``device``; ``bundle``
flattens the input and ``base`` holds the typed field helpers. What the reader cannot use becomes
a ReadWarning (unknown code, unconvertible unit, value without date, resource types it does not
read). The FHIR profile it reads is documented in docs/fhir.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any, Literal

from leptoguide.case import Case, DroppedResource, MedicationEntry, ProcedureEntry
from leptoguide.errors import InputError
from leptoguide.intake.common import CaseBuilder
from leptoguide.intake.fhir.base import SKIP_STATUS, Ctx
from leptoguide.intake.fhir.bundle import flatten
from leptoguide.intake.fhir.condition import ConditionReader
from leptoguide.intake.fhir.device import DeviceReader
from leptoguide.intake.fhir.medication import MedicationReader
from leptoguide.intake.fhir.observation import ObservationReader
from leptoguide.intake.fhir.patient import PatientReader
from leptoguide.intake.fhir.procedure import ProcedureReader
from leptoguide.intake.fhir.subject import select_patient
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.models import Concept

__all__ = ["PATIENT_FIELD", "read_fhir"]

PATIENT_FIELD = "patient"
"""The field an unknown patient id is reported on (the CLI's --patient, the REST ``patient``
parameter, the web form's patient field)."""


class Reader(
    PatientReader,
    ObservationReader,
    ConditionReader,
    MedicationReader,
    ProcedureReader,
    DeviceReader,
):
    """All resource readers; ``run`` dispatches each entry to its reader by resourceType."""

    def run(self) -> None:
        ignored: Counter[str] = Counter()
        count = 0
        for label, res, _ in self.entries:
            if not res:
                self.b.warn(label, "entry without a resource; ignored")
                continue
            count += 1
            rtype = res["resourceType"]
            handler = READERS.get(rtype)
            if handler is None:
                if rtype not in KNOWN_OTHER:
                    ignored[rtype] += 1
                continue
            ctx = Ctx(self.name, label)
            try:
                handler(self, ctx, res)
            except InputError as exc:
                self.unreadable(ctx, res, exc)
            if rtype == "DiagnosticReport":
                count += self.contained_results(ctx, res)
        self.b.case.resource_count = count
        if self.documents_skipped:
            ignored["DocumentReference (not a report kind read)"] = self.documents_skipped
        if ignored:
            kinds = ", ".join(f"{k} x{n}" for k, n in sorted(ignored.items()))
            self.b.warn(self.name, f"resource types not read: {kinds}")
        self.summarise_unknown()
        self.unknown_drug_warnings()

    def contained_results(self, ctx: Ctx, report: dict[str, Any]) -> int:
        """Observations a DiagnosticReport holds in ``contained`` and lists in ``result`` as
        ``#id`` (a laboratory panel sent as one report): each is read like an Observation of the
        chart, labelled ``DiagnosticReport/x#id``; one without its own time takes the report's.
        Returns how many were read."""
        contained = report.get("contained")
        results = report.get("result")
        if not isinstance(contained, list) or not isinstance(results, list):
            return 0
        by_id = {
            c["id"]: c
            for c in contained
            if isinstance(c, dict) and isinstance(c.get("id"), str) and c.get("id")
        }
        read = 0
        for item in results:
            ref = item.get("reference") if isinstance(item, dict) else None
            if not isinstance(ref, str) or not ref.startswith("#"):
                continue
            res = by_id.get(ref[1:])
            if res is None or res.get("resourceType") != "Observation":
                continue
            res = dict(res)
            if not any(
                k in res for k in ("effectiveDateTime", "effectiveInstant", "effectivePeriod")
            ):
                for key in ("effectiveDateTime", "effectivePeriod", "issued"):
                    if key in report:
                        res[
                            "effectivePeriod" if key == "effectivePeriod" else "effectiveDateTime"
                        ] = report[key]
                        break
            sub = Ctx(self.name, f"{ctx.label}{ref}")
            try:
                self.observation(sub, res)
            except InputError as exc:
                self.unreadable(sub, res, exc)
            read += 1
        return read

    def unreadable(self, ctx: Ctx, res: dict[str, Any], exc: InputError) -> None:
        """One resource could not be read: it is dropped and named; the rest of the chart is read.

        When its code is still recognisable, the fact is kept as present but unreadable (never as
        "not recorded"); an unreadable drug resource is a warning to check before an LP."""
        problem = exc.problem
        self.b.case.dropped.append(DroppedResource(ctx.label, problem.message, problem.field))
        concept = self.concept_hint(res)
        rtype = res.get("resourceType")
        if concept is not None and rtype == "Observation" and concept.kind != "condition":
            self.b.add_value(
                concept,
                None,
                time=None,
                reference=ctx.label,
                where=ctx.label,
                field=problem.field,
                status="unparseable",
                note=f"unreadable: {problem.message}",
            )
        kept = self._keep_unreadable_record(ctx, res, concept)
        what = f"{concept.id}: " if concept is not None else ""
        tail = "; not used" if not kept else f"; kept as {kept} with its time unknown"
        if rtype in MEDICATION_TYPES:
            tail = "; unreadable drug: check before the LP"
        self.b.warn(ctx.label, f"{what}unreadable ({problem.message}){tail}", problem.field)

    def _keep_unreadable_record(
        self, ctx: Ctx, res: dict[str, Any], concept: Concept | None
    ) -> str | None:
        """A drug record or an ordered or done procedure whose code is still recognisable is
        kept as that drug or procedure with nothing else known (its time unknown), so that one
        bad field never hides a home anticoagulant or an LP order from the checks that need
        them: the LP check then says the timing is unknown. Returns what was kept, or None."""
        rtype = res.get("resourceType")
        raw_status = res.get("status")
        status = raw_status if isinstance(raw_status, str) else "unknown"
        if concept is None or status in SKIP_STATUS:
            return None
        if rtype in MEDICATION_TYPES and concept.kind == "medication":
            self.b.case.medications.append(
                MedicationEntry(
                    concept=concept.id,
                    kind=MEDICATION_TYPES[str(rtype)],
                    status=status,
                    reference=ctx.label,
                    draft=status == "draft",
                )
            )
            return "a drug record"
        if rtype in PROCEDURE_TYPES and concept.kind == "procedure":
            self.b.case.procedures.append(
                ProcedureEntry(
                    concept=concept.id,
                    kind=PROCEDURE_TYPES[str(rtype)],
                    status=status,
                    reference=ctx.label,
                    draft=status == "draft",
                )
            )
            return "a procedure record"
        return None


READERS: dict[str, Callable[[Reader, Ctx, dict[str, Any]], None]] = {
    "Patient": Reader.patient,
    "Observation": Reader.observation,
    "Condition": Reader.condition,
    "MedicationRequest": Reader.medication,
    "MedicationStatement": Reader.medication,
    "MedicationAdministration": Reader.medication,
    "ServiceRequest": Reader.service_request,
    "Procedure": Reader.procedure,
    "Device": Reader.device,
    "DiagnosticReport": Reader.diagnostic_report,
    "DocumentReference": Reader.document_reference,
}
MEDICATION_TYPES: dict[str, Literal["request", "statement", "administration"]] = {
    "MedicationRequest": "request",
    "MedicationStatement": "statement",
    "MedicationAdministration": "administration",
}
PROCEDURE_TYPES: dict[str, Literal["request", "procedure"]] = {
    "ServiceRequest": "request",
    "Procedure": "procedure",
}
KNOWN_OTHER = {"Medication"}
"""Resource types read only through a reference from another resource."""


def read_fhir(obj: Any, *, name: str, kb: KnowledgeBase, patient_id: str | None = None) -> Case:
    """A Bundle, a single resource, or a list of Bundles/resources (CDS Hooks prefetch) -> Case.

    One patient per case: ``patient_id`` (a CDS Hooks ``patientId``, a REST or CLI option) names
    the patient; without it the only (or first) Patient is used. Resources about another patient
    and resources that cannot be read are left out, listed in ``Case.dropped`` and warned about;
    the rest of the chart is read."""
    builder = CaseBuilder.start(kb, "fhir", name)
    drops: list[DroppedResource] = []
    entries = flatten(obj, name, READERS.keys() | KNOWN_OTHER, drops)
    selection = select_patient(entries, patient_id)
    unknown = patient_id and selection.label is None and not selection.named
    if unknown and (selection.others or selection.dropped):
        held = selection.others or [d.reference for d in selection.dropped]
        raise InputError(
            name,
            f"no patient '{patient_id}' in the input; it is about "
            + ", ".join(dict.fromkeys(held[:5]))
            + (" ..." if len(held) > 5 else ""),
            PATIENT_FIELD,
        )
    case = builder.case
    if selection.assumed:
        builder.warn(
            str(selection.label),
            f"the Patient has no id or fullUrl a reference can name; resources about "
            f"{selection.assumed} are read as this patient's",
            "id",
        )
    for drop in drops:
        builder.warn(drop.reference, f"unreadable entry ({drop.reason}); not used", drop.field)
    case.dropped.extend(drops)
    if selection.others:
        builder.warn(
            name,
            f"the input holds {len(selection.others) + 1} patients; the case is "
            f"{selection.label}, and {', '.join(selection.others)} "
            + ("is" if len(selection.others) == 1 else "are")
            + " not used",
        )
    foreign = [d for d in selection.dropped if d.reference not in selection.others]
    if foreign:
        builder.warn(
            name,
            f"{len(foreign)} resource(s) about another patient not used: "
            + ", ".join(d.reference for d in foreign[:5])
            + (" ..." if len(foreign) > 5 else ""),
        )
    case.dropped.extend(selection.dropped)
    if patient_id and selection.label is None:
        builder.warn(name, f"Patient/{patient_id} is not in the input; no birth date or sex")
    Reader(builder, name, selection.kept).run()
    return builder.finish()
