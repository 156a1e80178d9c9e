"""Read-only views of the desk for the daily reminder, ``/complaints`` and App Home.

Each returns plain values (dataclasses of ids, texts and times); the Slack layer renders them.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from bot.history.event_kinds import SYSTEM, EventKind
from bot.history.events import PromiseClosed, details_of
from bot.intake import skipped
from bot.store.enums import OPEN_STATUSES, Kind, PromiseStatus, Status
from bot.store.fold import fold, folded
from bot.store.models import AuditEvent, Complaint, Promise

OPEN = [s.value for s in OPEN_STATUSES]


@dataclass(frozen=True)
class PromiseLine:
    promise_id: int
    complaint_id: int
    owner_id: str
    text: str
    due_at: datetime
    status: str
    reschedule_count: int
    customer: str
    channel: str | None
    ts: str | None


@dataclass(frozen=True)
class Counts:
    by_status: dict[str, int]
    oldest_unclaimed: datetime | None
    unclaimed: int
    overdue_promises: int
    folded: int = 0
    """Open complaints folded into another card (``+N similar``): on the board through that card."""


@dataclass(frozen=True)
class Yesterday:
    day: str
    new: int
    resolved: int
    median_minutes_to_claim: float | None
    kept_on_time: int
    kept_late: int
    broken: int


@dataclass(frozen=True)
class Digest:
    day: str
    overdue: list[PromiseLine] = field(default_factory=list)
    due_today: list[PromiseLine] = field(default_factory=list)
    counts: Counts | None = None
    yesterday: Yesterday | None = None
    skipped: int = 0
    """Posts of the last 24 h that got no card (``/complaints skipped`` lists them)."""


def _lines(session: Session, *where: object, order: object = Promise.due_at) -> list[PromiseLine]:
    rows = session.execute(
        select(Promise, Complaint.author_handle, Complaint.slack_channel, Complaint.slack_ts)
        .join(Complaint, Complaint.id == Promise.complaint_id)
        .where(*where)
        .order_by(order)
    ).all()
    return [
        PromiseLine(p.id, p.complaint_id, p.owner_id, p.text, p.due_at, p.status, p.reschedule_count, handle, ch, ts)
        for p, handle, ch, ts in rows
    ]


def overdue(session: Session, now: datetime, owner: str | None = None) -> list[PromiseLine]:
    """Past due and not kept or cancelled (open, or already marked broken)."""
    where = [Promise.status.in_([PromiseStatus.OPEN.value, PromiseStatus.BROKEN.value]), Promise.due_at < now]
    if owner:
        where.append(Promise.owner_id == owner)
    return _lines(session, *where)


def due_between(session: Session, start: datetime, end: datetime) -> list[PromiseLine]:
    return _lines(session, Promise.status == PromiseStatus.OPEN.value, Promise.due_at >= start, Promise.due_at < end)


def open_promises_of(session: Session, owner: str) -> list[PromiseLine]:
    return _lines(
        session, Promise.status.in_([PromiseStatus.OPEN.value, PromiseStatus.BROKEN.value]), Promise.owner_id == owner
    )


def open_promises_on(session: Session, complaint_id: int) -> list[PromiseLine]:
    return _lines(
        session,
        Promise.status.in_([PromiseStatus.OPEN.value, PromiseStatus.BROKEN.value]),
        Promise.complaint_id == complaint_id,
    )


WAITING_SINCE = case((Complaint.posted_at < Complaint.created_at, Complaint.posted_at), else_=Complaint.created_at)
"""When the customer started waiting: when they posted — not when the bot stored the post (after a
fresh start or an outage that can be hours later) — but never later than we had it (a clock ahead)."""


def _utc(value: object) -> datetime | None:
    """An aggregate or CASE over a datetime column comes back untyped on SQLite (text or naive)."""
    if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
        return value  # type: ignore[return-value]
    return datetime.fromisoformat(str(value)).replace(tzinfo=UTC)


def counts(session: Session, now: datetime) -> Counts:
    visible = [Complaint.kind == Kind.COMPLAINT.value, Complaint.duplicate_of.is_(None)]
    by_status = dict(
        session.execute(select(Complaint.status, func.count()).where(*visible).group_by(Complaint.status)).all()
    )
    oldest = session.execute(
        select(func.min(WAITING_SINCE)).where(*visible, Complaint.status == Status.NEW.value)
    ).scalar_one()
    oldest = _utc(oldest)
    overdue_count = session.execute(
        select(func.count())
        .select_from(Promise)
        .where(Promise.status.in_([PromiseStatus.OPEN.value, PromiseStatus.BROKEN.value]), Promise.due_at < now)
    ).scalar_one()
    folded = session.execute(
        select(func.count())
        .select_from(Complaint)
        .where(Complaint.kind == Kind.COMPLAINT.value, Complaint.duplicate_of.is_not(None), Complaint.status.in_(OPEN))
    ).scalar_one()
    return Counts(by_status, oldest, by_status.get(Status.NEW.value, 0), overdue_count, folded)


def my_claims(session: Session, user: str) -> list[Complaint]:
    return list(
        session.scalars(
            select(Complaint)
            .where(Complaint.owner_id == user, Complaint.status.in_(OPEN))
            .order_by(Complaint.priority.desc())
        )
    )


def customer_histories(
    session: Session, handle: str, source: str | None = None, limit: int = 10
) -> list[list[Complaint]]:
    """A handle's history per network identity (source + author id), busiest first: the same
    handle on two networks is two customers, so their stories are never mixed into one list."""
    key = fold(handle).strip().lstrip("@\uff20")
    query = select(Complaint).where(folded(Complaint.author_handle, session) == key)
    if source:
        query = query.where(Complaint.source == source)
    rows = session.scalars(query.order_by(Complaint.posted_at.desc(), Complaint.id.desc()).limit(limit * 5)).all()
    groups: dict[tuple[str, str], list[Complaint]] = {}
    for row in rows:
        groups.setdefault((row.source, row.author_id), []).append(row)
    return sorted((g[:limit] for g in groups.values()), key=lambda g: (-len(g), g[0].source))


def yesterday(session: Session, now: datetime, tz: str) -> Yesterday:
    zone = ZoneInfo(tz)
    day = now.astimezone(zone).date() - timedelta(days=1)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    new = session.execute(
        select(func.count())
        .select_from(Complaint)
        .where(Complaint.kind == Kind.COMPLAINT.value, Complaint.created_at >= start, Complaint.created_at < end)
    ).scalar_one()
    kinds = [EventKind.RESOLVED, EventKind.CLAIMED, EventKind.PROMISE_KEPT, EventKind.PROMISE_BROKEN]
    rows = session.scalars(
        select(AuditEvent).where(
            AuditEvent.at >= start, AuditEvent.at < end, AuditEvent.action.in_([k.value for k in kinds])
        )
    ).all()
    by_kind: dict[EventKind, list[AuditEvent]] = {k: [] for k in kinds}
    for event in rows:
        by_kind[EventKind(event.action)].append(event)
    claims = by_kind[EventKind.CLAIMED]
    waits: list[float] = []
    if claims:
        created = dict(
            session.execute(
                select(Complaint.id, WAITING_SINCE).where(Complaint.id.in_([e.complaint_id for e in claims]))
            ).all()
        )
        waits = [
            (e.at - since).total_seconds() / 60
            for e in claims
            if (since := _utc(created.get(e.complaint_id))) is not None
        ]
    kept = by_kind[EventKind.PROMISE_KEPT]
    on_time = sum(1 for e in kept if isinstance(d := details_of(e), PromiseClosed) and d.on_time)
    resolved = [e for e in by_kind[EventKind.RESOLVED] if e.actor != SYSTEM]  # not the folded copies
    return Yesterday(
        day=day.isoformat(),
        new=new,
        resolved=len(resolved),
        median_minutes_to_claim=round(statistics.median(waits), 1) if waits else None,
        kept_on_time=on_time,
        kept_late=len(kept) - on_time,
        broken=len(by_kind[EventKind.PROMISE_BROKEN]),
    )


def skipped_count(session: Session, now: datetime) -> int:
    return skipped.count(session, now)


def digest(session: Session, now: datetime, tz: str) -> Digest:
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    end_of_day = datetime.combine(local.date() + timedelta(days=1), time(0), tzinfo=zone)
    return Digest(
        day=local.date().isoformat(),
        overdue=overdue(session, now),
        due_today=due_between(session, now, end_of_day),
        counts=counts(session, now),
        yesterday=yesterday(session, now, tz),
        skipped=skipped_count(session, now),
    )
