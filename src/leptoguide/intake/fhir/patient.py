"""Patient: birth date and administrative sex."""

from __future__ import annotations

from typing import Any

from leptoguide.intake.common import parse_date
from leptoguide.intake.fhir.base import Ctx, ReaderBase


class PatientReader(ReaderBase):
    def patient(self, ctx: Ctx, res: dict[str, Any]) -> None:
        case = self.b.case
        if case.patient_reference is not None:
            self.b.warn(ctx.label, f"second Patient; the first ({case.patient_reference}) is used")
            return
        case.patient_reference = ctx.label
        birth = self._str(res, "birthDate", ctx)
        if birth is not None:
            case.birth_date = parse_date(birth, f"{ctx.name} {ctx.label}", "birthDate")
            if len(birth.strip()) < 10:
                case.birth_date_estimated = True
                self.b.warn(
                    ctx.label,
                    f"partial birth date '{birth}'; taken as {case.birth_date}",
                    "birthDate",
                )
        gender = self._str(res, "gender", ctx)
        if gender is not None:
            case.sex = gender
