"""Migrations go from empty to head and back, and the models match what the migrations build."""

from __future__ import annotations

import re

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Engine, inspect

from bot.store import migrate
from bot.store.models import Base

TABLES = {
    "complaints",
    "posts",
    "audit_events",
    "promises",
    "source_cursors",
    "source_alerts",
    "brand_accounts",
    "inbox",
    "deliveries",
    "lanes",
    "leases",
    "interactions",
    "job_runs",
    "slack_users",
    "complaint_facts",
    "promise_facts",
}


@pytest.fixture
def replayed(engine: Engine) -> Engine:
    """Every migration run in turn, as an existing desk upgrades (``migrated`` builds a new one from
    the models in one step)."""
    migrate.upgrade(engine, replay=True)
    return engine


def _type(engine: Engine, column_type: object) -> str:
    """A column's type as the engine keeps it: SQLite never enforces a VARCHAR's length, and 0014
    leaves SQLite's declared lengths as they were (changing one rebuilds the table), so there the
    length says nothing."""
    text = str(column_type)
    return re.sub(r"VARCHAR\(\d+\)", "VARCHAR", text) if engine.dialect.name == "sqlite" else text


def schema(engine: Engine) -> dict[str, dict[str, object]]:
    """What a database's catalog says of every table: columns (type, nullability, default), primary
    key, foreign keys, unique and check constraints, and indexes (with their WHERE clause)."""
    found = inspect(engine)
    out: dict[str, dict[str, object]] = {}
    for table in sorted(found.get_table_names()):
        if table == "alembic_version":
            continue
        indexes = []
        for ix in found.get_indexes(table):
            options = ix.get("dialect_options", {})
            where = options.get("postgresql_where", options.get("sqlite_where"))
            clause = "" if where is None else " ".join(str(where).split())
            indexes.append((ix["name"], tuple(ix["column_names"]), bool(ix["unique"]), clause))
        out[table] = {
            "columns": sorted(
                [
                    (c["name"], _type(engine, c["type"]), c["nullable"], str(c.get("default") or ""))
                    for c in found.get_columns(table)
                ]
            ),
            "pk": tuple(found.get_pk_constraint(table)["constrained_columns"]),
            "fks": sorted(
                (fk["name"] or "", tuple(fk["constrained_columns"]), fk["referred_table"], str(fk.get("options")))
                for fk in found.get_foreign_keys(table)
            ),
            "unique": sorted((u["name"] or "", tuple(u["column_names"])) for u in found.get_unique_constraints(table)),
            "checks": sorted(" ".join(str(c["sqltext"]).split()) for c in found.get_check_constraints(table)),
            "indexes": sorted(indexes),
        }
    return out


def test_a_new_database_built_from_the_models_is_the_migrated_schema(db_url: str):
    from bot.store.engine import make_engine

    fresh, replay = make_engine(db_url), None
    try:
        migrate.upgrade(fresh)
        assert migrate.schema_state(fresh).up_to_date
        built = schema(fresh)
        migrate.downgrade(fresh, "base")
        replay = fresh
        migrate.upgrade(replay, replay=True)
        replayed_schema = schema(replay)
    finally:
        fresh.dispose()
    assert built.keys() == replayed_schema.keys()
    for table in built:
        assert built[table] == replayed_schema[table], table


def test_upgrade_from_empty_to_head_and_back_down(engine: Engine):
    assert migrate.current_revision(engine) is None
    migrate.upgrade(engine)
    assert migrate.schema_state(engine).up_to_date
    assert TABLES <= set(inspect(engine).get_table_names())

    migrate.downgrade(engine, "base")
    assert migrate.current_revision(engine) is None
    assert not TABLES & set(inspect(engine).get_table_names())

    migrate.upgrade(engine)
    assert migrate.schema_state(engine).up_to_date


def test_models_match_migrations(replayed: Engine):
    migrated = replayed
    with migrated.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    if migrated.dialect.name == "sqlite":
        # 0002 and 0017 add complaints.duplicate_of and incident_id without FKs on SQLite (a table rebuild,
        # which would drop SQLite's CHECK constraints); that one difference is by design.
        diff = [d for d in diff if not (d[0] == "add_fk" and d[1].name in migrate.SQLITE_MIGRATIONS_LEAVE_OUT)]
        # 0014 widens VARCHARs on PostgreSQL only: SQLite never enforces their length.
        diff = [
            d
            for d in diff
            if not (
                isinstance(d, list)
                and all(c[0] == "modify_type" and str(c[5]).startswith("VARCHAR") for c in d)
                and all(str(c[6]).startswith("VARCHAR") for c in d)
            )
        ]
    assert diff == [], f"models and migrations disagree; write a migration: {diff}"


