"""Device: implanted devices (ventricular reservoir, shunt)."""

from __future__ import annotations

from typing import Any

from leptoguide.case import DeviceEntry
from leptoguide.intake.fhir.base import Ctx, ReaderBase


class DeviceReader(ReaderBase):
    def device(self, ctx: Ctx, res: dict[str, Any]) -> None:
        status = self._status(res, ctx)
        if self._skip_status(ctx, status):
            return
        cc = self._codeable(res, "type", ctx)
        names = [n.get("name") for n in self._list(res, "deviceName", ctx) if isinstance(n, dict)]
        matches = self._match(ctx, cc, ("device",), "type") if cc else []
        for name in names:
            if matches:
                break
            if isinstance(name, str):
                matches = self._match(ctx, {"text": name}, ("device",), "deviceName")
        if not matches:
            self._unknown(
                ctx, "type", cc or {"text": "; ".join(str(n) for n in names)}, "device type"
            )
            return
        self.b.case.devices.append(
            DeviceEntry(
                concept=matches[0].concept.id, reference=ctx.label, status=status or "active"
            )
        )
