"""``assess(case, kb=, policy=, at=)``: facts -> every rule -> findings, missing data, warnings.

A rule fires only when its condition is definitely true. A rule whose condition is unknown
contributes the facts it lacked to ``missing`` (with what they are needed for). Output order and
content are deterministic for the same input, time, policy and knowledge version.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel

from leptoguide.assessment import (
    AntithromboticTiming,
    Assessment,
    Citation,
    Classification,
    DataWarning,
    Finding,
    FindingInput,
    InputValue,
    MissingItem,
    PolicyRef,
    Risk,
    Schedule,
)
from leptoguide.assessment import Input as CaseInput
from leptoguide.case import Case
from leptoguide.engine import dosing
from leptoguide.engine.derive import build_facts
from leptoguide.engine.evaluate import evaluate, unknown_facts
from leptoguide.engine.series import series, threshold
from leptoguide.engine.templates import UNKNOWN, Unknown, render
from leptoguide.engine.types import (
    FactData,
    Facts,
    FactValue,
    LmClassification,
    RiskDetail,
    Status,
    grounds,
    iso,
)
from leptoguide.engine.zones import localize
from leptoguide.knowledge.conditions import (
    Compare,
    Literal,
    Node,
    Presence,
    facts_used,
    parse_condition,
    policies_used,
    walk,
)
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.models import Regimen, Rule
from leptoguide.knowledge.status import checked, weakest
from leptoguide.memo import once_per
from leptoguide.policy import Policy

SEVERITY_ORDER = {"critical": 0, "warning": 1, "info": 2}
KIND_ORDER = {"alert": 0, "recommendation": 1, "workup": 2, "info": 3}
SUMMARY_MAX = 140
LIST_FACTS = (
    "conditions",
    "medications",
    "it-medications",
    "procedures-planned",
    "procedures-done",
    "devices",
)


_TREES: dict[int, Node] = {}


def _parsed(rule: Rule) -> Node:
    return once_per(_TREES, id(rule), lambda: parse_condition(rule.when), rule)


def regimen_text(regimen: Regimen) -> str:
    """A one-line, checkable description of a regimen record."""
    parts = [regimen.title]
    for band in regimen.bands:
        if band.amount is None and not band.unit and not band.notes:
            continue  # an eligibility band (age range only): nothing to print
        amount = "" if band.amount is None else f"{band.amount:g}"
        if band.amount_max:
            amount += f"-{band.amount_max:g}"
        basis = {
            "per-kg-per-day": "/kg/day",
            "per-kg-per-dose": "/kg per dose",
            "per-m2-per-dose": "/m2 per dose",
            "per-m2-per-day": "/m2/day",
            "per-day": "/day",
            "single-dose": " once",
            "per-dose": "",
        }[band.basis]
        text = f"{band.label}: {amount} {band.unit or ''}{basis}".replace("  ", " ")
        if band.interval_hours and band.interval_hours_max:
            text += f" every {band.interval_hours:g}-{band.interval_hours_max:g} h"
        elif band.interval_hours:
            text += " " + dosing.every(band.interval_hours)
        if band.max_per_day:
            text += f", max {band.max_per_day.amount:g} {band.max_per_day.unit}/day"
        if band.max_per_dose:
            text += f", max {band.max_per_dose.amount:g} {band.max_per_dose.unit} per dose"
        if band.duration_days_min:
            text += f", {band.duration_days_min:g}"
            text += f"-{band.duration_days_max:g}" if band.duration_days_max else ""
            text += " days"
        if band.notes:
            text += f" ({band.notes})"
        parts.append(text)
    if regimen.fractionation:
        fr = regimen.fractionation
        text = f"{fr.gy_per_fraction * fr.fractions:g} Gy in {fr.fractions} fractions"
        if text not in regimen.title:
            parts.append(text)
    for phase in regimen.schedule:
        bits = [phase.name]
        if phase.times_per_week:
            bits.append(f"{phase.times_per_week:g}x/week")
        if phase.every_days:
            bits.append(f"every {phase.every_days:g} days")
        if phase.weeks:
            bits.append(f"for {phase.weeks:g} weeks")
        if phase.count:
            bits.append(f"{phase.count} doses")
        parts.append(" ".join(bits))
    if regimen.companions:
        parts.append("with " + ", ".join(regimen.companions))
    text = "; ".join(parts)
    return text if regimen.status == "verified" else f"{text} [{regimen.status}]"


class _Env:
    """Template helpers bound to one evaluation."""

    def __init__(self, kb: KnowledgeBase, facts: Facts, policy: Policy, audience: str) -> None:
        self.kb, self.facts, self.policy, self.audience = kb, facts, policy, audience
        self.lacking: list[str] = []
        """Facts a template wanted but could not use (they join ``missing``)."""

    def _lack(self, fid: str) -> None:
        if fid not in self.lacking:
            self.lacking.append(fid)

    def v(self, fid: str) -> FactData | Unknown:
        fv = self.facts.get(fid)
        if fv.usable and fv.value is not None:
            return fv.value
        self._lack(fid)
        return UNKNOWN

    def fv(self, fid: str) -> FindingInput:
        fv = self.facts.get(fid)
        return fv.as_input(_shown(fv.value))

    def pol(self, pid: str) -> object:
        return self.policy.get(pid) if pid in self.policy.values else UNKNOWN

    def regimen(self, rid: str) -> str:
        reg = self.kb.regimens.get(rid)
        return regimen_text(reg) if reg else "unknown regimen"

    def dose(self, rid: str, short: bool = False, all_bands: bool = False) -> str:
        reg = self.kb.regimens.get(rid)
        if reg is None:
            return "unknown regimen"
        fit, why = dosing.population_fit(self.kb, reg, *dosing.patient_context(self.facts))
        if fit is False:
            return f"not computed: not for this patient ({why})"
        age = self.facts.get("age-days").number
        age_days = int(age) if age is not None else None
        weight_kg = self.facts.get("body-weight").number
        regs = [reg.model_copy(update={"bands": [b]}) for b in reg.bands] if all_bands else [reg]
        texts = []
        for one in regs:
            res = dosing.compute(one, age_days, weight_kg)
            if res.error is not None:
                if age_days is None:
                    self._lack("age-days")
                if weight_kg is None and "weight" in res.error:
                    self._lack("body-weight")
                label = f"{res.band}: " if res.band is not None else ""
                texts.append(f"{label}not computed: {res.error}")
                continue
            if short:
                texts.append(res.text)
                continue
            steps = f" [{'; '.join(res.steps)}]" if res.steps else ""
            texts.append(f"{res.band}: {res.text}{steps}")
        return "; ".join(texts)

    def statement(self, sid: str) -> str:
        st = self.kb.statements.get(sid)
        if st is None:
            return "unknown"
        return st.patient if self.audience == "patient" else st.clinician

    def context(self) -> dict[str, Callable[..., object]]:
        return {
            "v": self.v,
            "fv": self.fv,
            "policy": self.pol,
            "regimen": self.regimen,
            "dose": self.dose,
            "statement": self.statement,
        }


FULL_INPUTS = ("tbm-regimens", "lp-antithrombotics")
"""Facts a finding shows in full (the regimen list, the antithrombotic timing); a finding shows
other computed objects by their status, pattern, certainty or group, other lists by their length."""
_SUMMARY_FIELDS = ("status", "pattern", "certainty", "group")


def _short(value: FactData) -> InputValue:
    """The short form of a fact's value a finding shows (see :data:`FULL_INPUTS`)."""
    if isinstance(value, BaseModel):
        for key in _SUMMARY_FIELDS:
            if key in type(value).model_fields:
                shown: object = getattr(value, key)
                return shown if isinstance(shown, str) else "see detail"
        return "see detail"
    if isinstance(value, list):
        return f"{len(value)} item(s)"
    return _scalar(value)