def test_ensure_schema_upgrades_sqlite_but_refuses_stale_postgres(engine: Engine):
    if engine.dialect.name == "sqlite":
        state = migrate.ensure_schema(engine)
        assert state.up_to_date
    else:
        with pytest.raises(migrate.SchemaOutOfDate, match="followthrough db upgrade"):
            migrate.ensure_schema(engine)
        assert migrate.current_revision(engine) is None


def test_partial_index_for_overdue_scan_exists(migrated: Engine):
    indexes = {ix["name"] for ix in inspect(migrated).get_indexes("promises")}
    assert "ix_promises_open_next_nag" in indexes


def test_check_constraints_survive_every_migration(replayed: Engine):
    migrated = replayed
    from datetime import UTC, datetime

    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    now = datetime(2026, 1, 1, tzinfo=UTC)
    row = {
        "source": "x",
        "external_id": "1",
        "author_id": "1",
        "author_handle": "a",
        "author_followers": 0,
        "author_verified": False,
        "text": "t",
        "posted_at": now,
        "sentiment_compound": 0,
        "sentiment_pos": 0,
        "sentiment_neg": 0,
        "sentiment_neu": 0,
        "kind": "complaint",
        "triage_score": 0,
        "triage_signals": [],
        "priority": 0,
        "status": "bogus",
        "customer_confirmed": False,
        "amplification_count": 0,
        "amplification_reach": 0,
        "reply_count": 0,
        "repeat_contact": 0,
        "created_at": now,
        "updated_at": now,
    }
    from bot.store.models import Complaint

    with pytest.raises(IntegrityError), migrated.begin() as conn:
        conn.execute(Complaint.__table__.insert(), row)
    with migrated.begin() as conn:
        conn.execute(Complaint.__table__.insert(), {**row, "status": "new"})
        assert conn.execute(text("SELECT duplicate_count FROM complaints")).scalar_one() == 0


