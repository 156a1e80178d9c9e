"""Rate-limit lanes shared by every worker: one row per lane, holding when it may next be used.

Slack allows about one message a second per channel, whichever process sends it. An in-memory
token bucket is per process; a row in the database is not. Taking a turn is one conditional upsert
(``… ON CONFLICT DO UPDATE … WHERE next_at <= now``): exactly one worker wins each turn, on SQLite
and PostgreSQL alike, and a 429's Retry-After pushes the lane back for all of them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from bot.store import dialect
from bot.store.models import Lane

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_L = Lane.__table__


def _upsert(session: Session, key: str, next_at: datetime, where: Any) -> bool:
    return dialect.upsert_where(session, _L, {"key": key, "next_at": next_at}, key=["key"], where=where)


def take_turn(session: Session, key: str, *, now: datetime, interval: float) -> bool:
    """Use the lane now if it is free; it is then busy for ``interval`` seconds. True if taken."""
    return _upsert(session, key, now + timedelta(seconds=interval), _L.c.next_at <= now)


def pause(session: Session, key: str, *, until: datetime) -> None:
    """After a 429: nobody uses the lane before ``until`` (a later pause already set stays)."""
    _upsert(session, key, until, _L.c.next_at < until)