def _scalar(value: str | int | float | bool | None) -> InputValue:
    return round(value, 4) if isinstance(value, float) else value


def _shown(value: FactData, full: bool = False) -> InputValue:
    if not full:
        return _short(value)
    if isinstance(value, AntithromboticTiming) or value is None:
        return value
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    if isinstance(value, BaseModel):
        return _short(value)
    return _scalar(value)


_INPUT_PLANS: dict[tuple[int, int], tuple[dict[str, set[object]], tuple[str, ...]]] = {}


def _input_plan(rule: Rule, tree: Node) -> tuple[dict[str, set[object]], tuple[str, ...]]:
    """What a finding of ``rule`` shows, from its condition alone (the same for every case, so
    worked out once per rule): the literals its ``contains`` tests look for, per fact, and the
    facts it reads followed by its declared inputs, each once, in that order."""

    def build() -> tuple[dict[str, set[object]], tuple[str, ...]]:
        wanted: dict[str, set[object]] = {}
        for node in walk(tree):
            if (
                isinstance(node, Compare)
                and node.op == "contains"
                and isinstance(node.operand, Literal)
            ):
                wanted.setdefault(node.fact, set()).add(node.operand.value)
        return wanted, tuple(dict.fromkeys([*facts_used(tree), *rule.inputs]))

    return once_per(_INPUT_PLANS, (id(rule), id(tree)), build, rule, tree)


