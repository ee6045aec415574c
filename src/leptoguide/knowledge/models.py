"""Typed records of the knowledge base.

Every record type is a strict pydantic model (unknown keys are errors). The JSON Schemas published in
``docs/knowledge-format.md`` and shipped in ``knowledge/schemas/`` are generated from these models, so
the two cannot drift (a test checks it).
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from leptoguide.knowledge.conditions import parse_condition

KEBAB = r"^[a-z0-9]+(-[a-z0-9]+)*$"
Id = Annotated[str, Field(pattern=KEBAB, min_length=2, max_length=80)]

SourceKind = Literal[
    "guideline", "trial", "cohort", "review", "label", "patient-education", "consensus", "other"
]
Access = Literal["full-text", "abstract-only", "secondary-report", "not-retrieved"]
SourceVerification = Literal["V", "R", "M"]
"""How the source record itself was confirmed: V seen in the original, R known from a secondary
report, M not yet confirmed against the original."""
Status = Literal["draft", "verified", "retired"]
"""Status a knowledge file may give a record. ``approved`` is never shipped: it exists only as a
deployment's review decision (``leptoguide.store.reviews``), see ``leptoguide.knowledge.status``."""
StatementKind = Literal["clinical", "claim-check"]
"""``claim-check``: a statement about a named public page's claim and what the primary source says;
shown only when a question is about that claim, never inside an answer or finding on another subject."""
RuleKind = Literal["alert", "recommendation", "workup", "info"]
Severity = Literal["critical", "warning", "info"]
ConceptKind = Literal[
    "observation", "condition", "medication", "procedure", "device", "route", "finding", "term"
]
FactType = Literal["number", "boolean", "code", "string", "datetime", "list", "object"]


class _Record(BaseModel):
    model_config = ConfigDict(
        extra="forbid", frozen=True, str_strip_whitespace=True, defer_build=True
    )


class Source(_Record):
    """A publication, label, web page or guideline that statements cite."""

    id: Id
    kind: SourceKind
    title: str = Field(min_length=3)
    authors: list[str] = Field(default_factory=list)
    journal: str | None = None
    publisher: str | None = None
    year: int | None = Field(default=None, ge=1900, le=2100)
    citation: str | None = None
    doi: str | None = None
    pmid: str | None = None
    pmcid: str | None = None
    url: str | None = None
    published: dt.date | None = None
    review_due: dt.date | None = None
    superseded_by: Id | None = None
    access: Access
    evidence_grading: str | None = None
    verification: SourceVerification
    notes: str | None = None


class SourceCitation(_Record):
    """A pointer from a statement into one source, with where in the source to look."""

    source: Id
    locator: str = Field(min_length=2, description="table, section, page or figure in the source")


class Evidence(_Record):
    level: str | None = None
    grade: str | None = None
    study_type: str | None = None


PIPELINE_WORDS = ("brief", "pipeline", "helper", "seed", "check", "script")
"""Words that mark a process label rather than a person or role; not allowed as a verifier."""


class Verification(_Record):
    """Who checked a statement against the cited passage, when, and exactly what they read."""

    by: str = Field(min_length=3, description="content editor's name or role (not a process label)")
    date: dt.date
    checked: list[SourceCitation] = Field(
        min_length=1, description="the source passages read: source id and exact locator"
    )
    note: str | None = None

    @field_validator("by")
    @classmethod
    def _a_person_or_role(cls, value: str) -> str:
        low = value.lower()
        bad = [w for w in PIPELINE_WORDS if w in low]
        if bad or ("-" in value and " " not in value):
            raise ValueError(
                f"'{value}' looks like a process label, not a content editor's name or role"
            )
        return value


