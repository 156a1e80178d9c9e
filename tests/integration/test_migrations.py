"""Migrations go from empty to head and back, and the models match what the migrations build."""

from __future__ import annotations

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
    "ingest_cursors",
    "outbox",
    "job_runs",
    "slack_users",
}


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


def test_models_match_migrations(migrated: Engine):
    with migrated.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), Base.metadata)
    if migrated.dialect.name == "sqlite":
        # 0002 adds complaints.duplicate_of without its FK on SQLite (adding one needs a table rebuild,
        # which would drop SQLite's CHECK constraints); that one difference is by design.
        diff = [d for d in diff if not (d[0] == "add_fk" and d[1].name == "fk_complaints_duplicate_of_complaints")]
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


def test_check_constraints_survive_every_migration(migrated: Engine):
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
