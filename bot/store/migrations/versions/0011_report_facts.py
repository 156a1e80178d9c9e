"""report facts: first answer, claim and resolve per complaint; outcome per promise

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 16:50:00

The lead's report ranked every event of a period against each complaint's earlier ones (2.8 s for a
week, 23 s for eight at a million complaints). These narrow tables hold the answer, kept with the
events from now on (``bot/history/facts.py``) and derived here once from the events already stored.
The complaints' arrival index gains kind and network so "complaints in" is read from the index alone.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "complaint_facts",
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("waiting_since", UTCDateTime(timezone=True), nullable=False),
        sa.Column("first_response_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_response_by", sa.String(length=64), nullable=True),
        sa.Column("first_response_s", sa.Float(), nullable=True),
        sa.Column("first_claim_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_claim_by", sa.String(length=64), nullable=True),
        sa.Column("first_claim_s", sa.Float(), nullable=True),
        sa.Column("first_resolve_at", UTCDateTime(timezone=True), nullable=True),
        sa.Column("first_resolve_by", sa.String(length=64), nullable=True),
        sa.Column("first_resolve_s", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_complaint_facts_complaint_id_complaints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("complaint_id", name=op.f("pk_complaint_facts")),
    )
    for name, columns in (
        ("response", ["first_response_at", "first_response_by", "source", "first_response_s"]),
        ("claim", ["first_claim_at", "first_claim_by", "source", "first_claim_s"]),
        ("resolve", ["first_resolve_at", "first_resolve_by", "source", "first_resolve_s"]),
    ):
        op.create_index(f"ix_complaint_facts_{name}", "complaint_facts", columns)
    op.create_table(
        "promise_facts",
        sa.Column("promise_id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.String(length=32), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("made_at", UTCDateTime(timezone=True), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=True),
        sa.Column("outcome_at", UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["promise_id"], ["promises.id"], name=op.f("fk_promise_facts_promise_id_promises"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_promise_facts_complaint_id_complaints"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("promise_id", name=op.f("pk_promise_facts")),
    )
    op.create_index("ix_promise_facts_made", "promise_facts", ["made_at", "owner_id", "source"])
    op.create_index("ix_promise_facts_outcome", "promise_facts", ["outcome_at", "outcome", "owner_id", "source"])
    op.create_index("ix_complaints_created_kind_source", "complaints", ["created_at", "kind", "source"])
    op.drop_index("ix_complaints_created", table_name="complaints")

    from bot.history import facts  # the same rules the bot keeps them by

    facts.rebuild(op.get_bind())


def downgrade() -> None:
    op.create_index("ix_complaints_created", "complaints", ["created_at"])
    op.drop_index("ix_complaints_created_kind_source", table_name="complaints")
    op.drop_table("promise_facts")
    op.drop_table("complaint_facts")
