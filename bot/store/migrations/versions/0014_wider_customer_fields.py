"""wider customer fields: a real handle, name, link or language is never cut

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 06:30:00

Handles were 64 characters, and longer ones were cut to fit: a Bluesky handle is a domain name (up
to 253 characters) and a Mastodon account is ``user@domain``. Display names were 128 (Bluesky allows
640 bytes), links 512, languages 16 (a BCP 47 tag may be 35). The columns now hold what the networks
allow, and ingest refuses anything longer with its reason instead of cutting it.

On SQLite nothing changes: it never enforces a VARCHAR's length, and changing a declared type means
rebuilding the table, which would drop its CHECK constraints (see 0002).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WIDER = [
    ("complaints", "author_handle", 64, 320),
    ("posts", "author_handle", 64, 320),
    ("brand_accounts", "handle", 64, 320),
    ("complaints", "author_name", 128, 640),
    ("complaints", "url", 512, 2048),
    ("complaints", "lang", 16, 35),
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column, old, new in WIDER:
        op.alter_column(table, column, type_=sa.String(new), existing_type=sa.String(old))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    for table, column, old, new in WIDER:
        # Values that only fit the wider column are cut, as they were before it grew.
        op.execute(sa.text(f"UPDATE {table} SET {column} = left({column}, {old}) WHERE length({column}) > {old}"))
        op.alter_column(table, column, type_=sa.String(old), existing_type=sa.String(new))
