"""The question-answering pipeline: context -> retrieval -> abstention -> composition -> (LLM)."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from collections import Counter
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

from leptoguide.answer.abstain import (
    REASON_PATIENT,
    REASON_PERSONAL,
    SUGGESTIONS,
    AbstainConfig,
    Verdict,
    calibrated_confidence,
    judge,
    scope_hits,
    topic_terms,
)
from leptoguide.answer.compose import (
    ANSWER_TYPES,
    ASPECTS,
    STATUS_NOTE,
    Aliases,
    Aspect,
    FollowUpAsking,
    Lead,
    PolicyChoice,
    aliases_of,
    asked_aspects,
    compose,
    concept_aliases,
    drug_aspect,
    fits,
    is_reviewed,
    lead_aspects,
    lead_share,
    meaning_aspect,
    select_statements,
    without_ids,
)
from leptoguide.answer.computed import Computed, compute
from leptoguide.answer.conversation import (
    ConversationStore,
    SQLiteConversationStore,
    Turn,
    check_id,
    contextualize,
)
from leptoguide.answer.embed import load_embedder
from leptoguide.answer.expand import lexicon_for
from leptoguide.answer.index import (
    Document,
    Passage,
    PassageStore,
    StatementIndex,
    build_statement_index,
    index_is_current,
    open_statement_index,
    store_path,
)
from leptoguide.answer.llm import LLMConfig, load_config, rephrase
from leptoguide.answer.result import AUDIENCES, Answer, Audience
from leptoguide.answer.retrieve import Retrieval, RetrievalConfig, Retriever, idf
from leptoguide.answer.settings import SETTINGS
from leptoguide.answer.text import conditions, content_tokens, split_sentences, tokens
from leptoguide.answer.values import read_values
from leptoguide.answer.vocabulary import (
    QuestionVocabulary,
    SpellingCorrector,
    Understanding,
    vocabulary_for,
)
from leptoguide.errors import InputError
from leptoguide.memo import once_per
from leptoguide.render.common import detail_lines
from leptoguide.settings import home_dir

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from leptoguide.assessment import Finding
    from leptoguide.knowledge.loader import KnowledgeBase
    from leptoguide.knowledge.models import Statement
    from leptoguide.policy import Policy

DEFAULT_TOP_K = 4
MAX_TOP_K = 20
MAX_QUESTION_CHARS = 2000
MAX_PASSAGES = 2


@dataclass(frozen=True)
class Options:
    """Pipeline switches (the evaluation flips them to measure what each part earns)."""

    dense: bool = True
    expand: bool = False
    """Query-side synonym expansion (measured to hurt slightly once the index is expanded)."""
    expand_docs: bool = True
    """Index-side synonym expansion: each statement also carries the other names of its concepts."""
    persist: bool = True
    use_store: bool = True
    use_llm: bool = True
    spelling: bool = True
    """Correct misspelt words towards the knowledge base's vocabulary before retrieval."""
    abstain: AbstainConfig = field(default_factory=AbstainConfig)


def index_file(kb: KnowledgeBase) -> Path:
    return home_dir() / "index" / f"statements-{kb.content_hash[:12]}.sqlite"


def load_index(kb: KnowledgeBase, options: Options, progress: object = None) -> StatementIndex:
    """The current statement index for ``kb``, rebuilt (and cached on disk) when out of date."""
    embedder = load_embedder() if options.dense else None
    model = embedder.id if embedder is not None else None
    path = index_file(kb) if options.persist else None
    if path is not None:
        found = open_statement_index(path)
        if found is not None and index_is_current(found, kb, model, options.expand_docs):
            return found
    lexicon = lexicon_for(kb)
    try:
        return build_statement_index(
            kb,
            lexicon,
            embedder=embedder,
            path=path,
            expand_docs=options.expand_docs,
            progress=progress if callable(progress) else None,
        )
    except (OSError, sqlite3.Error):
        if path is None:
            raise
        return build_statement_index(
            kb, lexicon, embedder=embedder, path=None, expand_docs=options.expand_docs
        )


NOT_COVERED = {
    "clinician": (
        "> No statement in LeptoGuide's knowledge base uses {words}; the answer above covers the "
        "rest of the question."
    ),
    "patient": (
        "> LeptoGuide has no information about {words}. The answer above is about the rest of "
        "your question."
    ),
}
"""The note under an answer to a question with words no statement uses."""
READ_AS_NOTE = {
    "clinician": (
        "> No statement in LeptoGuide's knowledge base names {wrote}; the answer above gives what "
        "the sources say for {means}, as the question was read."
    ),
    "patient": (
        "> LeptoGuide has no information that names {wrote}. The answer above is about {means}."
    ),
}
"""The note under an answer whose organism no statement names, read as the group the
statements name (vocabulary ``same-as``: "E. coli" as aerobic Gram-negative bacilli)."""


PASSING = frozenset(
    ["after", "with", "following", "during", "post", "than", "from", "before", "on", "plus"]
)
"""Words after which a drug in a statement's title is context, not its subject ("thiotepa as
salvage after methotrexate"): English, nothing clinical."""


def not_covered_note(words: list[str], audience: Audience) -> str:
    named = ", ".join(f"“{w}”" for w in words)
    return NOT_COVERED[audience].format(words=named) + "\n"


TIME_UNITS = {"a": "years", "mo": "months", "wk": "weeks", "d": "days", "h": "hours"}
"""UCUM time units as words ("50 a" reads "50 years")."""


def show_unit(unit: str) -> str:
    """A UCUM unit as people write it ("10*9/L" -> "x10^9/L"; Markdown-safe)."""
    return re.sub(r"^10\*(\d+)", r"x10^\1", unit).replace("*", "^")


@cache
def _english() -> frozenset[str]:
    from leptoguide.answer.index import english_words

    return english_words()


_WORD_COUNTS: dict[int, dict[str, int]] = {}


def kb_word_counts(kb: KnowledgeBase) -> dict[str, int]:
    """How many statements (and concepts) use each word: the spelling corrector's vocabulary
    (counted once per loaded knowledge base, read only after loading)."""
    return once_per(_WORD_COUNTS, id(kb), lambda: _count_words(kb), kb)


