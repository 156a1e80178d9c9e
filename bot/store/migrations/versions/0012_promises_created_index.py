"""index for exporting promises by when they were made

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 17:00:00

``followthrough export --what promises`` chooses promises by when they were made; without an index
on that alone, every export read the whole table to find a month of them.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_promises_created", "promises", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_promises_created", table_name="promises")
