"""Condition: diagnoses, problems and symptoms, with clinical and verification status."""

from __future__ import annotations

from typing import Any

from leptoguide.case import ConditionEntry
from leptoguide.intake.fhir.base import Ctx, ReaderBase, code_of

COND_KINDS = ("condition", "finding", "observation")
COND_PHRASE_KINDS = ("condition", "finding")
INACTIVE_CLINICAL = {"inactive", "remission", "resolved"}


class ConditionReader(ReaderBase):
    def condition(self, ctx: Ctx, res: dict[str, Any]) -> None:
        verification = code_of(self._codeable(res, "verificationStatus", ctx))
        if self._skip_status(ctx, verification, "verificationStatus"):
            return
        clinical = code_of(self._codeable(res, "clinicalStatus", ctx))
        active = clinical not in INACTIVE_CLINICAL
        if "code" not in res:
            self.b.warn(ctx.label, "Condition without a code; ignored", "code")
            return
        code = self._codeable(res, "code", ctx)
        onset = (
            self._time(res, "onsetDateTime", ctx)
            or self._period(res, "onsetPeriod", ctx)
            or self._time(res, "recordedDate", ctx)
        )
        matches = self._match(
            ctx, code, COND_KINDS, "code", phrase_kinds=COND_PHRASE_KINDS, multi=True
        )
        matches = [m for m in matches if not (m.by == "text-contains" and m.concept.value_set)]
        if not matches:
            self._unknown(ctx, "code", code, "Condition code")
            return
        text = code.get("text") if isinstance(code.get("text"), str) else None
        for m in matches:
            concept = m.concept
            if concept.kind == "condition":
                self.b.case.conditions.append(
                    ConditionEntry(
                        concept=concept.id,
                        reference=ctx.label,
                        onset=onset,
                        active=active,
                        text=text,
                        verification=verification,
                    )
                )
            elif concept.unit is None and not concept.value_set:
                self.b.add_value(
                    concept,
                    active,
                    time=onset,
                    reference=ctx.label,
                    where=ctx.label,
                    field="code",
                    note="from a Condition",
                )
            else:
                self.b.warn(
                    ctx.label,
                    f"{concept.id} needs a value; a Condition cannot give one; ignored",
                    "code",
                )