def _count_words(kb: KnowledgeBase) -> dict[str, int]:
    counts: Counter[str] = Counter()
    for st in kb.statements.values():
        counts.update(set(content_tokens(f"{st.title} {st.clinician} {st.patient}")))
    for c in kb.concepts.values():
        counts.update(set(content_tokens(" ".join([c.display, *c.synonyms]))))
    return dict(counts)


class QA:
    """Question answering over one knowledge base. Build once, ask many times."""

    def __init__(
        self,
        kb: KnowledgeBase,
        options: Options | None = None,
        *,
        store: PassageStore | None = None,
        llm: LLMConfig | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.kb = kb
        self.options = options or Options()
        self.vocab: QuestionVocabulary = vocabulary_for(kb)
        self.lexicon = lexicon_for(kb)
        self.index = load_index(kb, self.options)
        embedder = load_embedder() if self.options.dense else None
        if store is None and self.options.use_store and store_path().is_file():
            store = PassageStore(store_path())
        self.store = store
        self.retriever = Retriever(
            self.index,
            self.lexicon,
            embedder=embedder,
            store=store,
            config=RetrievalConfig(
                dense=self.options.dense,
                expand=self.options.expand,
                alternatives=self.options.expand or self.options.expand_docs,
            ),
            ignore=self.vocab.fillers,
        )
        self.llm = llm if llm is not None else (load_config() if self.options.use_llm else None)
        self.drug_names = [
            name
            for c in kb.concepts.values()
            if c.kind == "medication"
            for name in (c.display, *c.synonyms)
        ]
        self.speller = (
            SpellingCorrector(
                kb_word_counts(kb),
                self.vocab.known_words,
                _english(),
                self.vocab.fillers,
                self.vocab.term_words,
            )
            if self.options.spelling
            else None
        )
        self._policy = policy
        self.slots = (*self.vocab.slots, self._drug_slot())

    def _known(self, token: str) -> bool:
        """Whether a statement uses ``token``."""
        return bool(self.index.postings(token))

    def _drug_slot(self) -> frozenset[tuple[str, ...]]:
        """Every name of a medication (terminology names, and shorthand the vocabulary reads as
        one: "MTX", "dex"): in a follow-up, a drug named replaces the drug named before
        ("... IT cytarabine dose" - "and thiotepa?")."""
        names = {tuple(tokens(n)) for n in self.drug_names if tokens(n)}
        for entry in self.vocab.by_role.get("same-as", []):
            if entry.means and tuple(tokens(entry.means)) in names:
                names.update(tuple(tokens(t)) for t in entry.terms if tokens(t))
        return frozenset(names)

    @property
    def policy(self) -> Policy:
        if self._policy is None:
            from leptoguide.policy import load_policy

            self._policy = load_policy(self.kb)
        return self._policy

    def ask(
        self,
        question: str,
        *,
        audience: str = "clinician",
        conversation_id: str | None = None,
        top_k: int = DEFAULT_TOP_K,
        conversations: ConversationStore | None = None,
        at: dt.datetime | None = None,
    ) -> Answer:
        question = (question or "").strip()
        if not question:
            raise InputError("question", "the question is empty", "question")
        if len(question) > MAX_QUESTION_CHARS:
            raise InputError(
                "question", f"the question is longer than {MAX_QUESTION_CHARS} characters"
            )
        if audience not in AUDIENCES:
            raise InputError(
                "audience",
                f"unknown audience '{audience}' (use clinician or patient)",
                "audience",
            )
        aud: Audience = "patient" if audience == "patient" else "clinician"
        if not 1 <= top_k <= MAX_TOP_K:
            raise InputError("top_k", f"top_k must be between 1 and {MAX_TOP_K}", "top_k")
        when = at or dt.datetime.now(dt.UTC).replace(microsecond=0)

        history: list[Turn] = []
        if conversation_id is not None:
            check_id(conversation_id)
            if conversations is None:
                conversations = SQLiteConversationStore()
            history = conversations.history(conversation_id)
        und = self.vocab.understand(question, self.speller, aud)
        in_scope = bool(scope_hits(und.query, self.lexicon, self.vocab, self.index.jargon))
        query = contextualize(
            und.query,
            history,
            in_scope,
            self.slots,
            FollowUpAsking(),
            written=question,
            population=self.vocab.populations.words,
        )

        retrieval = self.retriever.retrieve(query, limit=max(10, top_k * 2))
        verdict = judge(
            question, query, retrieval, self.retriever, self.vocab, und, self.options.abstain
        )
        info: dict[str, object] = {
            "dense": retrieval.dense_used,
            "expanded": list(retrieval.expansion.added) if self.options.expand else [],
            "features": verdict.features,
        }
        if query != question:
            info["query"] = query
        answer = Answer(
            question=question,
            audience=aud,
            abstained=verdict.abstain,
            answer="",
            citations=[],
            knowledge_version=self.kb.version,
            confidence=verdict.confidence,
            reason=verdict.reason,
            conversation_id=conversation_id,
            retrieval=info,
            understood=und.explain(),
        )
        computed = None
        if not verdict.abstain or verdict.kind == "unsupported":
            computed = self._compute(und, question, aud, when)
        elif verdict.kind == "out-of-scope" and not und.intents:
            # a question of values only ("plt 35 INR 1.2") names no topic the gate knows
            computed = self._compute(und, question, aud, when)
        pending: Computed | None = None
        if (
            computed is not None
            and not verdict.abstain
            and not self._gives_asked(computed, question)
        ):
            # the engine could not compute what is asked from the values given (a dose without
            # the age): the statements answer, and the answer says what would let it compute
            pending, computed = computed, None
        if computed is not None:
            answer.abstained = False
            answer.reason = None
            self._fill_computed(answer, computed, und, verdict)
        elif verdict.abstain:
            self._abstain(answer, verdict, und, retrieval, top_k)
        else:
            earlier = next((t.query for t in reversed(history) if not t.abstained), "")
            self._fill(answer, retrieval, verdict, top_k, und, earlier)
            if pending is not None:
                self._note_pending(answer, pending)
        if conversation_id is not None and conversations is not None:
            conversations.append(
                conversation_id,
                Turn(question, query, aud, answer.abstained, tuple(answer.statements)),
            )
        return answer

    # ------------------------------------------------------------------ computed answers
    def _compute(
        self, und: Understanding, question: str, audience: Audience, at: dt.datetime
    ) -> Computed | None:
        if und.personal or audience != "clinician":
            # patients get the general answer: their own values are for their care team
            return None
        intents = und.intents
        if not intents:
            # a question of values alone is read as the intent that reads them, and says so
            values = read_values(question, self.kb, self.vocab, at)
            if not values.only_values(question) or not (
                values.case.get("labs") or values.case.get("medications")
            ):
                return None
            intents = self.vocab.value_intents()
        asked = frozenset(
            term.lower() for intent in intents for term in self.kb.vocabulary[intent.id].terms
        )
        values = read_values(question, self.kb, self.vocab, at, asked)
        fallback: Computed | None = None
        first: Computed | None = None
        for intent in intents:
            if intent.needs_values and not values:
                continue
            result = compute(
                intent, values, kb=self.kb, policy=self.policy, at=at, audience=audience
            )
            if result is None or (intent.implied and (result.unchecked or not result.lead)):
                continue  # read from values alone, it must check every one of them
            if result.lead:  # the first intent whose findings answer leads ...
                if first is None:
                    first = result
                elif self._recommends(result):  # ... and another dose or regimen follows it
                    first.more.append(result)
                continue
            if fallback is None and (result.missing or values or result.unchecked):
                fallback = result
        if first is not None and first.more:
            _merge_more(first)
        return first or fallback

    def _recommends(self, comp: Computed) -> bool:
        """Whether the intent's main rule recommends (a dose, a regimen, a schedule) rather than
        alerts or describes: such answers are added to a computed answer, others are not (an
        LP-safety check is not added to a question about CSF results that names the LP)."""
        primary = self.kb.rules.get(comp.intent.rules[0]) if comp.intent.rules else None
        return primary is not None and primary.kind == "recommendation"

    def _gives_asked(self, comp: Computed, query: str) -> bool:
        """Whether the engine answers what the question asks: any finding of the intent does;
        with none, "no alert fires" answers a question that asks for no dose, time or number
        ("plt 120, LP safe?") but not one that does ("ceftriaxone dose for a 25 kg child": the
        engine needs the age)."""
        if comp.lead or comp.unchecked:
            return True
        primary = self.kb.rules.get(comp.intent.rules[0]) if comp.intent.rules else None
        if primary is not None and primary.kind != "alert":
            # a dose or schedule intent whose finding did not fire has not answered: "no alert
            # fires" is an answer only to a question about alerts ("plt 120, LP safe?")
            return False
        # what the question asks, without the values it gives ("last dose 14 hrs ago" gives a
        # time, it does not ask for one)
        for v in comp.values.values:
            query = re.sub(re.escape(v.text), " ", query, flags=re.I)
        return not asked_aspects(query)

    def _note_pending(self, answer: Answer, comp: Computed) -> None:
        """After a statement answer: the values read and what the engine still needs."""
        lines = ["", "**To compute this for one patient:**"]
        if comp.values.values:
            read = ", ".join(
                f"{v.label} {v.value:g}{' ' + show_unit(v.unit) if v.unit else ''}"
                if isinstance(v.value, float)
                else f"{v.label} {v.value}{' ' + show_unit(v.unit) if v.unit else ''}"
                for v in comp.values.values
            )
            lines.append(f"- Values read from your question: {read}.")
        for m in comp.missing:
            lines.append(f"- Also needed: {m.suggestion}")
        lines.append(f"- [Open the assessment form with these values]({comp.form_link})")
        answer.answer = answer.answer.rstrip() + "\n" + "\n".join(lines) + "\n"
        answer.values_read = [v.to_dict() for v in comp.values.values]
        answer.assessment_form = comp.form_link

    def _fill_computed(
        self, answer: Answer, comp: Computed, und: Understanding, verdict: Verdict
    ) -> None:
        from leptoguide.answer.compose import _Citer

        citer = _Citer(self.kb, None)
        marks: dict[str, str] = {}
        shown: list[str] = []

        def cite_statements(ids: list[str]) -> str:
            out = ""
            for sid in dict.fromkeys(ids):
                st = self.kb.statements.get(sid)
                if st is None:
                    continue
                if sid not in marks:
                    marks[sid] = citer.statement(st, st.clinician)
                    shown.append(sid)
                out += marks[sid]
            return out

        def finding_cites(f: Finding) -> str:
            return cite_statements([c.statement for c in f.citations])

        lines: list[str] = []
        if und.red_flag_statements:
            self._urgent_lines(lines, und, answer.audience, cite_statements)
        label = comp.intent.description
        name = self.kb.vocabulary[comp.intent.id].means or label
        found = [f"{f.summary} {finding_cites(f)}".strip() for f in comp.lead]
        unchecked: list[str] = []
        if comp.unchecked:
            unchecked.append(
                f"{', '.join(comp.unchecked)}: cannot be checked (no {name} rule here covers "
                f"{'it' if len(comp.unchecked) == 1 else 'them'}), so "
                f"{'its' if len(comp.unchecked) == 1 else 'their'} timing is not assessed."
            )
        primary = self.kb.rules.get(comp.intent.rules[0]) if comp.intent.rules else None
        only_info = bool(comp.lead) and all(f.severity == "info" for f in comp.lead)
        if not comp.lead or (only_info and primary is not None and primary.kind == "alert"):
            # no alert of an alert intent is said first, before any information finding ("hold
            # interval met ...")
            read = ", ".join(
                f"{v.label} {v.value:g}" if isinstance(v.value, float) else f"{v.label} {v.value}"
                for v in comp.values.values
            )
            tail = (
                " Some checks need data the question does not give (below)." if comp.missing else ""
            )
            other = "other " if comp.unchecked else ""
            none = f"No {other}{name} alert fires for the values read ({read or 'none'}).{tail}"
            lead_parts = [*unchecked, none, *found]
        else:
            lead_parts = [*found, *unchecked]
        shown_rules = {f.rule for f in comp.lead}
        for extra in comp.more:
            for f in extra.lead:
                if f.rule not in shown_rules:
                    shown_rules.add(f.rule)
                    lead_parts.append(f"{f.summary} {finding_cites(f)}".strip())
        lead = " ".join(lead_parts)
        lines += [lead, ""]
        if comp.intent.implied:
            lines += [f"(Read as a question about {name}: the question gives values only.)", ""]
        leads = {f.rule: f for f in [*comp.lead, *(f for x in comp.more for f in x.lead)]}
        details: list[str] = []
        for f in leads.values():
            for raw in detail_lines(f)[: SETTINGS.max_detail_lines]:
                line = re.sub(r"^[-*•]\s+", "", raw)  # a detail line may be a bullet already
                # a statement another lead finding already quotes in a longer line is not repeated
                if not line.startswith("{") and not any(line in d for d in details):
                    details.append(line)
        if details:
            # what the statements behind the lead findings say (an age limit, a caution)
            lines += [f"- {line}" for line in details]
            lines.append("")
        if comp.thresholds:
            lines.append("**Site policy used:**")
            for t in comp.thresholds:
                param = self.kb.parameters.get(t.id)
                title = param.title if param else t.id
                unit = f" {show_unit(t.unit)}" if t.unit else ""
                mark = cite_statements([t.statement]) if t.statement else ""
                alts = []
                for a in t.alternatives:
                    amark = cite_statements([a.statement]) if a.statement else ""
                    alts.append(f"{a.value}{unit} {amark}".strip())
                alt = f"; other sources: {', '.join(alts)}" if alts else ""
                own = " (site setting)" if t.overridden else ""
                lines.append(f"- {title}: {t.value}{unit}{own} {mark}{alt}".rstrip())
            lines.append("")
        for sched in comp.assessment.schedules:
            dates = ", ".join(f"{e.date} ({e.phase})" for e in sched.events[:12])
            more = " …" if len(sched.events) > 12 else ""
            status = (
                f" *({STATUS_NOTE.get(sched.status, sched.status)})*"
                if sched.status != "approved"
                else ""
            )
            mark = cite_statements(list(sched.statements))
            lines.append(f"**{sched.title}, calendar:** {dates}{more} {mark}{status}".rstrip())
            if sched.start_note:
                lines.append(f"({sched.start_note})")
            lines.append("")
        if comp.values.values:
            lines.append("**Values read from your question** (check them):")
            for v in comp.values.values:
                unit = f" {show_unit(v.unit)}" if v.unit else ""
                shown_value = f"{v.value:g}" if isinstance(v.value, float) else str(v.value)
                lines.append(f"- {v.label}: {shown_value}{unit} (from “{v.text}”)")
            lines.append("")
        if comp.missing:
            lines.append("**Not in the question, needed for a complete answer:**")
            for m in comp.missing:
                lines.append(f"- {m.suggestion}")
            lines.append("")
        if comp.also:
            lines.append("**Also from the assessment:**")
            for f in comp.also[:4]:
                lines.append(f"- {f.summary} {finding_cites(f)}".rstrip())
            lines.append("")
        lines.append(f"[Open the assessment form with these values]({comp.form_link})")
        answer.answer = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip() + "\n"
        answer.lead = lead
        answer.citations = citer.citations
        answer.statements = shown
        answer.computed = {
            "intent": comp.intent.id,
            "findings": [
                {"rule": f.rule, "severity": f.severity, "summary": f.summary} for f in comp.lead
            ],
            "policy": comp.assessment.policy.model_dump(mode="json"),
            "evaluated_at": comp.assessment.evaluated_at,
            "unchecked": list(comp.unchecked),
        }
        answer.values_read = [v.to_dict() for v in comp.values.values]
        answer.assessment_form = comp.form_link
        answer.urgent = bool(und.red_flag_statements)
        answer.confidence = 1.0 if comp.lead else 0.5

    # ------------------------------------------------------------------ abstentions
    def _urgent_lines(
        self,
        lines: list[str],
        und: Understanding,
        audience: Audience,
        cite: object,
    ) -> None:
        from leptoguide.answer.compose import URGENT_LABEL

        assert callable(cite)
        for sid in und.red_flag_statements:
            st = self.kb.statements.get(sid)
            if st is None:
                continue
            text = without_ids(self.kb, st.patient if audience == "patient" else st.clinician)
            lines += [f"**{URGENT_LABEL[audience]}** {text} {cite([sid])}", ""]

    def _abstain(
        self,
        answer: Answer,
        verdict: Verdict,
        und: Understanding,
        retrieval: Retrieval,
        top_k: int,
    ) -> None:
        answer.abstain_kind = verdict.kind
        answer.suggestions = list(SUGGESTIONS[answer.audience])
        if answer.audience == "patient" and verdict.kind in REASON_PATIENT:
            answer.reason = REASON_PATIENT[verdict.kind]
            verdict.reason = answer.reason
        if verdict.kind == "personal":
            answer.reason = REASON_PERSONAL[answer.audience]
            # kind, not cold: general information that helps, and what to ask the team
            in_scope = verdict.features.get("scope", 0.0) > 0
            chosen = (
                select_statements(retrieval.statements, self.kb, 1, "patient") if in_scope else []
            )
            lead = Lead(
                urgent=und.red_flag_statements,
                next_steps=self._next_steps() if in_scope else [],
                terms=content_tokens(und.query),
                retrieved=frozenset(h.key for h in retrieval.statements),
            )
            comp = compose(self.kb, chosen, "patient", (), None, lead)
            urgent, _, rest = comp.markdown.partition("\n\n") if lead.urgent else ("", "", "")
            tries = "; ".join(f"“{s}”" for s in answer.suggestions)
            general = (
                comp.markdown
                if in_scope
                else f"You can ask LeptoGuide general questions, for example: {tries}.\n"
            )
            answer.answer = (
                f"{urgent}\n\n{answer.reason}\n\n{rest}"
                if lead.urgent
                else f"{answer.reason}\n\n{general}"
            )
            answer.citations = comp.citations
            answer.statements = comp.statements
            answer.urgent = bool(und.red_flag_statements)
            answer.lead = urgent if lead.urgent else answer.reason
            return
        if und.red_flags and verdict.kind != "instructions":
            # warning signs: urgent care first, even when the rest cannot be answered
            comp = compose(
                self.kb, [], answer.audience, (), None, Lead(urgent=und.red_flag_statements)
            )
            answer.answer = comp.markdown + f"\n{answer.reason}\n"
            answer.citations = comp.citations
            answer.statements = comp.statements
            answer.urgent = True
            answer.lead = comp.markdown.strip()
            return
        tries = "; ".join(f"“{s}”" for s in answer.suggestions)
        answer.answer = (
            f"LeptoGuide cannot answer this question. {verdict.reason}\n\n"
            f"You can ask another question, for example: {tries}.\n"
        )

    def _next_steps(self) -> list[str]:
        return [sid for e in self.vocab.by_role.get("next-steps", []) for sid in e.statements]

    # ------------------------------------------------------------------ retrieved answers
    def _passages(self, retrieval: Retrieval) -> list[tuple[Passage, Document]]:
        out: list[tuple[Passage, Document]] = []
        if self.store is None:
            return out
        floor = self.options.abstain.min_passage_coverage
        for hit in retrieval.passages[:5]:
            if hit.coverage < floor:
                continue
            if hit.cosine is not None and hit.cosine < self.options.abstain.min_cosine:
                continue
            passage = self.store.passage(hit.rowid)
            doc = self.store.document(passage.doc_id) if passage else None
            if passage is not None and doc is not None:
                out.append((passage, doc))
            if len(out) >= MAX_PASSAGES:
                break
        return out

    def _fill(
        self,
        answer: Answer,
        retrieval: Retrieval,
        verdict: Verdict,
        top_k: int,
        und: Understanding,
        earlier: str = "",
    ) -> None:
        floor = verdict.features.get("floor", self.options.abstain.min_coverage)
        evidence = verdict.features.get("evidence", verdict.features.get("coverage", 0.0))
        statements_ok = evidence >= floor
        aspects = lead_aspects(retrieval.query, bool(self._drugs(retrieval.query)))
        if answer.audience == "patient" and not _ASKS_TIME.search(und.question):
            # "do I have to stop them?" asks whether, not when: "stop" and "hold" ask for a time
            # only in a clinician's question
            aspects = tuple(a for a in aspects if a.name != "time")
        term = meaning_aspect(und.question)
        if term is not None:
            # "what is type D?": a sentence defining the word asked about leads, not one that
            # defines its neighbours
            aspects = (*(a for a in aspects if a.name != "meaning"), term)
        if answer.audience == "clinician":
            # "which antibiotic?": a sentence naming a drug answers (patient wordings name
            # drugs less often, so patient answers do not prefer them)
            drug = drug_aspect(retrieval.query, self.drug_names)
            aspects += (drug,) if drug is not None else ()
        on_topic = self._on_topic(retrieval.query, answer.audience, und.query)
        subject = self._subject(retrieval.query, und.query)
        # the hits further down, looked at for several reasons, are retrieved once
        deeper = cache(
            lambda: self.retriever.retrieve(retrieval.query, limit=SETTINGS.on_topic_depth)
        )
        hits = retrieval.statements
        if self.vocab.populations.named(retrieval.query, ages=True) and any(
            not on_topic(self.kb.statements[h.key]) for h in hits if h.key in self.kb.statements
        ):
            # the question names a population and the best hits include statements about another
            # one: statements that name the one asked are looked for further down as well
            seen = {h.key for h in hits}
            hits = hits + [
                h
                for h in deeper().statements
                if h.key not in seen
                and h.key in self.kb.statements
                and on_topic(self.kb.statements[h.key]) == 2
            ]
        chosen = (
            select_statements(
                hits,
                self.kb,
                top_k,
                answer.audience,
                aspects=aspects,
                on_topic=on_topic,
                subject=subject,
            )
            if statements_ok
            else []
        )
        answered_by = (
            self._answers_follow_up(retrieval, und, subject, earlier, deeper)
            if statements_ok
            else None
        )
        if answered_by is not None:
            others = [sid for sid in chosen if sid != answered_by]
            chosen = [answered_by, *others[: top_k - 1]]
        if answer.audience == "patient" and und.answered_by and statements_ok:
            # a statement written for this kind of patient question leads wherever it ranks
            reached = [h.key for h in retrieval.statements]
            if not any(sid in reached for sid in und.answered_by):
                reached = [h.key for h in deeper().statements]
            answered_by = next((sid for sid in und.answered_by if sid in reached), None)
            if answered_by is not None and answered_by not in chosen:
                chosen.append(answered_by)
        if (
            answer.audience == "patient"
            and chosen
            and answered_by is None
            and not _WHY.search(und.question)
        ):
            chosen = self._aspect_candidate(chosen, retrieval, aspects, on_topic)
        extra: list[str] = []
        for q in und.clarify_queries:
            more = self.retriever.retrieve(q, limit=5)
            picked = select_statements(more.statements, self.kb, 1, answer.audience)
            extra += [s for s in picked if s not in chosen and s not in und.clarify_statements]
        passages = self._passages(retrieval)
        terms = topic_terms(und, retrieval.query, self.vocab, self._known)
        weights = {t: idf(self.index, t) for t in terms}
        own_weights: dict[str, float] = {}
        if retrieval.query != und.query:
            # a follow-up: its own words say what is asked now
            # (its words that only ask again what the earlier question asked, "the cut-off",
            # are not its topic: "and the cut-off in adults?" after "GCS below what?" still asks
            # about the GCS; "doses?" after "which antibiotics?" asks something new)
            asking = FollowUpAsking()
            cues = asking.without(und.query, asking.asks(und.query) & asking.asks(earlier))
            # (nor is a population it names: that replaces the earlier one through ``on_topic``)
            own = {
                t
                for t in topic_terms(und, cues, self.vocab, self._known)
                if not self.vocab.populations.named(t)
            }
            own_weights = {t: w for t, w in weights.items() if t in own}
            weights = {
                t: w * (SETTINGS.follow_up_weight if t in own else 1.0) for t, w in weights.items()
            }
        policy = (
            self._policy_choice(chosen, und.clarify_statements, weights)
            if answer.audience == "clinician"
            else None
        )
        if policy is not None:
            # the site's value leads and the other sources' values are shown with it
            for sid in [policy.statement, *(s for _v, s in policy.alternatives)]:
                if sid is not None and sid not in chosen:
                    chosen.append(sid)
        lead = Lead(
            urgent=und.red_flag_statements,
            clarify=und.clarify_statements,
            extra=extra,
            terms=terms,
            weights=weights,
            retrieved=frozenset(h.key for h in retrieval.statements),
            next_steps=self._next_steps() if answer.audience == "patient" else [],
            aspects=aspects,
            on_topic=on_topic,
            subject=subject,
            prefer=self._prefer(retrieval.query),
            policy=policy,
            own=own_weights,
            topic=self._topic(weights, own_weights) if retrieval.query != und.query else None,
            # (clinician titles: patient answers already read the question's lay words)
            title_aliases=(
                self._concept_names(retrieval.query) if answer.audience == "clinician" else ()
            ),
            answered_by=answered_by,
            why=answer.audience == "patient" and bool(_WHY.search(und.question)),
            # patient wordings use the lay words themselves ("spinal tap", "spinal fluid");
            # clinician texts write what they mean
            aliases=aliases_of(und.meanings) if answer.audience == "patient" else (),
        )
        comp = compose(self.kb, chosen, answer.audience, passages, None, lead)
        answer.answer = comp.markdown
        answer.lead = comp.lead
        if verdict.not_covered and chosen:
            answer.answer = (
                answer.answer.rstrip()
                + "\n\n"
                + not_covered_note(verdict.not_covered, answer.audience)
            )
            answer.understood["not_covered"] = list(verdict.not_covered)
        for wrote, means in self._read_as_unnamed(und) if chosen else []:
            answer.answer = (
                answer.answer.rstrip()
                + "\n\n"
                + READ_AS_NOTE[answer.audience].format(wrote=f"“{wrote}”", means=means)
                + "\n"
            )
        answering = [
            sid
            for sid in comp.statements
            if sid not in und.clarify_statements and sid not in und.red_flag_statements
        ]
        if answering:
            # what the answer itself says about its reliability: the calibrated confidence
            first = self.kb.statements[answering[0]]
            verdict.features["lead_reviewed"] = float(is_reviewed(first))
            total = sum(weights.values())
            verdict.features["lead_coverage"] = (
                round(lead_share(comp.lead, weights, lead.aliases), 4) if total else 0.0
            )
            # (the numbers asked for: the kinds of answer are not part of the fitted model)
            numeric = [a for a in aspects if a not in ANSWER_TYPES]
            verdict.features["aspect_missing"] = float(
                bool(numeric) and not any(a.form.search(comp.lead) for a in numeric)
            )
            # how the question was asked: read through shorthand, lay words or spelling fixes; a
            # follow-up; placed in the domain by evidence alone; a patient's wording
            verdict.features["realistic"] = float(bool(und.corrections or und.meanings))
            verdict.features["follow_up"] = float(retrieval.query != und.query)
            verdict.features["unscoped"] = float(verdict.features.get("scope", 1.0) == 0.0)
            verdict.features["patient"] = float(answer.audience == "patient")
            confidence = calibrated_confidence(verdict.features)
            answer.confidence = (
                confidence
                if statements_ok and not verdict.not_covered
                else min(confidence, SETTINGS.weak_confidence_cap)
            )
        answer.citations = comp.citations
        answer.statements = comp.statements
        answer.warnings = comp.warnings
        answer.urgent = bool(und.red_flag_statements)
        if answer.audience == "patient" and comp.plain:
            from leptoguide.knowledge.readability import reading_grade

            answer.reading_grade = round(reading_grade(comp.plain), 1)
        if self.llm is not None and chosen:
            self._rephrase(answer, comp.markdown, comp.support)

    def _aspect_candidate(
        self,
        chosen: list[str],
        retrieval: Retrieval,
        aspects: Sequence[Aspect],
        on_topic: Callable[[Statement], int],
    ) -> list[str]:
        """A patient question asking for something definite (a number, a time, how likely, the
        meaning of the word it names): when no lead candidate's patient wording gives it, the
        first checked statement among the top ``SETTINGS.aspect_depth`` hits that does (and
        covers at least ``SETTINGS.aspect_relative`` of what the best hit covers) becomes a
        lead candidate. "How quick do they give antibiotics?" is then answered by the statement
        that says within one hour, not by one about a rash that only matches more words."""
        wanted = [
            a
            for a in aspects
            if a is not ASPECTS[-1] and a.name not in ("value", "drug", "schedule", "frequency")
        ]
        if not wanted:
            return chosen

        def gives(sid: str) -> bool:
            text = self.kb.statements[sid].patient
            return any(a.form.search(s) for s in split_sentences(text) for a in wanted)

        pool = chosen[: SETTINGS.lead_pool]
        if any(gives(sid) for sid in pool):
            return chosen
        hits = [h for h in retrieval.statements if h.key in self.kb.statements]
        best = max((h.coverage for h in hits[:3]), default=0.0)
        for h in hits[: SETTINGS.aspect_depth]:
            st = self.kb.statements[h.key]
            if (
                h.key in pool
                or not is_reviewed(st)
                or not on_topic(st)
                or h.coverage < SETTINGS.aspect_relative * best
                or not gives(h.key)
            ):
                continue
            at = min(len(pool), SETTINGS.lead_pool - 1)
            rest = [sid for sid in chosen if sid != h.key]
            return [*rest[:at], h.key, *rest[at:]]
        return chosen

    def _policy_choice(
        self, chosen: list[str], clarify: list[str], weights: dict[str, float]
    ) -> PolicyChoice | None:
        """The site-policy choice the question touches, if any: one on which sources disagree
        (an alternative rests on another statement than the default), with a statement behind
        one of its values among the first ``SETTINGS.policy_depth`` shown, whose title and description hold at least
        ``SETTINGS.policy_share`` of the question's weighted words (the best such choice)."""
        pool = set([sid for sid in chosen if sid not in clarify][: SETTINGS.policy_depth])
        best: tuple[float, int, str] | None = None
        for pid, param in self.kb.parameters.items():
            sides = {param.statement} | {a.statement for a in param.alternatives}
            if not any(a.statement not in (None, param.statement) for a in param.alternatives):
                continue
            reached = len(sides & pool)
            if not reached:
                continue
            share = lead_share(f"{param.title}. {param.description}", weights)
            if share >= SETTINGS.policy_share and (best is None or (share, reached) > best[:2]):
                best = (share, reached, pid)
        if best is None:
            return None
        param = self.kb.parameters[best[2]]
        pv = self.policy.values.get(param.id)
        if pv is None:
            return None

        def shown(value: object) -> str:
            if isinstance(value, bool):
                return "yes" if value else "no"
            code = param.unit or ""
            unit = f" {TIME_UNITS.get(code, show_unit(code))}" if code and code != "1" else ""
            return f"{value}{unit}"

        behind = param.statement if pv.value == param.default else None
        others: list[tuple[str, str]] = []
        if behind is None:
            behind = next((a.statement for a in param.alternatives if a.value == pv.value), None)
            if param.statement is not None:
                others.append((shown(param.default), param.statement))
        others += [
            (shown(a.value), a.statement)
            for a in param.alternatives
            if a.statement is not None and a.value != pv.value and a.statement != param.statement
        ]
        return PolicyChoice(
            title=param.title,
            value=shown(pv.value),
            statement=behind,
            alternatives=tuple(others),
            overridden=pv.overridden,
        )

    def _drugs(self, text: str) -> frozenset[str]:
        """The medication concepts ``text`` names."""
        return frozenset(
            p.concept
            for p in self.lexicon.find_all(text)
            if self.lexicon.kinds.get(p.concept) == "medication"
        )

    def _concept_names(self, query: str) -> Aliases:
        """For each terminology concept ``query`` names (not the vocabulary's readings), its
        other names, each counting as the question's words for it ("LM", "leptomeningeal
        carcinomatosis" for "neoplastic meningitis")."""
        return concept_aliases(
            (" ".join(p.words), [" ".join(o.words) for o in self.lexicon.groups.get(p.concept, [])])
            for p in self.lexicon.find_all(query)
            if self.lexicon.kinds.get(p.concept) not in (None, "variant")
        )

    def _topic(self, weights: dict[str, float], own: dict[str, float]) -> str | None:
        """A follow-up's topic carried from the earlier question: its heaviest word that names
        a terminology concept (a drug, a test, a condition) and no population."""
        carried = [
            t
            for t in weights
            if t not in own
            and not self.vocab.populations.named(t)
            and any(
                self.lexicon.kinds.get(p.concept) not in (None, "variant")
                for p in self.lexicon.find_all(t)
            )
        ]
        return max(carried, key=lambda t: weights[t], default=None)

    def _read_as_unnamed(self, und: Understanding) -> list[tuple[str, str]]:
        """Organisms and causes (vocabulary role ``slot``) the question names in words no
        statement uses, with what they were read as: the answer says that no statement names
        them, so a group's figure is not taken as the species' own."""
        slot_names = {p for slot in self.vocab.slots for p in slot}
        out: list[tuple[str, str]] = []
        for wrote, means in und.meanings:
            words = [w for w in tokens(wrote) if len(w) > 1]
            if (
                means
                and tuple(tokens(wrote)) in slot_names
                and words
                and not any(self._known(w) for w in words)
            ):
                out.append((wrote, means))
        return out

    def _answers_follow_up(
        self,
        retrieval: Retrieval,
        und: Understanding,
        subject: Callable[[Statement], int] | None,
        earlier: str,
        deeper: Callable[[], Retrieval],
    ) -> str | None:
        """The statement that answers a follow-up asking another kind of answer about the same
        drug ("and how often?" after an IT trastuzumab dose question): the best-ranked one whose
        title is about that drug (not in passing) and gives what the follow-up asks for (a schedule, a
        duration, a dose) and not what the earlier question asked for (``earlier``, its query),
        among the top ``on_topic_depth`` hits (``deeper``). The earlier question's other words would
        otherwise keep the statement that answered it first."""
        if retrieval.query == und.query or subject is None or not earlier:
            return None
        asked = lead_aspects(und.query, names_drug=True)
        names = {a.name for a in asked}
        before = [a for a in lead_aspects(earlier, names_drug=True) if a.name not in names]
        if not asked or not before:
            return None
        for hit in deeper().statements:
            st = self.kb.statements.get(hit.key)
            if (
                st is not None
                and is_reviewed(st)
                and subject(st) == 1
                and self._drugs(st.title) & self._asked_drugs(retrieval.query, und.query)
                and any(a.form.search(st.title) for a in asked)
                and not any(a.form.search(st.title) for a in before)
            ):
                return st.id
        return None

    def _drug_mentions(self, text: str) -> list[tuple[int, int, str]]:
        """The medication concepts ``text`` names, as (first word, end word, concept), in order."""
        words = tokens(text)
        found: list[tuple[int, int, str]] = []
        for p in self.lexicon.find_all(text):
            if self.lexicon.kinds.get(p.concept) != "medication":
                continue
            phrase = [w.lower() for w in p.words]
            n = len(phrase)
            at = next((i for i in range(len(words) - n + 1) if words[i : i + n] == phrase), -1)
            if at >= 0:
                found.append((at, at + n, p.concept))
        # one mention per place: the longest ("IT methotrexate", not also "methotrexate")
        out: list[tuple[int, int, str]] = []
        for mention in sorted(found, key=lambda m: (m[0], -m[1])):
            if not out or mention[0] >= out[-1][1]:
                out.append(mention)
        return out

    def _in_passing(self, text: str) -> frozenset[str]:
        """The drugs ``text`` names only as context: every mention of it comes behind a word
        such as "after" or "with" (``PASSING``) since the drug before it, or since the start
        ("thiotepa ... as salvage after methotrexate", "which IT drug after methotrexate
        failure?")."""
        words = tokens(text)
        found = self._drug_mentions(text)
        passing: dict[str, bool] = {}
        for k, (start, _end, concept) in enumerate(found):
            since = found[k - 1][1] if k else 0
            behind = bool(PASSING & set(words[since:start]))
            passing[concept] = passing.get(concept, True) and behind
        return frozenset(c for c, p in passing.items() if p)

    def _asked_drugs(self, query: str, own: str | None = None) -> frozenset[str]:
        """The drugs a question asks about: those it names, except those named only in passing
        (in a follow-up, ``own``, the ones it names itself, else the earlier ones)."""
        mine = self._drugs(own) - self._in_passing(own) if own else frozenset()
        return mine or self._drugs(query) - self._in_passing(query)

    def _subject(self, query: str, own: str | None = None) -> Callable[[Statement], int] | None:
        """Whether a statement is about the drug ``query`` asks about (none when it asks about
        no drug): 0 when its title names that drug only in passing, after another drug
        ("thiotepa ... as salvage after methotrexate", "folinic acid rescue with IT
        methotrexate" are not about methotrexate), 1 otherwise. A drug the question itself names
        in passing ("which IT drug after methotrexate failure?") is not asked about. In a
        follow-up (``own``) the drug it names replaces the earlier one."""
        asked = self._asked_drugs(query, own)
        if not asked:
            return None

        def subject(st: Statement) -> int:
            found = self._drug_mentions(st.title)
            if not found or found[0][2] in asked:
                return 1
            return 0 if asked & self._in_passing(st.title) else 1

        return subject

    def _prefer(self, query: str) -> Callable[[Statement], bool] | None:
        """Whether a statement names the patient group ``query`` names (living with HIV,
        pregnant, transplant): among the lead candidates, one that does leads. (A statement
        that does not is still on topic: "steroids in TBM with HIV" is answered by the steroid
        statement.)"""
        groups = conditions(query)
        if not groups:
            return None

        def prefer(st: Statement) -> bool:
            return bool(conditions(f"{st.title}. {st.clinician} {st.patient}") & groups)

        return prefer

    def _on_topic(
        self, query: str, audience: Audience, own: str | None = None
    ) -> Callable[[Statement], int]:
        """How well a statement is about what ``query`` asks (0: about something else; 1: it
        fits; 2: it names the population the question names). It fits when it is about the
        population the question names (or, when it names none, not only children or newborns)
        and, when it names a drug, a statement whose title names a drug names one of the
        question's. In a follow-up (``own``: its own words) a drug it names replaces the earlier
        question's ("... clopidogrel before LP?" - "and apixaban?")."""
        # a follow-up's own population replaces the earlier one ("... in neonates?" - "and in
        # a 6-month-old?"), as its own drug does
        groups = self.vocab.populations
        population = (groups.named(own, ages=True) if own else frozenset()) or groups.named(
            query, ages=True
        )
        asked = (self._drugs(own) if own else frozenset()) or self._drugs(query)

        def on_topic(st: Statement) -> int:
            text = f"{st.title}. {st.patient if audience == 'patient' else st.clinician}"
            if not fits(text, population, groups, st.title):
                return 0
            if asked:
                named = self._drugs(st.title)
                if named and not named & asked:
                    return 0
            # "a 5 month old": the statement for infants before one for no one in particular
            return 2 if population and groups.named(text) & population else 1

        return on_topic

    def _rephrase(self, answer: Answer, markdown: str, support: dict[int, str]) -> None:
        assert self.llm is not None
        from leptoguide.answer.index import english_words

        result = rephrase(self.llm, markdown, support, self.drug_names, english_words())
        answer.llm = {
            "model": self.llm.model,
            "used": result.text is not None,
            "dropped": result.dropped,
        }
        if result.error:
            answer.llm["error"] = result.error
        if result.text is None:
            return
        notes = [ln for ln in markdown.splitlines() if ln.startswith(">") or ln.startswith("*This")]
        answer.answer = result.text + ("\n\n" + "\n".join(notes) if notes else "") + "\n"
        cited = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
        answer.citations = [c for c in answer.citations if c.n in cited]


_ENGINES: dict[tuple[str, str, Options], QA] = {}


def engine(kb: KnowledgeBase | None = None, options: Options | None = None) -> QA:
    """A cached pipeline for ``kb`` (the shipped knowledge base by default)."""
    if kb is None:
        from leptoguide.knowledge.loader import get_knowledge

        kb = get_knowledge()
    options = options or Options()
    key = (kb.version, str(home_dir()), options)
    qa = _ENGINES.get(key)
    if qa is None or qa.kb is not kb:
        qa = QA(kb, options)
        _ENGINES[key] = qa
    return qa


def reset() -> None:
    """Forget cached pipelines (after ingesting documents or rebuilding the index)."""
    _ENGINES.clear()


_ASKS_TIME = re.compile(
    r"\b(how long|how soon|how quick(ly)?|how fast|how many (minutes|hours|days|weeks|months)|"
    r"when|what time|timing|till|until)\b",
    re.I,
)
"""A patient question that asks for a time (not "do I have to stop them?")."""
_WHY = re.compile(r"\bwhy\b", re.I)
"""A question asking why wants a reason, not the number a cue word in it seems to ask for
("why did they stop the steroid?")."""


def _merge_more(comp: Computed) -> None:
    """Fold the other answered intents' thresholds, missing data and other findings into
    ``comp`` (each once; a finding that leads is not repeated under "also")."""
    led = {f.rule for x in (comp, *comp.more) for f in x.lead}
    seen_t = {t.id for t in comp.thresholds}
    seen_m = {m.suggestion for m in comp.missing}
    seen_a = {f.rule for f in comp.also}
    for extra in comp.more:
        for t in extra.thresholds:
            if t.id not in seen_t:
                seen_t.add(t.id)
                comp.thresholds.append(t)
        for m in extra.missing:
            if m.suggestion not in seen_m:
                seen_m.add(m.suggestion)
                comp.missing.append(m)
        for f in extra.also:
            if f.rule not in seen_a:
                seen_a.add(f.rule)
                comp.also.append(f)
    comp.also = [f for f in comp.also if f.rule not in led]


def ask(
    question: str,
    *,
    audience: str = "clinician",
    conversation_id: str | None = None,
    top_k: int = DEFAULT_TOP_K,
    kb: KnowledgeBase | None = None,
    conversations: ConversationStore | None = None,
    options: Options | None = None,
    at: dt.datetime | None = None,
) -> Answer:
    """Answer ``question`` from the knowledge base, with citations, or abstain with a reason."""
    qa = engine(kb, options)
    return qa.ask(
        question,
        audience=audience,
        conversation_id=conversation_id,
        top_k=top_k,
        conversations=conversations,
        at=at,
    )


__all__ = ["QA", "Options", "ask", "engine", "replace", "reset"]
