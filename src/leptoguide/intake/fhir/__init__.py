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
from typing import Any

from leptoguide.case import Case
from leptoguide.intake.common import CaseBuilder
from leptoguide.intake.fhir.base import Ctx
from leptoguide.intake.fhir.bundle import flatten
from leptoguide.intake.fhir.condition import ConditionReader
from leptoguide.intake.fhir.device import DeviceReader
from leptoguide.intake.fhir.medication import MedicationReader
from leptoguide.intake.fhir.observation import ObservationReader
from leptoguide.intake.fhir.patient import PatientReader
from leptoguide.intake.fhir.procedure import ProcedureReader
from leptoguide.knowledge.loader import KnowledgeBase

__all__ = ["read_fhir"]


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
            handler(self, Ctx(self.name, label), res)
        self.b.case.resource_count = count
        if ignored:
            kinds = ", ".join(f"{k} x{n}" for k, n in sorted(ignored.items()))
            self.b.warn(self.name, f"resource types not read: {kinds}")


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
}
KNOWN_OTHER = {"Medication"}
"""Resource types read only through a reference from another resource."""


def read_fhir(obj: Any, *, name: str, kb: KnowledgeBase) -> Case:
    """A Bundle, a single resource, or a list of Bundles/resources (CDS Hooks prefetch) -> Case."""
    builder = CaseBuilder.start(kb, "fhir", name)
    entries = flatten(obj, name, READERS.keys() | KNOWN_OTHER)
    Reader(builder, name, entries).run()
    return builder.finish()
