"""The delivery worker: picks what can go now, sends it once through its transport, stores the outcome.

- **What can go** is decided in one SQL query: pending, due, its lane has a turn free, and — for a
  row that needs a card — the card is posted. Rows that cannot go are excluded there, not skipped in
  Python after a ``LIMIT``, so no number of them can hide one that can. Highest priority first.
- **Rate**: a turn on the row's lane (``lanes``) and a lease on the row are taken in one
  transaction, so every worker on the database shares one rate per channel and two workers never
  send the same row. A worker killed mid-send loses its lease after ``LEASE``; the row comes back,
  and its transport looks before sending it again.
- **Failures**: ``RetryLater`` (timeouts, 5xx, 429, dropped connections) reschedules, up to
  ``MAX_ATTEMPTS``; ``Undeliverable`` marks the row dead, and a dead card closes the rows that wait
  for it; anything else is our bug: the row is set aside at once with the traceback logged, and
  ``followthrough check`` counts it. A database error is neither — it goes to the worker loop's
  back-off, and the row's lease brings it back.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from sqlalchemy import Select, case, func, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.common.clock import Clock
from bot.desk import replies
from bot.incidents import broadcast
from bot.outbox import close_dependents, enqueue, lanes, request_card_refresh
from bot.outbox.kinds import SPECS, DeliveryKind
from bot.outbox.send_errors import RetryLater, Undeliverable
from bot.outbox.transport import DeliveryTransport, Sent
from bot.store.engine import unavailable
from bot.store.enums import DeliveryStatus
from bot.store.models import Complaint, Delivery, Lane

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=30)
MAX_ATTEMPTS = 12
PENDING = DeliveryStatus.PENDING.value


_D = Delivery.__table__.c
_L = Lane.__table__.c
_C = Complaint.__table__.c
_REPLIES = frozenset({DeliveryKind.REPLY.value})
_BAND = case({kind.value: spec.band.value for kind, spec in SPECS.items()}, value=_D.kind, else_=0)
"""Each row's band (``kinds.Band``): a new card goes before two hundred audit lines on its channel."""


def _deliverable(now: datetime, transports: list[str]) -> Select:  # type: ignore[type-arg]
    card = Complaint.__table__.alias("card")
    return (
        select(_D.id, _D.lane, _D.kind)
        .select_from(
            Delivery.__table__.outerjoin(Lane.__table__, _L.key == _D.lane).outerjoin(card, card.c.id == _D.card_of)
        )
        .where(
            _D.status == PENDING,
            _D.transport.in_(transports),
            or_(_D.card_of.is_(None), card.c.slack_ts.is_not(None)),
        )
    )


class _Lost(Exception):
    """Another worker won the turn or the row; this step rolls back and picks again."""