def _inputs(rule: Rule, tree: Node, facts: Facts) -> list[FindingInput]:
    wanted, fids = _input_plan(rule, tree)
    out: list[FindingInput] = []
    for fid in fids:
        fv = facts.get(fid)
        if fid in LIST_FACTS:
            items = dict(fv.items)
            hits = sorted(i for i in wanted.get(fid, set()) if isinstance(i, str) and i in items)
            refs = [r for r in (items[h] for h in hits) if r]
            out.append(
                FindingInput(
                    fact=fid,
                    status=fv.status,
                    value=hits,
                    unit=None,
                    time=None,
                    reference=refs[0] if refs else None,
                    references=list(refs) if len(refs) > 1 else None,
                )
            )
            continue
        out.append(fv.as_input(_shown(fv.value, full=fid in FULL_INPUTS)))
    return out


EVIDENCE_NOTE = (
    "Shown as a warning, not a critical alert: the evidence behind it is not yet verified against "
    "its source (draft or recalled from memory)."
)


def evidence_checked(kb: KnowledgeBase, statement_ids: list[str]) -> bool:
    """True if any of the statements is checked against its source (verified or approved) and
    rests on a source that was actually read (not memory, not unretrieved). A critical alert needs
    this; otherwise it is shown as a warning."""
    for sid in statement_ids:
        st = kb.statements.get(sid)
        if st is None or not checked(st.status):
            continue
        for cit in st.sources:
            src = kb.sources.get(cit.source)
            if src is not None and src.access != "not-retrieved" and src.verification != "M":
                return True
    return False


def _citations(
    kb: KnowledgeBase, rule: Rule, extra: list[str] | None = None
) -> tuple[list[Citation], str]:
    out = []
    cited = list(dict.fromkeys([*rule.cites, *(extra or [])]))
    status = kb.status_of(cited)
    for sid in cited:
        st = kb.statements.get(sid)
        if st is None:
            continue
        for cit in st.sources:
            out.append(
                Citation(
                    statement=sid,
                    source=cit.source,
                    locator=cit.locator,
                    statement_status=st.status,
                )
            )
    return out, status


def _suggestion(fv: FactValue, description: str) -> str:
    if fv.status == "stale":
        return f"repeat: the latest value is too old ({fv.note})"
    if fv.status == "unparseable":
        return f"check the recorded value ({fv.note})"
    if fv.note and fv.note not in ("the value could not be read",):
        return f"record {description} ({fv.note})"
    return f"record {description}"


@dataclass
class _Missing:
    """A fact some rule lacked, while the rules are evaluated (becomes a :class:`MissingItem`)."""

    status: Status
    suggestion: str
    needed_for: list[str] = field(default_factory=list)

    def item(self, fid: str) -> MissingItem:
        status = None if self.status == "ok" else self.status
        return MissingItem(
            item=fid, status=status, needed_for=self.needed_for, suggestion=self.suggestion
        )


def _clip(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1].rstrip() + "…"


