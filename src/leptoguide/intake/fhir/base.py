"""Shared reading helpers for the FHIR resource readers: typed field access, codes, warnings.

Every field a reader uses is type-checked here, and a wrong type raises InputError naming the
resource and the field.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from leptoguide.errors import InputError
from leptoguide.intake.common import CaseBuilder, parse_datetime, show
from leptoguide.intake.fhir.bundle import Entry
from leptoguide.intake.terminology import Match, codeable_texts, is_coded, normalize_system
from leptoguide.knowledge.models import Concept

UCUM = "http://unitsofmeasure.org"
UNKNOWN_EXAMPLES = 5
"""How many of the most frequent unrecognised codes a summary line names."""
SKIP_STATUS = {"entered-in-error", "cancelled", "revoked", "not-done", "refuted"}


@dataclass
class Ctx:
    """Where we are: file name and resource label, for errors and warnings."""

    name: str
    label: str

    def error(self, field: str | None, message: str) -> InputError:
        return InputError(f"{self.name} {self.label}", message, field)


class ReaderBase:
    """Entries by reference, the case builder, and the typed field helpers every reader uses."""

    def __init__(
        self,
        builder: CaseBuilder,
        name: str,
        entries: list[Entry],
    ) -> None:
        self.b = builder
        self.name = name
        self.entries = entries
        self.by_ref: dict[str, dict[str, Any]] = {}
        self.explained: set[tuple[str, str]] = set()  # (resource, field) already warned about
        self.unknown: dict[str, Counter[str]] = {}  # code system -> code -> count
        self.unknown_kinds: dict[str, Counter[str]] = {}  # code system -> what -> count
        self.documents_skipped = 0  # DocumentReferences of kinds LeptoGuide does not read
        self.unknown_drugs: list[tuple[str, str, str | None, bool, bool]] = []
        """(resource, name, status, on an intrathecal route, RxNorm-coded) of drugs not
        recognised."""
        for label, res, full_url in entries:
            if not res:
                continue
            rid = res.get("id")
            if isinstance(rid, str):
                self.by_ref[f"{res['resourceType']}/{rid}"] = res
            if full_url:
                self.by_ref[full_url] = res
            self.by_ref.setdefault(label, res)

    def lookup(self, ref: str) -> dict[str, Any] | None:
        """The resource a reference names in the input: as written (relative, absolute or
        urn:uuid), else by its last ``Type/id`` with any ``/_history/<version>`` left off."""
        found = self.by_ref.get(ref)
        if found is not None:
            return found
        parts = ref.split("/_history/")[0].rstrip("/").split("/")
        return self.by_ref.get(f"{parts[-2]}/{parts[-1]}") if len(parts) >= 2 else None

    # ---------------------------------------------------------------- helpers

    def _obj(self, res: Mapping[str, Any], key: str, ctx: Ctx, path: str = "") -> dict[str, Any]:
        value = res.get(key)
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ctx.error(path + key, f"expected an object, got {show(value)}")
        return value

    def _list(self, res: Mapping[str, Any], key: str, ctx: Ctx, path: str = "") -> list[Any]:
        value = res.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ctx.error(path + key, f"expected a list, got {show(value)}")
        return value

    def _str(self, res: Mapping[str, Any], key: str, ctx: Ctx, path: str = "") -> str | None:
        value = res.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise ctx.error(path + key, f"expected a string, got {show(value)}")
        return value

    def _time(
        self, res: Mapping[str, Any], key: str, ctx: Ctx, path: str = ""
    ) -> dt.datetime | None:
        value = res.get(key)
        if value is None:
            return None
        return parse_datetime(value, f"{ctx.name} {ctx.label}", path + key)

    def _period(
        self, res: Mapping[str, Any], key: str, ctx: Ctx, *, end_first: bool = False
    ) -> dt.datetime | None:
        period = self._obj(res, key, ctx)
        start = self._time(period, "start", ctx, key + ".")
        end = self._time(period, "end", ctx, key + ".")
        return (end or start) if end_first else (start or end)

    def _codeable(
        self, res: Mapping[str, Any], key: str, ctx: Ctx, path: str = ""
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

    def _status(self, res: Mapping[str, Any], ctx: Ctx) -> str | None:
        return self._str(res, "status", ctx)

    def _unknown(self, ctx: Ctx, field: str, codeable: Mapping[str, Any], what: str) -> None:
        """Counted, not warned one by one: ``summarise_unknown`` writes one line per code system."""
        if (ctx.label, field) in self.explained:
            return
        keys: list[tuple[str, str]] = []
        for coding in codeable.get("coding") or []:
            if isinstance(coding, Mapping) and (coding.get("code") or coding.get("display")):
                system = normalize_system(coding.get("system")) or "no system"
                code = str(coding.get("code") or "")
                display = coding.get("display")
                if isinstance(display, str) and display:
                    code = f"{code} '{display[:50]}'".strip()
                keys.append((system, code))
        if not keys:
            text = codeable.get("text")
            keys.append(("text only", f"'{text[:60]}'" if isinstance(text, str) else "(empty)"))
        system, code = keys[0]
        self.unknown.setdefault(system, Counter())[code] += 1
        self.unknown_kinds.setdefault(system, Counter())[what] += 1

    def summarise_unknown(self) -> None:
        """One warning per code system: how many codes were not recognised, of which kinds."""
        for system in sorted(self.unknown):
            codes = self.unknown[system]
            total = sum(codes.values())
            kinds = ", ".join(f"{k} x{n}" for k, n in self.unknown_kinds[system].most_common())
            top = ", ".join(f"{c} x{n}" for c, n in codes.most_common(UNKNOWN_EXAMPLES))
            more = "" if len(codes) <= UNKNOWN_EXAMPLES else f", +{len(codes) - UNKNOWN_EXAMPLES}"
            self.b.warn(
                self.name,
                f"{system}: {total} not recognised ({len(codes)} distinct; "
                f"{kinds}): {top}{more}; not used",
            )

    def concept_hint(self, res: Mapping[str, Any]) -> Concept | None:
        """The concept a resource's code names, looked up without reading anything else."""
        for key in ("code", "medicationCodeableConcept"):
            value = res.get(key)
            if isinstance(value, Mapping):
                try:
                    matches = self.b.index.match(value)
                except (AttributeError, TypeError):
                    return None
                if matches:
                    return matches[0].concept
        return None

    def _match(
        self,
        ctx: Ctx,
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
        if "medication" not in kinds and is_coded(codeable):
            return []  # coded data is never read as narrative (a product name is, for drugs)
        texts = codeable_texts(codeable)
        result = index.find_phrases(texts, phrase_kinds or kinds, multi=multi)
        if result.negated or result.excluded or (result.ambiguous and not result.matches):
            self.explained.add((ctx.label, field))
        for cid, cue, text in result.negated:
            self.b.warn(
                ctx.label,
                f"text '{text}' mentions {cid} with the {cue}; not recorded as present",
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

    def _first(self, matches: list[Match], ctx: Ctx, field: str) -> Concept:
        if len(matches) > 1 and matches[0].by == "text":
            others = ", ".join(m.concept.id for m in matches[1:])
            self.b.warn(
                ctx.label,
                f"text '{matches[0].key}' matches several concepts; used "
                f"{matches[0].concept.id}, not {others}",
                field,
            )
        return matches[0].concept

    def _skip_status(self, ctx: Ctx, status: str | None, field: str = "status") -> bool:
        if status in SKIP_STATUS:
            self.b.warn(ctx.label, f"status '{status}'; ignored", field)
            return True
        return False

    def _quantity_unit(self, qty: Mapping[str, Any], ctx: Ctx, path: str) -> str | None:
        code = self._str(qty, "code", ctx, path + ".")
        unit = self._str(qty, "unit", ctx, path + ".")
        system = self._str(qty, "system", ctx, path + ".")
        if code and (system is None or system.rstrip("/") == UCUM):
            return code
        return unit or code


def describe(codeable: Mapping[str, Any]) -> str:
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


def code_of(codeable: Mapping[str, Any]) -> str | None:
    for coding in codeable.get("coding") or []:
        if isinstance(coding, dict) and isinstance(coding.get("code"), str):
            return str(coding["code"])
    text = codeable.get("text")
    return text.lower() if isinstance(text, str) else None
