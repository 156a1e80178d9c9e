"""Durable per-source state: cursors, last post seen, and the once-only credential alert.

Cursors move in the same transaction as the posts they cover (see ``Ingestor.ingest_batch``'s
``also``), so a crash between reading and storing re-reads rather than skips.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.domain import outbox
from bot.store.models import IngestCursor

log = logging.getLogger(__name__)


def get_cursor(session: Session, name: str, at: datetime) -> IngestCursor:
    row = session.get(IngestCursor, name)
    if row is None:
        row = IngestCursor(source=name, updated_at=at)
        session.add(row)
        session.flush()
    return row


def read_cursor(sessions: sessionmaker[Session], name: str) -> str | None:
    with sessions() as session:
        return session.execute(select(IngestCursor.cursor).where(IngestCursor.source == name)).scalar_one_or_none()


def advance(
    session: Session, name: str, *, at: datetime, cursor: str | None = None, last_post_at: datetime | None = None
) -> None:
    """Record a successful read: move the cursor (if given) and clear any standing error."""
    row = get_cursor(session, name, at)
    if cursor is not None:
        row.cursor = cursor
    if last_post_at is not None and (row.last_post_at is None or last_post_at > row.last_post_at):
        row.last_post_at = last_post_at
    row.last_poll_at = at
    row.last_error = None
    row.updated_at = at


def record_error(sessions: sessionmaker[Session], name: str, error: str, at: datetime) -> None:
    with sessions() as session, session.begin():
        row = get_cursor(session, name, at)
        row.last_error = error[:1000]
        row.last_poll_at = at
        row.updated_at = at


def raise_alert_once(sessions: sessionmaker[Session], key: str, text: str, *, channel: str, at: datetime) -> bool:
    """Post ``text`` to ``channel`` once until ``clear_alert(key)``; survives restarts and retries.

    The alert state lives in a row of ``ingest_cursors`` named ``alert:{key}``: ``alerted_at`` set
    means an alert is out. Returns whether this call raised it.
    """
    name = f"alert:{key}"
    with sessions() as session, session.begin():
        row = get_cursor(session, name, at)
        row.last_error = text[:1000]
        row.updated_at = at
        if row.alerted_at is not None:
            return False
        row.alerted_at = at
        outbox.enqueue(
            session,
            kind=outbox.ALERT,
            at=at,
            dedupe_key=f"{name}:{uuid.uuid4().hex}",  # one per incident; alerted_at guards repeats
            channel=channel,
            payload={"text": text},
            priority=100,
        )
        return True


def clear_alert(session: Session, key: str, at: datetime) -> bool:
    """Mark the condition behind an alert as over, so a new failure alerts again."""
    row = session.get(IngestCursor, f"alert:{key}")
    if row is None or row.alerted_at is None:
        return False
    row.alerted_at = None
    row.last_error = None
    row.updated_at = at
    return True


@dataclass(frozen=True)
class SourceStatus:
    name: str
    last_post_at: datetime | None
    last_poll_at: datetime | None
    last_error: str | None
    quiet: bool

    def line(self) -> str:
        seen = self.last_post_at.strftime("%Y-%m-%d %H:%M UTC") if self.last_post_at else "never"
        parts = [f"{self.name}: last post {seen}"]
        if self.quiet:
            parts.append("QUIET")
        if self.last_error:
            parts.append(f"error: {self.last_error}")
        return ", ".join(parts)


def source_statuses(session: Session, *, now: datetime, silence: timedelta) -> list[SourceStatus]:
    """Every source's health; a source with no post for ``silence`` is quiet (reported, not fatal)."""
    rows = session.scalars(
        select(IngestCursor)
        .where(~IngestCursor.source.startswith("alert:"), ~IngestCursor.source.startswith("x:brand:"))
        .order_by(IngestCursor.source)
    ).all()
    out = []
    for row in rows:
        reference = row.last_post_at or row.updated_at
        out.append(
            SourceStatus(row.source, row.last_post_at, row.last_poll_at, row.last_error, now - reference >= silence)
        )
    return out
