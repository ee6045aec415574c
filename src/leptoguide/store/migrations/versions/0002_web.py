"""Web application: accounts, sessions, login attempts, statement reviews, feedback.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "web_users",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(length=80), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_web_users_username", "web_users", ["username"], unique=True)
    op.create_table(
        "web_sessions",
        sa.Column("token_hash", sa.String(length=64), primary_key=True),
        sa.Column(
            "user_id",
            sa.Integer(),
            sa.ForeignKey("web_users.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("csrf_token", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_web_sessions_user_id", "web_sessions", ["user_id"])
    op.create_index("ix_web_sessions_expires_at", "web_sessions", ["expires_at"])
    op.create_table(
        "web_login_attempts",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_web_login_attempts_key", "web_login_attempts", ["key"])
    op.create_index("ix_web_login_attempts_time", "web_login_attempts", ["time"])
    op.create_table(
        "statement_reviews",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("statement_id", sa.String(length=80), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=False),
        sa.Column("to_status", sa.String(length=20), nullable=False),
        sa.Column("reviewer", sa.String(length=80), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("knowledge_version", sa.String(length=80), nullable=False),
    )
    op.create_index("ix_statement_reviews_statement_id", "statement_reviews", ["statement_id"])
    op.create_index("ix_statement_reviews_time", "statement_reviews", ["time"])
    op.create_table(
        "web_feedback",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("target_kind", sa.String(length=20), nullable=False),
        sa.Column("target_id", sa.String(length=80), nullable=False),
        sa.Column("helpful", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("username", sa.String(length=80), nullable=True),
        sa.Column("time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("knowledge_version", sa.String(length=80), nullable=False),
    )
    op.create_index("ix_web_feedback_target_id", "web_feedback", ["target_id"])
    op.create_index("ix_web_feedback_time", "web_feedback", ["time"])
    op.create_table(
        "web_feedback_statements",
        sa.Column(
            "feedback_id",
            sa.Integer(),
            sa.ForeignKey("web_feedback.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("statement_id", sa.String(length=80), primary_key=True),
    )
    op.create_index(
        "ix_web_feedback_statements_statement_id", "web_feedback_statements", ["statement_id"]
    )


def downgrade() -> None:
    op.drop_table("web_feedback_statements")
    op.drop_table("web_feedback")
    op.drop_table("statement_reviews")
    op.drop_table("web_login_attempts")
    op.drop_table("web_sessions")
    op.drop_table("web_users")
