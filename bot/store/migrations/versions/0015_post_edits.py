"""post edits: when the customer last edited the post a card shows

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 11:40:00

X gives each edit of a post a new id (``edit_history_tweet_ids`` lists them all). Ingest used to
file an edit as a second complaint, or as a thread line, while the card kept the first version's
words. Now the card takes the edited text and says "edited"; this column is when.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("complaints", sa.Column("edited_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # SQLite (3.35+) drops a column in place; a batch rebuild would lose the table's CHECK constraints.
    op.drop_column("complaints", "edited_at")
