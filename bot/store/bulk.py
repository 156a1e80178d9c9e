"""Bulk inserts of complete rows, for ingest's hot path.

Why not just ``session.execute(insert(table), rows)``: for every row SQLAlchemy rebuilds the
parameter set from the compiled statement and runs each value through its type's processor, one
value at a time. With thousands of posts a second (an inbox row, a complaint, a ledger row, an event
and a delivery each) that bookkeeping cost more than SQLite's own work. On SQLite this module hands
the driver ready tuples instead: the statement is compiled once per table and column set, each
column's values are converted by the very processor SQLAlchemy would use (so the stored values are
the same, byte for byte), column by column, and a timestamp seen again (the batch's ``at`` on every
row, a post's time in its complaint and in the ledger) is converted once. Other engines keep
SQLAlchemy's own executemany (psycopg pipelines it).

Rows must all have the same keys, and every column with a Python-side default must be given: the
fast path has no default handling, so a table or a call that needs it goes the ordinary way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

from sqlalchemy import Connection, Table, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from bot.store.types import UTCDateTime

FAST = True
"""Whether SQLite inserts take the driver-level path (tests switch it off to compare the two)."""

_STAMPS: dict[str, dict[datetime, Any]] = {}
"""Per engine, timestamps converted lately, shared by every timestamp column: the conversion depends
on the instant only."""
_STAMPS_KEPT = 4096

_Plan = tuple[str, tuple[Callable[[Any], Any], ...], tuple[Callable[[Sequence[Any]], list[Any]] | None, ...]]
_PLANS: dict[tuple[str, tuple[str, ...], str], _Plan | None] = {}


def insert_rows(session: Session | Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
    """``INSERT`` ``rows`` (dicts with the same keys) into ``table`` in one executemany."""
    if not rows:
        return
    connection = session.connection() if isinstance(session, Session) else session
    dialect = connection.dialect
    plan = _plan(table, tuple(rows[0]), dialect) if FAST and dialect.name == "sqlite" else None
    if plan is None:
        connection.execute(insert(table), list(rows))
        return
    sql, getters, converters = plan
    columns = []
    for get, convert in zip(getters, converters, strict=True):
        values = list(map(get, rows))
        columns.append(convert(values) if convert is not None else values)
    connection.exec_driver_sql(sql, list(zip(*columns, strict=True)))


def _plan(table: Table, keys: tuple[str, ...], dialect: Dialect) -> _Plan | None:
    cache_key = (table.name, keys, dialect.name)
    if cache_key not in _PLANS:
        _PLANS[cache_key] = _make_plan(table, keys, dialect)
    return _PLANS[cache_key]


def _make_plan(table: Table, keys: tuple[str, ...], dialect: Dialect) -> _Plan | None:
    given = set(keys)
    if len(given) != len(keys) or not given <= set(table.c.keys()):
        return None
    if any(c.default is not None and c.key not in given for c in table.c):
        return None  # SQLAlchemy would fill these in; leave it to do so
    compiled = insert(table).compile(dialect=dialect, column_keys=list(keys))
    order = compiled.positiontup
    if not compiled.positional or order is None or "RETURNING" in compiled.string.upper() or set(order) != given:
        return None
    getters = tuple(itemgetter(name) for name in order)
    converters = tuple(_converter(table.c[name].type, dialect) for name in order)
    return compiled.string, getters, converters


def _converter(type_: Any, dialect: Dialect) -> Callable[[Sequence[Any]], list[Any]] | None:
    process = type_.dialect_impl(dialect).bind_processor(dialect)
    if process is None:
        return None
    if isinstance(type_, UTCDateTime):
        # Its result depends only on the instant, and equal UTC datetimes are the same instant (in
        # other zones, two readings of a repeated hour compare equal; a naive value never equals an
        # aware one). Anything else goes to the processor, which refuses what it must.
        done = _STAMPS.setdefault(dialect.name, {})

        def timestamps(values: Sequence[Any]) -> list[Any]:
            if len(done) > _STAMPS_KEPT:
                done.clear()
            out = []
            for value in values:
                if type(value) is datetime and value.tzinfo is UTC:
                    stamp = done.get(value)
                    if stamp is None:
                        stamp = done[value] = process(value)
                    out.append(stamp)
                else:
                    out.append(process(value))
            return out

        return timestamps
    return lambda values: list(map(process, values))
