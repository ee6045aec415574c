"""Feedback from the web application on answers and assessments (helpful or not, and why)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from leptoguide.errors import InputError
from leptoguide.store.db import Database, as_utc, utcnow
from leptoguide.store.web_models import WebFeedback, WebFeedbackStatement

KINDS = ("answer", "assessment")
MAX_REASON = 2000


@dataclass(frozen=True)
class FeedbackItem:
    id: int
    target_kind: str
    target_id: str
    helpful: bool
    reason: str
    username: str | None
    time: datetime


def add_feedback(
    db: Database,
    *,
    target_kind: str,
    target_id: str,
    helpful: bool,
    reason: str,
    username: str | None,
    statements: list[str],
    knowledge_version: str,
) -> int:
    if target_kind not in KINDS:
        raise InputError("feedback", f"unknown target {target_kind!r}", "target_kind")
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise InputError("feedback", f"reason longer than {MAX_REASON} characters", "reason")
    with db.session() as session, session.begin():
        row = WebFeedback(
            target_kind=target_kind,
            target_id=target_id,
            helpful=helpful,
            reason=reason,
            username=username,
            time=utcnow(),
            knowledge_version=knowledge_version,
        )
        session.add(row)
        session.flush()
        for sid in sorted(set(statements)):
            session.add(WebFeedbackStatement(feedback_id=row.id, statement_id=sid))
        return int(row.id)


def _item(row: WebFeedback) -> FeedbackItem:
    return FeedbackItem(
        row.id,
        row.target_kind,
        row.target_id,
        row.helpful,
        row.reason,
        row.username,
        as_utc(row.time),
    )


def feedback_for_statement(db: Database, statement_id: str, limit: int = 50) -> list[FeedbackItem]:
    """Feedback on answers and assessments that cited this statement, newest first."""
    stmt = (
        select(WebFeedback)
        .join(WebFeedbackStatement, WebFeedbackStatement.feedback_id == WebFeedback.id)
        .where(WebFeedbackStatement.statement_id == statement_id)
        .order_by(WebFeedback.id.desc())
        .limit(limit)
    )
    with db.session() as session:
        return [_item(r) for r in session.execute(stmt).scalars()]


def recent_feedback(db: Database, limit: int = 100) -> list[FeedbackItem]:
    with db.session() as session:
        rows = session.execute(select(WebFeedback).order_by(WebFeedback.id.desc()).limit(limit))
        return [_item(r) for r in rows.scalars()]


def unhelpful_counts(db: Database) -> dict[str, int]:
    """Statement id -> number of 'not helpful' feedback items that involved it."""
    stmt = (
        select(WebFeedbackStatement.statement_id, func.count())
        .join(WebFeedback, WebFeedback.id == WebFeedbackStatement.feedback_id)
        .where(WebFeedback.helpful.is_(False))
        .group_by(WebFeedbackStatement.statement_id)
    )
    with db.session() as session:
        return {sid: int(n) for sid, n in session.execute(stmt).all()}
