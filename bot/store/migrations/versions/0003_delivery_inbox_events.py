"""delivery subsystem, durable inbox, source state tables, typed events, request log

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 20:20:00

The outbox becomes ``deliveries`` (deterministic keys, explicit card dependencies, rate-limit lanes,
set-aside rows); ``ingest_cursors`` is split into ``source_cursors``, ``source_alerts`` and
``brand_accounts``; audit actions become typed event kinds. Data is carried over: pending rows
keep their ids (messages already posted carry them as metadata), cursors keep their positions.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.store.types import UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PENDING = sa.text("status = 'pending'")
CARD_KINDS = "('update_card', 'thread_reply', 'note', 'nag_thread')"


def _time() -> UTCDateTime:
    return UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "source_cursors",
        sa.Column("name", sa.String(96), primary_key=True),
        sa.Column("cursor", sa.String(160)),
        sa.Column("last_post_at", _time()),
        sa.Column("last_poll_at", _time()),
        sa.Column("last_error", sa.Text()),
        sa.Column("malformed", sa.Integer(), server_default="0", nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_source_cursors")),
    )
    op.create_table(
        "source_alerts",
        sa.Column("key", sa.String(128)),
        sa.Column("incident", sa.Integer(), nullable=False),
        sa.Column("raised_at", _time()),
        sa.Column("cleared_at", _time()),
        sa.Column("text", sa.Text()),
        sa.Column("updated_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_source_alerts")),
    )
    op.create_table(
        "brand_accounts",
        sa.Column("network", sa.String(16), nullable=False),
        sa.Column("handle", sa.String(64), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("resolved_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("network", "handle", name=op.f("pk_brand_accounts")),
    )
    op.create_table(
        "inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("stream", sa.String(96), nullable=False),
        sa.Column("position", sa.String(96)),
        sa.Column("record", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text()),
        sa.Column("received_at", _time(), nullable=False),
        sa.CheckConstraint("status IN ('pending', 'skipped')", name=op.f("ck_inbox_status")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbox")),
    )
    op.create_index("ix_inbox_pending", "inbox", ["id"], sqlite_where=PENDING, postgresql_where=PENDING)
    op.create_table(
        "interactions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(128)),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("surface", sa.String(16), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("ref", sa.String(32)),
        sa.Column("outcome", sa.String(300)),
        sa.Column("at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_interactions")),
        sa.UniqueConstraint("key", name="uq_interactions_key"),
    )
    op.create_index("ix_interactions_at", "interactions", ["at"])
    op.create_table(
        "lanes",
        sa.Column("key", sa.String(80), nullable=False),
        sa.Column("next_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_lanes")),
    )
    op.create_table(
        "leases",
        sa.Column("name", sa.String(96), nullable=False),
        sa.Column("holder", sa.String(128), nullable=False),
        sa.Column("expires_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_leases")),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("transport", sa.String(16), nullable=False),
        sa.Column("key", sa.String(160), nullable=False),
        sa.Column("complaint_id", sa.Integer()),
        sa.Column("promise_id", sa.Integer()),
        sa.Column("card_of", sa.Integer()),
        sa.Column("channel", sa.String(32)),
        sa.Column("lane", sa.String(80), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("available_at", _time(), nullable=False),
        sa.Column("first_attempt_at", _time()),
        sa.Column("remote_channel", sa.String(32)),
        sa.Column("remote_id", sa.String(64)),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("sent_at", _time()),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'dead', 'set_aside', 'closed')", name=op.f("ck_deliveries_status")
        ),
        sa.ForeignKeyConstraint(
            ["card_of"], ["complaints.id"], name=op.f("fk_deliveries_card_of_complaints"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_deliveries_complaint_id_complaints"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["promise_id"], ["promises.id"], name=op.f("fk_deliveries_promise_id_promises"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deliveries")),
        sa.UniqueConstraint("key", name="uq_deliveries_key"),
    )
    op.create_index(
        "ix_deliveries_pending", "deliveries", ["priority", "id"], sqlite_where=PENDING, postgresql_where=PENDING
    )
    op.create_index(
        "ix_deliveries_card_of_pending", "deliveries", ["card_of"], sqlite_where=PENDING, postgresql_where=PENDING
    )
    op.create_index("ix_deliveries_promise", "deliveries", ["promise_id"])

    _carry_over()

    # Folding looks for the last day's complaints with the same text: only complaints carry a key
    # now, found by one range of this index.
    op.execute("UPDATE complaints SET text_key = NULL WHERE kind != 'complaint'")
    op.drop_index("ix_complaints_text_key", table_name="complaints")
    op.create_index("ix_complaints_text_key_created", "complaints", ["text_key", "created_at"])

    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_table("outbox")
    op.drop_table("ingest_cursors")


def _carry_over() -> None:
    bind = op.get_bind()
    # Cursors, alerts and the brand id cache each to their own table.
    bind.execute(
        sa.text(
            "INSERT INTO source_cursors (name, cursor, last_post_at, last_poll_at, last_error, malformed, updated_at) "
            "SELECT source, cursor, last_post_at, last_poll_at, last_error, 0, updated_at FROM ingest_cursors "
            "WHERE source NOT LIKE 'alert:%' AND source NOT LIKE 'x:brand:%'"
        )
    )
    bind.execute(
        sa.text(
            "INSERT INTO source_alerts (key, incident, raised_at, cleared_at, text, updated_at) "
            "SELECT substr(source, 7), 1, alerted_at, NULL, last_error, updated_at FROM ingest_cursors "
            "WHERE source LIKE 'alert:%'"
        )
    )
    bind.execute(
        sa.text(
            "INSERT INTO brand_accounts (network, handle, account_id, resolved_at) "
            "SELECT 'x', lower(substr(source, 9)), cursor, updated_at FROM ingest_cursors "
            "WHERE source LIKE 'x:brand:%' AND cursor IS NOT NULL"
        )
    )
    # The outbox, row for row, ids kept; rows that thread under a card say so. (Only constants are
    # formatted into this statement.)
    bind.execute(
        sa.text(
            "INSERT INTO deliveries (id, kind, transport, key, complaint_id, promise_id, card_of, channel, lane, "
            "payload, priority, status, attempts, available_at, first_attempt_at, remote_channel, remote_id, "
            "last_error, created_at, sent_at) "
            "SELECT o.id, o.kind, 'slack', coalesce(o.dedupe_key, 'legacy:' || o.id), o.complaint_id, o.promise_id, "
            f"CASE WHEN o.kind IN {CARD_KINDS} THEN coalesce(c.duplicate_of, o.complaint_id) END, "
            f"CASE WHEN o.kind IN {CARD_KINDS} THEN NULL ELSE o.channel END, "
            "CASE WHEN o.kind = 'update_card' "
            "THEN 'update:' || coalesce(p.slack_channel, c.slack_channel, o.channel, '') "
            f"WHEN o.kind IN {CARD_KINDS} THEN 'post:' || coalesce(p.slack_channel, c.slack_channel, o.channel, '') "
            "ELSE 'post:' || coalesce(o.channel, '') END, "
            "o.payload, o.priority, o.status, o.attempts, o.available_at, "
            "CASE WHEN o.attempts > 0 THEN o.created_at END, o.channel, o.slack_ts, o.last_error, o.created_at, "
            "o.sent_at FROM outbox o LEFT JOIN complaints c ON c.id = o.complaint_id "
            "LEFT JOIN complaints p ON p.id = coalesce(c.duplicate_of, o.complaint_id)"
        )
    )
    # A line that waited for a card the old poster had given up on would wait for ever: closed.
    bind.execute(
        sa.text(
            "UPDATE deliveries SET status = 'closed', last_error = 'its card could not be posted' "
            "WHERE status = 'pending' AND card_of IN "
            "(SELECT complaint_id FROM deliveries WHERE kind = 'post_card' AND status = 'dead')"
        )
    )
    if bind.dialect.name == "postgresql":
        bind.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('deliveries', 'id'), coalesce(max(id), 0) + 1, false) "
                "FROM deliveries"
            )
        )
    _typed_events(bind)


def _typed_events(bind: sa.engine.Connection) -> None:
    """Free-text audit actions become event kinds with typed details; plain request records move to
    the request log (``interactions``)."""
    events = sa.table(
        "audit_events",
        sa.column("id", sa.Integer),
        sa.column("actor", sa.String),
        sa.column("action", sa.String),
        sa.column("note", sa.Text),
        sa.column("details", sa.JSON),
        sa.column("at", _time()),
    )
    interactions = sa.table(
        "interactions",
        sa.column("user_id", sa.String),
        sa.column("surface", sa.String),
        sa.column("name", sa.String),
        sa.column("outcome", sa.String),
        sa.column("at", _time()),
    )
    rows = bind.execute(
        sa.select(events.c.id, events.c.actor, events.c.action, events.c.note, events.c.details, events.c.at).where(
            sa.or_(
                events.c.action.like("click:%"),
                events.c.action.like("error:%"),
                events.c.action.like("nag_%"),
                events.c.action == "promise_rescheduled",
            )
        )
    ).all()
    for row in rows:
        note = row.note or ""
        if row.action.startswith("click:") and not note.startswith(("refused", "conflict")):
            name = row.action.removeprefix("click:").removeprefix("command:")
            surface = "command" if name.startswith("/") else "action"
            bind.execute(
                sa.insert(interactions).values(
                    user_id=row.actor[:32], surface=surface, name=name[:64], outcome=note[:300], at=row.at
                )
            )
            bind.execute(sa.delete(events).where(events.c.id == row.id))
            continue
        if row.action.startswith("click:"):
            values = {"action": "refused", "details": {"action": row.action[6:][:64], "reason": note[:300]}}
        elif row.action.startswith("error:"):
            values = {"action": "failed", "details": {"action": row.action[6:][:64], "ref": note[4:]}}
        elif row.action.startswith("nag_"):
            step = (row.details or {}).get("step", 0)
            values = {"action": "nag", "details": {"step": step, "rung": row.action[4:]}}
        else:
            old = row.details or {}
            values = {
                "details": {"due_from": old.get("from", ""), "due_to": old.get("to", ""), "count": old.get("count", 0)}
            }
        bind.execute(sa.update(events).where(events.c.id == row.id).values(**values))


def downgrade() -> None:
    op.drop_index("ix_complaints_text_key_created", table_name="complaints")
    op.create_index("ix_complaints_text_key", "complaints", ["text_key"])
    op.create_table(
        "ingest_cursors",
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("cursor", sa.String(64)),
        sa.Column("last_post_at", _time()),
        sa.Column("last_poll_at", _time()),
        sa.Column("last_error", sa.Text()),
        sa.Column("alerted_at", _time()),
        sa.Column("updated_at", _time(), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_ingest_cursors")),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("dedupe_key", sa.String(128)),
        sa.Column("complaint_id", sa.Integer()),
        sa.Column("promise_id", sa.Integer()),
        sa.Column("channel", sa.String(32)),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("available_at", _time(), nullable=False),
        sa.Column("slack_ts", sa.String(32)),
        sa.Column("last_error", sa.Text()),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("sent_at", _time()),
        sa.CheckConstraint("status IN ('pending', 'sent', 'dead')", name=op.f("ck_outbox_status")),
        sa.ForeignKeyConstraint(
            ["complaint_id"], ["complaints.id"], name=op.f("fk_outbox_complaint_id_complaints"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["promise_id"], ["promises.id"], name=op.f("fk_outbox_promise_id_promises"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_outbox_dedupe_key")),
    )
    op.create_index("ix_outbox_pending", "outbox", ["priority", "id"], sqlite_where=PENDING, postgresql_where=PENDING)
    bind = op.get_bind()
    bind.execute(
        sa.text(
            "INSERT INTO outbox (id, kind, dedupe_key, complaint_id, promise_id, channel, payload, priority, status, "
            "attempts, available_at, slack_ts, last_error, created_at, sent_at) "
            "SELECT id, kind, substr(key, 1, 128), complaint_id, promise_id, coalesce(channel, remote_channel), "
            "payload, priority, CASE WHEN status IN ('set_aside', 'closed') THEN 'dead' ELSE status END, attempts, "
            "available_at, remote_id, last_error, created_at, sent_at FROM deliveries"
        )
    )
    bind.execute(
        sa.text(
            "INSERT INTO ingest_cursors (source, cursor, last_post_at, last_poll_at, last_error, updated_at) "
            "SELECT substr(name, 1, 64), substr(cursor, 1, 64), last_post_at, last_poll_at, last_error, updated_at "
            "FROM source_cursors"
        )
    )
    for index, table in (
        ("ix_deliveries_promise", "deliveries"),
        ("ix_deliveries_card_of_pending", "deliveries"),
        ("ix_deliveries_pending", "deliveries"),
        ("ix_interactions_at", "interactions"),
        ("ix_inbox_pending", "inbox"),
    ):
        op.drop_index(index, table_name=table)
    for table in (
        "deliveries",
        "leases",
        "lanes",
        "interactions",
        "inbox",
        "brand_accounts",
        "source_alerts",
        "source_cursors",
    ):
        op.drop_table(table)
