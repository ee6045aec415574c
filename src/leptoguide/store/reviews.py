"""Statement review workflow: every status change is a row; the latest one wins over the YAML.

Optimistic concurrency: each row carries the statement's next version, unique per statement
(revision 0004). A reviewer's form sends the version they saw; a change made meanwhile is refused
("reload the page"), and two changes from the same version collide on the unique constraint, so
exactly one wins on SQLite and PostgreSQL alike, with no lock held while a person reads.

Two-person rule (optional, on by default in the web app): a statement is approved only by someone
other than the reviewer who submitted it for review, so no one approves alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from leptoguide.errors import InputError
from leptoguide.store.db import Database, as_utc, utcnow
from leptoguide.store.web_models import StatementReview

TRANSITIONS: dict[str, tuple[str, ...]] = {
    "draft": ("in_review", "approved"),
    "verified": ("in_review", "approved"),
    "in_review": ("approved", "draft"),
    "approved": ("in_review",),
    "retired": ("in_review",),
}
"""Allowed moves: draft or verified (the shipped file status) -> in_review -> approved, and back one
step (to draft: ``verified`` is a content editor's check that a site reviewer does not grant). draft -> approved is the
one-step review; under the two-person rule it is refused (someone else must approve)."""


@dataclass(frozen=True)
class ReviewEntry:
    statement_id: str
    from_status: str
    to_status: str
    reviewer: str
    comment: str
    time: datetime
    knowledge_version: str
    version: int = 0


def _entry(row: StatementReview) -> ReviewEntry:
    return ReviewEntry(
        row.statement_id,
        row.from_status,
        row.to_status,
        row.reviewer,
        row.comment,
        as_utc(row.time),
        row.knowledge_version,
        row.version,
    )


def current_version(db: Database, statement_id: str) -> int:
    """The version of a statement's review state: 0 when never reviewed here."""
    with db.session() as session:
        value = session.execute(
            select(func.max(StatementReview.version)).where(
                StatementReview.statement_id == statement_id
            )
        ).scalar_one_or_none()
        return int(value or 0)


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
    expected_version: int | None = None,
    two_person: bool = False,
    clinical_role: str = "",
) -> ReviewEntry:
    """Move a statement from ``current`` to ``to_status``.

    ``expected_version``: the version the reviewer saw (None: the latest). InputError if the move
    is not allowed, the statement changed meanwhile, or the two-person rule forbids it.
    Approval is a named clinician's sign-off: it needs the reviewer's clinical role (e.g.
    "consultant neurologist"), recorded with their name and the time in the review history.
    """
    where = f"statement {statement_id}"
    comment = comment.strip()
    if to_status not in TRANSITIONS.get(current, ()):
        raise InputError(where, f"cannot move from {current} to {to_status}", "to_status")
    if not comment:
        raise InputError(where, "a comment is required", "comment")
    if len(comment) > 4000:
        raise InputError(where, "comment longer than 4000 characters")
    clinical_role = " ".join(clinical_role.split())
    changed = InputError(where, "the statement changed meanwhile; reload the page", "to_status")
    try:
        with db.session() as session, session.begin():
            last = session.execute(
                select(StatementReview)
                .where(StatementReview.statement_id == statement_id)
                .order_by(StatementReview.version.desc())
                .limit(1)
            ).scalar_one_or_none()
            version = last.version if last is not None else 0
            if expected_version is not None and expected_version != version:
                raise changed
            if last is not None and last.to_status != current:
                raise InputError(
                    where,
                    f"the status changed to {last.to_status} meanwhile; reload the page",
                    "to_status",
                )
            if two_person and to_status == "approved":
                if last is None or last.to_status != "in_review":
                    raise InputError(
                        where,
                        "two-person rule: submit it for review first; another reviewer approves",
                        "to_status",
                    )
                if last.reviewer == reviewer:
                    raise InputError(
                        where,
                        f"two-person rule: {reviewer} submitted it for review, so another "
                        "reviewer must approve it",
                        "to_status",
                    )
            if to_status == "approved":
                if not 3 <= len(clinical_role) <= 120:
                    raise InputError(
                        where,
                        "approval needs your clinical role (3 to 120 characters)",
                        "clinical_role",
                    )
                comment = f"Approved by {reviewer} ({clinical_role}). {comment}"
            row = StatementReview(
                statement_id=statement_id,
                version=version + 1,
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
    except IntegrityError as exc:  # another change took this version first
        raise changed from exc