class Statement(_Record):
    """One cited clinical fact, in clinician and in plain-language wording."""

    id: Id
    title: str = Field(min_length=3, max_length=160)
    topics: list[Id] = Field(min_length=1)
    clinician: str = Field(min_length=10)
    patient: str = Field(min_length=10)
    sources: list[SourceCitation] = Field(min_length=1)
    evidence: Evidence = Field(default_factory=Evidence)
    kind: StatementKind = "clinical"
    about_claim: Id | None = Field(
        default=None,
        description="claim-check only: the source id of the public page whose claim is checked",
    )
    status: Status
    verification: Verification | None = None
    conflicts_with: list[Id] = Field(default_factory=list)
    version: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _status_consistent(self) -> Statement:
        if self.status == "verified" and self.verification is None:
            raise ValueError("status 'verified' needs a verification record (by, date, checked)")
        if self.status == "draft" and self.verification is not None:
            raise ValueError("a draft statement cannot carry a verification record")
        if self.verification is not None:
            cited = {c.source for c in self.sources}
            for c in self.verification.checked:
                if c.source not in cited:
                    raise ValueError(f"verification checked '{c.source}', which is not cited")
        if (self.kind == "claim-check") != (self.about_claim is not None):
            raise ValueError("a claim-check statement names about_claim, and only it does")
        return self


class OrderSuggestion(_Record):
    """A suggested change to the orders being placed (a CDS Hooks card suggestion).

    ``delete`` removes each draft order of a ``targets`` concept; ``replace`` removes it and
    creates an order for ``concept``; ``create`` adds an order for ``concept`` (only when one of
    the ``when_not_recorded`` facts is missing, stale or unreadable, if any are listed).
    """

    action: Literal["delete", "create", "replace"]
    label: str = Field(min_length=3, max_length=139)
    targets: list[Id] = Field(
        default_factory=list, description="order concepts a delete or replace acts on"
    )
    concept: Id | None = Field(default=None, description="concept of the order to create")
    when_not_recorded: list[Id] = Field(
        default_factory=list,
        description="facts: suggest the creation only when one is missing, stale or unreadable",
    )
    recommended: bool = False
    cites: list[Id] = Field(default_factory=list, description="statements behind the suggestion")


class Rule(_Record):
    """A declarative decision rule evaluated by the generic engine."""

    id: Id
    title: str = Field(min_length=3)
    kind: RuleKind
    severity: Severity
    hooks: list[str] = Field(
        default_factory=list,
        description="CDS Hooks contexts the rule belongs to (patient-view, order-select, order-sign)",
    )
    orders: list[Id] = Field(
        default_factory=list,
        description="concept ids of orders that make the rule relevant at order-select/order-sign",
    )
    when: dict[str, Any] = Field(description="condition in the LeptoGuide condition language")
    summary: str = Field(min_length=5, description="Jinja2 template; rendered text <= 140 chars")
    detail: str = Field(min_length=5, description="Jinja2 template (Markdown)")
    patient: str | None = Field(default=None, description="optional plain-language template")
    cites: list[Id] = Field(min_length=1)
    policy: list[Id] = Field(default_factory=list)
    inputs: list[Id] = Field(default_factory=list, description="extra facts to report as inputs")
    suggestion: str | None = Field(default=None, description="label of a suggested action")
    suggestion_action: Literal["delete-order", "none"] = "none"
    order_routes: list[Id] = Field(
        default_factory=list,
        description="medication orders make the rule relevant only by these routes "
        "(procedure orders always do)",
    )
    suggestions: list[OrderSuggestion] = Field(
        default_factory=list, description="order changes to suggest on the rule's card"
    )
    selection: Literal["at-most-one", "any"] = Field(
        default="at-most-one", description="CDS Hooks selectionBehavior of the suggestions"
    )
    withholds: list[Literal["schedules"]] = Field(
        default_factory=list,
        description="outputs withheld while this finding stands (schedules: no dose calendar "
        "and no iCalendar export)",
    )
    status: Status = "draft"
    version: int = Field(default=1, ge=1)

    @field_validator("when")
    @classmethod
    def _condition_parses(cls, value: dict[str, Any]) -> dict[str, Any]:
        parse_condition(value)
        return value


PolicyScalar = bool | int | float | str
"""A site-policy value: a number, a yes/no or a word (the parameter's ``type``)."""


