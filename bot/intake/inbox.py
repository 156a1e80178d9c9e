"""The durable inbox: raw posts are stored as read, then drained into complaints.

Why a table between sources and ingest: a source must never lose what it read because something
downstream failed. Before the inbox, a database error while ingesting a filtered-stream post lost
the post (the stream delivers it once), and one record that made ingest raise kept a replay source
re-reading the same batch for ever. Now a source's only job is ``Inbox.write`` (the raw records and
its cursor, in one transaction), and ``InboxDrain`` does the rest:

- each record is validated (``post_from_record``, with bounds); one that fails is kept, marked
  ``skipped`` with its reason, logged with its source and position, and counted on its source;
- the valid ones are ingested in one transaction, which also deletes their inbox rows; if that
  fails for anything but the database being unavailable, the batch is redone record by record
  (savepoints), so the one record that makes ingest raise is set aside and the rest go in;
- the database being unavailable is nobody's record: the drain raises, the worker loop backs off,
  and the rows are still there afterwards.

On PostgreSQL several workers may run a drain; a transaction-scoped advisory lock lets one drain
at a time, so posts are ingested in the order they were read (a retweet after its original).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import Integer, bindparam, delete, select, text, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.common.clock import Clock
from bot.intake import state
from bot.intake.ingest import Ingestor
from bot.intake.posts import Post, post_from_record
from bot.store import dialect
from bot.store.bulk import insert_rows
from bot.store.engine import unavailable
from bot.store.enums import InboxStatus
from bot.store.models import InboxItem
from bot.store.models import Post as PostRow

log = logging.getLogger(__name__)

DRAIN_LOCK = 0x4654_494E  # "FTIN": the advisory lock id of the inbox drain on PostgreSQL
_I = InboxItem.__table__.c
PENDING = InboxStatus.PENDING.value
_TAKE = (
    select(_I.id, _I.stream, _I.position, _I.record)
    .where(_I.status == PENDING)
    .order_by(_I.id)
    .limit(bindparam("batch", type_=Integer()))
)
_DONE = delete(InboxItem.__table__).where(_I.id.in_(bindparam("ids", expanding=True)))


@dataclass(frozen=True)
class RawPost:
    """One record as a source read it: where it came from (for logs), and its replay-format fields."""

    position: str
    record: Any


def _already_stored(session: Session, post: Post) -> bool:
    return (
        session.execute(select(PostRow.id).where(PostRow.source == post.source, PostRow.external_id == post.id)).first()
        is not None
    )


class Inbox:
    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock

    def write(
        self,
        stream: str,
        posts: list[RawPost],
        *,
        cursor: str | None,
        also: Callable[[Session], None] | None = None,
    ) -> None:
        """Store ``posts`` and move ``stream``'s cursor past them, in one transaction."""
        at = self.clock.now()
        with self.sessions() as session, session.begin():
            self.add(session, stream, posts, at=at, cursor=cursor)
            if also is not None:
                also(session)

    @staticmethod
    def add(session: Session, stream: str, posts: list[RawPost], *, at: datetime, cursor: str | None = None) -> None:
        """The one way raw posts enter the inbox, in the caller's transaction: every source through
        ``write``, the webhook for a group of requests at once."""
        if posts:
            insert_rows(
                session,
                InboxItem.__table__,
                [
                    {
                        "stream": stream,
                        "position": p.position[:96],
                        "record": p.record,
                        "status": PENDING,
                        "error": None,
                        "received_at": at,
                    }
                    for p in posts
                ],
            )
        state.advance(session, stream, at=at, cursor=cursor)

    def pending(self) -> int:
        from sqlalchemy import func

        with self.sessions() as session:
            return session.scalar(select(func.count()).select_from(InboxItem).where(_I.status == PENDING)) or 0


class _Row(NamedTuple):
    """A pending inbox row (a tuple: built straight from the result row, hundreds per batch)."""

    id: int
    stream: str
    position: str | None
    record: Any


