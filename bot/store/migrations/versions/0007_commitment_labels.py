"""commitment labels: promises found in brand replies, proposed or tracked, and who decided

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-02 13:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision: str = "0007"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "commitment_labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("post_id", sa.String(length=64), nullable=False),
        sa.Column("span_start", sa.Integer(), nullable=False),
        sa.Column("origin", sa.String(length=16), nullable=False),
        sa.Column("reply_text", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("due_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("ask", sa.Text(), nullable=True),
        sa.Column("decision", sa.String(length=16), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("proposed_to", sa.String(length=32), nullable=True),
        sa.Column("track_after", UTCDateTime(timezone=True), nullable=True),
        sa.Column("promise_id", sa.Integer(), nullable=True),
        sa.Column("created_at", UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_commitment_labels_complaint_id_complaints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["promise_id"], ["promises.id"], name=op.f("fk_commitment_labels_promise_id_promises"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commitment_labels")),
        sa.UniqueConstraint("source", "post_id", "span_start", name="uq_commitment_labels_source"),
    )
    op.create_index("ix_commitment_labels_pending", "commitment_labels", ["decision", "track_after"])
    op.create_index("ix_commitment_labels_complaint", "commitment_labels", ["complaint_id"])


def downgrade() -> None:
    op.drop_index("ix_commitment_labels_complaint", table_name="commitment_labels")
    op.drop_index("ix_commitment_labels_pending", table_name="commitment_labels")
    op.drop_table("commitment_labels")