class PolicyAlternative(_Record):
    value: PolicyScalar
    statement: Id | None = None
    source: Id | None = None
    note: str | None = None


class PolicyParameter(_Record):
    """A site-configurable value where sources disagree (or where a site must choose)."""

    id: Id
    title: str
    description: str
    unit: str | None = None
    type: Literal["number", "integer", "boolean", "string"] = "number"
    default: PolicyScalar
    statement: Id | None = Field(default=None, description="statement supporting the default")
    source: Id | None = Field(default=None, description="source supporting the default")
    alternatives: list[PolicyAlternative] = Field(default_factory=list)
    minimum: float | None = None
    maximum: float | None = None


class Quantity(_Record):
    amount: float
    unit: str


class DoseBand(_Record):
    """One population band of a dose: who it applies to and how much."""

    label: str
    age_min_days: int | None = Field(default=None, ge=0)
    age_max_days: int | None = Field(default=None, ge=0)
    amount: float | None = Field(default=None, gt=0)
    amount_max: float | None = Field(default=None, gt=0, description="upper end of a dose range")
    unit: str | None = None
    basis: Literal[
        "per-dose",
        "per-kg-per-dose",
        "per-kg-per-day",
        "per-m2-per-dose",
        "per-m2-per-day",
        "per-day",
        "single-dose",
    ] = "per-dose"
    interval_hours: float | None = Field(default=None, gt=0)
    interval_hours_max: float | None = Field(default=None, gt=0)
    max_per_dose: Quantity | None = None
    max_per_day: Quantity | None = None
    first_dose: Quantity | None = None
    duration_days_min: float | None = None
    duration_days_max: float | None = None
    notes: str | None = None
    statements: list[Id] = Field(
        default_factory=list,
        description="statements this band rests on, when narrower than the regimen's statements",
    )


class SchedulePhase(_Record):
    name: str
    times_per_week: float | None = Field(default=None, gt=0)
    every_days: float | None = Field(default=None, gt=0)
    weeks: float | None = Field(default=None, gt=0)
    count: int | None = Field(default=None, gt=0)
    notes: str | None = None


class Fractionation(_Record):
    gy_per_fraction: float = Field(gt=0)
    fractions: int = Field(gt=0)
    notes: str | None = None


class Population(_Record):
    """Who a regimen is written for, beyond the age bands of its doses. A patient outside it is
    never offered the regimen as the recommendation (it may be shown as for another population)."""

    label: str = Field(min_length=3, description="the population in words, e.g. 'adults with HIV'")
    age_min_days: int | None = Field(default=None, ge=0)
    age_max_days: int | None = Field(default=None, ge=0)
    requires_any: list[Id] = Field(
        default_factory=list,
        description="condition concept ids: at least one must be on the patient's active list",
    )
    excludes: list[Id] = Field(
        default_factory=list,
        description="condition concept ids: none may be on the patient's active list",
    )
    creatinine_clearance_min: float | None = Field(default=None, ge=0, description="mL/min")
    creatinine_clearance_max: float | None = Field(default=None, ge=0, description="mL/min")


class Regimen(_Record):
    """A structured schedule or dose formula, cited to statements."""

    id: Id
    title: str
    drugs: list[Id] = Field(default_factory=list, description="medication concept ids")
    indication: str
    route: Id | None = None
    bands: list[DoseBand] = Field(default_factory=list)
    schedule: list[SchedulePhase] = Field(default_factory=list)
    fractionation: Fractionation | None = None
    companions: list[str] = Field(default_factory=list, description="required co-medication")
    group: Id | None = Field(
        default=None,
        description="alternatives for one indication (e.g. tbm, crypto-induction); a fact with the "
        "same regimen_group lists the ones that fit the patient",
    )
    population: Population | None = None
    statements: list[Id] = Field(min_length=1)
    status: Status
    notes: str | None = None


class Coding(_Record):
    system: str
    code: str
    display: str | None = None
    verified: bool = False
    checked_in: str | None = None


