"""api usage: a network's paid API calls and their cost, per month

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 11:50:00

X charges per post read ($0.001 for the brand's own mentions read with its keys, $0.005 otherwise)
and per post made. The team saw the cost only on X's bill; ``check`` and the weekly report now show
the month's reads and replies and what they cost, counted as they happen.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_usage",
        sa.Column("network", sa.String(32), nullable=False),
        sa.Column("month", sa.String(7), nullable=False),
        sa.Column("item", sa.String(32), nullable=False),
        sa.Column("count", sa.BigInteger(), nullable=False),
        sa.Column("cost_micros", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("network", "month", "item"),
    )


def downgrade() -> None:
    op.drop_table("api_usage")
