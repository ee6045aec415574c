"""ORM models of the web application: accounts, sessions, login attempts, reviews, feedback.

The schema itself is the Alembic revision ``0002_web`` (after the service's ``0001``).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from leptoguide.store.models import Base

ROLES = ("viewer", "clinician", "reviewer", "admin")


class WebUser(Base):
    """An account of the web application."""

    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(80), unique=True, index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class WebSession(Base):
    """A signed-in browser: only the SHA-256 of the cookie token is stored."""

    __tablename__ = "web_sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("web_users.id", ondelete="CASCADE"), index=True
    )
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class LoginAttempt(Base):
    """One failed sign-in, keyed by a hash of the account or of the client address (rate limiting)."""

    __tablename__ = "web_login_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class StatementReview(Base):
    """One status change of a statement by a reviewer (the review history)."""

    __tablename__ = "statement_reviews"
    # Optimistic concurrency (revision 0004): each change of a statement takes the next version;
    # two reviewers moving from the same version collide on this constraint, and only one wins.
    __table_args__ = (
        UniqueConstraint("statement_id", "version", name="uq_statement_reviews_version"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    statement_id: Mapped[str] = mapped_column(String(80), index=True)
    version: Mapped[int] = mapped_column(Integer)
    from_status: Mapped[str] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reviewer: Mapped[str] = mapped_column(String(80))
    comment: Mapped[str] = mapped_column(Text)
    time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    knowledge_version: Mapped[str] = mapped_column(String(80))


class WebFeedback(Base):
    """Helpful / not helpful on an answer or an assessment, with a reason."""

    __tablename__ = "web_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    target_kind: Mapped[str] = mapped_column(String(20))  # answer | assessment
    target_id: Mapped[str] = mapped_column(String(80), index=True)  # audit event id
    helpful: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    username: Mapped[str | None] = mapped_column(String(80))
    time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    knowledge_version: Mapped[str] = mapped_column(String(80))


class WebFeedbackStatement(Base):
    """Which statements a feedback item concerns (so reviewers see it beside them)."""

    __tablename__ = "web_feedback_statements"

    feedback_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("web_feedback.id", ondelete="CASCADE"), primary_key=True
    )
    statement_id: Mapped[str] = mapped_column(String(80), primary_key=True, index=True)


class ApiToken(Base):
    """A REST API token of an account (revision ``0003``): only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        Integer, ForeignKey("web_users.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