class NarrativeOutcome(_Record):
    """One reading of a report: the value it gives when its signals hold (first match wins)."""

    value: str = Field(min_length=1, description="a value of the concept's value_set")
    affirmed: list[str] = Field(
        default_factory=list, description="signals that must all be stated as present"
    )
    negated: list[str] = Field(
        default_factory=list, description="signals that must all be stated as absent"
    )
    uncertain: list[str] = Field(
        default_factory=list, description="signals of which one is stated as possible/uncertain"
    )
    absent: list[str] = Field(
        default_factory=list, description="signals that must not be stated as present"
    )


class Narrative(_Record):
    """How a concept's value is read from report text (DiagnosticReport, free-text Observation)."""

    reports: list[str] = Field(
        min_length=1,
        description=(
            "words in a report's or Observation's code or category text that say it can hold "
            "this concept (MRI, cytology, flow study, molecular pathology)"
        ),
    )
    context_reports: list[str] = Field(
        default_factory=list,
        description=(
            "words of report kinds that may mention this concept without being its report (a "
            "CSF cell count or chemistry report commented 'no malignant cells'): such a mention "
            "is quoted in a warning, never read as a value"
        ),
    )
    scope: list[str] = Field(
        min_length=1, description="phrases that make a sentence about this concept"
    )
    signals: dict[str, list[str]] = Field(
        description="signal name -> phrases; each occurrence gets a ConText assertion category"
    )
    outcomes: list[NarrativeOutcome] = Field(min_length=1)
    detail: str | None = Field(
        default=None,
        description="regular expression whose first group is kept as a detail (a block level)",
    )
    mask: list[str] = Field(
        default_factory=list,
        description=(
            "phrases that take their words without being a signal ('atypical lymphocytes' in a "
            "cell count is not the cytology signal 'atypical')"
        ),
    )
    comments: bool = Field(
        default=False,
        description=(
            "also read from the comments (note) and interpretation text of a result whose code "
            "text names one of the report words (a CSF white cell count commented 'mostly "
            "lymphocytes')"
        ),
    )
    shares: dict[str, list[str]] = Field(
        default_factory=dict,
        description=(
            "percentage concept -> names of what it counts: '85% neutrophils', 'lymphocytes: "
            "80%' or 'mostly lymphocytes (80%)' in the text give that concept 85 or 80 (%); a "
            "sentence that writes shares both before and after the names is not read"
        ),
    )
    words: dict[str, list[str]] = Field(
        default_factory=dict,
        description=(
            "named word lists; a scope or signal phrase may write <name> for any word of the "
            "list ('<often> neutrophils' with often: [mostly, mainly] is 'mostly neutrophils' "
            "and 'mainly neutrophils')"
        ),
    )

    @model_validator(mode="after")
    def _known_words(self) -> Narrative:
        phrases = [
            *self.scope,
            *(p for ps in (*self.signals.values(), *self.shares.values()) for p in ps),
        ]
        for phrase in phrases:
            for name in _WORD_REF.findall(phrase):
                if name not in self.words:
                    raise ValueError(f"phrase '{phrase}' names the word list <{name}>, not defined")
        return self

    def expand(self, phrase: str) -> list[str]:
        """Every phrase ``phrase`` stands for, each <name> replaced by each word of its list."""
        out = [phrase]
        while any(_WORD_REF.search(p) for p in out):
            nxt: list[str] = []
            for p in out:
                m = _WORD_REF.search(p)
                if m is None:
                    nxt.append(p)
                    continue
                nxt.extend(p[: m.start()] + w + p[m.end() :] for w in self.words[m.group(1)])
            out = nxt
        return out


_WORD_REF = re.compile(r"<([a-z][a-z0-9-]*)>")


