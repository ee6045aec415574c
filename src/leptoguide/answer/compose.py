"""Compose a cited answer from retrieved statements. No clinical sentence here is invented.

Answer first: the lead is one to three sentences taken from the best statements exactly as the
knowledge base words them (so numbers and drug names are the statements' own), each with its [n]
citations. Then the supporting points (the statements, one bullet each), then "sources disagree"
only when the question reached both sides of a recorded disagreement. Draft statements appear only
when no reviewed statement answers as well, and are marked. Statements resting only on recalled or
unread sources come last. Ingested passages come after the statements, labelled "not reviewed".
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from leptoguide.answer.index import Document, Passage
from leptoguide.answer.result import Audience, Citation
from leptoguide.answer.retrieve import Hit
from leptoguide.answer.settings import SETTINGS
from leptoguide.answer.text import (
    STOPWORDS,
    Populations,
    content_tokens,
    split_sentences,
    tokens,
)

if TYPE_CHECKING:
    from leptoguide.knowledge.loader import KnowledgeBase
    from leptoguide.knowledge.models import Statement

STATUS_NOTE = {
    "draft": "draft: not yet checked against its source",
    "in_review": "in review: not yet approved",
}
PASSAGE_STATUS = "not reviewed"


@dataclass
class Composition:
    markdown: str
    citations: list[Citation]
    statements: list[str]
    passages: list[str]
    support: dict[int, str] = field(default_factory=dict)
    plain: str = ""
    warnings: list[str] = field(default_factory=list)
    lead: str = ""


PATIENT_TOPIC = "patient-education"
REVIEWED = frozenset({"approved", "verified"})
"""Statement statuses that count as checked (anything else is shown only as a last resort)."""


def is_reviewed(st: Statement) -> bool:
    return st.status in REVIEWED


def is_recalled(kb: KnowledgeBase, st: Statement) -> bool:
    """Every source of the statement was recalled from memory or not retrieved (not read)."""
    srcs = [kb.sources.get(c.source) for c in st.sources]
    return bool(srcs) and all(
        s is None or s.verification == "M" or s.access == "not-retrieved" for s in srcs
    )


def fits(
    text: str, asked: frozenset[str], populations: Populations, title: str | None = None
) -> bool:
    """Whether a statement's ``text`` is about the population the question asks about: a question
    naming a population (adults, children, newborns) wants a statement about it or about no one in
    particular; a question naming none is not led by a statement only about children or newborns,
    as its ``title`` says when given (a statement listing the paediatric value beside another one
    is not only about children)."""
    named = populations.named(title if title is not None and not asked else text)
    if not named:
        return True
    if asked:
        return bool(named & asked)
    return "adult" in named


def select_statements(
    hits: Sequence[Hit],
    kb: KnowledgeBase,
    top_k: int,
    audience: Audience = "clinician",
    min_relative: float | None = None,
    aspects: Sequence[Aspect] = (),
    on_topic: Callable[[Statement], int] | None = None,
    subject: Callable[[Statement], int] | None = None,
) -> list[str]:
    """The best-supported statements: the top hit plus those covering nearly as much of the question.

    Patient-education statements are written for patients: a patient answer puts a well-supported
    one first, a clinician answer leaves them out unless nothing else qualifies. A draft is left out
    when a reviewed statement covers the question at least as well. Statements resting only on
    recalled or unread sources go last.
    """
    usable = [h for h in hits if h.key in kb.statements]
    if not usable:
        return []

    # the statement that covers most of the question leads (ties keep the retrieval order)
    # (a statement that gives what the question asks for, a dose or a time, goes first on a tie)
    def gives(hit: Hit) -> bool:
        st = kb.statements[hit.key]
        text = f"{st.title}. {st.patient if audience == 'patient' else st.clinician}"
        return any(a.form.search(text) for a in aspects)

    if on_topic is not None:
        # statements about what the question asks (its population, the drug it names) before
        # those about something else, in retrieval order within each group
        usable = [h for h in usable if on_topic(kb.statements[h.key])] + [
            h for h in usable if not on_topic(kb.statements[h.key])
        ]
    if subject is not None:
        # among those, statements whose subject is the drug asked about come before those that
        # name it in passing ("thiotepa ... as salvage after methotrexate" for a methotrexate
        # question); the order is otherwise kept
        ranks = {
            id(h): (
                0 if on_topic is not None and not on_topic(kb.statements[h.key]) else 1,
                subject(kb.statements[h.key]),
            )
            for h in usable
        }
        usable = sorted(usable, key=lambda h: (-ranks[id(h)][0], -ranks[id(h)][1]))
    order = {id(h): i for i, h in enumerate(usable)}

    def head_first(pool: list[Hit]) -> list[Hit]:
        # a statement naming the population asked ("infants" for a 5-month-old) is a candidate
        # wherever it ranks
        named = [
            h
            for h in pool[SETTINGS.head_pool :]
            if on_topic is not None and on_topic(kb.statements[h.key]) == 2
        ]
        top = max(
            pool[: SETTINGS.head_pool] + named,
            key=lambda h: (round(h.coverage / SETTINGS.coverage_step), gives(h), -order[id(h)]),
        )
        return [top] + [h for h in pool if h is not top]

    usable = head_first(usable)
    min_relative = SETTINGS.min_relative if min_relative is None else min_relative
    best = max(h.coverage for h in usable[:3])
    qualified = [usable[0]] + [
        h for h in usable[1:] if h.coverage > 0 and h.coverage >= min_relative * best
    ]

    def for_patients(hit: Hit) -> bool:
        return PATIENT_TOPIC in kb.statements[hit.key].topics

    # a draft is weighed against the reviewed statements this audience will be shown that are
    # about what the question asks as much as it is (a checked statement about another drug
    # does not answer a question about this one: "does it need leucovorin rescue?")
    seen = [h for h in qualified if audience == "patient" or not for_patients(h)]

    def topical(hit: Hit) -> bool:
        return on_topic is None or bool(on_topic(kb.statements[hit.key]))

    reviewed_facts: dict[bool, set[str]] = {}
    reviewed_best: dict[bool, float] = {}
    for side in (True, False):
        peers = [h for h in seen if is_reviewed(kb.statements[h.key]) and topical(h) == side]
        reviewed_facts[side] = _facts(
            " ".join(
                f"{kb.statements[h.key].clinician} {kb.statements[h.key].patient}" for h in peers
            )
        )
        reviewed_best[side] = max((h.coverage for h in peers), default=-1.0)

    def draft_adds(hit: Hit) -> bool:
        """A draft stays when it answers better than every reviewed statement, or states a
        fact (a number) that no reviewed statement here states; it is then marked."""
        st = kb.statements[hit.key]
        side = topical(hit)
        if hit.coverage > reviewed_best[side] + 1e-9:
            return True
        return bool(_facts(f"{st.clinician} {st.patient}") - reviewed_facts[side])

    answering = [h for h in qualified if is_reviewed(kb.statements[h.key]) or draft_adds(h)]
    if SETTINGS.drop_drafts and answering:
        # when the best-covering hit was a draft left out, the head is chosen again
        qualified = head_first(answering) if answering[0] is not qualified[0] else answering

    if audience != "patient":
        clinical = [h for h in qualified if not for_patients(h)]
        chosen = (clinical or qualified)[:top_k]
    else:
        # a patient-education statement goes first when it covers the question as well as the
        # best statement; every statement has a patient wording, so one that answers better leads
        top = max((h.coverage for h in qualified[:5]), default=0.0)
        pool = [
            h
            for h in qualified[:5]
            if for_patients(h) and h.coverage >= top - SETTINGS.coverage_step - 1e-9
        ]
        head = sorted(
            pool,
            key=lambda h: (
                -h.coverage
                * (1.0 if is_reviewed(kb.statements[h.key]) else SETTINGS.draft_lead_weight)
            ),
        )[:1]
        qualified = head + [h for h in qualified if h not in head]
        # patient wordings of neighbouring statements often say the same thing: show it once
        kept: list[Hit] = []
        for hit in qualified:
            words = set(content_tokens(kb.statements[hit.key].patient))
            if all(
                _jaccard(words, set(content_tokens(kb.statements[k.key].patient)))
                < SETTINGS.duplicate_overlap
                for k in kept
            ):
                kept.append(hit)
        chosen = kept[:top_k]
    head_hit, rest = chosen[:1], chosen[1:]
    rest.sort(key=lambda h: is_recalled(kb, kb.statements[h.key]))
    return [h.key for h in head_hit + rest]


_ID_LIKE = re.compile(r"\b[a-z0-9]+(?:-[a-z0-9]+)+\b")


def without_ids(kb: KnowledgeBase, text: str) -> str:
    """``text`` with references to other statements by id replaced by their titles: readers see
    no internal ids."""

    def title(m: re.Match[str]) -> str:
        st = kb.statements.get(m.group(0))
        return f"“{st.title.rstrip('.')}”" if st is not None else m.group(0)

    return _ID_LIKE.sub(title, text)


def _facts(text: str) -> set[str]:
    """Numbers with their unit word ("12 hours", "2 g"): what a statement states as fact."""
    return {
        f"{m.group(1)} {m.group(2).lower()}"
        for m in re.finditer(r"(\d+(?:[.,]\d+)?)\s*([A-Za-z%/]+)", text)
    }


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def _excerpt(text: str, limit: int = 360) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit]
    stop = max(cut.rfind(". "), cut.rfind("; "))
    return (cut[: stop + 1] if stop > limit // 2 else cut.rsplit(" ", 1)[0]) + " …"


class _Citer:
    def __init__(self, kb: KnowledgeBase, today: dt.date | None) -> None:
        self.kb = kb
        self.today = today
        self.citations: list[Citation] = []
        self.support: dict[int, str] = {}

    def statement(self, st: Statement, text: str) -> str:
        marks = []
        for cit in st.sources:
            src = self.kb.sources.get(cit.source)
            n = len(self.citations) + 1
            self.citations.append(
                Citation(
                    n=n,
                    source=cit.source,
                    statement=st.id,
                    title=src.title if src else cit.source,
                    locator=cit.locator,
                    status=st.status,
                    flags=tuple(self.kb.source_flags(cit.source, self.today)),
                )
            )
            self.support[n] = f"{st.title}. {st.clinician} {st.patient}"
            marks.append(f"[{n}]")
        return "".join(marks)

    def passage(self, passage: Passage, doc: Document) -> str:
        n = len(self.citations) + 1
        parts = [doc.path.rsplit("/", 1)[-1]]
        if passage.page is not None:
            parts.append(f"page {passage.page}")
        if passage.section:
            parts.append(f"section '{passage.section}'")
        self.citations.append(
            Citation(
                n=n,
                source=doc.id,
                passage=f"{doc.id}#{passage.seq + 1}",
                title=doc.title,
                locator=", ".join(parts),
                status=PASSAGE_STATUS,
            )
        )
        self.support[n] = passage.text
        return f"[{n}]"


Aliases = tuple[tuple[tuple[tuple[str, ...], ...], frozenset[str]], ...]
"""(a phrase as the question wrote it: the stems of each of its parts, in order; the stems of
what it was read as)."""


@dataclass
class Lead:
    """Where the answer starts: statements to put first, in this order."""

    urgent: list[str] = field(default_factory=list)
    """Warning-sign statements: "seek urgent care now" comes before anything else."""
    clarify: list[str] = field(default_factory=list)
    """Statements that correct what the question assumes ("not leptomeningeal")."""
    extra: list[str] = field(default_factory=list)
    """Best statements for another meaning of the question (answered as well)."""
    terms: list[str] = field(default_factory=list)
    """The question's content words (to pick the sentence that answers)."""
    weights: dict[str, float] = field(default_factory=dict)
    """Weight of each question word (idf); words without a weight count 1."""
    retrieved: frozenset[str] = frozenset()
    """Statements retrieval reached: a disagreement is shown when both sides are among them."""
    next_steps: list[str] = field(default_factory=list)
    """Patient answers: statements with questions to ask the care team."""
    aspects: tuple[Aspect, ...] = ()
    """What the question asks for (a dose, a time, ...): a sentence that gives it leads."""
    on_topic: Callable[[Statement], int] | None = None
    """Whether a statement is about what the question asks (its population, the drug it names):
    one that is not leads only when none is."""
    subject: Callable[[Statement], int] | None = None
    """Whether a statement is about the drug the question asks about (2: its title names that
    drug first; 1: its title names no drug; 0: its title names the drug after another one, in
    passing): among statements that are on topic, the one about the drug leads."""
    prefer: Callable[[Statement], bool] | None = None
    """Whether a statement names the patient group the question names: among statements that
    are about what is asked, one that does leads."""
    aliases: Aliases = ()
    """The question's shorthand and lay words with what they were read as: a sentence that
    uses the words as written ("spinal tap") gives what they mean ("lumbar puncture")."""
    policy: PolicyChoice | None = None
    """The site-policy choice the question touches: its value leads, the alternatives follow."""
    own: dict[str, float] = field(default_factory=dict)
    """A follow-up's own words (and their weights): a statement that has more of them leads
    ("and the DEBBRAH cohort?" after a question on another study)."""
    title_aliases: Aliases = ()
    """Every other name of each terminology concept the question names, with the question's
    words for it: a title naming the concept by another name counts as naming them."""
    topic: str | None = None
    """In a follow-up, the earlier question's topic (its heaviest word that names a
    terminology concept): a statement that does not name it does not lead while one does."""
    why: bool = False
    """A patient question asking why: the sentence after the lead's best one (the reason) joins
    the lead."""
    answered_by: str | None = None
    """The statement that answers this kind of patient question (vocabulary role
    'answered-by': when to call the team, what to ask it): it leads wherever it ranks."""


