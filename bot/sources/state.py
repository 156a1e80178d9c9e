"""Durable per-source state, each in its own table: cursors, alerts, the brand's account ids.

Cursors move in the same transaction as the raw posts they cover (see ``bot.sources.inbox``), so a
crash between reading and storing re-reads rather than skips.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.delivery import outbox
from bot.delivery.kinds import DeliveryKind
from bot.store.models import BrandAccount, SourceAlert, SourceCursor

log = logging.getLogger(__name__)


def get_cursor(session: Session, name: str, at: datetime) -> SourceCursor:
    row = session.get(SourceCursor, name)
    if row is None:
        row = SourceCursor(name=name, updated_at=at, malformed=0)
        session.add(row)
        session.flush()
    return row


def read_cursor(sessions: sessionmaker[Session], name: str) -> str | None:
    with sessions() as session:
        return session.execute(select(SourceCursor.cursor).where(SourceCursor.name == name)).scalar_one_or_none()


def advance(
    session: Session,
    name: str,
    *,
    at: datetime,
    cursor: str | None = None,
    last_post_at: datetime | None = None,
    malformed: int = 0,
) -> None:
    """Record a successful read: move the cursor (if given) and clear any standing error."""
    row = get_cursor(session, name, at)
    if cursor is not None:
        row.cursor = cursor
    if last_post_at is not None and (row.last_post_at is None or last_post_at > row.last_post_at):
        row.last_post_at = last_post_at
    row.last_poll_at = at
    row.last_error = None
    row.malformed = (row.malformed or 0) + malformed
    row.updated_at = at


def saw_post(session: Session, name: str, posted_at: datetime, at: datetime) -> None:
    """A post from this source reached ingest: its time is the source's "last post" (health)."""
    row = get_cursor(session, name, at)
    if row.last_post_at is None or posted_at > row.last_post_at:
        row.last_post_at = posted_at


def forget_cursor(sessions: sessionmaker[Session], name: str, at: datetime) -> None:
    with sessions() as session, session.begin():
        get_cursor(session, name, at).cursor = None


def record_error(sessions: sessionmaker[Session], name: str, error: str, at: datetime) -> None:
    with sessions() as session, session.begin():
        row = get_cursor(session, name, at)
        row.last_error = error[:1000]
        row.last_poll_at = at
        row.updated_at = at


def count_malformed(session: Session, name: str, n: int, at: datetime) -> None:
    if n:
        session.execute(
            update(SourceCursor)
            .where(SourceCursor.name == name)
            .values(malformed=SourceCursor.malformed + n, updated_at=at)
        )


def raise_alert_once(sessions: sessionmaker[Session], key: str, text: str, *, channel: str, at: datetime) -> bool:
    """Post ``text`` to ``channel`` once until ``clear_alert(key)``; survives restarts and retries.

    Returns whether this call raised it. Each raising is a new incident with its own delivery key
    (``alert:{key}:{incident}``), so the same incident is never posted twice.
    """
    with sessions() as session, session.begin():
        row = session.get(SourceAlert, key)
        if row is None:
            row = SourceAlert(key=key, incident=0, updated_at=at)
            session.add(row)
        row.text = text[:1000]
        row.updated_at = at
        if row.raised_at is not None:
            return False
        row.raised_at = at
        row.cleared_at = None
        row.incident = (row.incident or 0) + 1
        session.flush()
        outbox.enqueue(
            session,
            DeliveryKind.ALERT,
            key=f"alert:{key}:{row.incident}",
            at=at,
            channel=channel,
            payload={"text": text},
            priority=100,
        )
        return True


def clear_alert(session: Session, key: str, at: datetime) -> bool:
    """Mark the condition behind an alert as over, so a new failure alerts again."""
    row = session.get(SourceAlert, key)
    if row is None or row.raised_at is None:
        return False
    row.raised_at = None
    row.cleared_at = at
    row.updated_at = at
    return True


def brand_account(session: Session, network: str, handle: str) -> str | None:
    row = session.get(BrandAccount, (network, handle.lower()))
    return row.account_id if row else None


def remember_brand_account(session: Session, network: str, handle: str, account_id: str, at: datetime) -> None:
    row = session.get(BrandAccount, (network, handle.lower()))
    if row is None:
        session.add(BrandAccount(network=network, handle=handle.lower(), account_id=account_id, resolved_at=at))
    else:
        row.account_id, row.resolved_at = account_id, at


@dataclass(frozen=True)
class SourceStatus:
    name: str
    last_post_at: datetime | None
    last_poll_at: datetime | None
    last_error: str | None
    quiet: bool
    malformed: int = 0

    def line(self) -> str:
        seen = self.last_post_at.strftime("%Y-%m-%d %H:%M UTC") if self.last_post_at else "never"
        parts = [f"{self.name}: last post {seen}"]
        if self.quiet:
            parts.append("QUIET")
        if self.malformed:
            parts.append(f"{self.malformed} malformed record(s) skipped")
        if self.last_error:
            parts.append(f"error: {self.last_error}")
        return ", ".join(parts)


def source_statuses(session: Session, *, now: datetime, silence: timedelta) -> list[SourceStatus]:
    """Every source's health; a source with no post for ``silence`` is quiet (reported, not fatal)."""
    rows = session.scalars(select(SourceCursor).order_by(SourceCursor.name)).all()
    out = []
    for row in rows:
        reference = row.last_post_at or row.updated_at
        out.append(
            SourceStatus(
                row.name, row.last_post_at, row.last_poll_at, row.last_error, now - reference >= silence, row.malformed
            )
        )
    return out
