"""near duplicates and actors

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 18:48:53.410071
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Plain ADD COLUMN, not batch mode: batch mode rebuilds the table on SQLite, and SQLite's CHECK
    # constraints are not reflected, so they would be lost. SQLite gets no FK constraint for the new
    # column (it cannot add one without a rebuild); PostgreSQL does.
    op.add_column("complaints", sa.Column("text_key", sa.String(length=32), nullable=True))
    op.add_column("complaints", sa.Column("duplicate_of", sa.Integer(), nullable=True))
    op.add_column("complaints", sa.Column("duplicate_count", sa.Integer(), server_default="0", nullable=False))
    op.add_column("complaints", sa.Column("escalated_by", sa.String(length=32), nullable=True))
    op.add_column("complaints", sa.Column("resolved_by", sa.String(length=32), nullable=True))
    op.create_index("ix_complaints_text_key", "complaints", ["text_key"], unique=False)
    if op.get_bind().dialect.name != "sqlite":
        op.create_foreign_key(
            op.f("fk_complaints_duplicate_of_complaints"),
            "complaints",
            "complaints",
            ["duplicate_of"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        op.drop_constraint(op.f("fk_complaints_duplicate_of_complaints"), "complaints", type_="foreignkey")
    op.drop_index("ix_complaints_text_key", table_name="complaints")
    for column in ("resolved_by", "escalated_by", "duplicate_count", "duplicate_of", "text_key"):
        op.drop_column("complaints", column)