class InboxDrain:
    """The ingest task: turns pending inbox rows into complaints, a batch per step."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        ingestor: Ingestor,
        clock: Clock,
        *,
        batch: int = 500,
        idle_seconds: float = 0.5,
    ) -> None:
        self.sessions = sessions
        self.ingestor = ingestor
        self.clock = clock
        self.batch = batch
        self.idle_seconds = idle_seconds
        self.ingested = 0
        self.skipped = 0

    def step(self) -> float:
        """Drain one batch; 0 when more may be waiting, else the idle wait."""
        done = self.drain_once()
        return 0.0 if done >= self.batch else self.idle_seconds

    def drain(self, max_batches: int = 100_000) -> int:
        """Drain until the inbox is empty (tests, the demo, benches)."""
        total = 0
        for _ in range(max_batches):
            n = self.drain_once()
            total += n
            if n < self.batch:
                return total
        return total

    def drain_once(self) -> int:
        """Ingest up to ``batch`` pending rows; returns how many rows were taken off the queue."""
        at = self.clock.now()
        try:
            with self.sessions() as session, session.begin():
                rows = self._take(session)
                if not rows:
                    return 0
                valid, invalid = self._validate(rows, at)
                self.ingestor.ingest_in(session, [post for _, post in valid], at=at)
                self._finish(session, valid, invalid, at)
                self.ingested += len(valid)
                return len(rows)
        except SQLAlchemyError as exc:
            if unavailable(exc):
                raise
            log.warning("ingest of a batch failed (%s); redoing it record by record", type(exc).__name__)
        except Exception:
            log.exception("ingest of a batch failed; redoing it record by record")
        return self._one_by_one(at)

    def _take(self, session: Session) -> list[_Row]:
        postgres = dialect.is_postgres(session)
        # Advisory locks are database-wide; keyed by the schema too, so deployments (or test runs)
        # sharing one database in different schemas never wait on each other's drain.
        if (
            postgres
            and not session.execute(
                text("SELECT pg_try_advisory_xact_lock(:k, hashtext(current_schema()))"), {"k": DRAIN_LOCK}
            ).scalar()
        ):
            return []  # another worker is draining; it will get to these
        return list(map(_Row._make, session.execute(_TAKE, {"batch": self.batch})))

    def _validate(self, rows: list[_Row], at: datetime) -> tuple[list[tuple[_Row, Post]], list[tuple[_Row, str]]]:
        valid: list[tuple[_Row, Post]] = []
        invalid: list[tuple[_Row, str]] = []
        for row in rows:
            try:
                valid.append((row, post_from_record(row.record, default_source=row.stream.split(":", 1)[0], now=at)))
            except Exception as exc:  # any record, however broken, is refused with a reason
                invalid.append((row, str(exc) or type(exc).__name__))
        return valid, invalid

    def _finish(
        self,
        session: Session,
        ingested: list[tuple[_Row, Post]],
        invalid: list[tuple[_Row, str]],
        at: datetime,
    ) -> None:
        if ingested:
            session.execute(_DONE, {"ids": [r.id for r, _ in ingested]})
            newest: dict[str, datetime] = {}
            for row, post in ingested:
                if row.stream not in newest or post.created_at > newest[row.stream]:
                    newest[row.stream] = post.created_at
            for stream, when in newest.items():
                state.saw_post(session, stream, when, at)
        if not invalid:
            return
        for row, reason in invalid:
            log.warning("%s: %s skipped: %s", row.stream, row.position or f"inbox row {row.id}", reason)
            session.execute(
                update(InboxItem).where(_I.id == row.id).values(status=InboxStatus.SKIPPED.value, error=reason[:1000])
            )
        for stream, n in Counter(row.stream for row, _ in invalid).items():
            state.get_cursor(session, stream, at)
            state.count_malformed(session, stream, n, at)
        self.skipped += len(invalid)

    def _one_by_one(self, at: datetime) -> int:
        with self.sessions() as session, session.begin():
            rows = self._take(session)
            valid, invalid = self._validate(rows, at)
            ingested: list[tuple[_Row, Post]] = []
            for row, post in valid:
                try:
                    with session.begin_nested():
                        self.ingestor.ingest_in(session, [post], at=at)
                    ingested.append((row, post))
                except IntegrityError as exc:
                    if _already_stored(session, post):
                        ingested.append((row, post))  # stored meanwhile by another worker: done, not lost
                    else:  # a constraint this record breaks: kept, with the reason, never deleted
                        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
                        invalid.append((row, f"could not be stored: {type(exc).__name__}: {reason}"))
                except SQLAlchemyError as exc:
                    if unavailable(exc):
                        raise
                    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0][:200]
                    invalid.append((row, f"could not be stored: {type(exc).__name__}: {reason}"))
                except Exception as exc:
                    log.exception("%s: %s could not be ingested", row.stream, row.position)
                    invalid.append((row, f"could not be ingested: {type(exc).__name__}: {exc}"))
            self._finish(session, ingested, invalid, at)
            self.ingested += len(ingested)
            return len(rows)
