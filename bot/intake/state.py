"""Durable per-source state, each in its own table: cursors, alerts, the brand's account ids.

Cursors move in the same transaction as the raw posts they cover (see ``bot.intake.inbox``), so a
crash between reading and storing re-reads rather than skips.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Integer, String, bindparam, case, func, insert, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from bot import outbox
from bot.outbox.kinds import DeliveryKind
from bot.store.models import BrandAccount, SourceAlert, SourceCursor
from bot.store.types import UTCDateTime

log = logging.getLogger(__name__)

_S = SourceCursor.__table__.c
_WHERE_NAME = _S.name == bindparam("stream_name", type_=String())
_POST_AT = bindparam("post_at", type_=UTCDateTime())
_AT = bindparam("at", type_=UTCDateTime())
_NEWER_POST = or_(_S.last_post_at.is_(None), _S.last_post_at < _POST_AT)
_ADVANCE = {
    "last_poll_at": _AT,
    "last_error": None,
    "malformed": func.coalesce(_S.malformed, 0) + bindparam("more_malformed", type_=Integer()),
    "updated_at": _AT,
}
_CURSOR = {"cursor": bindparam("new_cursor", type_=String())}
_LAST_POST = {"last_post_at": case((_NEWER_POST, _POST_AT), else_=_S.last_post_at)}
_ADVANCE_STATEMENTS = {
    (moves_cursor, saw): update(SourceCursor.__table__)
    .where(_WHERE_NAME)
    .values({**_ADVANCE, **(_CURSOR if moves_cursor else {}), **(_LAST_POST if saw else {})})
    for moves_cursor in (False, True)
    for saw in (False, True)
}
_SAW_POST = update(SourceCursor.__table__).where(_WHERE_NAME, _NEWER_POST).values(last_post_at=_POST_AT)
_EXISTS = select(_S.name).where(_WHERE_NAME)
_INSERT = insert(SourceCursor.__table__)


def get_cursor(session: Session, name: str, at: datetime) -> SourceCursor:
    row = session.get(SourceCursor, name)
    if row is None:
        row = SourceCursor(name=name, updated_at=at, malformed=0)
        session.add(row)
        session.flush()
    return row


def _held(session: Session, name: str) -> bool:
    """Whether this session has the cursor's ORM object loaded (or added and not yet flushed)."""
    key = session.identity_key(SourceCursor, name)
    return key in session.identity_map or any(isinstance(obj, SourceCursor) and obj.name == name for obj in session.new)


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
    """Record a successful read: move the cursor (if given) and clear any standing error.

    Every source write calls this, so it is one UPDATE (an INSERT for a new source) rather than a
    load and a flush of the ORM object; a row this session already holds goes the ORM way, so its
    unflushed changes are neither lost nor written over.
    """
    if not _held(session, name):
        # Only the statement's own parameters: an UPDATE takes any other key that names a column
        # as one more column to set.
        params: dict[str, object] = {"stream_name": name, "at": at, "more_malformed": malformed}
        if cursor is not None:
            params["new_cursor"] = cursor
        if last_post_at is not None:
            params["post_at"] = last_post_at
        statement = _ADVANCE_STATEMENTS[(cursor is not None, last_post_at is not None)]
        if session.execute(statement, params).rowcount == 0:  # type: ignore[attr-defined]
            session.execute(
                _INSERT,
                {
                    "name": name,
                    "cursor": cursor,
                    "last_post_at": last_post_at,
                    "last_poll_at": at,
                    "last_error": None,
                    "malformed": malformed,
                    "updated_at": at,
                },
            )
        return
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
    """A post from this source reached ingest: its time is the source's "last post" (health).

    One conditional UPDATE per drained batch (see ``advance`` for why not the ORM object).
    """
    if not _held(session, name):
        if session.execute(_SAW_POST, {"stream_name": name, "post_at": posted_at}).rowcount:  # type: ignore[attr-defined]
            return
        if session.execute(_EXISTS, {"stream_name": name}).first() is None:
            session.execute(_INSERT, {"name": name, "last_post_at": posted_at, "malformed": 0, "updated_at": at})
        return
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
