"""Observation: laboratory and other measured or coded values, components, symptom findings."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from leptoguide.case import ConditionEntry
from leptoguide.intake.common import is_number, show
from leptoguide.intake.fhir.base import Ctx, describe
from leptoguide.intake.fhir.report import ReportReader
from leptoguide.intake.terminology import codeable_texts, is_coded, normalize_text
from leptoguide.knowledge.models import Concept

OBS_KINDS = ("observation", "finding", "condition")
OBS_PHRASE_KINDS = ("condition",)


class ObservationReader(ReportReader):
    def observation(self, ctx: Ctx, res: dict[str, Any]) -> None:
        status = self._status(res, ctx)
        if self._skip_status(ctx, status):
            return
        if "code" not in res:
            raise ctx.error("code", "Observation.code is required")
        code = self._codeable(res, "code", ctx)
        time = (
            self._time(res, "effectiveDateTime", ctx)
            or self._time(res, "effectiveInstant", ctx)
            or self._period(res, "effectivePeriod", ctx)
        )
        matches = self._match(ctx, code, OBS_KINDS, "code", phrase_kinds=OBS_PHRASE_KINDS)
        components = self._list(res, "component", ctx)
        valued = any(k.startswith("value") or k == "dataAbsentReason" for k in res)
        if matches and (valued or not components):  # a panel's own code carries no value
            concept = self._first(matches, ctx, "code")
            self._observation_value(ctx, res, concept, time, "", status)
            self.result_comments(ctx, res, code, time, status, skip=concept.id)
        elif not components and not self.narrative_observation(ctx, res, code, time):
            self._unknown(ctx, "code", code, "Observation code")
        specimen = self._specimen(code)
        for i, comp in enumerate(components):
            path = f"component[{i}]."
            if not isinstance(comp, dict):
                raise ctx.error(f"component[{i}]", f"expected an object, got {show(comp)}")
            ccode = self._codeable(comp, "code", ctx, path)
            cmatches = self._match(
                ctx, ccode, OBS_KINDS, path + "code", phrase_kinds=OBS_PHRASE_KINDS
            )
            if not cmatches and specimen and not is_coded(ccode):
                # a panel's specimen stands for components named without it ('Neutrophils'
                # in a CSF cell count); coded components keep their own meaning
                named = [t for t in codeable_texts(ccode) if t]
                cmatches = [
                    m
                    for t in named[:1]
                    for m in self.b.index.match({"text": f"{specimen} {t}"}, OBS_KINDS)
                ][:1]
            if not cmatches:
                if not matches:
                    self._unknown(ctx, path + "code", ccode, "Observation component code")
                continue
            concept = self._first(cmatches, ctx, path + "code")
            self._observation_value(ctx, comp, concept, time, path, status)

    def _specimen(self, code: Mapping[str, Any]) -> str | None:
        """The specimen a panel's code text names (the ``specimen`` lexicons), or None."""
        for text in codeable_texts(code):
            tokens = normalize_text(text).split()
            for phrases, name in self.b.index.specimens:
                if phrases.first(tokens, 0, len(tokens)) is not None:
                    return name
        return None

    def _observation_value(
        self,
        ctx: Ctx,
        res: Mapping[str, Any],
        concept: Concept,
        time: dt.datetime | None,
        path: str,
        status: str | None,
    ) -> None:
        b = self.b
        note = f"status {status}" if status in ("preliminary", "registered") else None
        if concept.kind == "condition":
            self._symptom_observation(ctx, res, concept, time, path)
            return
        if "valueQuantity" in res:
            qty = self._obj(res, "valueQuantity", ctx, path)
            raw = qty.get("value")
            if not is_number(raw):
                raise ctx.error(f"{path}valueQuantity.value", f"expected a number, got {show(raw)}")
            value = float(raw)
            unit = self._quantity_unit(qty, ctx, f"{path}valueQuantity")
            comparator = self._str(qty, "comparator", ctx, f"{path}valueQuantity.")
            # a bound (<150) is not a value: read as exact it could pass a safety threshold;
            # a quantity where a coded answer is expected cannot be used either
            unusable: tuple[Any, str, str] | None = None
            if comparator:
                bound = f"{comparator}{value:g}" + (f" {unit}" if unit else "")
                unusable = (
                    bound,
                    f"{concept.id}: '{bound}' is a bound, not a value; kept but not used",
                    f"{path}valueQuantity.comparator",
                )
            elif concept.value_set:
                unusable = (
                    value,
                    f"{concept.id}: expected a coded value, got a quantity; kept but not used",
                    f"{path}valueQuantity",
                )
            if unusable is not None:
                kept, message, warn_field = unusable
                b.add_value(
                    concept,
                    kept,
                    time=time,
                    reference=ctx.label,
                    where=ctx.label,
                    field=f"{path}valueQuantity",
                    status="unparseable",
                    note=note,
                )
                b.warn(ctx.label, message, warn_field)
                return
            b.add_quantity(
                concept,
                value,
                unit,
                time=time,
                reference=ctx.label,
                where=ctx.label,
                field=f"{path}valueQuantity",
                note=note,
            )
            return
        for key in ("valueInteger", "valueDecimal"):
            if key in res:
                if not is_number(res[key]):
                    raise ctx.error(path + key, f"expected a number, got {show(res[key])}")
                value = float(res[key])
                if concept.value_set:
                    break
                b.add_quantity(
                    concept,
                    value,
                    None,
                    time=time,
                    reference=ctx.label,
                    where=ctx.label,
                    field=path + key,
                    note=note,
                )
                return
        if "valueBoolean" in res:
            value = res["valueBoolean"]
            if not isinstance(value, bool):
                raise ctx.error(path + "valueBoolean", f"expected true or false, got {show(value)}")
            out, ok = b.bool_to_value(concept, value)
            self._emit(ctx, concept, out, ok, time, path + "valueBoolean", note)
            return
        candidates: list[str] = []
        field = None
        if "valueCodeableConcept" in res:
            field = path + "valueCodeableConcept"
            cc = self._codeable(res, "valueCodeableConcept", ctx, path)
            for coding in cc.get("coding") or []:
                for k in ("code", "display"):
                    if coding.get(k):
                        candidates.append(coding[k])
            if cc.get("text"):
                candidates.append(cc["text"])
        elif "valueRatio" in res:  # a titre: 1:640
            field = path + "valueRatio"
            ratio = self._obj(res, "valueRatio", ctx, path)
            parts = [ratio.get(k) for k in ("numerator", "denominator")]
            values: list[Any] = [p.get("value") if isinstance(p, Mapping) else None for p in parts]
            if concept.unit is None and all(is_number(v) for v in values):
                comp: Any = parts[0].get("comparator") if isinstance(parts[0], Mapping) else None
                prefix = comp if comp in ("<", "<=", ">", ">=") else ""
                candidates.append(f"{prefix}{float(values[0]):g}:{float(values[1]):g}")
            else:
                candidates.append(str(ratio))
        elif "valueString" in res:
            field = path + "valueString"
            text = self._str(res, "valueString", ctx, path)
            if text:
                candidates.append(text)
                if concept.unit is not None:
                    number, unit = _number_in(text), None
                    if number is None and (m := _QUANTITY.match(text)):
                        number, unit = float(m.group(1)), m.group(2)  # '35 x10^9/L'
                    if number is not None:
                        b.add_quantity(
                            concept,
                            number,
                            unit,
                            time=time,
                            reference=ctx.label,
                            where=ctx.label,
                            field=field,
                            note=note,
                        )
                        return
        if field is None:
            absent = self._codeable(res, "dataAbsentReason", ctx, path)
            why = describe(absent) if absent else "no value"
            b.add_value(
                concept,
                None,
                time=time,
                reference=ctx.label,
                where=ctx.label,
                field=path + "value[x]",
                status="unparseable",
                note=why,
            )
            b.warn(
                ctx.label, f"{concept.id}: no value ({why}); kept but not used", path + "value[x]"
            )
            return
        out, ok = b.coded_value(concept, candidates)
        narrative = not ok and concept.narrative is not None
        if narrative and self.concept_text(ctx, concept.id, candidates, time, status):
            return
        self._emit(ctx, concept, out, ok, time, field, note)

    def _emit(
        self,
        ctx: Ctx,
        concept: Concept,
        value: Any,
        ok: bool,
        time: dt.datetime | None,
        field: str,
        note: str | None,
    ) -> None:
        if ok:
            self.b.add_value(
                concept,
                value,
                time=time,
                reference=ctx.label,
                where=ctx.label,
                field=field,
                note=note,
            )
            return
        expected = (" (expected " + "|".join(concept.value_set) + ")") if concept.value_set else ""
        self.b.add_value(
            concept,
            value,
            time=time,
            reference=ctx.label,
            where=ctx.label,
            field=field,
            status="unparseable",
            note=note,
        )
        self.b.warn(
            ctx.label,
            f"{concept.id}: value {value!r} not understood{expected}; kept but not used",
            field,
        )

    def _symptom_observation(
        self,
        ctx: Ctx,
        res: Mapping[str, Any],
        concept: Concept,
        time: dt.datetime | None,
        path: str,
    ) -> None:
        present: bool | None = True
        if "valueBoolean" in res:
            if not isinstance(res["valueBoolean"], bool):
                raise ctx.error(
                    path + "valueBoolean",
                    f"expected true or false, got {show(res['valueBoolean'])}",
                )
            present = res["valueBoolean"]
        elif "valueCodeableConcept" in res or "valueString" in res:
            from leptoguide.intake.common import bool_word

            cc = self._codeable(res, "valueCodeableConcept", ctx, path)
            texts = [c.get("display") or c.get("code") or "" for c in cc.get("coding") or []]
            texts += [cc.get("text") or "", self._str(res, "valueString", ctx, path) or ""]
            present = None
            for t in texts:
                if t and bool_word(t) is not None:
                    present = bool_word(t)
                    break
            if present is None:
                present = True
        self.b.case.conditions.append(
            ConditionEntry(
                concept=concept.id,
                reference=ctx.label,
                onset=time,
                active=bool(present),
                text=None if present else "recorded as absent",
            )
        )


_NUMBER = re.compile(r"^\s*=?\s*(-?\d+(?:\.\d+)?)\s*$")
"""A plain number in text; a bound such as '<150' or '>1.0' is not one (it stays unusable)."""


_QUANTITY = re.compile(r"^\s*=?\s*(-?\d+(?:\.\d+)?)\s*([A-Za-z/*^µμ×%{\[][^()<>=]{0,30}?)\s*$")
"""A number and a unit in text ('35 x10^9/L', '250 cells/uL'); the unit must be one the
concept converts, else the value is kept as unreadable. A bound ('<10') is not one."""


def _number_in(text: str) -> float | None:
    m = _NUMBER.match(text)
    return float(m.group(1)) if m else None