def test_0003_carries_the_outbox_cursors_alerts_and_events_over(engine: Engine):
    """Upgrading a running desk loses nothing: pending deliveries keep their ids (posted messages
    carry them), cursors keep their place, the alert and brand cache move to their own tables, and
    free-text audit actions become typed events or request-log rows."""
    from datetime import UTC, datetime

    from sqlalchemy import text

    from bot.history.events import details_of
    from bot.store.engine import make_sessionmaker
    from bot.store.models import AuditEvent, BrandAccount, Delivery, Interaction, SourceAlert, SourceCursor

    migrate.upgrade(engine, "0002")
    at = datetime(2026, 3, 1, 12, 0, tzinfo=UTC).replace(tzinfo=None).isoformat(" ")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO complaints (id, source, external_id, author_id, author_handle, author_followers, "
                "author_verified, text, posted_at, sentiment_compound, sentiment_pos, sentiment_neg, sentiment_neu, "
                "kind, triage_score, triage_signals, priority, status, customer_confirmed, slack_channel, slack_ts, "
                "amplification_count, amplification_reach, reply_count, repeat_contact, duplicate_count, created_at, "
                "updated_at) VALUES (7, 'x', '1', '1', 'c', 0, false, 't', :at, 0, 0, 0, 0, 'complaint', 1, '[]', "
                "50, 'new', false, 'C0COMPLAIN', '1.1', 0, 0, 0, 0, 0, :at, :at)"
            ),
            {"at": at},
        )
        for row_id, kind, key, channel, status in (
            (41, "post_card", "card:7", "C0COMPLAIN", "sent"),
            (42, "note", "note:abc", None, "pending"),
            (43, "update_card", "update:7", None, "pending"),
        ):
            conn.execute(
                text(
                    "INSERT INTO outbox (id, kind, dedupe_key, complaint_id, channel, payload, priority, status, "
                    "attempts, available_at, slack_ts, created_at) VALUES (:id, :kind, :key, 7, :channel, '{}', 5, "
                    ":status, 1, :at, :ts, :at)"
                ),
                {
                    "id": row_id,
                    "kind": kind,
                    "key": key,
                    "channel": channel,
                    "status": status,
                    "at": at,
                    "ts": "1.1" if status == "sent" else None,
                },
            )
        for name, cursor, alerted in (
            ("x:mentions", "1790001", None),
            ("alert:x-credentials", None, at),
            ("x:brand:acmehelp", "1000", None),
        ):
            conn.execute(
                text(
                    "INSERT INTO ingest_cursors (source, cursor, alerted_at, last_error, updated_at) "
                    "VALUES (:name, :cursor, :alerted, 'boom', :at)"
                ),
                {"name": name, "cursor": cursor, "alerted": alerted, "at": at},
            )
        for action, note, details in (
            ("click:claim", "conflict: #7 is already claimed", None),
            ("click:resolve", "opened the form", None),
            ("nag_thread", "call back", '{"step": 1}'),
            ("promise_rescheduled", "busy", '{"from": "a", "to": "b", "count": 2}'),
        ):
            conn.execute(
                text(
                    "INSERT INTO audit_events (complaint_id, actor, action, note, details, at) "
                    "VALUES (7, 'U0ALICE01', :action, :note, :details, :at)"
                ),
                {"action": action, "note": note, "details": details, "at": at},
            )
    migrate.upgrade(engine)
    with make_sessionmaker(engine)() as s:
        rows = {d.id: d for d in s.query(Delivery)}
        assert set(rows) == {41, 42, 43}
        assert (rows[41].status, rows[41].remote_id, rows[41].lane) == ("sent", "1.1", "post:C0COMPLAIN")
        assert (rows[42].card_of, rows[42].lane, rows[42].status) == (7, "post:C0COMPLAIN", "pending")
        assert (rows[43].card_of, rows[43].lane) == (7, "update:C0COMPLAIN")
        assert s.get(SourceCursor, "x:mentions").cursor == "1790001"
        assert s.get(SourceCursor, "alert:x-credentials") is None
        assert s.get(SourceAlert, "x-credentials").raised_at is not None
        assert s.get(BrandAccount, ("x", "acmehelp")).account_id == "1000"
        events = {e.action: e for e in s.query(AuditEvent)}
        assert set(events) == {"refused", "nag", "promise_rescheduled"}
        assert events["refused"].details == {"action": "claim", "reason": "conflict: #7 is already claimed"}
        assert details_of(events["nag"]).rung == "thread"
        assert details_of(events["promise_rescheduled"]).count == 2
        [opened] = s.query(Interaction).all()
        assert (opened.user_id, opened.name, opened.outcome) == ("U0ALICE01", "resolve", "opened the form")
    with make_sessionmaker(engine)() as s, s.begin():  # new rows get fresh ids on PostgreSQL too
        s.add(
            Delivery(
                kind="alert",
                transport="slack",
                key="k",
                lane="post:C1",
                channel="C1",
                payload={},
                priority=0,
                status="pending",
                attempts=0,
                available_at=datetime.now(UTC),
                created_at=datetime.now(UTC),
            )
        )


def test_0013_renames_stored_replies_to_the_one_reply_kind_and_back(engine: Engine):
    """A pending reply stored under a network's own kind (``reply_x``) is still sent after the upgrade:
    it becomes ``reply`` with its network kept in ``transport``; other kinds are left alone."""
    from datetime import UTC, datetime

    from sqlalchemy import select

    from bot import outbox
    from bot.outbox.kinds import DeliveryKind
    from bot.store.models import Delivery

    migrate.upgrade(engine, "0012")
    at = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    table = Delivery.__table__

    def as_of_0012(values: dict) -> dict:
        return {k: v for k, v in values.items() if k != "incident_update"}  # a column 0017 adds

    with engine.begin() as conn:
        for n, network in enumerate(("x", "bluesky", "mastodon")):
            values = outbox.row(DeliveryKind.REPLY, transport=network, key=f"reply:{n}", at=at, lane=f"reply:{network}")
            conn.execute(table.insert().values(**as_of_0012({**values, "kind": f"reply_{network}"})))
        digest = outbox.row(DeliveryKind.DIGEST, key="digest:1", at=at, lane="post:C1")
        conn.execute(table.insert().values(**as_of_0012(digest)))

    def stored() -> list[tuple[str, str, str]]:
        with engine.connect() as conn:
            return sorted(tuple(r) for r in conn.execute(select(table.c.key, table.c.kind, table.c.transport)))

    migrate.upgrade(engine)
    assert stored() == [
        ("digest:1", "digest", "slack"),
        ("reply:0", "reply", "x"),
        ("reply:1", "reply", "bluesky"),
        ("reply:2", "reply", "mastodon"),
    ]
    migrate.downgrade(engine, "0012")
    assert [kind for _, kind, _ in stored()] == ["digest", "reply_x", "reply_bluesky", "reply_mastodon"]
