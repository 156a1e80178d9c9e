"""index for the report's oldest owed promise per owner

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 14:35:00

The report names the oldest promise still owed for each owner. With (status, owner_id, created_at)
each owner's oldest is one index probe, and the owners themselves are found by skipping from one to
the next in the same index, instead of grouping every owed promise ever made.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_promises_status_owner_created", "promises", ["status", "owner_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_promises_status_owner_created", table_name="promises")
