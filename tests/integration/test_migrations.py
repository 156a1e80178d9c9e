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