class Implication(_Record):
    """A result that establishes a condition (a positive CSF cryptococcal antigen: cryptococcal
    meningitis). The reader adds the condition, quoting the result, unless it is already recorded."""

    condition: Id = Field(description="the condition concept the result establishes")
    values: list[str] = Field(
        default_factory=list,
        description="result values that establish it ('positive'; 'true' for a yes/no result)",
    )
    above: float | None = Field(
        default=None, description="a numeric result above this (in the concept's unit) does too"
    )
    contains: list[str] = Field(
        default_factory=list,
        description="a text result naming one of these (case-insensitive; an organism) does too",
    )


class Concept(_Record):
    """A terminology concept the FHIR reader and the retriever understand."""

    id: Id
    kind: ConceptKind
    display: str
    codes: list[Coding] = Field(default_factory=list)
    synonyms: list[str] = Field(default_factory=list)
    unit: str | None = None
    value_set: list[str] | None = None
    classes: list[Id] = Field(default_factory=list)
    text_excludes: list[str] = Field(
        default_factory=list,
        description=(
            "words or phrases that, when a free text contains them, mean the text is NOT this "
            "concept (e.g. oral dose forms for an intravenous-only concept); free text only"
        ),
    )
    detectable: bool = Field(
        default=False,
        description=(
            "for a quantity: a result word ('not detected', 'detected') is a result of it (an HIV "
            "viral load 'Not detected' is false); for other quantities (platelets, glucose) such "
            "a word is not a value and is kept as unreadable"
        ),
    )
    narrative: Narrative | None = Field(
        default=None, description="how the value is read from narrative report text"
    )
    implies: list[Implication] = Field(
        default_factory=list,
        description="conditions a result of this concept establishes (laboratory diagnosis)",
    )


LexiconRole = Literal[
    "negation-before",
    "negation-after",
    "possible-before",
    "possible-after",
    "hypothetical-before",
    "hypothetical-after",
    "historical-before",
    "family-before",
    "pseudo-cue",
    "scope-end",
    "strength-unit",
    "dose-form",
    "unit-dose-form",
    "count-unit",
    "result-positive",
    "result-negative",
    "specimen",
]


class Lexicon(_Record):
    """A word list the free-text matcher uses (negation cues, dose forms, units): data, not code."""

    id: Id
    role: LexiconRole = Field(
        description=(
            "ConText assertion cues: negation-, possible-, hypothetical-, historical-, "
            "family-before (cue governs the phrases after it in the same clause) and -after "
            "(phrases before it); pseudo-cue: a phrase that contains a cue word but is no cue "
            "('no change', 'gram negative'); scope-end: word that ends a cue's reach; "
            "strength-unit: unit word removed after a number; dose-form: word removed before "
            "matching a product name; unit-dose-form: a product form one unit of which is one "
            "dose (tablet, prefilled syringe); count-unit: a dose unit that counts such units "
            "('1 syringe', '2 tablets'); result-positive / result-negative: a laboratory result "
            "text that means detected / not detected ('reactive', 'no growth'); specimen: words "
            "naming one specimen, the first being its name: a panel whose name says it (a CSF "
            "cell count) gives it to components named without it ('Neutrophils' is 'CSF "
            "neutrophils')"
        )
    )
    description: str
    terms: list[str] = Field(min_length=1)


VocabularyRole = Literal[
    "scope",
    "scope-concepts",
    "scope-kinds",
    "filler",
    "same-as",
    "variants",
    "clarify",
    "red-flag",
    "red-flag-context",
    "personal",
    "not-personal",
    "outside",
    "intent",
    "frequency",
    "taking",
    "next-steps",
    "answered-by",
    "slot",
    "population",
    "value-words",
]