class Deliverer:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        transports: list[DeliveryTransport],
        *,
        post_rate: float = 1.0,
        update_rate: float = 0.8,
        idle_seconds: float = 0.25,
        brand: replies.Brand | None = None,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.transports = {str(t.name): t for t in transports}
        # An infinite rate (tests, the demo's stand-in) means no pacing: a lane's turn is free again at once.
        self.intervals = {"post": 1.0 / post_rate, "update": 1.0 / update_rate}
        self.idle_seconds = idle_seconds
        self.sent = 0
        self.retries = 0
        self.set_aside = 0
        self.brand = brand or replies.Brand({}, {})
        """Who the brand is on each network: replies sent to customers are recorded as its posts."""

    # -- the loop --------------------------------------------------------------------------------
    def step(self) -> float:
        """Deliver at most one row; return how long to wait before the next step."""
        now = self.clock.now()
        with self.sessions() as session:
            picked = session.execute(
                _deliverable(now, list(self.transports))
                .where(_D.available_at <= now, or_(_L.next_at.is_(None), _L.next_at <= now))
                .order_by(_BAND.desc(), _D.priority.desc(), _D.id)
                .limit(1)
            ).first()
        if picked is None:
            # Wait for the next turn, not a fixed idle: after each post the channel's lane is busy for
            # 1/rate seconds, and idling a quarter second after every post capped delivery at four a
            # second whatever the rate (a backlog of audit lines then starved new cards for minutes).
            # ``idle_seconds`` bounds the wait, so rows other processes add are seen within it.
            wait = self.next_due_in()
            return self.idle_seconds if wait is None else min(self.idle_seconds, wait)
        interval = self.intervals["update" if picked.lane.startswith("update:") else "post"]
        try:
            with self.sessions() as session, session.begin():
                if not lanes.take_turn(session, picked.lane, now=now, interval=interval):
                    raise _Lost  # another worker took this turn
                leased = session.execute(
                    update(Delivery)
                    .where(Delivery.id == picked.id, Delivery.status == PENDING, Delivery.available_at <= now)
                    .values(
                        available_at=now + LEASE,
                        attempts=Delivery.attempts + 1,
                        first_attempt_at=func.coalesce(Delivery.first_attempt_at, now),
                    )
                    .execution_options(synchronize_session=False)
                ).rowcount  # type: ignore[attr-defined]
                if leased != 1:
                    raise _Lost  # the row went to another worker: roll the turn back too
        except _Lost:
            return 0.0
        self._deliver(picked.id, now)
        return 0.0

    def next_due_in(self) -> float | None:
        """Seconds until some pending row could go (its time and its lane's turn), None if none can."""
        now = self.clock.now()
        ready_at = case((_L.next_at > _D.available_at, _L.next_at), else_=_D.available_at)
        with self.sessions() as session:
            first = session.execute(
                _deliverable(now, list(self.transports))
                .with_only_columns(_D.available_at, _L.next_at)
                .order_by(ready_at)
                .limit(1)
            ).first()
        if first is None:
            return None
        due = max(first[0], first[1] or first[0])
        return max(0.0, (due - now).total_seconds())

    def due(self) -> bool:
        wait = self.next_due_in()
        return wait is not None and wait <= 0.0

    def drain(self, max_steps: int = 10_000, until: Callable[[], bool] | None = None) -> int:
        """Run steps until nothing can go now (tests and the demo; production runs the worker loop)."""
        for n in range(max_steps):
            if until and until():
                return n
            if self.step() > 0 and not self.due():
                return n
        return max_steps

    # -- one delivery ----------------------------------------------------------------------------
    def _deliver(self, row_id: int, now: datetime) -> None:
        with self.sessions() as session:
            row = session.get(Delivery, row_id)
            assert row is not None
            complaint = session.get(Complaint, row.complaint_id) if row.complaint_id else None
            card = session.get(Complaint, row.card_of) if row.card_of else None
            session.expunge_all()
        incident = (row.payload or {}).get("incident") if row.kind in _REPLIES else None
        if incident is not None and (complaint is None or complaint.incident_id != int(incident)):
            # Taken out of the incident since its update was written: the outage's text is not theirs.
            self._withdraw(row, f"no longer part of incident #{incident}")
            return
        transport = self.transports[row.transport]
        try:
            with self._keeping_lease(row):
                sent = transport.send(row, complaint, card)
        except RetryLater as exc:
            self.retries += 1
            if row.attempts >= MAX_ATTEMPTS:
                self._dead(row, f"gave up after {row.attempts} attempts: {exc}")
                return
            seconds = exc.seconds if exc.pause_lane else max(exc.seconds, self._backoff(row.attempts))
            self._reschedule(row, seconds, str(exc), pause_lane=exc.pause_lane)
            return
        except Undeliverable as exc:
            self._dead(row, str(exc))
            return
        except SQLAlchemyError as exc:
            if unavailable(exc):
                raise  # the database, not the row: the worker loop backs off; the lease brings the row back
            self.set_aside += 1
            log.exception("delivery %d (%s) set aside: a query for it failed; it waits for a fix", row.id, row.kind)
            self._finish(row, DeliveryStatus.SET_ASIDE, f"set aside: {type(exc).__name__} (see the log)")
            return
        except Exception:
            self.set_aside += 1
            log.exception("delivery %d (%s) set aside: our code failed on it; it waits for a fix", row.id, row.kind)
            self._finish(row, DeliveryStatus.SET_ASIDE, "set aside: an error in Followthrough (see the log)")
            return
        self._done(row, complaint, card, sent, now)

    @contextmanager
    def _keeping_lease(self, row: Delivery) -> Iterator[None]:
        """Renew the row's lease while its send runs (a digest's permalinks, a long look back through
        a busy channel): a send that outlived the lease would let a second worker send it again."""
        done = threading.Event()

        def keep() -> None:
            while not done.wait(LEASE.total_seconds() / 3):
                try:
                    with self.sessions() as session, session.begin():
                        session.execute(
                            update(Delivery)
                            .where(Delivery.id == row.id, Delivery.status == PENDING, Delivery.attempts == row.attempts)
                            .values(available_at=self.clock.now() + LEASE)
                        )
                except SQLAlchemyError:
                    log.warning("delivery %d: could not renew its lease", row.id)

        keeper = threading.Thread(target=keep, name=f"delivery-{row.id}-lease", daemon=True)
        keeper.start()
        try:
            yield
        finally:
            done.set()

    @staticmethod
    def _backoff(attempts: int) -> float:
        return min(300.0, 2.0 ** max(0, attempts - 1))

    def _done(
        self, row: Delivery, complaint: Complaint | None, card: Complaint | None, sent: Sent, rendered_at: datetime
    ) -> None:
        now = self.clock.now()
        with self.sessions() as session, session.begin():
            if row.kind == DeliveryKind.CARD_UPDATE and card is not None:
                changed = session.execute(select(Complaint.updated_at).where(Complaint.id == card.id)).scalar()
                if changed is not None and changed > card.updated_at:
                    # The card changed while this update was being sent: send it once more, from now.
                    session.execute(
                        update(Delivery)
                        .where(Delivery.id == row.id)
                        .values(available_at=now, attempts=0, first_attempt_at=None, last_error=None)
                    )
                    self.sent += 1
                    return
            session.execute(
                update(Delivery)
                .where(Delivery.id == row.id)
                .values(
                    status=DeliveryStatus.SENT.value,
                    sent_at=now,
                    remote_channel=sent.channel,
                    remote_id=sent.remote_id,
                    last_error=None,
                )
            )
            if row.kind == DeliveryKind.CARD and complaint is not None:
                session.execute(
                    update(Complaint)
                    .where(Complaint.id == complaint.id)
                    .values(slack_channel=sent.channel, slack_ts=sent.remote_id)
                )
                changed = session.execute(select(Complaint.updated_at).where(Complaint.id == complaint.id)).scalar()
                if sent.recovered or (changed is not None and changed > complaint.updated_at):
                    # Changed between rendering and posting — or posted by an attempt that died, so
                    # drawn from the state then, whatever it is now: one refresh catches it up.
                    request_card_refresh(session, complaint.id, at=now, priority=row.priority)
            if row.kind in _REPLIES:
                # Any network's reply: recorded, shown and read for promises in the transaction that
                # marks it sent, so none of it happens twice or not at all.
                replies.after_sent(session, row, sent.remote_id, at=now, brand=self.brand)
                if (row.payload or {}).get("incident") is not None:
                    broadcast.after_reply(session, row, at=now)
            if row.kind == DeliveryKind.REPORT:
                # The numbers are out: the chart follows in their thread, once (its key is the report's).
                enqueue(
                    session,
                    DeliveryKind.REPORT_CHART,
                    key=f"chart:{row.id}",
                    channel=sent.channel,
                    at=now,
                    payload={"report": row.id, "thread_ts": sent.remote_id},
                    priority=row.priority,
                )
        self.sent += 1

    def _reschedule(self, row: Delivery, seconds: float, reason: str, *, pause_lane: bool) -> None:
        log.warning("delivery %d (%s): %s; retrying in %.1fs", row.id, row.kind, reason, seconds)
        until = self.clock.now() + timedelta(seconds=seconds)
        with self.sessions() as session, session.begin():
            session.execute(
                update(Delivery).where(Delivery.id == row.id).values(available_at=until, last_error=reason[:500])
            )
            if pause_lane:
                lanes.pause(session, row.lane, until=until)
            if row.kind in _REPLIES:
                replies.after_delayed(session, row, reason, until=until, at=self.clock.now())

    def _withdraw(self, row: Delivery, reason: str) -> None:
        """Close an incident's reply that is not to be sent (nothing went); its update counts it done."""
        with self.sessions() as session, session.begin():
            closed = session.execute(
                update(Delivery)
                .where(Delivery.id == row.id, Delivery.status == PENDING)
                .values(status=DeliveryStatus.CLOSED.value, last_error=reason[:500])
            ).rowcount  # type: ignore[attr-defined]
            if closed:
                broadcast.after_reply(session, row, at=self.clock.now())

    def _dead(self, row: Delivery, reason: str) -> None:
        log.error("delivery %d (%s) cannot be delivered: %s (attempt %d)", row.id, row.kind, reason, row.attempts)
        self._finish(row, DeliveryStatus.DEAD, reason)

    def _finish(self, row: Delivery, status: DeliveryStatus, reason: str) -> None:
        with self.sessions() as session, session.begin():
            session.execute(
                update(Delivery).where(Delivery.id == row.id).values(status=status.value, last_error=reason[:500])
            )
            if row.kind == DeliveryKind.CARD and row.complaint_id and status is DeliveryStatus.DEAD:
                close_dependents(session, row.complaint_id, f"its card could not be posted: {reason}")
            if row.kind in _REPLIES and status is not DeliveryStatus.PENDING:
                replies.after_failed(session, row, reason, at=self.clock.now())
                if (row.payload or {}).get("incident") is not None:
                    session.flush()
                    broadcast.after_reply(session, row, at=self.clock.now())
            fallback = (row.payload or {}).get("fallback_channel") if row.kind == DeliveryKind.REPORT else None
            if fallback and status is DeliveryStatus.DEAD:
                # The report channel refused it (the app not invited to a private channel, archived):
                # the numbers go to the fallback channel, saying why, rather than nowhere.
                enqueue(
                    session,
                    DeliveryKind.REPORT,
                    key=f"report-fallback:{row.id}",
                    channel=str(fallback),
                    at=self.clock.now(),
                    payload={
                        **row.payload,
                        "fallback_channel": None,
                        "note": f":warning: This report could not be posted in <#{row.channel}> (Slack said "
                        f"`{reason[:80]}`): invite the app there with /invite, or set SLACK_REPORT_CHANNEL.",
                    },
                    priority=row.priority,
                )


def counts_by_status(session: Session) -> dict[str, int]:
    """How many deliveries stand in each state (``check`` reports set-aside and dead ones)."""
    return dict(session.execute(select(Delivery.status, func.count()).group_by(Delivery.status)).all())
