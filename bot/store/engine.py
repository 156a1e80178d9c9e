"""Engines and sessions, with defaults that hold up under a bot and a scheduler at once."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, InterfaceError, InternalError, OperationalError, ProgrammingError
from sqlalchemy.pool import NullPool

from bot.store.fold import register_sqlite as register_fold
from bot.store.types import json_dumps

if TYPE_CHECKING:  # the ORM is imported when a session is first made: commands without one start faster
    from sqlalchemy.orm import Session, sessionmaker

SQLITE_BUSY_TIMEOUT_MS = 15_000
WAL_AUTOCHECKPOINT_PAGES = 4000


def make_engine(
    url: str, *, echo: bool = False, pool_size: int = 10, busy_timeout_ms: int = SQLITE_BUSY_TIMEOUT_MS
) -> Engine:
    """Create an engine for ``url`` with our per-engine defaults.

    SQLite: WAL (readers never block the writer), foreign keys on (off by default there), a busy
    timeout, and every transaction opened with ``BEGIN IMMEDIATE``. The last matters: a deferred
    transaction that reads and then writes can fail at once with SQLITE_BUSY when another connection
    wrote in between, and the busy timeout does not help; taking the write lock up front makes
    concurrent writers queue instead. JSON columns are written by ``json_dumps`` (the same text as
    ``json.dumps``, without building an encoder per value: ingest stores several per post).
    PostgreSQL: pre-ping, so a restarted server does not surface as an error on the first request
    after it.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(
            url,
            echo=echo,
            connect_args={"timeout": busy_timeout_ms / 1000, "check_same_thread": False},
            poolclass=NullPool if parsed.database in (None, "", ":memory:") else None,
            json_serializer=json_dumps,
        )
        _configure_sqlite(engine, busy_timeout_ms)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True, pool_size=pool_size, max_overflow=20, pool_recycle=1800)


def _configure_sqlite(engine: Engine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the sqlite3 module, decide when transactions begin.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # Checkpoint the WAL every ~16 MB instead of SQLite's 4 MB: each checkpoint waits on two
        # fsyncs, and at ingest's rate the default checkpointed every few batches (a sixth of
        # bench/ingest.py's wall time went to commits). With synchronous=NORMAL a commit never waits
        # for the disk; what a power cut can take is what was committed since the last checkpoint,
        # as before, now up to 16 MB of it. A crash of the process loses nothing either way.
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cursor.close()
        register_fold(dbapi_conn)

    # One writer at a time in this process, queued on a lock rather than on SQLite's busy handler:
    # that handler retries with sleeps of up to 100 ms, so twenty clicks at once spent most of their
    # time asleep. Re-entrant, so a thread that opens a second transaction waits for nobody but SQLite.
    writer = threading.RLock()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        writer.acquire()
        conn.info["ft_writer"] = True
        try:
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        except BaseException:
            _release(conn)
            raise

    def _release(conn: Any) -> None:
        if conn.info.pop("ft_writer", False):
            writer.release()

    event.listen(engine, "commit", _release)
    event.listen(engine, "rollback", _release)


def make_sessionmaker(engine: Engine) -> sessionmaker[Session]:
    # expire_on_commit=False: services hand committed objects back to callers (handlers, builders)
    # that read them after the transaction; reloading each attribute would cost a query apiece.
    from sqlalchemy.orm import sessionmaker

    return sessionmaker(engine, expire_on_commit=False)


REQUEST_LOCK_TIMEOUT_MS = 1500
REQUEST_STATEMENT_TIMEOUT_MS = 2500


def make_request_sessionmaker(
    engine: Engine,
    *,
    lock_timeout_ms: int = REQUEST_LOCK_TIMEOUT_MS,
    statement_timeout_ms: int = REQUEST_STATEMENT_TIMEOUT_MS,
) -> sessionmaker[Session]:
    """Sessions for answering Slack, which must ack within 3 seconds.

    On PostgreSQL each transaction gets ``lock_timeout`` and ``statement_timeout`` (``SET LOCAL``, so
    pooled connections the worker reuses keep no limit): a row locked by a long worker transaction,
    or a stuck query, fails the click fast — the person is told it was not saved — instead of
    holding it past Slack's deadline. SQLite has no such settings; its writers queue in-process.
    """
    factory = make_sessionmaker(engine)
    if engine.dialect.name == "postgresql":

        @event.listens_for(factory, "after_begin")
        def _limits(_session: Session, _transaction: Any, connection: Any) -> None:
            connection.exec_driver_sql(
                f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}; "
                f"SET LOCAL statement_timeout = {int(statement_timeout_ms)}"
            )

    return factory


def autoflush(session: Session) -> None:
    """Flush pending ORM changes, as an ORM query does before it runs.

    A Core statement (built on ``Table`` columns) run through ``session.execute`` skips that step.
    Hot paths that replaced ORM queries with prebuilt Core ones call this first, so they still read
    what the transaction changed through ORM objects (a complaint reopened earlier in the batch).
    """
    if session.autoflush:
        session.flush()


@contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit on success, roll back on any error."""
    with factory() as session, session.begin():
        yield session


def unavailable(exc: BaseException) -> bool:
    """Not a problem with any one record: the database is down, locked or unreachable, or its
    schema is not what this code expects (a missing table is an OperationalError on SQLite but a
    ProgrammingError on PostgreSQL) — retry later rather than mark every record skipped."""
    if isinstance(exc, OperationalError | InterfaceError | ProgrammingError | InternalError):
        return True
    return isinstance(exc, DBAPIError) and bool(exc.connection_invalidated)
