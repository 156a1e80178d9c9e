"""``followthrough export``: complaints, promises or events as CSV or JSON lines, streamed.

Rows are read with ``yield_per`` (a server-side cursor on PostgreSQL; SQLite's cursor steps through
the table as it is read) and written as they come, so memory stays flat however many rows there
are. Column names are part of the interface — a team's BI tool or spreadsheet is built on them —
so they are listed here once, in order, and only ever added to at the end.

Times are ISO 8601 in UTC, to the microsecond (``2026-03-02T09:00:00.000000+00:00``).
``--since``/``--until`` are dates in the team's time zone (TEAM_TIMEZONE); ``--until`` includes that
whole day. Rows are chosen by when they
began: a complaint by when it was stored, a promise by when it was made, an event by when it happened.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, Select, String, Text, cast, func, select, type_coerce
from sqlalchemy.exc import SQLAlchemyError

from bot.store.models import AuditEvent, Complaint, Promise
from bot.store.types import UTCDateTime

BATCH = 5000

COMPLAINT_COLUMNS = {
    "id": Complaint.id,
    "network": Complaint.source,
    "post_id": Complaint.external_id,
    "url": Complaint.url,
    "customer_handle": Complaint.author_handle,
    "customer_followers": Complaint.author_followers,
    "posted_at": Complaint.posted_at,
    "received_at": Complaint.created_at,
    "kind": Complaint.kind,
    "status": Complaint.status,
    "priority": Complaint.priority,
    "owner": Complaint.owner_id,
    "claimed_at": Complaint.claimed_at,
    "escalation_tier": Complaint.escalation_tier,
    "resolved_at": Complaint.resolved_at,
    "resolved_by": Complaint.resolved_by,
    "customer_confirmed": Complaint.customer_confirmed,
    "folded_into": Complaint.duplicate_of,
    "replies": Complaint.reply_count,
    "retweets": Complaint.amplification_count,
    "language": Complaint.lang,
    "text": Complaint.text,
}
PROMISE_COLUMNS = {
    "id": Promise.id,
    "complaint_id": Promise.complaint_id,
    "network": Complaint.source,
    "owner": Promise.owner_id,
    "made_by": Promise.created_by,
    "made_at": Promise.created_at,
    "due_at": Promise.due_at,
    "status": Promise.status,
    "rescheduled": Promise.reschedule_count,
    "closed_at": Promise.closed_at,
    "closed_by": Promise.closed_by,
    "text": Promise.text,
}
EVENT_COLUMNS = {
    "id": AuditEvent.id,
    "at": AuditEvent.at,
    "kind": AuditEvent.action,
    "actor": AuditEvent.actor,
    "complaint_id": AuditEvent.complaint_id,
    "promise_id": AuditEvent.promise_id,
    "from_status": AuditEvent.from_status,
    "to_status": AuditEvent.to_status,
    "note": AuditEvent.note,
    "details": cast(AuditEvent.details, Text),
}
"""``details`` is the event's typed details as a JSON object (see ``bot/domain/events.py``)."""

WHAT = {"complaints": COMPLAINT_COLUMNS, "promises": PROMISE_COLUMNS, "events": EVENT_COLUMNS}


def _iso(column: Any, dialect: str) -> Any:
    """A UTC timestamp as ISO 8601 text, formatted by the database: the rows then need no work in
    Python at all (parsing and re-formatting every timestamp cost more than the rest of the export)."""
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US') + "+00:00"
    return func.replace(type_coerce(column, String), " ", "T") + "+00:00"  # stored as 'YYYY-MM-DD HH:MM:SS.ffffff'


def query(what: str, start: datetime, end: datetime, dialect: str = "sqlite") -> Select[Any]:
    columns = WHAT[what]
    labelled = [
        (_iso(column, dialect) if isinstance(column.type, UTCDateTime) else column).label(name)
        for name, column in columns.items()
    ]
    if what == "complaints":
        return select(*labelled).where(Complaint.created_at >= start, Complaint.created_at < end).order_by(Complaint.id)
    if what == "promises":
        return (
            select(*labelled)
            .join(Complaint, Complaint.id == Promise.complaint_id)
            .where(Promise.created_at >= start, Promise.created_at < end)
            .order_by(Promise.id)
        )
    return select(*labelled).where(AuditEvent.at >= start, AuditEvent.at < end).order_by(AuditEvent.id)


