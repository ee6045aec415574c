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
        return out
