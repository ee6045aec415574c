"""The question-answering pipeline: context -> retrieval -> abstention -> composition -> (LLM)."""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

from leptoguide.answer.abstain import AbstainConfig, Verdict, judge, scope_hits
from leptoguide.answer.compose import compose, select_statements
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
from leptoguide.answer.retrieve import Retrieval, RetrievalConfig, Retriever
from leptoguide.errors import InputError
from leptoguide.settings import home_dir

if TYPE_CHECKING:
    from leptoguide.knowledge.loader import KnowledgeBase

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
    abstain: AbstainConfig = field(default_factory=AbstainConfig)


def index_file(kb: KnowledgeBase) -> Path:
    return home_dir() / "index" / f"statements-{kb.content_hash[:12]}.sqlite"


def load_index(kb: KnowledgeBase, options: Options, progress: object = None) -> StatementIndex:
    """The current statement index for ``kb``, rebuilt (and cached on disk) when out of date."""
    lexicon = lexicon_for(kb)
    embedder = load_embedder() if options.dense else None
    model = embedder.id if embedder is not None else None
    path = index_file(kb) if options.persist else None
    if path is not None:
        found = open_statement_index(path)
        if found is not None and index_is_current(found, kb, model, options.expand_docs):
            return found
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


class QA:
    """Question answering over one knowledge base. Build once, ask many times."""

    def __init__(
        self,
        kb: KnowledgeBase,
        options: Options | None = None,
        *,
        store: PassageStore | None = None,
        llm: LLMConfig | None = None,
    ) -> None:
        self.kb = kb
        self.options = options or Options()
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
        )
        self.llm = llm if llm is not None else (load_config() if self.options.use_llm else None)
        self.drug_names = [
            name
            for c in kb.concepts.values()
            if c.kind == "medication"
            for name in (c.display, *c.synonyms)
        ]

    def ask(
        self,
        question: str,
        *,
        audience: str = "clinician",
        conversation_id: str | None = None,
        top_k: int = DEFAULT_TOP_K,
        conversations: ConversationStore | None = None,
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
                "--audience",
                f"unknown audience '{audience}' (use clinician or patient)",
                "audience",
            )
        aud: Audience = "patient" if audience == "patient" else "clinician"
        if not 1 <= top_k <= MAX_TOP_K:
            raise InputError("--top-k", f"top-k must be between 1 and {MAX_TOP_K}", "top_k")

        history: list[Turn] = []
        if conversation_id is not None:
            check_id(conversation_id)
            if conversations is None:
                conversations = SQLiteConversationStore()
            history = conversations.history(conversation_id)
        in_scope = bool(scope_hits(question, self.lexicon, self.index.jargon))
        query = contextualize(question, history, in_scope)

        retrieval = self.retriever.retrieve(query, limit=max(10, top_k * 2))
        verdict = judge(question, query, retrieval, self.retriever, self.options.abstain)
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
        )
        if verdict.abstain:
            answer.answer = f"LeptoGuide cannot answer this question. {verdict.reason}\n"
        else:
            self._fill(answer, retrieval, verdict, top_k)
        if conversation_id is not None and conversations is not None:
            conversations.append(
                conversation_id,
                Turn(question, query, aud, answer.abstained, tuple(answer.statements)),
            )
        return answer

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

    def _fill(self, answer: Answer, retrieval: Retrieval, verdict: Verdict, top_k: int) -> None:
        statements_ok = verdict.features.get("coverage", 0.0) >= self.options.abstain.min_coverage
        chosen = (
            select_statements(retrieval.statements, self.kb, top_k, answer.audience)
            if statements_ok
            else []
        )
        passages = self._passages(retrieval)
        comp = compose(self.kb, chosen, answer.audience, passages)
        answer.answer = comp.markdown
        answer.citations = comp.citations
        answer.statements = comp.statements
        answer.warnings = comp.warnings
        if answer.audience == "patient" and comp.plain:
            from leptoguide.knowledge.readability import reading_grade

            answer.reading_grade = round(reading_grade(comp.plain), 1)
        if self.llm is not None and chosen:
            self._rephrase(answer, comp.markdown, comp.support)

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


def ask(
    question: str,
    *,
    audience: str = "clinician",
    conversation_id: str | None = None,
    top_k: int = DEFAULT_TOP_K,
    kb: KnowledgeBase | None = None,
    conversations: ConversationStore | None = None,
    options: Options | None = None,
) -> Answer:
    """Answer ``question`` from the knowledge base, with citations, or abstain with a reason."""
    qa = engine(kb, options)
    return qa.ask(
        question,
        audience=audience,
        conversation_id=conversation_id,
        top_k=top_k,
        conversations=conversations,
    )


__all__ = ["QA", "Options", "ask", "engine", "replace", "reset"]
