"""Initial service schema: audit log (hash chain), CDS feedback, JWT ids, conversation turns.

Revision ID: 0001
Revises:
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

GENESIS = "0" * 64


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("service", sa.String(length=80), nullable=False),
        sa.Column("patient_hash", sa.String(length=64), nullable=True),
        sa.Column("patient_identifier", sa.String(length=512), nullable=True),
        sa.Column("input_hash", sa.String(length=64), nullable=False),
        sa.Column("knowledge_version", sa.String(length=80), nullable=False),
        sa.Column("policy_id", sa.String(length=80), nullable=False),
        sa.Column("policy_hash", sa.String(length=64), nullable=False),
        sa.Column("output", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("hash"),
    )
    with op.batch_alter_table("audit_events") as batch_op:
        batch_op.create_index("ix_audit_events_patient_hash", ["patient_hash"], unique=False)
        batch_op.create_index("ix_audit_events_seq", ["seq"], unique=True)
        batch_op.create_index("ix_audit_events_service", ["service"], unique=False)
        batch_op.create_index("ix_audit_events_time", ["time"], unique=False)

    head = op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(head, [{"id": 1, "seq": 0, "last_hash": GENESIS}])

    op.create_table(
        "cds_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("service_id", sa.String(length=80), nullable=False),
        sa.Column("card_uuid", sa.String(length=80), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("accepted_suggestions", sa.Text(), nullable=False),
        sa.Column("override_reason", sa.Text(), nullable=True),
        sa.Column("outcome_timestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("cds_feedback") as batch_op:
        batch_op.create_index("ix_cds_feedback_card_uuid", ["card_uuid"], unique=False)
        batch_op.create_index("ix_cds_feedback_service_id", ["service_id"], unique=False)

    op.create_table(
        "conversation_turns",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("conversation_id", sa.String(length=80), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("audience", sa.String(length=20), nullable=False),
        sa.Column("abstained", sa.Boolean(), nullable=False),
        sa.Column("statements", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("conversation_turns") as batch_op:
        batch_op.create_index(
            "ix_conversation_turns_conversation_id", ["conversation_id"], unique=False
        )

    op.create_table(
        "jwt_jti",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("iss", sa.String(length=512), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key"),
    )
    with op.batch_alter_table("jwt_jti") as batch_op:
        batch_op.create_index("ix_jwt_jti_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_table("jwt_jti")
    op.drop_table("conversation_turns")
    op.drop_table("cds_feedback")
    op.drop_table("audit_head")
    op.drop_table("audit_events")
