"""incident suggestions and merges: a card the grouping missed, offered to a person with one click;
an outage the grouping split in two, made one

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07 23:30:00

Grouping reads an outage's words and misses a fifth of its customers on wordings nobody tuned it
on; a sentence embedding finds most of them but also some ordinary complaints, so it only suggests.
Each suggestion is a row: which card, which incident, how near, and what a person decided, by whom
and when (``status``: open, added, dismissed).

An incident merged into another (``/complaints move incident 8 into 7``) is kept, ``released``, with
``merged_into`` naming the one its customers went to.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "incident_suggestions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("complaint_id", sa.Integer(), nullable=False),
        sa.Column("incident_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(32), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('open', 'added', 'dismissed')", name=op.f("ck_incident_suggestions_status")),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_incident_suggestions_complaint_id_complaints"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["incident_id"],
            ["incidents.id"],
            name=op.f("fk_incident_suggestions_incident_id_incidents"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incident_suggestions")),
        sa.UniqueConstraint("complaint_id", "incident_id", name="uq_incident_suggestions_pair"),
    )
    op.create_index("ix_incident_suggestions_incident", "incident_suggestions", ["incident_id", "status"])
    op.add_column("incidents", sa.Column("merged_into", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("incidents", "merged_into")
    op.drop_index("ix_incident_suggestions_incident", table_name="incident_suggestions")
    op.drop_table("incident_suggestions")