@dataclass(frozen=True)
class PolicyChoice:
    """A site-policy choice the question touches: the site's value and the statement behind
    it (which leads), and the other sources' values with theirs (shown next to it)."""

    title: str
    value: str
    statement: str | None
    alternatives: tuple[tuple[str, str], ...] = ()
    """(value, statement) of each other source's value."""
    overridden: bool = False


URGENT_LABEL = {"clinician": "Urgent:", "patient": "Seek urgent care now."}
DISAGREE_LABEL = {
    "clinician": "**Sources disagree here; each position is shown with its own citation.**",
    "patient": "**Experts do not all agree on this point.**",
}


@dataclass(frozen=True)
class Aspect:
    """Something a question asks for (a dose, a time, a threshold, a rate) and the form of a
    sentence that gives it: such a sentence leads."""

    name: str
    cue: re.Pattern[str]
    form: re.Pattern[str]


_NUM = r"\d+(?:[.,]\d+)?(?:\s*(?:-|to|–)\s*\d+(?:[.,]\d+)?)?"
_WORD_NUM = (
    r"\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|a few|a couple of|"
    r"several)(?:\s+(?:or|to)\s+(?:two|three|four|five|six|seven|eight|nine|ten|twelve))?"
    r"|\ban(?= hour)"
)
"""A number in words, as patient wordings write it ("within one hour", "two to three weeks")."""
ASPECTS = (
    Aspect(
        "dose",
        re.compile(r"\b(doses?|dosing|dosage|how much|regimen)\b", re.I),
        re.compile(_NUM + r"\s*(mg|g|mcg|µg|micrograms?|units?|mmol|ml)\b", re.I),
    ),
    Aspect(
        "time",
        re.compile(
            r"\b(how long|how soon|how quick(ly)?|how fast|how many (days|hours|weeks|months)|"
            r"duration|"
            r"timing|hold|held|stop|stopped|withh\w+|restart\w*|window|when)\b",
            re.I,
        ),
        re.compile(
            rf"({_NUM}|{_WORD_NUM})\s*(minutes?|min|hours?|h|days?|weeks?|months?|years?)\b", re.I
        ),
    ),
    Aspect(
        "frequency",
        re.compile(r"\bhow often\b.{0,30}\b(given|taken|done|repeated)\b|\bfrequency\b", re.I),
        re.compile(
            r"\b(once|twice|three times|daily|weekly|monthly|every \d+|a week|per week)\b", re.I
        ),
    ),
    Aspect(
        "value",
        re.compile(r"\b(count|level|ratio)\b", re.I),
        re.compile(r"\d"),
    ),
    Aspect(
        "threshold",
        re.compile(
            r"\b(threshold|cut-?off|minimum|maximum|min|max|acceptable|needed|limits?|"
            r"(below|above|under|over) what)\b",
            re.I,
        ),
        re.compile(
            r"\b(at least|at most|below|above|under|over|less than|more than|fewer than|"
            r"greater than|up to|not more than|no more than|maximum|minimum|max|min|cut-?off|"
            r"threshold|exceed\w*|limit\w*|caps?)\b[^.;]{0,40}?\d"
            r"|[<>≤≥]\s*\d"
            r"|\d[^.;]{0,30}?\bor (more|less|higher|lower|above|below|fewer|greater)\b",
            re.I,
        ),
    ),
    Aspect(
        "rate",
        re.compile(
            r"\b(how common|how often|how many|rate|incidence|yield|sensitivity|survival|"
            r"proportion|outcomes?|percent\w*)\b",
            re.I,
        ),
        re.compile(r"\d\s*%|\bin every\b|\b\d+ (of|in) \d+\b|\d+(\.\d+)? months", re.I),
    ),
    Aspect(
        "way",
        re.compile(
            r"^\W*how (does|do|is|are|did|can|will|would)\b.{0,60}\b(get|gets|got|go|goes|given|"
            r"give|spread|spreads|reach|reaches|put|travel|travels)\b",
            re.I,
        ),
        re.compile(
            r"\b(through|by an?|via|in the blood|travel\w*|spreads? (from|through|along))\b", re.I
        ),
    ),
    Aspect(
        "likelihood",
        re.compile(r"\b((more|less|how) likely|likelihood|chances?|odds)\b", re.I),
        re.compile(
            r"\d\s*%|\b\d+ (of|in) \d+\b|\b(one|two|three|four|five|six|seven|eight|nine|ten) "
            r"(of|in) (every )?(\d+|ten|a hundred)\b|\b(more|less) (common|often)\b",
            re.I,
        ),
    ),
    Aspect(
        "meaning",
        re.compile(
            r"(^|[.?!]\s+)\W*(what is|what's|what are)\b|\bwhat does (it|that|this) mean\b"
            r"|\bmeaning\b"
            r"|\bwhat (is|are|was) (it|that|this|they) called\b|\bwhat do (you|they|doctors) "
            r"call\b|\b(the )?(proper|medical) (name|word|term)\b",
            re.I,
        ),
        re.compile(r"\b(is called|are called|means|is short for|is an?|are the)\b", re.I),
    ),
)
"""What a question can ask for, and how a sentence that answers it looks (docs/qa.md)."""


