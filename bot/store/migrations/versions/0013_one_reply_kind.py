"""one delivery kind for a reply on any network

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-07 04:20:00

A reply to the customer was one kind per network (``reply_x``, ``reply_bluesky``, ``reply_mastodon``);
it is now one kind, ``reply``, whose row names its network in ``transport`` (it always did), so a new
network needs no new kind. Rows already stored — pending ones included — are renamed in place; the
worker then sends them as before.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Every old reply kind was ``reply_<network>``; no other kind starts so.
    op.execute(sa.text("UPDATE deliveries SET kind = 'reply' WHERE kind LIKE 'reply!_%' ESCAPE '!'"))


def downgrade() -> None:
    op.execute(sa.text("UPDATE deliveries SET kind = 'reply_' || transport WHERE kind = 'reply'"))
