"""Statement review workflow: every status change is a row; the latest one wins over the YAML."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from leptoguide.errors import InputError
from leptoguide.store.db import Database, as_utc, utcnow
from leptoguide.store.web_models import StatementReview

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("in_review",),
    "verified": ("in_review",),
    "in_review": ("approved", "draft"),
    "approved": ("in_review",),
    "retired": ("in_review",),
}
"""Allowed moves: draft or verified -> in_review -> approved, and back one step (to draft: the
file's ``verified`` is a content editor's check, which a site reviewer cannot grant)."""


@dataclass(frozen=True)
class ReviewEntry:
    statement_id: str
    from_status: str
    to_status: str
    reviewer: str
    comment: str
    time: datetime
    knowledge_version: str


def _entry(row: StatementReview) -> ReviewEntry:
    return ReviewEntry(
        row.statement_id,
        row.from_status,
        row.to_status,
        row.reviewer,
        row.comment,
        as_utc(row.time),
        row.knowledge_version,
    )


def latest_statuses(db: Database) -> dict[str, str]:
    """Statement id -> status set by its latest review (statements never reviewed are absent)."""
    latest = (
        select(StatementReview.statement_id, func.max(StatementReview.id).label("last"))
        .group_by(StatementReview.statement_id)
        .subquery()
    )
    stmt = select(StatementReview.statement_id, StatementReview.to_status).join(
        latest, StatementReview.id == latest.c.last
    )
    with db.session() as session:
        return {sid: status for sid, status in session.execute(stmt).all()}


def history(db: Database, statement_id: str) -> list[ReviewEntry]:
    """Every review of a statement, newest first."""
    with db.session() as session:
        rows = session.execute(
            select(StatementReview)
            .where(StatementReview.statement_id == statement_id)
            .order_by(StatementReview.id.desc())
        ).scalars()
        return [_entry(r) for r in rows]


def record_review(
    db: Database,
    *,
    statement_id: str,
    current: str,
    to_status: str,
    reviewer: str,
    comment: str,
    knowledge_version: str,
    clinical_role: str = "",
) -> ReviewEntry:
    """Move a statement from ``current`` to ``to_status``; InputError if the move is not allowed.

    Approval is a named clinician's sign-off: it needs the reviewer's clinical role (e.g.
    "consultant neurologist"), recorded with their name and the time in the review history.
    """
    comment = comment.strip()
    clinical_role = " ".join(clinical_role.split())
    if not comment:
        raise InputError(f"statement {statement_id}", "a comment is required", "comment")
    if to_status == "approved":
        if not 3 <= len(clinical_role) <= 120:
            raise InputError(
                f"statement {statement_id}",
                "approval needs your clinical role (3 to 120 characters)",
                "clinical_role",
            )
        comment = f"Approved by {reviewer} ({clinical_role}). {comment}"
    if to_status not in TRANSITIONS.get(current, ()):
        raise InputError(
            f"statement {statement_id}",
            f"cannot move from {current} to {to_status}",
            "to_status",
        )
    if not comment:
        raise InputError(f"statement {statement_id}", "a comment is required", "comment")
    if len(comment) > 4200:
        raise InputError(f"statement {statement_id}", "comment longer than 4000 characters")
    with db.session() as session, session.begin():
        # Re-read inside the transaction so two reviewers cannot both move from the same state.
        last = session.execute(
            select(StatementReview.to_status)
            .where(StatementReview.statement_id == statement_id)
            .order_by(StatementReview.id.desc())
            .limit(1)
        ).scalar_one_or_none()
        if last is not None and last != current:
            raise InputError(
                f"statement {statement_id}",
                f"the status changed to {last} meanwhile; reload the page",
                "to_status",
            )
        row = StatementReview(
            statement_id=statement_id,
            from_status=current,
            to_status=to_status,
            reviewer=reviewer,
            comment=comment,
            time=utcnow(),
            knowledge_version=knowledge_version,
        )
        session.add(row)
        session.flush()
        return _entry(row)