def rows(engine: Engine, what: str, start: datetime, end: datetime) -> Iterator[Sequence[Any]]:
    """Batches of rows in column order, as they come from the database."""
    with engine.connect() as conn:
        statement = query(what, start, end, engine.dialect.name)
        result = conn.execution_options(yield_per=BATCH).execute(statement)
        yield from result.partitions()


def write_csv(out: IO[str], names: list[str], source: Iterator[Sequence[Any]]) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    n = 0
    for batch in source:
        writer.writerows(batch)
        n += len(batch)
    return n


def write_jsonl(out: IO[str], names: list[str], source: Iterator[Sequence[Any]]) -> int:
    raw_json = "details" in names  # stored JSON text, spliced in as an object, not re-parsed
    where = names.index("details") if raw_json else -1
    encode = json.JSONEncoder(ensure_ascii=False).encode
    n = 0
    for row in (row for batch in source for row in batch):
        if raw_json:
            details = row[where]
            plain = dict(zip(names, row, strict=True))
            del plain["details"]
            line = encode(plain)[:-1] + ', "details": ' + (details if details else "null") + "}"
        else:
            line = encode(dict(zip(names, row, strict=True)))
        out.write(line)
        out.write("\n")
        n += 1
    return n


WRITERS: dict[str, Callable[[IO[str], list[str], Iterator[Sequence[Any]]], int]] = {
    "csv": write_csv,
    "jsonl": write_jsonl,
}


def window(since: date, until: date | None, tz: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(tz)
    start = datetime.combine(since, time(0), tzinfo=zone)
    end_day = (until or date.max - timedelta(days=1)) + timedelta(days=1)
    return start, datetime.combine(end_day, time(0), tzinfo=zone)


def export(engine: Engine, out: IO[str], *, what: str, fmt: str, since: date, until: date | None, tz: str) -> int:
    start, end = window(since, until, tz)
    return WRITERS[fmt](out, list(WHAT[what]), rows(engine, what, start, end))


@contextmanager
def _output(path: Path | None) -> Iterator[IO[str]]:
    if path is None:
        yield sys.stdout
        sys.stdout.flush()
        return
    with open(path, "w", encoding="utf-8", newline="") as handle:
        yield handle


def _date(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-03-01") from None


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "export",
        help="complaints, promises or events as CSV or JSON lines",
        description="Write complaints, promises or events between two dates (team time zone; --until "
        "includes that day) as CSV or JSON lines, to stdout or --output. Streams: memory stays flat.",
    )
    parser.add_argument("--since", type=_date, required=True, metavar="DATE", help="first day, e.g. 2026-03-01")
    parser.add_argument("--until", type=_date, default=None, metavar="DATE", help="last day (default: no end)")
    parser.add_argument("--format", choices=sorted(WRITERS), default="csv", help="csv (default) or jsonl")
    parser.add_argument("--what", choices=sorted(WHAT), default="complaints", help="which rows (default complaints)")
    parser.add_argument("--output", type=Path, default=None, metavar="FILE", help="write here instead of stdout")


def cmd_export(args: argparse.Namespace) -> int:
    from bot.checks import short_reason
    from bot.cli import StartupError, _engine_or_fail
    from bot.config import load_settings

    if args.until is not None and args.until < args.since:
        raise StartupError(f"--until {args.until} is before --since {args.since}")
    settings = load_settings(mode=None, dotenv_path=args.env_file)
    engine = _engine_or_fail(settings)
    try:
        with _output(args.output) as out:
            n = export(
                engine,
                out,
                what=args.what,
                fmt=args.format,
                since=args.since,
                until=args.until,
                tz=settings.team_timezone,
            )
    except SQLAlchemyError as exc:
        raise StartupError(f"cannot read database {settings.database_url_masked}: {short_reason(exc)}") from None
    except OSError as exc:
        raise StartupError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    finally:
        engine.dispose()
    print(f"{n} {args.what} exported", file=sys.stderr)
    return 0
