"""Derived facts: which computation makes which facts, and in which order they run.

Each computation declares the facts it **reads** and **writes**. The run order is derived from
those declarations (a computation runs after every computation that writes a fact it reads), so no
hand-kept list can fall out of step; a cycle, a fact written by two computations, or a knowledge
fact whose ``derived_by`` names no computation is an error when the engine loads (not a silently
wrong order). ``writes_declared`` means "and the facts the knowledge base declares with
``derived_by: <name>``" (for computations whose outputs are knowledge data, such as the hours since
a named procedure). The tests run every computation over the scenario charts and check that each
reads and writes only what it declares.

Observation facts (``derived_by`` absent, ``observation`` or ``lab``) are read from the case first;
computations then run in the derived order.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pydantic import BaseModel

from leptoguide.assessment import AntithromboticTiming, Schedule
from leptoguide.case import Case
from leptoguide.engine import (
    antithrombotic,
    classification,
    csf,
    dosing,
    intrathecal,
    orders,
    risk,
    schedule,
)
from leptoguide.engine.facts import observation_fact
from leptoguide.engine.types import (
    Computation,
    Context,
    CsfProfile,
    Facts,
    ItOrderChecks,
    LmClassification,
    RegimenChoice,
    RiskDetail,
    aware,
    observations_by_concept,
)
from leptoguide.engine.zones import localize
from leptoguide.errors import KnowledgeError, Problem
from leptoguide.knowledge.loader import KnowledgeBase
from leptoguide.knowledge.tables import table_reads
from leptoguide.memo import once_per
from leptoguide.policy import Policy

OBSERVED = (None, "observation", "lab")
"""``derived_by`` values of facts read straight from the case."""


class DerivationError(Exception):
    """The computation declarations cannot be ordered (a defect in this package, not in input)."""


@dataclass(frozen=True)
class Step:
    """One computation with the facts it reads and writes."""

    name: str
    run: Computation
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    writes_declared: bool = False
    always: bool = False
    """Run even when no knowledge fact names it (its facts feed the list-valued rule inputs)."""
    types: tuple[tuple[str, type[BaseModel]], ...] = ()
    """Facts whose value is a typed model (rule templates read its fields), with that model."""
    items: tuple[tuple[str, type[BaseModel]], ...] = ()
    """Facts whose value is a list of a typed model (templates loop over it), with that model."""
    declared_type: type[BaseModel] | None = None
    """The model of the ``type: object`` facts the knowledge base declares with ``derived_by:
    <name>`` (``writes_declared``)."""
    tables: tuple[tuple[str, str], ...] = ()
    """Knowledge tables it applies, as (record type, id): the facts they read are its reads too."""


STEPS: tuple[Step, ...] = (
    Step("age", orders.derive_age, writes=("age-days", "age-years"), always=True),
    Step(
        "lists",
        orders.derive_lists,
        writes=(
            "conditions",
            "devices",
            "it-medications",
            "medications",
            "procedures-done",
            "procedures-planned",
        ),
        always=True,
    ),
    Step(
        "orders",
        orders.derive_orders,
        reads=("it-medications", "procedures-planned"),
        writes=("it-planned", "lp-planned"),
        always=True,
    ),
    Step(
        "known-cancer",
        orders.derive_known_cancer,
        reads=(
            "conditions",
            "csf-cytology",
            "it-planned",
            "lp-planned",
            "mri-lm-pattern",
            "typical-lm-signs",
        ),
        writes=("csf-cytology-samples", "haematological-cancer-only", "known-cancer", "lm-context"),
    ),
    Step(
        "antibiotic-timing",
        orders.derive_antibiotic_timing,
        writes=("antibiotic-given", "hours-since-first-antibiotic", "lp-hours-after-antibiotic"),
    ),
    Step("procedure-timing", orders.derive_procedure_timing, writes_declared=True),
    Step(
        "csf-profile",
        csf.derive,
        reads=(
            "csf-culture",
            "csf-cytology",
            "csf-glucose",
            "csf-gram-stain",
            "csf-lymphocytes-pct",
            "csf-neutrophils-pct",
            "csf-protein",
            "csf-rbc",
            "csf-wbc",
            "known-cancer",
            "serum-glucose",
        ),
        writes=("csf-glucose-ratio", "csf-pattern", "csf-profile", "csf-wbc-corrected"),
        types=(("csf-profile", CsfProfile),),
        tables=(("scores", csf.TABLE),),
    ),
    Step(
        "eano-classification",
        classification.derive,
        reads=(
            "csf-cytology",
            "haematological-cancer-only",
            "known-cancer",
            "lm-context",
            "mri-lm-pattern",
            "typical-lm-signs",
        ),
        writes=("lm-certainty", "lm-classification", "lm-type"),
        types=(("lm-classification", LmClassification),),
        tables=(("classifications", classification.TABLE),),
    ),
    Step(
        "nccn-risk",
        risk.derive,
        reads=(
            "bulky-cns-disease",
            "conditions",
            "ecog",
            "encephalopathy",
            "karnofsky",
            "lm-context",
            "major-neurological-deficits",
            "systemic-disease",
            "systemic-options",
        ),
        writes=("nccn-poor-features", "nccn-risk", "nccn-risk-detail"),
        types=(("nccn-risk-detail", RiskDetail),),
    ),
    Step(
        "it-safety",
        intrathecal.derive,
        reads=("age-days",),
        writes=("it-dose-above-range", "it-dose-unchecked", "it-never-event", "it-order-checks"),
        types=(("it-order-checks", ItOrderChecks),),
    ),
    Step(
        "antithrombotic",
        antithrombotic.derive,
        writes=("lp-antithrombotic-status", "lp-antithrombotics"),
        types=(("lp-antithrombotics", AntithromboticTiming),),
    ),
    Step(
        "dosing",
        dosing.derive,
        reads=("age-days", "age-years", "conditions"),
        writes=("empiric-regimen",),
    ),
    Step(
        "regimen-selection",
        dosing.derive_selection,
        reads=("age-days", "conditions", "creatinine-clearance"),
        writes_declared=True,
        declared_type=RegimenChoice,
    ),
    Step(
        "schedule",
        schedule.derive,
        reads=("it-medications",),
        writes=("schedules",),
        items=(("schedules", Schedule),),
    ),
)


def output_types(kb: KnowledgeBase | None = None) -> dict[str, type[BaseModel]]:
    """Fact id -> the model its value is, for every computation output templates read by field
    (with ``kb``: also the object facts it declares for a computation with a ``declared_type``)."""
    out = {fid: model for step in STEPS for fid, model in step.types}
    for step in STEPS:
        if step.declared_type is not None and kb is not None:
            for fact in kb.facts.values():
                if fact.derived_by == step.name and fact.type == "object":
                    out[fact.id] = step.declared_type
    return out


def item_types() -> dict[str, type[BaseModel]]:
    """Fact id -> the model of its items, for every computation output that is a list of models."""
    return {fid: model for step in STEPS for fid, model in step.items}


def _writes(step: Step, kb: KnowledgeBase | None) -> set[str]:
    out = set(step.writes)
    if step.writes_declared and kb is not None:
        out |= {f.id for f in kb.facts.values() if f.derived_by == step.name}
    return out


def _reads(step: Step, kb: KnowledgeBase | None) -> set[str]:
    out = set(step.reads)
    if kb is None:
        return out
    for key, tid in step.tables:
        table = getattr(kb, key).get(tid)
        if table is not None:
            out |= set(table_reads(table))
    return out


def order(steps: tuple[Step, ...] = STEPS, kb: KnowledgeBase | None = None) -> list[Step]:
    """The steps in an order where every fact is written before it is read (ties: as declared).

    Raises DerivationError on a cycle or on a fact written by two steps.
    """
    writer: dict[str, str] = {}
    for step in steps:
        for fid in _writes(step, kb):
            if fid in writer and writer[fid] != step.name:
                raise DerivationError(
                    f"fact {fid!r} is written by both {writer[fid]!r} and {step.name!r}"
                )
            writer[fid] = step.name
    after: dict[str, set[str]] = {
        s.name: {writer[f] for f in _reads(s, kb) if f in writer and writer[f] != s.name}
        for s in steps
    }
    done: list[Step] = []
    left = list(steps)
    while left:
        ready = [s for s in left if after[s.name] <= {d.name for d in done}]
        if not ready:
            names = ", ".join(f"{s.name} (needs {', '.join(sorted(after[s.name]))})" for s in left)
            raise DerivationError(f"computations depend on each other in a cycle: {names}")
        done.append(ready[0])
        left.remove(ready[0])
    return done


_PLANS: dict[int, tuple[Step, ...]] = {}


def _plan(kb: KnowledgeBase) -> tuple[Step, ...]:
    """The steps this knowledge base needs, in run order (worked out once per knowledge base)."""
    return once_per(_PLANS, id(kb), lambda: _make_plan(kb), kb)


def check_knowledge(kb: KnowledgeBase) -> list[Problem]:
    """Facts whose ``derived_by`` names no computation (``leptoguide kb validate`` reports them)."""
    known = {s.name for s in STEPS} | set(OBSERVED)
    problems = [
        Problem(
            f"{kb.origin.get(('facts', f.id), 'facts')} record '{f.id}'",
            "derived_by",
            f"no computation named {f.derived_by!r}; known: "
            + ", ".join(sorted(n for n in known if n)),
        )
        for f in sorted(kb.facts.values(), key=lambda f: f.id)
        if f.derived_by not in known
    ]
    used = {f.derived_by for f in kb.facts.values()}
    for step in STEPS:
        for key, tid in step.tables:
            if step.name in used and tid not in getattr(kb, key):
                problems.append(
                    Problem(
                        key,
                        "id",
                        f"computation {step.name!r} applies the {key} table {tid!r}, which the "
                        "knowledge base does not have",
                    )
                )
    return problems


def _make_plan(kb: KnowledgeBase) -> tuple[Step, ...]:
    problems = check_knowledge(kb)
    if problems:
        raise KnowledgeError(problems)
    ordered = order(STEPS, kb)
    wanted = {f.derived_by for f in kb.facts.values() if f.derived_by} | {
        s.name for s in STEPS if s.always
    }
    writer = {fid: s.name for s in ordered for fid in _writes(s, kb)}
    stack = list(wanted)
    while stack:  # a wanted step also needs the steps that write what it reads
        name = stack.pop()
        step = next((s for s in ordered if s.name == name), None)
        for fid in _reads(step, kb) if step else ():
            dep = writer.get(fid)
            if dep and dep not in wanted:
                wanted.add(dep)
                stack.append(dep)
    return tuple(s for s in ordered if s.name in wanted)


def build_facts(case: Case, *, kb: KnowledgeBase, policy: Policy, at: dt.datetime) -> Facts:
    """Every fact declared in the knowledge base, for this case at time ``at``."""
    case = localize(case, policy)  # times written without a zone: one rule (engine.zones)
    ctx = Context(case=case, at=aware(at) or at, policy=policy, kb=kb)
    facts = Facts()
    for w in case.warnings:
        facts.warn(w.where, w.message, w.field)
    lab_age = (
        float(policy.get("lab-max-age-hours")) if "lab-max-age-hours" in policy.values else None
    )
    by_concept = observations_by_concept(case)
    for fact in sorted(kb.facts.values(), key=lambda f: f.id):
        if fact.concept and fact.derived_by in OBSERVED:
            fv = observation_fact(
                fact,
                ctx,
                lab_age if fact.derived_by == "lab" else None,
                by_concept.get(fact.concept, ()),
            )
            facts.set(fv)
            if fv.status in ("unparseable", "stale"):
                facts.warn(fv.reference or fact.id, f"{fact.id}: {fv.note}", "value")
    for step in _plan(kb):
        step.run(ctx, facts)
    return facts


order()  # declarations that cannot be ordered fail at import, not in the middle of an assessment
