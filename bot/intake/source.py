"""What every source is: something that reads a network (or a file) and writes raw posts to the inbox.

A source does one round of reading per ``step`` and returns how long to wait before the next; the
raw posts it read are written to the durable inbox together with its new cursor, in one
transaction, before anything is decided about them. Validation, triage and ingest happen later, in
``bot.intake.inbox.InboxDrain``, so nothing a source reads can be lost to a failure downstream,
and one bad record can never stop a source.

Records are plain dicts in the replay format (README, "Replay files"): each adapter maps its
network's JSON to that shape and nothing more.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.common import jsonsafe
from bot.common.clock import Clock
from bot.intake import state
from bot.intake.inbox import Inbox, RawPost

log = logging.getLogger(__name__)


class Source(Protocol):
    name: str
    """The key of this source's cursor and health (``x:mentions``, ``replay:posts.jsonl:ab12…``)."""

    def step(self) -> float:
        """Read once, write what was read to the inbox; return seconds until the next round."""
        ...


@dataclass
class SourceContext:
    """What every source needs from the app, as plain dependencies."""

    sessions: sessionmaker[Session]
    inbox: Inbox
    clock: Clock
    alert_channel: str
    silence: timedelta = timedelta(hours=6)


@dataclass
class SourceBase:
    """Shared plumbing: storing what was read, counting what was not, saying when it goes quiet."""

    ctx: SourceContext
    name: str = ""
    malformed: int = 0
    read: int = 0
    _quiet_logged: bool = field(default=False, repr=False)

    def store(self, posts: list[RawPost], cursor: str | None, *, also: Any = None) -> None:
        """Write ``posts`` and the cursor after them in one transaction (``also`` joins it). A record
        no engine can store as it is (nested too deep, NaN, a NUL) is skipped with its reason first:
        one such record must not fail its neighbours' transaction again and again."""
        storable = []
        for post in posts:
            why = jsonsafe.problem(post.record)
            if why:
                self.skipped(post.position, why)
            else:
                storable.append(post)
        posts = storable
        self.ctx.inbox.write(self.name, posts, cursor=cursor, also=also)
        self.read += len(posts)
        self.check_silence(bool(posts))

    def skipped(self, position: str, reason: str) -> None:
        """A record too broken to store even raw: logged with where it was, counted, skipped."""
        self.malformed += 1
        log.warning("%s: %s skipped: %s", self.name, position, reason)
        try:
            with self.ctx.sessions() as session, session.begin():
                state.get_cursor(session, self.name, self.ctx.clock.now())
                state.count_malformed(session, self.name, 1, self.ctx.clock.now())
        except SQLAlchemyError:
            log.warning("%s: could not count the skipped record (database unavailable)", self.name)

    def check_silence(self, got_posts: bool) -> None:
        if got_posts:
            self._quiet_logged = False
            return
        at = self.ctx.clock.now()
        with self.ctx.sessions() as session:
            row = session.get(state.SourceCursor, self.name)
            last = (row.last_post_at or row.updated_at) if row else None
        if last and at - last >= self.ctx.silence and not self._quiet_logged:
            log.warning("%s: no posts for %s (since %s)", self.name, at - last, last.isoformat())
            self._quiet_logged = True

    def alert_once(self, key: str, text: str) -> bool:
        return state.raise_alert_once(
            self.ctx.sessions, key, text, channel=self.ctx.alert_channel, at=self.ctx.clock.now()
        )
