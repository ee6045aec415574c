"""Optimistic concurrency on statement reviews: a version per statement, unique per statement.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("statement_reviews") as batch_op:
        batch_op.add_column(sa.Column("version", sa.Integer(), nullable=True))
    # existing history: versions 1, 2, 3 ... per statement in the order the rows were written
    conn = op.get_bind()
    rows = conn.execute(
        sa.text("SELECT id, statement_id FROM statement_reviews ORDER BY statement_id, id")
    ).all()
    counts: dict[str, int] = {}
    for row_id, statement_id in rows:
        counts[statement_id] = counts.get(statement_id, 0) + 1
        conn.execute(
            sa.text("UPDATE statement_reviews SET version = :v WHERE id = :i"),
            {"v": counts[statement_id], "i": row_id},
        )
    with op.batch_alter_table("statement_reviews") as batch_op:
        batch_op.alter_column("version", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint(
            "uq_statement_reviews_version", ["statement_id", "version"]
        )


def downgrade() -> None:
    with op.batch_alter_table("statement_reviews") as batch_op:
        batch_op.drop_constraint("uq_statement_reviews_version", type_="unique")
        batch_op.drop_column("version")