class Vocabulary(_Record):
    """How people word questions (lay terms, shorthand, intended meanings, warning signs): data.

    Read by the question answerer (``leptoguide.answer``), never by the chart reader. Terms are
    matched at word boundaries, ignoring case, except one- and two-letter terms and terms that are
    also function words ("IT", "BM", "OP"), which match only as written.
    """

    id: Id
    role: VocabularyRole = Field(
        description=(
            "scope: words or phrases that place a question in LeptoGuide's domain; scope-concepts: "
            "terminology concept ids that do; scope-kinds: concept kinds whose concepts do; "
            "filler: everyday words that carry no topic (ignored by the evidence check); same-as: "
            "the terms mean `means` (shorthand, lay words, common misspellings); variants: the "
            "terms are other forms of one another (a group); clarify: the terms name something "
            "people often confuse with the domain: the answer states `statements` first and also "
            "answers `means`; red-flag: warning signs described now: the answer starts with "
            "`statements` (seek urgent care); red-flag-context: who the warning signs are in "
            "(someone with cancer or LM): when a question with warning signs names one of the "
            "terms and none of `unless`, its `statements` are the urgent-care source instead; "
            "personal: the question asks for a personal diagnosis, "
            "prognosis or treatment decision; not-personal: phrases that look personal but are "
            "not; outside: topics next to the domain that LeptoGuide does not cover (other spine "
            "disorders, obstetric anaesthesia, other uses of the domain's drugs): a question "
            "about one is answered only when a statement names it and covers the question; "
            "intent: a question the assessment engine can compute when it carries patient "
            "values (`case` is added to the values read, `rules` are the findings that answer); "
            "frequency: ways of writing a dosing frequency, `means` is the case-file code; "
            "taking: words next to a drug's name that say the patient is on it (`means`: "
            "'before' for words written before the name, 'after' for words written after it), "
            "so the drug is read as a medication of the case even without a dose; "
            "next-steps: `statements` offered to patients as what to ask their care team; "
            "answered-by: a patient question worded like the terms (when to call the team, what "
            "to ask it) is answered by `statements`: the first of them the search reached leads, "
            "wherever it ranks; "
            "slot: names that fill the same place of a question (organisms and causes of "
            "meningitis): a follow-up that names one ('what about Listeria?') replaces the one "
            "the earlier question named; population: words naming who a question or a statement "
            "is about, `means` the group (adult, child, infant, newborn; none for words that only "
            "replace the earlier population in a follow-up: pregnant, older, women); "
            "value-words: how people write a patient value in a question (`means`: 'link' for "
            "words between a value's name and its number, 'came back at', 'down to'; 'negation' "
            "for words before a drug that say the patient is not on it, 'not on', 'no'; 'below' "
            "and 'above' for words that make a number a bound, 'less than', 'over'; 'csf-<field>' "
            "for names of a CSF result, 'csf-wbc': 'white cells', 'wcc')"
        )
    )
    description: str
    terms: list[str] = Field(min_length=1)
    means: str | None = Field(
        default=None,
        description="same-as and clarify: what the terms are taken to mean; intent: its label",
    )
    statements: list[Id] = Field(
        default_factory=list,
        description=(
            "clarify, red-flag and red-flag-context: statements stated first; next-steps: "
            "offered; answered-by: lead a patient answer"
        ),
    )
    case: dict[str, Any] | None = Field(
        default=None, description="intent: case-file fields added to the values read"
    )
    rules: list[Id] = Field(
        default_factory=list, description="intent: rules whose findings answer, best first"
    )
    needs_values: bool = Field(
        default=True, description="intent: only when the question carries at least one value"
    )
    unless: list[str] = Field(
        default_factory=list,
        description=(
            "intent: not when the question also contains one of these words (another condition "
            "than the one the intent's case describes: 'TB' for bacterial-meningitis dosing); "
            "red-flag-context: not when the question also names one of these warning signs "
            "(meningitis signs keep the meningitis urgent-care statement); "
            "red-flag: general wordings ('can ... be a sign of'): a question naming one asks in "
            "general, and its signs count only when it also speaks of someone now (the `also` "
            "words of the red-flag entries: I, my, she, the baby, the patient) or lists them in "
            "a clause of their own ('stiff neck and fever, can ... be a sign of meningitis?'); "
            "personal: the question asks in general after all (a clinician's 'my pt', a "
            "question about the hours after a procedure); outside: the question names the "
            "domain's own use of the topic, so it is not outside; "
            "same-as terms with '...': not read when the question already names the place in "
            "words another entry reads ('brain coverings') or names another place ('lining ... "
            "stomach', where '...' stands for a few other words)"
        ),
    )
    from_values: bool = Field(
        default=False,
        description=(
            "intent: also taken when the question names no intent but is nothing except values "
            "this intent reads ('plt 35 INR 1.2', 'apixaban 5 bd last dose 10pm'); the answer "
            "says how the question was read"
        ),
    )
    checks_drugs: list[Id] = Field(
        default_factory=list,
        description=(
            "intent: regimens whose drugs the engine checks for this intent (e.g. the LP hold "
            "classes); a drug read from the question that none of them lists, or a drug name the "
            "terminology does not know, is reported as not checked, never as clear"
        ),
    )
    audience: Literal["clinician", "patient"] | None = Field(
        default=None,
        description=(
            "red-flag-context: the answers this entry's urgent-care source is written for (the "
            "care team's contact advice for patients, the treatment timeline for clinicians); "
            "none: every audience"
        ),
    )
    also: list[str] = Field(
        default_factory=list,
        description=(
            "intent, clarify, red-flag and personal: the question must also contain one of these "
            "words (if any given); in red-flag, personal and same-as terms, '...' stands for up "
            "to six other words within one sentence"
        ),
    )