_MEANING_TERM = re.compile(
    r"(?:^|[.?!:]\s+|,\s+)\W*(?:so\s+|and\s+|but\s+)?what(?:\s+is|'s|\s+are)\s+"
    r"(?:an?\s+)?(?P<a>(?!(?:the|your|my|his|her|their|its|it|that|this|they|these|those|"
    r"there|a|an|meant)\b)[^?.!,;]{1,40}?)\s*(?:\?|$|[.!])"
    r"|\bwhat does\s+(?:the\s+|this\s+|that\s+)?(?:(?:word|term)\s+)?"
    r"(?P<b>(?!(?:it|that|this|she|he|they)\b)[^?.!,;]{1,40}?)"
    r"(?:\s+(?:part|bit|word|bit of it))?\s+(?:actually\s+|really\s+)?mean\b"
    r"|\bwhat is meant by\s+(?P<c>[^?.!,;]{1,40}?)\s*(?:\?|$|[.!])",
    re.I,
)
"""A question asking what a named word or test means ("what is type D?", "what does cytology
mean?", "so what's an Ommaya?"): the word is the one the answer should define."""
_MEANING_FORM = (
    r"[^.;:]{0,30}?\b(means?|is an?|is the|are the|are an?|is when|is called|are called|"
    r"refers to|is short for|stands for|shows?)\b"
)


