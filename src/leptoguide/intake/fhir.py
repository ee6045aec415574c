"""Read a FHIR R4 Bundle (or one resource, or a list of them) into a Case.

Plain dicts, no model validation on the hot path: every field this reader uses is type-checked
here, and a wrong type raises InputError naming the resource and the field. What the reader cannot
use becomes a ReadWarning (unknown code, unconvertible unit, value without date, resource types it
does not read). The FHIR profile it reads is documented in docs/fhir.md.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from leptoguide.case import (
    Case,
    ConditionEntry,
    DeviceEntry,
    MedicationEntry,
    ProcedureEntry,
)
from leptoguide.errors import InputError
from leptoguide.intake.common import (
    CaseBuilder,
    is_number,
    parse_date,
    parse_datetime,
    show,
    timing_code,
)
from leptoguide.intake.terminology import Match, normalize_text
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.models import Concept

BUNDLE_TYPES = {"collection", "searchset", "transaction", "document", "batch"}
UCUM = "http://unitsofmeasure.org"

OBS_KINDS = ("observation", "finding", "condition")
COND_KINDS = ("condition", "finding", "observation")
ORDER_KINDS = ("procedure",)
# Kinds the free-text phrase stage may find, per reader (see terminology.find_phrases).
OBS_PHRASE_KINDS = ("condition",)
COND_PHRASE_KINDS = ("condition", "finding")
SKIP_STATUS = {"entered-in-error", "cancelled", "revoked", "not-done", "refuted"}
INACTIVE_CLINICAL = {"inactive", "remission", "resolved"}

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


@dataclass
class _Ctx:
    """Where we are: file name and resource label, for errors and warnings."""

    name: str
    label: str

    def error(self, field: str | None, message: str) -> InputError:
        return InputError(f"{self.name} {self.label}", message, field)


def read_fhir(obj: Any, *, name: str, kb: KnowledgeBase) -> Case:
    """A Bundle, a single resource, or a list of Bundles/resources (CDS Hooks prefetch) -> Case."""
    builder = CaseBuilder.start(kb, "fhir", name)
    entries = _entries(obj, name)
    reader = _Reader(builder, name, entries)
    reader.run()
    return builder.finish()


def _entries(obj: Any, name: str) -> list[tuple[str, dict[str, Any], str | None]]:
    """Flatten input to (label, resource, fullUrl)."""
    out: list[tuple[str, dict[str, Any], str | None]] = []
    if isinstance(obj, list):
        for i, item in enumerate(obj):
            sub = _entries_of(item, f"{name}[{i}]", f"[{i}]")
            out.extend(sub)
        return out
    return _entries_of(obj, name, "")


def _entries_of(obj: Any, name: str, prefix: str) -> list[tuple[str, dict[str, Any], str | None]]:
    if not isinstance(obj, dict):
        raise InputError(name, f"expected a FHIR resource (a JSON object), got {show(obj)}")
    rtype = obj.get("resourceType")
    if not isinstance(rtype, str):
        raise InputError(name, "not a FHIR resource: 'resourceType' is missing", "resourceType")
    if rtype != "Bundle":
        if rtype not in _READERS and rtype not in _KNOWN_OTHER:
            raise InputError(
                name,
                f"resourceType '{rtype}' is not a Bundle or a resource LeptoGuide reads",
                "resourceType",
            )
        return [(_label(obj, None, prefix or "resource"), obj, None)]
    btype = obj.get("type")
    if btype is not None and (not isinstance(btype, str) or btype not in BUNDLE_TYPES):
        raise InputError(
            name,
            f"Bundle type '{btype}' is not supported (expected one of "
            + ", ".join(sorted(BUNDLE_TYPES))
            + ")",
            "type",
        )
    entries = obj.get("entry", [])
    if entries is None:
        entries = []
    if not isinstance(entries, list):
        raise InputError(name, f"expected a list, got {show(entries)}", "entry")
    out: list[tuple[str, dict[str, Any], str | None]] = []
    for i, entry in enumerate(entries):
        where = f"{prefix}entry[{i}]"
        if not isinstance(entry, dict):
            raise InputError(name, f"expected an object, got {show(entry)}", where)
        res = entry.get("resource")
        full_url = entry.get("fullUrl")
        if full_url is not None and not isinstance(full_url, str):
            raise InputError(name, f"expected a string, got {show(full_url)}", f"{where}.fullUrl")
        if res is None:
            out.append((where, {}, full_url))
            continue
        if not isinstance(res, dict):
            raise InputError(name, f"expected an object, got {show(res)}", f"{where}.resource")
        if not isinstance(res.get("resourceType"), str):
            raise InputError(name, "resourceType is missing", f"{where}.resource.resourceType")
        if res["resourceType"] == "Bundle":
            out.extend(_entries_of(res, name, f"{where}."))
            continue
        out.append((_label(res, full_url, where), res, full_url))
    return out


def _label(res: Mapping[str, Any], full_url: str | None, fallback: str) -> str:
    rid = res.get("id")
    rtype = res.get("resourceType", "resource")
    if isinstance(rid, str) and rid:
        return f"{rtype}/{rid}"
    if full_url:
        return full_url
    return fallback


class _Reader:
    def __init__(
        self,
        builder: CaseBuilder,
        name: str,
        entries: list[tuple[str, dict[str, Any], str | None]],
    ) -> None:
        self.b = builder
        self.name = name
        self.entries = entries
        self.by_ref: dict[str, dict[str, Any]] = {}
        self.explained: set[tuple[str, str]] = set()  # (resource, field) already warned about
        for label, res, full_url in entries:
            if not res:
                continue
            rid = res.get("id")
            if isinstance(rid, str):
                self.by_ref[f"{res['resourceType']}/{rid}"] = res
            if full_url:
                self.by_ref[full_url] = res
            self.by_ref.setdefault(label, res)

    def run(self) -> None:
        ignored: Counter[str] = Counter()
        count = 0
        for label, res, _ in self.entries:
            if not res:
                self.b.warn(label, "entry without a resource; ignored")
                continue
            count += 1
            rtype = res["resourceType"]
            handler = _READERS.get(rtype)
            if handler is None:
                if rtype != "Medication":
                    ignored[rtype] += 1
                continue
            handler(self, _Ctx(self.name, label), res)
        self.b.case.resource_count = count
        if ignored:
            kinds = ", ".join(f"{k} x{n}" for k, n in sorted(ignored.items()))
            self.b.warn(self.name, f"resource types not read: {kinds}")

    # ---------------------------------------------------------------- helpers

    def _obj(self, res: Mapping[str, Any], key: str, ctx: _Ctx, path: str = "") -> dict[str, Any]:
        value = res.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ctx.error(path + key, f"expected an object, got {show(value)}")
        return value

    def _list(self, res: Mapping[str, Any], key: str, ctx: _Ctx, path: str = "") -> list[Any]:
        value = res.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ctx.error(path + key, f"expected a list, got {show(value)}")
        return value

    def _str(self, res: Mapping[str, Any], key: str, ctx: _Ctx, path: str = "") -> str | None:
        value = res.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ctx.error(path + key, f"expected a string, got {show(value)}")
        return value

    def _time(
        self, res: Mapping[str, Any], key: str, ctx: _Ctx, path: str = ""
    ) -> dt.datetime | None:
        value = res.get(key)
        if value is None:
            return None
        return parse_datetime(value, f"{ctx.name} {ctx.label}", path + key)

    def _period(
        self, res: Mapping[str, Any], key: str, ctx: _Ctx, *, end_first: bool = False
    ) -> dt.datetime | None:
        period = self._obj(res, key, ctx)
        start = self._time(period, "start", ctx, key + ".")
        end = self._time(period, "end", ctx, key + ".")
        return (end or start) if end_first else (start or end)

    def _codeable(
        self, res: Mapping[str, Any], key: str, ctx: _Ctx, path: str = ""
    ) -> dict[str, Any]:
        value = self._obj(res, key, ctx, path)
        codings = value.get("coding")
        if codings is not None:
            if not isinstance(codings, list):
                raise ctx.error(f"{path}{key}.coding", f"expected a list, got {show(codings)}")
            for i, coding in enumerate(codings):
                if not isinstance(coding, dict):
                    raise ctx.error(
                        f"{path}{key}.coding[{i}]", f"expected an object, got {show(coding)}"
                    )
                for fld in ("system", "code", "display"):
                    v = coding.get(fld)
                    if v is not None and not isinstance(v, str):
                        raise ctx.error(
                            f"{path}{key}.coding[{i}].{fld}", f"expected a string, got {show(v)}"
                        )
        text = value.get("text")
        if text is not None and not isinstance(text, str):
            raise ctx.error(f"{path}{key}.text", f"expected a string, got {show(text)}")
        return value

    def _status(self, res: Mapping[str, Any], ctx: _Ctx) -> str | None:
        return self._str(res, "status", ctx)

    def _unknown(self, ctx: _Ctx, field: str, codeable: Mapping[str, Any], what: str) -> None:
        if (ctx.label, field) in self.explained:
            return
        self.b.warn(ctx.label, f"{what} not recognised ({_describe(codeable)}); ignored", field)

    def _match(
        self,
        ctx: _Ctx,
        codeable: Mapping[str, Any],
        kinds: tuple[str, ...],
        field: str,
        *,
        phrase_kinds: tuple[str, ...] | None = None,
        multi: bool = False,
    ) -> list[Match]:
        """Code and exact-text matches; failing those, the free-text phrase stage, whose refusals
        (negated, excluded, ambiguous) become warnings."""
        index = self.b.index
        matches = index.match(codeable, kinds)
        if matches:
            return matches
        texts: list[str] = []
        if isinstance(codeable.get("text"), str):
            texts.append(codeable["text"])
        for coding in codeable.get("coding") or []:
            if isinstance(coding, Mapping) and isinstance(coding.get("display"), str):
                texts.append(coding["display"])
        result = index.find_phrases(texts, phrase_kinds or kinds, multi=multi)
        if result.negated or result.excluded or (result.ambiguous and not result.matches):
            self.explained.add((ctx.label, field))
        for cid, cue, text in result.negated:
            self.b.warn(
                ctx.label,
                f"text '{text}' mentions {cid} with the negation cue '{cue}'; "
                "not recorded as present",
                field,
            )
        for cid, word, text in result.excluded:
            self.b.warn(
                ctx.label,
                f"text '{text}' names {cid} but also '{word}', which rules that concept out; "
                "not matched",
                field,
            )
        if result.ambiguous and not result.matches:
            self.b.warn(
                ctx.label,
                f"text '{texts[0] if texts else ''}' could be "
                + " or ".join(result.ambiguous)
                + "; ambiguous, not matched",
                field,
            )
        return result.matches

    def _first(self, matches: list[Match], ctx: _Ctx, field: str) -> Concept:
        if len(matches) > 1 and matches[0].by == "text":
            others = ", ".join(m.concept.id for m in matches[1:])
            self.b.warn(
                ctx.label,
                f"text '{matches[0].key}' matches several concepts; used "
                f"{matches[0].concept.id}, not {others}",
                field,
            )
        return matches[0].concept

    def _skip_status(self, ctx: _Ctx, status: str | None, field: str = "status") -> bool:
        if status in SKIP_STATUS:
            self.b.warn(ctx.label, f"status '{status}'; ignored", field)
            return True
        return False

    # ---------------------------------------------------------------- resources

    def patient(self, ctx: _Ctx, res: dict[str, Any]) -> None:
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

    def observation(self, ctx: _Ctx, res: dict[str, Any]) -> None:
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
        if matches:
            concept = self._first(matches, ctx, "code")
            self._observation_value(ctx, res, concept, time, "", status)
        elif not components:
            self._unknown(ctx, "code", code, "Observation code")
        for i, comp in enumerate(components):
            path = f"component[{i}]."
            if not isinstance(comp, dict):
                raise ctx.error(f"component[{i}]", f"expected an object, got {show(comp)}")
            ccode = self._codeable(comp, "code", ctx, path)
            cmatches = self._match(
                ctx, ccode, OBS_KINDS, path + "code", phrase_kinds=OBS_PHRASE_KINDS
            )
            if not cmatches:
                if not matches:
                    self._unknown(ctx, path + "code", ccode, "Observation component code")
                continue
            concept = self._first(cmatches, ctx, path + "code")
            self._observation_value(ctx, comp, concept, time, path, status)

    def _observation_value(
        self,
        ctx: _Ctx,
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
        elif "valueString" in res:
            field = path + "valueString"
            text = self._str(res, "valueString", ctx, path)
            if text:
                candidates.append(text)
                if concept.unit is not None:
                    number = _number_in(text)
                    if number is not None:
                        b.add_quantity(
                            concept,
                            number,
                            None,
                            time=time,
                            reference=ctx.label,
                            where=ctx.label,
                            field=field,
                            note=note,
                        )
                        return
        if field is None:
            absent = self._codeable(res, "dataAbsentReason", ctx, path)
            why = _describe(absent) if absent else "no value"
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
        self._emit(ctx, concept, out, ok, time, field, note)

    def _emit(
        self,
        ctx: _Ctx,
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
        ctx: _Ctx,
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

    def _quantity_unit(self, qty: Mapping[str, Any], ctx: _Ctx, path: str) -> str | None:
        code = self._str(qty, "code", ctx, path + ".")
        unit = self._str(qty, "unit", ctx, path + ".")
        system = self._str(qty, "system", ctx, path + ".")
        if code and (system is None or system.rstrip("/") == UCUM):
            return code
        return unit or code

    def condition(self, ctx: _Ctx, res: dict[str, Any]) -> None:
        verification = _code_of(self._codeable(res, "verificationStatus", ctx))
        if self._skip_status(ctx, verification, "verificationStatus"):
            return
        clinical = _code_of(self._codeable(res, "clinicalStatus", ctx))
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

    def _medication_concept(
        self, ctx: _Ctx, res: Mapping[str, Any]
    ) -> tuple[list[Concept], str | None]:
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
                med = self.by_ref.get(target)
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
                    return [], None
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
            return [], text
        if len(matches) > 1 and matches[0].by == "text-contains":
            names = ", ".join(m.concept.id for m in matches)
            self.b.warn(
                ctx.label,
                f"text '{matches[0].key}' names several medications ({names}); each is "
                "recorded, without the dose",
                field,
            )
            return [m.concept for m in matches], text
        return [self._first(matches, ctx, field)], text

    def medication(self, ctx: _Ctx, res: dict[str, Any]) -> None:
        rtype = res["resourceType"]
        status = self._status(res, ctx)
        if self._skip_status(ctx, status):
            return
        concepts, text = self._medication_concept(ctx, res)
        if not concepts:
            return
        intent = self._str(res, "intent", ctx)
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
            dosages = self._list(res, "dosage", ctx)
            if dosages:
                dose, dose_unit, route, freq, start = self._dosage(ctx, dosages[0], "dosage[0].")
        else:
            kind = "administration"
            last_time = self._time(res, "effectiveDateTime", ctx) or self._period(
                res, "effectivePeriod", ctx, end_first=True
            )
            if last_time is not None:
                times = (last_time,)
            else:
                self.b.warn(
                    ctx.label,
                    f"{concepts[0].id}: administration without a time",
                    "effective[x]",
                )
            dosage = self._obj(res, "dosage", ctx)
            if dosage:
                dose, dose_unit, route = self._admin_dosage(ctx, dosage)
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
        )
        for concept in concepts:
            self.b.case.medications.append(replace(entry, concept=concept.id))

    def _dose_quantity(
        self, qty: Mapping[str, Any], ctx: _Ctx, path: str
    ) -> tuple[float | None, str | None]:
        value = qty.get("value")
        if value is None:
            return None, None
        if not is_number(value):
            raise ctx.error(path + ".value", f"expected a number, got {show(value)}")
        return float(value), self._quantity_unit(qty, ctx, path)

    def _dosage(
        self, ctx: _Ctx, dosage: Any, path: str
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
        self, ctx: _Ctx, dosage: Mapping[str, Any]
    ) -> tuple[float | None, str | None, str | None]:
        qty = self._obj(dosage, "dose", ctx, "dosage.")
        dose, unit = self._dose_quantity(qty, ctx, "dosage.dose") if qty else (None, None)
        return dose, unit, self._route(ctx, dosage, "dosage.")

    def _route(self, ctx: _Ctx, dosage: Mapping[str, Any], path: str) -> str | None:
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
        self, ctx: _Ctx, timing: Mapping[str, Any], path: str
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

    def service_request(self, ctx: _Ctx, res: dict[str, Any]) -> None:
        self._procedure_like(ctx, res, "request")

    def procedure(self, ctx: _Ctx, res: dict[str, Any]) -> None:
        self._procedure_like(ctx, res, "procedure")

    def _procedure_like(self, ctx: _Ctx, res: dict[str, Any], kind: Any) -> None:
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

    def device(self, ctx: _Ctx, res: dict[str, Any]) -> None:
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


def _describe(codeable: Mapping[str, Any]) -> str:
    parts = []
    for coding in codeable.get("coding") or []:
        if isinstance(coding, dict):
            sys_ = coding.get("system") or "no system"
            parts.append(
                f"{sys_}|{coding.get('code') or ''}"
                + (f" '{coding['display']}'" if coding.get("display") else "")
            )
    if codeable.get("text"):
        parts.append(f"text '{codeable['text']}'")
    return "; ".join(parts) or "no code or text"


def _code_of(codeable: Mapping[str, Any]) -> str | None:
    for coding in codeable.get("coding") or []:
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            return str(coding["code"])
    text = codeable.get("text")
    return text.lower() if isinstance(text, str) else None


_NUMBER = re.compile(r"^\s*=?\s*(-?\d+(?:\.\d+)?)\s*$")
"""A plain number in text; a bound such as '<150' or '>1.0' is not one (it stays unusable)."""


def _number_in(text: str) -> float | None:
    m = _NUMBER.match(text)
    return float(m.group(1)) if m else None


_WORD = re.compile(r"[A-Za-z][A-Za-z-]*")


def _route_in_text(reader: _Reader, text: str) -> str | None:
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


_READERS: dict[str, Callable[[_Reader, _Ctx, dict[str, Any]], None]] = {
    "Patient": _Reader.patient,
    "Observation": _Reader.observation,
    "Condition": _Reader.condition,
    "MedicationRequest": _Reader.medication,
    "MedicationStatement": _Reader.medication,
    "MedicationAdministration": _Reader.medication,
    "ServiceRequest": _Reader.service_request,
    "Procedure": _Reader.procedure,
    "Device": _Reader.device,
}
_KNOWN_OTHER = {"Medication"}
