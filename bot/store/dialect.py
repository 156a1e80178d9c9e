"""The one place SQLite and PostgreSQL differ, for the queries the rest of the bot writes.

The domain states what it wants — insert unless the key is taken, skip rows another worker has
locked, join a column's values into one text — and this module says it in each engine's words, so
no module above the store branches on the dialect by hand.
"""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import ColumnElement, Select, Table, Text, case, cast, func, literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

T = TypeVar("T", bound=Select[Any])


def is_postgres(bind: Session | Connection) -> bool:
    dialect = bind.get_bind().dialect if isinstance(bind, Session) else bind.dialect
    return dialect.name == "postgresql"


def insert(bind: Session | Connection, table: Table) -> Any:
    """An INSERT that can say ``ON CONFLICT`` (both engines spell it the same way in SQLAlchemy, but
    each needs its own dialect's construct)."""
    return (postgresql.insert if is_postgres(bind) else sqlite.insert)(table)


def insert_new(session: Session, table: Table, values: dict[str, Any], *, key: list[str]) -> bool:
    """Insert ``values`` unless a row with the same ``key`` exists; True if this call added it."""
    statement = insert(session, table).values(**values).on_conflict_do_nothing(index_elements=key)
    # preserve_rowcount: SQLAlchemy leaves INSERT's rowcount at -1 on PostgreSQL otherwise.
    return bool(session.execute(statement.execution_options(preserve_rowcount=True)).rowcount == 1)  # type: ignore[attr-defined]


def upsert_where(session: Session, table: Table, values: dict[str, Any], *, key: list[str], where: Any) -> bool:
    """Insert ``values``, or update the row with the same ``key`` to them where ``where`` holds; True if
    a row was written (a turn taken, a lease held)."""
    statement = insert(session, table).values(**values)
    statement = statement.on_conflict_do_update(
        index_elements=key,
        set_={name: statement.excluded[name] for name in values if name not in key},
        where=where,
    )
    return bool(session.execute(statement.execution_options(preserve_rowcount=True)).rowcount == 1)  # type: ignore[attr-defined]


def skip_locked(query: T, session: Session) -> T:
    """``FOR UPDATE SKIP LOCKED`` on PostgreSQL, so workers share a queue without waiting on each other;
    SQLite has one writer at a time (``BEGIN IMMEDIATE``) and needs nothing."""
    return query.with_for_update(skip_locked=True) if is_postgres(session) else query  # type: ignore[return-value]


def joined_text(session: Session, column: Any) -> Any:
    """An aggregate that joins a group's values with commas (``string_agg`` / ``group_concat``)."""
    if is_postgres(session):
        return func.string_agg(cast(column, Text), literal_column("','"))
    return func.group_concat(column, ",")


def seconds_between(bind: Session | Connection, later: Any, earlier: Any) -> ColumnElement[float]:
    """Seconds from ``earlier`` to ``later``, never negative. SQLite's ``julianday`` is rounded to the
    millisecond: it carries float noise in the sixth decimal."""
    if is_postgres(bind):
        seconds: ColumnElement[float] = func.extract("epoch", later - earlier)
    else:
        seconds = func.round((func.julianday(later) - func.julianday(earlier)) * 86400.0, 3)
    return case((seconds < 0, 0.0), else_=seconds)
