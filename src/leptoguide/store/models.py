"""ORM models (SQLAlchemy 2, typed). The schema itself lives in the Alembic migrations."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, DateTime, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    """Declarative base for every LeptoGuide table."""


class AuditEvent(Base):
    """One recorded assessment, answer or CDS Hooks response, hash-chained to its predecessor."""

    __tablename__ = "audit_events"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True, index=True)
    time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    service: Mapped[str] = mapped_column(String(80), index=True)
    patient_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    patient_identifier: Mapped[str | None] = mapped_column(String(512))
    input_hash: Mapped[str] = mapped_column(String(64))
    knowledge_version: Mapped[str] = mapped_column(String(80))
    policy_id: Mapped[str] = mapped_column(String(80))
    policy_hash: Mapped[str] = mapped_column(String(64))
    output: Mapped[str] = mapped_column(Text)
    # Who made the event (revision 0003): the account's username (plain) or a CDS client's
    # issuer, and how they authenticated (bearer | session | jwt | none). Null on older events.
    actor: Mapped[str | None] = mapped_column(String(120), default=None)
    auth_method: Mapped[str | None] = mapped_column(String(20), default=None)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)


class AuditHead(Base):
    """A single row: the last sequence number and hash. Appends lock it (serialises writers)."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    last_hash: Mapped[str] = mapped_column(String(64))


class CdsFeedback(Base):
    """One feedback item a CDS client posted for a card."""

    __tablename__ = "cds_feedback"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service_id: Mapped[str] = mapped_column(String(80), index=True)
    card_uuid: Mapped[str] = mapped_column(String(80), index=True)
    outcome: Mapped[str] = mapped_column(String(20))
    accepted_suggestions: Mapped[str] = mapped_column(Text)
    override_reason: Mapped[str | None] = mapped_column(Text)
    outcome_timestamp: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class JwtJti(Base):
    """A JWT id already seen (replay protection); rows expire with the token."""

    __tablename__ = "jwt_jti"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    iss: Mapped[str] = mapped_column(String(512))
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)


class ConversationTurn(Base):
    """One question-answering turn; a conversation is its turns in id order (shared by processes)."""

    __tablename__ = "conversation_turns"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    conversation_id: Mapped[str] = mapped_column(String(80), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    question: Mapped[str] = mapped_column(Text)
    query: Mapped[str] = mapped_column(Text)
    audience: Mapped[str] = mapped_column(String(20))
    abstained: Mapped[bool] = mapped_column(Boolean)
    statements: Mapped[str] = mapped_column(Text)
