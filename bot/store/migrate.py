"""Schema migrations, driven from code so the CLI, start-up and tests share one path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

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


def upgrade(engine: Engine, revision: str = "head") -> None:
    cfg = alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)


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