def meaning_aspect(question: str) -> Aspect | None:
    """The "what does <word> mean" aspect of ``question``: a sentence that defines the word
    asked about ("Type D means ...", "... is called cytology") gives it; a sentence that only
    defines something else does not. None when the question names no word to define (or a
    phrase longer than three words, which asks about something rather than for a meaning)."""
    m = _MEANING_TERM.search(question)
    if m is None:
        return None
    term = next(g for g in m.groups() if g)
    words = re.findall(r"[\w-]+", term.strip("\"'“”‘’ "))
    if not words or len(words) > 3:
        return None
    t = r"\s+".join(re.escape(w) for w in words)
    return Aspect(
        "meaning",
        ASPECTS[-1].cue,
        re.compile(rf"\b{t}\b{_MEANING_FORM}|\b(called|named|known as)\s+(an?\s+)?{t}\b", re.I),
    )


def asked_aspects(question: str) -> tuple[Aspect, ...]:
    """The aspects ``question`` asks for (none for a plain "what is" question)."""
    return tuple(a for a in ASPECTS if a.cue.search(question))


_TREATMENT = (
    r"(treat\w*|therap\w*|course|continu\w*|go(es)? on|last\w*|given|giving|take|taken|chemo\w*|"
    r"injections?|infusions?|doses?|drugs?|medicines?|medications?|antibiotics?|abx|regimens?|"
    r"intrathecal|IT|radiotherapy|steroids?|tablets?|pills?|taps?|LPs?|lumbar punctures?|"
    r"scans?|MRIs?)"
)
"""Words of a question about a treatment or a test (English cue words; a question naming a drug
of the terminology counts too): "how often" then asks for a schedule, not a rate."""
ANSWER_TYPES = (
    Aspect(
        "schedule",
        re.compile(
            r"\bschedul\w*|\bhow many times\b|\bintervals?\b|\bq\?|\bfrequency\b"
            rf"|\bhow often\b.{{0,60}}\b{_TREATMENT}\b|\b{_TREATMENT}\b.{{0,60}}\bhow often\b",
            re.I,
        ),
        re.compile(
            r"\b(once|twice|three times|thrice|daily|weekly|fortnightly|monthly|every \d+|"
            r"every (other|second|third)|a week|per week|each week|a day|per day|a month|"
            r"days? \d+(?:, \d+)* and \d+)\b",
            re.I,
        ),
    ),
    Aspect(
        "duration",
        re.compile(
            rf"\bhow long\b(?!\s+(after|before|until|ago)\b).{{0,60}}\b{_TREATMENT}\b"
            rf"|\b{_TREATMENT}\b.{{0,60}}\bhow long\b(?!\s+(after|before|until|ago)\b)"
            r"|\bduration\b|\bfor how long\b|\bhow many (days|weeks|months)\b",
            re.I,
        ),
        re.compile(
            _NUM + r"\s*(-\s*)?(days?|weeks?|months?|years?)\b"
            r"|\b(one|two|three|four|five|six|seven|eight|nine|ten|twelve) (days?|weeks?|months?|"
            r"years?)\b|\bfor life\b|\blifelong\b",
            re.I,
        ),
    ),
    Aspect(
        "classification",
        re.compile(
            r"\b(classif\w*|class|categor\w*|grade|grading|stage|staging|criteria|"
            r"which group|what group|risk group)\b",
            re.I,
        ),
        re.compile(
            r"\b(type [IVX]+|types? [A-D]\b|grade \d|class(?:ed|ified|ifies|ification)?|"
            r"categor\w+|probable|possible|confirmed|definite|good[- ]risk|poor[- ]risk|"
            r"criteria|defined as|requires?)\b",
            re.I,
        ),
    ),
)
"""What kind of answer a question wants beyond a number (docs/qa.md "Composition"): a schedule
("how often", "schedule"), a duration of treatment ("how long ... treated") or a classification
("which category", "EANO class?"). A sentence of that form leads. The cue words are English;
nothing here is clinical."""