def assess(
    case: Case,
    *,
    kb: KnowledgeBase,
    policy: Policy,
    at: dt.datetime,
    audience: str = "clinician",
) -> Assessment:
    """Evaluate every rule of the knowledge base for ``case`` at time ``at`` under ``policy``."""
    if at.tzinfo is None:
        at = at.replace(tzinfo=dt.UTC)
    case = localize(case, policy)
    facts = build_facts(case, kb=kb, policy=policy, at=at)
    env = _Env(kb, facts, policy, audience)
    ctx = env.context()
    findings: list[Finding] = []
    missing: dict[str, _Missing] = {}
    warnings = list(facts.warnings)

    def need(fid: str, rule_id: str) -> None:
        fv = facts.get(fid)
        if fv.usable:
            return
        fact = kb.facts.get(fid)
        desc = fact.description if fact else fid
        entry = missing.setdefault(fid, _Missing(fv.status, _suggestion(fv, desc)))
        if rule_id not in entry.needed_for:
            entry.needed_for.append(rule_id)

    for rule in sorted(kb.rules.values(), key=lambda r: r.id):
        if rule.status == "retired":
            continue
        tree = _parsed(rule)
        result = evaluate(tree, facts, policy)
        if result is None:
            for fid in unknown_facts(tree, facts, policy):
                need(fid, rule.id)
            continue
        if result is False:
            continue
        for node in walk(tree):
            if isinstance(node, Presence) and node.op in ("missing", "stale"):
                need(node.fact, rule.id)
        template_summary = rule.summary
        template_detail = rule.detail
        if audience == "patient" and rule.patient:
            template_summary = template_detail = rule.patient
        env.lacking.clear()
        summary, err1 = render(template_summary, ctx)
        detail, err2 = render(template_detail, ctx)
        for fid in env.lacking:  # e.g. a dose not computed for want of a weight
            need(fid, rule.id)
        if audience == "patient" and not rule.patient:
            texts = [kb.statements[s].patient for s in rule.cites if s in kb.statements]
            summary = texts[0] if texts else summary
            detail = "\n\n".join(texts) if texts else detail
        for err in (err1, err2):
            if err:
                warnings.append(DataWarning(where=f"rule {rule.id}", field="template", message=err))
        # a computed fact may name the statements and policy values its result rests on
        grounded = [grounds(facts.get(fid).value) for fid in [*facts_used(tree), *rule.inputs]]
        dynamic = [sid for statements, _ in grounded for sid in statements]
        citations, ev_status = _citations(kb, rule, dynamic)
        severity = rule.severity
        # the statements the claim rests on: those the computation names, else the rule's
        if severity == "critical" and not evidence_checked(kb, dynamic or list(rule.cites)):
            severity = "warning"
            detail = f"{EVIDENCE_NOTE}\n\n{detail}"
        extra = [pid for _, policies in grounded for pid in policies]
        pids = list(dict.fromkeys([*policies_used(tree), *rule.policy, *extra]))
        findings.append(
            Finding(
                rule=rule.id,
                kind=rule.kind,
                severity=severity,
                title=rule.title,
                summary=_clip(summary),
                detail=detail,
                citations=citations,
                inputs=_inputs(rule, tree, facts),
                thresholds=[threshold(policy, p) for p in pids if p in policy.values],
                rule_status=rule.status,
                evidence_status=weakest([ev_status, rule.status]),
                suggestion=rule.suggestion,
            )
        )
    findings.sort(key=lambda f: (SEVERITY_ORDER[f.severity], KIND_ORDER[f.kind], f.rule))
    cls = facts.typed("lm-classification", LmClassification)
    risk = facts.typed("nccn-risk-detail", RiskDetail)
    schedules = facts.get("schedules").value
    if not isinstance(schedules, list) or any(
        f.rule in kb.rules and "schedules" in kb.rules[f.rule].withholds for f in findings
    ):
        schedules = []  # no dose calendar (and so no iCalendar export) while such a finding stands
    return Assessment(
        knowledge_version=kb.version,
        policy=PolicyRef.model_validate(policy.describe()),
        evaluated_at=iso(at) or "",
        audience="patient" if audience == "patient" else "clinician",
        input=CaseInput(
            origin=case.origin,
            patient=case.patient_reference,
            resources=case.resource_count,
            # what the user is about to do (facts derived from draft orders, e.g. lp-planned):
            # the questions a face answers first
            planned=sorted(
                fid
                for fid, fact in kb.facts.items()
                if fact.derived_by == "orders" and facts.get(fid).usable and facts.get(fid).value
            ),
        ),
        classification=Classification(
            certainty=cls.certainty, type=cls.type, reasons=cls.reasons, unverified=cls.unverified
        )
        if cls
        else Classification(),
        risk=Risk(
            group=risk.group,
            reasons=risk.reasons,
            provisional=risk.provisional,
            assumptions=risk.assumptions,
        )
        if risk
        else Risk(),
        findings=findings,
        missing=[missing[k].item(k) for k in sorted(missing)],
        warnings=sorted(warnings, key=lambda w: (w.where or "", w.field or "", w.message)),
        schedules=[s for s in schedules if isinstance(s, Schedule)],
        series=series(case, kb=kb, policy=policy, at=at),
    )
