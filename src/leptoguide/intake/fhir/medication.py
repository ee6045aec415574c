"""MedicationRequest, MedicationStatement, MedicationAdministration (and referenced Medication)."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Literal

from leptoguide.case import MedicationEntry
from leptoguide.intake.common import (
    is_number,
    parse_datetime,
    show,
    time_imprecision,
    timing_code,
)
from leptoguide.intake.fhir.base import Ctx, ReaderBase
from leptoguide.intake.strength import ProductDose, rxnorm_dose, text_dose
from leptoguide.intake.terminology import normalize_system, normalize_text
from leptoguide.knowledge.models import Concept

_PERIOD_DAYS = {
    "s": 1 / 86400,
    "min": 1 / 1440,
    "h": 1 / 24,
    "d": 1.0,
    "wk": 7.0,
    "mo": 30.0,
    "a": 365.0,
}
"""UCUM time units of Timing.repeat.periodUnit, in days (FHIR defines mo/a as calendar units)."""


ONGOING_ADMIN_STATUS = {"in-progress", "on-hold"}
"""MedicationAdministration statuses that mean the drug is running now (FHIR R4 value set)."""
UNDATED_STATEMENT_STATUS = {"intended", "on-hold", "unknown"}
"""MedicationStatement statuses whose effective time says nothing about a last dose taken: to
be taken in the future, halted for now, or not known."""
ENDED_STATUS = {"completed", "stopped", "not-taken", "entered-in-error", "cancelled", "not-done"}
"""Statuses that mean the exposure is over (FHIR R4 medication status value sets)."""
LP_PROCEDURES = {"lumbar-puncture", "intrathecal-chemotherapy", "ommaya-placement"}
"""Contract concept ids of procedures near which an unrecognised drug is a warning of its own."""
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
NEURAXIAL_ROUTES = {"intrathecal", "intraventricular"}
"""Contract concept ids of the routes into the CSF."""


class MedicationReader(ReaderBase):
    def _medication_concept(
        self, ctx: Ctx, res: Mapping[str, Any]
    ) -> tuple[list[Concept], str | None, list[str]]:
        if "medicationCodeableConcept" in res:
            cc = self._codeable(res, "medicationCodeableConcept", ctx)
            field = "medicationCodeableConcept"
        elif "medicationReference" in res:
            ref = self._obj(res, "medicationReference", ctx)
            target = self._str(ref, "reference", ctx, "medicationReference.")
            med: dict[str, Any] | None = None
            if target and target.startswith("#"):
                for i, contained in enumerate(self._list(res, "contained", ctx)):
                    if isinstance(contained, dict) and contained.get("id") == target[1:]:
                        med = contained
                        break
                    if not isinstance(contained, dict):
                        raise ctx.error(
                            f"contained[{i}]", f"expected an object, got {show(contained)}"
                        )
            elif target:
                med = self.lookup(target)
            if med is not None:
                cc = self._codeable(med, "code", ctx, "medicationReference->Medication.")
                field = "medicationReference"
            else:
                display = self._str(ref, "display", ctx, "medicationReference.")
                if not display:
                    self.b.warn(
                        ctx.label,
                        f"medication reference '{target}' not found in the bundle; ignored",
                        "medicationReference",
                    )
                    return [], f"{target} (not in the input)", []
                cc = {"text": display}
                field = "medicationReference.display"
        else:
            raise ctx.error("medication[x]", f"{res['resourceType']}.medication[x] is required")
        matches = self._match(ctx, cc, ("medication",), field, multi=True)
        text = cc.get("text") or next(
            (c.get("display") for c in cc.get("coding") or [] if c.get("display")), None
        )
        if not matches:
            self._unknown(ctx, field, cc, "medication")
            return [], text, []
        if len(matches) > 1 and matches[0].by == "text-contains":
            several = ", ".join(m.concept.id for m in matches)
            self.b.warn(
                ctx.label,
                f"text '{matches[0].key}' names several medications ({several}); each is "
                "recorded, without the dose",
                field,
            )
            return [m.concept for m in matches], text, []
        concept = self._first(matches, ctx, field)
        return [concept], text, self._product_names(concept, cc)

    def _product_names(self, concept: Concept, cc: Mapping[str, Any]) -> list[str]:
        """Names that may state the product's strength, most trusted first: the knowledge
        base's display of a matched product code, then the codings' displays and the text."""
        names: list[str] = []
        for coding in cc.get("coding") or []:
            code, system = coding.get("code"), coding.get("system")
            ids, how = self.b.index.by_coding(system, code)
            if how == "code" and concept.id in ids:
                sys_ = normalize_system(system)
                names += [
                    c.display
                    for c in concept.codes
                    if c.display and c.code == code and normalize_system(c.system) == sys_
                ]
        names += [c["display"] for c in cc.get("coding") or [] if c.get("display")]
        if cc.get("text"):
            names.append(cc["text"])
        return list(dict.fromkeys(names))

    def _product_dose(
        self, names: list[str], dose: float | None, unit: str | None
    ) -> tuple[float | None, str | None, str | None, str | None]:
        """(dose, unit, dose_source, dose_unknown): the order's own dose when it is in a mass or
        volume unit; else one unit of the product (times a count such as '1 syringe'), when the
        product name makes that unambiguous; else the reason the dose is unknown."""
        count = None
        if dose is not None:
            if normalize_text(unit or "").removesuffix("s") not in self.b.index.count_units:
                return dose, unit, None, None
            count = dose
        found: ProductDose | None = None
        for name in names:
            forms = self.b.index.unit_forms
            found = rxnorm_dose(name, forms) or text_dose(name, forms)
            if found is not None:
                break
        if found is None or found.amount is None:
            if count is not None:
                why = found.why if found else "the product names no strength per unit"
                return None, None, None, f"dose given as {count:g} {unit}, but {why}"
            return None, None, None, (found.why if found else None)
        amount = found.amount * (count if count is not None else 1.0)
        source = f"product strength: {found.why}" + (
            f" x {count:g} ({count:g} {unit})" if count is not None else " (one unit)"
        )
        return round(amount, 6), found.unit, source, None

    def medication(self, ctx: Ctx, res: dict[str, Any]) -> None:
        rtype = res["resourceType"]
        status = self._status(res, ctx)
        if self._skip_status(ctx, status):
            return
        concepts, text, names = self._medication_concept(ctx, res)
        if not concepts:
            self.unknown_drugs.append(
                (ctx.label, text or "no name", status, self._neuraxial(res), self._rxnorm(res))
            )
            return
        intent = self._str(res, "intent", ctx)
        ongoing = False
        dose = dose_unit = route = freq = None
        last_time = authored = start = None
        kind: Literal["request", "statement", "administration"]
        times: tuple[dt.datetime, ...] = ()
        if rtype == "MedicationRequest":
            kind = "request"
            authored = self._time(res, "authoredOn", ctx)
            dosages = self._list(res, "dosageInstruction", ctx)
            if dosages:
                dose, dose_unit, route, freq, start = self._dosage(
                    ctx, dosages[0], "dosageInstruction[0]."
                )
        elif rtype == "MedicationStatement":
            kind = "statement"
            last_time = self._time(res, "effectiveDateTime", ctx) or self._period(
                res, "effectivePeriod", ctx, end_first=True
            )
            ongoing = status == "active" and self._open_period(res, ctx)
            if status in UNDATED_STATEMENT_STATUS and last_time is not None:
                last_time = None  # future, paused or unknown: the time is not a last dose
                self.b.warn(
                    ctx.label,
                    f"{concepts[0].id}: statement status {status}: its time is not the time of "
                    "a last dose (unknown)",
                    "status",
                )
            elif not ongoing and self._open_period(res, ctx):
                last_time = None
                self._unended(ctx, concepts[0].id, status)
            dosages = self._list(res, "dosage", ctx)
            if dosages:
                dose, dose_unit, route, freq, start = self._dosage(ctx, dosages[0], "dosage[0].")
        else:
            kind = "administration"
            last_time = self._time(res, "effectiveDateTime", ctx) or self._period(
                res, "effectivePeriod", ctx, end_first=True
            )
            ongoing = status in ONGOING_ADMIN_STATUS or (
                status not in ENDED_STATUS and self._open_period(res, ctx)
            )
            unended = not ongoing and self._open_period(res, ctx)
            if unended:
                last_time = None
                self._unended(ctx, concepts[0].id, status)
            if last_time is not None:
                times = (last_time,)
            elif not unended:
                self.b.warn(
                    ctx.label,
                    f"{concepts[0].id}: administration without a time",
                    "effective[x]",
                )
            dosage = self._obj(res, "dosage", ctx)
            if dosage:
                dose, dose_unit, route = self._admin_dosage(ctx, dosage)
        imprecise = None
        if last_time is not None and rtype != "MedicationRequest":
            imprecise = self._imprecise_time(res)
        dose_source = dose_unknown = None
        if len(concepts) == 1:
            dose, dose_unit, dose_source, dose_unknown = self._product_dose(names, dose, dose_unit)
        entry = MedicationEntry(
            concept=concepts[0].id,
            kind=kind,
            status=status or "unknown",
            dose=dose if len(concepts) == 1 else None,
            dose_unit=dose_unit if len(concepts) == 1 else None,
            route=route,
            frequency_per_day=freq,
            last_time=last_time,
            times=times,
            reference=ctx.label,
            draft=status == "draft",
            text=text,
            intent=intent,
            authored=authored,
            start=start,
            ongoing=ongoing,
            dose_source=dose_source,
            dose_unknown=dose_unknown,
            time_imprecise=imprecise[0] if imprecise else None,
            time_span=imprecise[1] if imprecise else (0.0, 0.0),
        )
        for concept in concepts:
            self.b.case.medications.append(replace(entry, concept=concept.id))

    def _imprecise_time(self, res: Mapping[str, Any]) -> tuple[str, tuple[float, float]] | None:
        """How imprecise the dose time read from effective[x] is (a date only, no time zone)."""
        if "effectiveDateTime" in res:
            return time_imprecision(res["effectiveDateTime"])
        period = res.get("effectivePeriod")
        if isinstance(period, Mapping):
            return time_imprecision(period.get("end") or period.get("start"))
        return None

    def _unended(self, ctx: Ctx, concept: str, status: str | None) -> None:
        """A period with a start and no end whose status says the exposure is over (a completed
        infusion): it ended at a time the record does not give, so the last exposure is unknown,
        never the start (that would count the hold from too early)."""
        self.b.warn(
            ctx.label,
            f"{concept}: status {status or 'unknown'} but the period has no end: time of the last "
            "exposure unknown (not the start)",
            "effectivePeriod.end",
        )

    def _open_period(self, res: Mapping[str, Any], ctx: Ctx) -> bool:
        """effectivePeriod with a start and no end: the exposure has not stopped."""
        period = self._obj(res, "effectivePeriod", ctx)
        return bool(period) and "start" in period and period.get("end") is None

    def _neuraxial(self, res: Mapping[str, Any]) -> bool:
        """True when a drug's route (coded or in the dosage text) is intrathecal/intraventricular;
        read leniently: this only decides whether an unrecognised drug gets its own warning."""
        dosages = res.get("dosageInstruction") or res.get("dosage") or []
        if isinstance(dosages, Mapping):
            dosages = [dosages]
        for dosage in dosages if isinstance(dosages, list) else []:
            if not isinstance(dosage, Mapping):
                continue
            route = dosage.get("route")
            if isinstance(route, Mapping):
                for m in self.b.index.match(route, ("route",)):
                    if m.concept.id in NEURAXIAL_ROUTES:
                        return True
            text = dosage.get("text")
            if isinstance(text, str) and _route_in_text(self, text) in NEURAXIAL_ROUTES:
                return True
        return False

    def unknown_drug_warnings(self) -> None:
        """An unrecognised drug on an intrathecal route, or in a chart with an LP or intrathecal
        order, gets its own warning: it may be an anticoagulant or antiplatelet."""
        if not self.unknown_drugs:
            return
        lp = any(p.concept in LP_PROCEDURES for p in self.b.case.procedures)
        lp = lp or any(m.route in NEURAXIAL_ROUTES for m in self.b.case.medications)
        for label, name, status, neuraxial, rxnorm in self.unknown_drugs:
            if status in ENDED_STATUS:
                continue
            if neuraxial:
                self.b.warn(
                    label,
                    f"unrecognised drug '{name}' on an intrathecal or intraventricular route: "
                    "check it before the LP",
                    check=True,
                )
            elif lp:
                self.b.warn(
                    label,
                    f"unrecognised drug '{name}' with an LP or intrathecal order in the chart: "
                    "check before the LP (it may affect bleeding risk)",
                    check=not rxnorm,
                )

    def _rxnorm(self, res: Mapping[str, Any]) -> bool:
        """True when the drug carries an RxNorm code: the system whose anticoagulant and
        antiplatelet products the terminology lists (VSAC value sets), so an RxNorm drug not
        among them is known not to be one of those; a drug named only in text, by a local code,
        NDC, or a Medication the input does not hold, may be anything."""
        cc = res.get("medicationCodeableConcept")
        if not isinstance(cc, Mapping):
            ref = res.get("medicationReference")
            target = ref.get("reference") if isinstance(ref, Mapping) else None
            med: Any = None
            if isinstance(target, str) and target.startswith("#"):
                contained = res.get("contained")
                med = next(
                    (
                        c
                        for c in (contained if isinstance(contained, list) else [])
                        if isinstance(c, Mapping) and c.get("id") == target[1:]
                    ),
                    None,
                )
            elif isinstance(target, str):
                med = self.lookup(target)
            cc = med.get("code") if isinstance(med, Mapping) else None
        codings = cc.get("coding") if isinstance(cc, Mapping) else None
        return any(
            isinstance(c, Mapping) and c.get("code") and normalize_system(c.get("system")) == RXNORM
            for c in (codings if isinstance(codings, list) else [])
        )

    def _dose_quantity(
        self, qty: Mapping[str, Any], ctx: Ctx, path: str
    ) -> tuple[float | None, str | None]:
        value = qty.get("value")
        if value is None:
            return None, None
        if not is_number(value):
            raise ctx.error(path + ".value", f"expected a number, got {show(value)}")
        return float(value), self._quantity_unit(qty, ctx, path)

    def _dosage(
        self, ctx: Ctx, dosage: Any, path: str
    ) -> tuple[float | None, str | None, str | None, float | None, dt.datetime | None]:
        if not isinstance(dosage, dict):
            raise ctx.error(path.rstrip("."), f"expected an object, got {show(dosage)}")
        dose = unit = None
        for i, dar in enumerate(self._list(dosage, "doseAndRate", ctx, path)):
            if not isinstance(dar, dict):
                raise ctx.error(f"{path}doseAndRate[{i}]", f"expected an object, got {show(dar)}")
            if "doseQuantity" in dar:
                qty = self._obj(dar, "doseQuantity", ctx, f"{path}doseAndRate[{i}].")
                dose, unit = self._dose_quantity(qty, ctx, f"{path}doseAndRate[{i}].doseQuantity")
            elif "doseRange" in dar:
                rng = self._obj(dar, "doseRange", ctx, f"{path}doseAndRate[{i}].")
                low = self._obj(rng, "low", ctx, f"{path}doseAndRate[{i}].doseRange.")
                dose, unit = self._dose_quantity(low, ctx, f"{path}doseAndRate[{i}].doseRange.low")
            if dose is not None:
                break
        route = self._route(ctx, dosage, path)
        timing = self._obj(dosage, "timing", ctx, path)
        freq, start = self._timing(ctx, timing, path + "timing.")
        return dose, unit, route, freq, start

    def _admin_dosage(
        self, ctx: Ctx, dosage: Mapping[str, Any]
    ) -> tuple[float | None, str | None, str | None]:
        qty = self._obj(dosage, "dose", ctx, "dosage.")
        dose, unit = self._dose_quantity(qty, ctx, "dosage.dose") if qty else (None, None)
        return dose, unit, self._route(ctx, dosage, "dosage.")

    def _route(self, ctx: Ctx, dosage: Mapping[str, Any], path: str) -> str | None:
        for key in ("route", "method", "site"):
            if key not in dosage:
                continue
            cc = self._codeable(dosage, key, ctx, path)
            matches = self.b.index.match(cc, ("route",))
            if matches:
                return matches[0].concept.id
            if key == "route":
                self._unknown(ctx, path + "route", cc, "route")
        text = self._str(dosage, "text", ctx, path)
        if text:
            found = _route_in_text(self, text)
            if found:
                return found
        return None

    def _timing(
        self, ctx: Ctx, timing: Mapping[str, Any], path: str
    ) -> tuple[float | None, dt.datetime | None]:
        if not timing:
            return None, None
        start = None
        events = self._list(timing, "event", ctx, path)
        if events:
            start = parse_datetime(events[0], f"{ctx.name} {ctx.label}", path + "event[0]")
        repeat = self._obj(timing, "repeat", ctx, path)
        freq: float | None = None
        if repeat:
            bounds = self._obj(repeat, "boundsPeriod", ctx, path + "repeat.")
            if bounds:
                start = start or self._time(bounds, "start", ctx, path + "repeat.boundsPeriod.")
            frequency = repeat.get("frequency", 1 if "period" in repeat else None)
            period = repeat.get("period")
            unit = repeat.get("periodUnit")
            if frequency is not None and not is_number(frequency):
                raise ctx.error(
                    path + "repeat.frequency", f"expected a number, got {show(frequency)}"
                )
            if period is not None and not is_number(period):
                raise ctx.error(path + "repeat.period", f"expected a number, got {show(period)}")
            if period is not None and frequency is not None:
                days = _PERIOD_DAYS.get(unit) if isinstance(unit, str) else None
                if days is None or period <= 0:
                    self.b.warn(
                        ctx.label,
                        f"timing period unit '{unit}' not understood",
                        path + "repeat.periodUnit",
                    )
                else:
                    freq = round(frequency / (period * days), 6)
        if freq is None:
            code = self._codeable(timing, "code", ctx, path)
            for cand in [c.get("code") for c in code.get("coding") or []] + [code.get("text")]:
                if isinstance(cand, str):
                    freq = timing_code(cand)
                    if freq is not None:
                        break
        return freq, start


_WORD = re.compile(r"[A-Za-z][A-Za-z-]*")


def _route_in_text(reader: ReaderBase, text: str) -> str | None:
    """A route named in free dosage text: 1-3 word phrases against route displays and synonyms.

    Short all-capital abbreviations (IT, IV, SC) count only when written in capitals, so the
    English word 'it' is not read as intrathecal."""
    words = _WORD.findall(text)
    index = reader.b.index
    for size in (3, 2, 1):
        for i in range(len(words) - size + 1):
            phrase = " ".join(words[i : i + size])
            if size == 1 and len(phrase) <= 3 and not phrase.isupper():
                continue
            for cid in index.by_text.get(normalize_text(phrase), ()):
                if index.concepts[cid].kind == "route":
                    return cid
    return None