def answer_types(question: str, names_drug: bool = False) -> tuple[Aspect, ...]:
    """The kinds of answer ``question`` wants (a schedule, a duration, a classification). A
    question that names a drug (``names_drug``) and asks "how often" wants its schedule."""
    types = tuple(a for a in ANSWER_TYPES if a.cue.search(question))
    if names_drug and _HOW_OFTEN.search(question) and ANSWER_TYPES[0] not in types:
        types = (ANSWER_TYPES[0], *types)
    return types


_HOW_OFTEN = re.compile(r"\bhow often\b", re.I)


def lead_aspects(question: str, names_drug: bool = False) -> tuple[Aspect, ...]:
    """Everything the lead should give: the numbers asked for (``asked_aspects``) and the kind
    of answer (``answer_types``). A question asking for a treatment's schedule does not also
    ask for a rate ("how often is IT methotrexate given")."""
    types = answer_types(question, names_drug)
    numbers = asked_aspects(question)
    if any(a.name == "schedule" for a in types):
        numbers = tuple(a for a in numbers if a.name not in ("rate", "frequency"))
    return numbers + types


class FollowUpAsking:
    """What a question asks for, by the names of ``lead_aspects`` (a question in a conversation
    is taken to name its drug: "and how often?" after an IT trastuzumab question asks for the
    schedule), and a question without the cue words of some of them (for follow-ups that ask
    for something else than the earlier question: ``conversation.contextualize``)."""

    def asks(self, text: str) -> frozenset[str]:
        return frozenset(a.name for a in lead_aspects(text, names_drug=True))

    def without(self, text: str, names: frozenset[str]) -> str:
        for aspect in (*ASPECTS, *ANSWER_TYPES):
            if aspect.name in names:
                text = aspect.cue.sub(" ", text)
        return re.sub(r"\s+", " ", text).strip()


DRUG_CUE = re.compile(
    r"\b(which|what)\b(?:\s+[\w-]+){0,3}?\s+(antibiotics?|abx|drugs?|medicines?|medications?|"
    r"antifungals?|antivirals?|chemo\w*|steroids?|agents?|regimens?|pills?|tablets?)\b"
    r"|\bempiric\b|\bfirst[- ]line\b|\bdrug of choice\b",
    re.I,
)
"""A question asking which drug (English cue words; the drugs themselves are terminology data)."""
_DRUG_ASPECTS: dict[tuple[str, ...], Aspect] = {}


def drug_aspect(question: str, drug_names: Sequence[str]) -> Aspect | None:
    """The "which drug" aspect when ``question`` asks which drug and asks for no number: a
    sentence that names a drug (one of ``drug_names``, the terminology's medication names)
    gives it."""
    if not DRUG_CUE.search(question) or asked_aspects(question):
        return None
    key = tuple(sorted({n.lower() for n in drug_names if len(n) >= 4}))
    if not key:
        return None
    if key not in _DRUG_ASPECTS:
        names = "|".join(re.escape(n) for n in sorted(key, key=len, reverse=True))
        _DRUG_ASPECTS[key] = Aspect("drug", DRUG_CUE, re.compile(rf"\b({names})\b", re.I))
    return _DRUG_ASPECTS[key]


def _aspect_bonus(sentence: str, aspects: Sequence[Aspect], weights: dict[str, float]) -> float:
    if not aspects or not any(a.form.search(sentence) for a in aspects):
        return 0.0
    return SETTINGS.aspect_weight * max(weights.values(), default=1.0)


COMMON_SENTENCE_MIN = 3
"""A sentence that this many statements repeat word for word is a gloss, not an answer."""
_COMMON: dict[tuple[str, str], frozenset[str]] = {}


def common_sentences(kb: KnowledgeBase, audience: Audience) -> frozenset[str]:
    """Sentences that at least ``COMMON_SENTENCE_MIN`` statements repeat in this audience's
    wording (computed once per knowledge version)."""
    key = (kb.version, audience)
    if key not in _COMMON:
        counts: dict[str, int] = {}
        for st in kb.statements.values():
            text = st.patient if audience == "patient" else st.clinician
            for sentence in set(split_sentences(text or "")):
                counts[sentence] = counts.get(sentence, 0) + 1
        _COMMON[key] = frozenset(s for s, n in counts.items() if n >= COMMON_SENTENCE_MIN)
    return _COMMON[key]


_ANAPHOR = re.compile(r"^\W*(this|that|these|those|it|they|such|both|then)\b", re.I)
"""A sentence that starts by pointing back needs the sentence before it."""


_SUFFIXES = ("ations", "ation", "ings", "ing", "ed", "es", "al", "us", "s", "e")
"""English word endings dropped before words are compared ("cured" and "cure", "fungal" and
"fungus", "doses" and "dose" are the same word to the lead)."""


def _stem(word: str) -> str:
    """A light stem: a common ending dropped (a doubled final consonant undone), then the first
    five letters."""
    w = word.lower()
    for suffix in _SUFFIXES:
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: -len(suffix)]
            if suffix in ("ed", "ing") and len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiou":
                w = w[:-1]
            break
    return w[:5]


def aliases_of(meanings: Sequence[tuple[str, str]]) -> Aliases:
    """The question's shorthand and lay phrases (``Understanding.meanings``: as written, what
    it means) as stems, so that a sentence using the written words counts as using the words
    they mean, once: a patient sentence saying "spinal tap" gives "lumbar puncture"."""
    out: list[tuple[tuple[tuple[str, ...], ...], frozenset[str]]] = []
    for wrote, means in meanings:
        parts = tuple(
            tuple(_stem(w) for w in _words(part)) for part in wrote.split("...") if _words(part)
        )
        written = {w for part in parts for w in part}
        meant = frozenset(_stem(w) for w in content_tokens(means))
        if parts and meant - written:
            out.append((parts, meant))
    return tuple(out)


