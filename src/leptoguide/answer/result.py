"""The answer contract: what ``ask`` returns and what ``leptoguide ask --format json`` prints."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Audience = Literal["clinician", "patient"]
AUDIENCES: tuple[Audience, ...] = ("clinician", "patient")


@dataclass(frozen=True)
class Citation:
    """One numbered reference: a statement's source (or an ingested passage) and where to look."""

    n: int
    source: str
    title: str
    locator: str
    status: str
    statement: str | None = None
    passage: str | None = None
    flags: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"n": self.n, "source": self.source}
        if self.statement is not None:
            out["statement"] = self.statement
        if self.passage is not None:
            out["passage"] = self.passage
        out.update(title=self.title, locator=self.locator, status=self.status)
        if self.flags:
            out["flags"] = list(self.flags)
        return out


@dataclass
class Answer:
    question: str
    audience: Audience
    abstained: bool
    answer: str
    citations: list[Citation]
    knowledge_version: str
    confidence: float
    reason: str | None = None
    conversation_id: str | None = None
    reading_grade: float | None = None
    statements: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    retrieval: dict[str, Any] = field(default_factory=dict)
    llm: dict[str, Any] | None = None
    lead: str = ""
    """The first one to three sentences (Markdown, with their [n] markers)."""
    urgent: bool = False
    """Warning signs were described: the answer starts with 'seek urgent care now'."""
    abstain_kind: str | None = None
    """Why LeptoGuide abstained: instructions, empty, out-of-scope, personal or unsupported."""
    suggestions: list[str] = field(default_factory=list)
    """After an abstention: questions LeptoGuide can answer (the conversation goes on)."""
    understood: dict[str, Any] = field(default_factory=dict)
    """How the question was read: shorthand and lay words, spelling corrections, warning signs."""
    values_read: list[dict[str, Any]] = field(default_factory=list)
    """Computed answers: the patient values read from the question (to check and correct)."""
    assessment_form: str | None = None
    """Computed answers: the assessment form route, pre-filled with the values read."""
    computed: dict[str, Any] | None = None
    """Computed answers: the intent, the engine findings that answer, policy and time."""

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "question": self.question,
            "audience": self.audience,
            "abstained": self.abstained,
        }
        if self.abstained:
            out["reason"] = self.reason
        out["answer"] = self.answer
        out["citations"] = [c.to_dict() for c in self.citations]
        out["knowledge_version"] = self.knowledge_version
        out["confidence"] = self.confidence
        if self.reading_grade is not None:
            out["reading_grade"] = self.reading_grade
        if self.conversation_id is not None:
            out["conversation_id"] = self.conversation_id
        out["statements"] = list(self.statements)
        if self.warnings:
            out["warnings"] = list(self.warnings)
        out["retrieval"] = dict(self.retrieval)
        if self.llm is not None:
            out["llm"] = dict(self.llm)
        out["lead"] = self.lead
        out["urgent"] = self.urgent
        if self.abstain_kind is not None:
            out["abstain_kind"] = self.abstain_kind
        if self.suggestions:
            out["suggestions"] = list(self.suggestions)
        if self.understood:
            out["understood"] = dict(self.understood)
        if self.computed is not None:
            out["computed"] = dict(self.computed)
            out["values_read"] = list(self.values_read)
            out["assessment_form"] = self.assessment_form
        return out
