"""What every command shares: the one-message start-up error, exit codes, the database opened or refused.

Start-up failures an operator can fix (settings, an unreachable or out-of-date database) end with
one clear message and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.exc import SQLAlchemyError

if TYPE_CHECKING:
    from sqlalchemy import Engine

from bot.common.health import short_reason
from bot.config import Settings

log = logging.getLogger("bot")

EXIT_CONFIG = 2
EXIT_DEPENDENCY = 3


class StartupError(Exception):
    """A problem the operator must fix before the bot can start; the message says how."""


def sqlite_file(database_url: str) -> Path | None:
    """The SQLite database's file, or None (PostgreSQL, or SQLite in memory)."""
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    return Path(url.database)


def engine_or_fail(settings: Settings, *, read_only: bool = False) -> Engine:
    """``read_only``: a command that only reads (export, ``db current``) must not leave an empty
    SQLite file behind when there is none — it says so instead."""
    from bot.store.engine import make_engine  # not at import: every command, ``--help`` too, would pay for it

    path = sqlite_file(settings.database_url) if read_only else None
    if path is not None and not path.exists():
        raise StartupError(f"there is no database at {path} (run `followthrough db upgrade` to create one)")
    try:
        return make_engine(settings.database_url)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        raise StartupError(f"cannot open database {settings.database_url_masked}: {exc}") from None


def prepare_schema(settings: Settings) -> None:
    from bot.store import migrate  # Alembic: only the commands that touch the schema load it

    engine = engine_or_fail(settings)
    try:
        state = migrate.ensure_schema(engine)
        log.debug("database %s at schema %s", settings.database_url_masked, state.current)
    except migrate.SchemaOutOfDate as exc:
        raise StartupError(str(exc)) from None
    except SQLAlchemyError as exc:
        raise StartupError(f"cannot reach database {settings.database_url_masked}: {short_reason(exc)}") from None
    finally:
        engine.dispose()