def concept_aliases(names: Iterable[tuple[str, Sequence[str]]]) -> Aliases:
    """(the question's name of a concept, the concept's other names) as aliases: a text
    naming the concept by another name ("LM") counts as using the question's words for it
    ("neoplastic meningitis")."""
    out: list[tuple[tuple[tuple[str, ...], ...], frozenset[str]]] = []
    for asked, others in names:
        meant = frozenset(_stem(w) for w in content_tokens(asked))
        for other in others:
            stems = tuple(_stem(w) for w in _words(other))
            if stems and meant - set(stems):
                out.append(((stems,), meant))
    return tuple(out)


def _words(text: str) -> list[str]:
    """The words of ``text`` in order, function words left out ("cancer in the spinal fluid":
    cancer, spinal, fluid)."""
    return [t for t in tokens(text) if t not in STOPWORDS]


def _has_phrase(stems: Sequence[str], parts: tuple[tuple[str, ...], ...]) -> bool:
    """Whether each part occurs, words together and parts in order, in ``stems``."""
    at = 0
    for part in parts:
        n = len(part)
        found = next(
            (i for i in range(at, len(stems) - n + 1) if tuple(stems[i : i + n]) == part), -1
        )
        if found < 0:
            return False
        at = found + n
    return True


def _sentence_score(sentence: str, weights: dict[str, float], aliases: Aliases = ()) -> float:
    stems = {_stem(w) for w in content_tokens(sentence)}
    if aliases:
        sequence = [_stem(w) for w in _words(sentence)]
        for parts, meant in aliases:
            if _has_phrase(sequence, parts):
                stems |= meant
    return sum(w for term, w in weights.items() if _stem(term) in stems)


def lead_share(text: str, weights: dict[str, float], aliases: Aliases = ()) -> float:
    """The idf-weighted share of the question's words that ``text`` contains."""
    total = sum(weights.values())
    return _sentence_score(text, weights, aliases) / total if total else 0.0


def best_sentences(
    text: str,
    terms: Sequence[str],
    weights: dict[str, float] | None = None,
    aspects: Sequence[Aspect] = (),
    common: frozenset[str] = frozenset(),
    aliases: Aliases = (),
    why: bool = False,
) -> tuple[list[str], list[str]]:
    """The lead sentences of ``text`` (and the rest of it).

    The first sentence usually states the point; when a later sentence shares more of the
    question's (idf-weighted) words, it follows the first. A short sentence is followed by the
    next one. ``common`` sentences (glosses many statements repeat, "CSF is the fluid around the
    brain and spine.") say nothing of this statement's own: they lead only when nothing else
    does. A question asking why (``why``) wants the reason, which patient wordings give next to
    the sentence that matches the question ("... even if the MRI already shows signs of LM. The
    fluid test can confirm LM."): the sentences up to the best one, then the one after it, join
    the lead (at most ``lead_max_sentences``).
    """
    sentences = split_sentences(text)
    if not sentences:
        return [], []
    wts = dict(weights or {})
    for term in terms:
        wts.setdefault(term, 1.0)

    scores = [_sentence_score(s, wts, aliases) + _aspect_bonus(s, aspects, wts) for s in sentences]
    own = [i for i, s in enumerate(sentences) if s not in common] or list(range(len(sentences)))
    first = own[0]
    chosen = [first]
    best = max(own, key=lambda i: (scores[i], -i)) if wts else first
    if best != first and scores[best] > scores[first]:
        chosen.append(best)
        if best - 1 not in chosen and best - 1 in own and _ANAPHOR.match(sentences[best]):
            chosen.append(best - 1)  # "This is called equivocal" needs what "this" is
    if why:
        # the sentences between the first and the best one first (the lead reads on), then the
        # one after the best
        top = best if best in chosen else first
        for nxt in [i for i in own if first < i < top] + [top + 1]:
            if nxt in own and nxt not in chosen and len(chosen) < SETTINGS.lead_max_sentences:
                chosen.append(nxt)
    # short sentences (patient wording) are followed by the next ones until the lead says enough
    for nxt in own:
        if (
            len(chosen) >= SETTINGS.lead_max_sentences
            or sum(len(sentences[i].split()) for i in chosen) >= SETTINGS.lead_short_words
        ):
            break
        if nxt > first and nxt not in chosen:
            chosen.append(nxt)
    lead = [sentences[i] for i in sorted(chosen)]
    rest = [s for i, s in enumerate(sentences) if i not in chosen]
    return lead, rest


OWN_STEP = 0.25
"""A follow-up's own words: a statement holding more of their weight, by this step, leads."""


