"""The first ``followthrough export``, kept as the reference its faster successor must match byte for
byte: the rows read through SQLAlchemy from the ORM columns, written by Python's ``csv`` and ``json``.

Taken from ``bot/reports/export.py`` as of commit 849cfd8 (its query and its two writers; the command
line around them is left out). It is slow — per-row work in Python — which is why it was replaced,
and plain, which is why it is the reference: every column comes straight from the model attribute
the README documents it as.

One difference is deliberate. Python's ``csv`` before 3.11.9 (CPython gh-67044) left a field holding
a bare carriage return unquoted when the line ends in ``\\n``, so a reader split the row there; the
export now quotes it, as PostgreSQL's COPY and newer Pythons do. Data with a bare ``\\r`` is tested
on its own, not against this.

Added since: ``safe`` writes each CSV cell as OWASP's CSV-injection rule says (control characters
removed, a leading ``=``, ``+``, ``-``, ``@``, tab or carriage return escaped with ``'``), here cell
by cell in Python, written apart from the export's SQL so the two can disagree.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import IO, Any

from sqlalchemy import Engine, Select, String, Text, cast, func, select, type_coerce

from bot.store.models import AuditEvent, Complaint, Promise, SlackUser
from bot.store.types import UTCDateTime

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
    "owner_name": SlackUser.name,
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
    "owner_name": SlackUser.name,
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
WHAT = {"complaints": COMPLAINT_COLUMNS, "promises": PROMISE_COLUMNS, "events": EVENT_COLUMNS}


def _iso(column: Any, dialect: str) -> Any:
    if dialect == "postgresql":
        return func.to_char(func.timezone("UTC", column), 'YYYY-MM-DD"T"HH24:MI:SS.US') + "+00:00"
    return func.replace(type_coerce(column, String), " ", "T") + "+00:00"


def query(what: str, start: datetime, end: datetime, dialect: str = "sqlite") -> Select[Any]:
    columns = WHAT[what]
    labelled = [
        (_iso(column, dialect) if isinstance(column.type, UTCDateTime) else column).label(name)
        for name, column in columns.items()
    ]
    if what == "complaints":
        return (
            select(*labelled)
            .outerjoin(SlackUser, SlackUser.user_id == Complaint.owner_id)
            .where(Complaint.created_at >= start, Complaint.created_at < end)
            .order_by(Complaint.id)
        )
    if what == "promises":
        return (
            select(*labelled)
            .join(Complaint, Complaint.id == Promise.complaint_id)
            .outerjoin(SlackUser, SlackUser.user_id == Promise.owner_id)
            .where(Promise.created_at >= start, Promise.created_at < end)
            .order_by(Promise.id)
        )
    return select(*labelled).where(AuditEvent.at >= start, AuditEvent.at < end).order_by(AuditEvent.id)


def rows(engine: Engine, what: str, start: datetime, end: datetime) -> Iterator[Sequence[Any]]:
    with engine.connect() as conn:
        statement = query(what, start, end, engine.dialect.name)
        result = conn.execution_options(yield_per=5000).execute(statement)
        yield from result.partitions()


_CONTROL = {chr(c) for c in [*range(0, 9), 11, 12, *range(14, 32), 127]}


def safe_cell(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    value = "".join(ch for ch in value if ch not in _CONTROL)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def write_csv(out: IO[str], names: list[str], source: Iterator[Sequence[Any]], *, safe: bool = False) -> int:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    n = 0
    for batch in source:
        writer.writerows([[safe_cell(v) for v in row] for row in batch] if safe else batch)
        n += len(batch)
    return n


def write_jsonl(out: IO[str], names: list[str], source: Iterator[Sequence[Any]]) -> int:
    raw_json = "details" in names
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


def export_bytes(engine: Engine, *, what: str, fmt: str, start: datetime, end: datetime, safe: bool = False) -> bytes:
    """What the first export wrote for this window, as the bytes of its file (``safe``: each CSV
    cell made safe for a spreadsheet)."""
    buffer = io.StringIO(newline="")
    if fmt == "csv":
        write_csv(buffer, list(WHAT[what]), rows(engine, what, start, end), safe=safe)
    else:
        write_jsonl(buffer, list(WHAT[what]), rows(engine, what, start, end))
    return buffer.getvalue().encode("utf-8")
