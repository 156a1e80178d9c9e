"""Schema migrations, driven from code so the CLI, start-up and tests share one path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect
from sqlalchemy.schema import CreateIndex, CreateTable

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


def revisions() -> list[str]:
    """Every revision id, oldest first."""
    return [r.revision for r in reversed(list(ScriptDirectory.from_config(alembic_config()).walk_revisions()))]


def current_revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@dataclass(frozen=True)
class SchemaState:
    current: str | None
    head: str

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


def schema_state(engine: Engine) -> SchemaState:
    return SchemaState(current_revision(engine), head_revision())


def upgrade(engine: Engine, revision: str = "head", *, replay: bool = False) -> None:
    """Bring the schema to ``revision``.

    A database with no tables at all is built from the models in one step and stamped at head
    (Alembic's recipe for a new database): replaying every migration would only repeat history that
    has no rows to carry, and costs a new desk — and every test database — most of its start-up.
    ``replay`` runs the migrations instead; tests/integration/test_migrations.py checks that both
    ways give the same tables, columns, constraints and indexes on both engines."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        if not replay and revision == "head" and not inspect(conn).get_table_names():
            _create_from_models(conn)
            command.stamp(cfg, "head")
            return
        command.upgrade(cfg, revision)


SQLITE_MIGRATIONS_LEAVE_OUT = frozenset(
    {"fk_complaints_duplicate_of_complaints", "fk_complaints_incident_id_incidents"}
)
"""Foreign keys the migrations do not make on SQLite (0002, 0017: adding one there means rebuilding
the table). A new SQLite database leaves them out too, so it is the schema every SQLite desk has and
its migrations' downgrades work on it."""


def _create_from_models(conn: Connection) -> None:
    from bot.store.models import Base  # here: only a new database needs the models

    if conn.dialect.name != "sqlite":
        Base.metadata.create_all(conn, checkfirst=False)
        return
    for table in Base.metadata.sorted_tables:
        keep = [fk for fk in table.foreign_key_constraints if fk.name not in SQLITE_MIGRATIONS_LEAVE_OUT]
        conn.execute(CreateTable(table, include_foreign_key_constraints=keep))
        for index in table.indexes:
            conn.execute(CreateIndex(index))


def downgrade(engine: Engine, revision: str = "base") -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, revision)


def autogenerate(engine: Engine, message: str) -> None:
    """Write a new revision from the difference between the models and ``engine``'s schema."""
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=message, autogenerate=True)


class SchemaOutOfDate(Exception):
    """The database needs ``followthrough db upgrade`` before this version of the bot can run."""


def ensure_schema(engine: Engine) -> SchemaState:
    """Bring SQLite up to date ourselves; refuse an out-of-date PostgreSQL.

    SQLite is the single-process default and belongs to this bot alone, so upgrading in place is
    safe. A shared PostgreSQL is migrated once per deploy by the ``release`` step: several web
    processes racing to alter tables on start-up is how outages happen.
    """
    state = schema_state(engine)
    if state.up_to_date:
        return state
    if engine.dialect.name == "sqlite":
        upgrade(engine)
        return schema_state(engine)
    raise SchemaOutOfDate(
        f"the database schema is at {state.current or 'nothing (empty database)'}, this version needs "
        f"{state.head}: run `followthrough db upgrade` (the Procfile's release step does it)"
    )