def lead_statement(
    candidates: Sequence[Statement],
    text_of: object,
    weights: dict[str, float],
    aspects: Sequence[Aspect] = (),
    on_topic: Callable[[Statement], int] | None = None,
    prefer: Callable[[Statement], bool] | None = None,
    aliases: Aliases = (),
    own: dict[str, float] | None = None,
    subject: Callable[[Statement], int] | None = None,
    topic: str | None = None,
    title_aliases: Aliases = (),
) -> Statement | None:
    """Among the best few statements, the one that answers most of the question: its best
    sentence plus its title (``SETTINGS.title_weight`` x the title's shared words), idf-weighted; ties go
    to the better-ranked statement. A statement about something else than the question asks
    (another population, another drug: ``on_topic``) leads only when none is about it."""
    assert callable(text_of)
    best: tuple[int, int, bool, int, bool, float, int] | None = None
    chosen: Statement | None = None
    # a follow-up keeps the earlier question's topic: a statement naming the population it
    # asks about counts as more on topic only when it also names that topic (``topic``: "and
    # the cut-off in adults?" after a GCS question is not led by an adult platelet cut-off),
    # and among equals one that names the topic leads
    said = [{_stem(w) for w in content_tokens(f"{st.title}. {text_of(st)}")} for st in candidates]
    anchor = _stem(topic) if topic and any(_stem(topic) in words for words in said) else None
    for rank, st in enumerate(candidates):
        topical = 1 if on_topic is None else int(on_topic(st))
        if topical == 2 and anchor is not None and anchor not in said[rank]:
            topical = 1
        score = max(
            (
                _sentence_score(s, weights, aliases) + _aspect_bonus(s, aspects, weights)
                for s in split_sentences(text_of(st))
            ),
            default=0.0,
        )
        if not is_reviewed(st):
            score *= SETTINGS.draft_lead_weight  # a checked statement leads unless clearly beaten
        # (a title naming a concept of the question by another of its names, "LM" for
        # "neoplastic meningitis", names what the question asks about: ``title_aliases``)
        score += SETTINGS.title_weight * _sentence_score(
            st.title, weights, (*aliases, *title_aliases)
        )
        key = (
            topical,
            1 if subject is None else subject(st),
            prefer is not None and prefer(st),
            round(lead_share(f"{st.title}. {text_of(st)}", own) / OWN_STEP) if own else 0,
            anchor is None or anchor in said[rank],
            score,
            -rank,
        )
        if best is None or key > best:
            best, chosen = key, st
    return chosen


def policy_line(kb: KnowledgeBase, choice: PolicyChoice, cite: Callable[[Statement], str]) -> str:
    """The line "Site policy: <choice>: <value> [n]; other sources: <value> [m]"."""

    def marked(value: str, sid: str | None) -> str:
        st = kb.statements.get(sid or "")
        return f"{value} {cite(st)}" if st is not None else value

    own = " (site setting)" if choice.overridden else ""
    line = f"**Site policy:** {choice.title}: {marked(choice.value, choice.statement)}{own}"
    others = [marked(v, sid) for v, sid in choice.alternatives]
    if others:
        line += f"; other sources: {', '.join(others)}"
    return line + "."