class UnitDef(_Record):
    """One unit of a unit group: its UCUM code, its factor to the group's base, other spellings."""

    unit: str = Field(min_length=1, description="UCUM code, case-sensitive")
    factor: float = Field(gt=0, description="value in the base unit = value in this unit x factor")
    aliases: list[str] = Field(
        default_factory=list, description="other spellings met in real data (matched ignoring case)"
    )
    case_sensitive: list[str] = Field(
        default_factory=list,
        description=(
            "spellings matched only exactly, case included, where another case means another unit "
            "(UCUM: G/L is giga per litre, g/L grams per litre)"
        ),
    )


class UnitGroup(_Record):
    """Units of one kind of quantity that convert by a constant factor (data, not code)."""

    id: Id
    title: str
    base: str = Field(min_length=1, description="UCUM code of the base unit (factor 1)")
    units: list[UnitDef] = Field(min_length=1)
    concepts: list[Id] = Field(
        default_factory=list,
        description="if set, the group applies only to these concepts (substance-specific factors)",
    )
    implicit: bool = Field(
        default=False, description="a value with no unit is taken to be in the base unit"
    )
    source: str | None = Field(default=None, description="where the factors come from")


class Fact(_Record):
    """A named case fact rules may read, and where it comes from."""

    id: Id
    type: FactType
    unit: str | None = None
    description: str
    derived_by: str | None = Field(
        default=None, description="name of the engine computation that derives it, if any"
    )
    concept: Id | None = Field(default=None, description="terminology concept it is read from")
    regimen_group: Id | None = Field(
        default=None, description="derived_by regimen-selection: the regimen group it selects from"
    )
    sticky: list[str | bool] = Field(
        default_factory=list,
        description=(
            "values that stand once recorded (a diagnostic result such as positive cytology): a "
            "later different value does not replace them; other facts use the latest value"
        ),
    )


class Topic(_Record):
    """Currency of one clinical topic, as a reader expects to see it (literature date, update date)."""

    id: Id
    title: str = Field(min_length=3)
    literature_reviewed_through: dt.date = Field(
        description="the literature for this topic was searched up to this date"
    )
    last_updated: dt.date = Field(description="the last change to this topic's statements")
    scope: str | None = None


class TableCitation(_Record):
    """Where a table row comes from: a statement of the knowledge base and one of its source
    citations (the loader checks that the statement cites that source at that locator)."""

    statement: Id
    source: Id
    locator: str = Field(min_length=2, description="as in the statement's citation of the source")


def _parses(value: dict[str, Any] | None) -> dict[str, Any] | None:
    if value is not None:
        parse_condition(value)
    return value


