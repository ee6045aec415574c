"""DiagnosticReport and narrative Observations: MRI pattern, CSF cytology, CSF flow study and
biomarkers read from report text, each value quoting the sentence it rests on.

Text comes from ``conclusion``, ``presentedForm`` (text/plain or text/html, inline ``data``), and
for Observations ``valueString`` and ``note``. Which concepts a text may speak of is decided by the
report's code and category texts (``Concept.narrative.reports``), so a cytology diagnosis is never
read as an MRI pattern. ``conclusionCode`` codings are matched by code like any other code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any, TypeVar

from leptoguide.case import ConditionEntry, Observed
from leptoguide.errors import InputError
from leptoguide.intake.fhir.base import Ctx, ReaderBase
from leptoguide.intake.narrative import (
    Finding,
    decode_attachment,
    html_text,
    narrative_concepts,
    read_shares,
    read_text,
)
from leptoguide.knowledge.models import Concept

_T = TypeVar("_T")
REPORT_KINDS = ("finding", "observation", "condition")
TEXT_TYPES = ("text/plain", "text/html", "text/markdown", "application/xhtml+xml")
"""Attachment content types read as text (any charset parameter is ignored)."""


class ReportReader(ReaderBase):
    def diagnostic_report(self, ctx: Ctx, res: dict[str, Any]) -> None:
        status = self._status(res, ctx)
        if self._skip_status(ctx, status):
            return
        code = self._codeable(res, "code", ctx)
        time = (
            self._time(res, "effectiveDateTime", ctx)
            or self._period(res, "effectivePeriod", ctx)
            or self._time(res, "issued", ctx)
        )
        kind_texts = _texts_of(code)
        for i, cat in enumerate(self._list(res, "category", ctx)):
            key = f"category[{i}]"
            kind_texts += _texts_of(self._codeable({key: cat}, key, ctx))
        texts: list[str] = []
        # the text parts stand on their own: one malformed part (a conclusion sent as a list, an
        # attachment whose data is not text) is named and the others are still read
        conclusion = self._part(ctx, "conclusion", lambda: self._str(res, "conclusion", ctx))
        if conclusion:
            texts.append(conclusion)
        forms = self._part(ctx, "presentedForm", lambda: self._list(res, "presentedForm", ctx))
        for i, form in enumerate(forms or []):
            path = f"presentedForm[{i}]"
            text = self._part(ctx, path, partial(self._attachment, ctx, form, path))
            if text:
                texts.append(text)
        read_any = self._read_narrative(ctx, kind_texts, texts, time, status)
        speaks = bool(texts) and bool(narrative_concepts(self.b.index, kind_texts))
        for i, cc in enumerate(self._list(res, "conclusionCode", ctx)):
            field = f"conclusionCode[{i}]"
            cc = self._codeable({field: cc}, field, ctx)
            matches = self.b.index.match(cc)
            matches = [m for m in matches if m.concept.kind in REPORT_KINDS]
            for m in matches:
                if m.concept.kind == "condition":
                    self.b.case.conditions.append(
                        ConditionEntry(concept=m.concept.id, reference=ctx.label, onset=time)
                    )
                    read_any = True
            if not matches:
                self._unknown(ctx, field, cc, "DiagnosticReport conclusionCode")
        if speaks and not read_any:
            self.b.warn(
                ctx.label,
                f"{kind_texts[0]}: the report text states no result LeptoGuide reads "
                "(check it by hand)",
                "conclusion",
            )
        self._missing_results(ctx, res, time)

    def _part(self, ctx: Ctx, field: str, read: Callable[[], _T]) -> _T | None:
        """One text part of a report, or None (with a warning naming it) when it is malformed."""
        try:
            return read()
        except InputError as exc:
            self.b.warn(
                ctx.label,
                f"unreadable report text ({exc.problem.message}); that part not read, the "
                "rest of the report is",
                exc.problem.field or field,
            )
            return None

    def _missing_results(self, ctx: Ctx, res: Mapping[str, Any], time: dt.datetime | None) -> None:
        """``result`` references the input does not hold: reported as "referenced result not
        provided", never read as normal. A result whose ``display`` names an observation concept
        is kept as that concept, present but unreadable, so a check that needs it says so."""
        results = res.get("result")
        if not isinstance(results, list):
            if results is not None:
                self.b.warn(ctx.label, "expected a list of references; not read", "result")
            return
        missing: list[str] = []
        for i, item in enumerate(results):
            ref = item.get("reference") if isinstance(item, Mapping) else None
            if not isinstance(ref, str) or not ref.strip():
                continue
            ref = ref.strip()
            if self._resolves(ref) or (ref.startswith("#") and _contains(res, ref[1:])):
                continue
            display = item.get("display")
            shown = f"{ref} ({display})" if isinstance(display, str) and display else ref
            missing.append(shown)
            if isinstance(display, str) and display:
                for m in self.b.index.match({"text": display}, ("observation",))[:1]:
                    self.b.case.observations.append(
                        Observed(
                            concept=m.concept.id,
                            value=None,
                            time=time,
                            reference=ref,
                            status="unparseable",
                            note=f"referenced result not provided (result[{i}] of {ctx.label})",
                        )
                    )
        if missing:
            self.b.warn(
                ctx.label,
                f"{len(missing)} referenced result(s) not provided in the input: "
                + ", ".join(missing[:5])
                + (" ..." if len(missing) > 5 else "")
                + "; their values are unknown, not normal",
                "result",
            )

    def _resolves(self, ref: str) -> bool:
        """Whether a reference names a resource in the input (relative, absolute or urn:uuid)."""
        return self.lookup(ref) is not None

    def document_reference(self, ctx: Ctx, res: dict[str, Any]) -> None:
        """A report sent as a document (radiology or pathology report as DocumentReference):
        read like a DiagnosticReport when its type or category names a report kind LeptoGuide
        reads; other documents (progress notes, discharge summaries) are not read."""
        status = self._status(res, ctx)
        if self._skip_status(ctx, status) or status == "superseded":
            return
        kind_texts = _texts_of(self._codeable(res, "type", ctx))
        for i, cat in enumerate(self._list(res, "category", ctx)):
            key = f"category[{i}]"
            kind_texts += _texts_of(self._codeable({key: cat}, key, ctx))
        description = self._str(res, "description", ctx)
        if description:
            kind_texts.append(description)
        for content in self._list(res, "content", ctx):
            attachment = content.get("attachment") if isinstance(content, dict) else None
            if isinstance(attachment, dict) and isinstance(attachment.get("title"), str):
                kind_texts.append(attachment["title"])
        if not narrative_concepts(self.b.index, kind_texts):
            self.documents_skipped += 1
            return
        time = self._time(res, "date", ctx)
        if time is None:
            context = self._obj(res, "context", ctx)
            time = self._period(context, "period", ctx) if context else None
        texts: list[str] = []
        for i, content in enumerate(self._list(res, "content", ctx)):
            if not isinstance(content, dict):
                raise ctx.error(f"content[{i}]", "expected an object")
            attachment = self._obj(content, "attachment", ctx, f"content[{i}].")
            text = self._attachment(ctx, attachment, f"content[{i}].attachment")
            if text:
                texts.append(text)
        doc_status = self._str(res, "docStatus", ctx)
        if not self._read_narrative(ctx, kind_texts, texts, time, doc_status):
            self.b.warn(
                ctx.label,
                f"{kind_texts[0]}: the document states no result LeptoGuide reads "
                "(check it by hand)",
                "content",
            )

    def _attachment(self, ctx: Ctx, form: Any, path: str) -> str | None:
        if not isinstance(form, dict):
            raise ctx.error(path, "expected an object")
        ctype = (self._str(form, "contentType", ctx, path + ".") or "text/plain").lower()
        data = self._str(form, "data", ctx, path + ".")
        if not data:
            return None
        if ctype.split(";")[0].strip() not in TEXT_TYPES:
            return None
        text = decode_attachment(data)
        if text is None:
            self.b.warn(ctx.label, "attachment data is not base64 UTF-8 text; not read", path)
            return None
        return html_text(text) if "html" in ctype else text

    def _read_narrative(
        self,
        ctx: Ctx,
        kind_texts: list[str],
        texts: list[str],
        time: dt.datetime | None,
        status: str | None,
    ) -> bool:
        """Values for every narrative concept the report kind allows; True if any was read."""
        if not texts:
            return False
        read_any = False
        self._context_mentions(ctx, kind_texts, texts)
        for concept in narrative_concepts(self.b.index, kind_texts):
            read_any |= self._add_shares(ctx, concept, texts, time, status)
            finding = read_text(self.b.index, concept, texts)
            if finding is None:
                continue
            read_any = True
            self._add_finding(ctx, finding, time, status)
        return read_any

    def _context_mentions(self, ctx: Ctx, kind_texts: list[str], texts: list[str]) -> None:
        """A report of another kind that mentions a concept ("no malignant cells" in a CSF cell
        count comment): quoted in a warning, never a value of the concept (only its own report
        kind, by code, category or title, may give one)."""
        for concept in narrative_concepts(self.b.index, kind_texts, context=True):
            finding = read_text(self.b.index, concept, texts)
            if finding is None:
                continue
            kind = kind_texts[0] if kind_texts else "this report"
            self.b.warn(
                ctx.label,
                f'{concept.id}: {kind} says "{finding.quote}", but it is not a '
                f"{concept.display} report; not read as a result (record the result from "
                "its own report)",
                "text",
            )

    def _add_shares(
        self,
        ctx: Ctx,
        concept: Concept,
        texts: list[str],
        time: dt.datetime | None,
        status: str | None,
        *,
        where: str = "report",
    ) -> bool:
        """Percentages the text states for the concept's ``shares`` ('85% neutrophils'), each
        a value of its percentage concept quoting the sentence. True if any was read."""
        prefix = f"status {status}; " if status in ("preliminary", "registered", "partial") else ""
        shares = read_shares(concept, texts)
        for share in shares:
            target = self.b.index.concepts.get(share.concept_id)
            if target is None:
                continue
            self.b.add_quantity(
                target,
                share.value,
                "%",
                time=time,
                reference=ctx.label,
                where=ctx.label,
                field="text" if where == "report" else "note",
                note=f'{prefix}read from the {where} text: "{share.quote}"',
            )
        return bool(shares)

    def _add_finding(
        self,
        ctx: Ctx,
        finding: Finding,
        time: dt.datetime | None,
        status: str | None,
        *,
        where: str = "report",
    ) -> None:
        concept = finding.concept
        quote = f'"{finding.quote}"'
        prefix = f"status {status}; " if status in ("preliminary", "registered", "partial") else ""
        field = "text" if where == "report" else "note"
        if finding.value is None:
            self.b.add_value(
                concept,
                None,
                time=time,
                reference=ctx.label,
                where=ctx.label,
                field=field,
                status="unparseable",
                note=f"{prefix}{where} text not understood: {quote}",
            )
            self.b.warn(
                ctx.label,
                f"{concept.id}: the {where} text speaks of it but its result could not be read "
                f"({quote}); kept as unreadable",
                field,
            )
            return
        detail = f" ({finding.detail})" if finding.detail else ""
        self.b.add_value(
            concept,
            finding.value,
            time=time,
            reference=ctx.label,
            where=ctx.label,
            field=field,
            note=f"{prefix}read from the {where} text{detail}: {quote}",
        )

    def narrative_observation(
        self, ctx: Ctx, res: Mapping[str, Any], code: Mapping[str, Any], time: dt.datetime | None
    ) -> bool:
        """An Observation whose code is not a LeptoGuide concept but whose text may hold one
        (a radiology impression, a pathology final diagnosis). True if anything was read."""
        texts: list[str] = []
        value = res.get("valueString")
        if isinstance(value, str) and value.strip():
            texts.append(value)
        for note in res.get("note") or []:
            if isinstance(note, Mapping) and isinstance(note.get("text"), str):
                texts.append(note["text"])
        if not texts:
            return False
        kind_texts = _texts_of(code)
        for cat in res.get("category") or []:
            if isinstance(cat, Mapping):
                kind_texts += _texts_of(cat)
        status = res.get("status") if isinstance(res.get("status"), str) else None
        return self._read_narrative(ctx, kind_texts, texts, time, status)

    def result_comments(
        self,
        ctx: Ctx,
        res: Mapping[str, Any],
        code: Mapping[str, Any],
        time: dt.datetime | None,
        status: str | None,
        *,
        skip: str,
    ) -> None:
        """Values stated in a result's comments (``note``) or interpretation text, for the
        narrative concepts that allow it (``Narrative.comments``) and whose report words the
        result's code names: a CSF white cell count commented "predominantly lymphocytes"."""
        texts: list[str] = []
        for note in res.get("note") or []:
            if isinstance(note, Mapping) and isinstance(note.get("text"), str):
                texts.append(note["text"])
        for interp in res.get("interpretation") or []:
            if isinstance(interp, Mapping):
                texts += [t for t in _texts_of(interp) if len(t) > 3]  # not the codes H, L, A
        if not texts:
            return
        for concept in narrative_concepts(self.b.index, _texts_of(code)):
            if concept.id == skip or concept.narrative is None or not concept.narrative.comments:
                continue
            self._add_shares(ctx, concept, texts, time, status, where="comment")
            finding = read_text(self.b.index, concept, texts)
            if finding is not None:
                self._add_finding(ctx, finding, time, status, where="comment")

    def concept_text(
        self,
        ctx: Ctx,
        concept_id: str,
        texts: list[str],
        time: dt.datetime | None,
        status: str | None,
    ) -> bool:
        """A known narrative concept given as free text (valueString 'Linear enhancement of the
        folia'): read it with the concept's narrative spec. True if a value was read."""
        concept = self.b.index.concepts[concept_id]
        shares = self._add_shares(ctx, concept, texts, time, status)
        finding = read_text(self.b.index, concept, texts)
        if finding is None or finding.value is None:
            return shares
        self._add_finding(ctx, finding, time, status)
        return True


def _texts_of(codeable: Mapping[str, Any]) -> list[str]:
    out: list[str] = []
    if isinstance(codeable.get("text"), str):
        out.append(codeable["text"])
    for coding in codeable.get("coding") or []:
        if isinstance(coding, Mapping):
            for key in ("display", "code"):
                if isinstance(coding.get(key), str):
                    out.append(coding[key])
    return out


def _contains(res: Mapping[str, Any], rid: str) -> bool:
    contained = res.get("contained")
    return isinstance(contained, list) and any(
        isinstance(c, Mapping) and c.get("id") == rid for c in contained
    )
