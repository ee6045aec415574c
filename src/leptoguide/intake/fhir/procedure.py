"""ServiceRequest and Procedure: ordered and performed procedures (LP, imaging, intrathecal)."""

from __future__ import annotations

from typing import Any

from leptoguide.case import ProcedureEntry
from leptoguide.intake.fhir.base import Ctx, ReaderBase

ORDER_KINDS = ("procedure",)


class ProcedureReader(ReaderBase):
    def service_request(self, ctx: Ctx, res: dict[str, Any]) -> None:
        self._procedure_like(ctx, res, "request")

    def procedure(self, ctx: Ctx, res: dict[str, Any]) -> None:
        self._procedure_like(ctx, res, "procedure")

    def _procedure_like(self, ctx: Ctx, res: dict[str, Any], kind: Any) -> None:
        status = self._status(res, ctx)
        if self._skip_status(ctx, status):
            return
        if "code" not in res:
            self.b.warn(ctx.label, f"{res['resourceType']} without a code; ignored", "code")
            return
        code = self._codeable(res, "code", ctx)
        matches = self._match(ctx, code, ORDER_KINDS, "code")
        if not matches:
            self._unknown(ctx, "code", code, f"{res['resourceType']} code")
            return
        if kind == "request":
            time = (
                self._time(res, "occurrenceDateTime", ctx)
                or self._period(res, "occurrencePeriod", ctx)
                or self._time(res, "authoredOn", ctx)
            )
        else:
            time = self._time(res, "performedDateTime", ctx) or self._period(
                res, "performedPeriod", ctx
            )
            if time is None:
                self.b.warn(
                    ctx.label, f"{matches[0].concept.id}: procedure without a date", "performed[x]"
                )
        text = code.get("text") if isinstance(code.get("text"), str) else None
        concept = self._first(matches, ctx, "code")
        self.b.case.procedures.append(
            ProcedureEntry(
                concept=concept.id,
                kind=kind,
                status=status or "unknown",
                time=time,
                reference=ctx.label,
                draft=status == "draft",
                text=text,
                intent=self._str(res, "intent", ctx),
            )
        )