class ScoreFeature(_Record):
    """One row of a scoring table: when its condition holds, the outcomes it names gain points."""

    id: Id
    group: Id | None = Field(
        default=None,
        description="rows sharing a group are alternatives: only the first that holds counts",
    )
    when: dict[str, Any] = Field(description="condition in the LeptoGuide condition language")
    points: dict[Id, int] = Field(min_length=1, description="outcome -> points it gains")
    reason: str = Field(min_length=3, description="why (placeholders: see Tables)")
    reasons: dict[Id, str] = Field(
        default_factory=dict, description="outcome -> its own reason, where it differs"
    )
    sets: dict[Id, str] = Field(
        default_factory=dict, description="profile values this row sets when it holds"
    )
    cites: list[TableCitation] = Field(min_length=1)

    _when = field_validator("when")(_parses)


class ScoreTable(_Record):
    """A pattern-scoring table (the CSF pattern match): features give outcomes points; the outcome
    with the most points is the pattern, a tie is indeterminate."""

    id: Id
    title: str = Field(min_length=3)
    outcomes: list[Id] = Field(min_length=2, description="the outcomes, in the order ties list")
    listed_from: int = Field(
        ge=1, description="an outcome is listed in the differential from this score"
    )
    decisive: int = Field(
        ge=1, description="a score at or above this is never read as a normal profile"
    )
    normal: dict[str, Any] = Field(
        description="condition under which the values are normal (no outcome being decisive)"
    )
    normal_outcome: str = "normal"
    tie_outcome: str = "indeterminate"
    features: list[ScoreFeature] = Field(min_length=1)
    status: Status = "draft"

    _normal = field_validator("normal")(_parses)


class Lookup(_Record):
    """A table-local name read from a fact through a value map (MRI pattern -> EANO-ESMO type)."""

    id: Id
    fact: Id
    map: dict[str, str] = Field(min_length=1)
    cites: list[TableCitation] = Field(min_length=1)


class ClassificationResult(_Record):
    certainty: Literal["confirmed", "probable", "possible", "lacking_evidence", "not_applicable"]
    type: str | None = Field(
        default=None, description="text with placeholders; no type when a placeholder is missing"
    )


class ClassificationStep(_Record):
    """One step of a classification table, read in order: when it holds its reason is added; a
    step with a result ends the classification."""

    when: dict[str, Any] | None = Field(default=None, description="absent: always holds")
    reason: str = Field(min_length=3)
    result: ClassificationResult | None = None
    unverified: bool = Field(
        default=False, description="the cell rests on an unverified statement (said in the reason)"
    )
    cites: list[TableCitation] = Field(min_length=1)

    _when = field_validator("when")(_parses)


class ClassificationTable(_Record):
    """A classification read as an ordered list of steps (the EANO-ESMO LM matrix)."""

    id: Id
    title: str = Field(min_length=3)
    lookups: list[Lookup] = Field(default_factory=list)
    steps: list[ClassificationStep] = Field(min_length=1)
    unverified_note: str = Field(
        min_length=3, description="appended ('; ' + note) to the reason of an unverified step"
    )
    status: Status = "draft"

    @model_validator(mode="after")
    def _always_decides(self) -> ClassificationTable:
        last = self.steps[-1]
        if last.when is not None or last.result is None:
            raise ValueError("the last step must have no 'when' and a 'result'")
        return self


class KnowledgeManifest(_Record):
    version: str = Field(pattern=r"^\d+\.\d+\.\d+$")
    name: str = "LeptoGuide knowledge base"
    released: dt.date | None = None


RECORD_TYPES: dict[str, type[_Record]] = {
    "sources": Source,
    "statements": Statement,
    "rules": Rule,
    "parameters": PolicyParameter,
    "regimens": Regimen,
    "concepts": Concept,
    "facts": Fact,
    "units": UnitGroup,
    "lexicons": Lexicon,
    "vocabulary": Vocabulary,
    "topics": Topic,
    "scores": ScoreTable,
    "classifications": ClassificationTable,
}
"""Top-level YAML key -> record model. The directory a file lives in does not matter."""
