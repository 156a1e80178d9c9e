"""triage learns: labels and trained models; complaints may be questions

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 23:00:00

``complaints.kind`` gains ``question``, so its CHECK constraint is rebuilt. PostgreSQL drops and
creates the named constraint. SQLite cannot alter a constraint: the table is rebuilt (Alembic batch
mode, ``recreate="always"``; its other named CHECK constraint, ``status``, is reflected and kept).
Rebuilding drops the old table, and with foreign keys on SQLite's DROP TABLE first deletes every row
— cascading to posts, deliveries, events and promises. Foreign keys can only be switched off outside
a transaction, so on SQLite the rebuild runs in its own transaction with foreign keys off, checked
with ``PRAGMA foreign_key_check`` before it commits.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OLD_KINDS = "kind IN ('complaint', 'praise', 'other')"
NEW_KINDS = "kind IN ('complaint', 'praise', 'other', 'question')"
LABEL_KINDS = "kind IN ('complaint', 'praise', 'other', 'question', 'not_complaint')"


def _time() -> UTCDateTime:
    return UTCDateTime(timezone=True)


def _set_kinds(condition: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.drop_constraint(op.f("ck_complaints_kind"), "complaints", type_="check")
        op.create_check_constraint(op.f("ck_complaints_kind"), "complaints", condition)
        return
    # Out of the migration's transaction (committing the revisions before this one, which leaves
    # the database consistent at 0003), rebuild with foreign keys off, and back into a transaction
    # for the rest of this revision and Alembic's version bump.
    bind.exec_driver_sql("COMMIT")
    bind.exec_driver_sql("PRAGMA foreign_keys=OFF")
    try:
        bind.exec_driver_sql("BEGIN IMMEDIATE")
        try:
            with op.batch_alter_table("complaints", recreate="always") as batch:
                batch.drop_constraint(op.f("ck_complaints_kind"), type_="check")
                batch.create_check_constraint(op.f("ck_complaints_kind"), condition)
            broken = bind.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"rebuilding complaints broke foreign keys: {broken[:5]}")
        except BaseException:
            bind.exec_driver_sql("ROLLBACK")
            raise
        bind.exec_driver_sql("COMMIT")
    finally:
        bind.exec_driver_sql("PRAGMA foreign_keys=ON")
        bind.exec_driver_sql("BEGIN IMMEDIATE")


def upgrade() -> None:
    _set_kinds(NEW_KINDS)
    op.create_table(
        "triage_labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("is_complaint", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("complaint_id", sa.Integer()),
        sa.Column("created_at", _time(), nullable=False),
        sa.CheckConstraint(LABEL_KINDS, name=op.f("ck_triage_labels_kind")),
        sa.ForeignKeyConstraint(
            ["complaint_id"],
            ["complaints.id"],
            name=op.f("fk_triage_labels_complaint_id_complaints"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_labels")),
    )
    op.create_index("ix_triage_labels_complaint", "triage_labels", ["complaint_id"])
    op.create_index("ix_triage_labels_created", "triage_labels", ["created_at"])
    op.create_table(
        "triage_models",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("label_count", sa.Integer(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("metrics", sa.JSON(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_triage_models")),
        sa.UniqueConstraint("version", name="uq_triage_models_version"),
    )


def downgrade() -> None:
    op.drop_table("triage_models")
    op.drop_index("ix_triage_labels_created", table_name="triage_labels")
    op.drop_index("ix_triage_labels_complaint", table_name="triage_labels")
    op.drop_table("triage_labels")
    # Questions were cards; one level down they can only be "other" posts, kept without a card.
    op.execute("UPDATE complaints SET kind = 'other' WHERE kind = 'question'")
    _set_kinds(OLD_KINDS)
