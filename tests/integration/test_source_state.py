"""A source's cursor row as every write and every drained batch leave it, on both engines.

``advance`` and ``saw_post`` run once per page written and per batch drained, so they are single
SQL statements; a cursor row the session already holds (loaded or added, possibly changed and not
yet flushed) goes through the ORM object instead, so nothing the caller changed is lost or undone.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from bot.intake import state
from bot.store.engine import make_sessionmaker
from bot.store.models import SourceCursor

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _row(engine: Engine, name: str) -> tuple[object, ...] | None:
    with make_sessionmaker(engine)() as s:
        row = s.get(SourceCursor, name)
        if row is None:
            return None
        return (row.cursor, row.last_post_at, row.last_poll_at, row.last_error, row.malformed, row.updated_at)


def test_advance_creates_then_moves_the_cursor_and_clears_the_error(migrated: Engine) -> None:
    sessions = make_sessionmaker(migrated)
    with sessions() as s, s.begin():
        state.advance(s, "x:mentions", at=T0, cursor="100")
    assert _row(migrated, "x:mentions") == ("100", None, T0, None, 0, T0)

    state.record_error(sessions, "x:mentions", "HTTP 503", T0 + timedelta(minutes=1))
    later = T0 + timedelta(minutes=2)
    with sessions() as s, s.begin():
        state.advance(s, "x:mentions", at=later, cursor=None, malformed=2)  # no cursor: it stays
    assert _row(migrated, "x:mentions") == ("100", None, later, None, 2, later)

    posted = T0 - timedelta(hours=1)
    with sessions() as s, s.begin():
        state.advance(s, "x:mentions", at=later, cursor="200", last_post_at=posted, malformed=1)
    with sessions() as s, s.begin():
        state.advance(s, "x:mentions", at=later, last_post_at=posted - timedelta(hours=1))  # older: kept
    assert _row(migrated, "x:mentions") == ("200", posted, later, None, 3, later)


def test_saw_post_only_moves_last_post_forward_and_creates_a_missing_row(migrated: Engine) -> None:
    sessions = make_sessionmaker(migrated)
    with sessions() as s, s.begin():
        state.saw_post(s, "bluesky:mentions", T0 - timedelta(hours=2), T0)
    assert _row(migrated, "bluesky:mentions") == (None, T0 - timedelta(hours=2), None, None, 0, T0)
    with sessions() as s, s.begin():
        state.saw_post(s, "bluesky:mentions", T0 - timedelta(hours=3), T0 + timedelta(minutes=1))
    assert _row(migrated, "bluesky:mentions")[1] == T0 - timedelta(hours=2)
    with sessions() as s, s.begin():
        state.saw_post(s, "bluesky:mentions", T0 - timedelta(hours=1), T0 + timedelta(minutes=1))
    assert _row(migrated, "bluesky:mentions") == (None, T0 - timedelta(hours=1), None, None, 0, T0)


def test_a_cursor_the_session_holds_keeps_its_unflushed_changes(migrated: Engine) -> None:
    sessions = make_sessionmaker(migrated)
    with sessions() as s, s.begin():
        state.advance(s, "x:stream", at=T0, cursor="1")
    with sessions() as s, s.begin():
        row = s.get(SourceCursor, "x:stream")
        row.malformed = 5  # changed by the caller, not flushed yet
        state.advance(s, "x:stream", at=T0 + timedelta(minutes=1), cursor="2", malformed=1)
        state.saw_post(s, "x:stream", T0, T0 + timedelta(minutes=1))
    assert _row(migrated, "x:stream") == ("2", T0, T0 + timedelta(minutes=1), None, 6, T0 + timedelta(minutes=1))

    with sessions() as s, s.begin():
        s.add(SourceCursor(name="mastodon:new", cursor="a", updated_at=T0, malformed=0))  # added, not flushed
        state.advance(s, "mastodon:new", at=T0, last_post_at=T0 - timedelta(minutes=5))
        assert s.scalars(select(SourceCursor.name)).all()  # one row, not a clash of two inserts
    assert _row(migrated, "mastodon:new") == ("a", T0 - timedelta(minutes=5), T0, None, 0, T0)