def compose(
    kb: KnowledgeBase,
    statement_ids: Sequence[str],
    audience: Audience,
    passages: Sequence[tuple[Passage, Document]] = (),
    today: dt.date | None = None,
    lead: Lead | None = None,
) -> Composition:
    """Markdown answer, lead first, with [n] citations from the given statements and passages."""
    lead = lead or Lead()
    citer = _Citer(kb, today)
    common = common_sentences(kb, audience)
    chosen = [kb.statements[s] for s in statement_ids if s in kb.statements]

    def text_of(st: Statement) -> str:
        return without_ids(kb, st.patient if audience == "patient" else st.clinician)

    def note_of(st: Statement) -> str:
        note = STATUS_NOTE.get(st.status)
        return f" *({note})*" if note else ""

    marks: dict[str, str] = {}

    def cite(st: Statement) -> str:
        if st.id not in marks:
            marks[st.id] = citer.statement(st, text_of(st))
        return marks[st.id]

    shown: list[Statement] = []

    def show(st: Statement) -> None:
        if st not in shown:
            shown.append(st)

    lines: list[str] = []
    urgent_parts: list[str] = []
    # 1. warning signs: urgent care first, whatever else is answered
    for sid in lead.urgent:
        st = kb.statements.get(sid)
        if st is None:
            continue
        show(st)
        urgent_parts.append(f"**{URGENT_LABEL[audience]}** {text_of(st)} {cite(st)}{note_of(st)}")
        lines.append(urgent_parts[-1])
        lines.append("")
    # 2. the lead: corrections of what the question assumes, then the answer itself
    lead_parts: list[str] = []
    rest_of: dict[str, list[str]] = {}
    for sid in lead.clarify:
        st = kb.statements.get(sid)
        if st is None:
            continue
        show(st)
        first, _rest = best_sentences(text_of(st), [])
        lead_parts.append(" ".join(first[:1]) + f" {cite(st)}")
    answering = [st for st in chosen if st.id not in lead.clarify]
    pool = answering[: SETTINGS.lead_pool]
    if lead.on_topic is not None:
        # a statement naming the population asked ("in kids?" after a schedule question) is a
        # lead candidate wherever it is shown: the population steers the lead, the topic carries
        pool += [st for st in answering[SETTINGS.lead_pool :] if lead.on_topic(st) == 2]
    head = lead_statement(
        pool,
        text_of,
        lead.weights or {t: 1.0 for t in lead.terms},
        lead.aspects,
        lead.on_topic,
        lead.prefer,
        lead.aliases,
        lead.own,
        lead.subject,
        lead.topic,
        lead.title_aliases,
    )
    answers = kb.statements.get(lead.answered_by or "")
    if answers is not None and answers in answering:
        head = answers  # the statement written for this kind of question leads
    policy_st = kb.statements.get(lead.policy.statement or "") if lead.policy else None
    if policy_st is not None and policy_st in answering and lead.policy is not None:
        # the question touches a site-policy choice: the site's value leads, unless the lead
        # chosen already takes part in the disagreement, or the site's statement is a draft and
        # the lead chosen is checked (the policy line below still gives the site's value)
        sides = {lead.policy.statement} | {sid for _v, sid in lead.policy.alternatives}
        if head is None or not (
            set(head.conflicts_with) & sides or (is_reviewed(head) and not is_reviewed(policy_st))
        ):
            head = policy_st
    main = [head] if head is not None else []
    heads = main + [kb.statements[s] for s in lead.extra if s in kb.statements]
    for st in heads:
        if len(lead_parts) >= SETTINGS.lead_max_sentences or st in shown:
            continue
        sentences, rest = best_sentences(
            text_of(st), lead.terms, lead.weights, lead.aspects, common, lead.aliases, lead.why
        )
        if not sentences:
            continue
        show(st)
        rest_of[st.id] = rest
        lead_parts.append(" ".join(sentences) + f" {cite(st)}{note_of(st)}")
    # a second statement's sentence joins the lead when it answers nearly as well
    wts = lead.weights or {t: 1.0 for t in lead.terms}
    if lead.policy is not None and head is policy_st and len(lead_parts) < 3:
        # ... and for a site-policy choice, the best-answering other source's value follows it
        alternatives = [
            kb.statements[sid]
            for _value, sid in lead.policy.alternatives
            if sid in kb.statements and kb.statements[sid] in answering
        ]
        options = [
            (_sentence_score(s, wts) + _aspect_bonus(s, lead.aspects, wts), -rank, i, st, s)
            for rank, st in enumerate(alternatives)
            if st not in shown
            for i, s in enumerate(split_sentences(text_of(st)))
            if s not in common
        ]
        if options:
            _score, _r, i, st, sentence = max(options, key=lambda o: (o[0], o[1], -o[2]))
            show(st)
            rest_of[st.id] = [s for j, s in enumerate(split_sentences(text_of(st))) if j != i]
            lead_parts.append(f"{sentence} {cite(st)}{note_of(st)}")
    if head is not None and len(lead_parts) == len(lead.clarify) + 1 and wts:
        head_best = max(
            (
                _sentence_score(s, wts, lead.aliases) + _aspect_bonus(s, lead.aspects, wts)
                for s in split_sentences(text_of(head))
            ),
            default=0.0,
        )
        options = [
            (
                _sentence_score(s, wts, lead.aliases) + _aspect_bonus(s, lead.aspects, wts),
                -rank,
                i,
                st,
                s,
            )
            for rank, st in enumerate(pool)
            if st is not head and st not in shown and (lead.on_topic is None or lead.on_topic(st))
            for i, s in enumerate(split_sentences(text_of(st)))
            # (a sentence that points back, "It is the adult counterpart ...", says nothing
            # without the one before it)
            if s not in common and (i == 0 or not _ANAPHOR.match(s))
        ]
        if options:
            score, _r, i, st, sentence = max(options, key=lambda o: (o[0], o[1], -o[2]))
            if score > 0 and score >= SETTINGS.second_sentence_ratio * head_best:
                show(st)
                rest_of[st.id] = [s for j, s in enumerate(split_sentences(text_of(st))) if j != i]
                lead_parts.append(f"{sentence} {cite(st)}{note_of(st)}")
    lead_text = " ".join(lead_parts)
    if lead_text:
        lines.append(lead_text)
        lines.append("")
        if lead.policy is not None and audience == "clinician":
            lines.append(policy_line(kb, lead.policy, cite))
            lines.append("")
        in_lead = [st for st in shown if st.id not in lead.urgent]
        if any(o.id in st.conflicts_with for st in in_lead for o in in_lead):
            lines.append(DISAGREE_LABEL[audience])
            lines.append("")

    # 3. supporting points
    support: list[str] = []
    disagree: list[list[Statement]] = []
    ordered = main + [st for st in chosen if st not in main]
    for st in ordered:
        if st.id in rest_of:
            extra = " ".join(rest_of[st.id])
            if extra:
                lead_label = "" if audience == "patient" else f"**{st.title}.** "
                support.append(f"- {lead_label}{extra} {cite(st)}")
        elif st not in shown:
            show(st)
            lead_label = "" if audience == "patient" else f"**{st.title}.** "
            support.append(f"- {lead_label}{text_of(st)} {cite(st)}{note_of(st)}")
        others = [
            kb.statements[o]
            for o in st.conflicts_with
            if o in kb.statements
            and o in lead.retrieved
            and kb.statements[o].status != "retired"
            and kb.statements[o] not in shown
        ]
        if others:
            disagree.append([st, *others])
            for o in others:
                show(o)
    if support:
        lines.append("**Supporting points:**" if audience == "clinician" else "**More detail:**")
        lines.extend(support)
        lines.append("")
    for block in disagree:
        lines.append(DISAGREE_LABEL[audience].rstrip(".*") + ":**")
        for st in block:
            label = "" if audience == "patient" else f"**{st.title}.** "
            lines.append(f"- {label}{text_of(st)} {cite(st)}{note_of(st)}")
        lines.append("")

    # 4. patients: what to ask the care team
    if audience == "patient" and (lead_text or lead.urgent):
        for sid in lead.next_steps:
            st = kb.statements.get(sid)
            if st is None or st in shown:
                continue
            show(st)
            lines.append(f"**What to ask your team:** {st.patient} {cite(st)}")
            lines.append("")

    passage_ids: list[str] = []
    if passages:
        lines.append(
            "**From your documents (not reviewed; approved statements above take precedence):**"
        )
        for passage, doc in passages:
            mark = citer.passage(passage, doc)
            passage_ids.append(f"{doc.id}#{passage.seq + 1}")
            lines.append(f"- “{_excerpt(passage.text)}” {mark} *({PASSAGE_STATUS})*")
        lines.append("")

    notes: list[str] = []
    if any(not is_reviewed(st) for st in shown):
        notes.append(
            "Statements marked draft have not yet been checked against their sources; they are shown "
            "because no statement checked against its source answers as well."
        )
    flagged: dict[str, tuple[str, ...]] = {}
    for c in citer.citations:
        if c.flags:
            flagged.setdefault(c.source, c.flags)
    for source_id, flags in flagged.items():
        nums = ", ".join(f"[{c.n}]" for c in citer.citations if c.source == source_id)
        title = next((c.title for c in citer.citations if c.source == source_id), source_id)
        notes.append(f"Source {nums} ({title}): {'; '.join(flags)}.")
    if notes:
        lines.extend(f"> {note}" for note in notes)
        lines.append("")
    if audience == "patient" and shown:
        lines.append(
            "*This is general information. Your care team can tell you how it applies to you.*"
        )

    markdown = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
    plain = " ".join(text_of(st) for st in shown)
    return Composition(
        markdown=markdown,
        citations=citer.citations,
        statements=[st.id for st in shown],
        passages=passage_ids,
        support=citer.support,
        plain=plain,
        warnings=[f"source {s}: {'; '.join(f)}" for s, f in flagged.items()],
        lead=" ".join([*urgent_parts, lead_text]).strip(),
    )
