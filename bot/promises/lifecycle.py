"""Promises to customers: recorded with a due time, closed as kept or cancelled, moved with a reason,
and walked up the nag ladder when overdue.

Each ladder step fires exactly once: advancing is ``UPDATE … WHERE ladder_step = :k AND status =
'open'`` in the same transaction as the step's outbox row (whose dedupe key names the step), so two
workers — or one restarted mid-ladder — cannot both send it. On PostgreSQL the scan also takes its
rows with ``FOR UPDATE SKIP LOCKED``, so several workers split the due promises between them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import outbox
from bot.common import limits
from bot.common.errors import Conflict, DomainError, NotFound
from bot.history import events, labels
from bot.history.events import EventKind
from bot.outbox.kinds import NAG_KINDS
from bot.promises import heads_up
from bot.promises.quiet import QuietHours, next_allowed
from bot.store import dialect
from bot.store.enums import OPEN_STATUSES, PromiseStatus
from bot.store.models import Complaint, Promise

MAX_TEXT = limits.PROMISE_TEXT
CLOSE_KINDS = {
    PromiseStatus.KEPT: EventKind.PROMISE_KEPT,
    PromiseStatus.CANCELLED: EventKind.PROMISE_CANCELLED,
    PromiseStatus.BROKEN: EventKind.PROMISE_BROKEN,
}
STILL_OWED = [PromiseStatus.OPEN.value, PromiseStatus.BROKEN.value]
"""A broken promise is still owed: it can be kept late, cancelled or moved."""


def _note(
    session: Session, complaint: Complaint, event: events.AuditEvent, actor: str, at: datetime, **detail: Any
) -> None:
    outbox.note_and_refresh(
        session,
        complaint_id=complaint.id,
        event_id=event.id,
        priority=complaint.priority,
        action=event.action,
        actor=actor,
        at=at,
        detail={k: v for k, v in detail.items() if v is not None},
    )


def create(
    session: Session,
    complaint_id: int,
    *,
    owner_id: str,
    text: str,
    due_at: datetime,
    created_by: str,
    at: datetime,
) -> Promise:
    text = " ".join(text.split())
    if not text:
        raise DomainError("Say what was promised, e.g. “call back about the refund”.")
    if len(text) > MAX_TEXT:
        raise DomainError(f"Keep the promise under {MAX_TEXT} characters; details belong in the thread.")
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(f"There is no complaint #{complaint_id}. Check the number on the card.")
    if complaint.status not in [s.value for s in OPEN_STATUSES]:
        raise DomainError(f"Complaint #{complaint_id} is {complaint.status}: reopen it before promising more.")
    if due_at <= at:
        raise DomainError("The due time has passed; pick a time ahead.")
    promise = Promise(
        complaint_id=complaint_id,
        owner_id=owner_id,
        text=text,
        due_at=due_at,
        status=PromiseStatus.OPEN.value,
        reschedule_count=0,
        ladder_step=0,
        next_nag_at=due_at,
        created_by=created_by,
        created_at=at,
    )
    session.add(promise)
    session.flush()
    event = events.record(
        session,
        EventKind.PROMISE_MADE,
        complaint_id=complaint_id,
        promise_id=promise.id,
        actor=created_by,
        note=text,
        at=at,
        details=events.PromiseMade(due_at=due_at.isoformat(), owner=owner_id),
    )
    _note(session, complaint, event, created_by, at, owner_id=owner_id, text=text, due=due_at.isoformat())
    if created_by != events.SYSTEM:
        labels.label_post(session, complaint_id, None, "promise", at)
    return promise


def create_once(
    session: Session,
    complaint_id: int,
    *,
    owner_id: str,
    text: str,
    due_at: datetime,
    asked_at: datetime,
    at: datetime,
) -> bool:
    """Record the promise a reading was picked for, unless the same one (owner, words, due time) was
    recorded since the question was asked: a double-clicked reading is one promise. Promise creation
    on the complaint is serialised first (a PostgreSQL row lock; SQLite's write lock already does).
    True if this call recorded it."""
    session.execute(select(Complaint.id).where(Complaint.id == complaint_id).with_for_update())
    same = session.scalars(
        select(Promise.id).where(
            Promise.complaint_id == complaint_id,
            Promise.owner_id == owner_id,
            Promise.text == " ".join(text.split()),
            Promise.due_at == due_at,
            Promise.created_at >= asked_at,
        )
    ).first()
    if same is not None:
        return False
    create(session, complaint_id, owner_id=owner_id, text=text, due_at=due_at, created_by=owner_id, at=at)
    return True


def _drop_pending_nags(session: Session, promise_id: int, why: str) -> None:
    """Kept, cancelled or moved: reminders not yet delivered for it must not go out."""
    outbox.drop_pending(session, promise_id=promise_id, kinds=list(NAG_KINDS.values()), reason=why)


def close(
    session: Session,
    promise_id: int,
    *,
    status: PromiseStatus,
    user_id: str,
    at: datetime,
    why: str | None = None,
    at_step: int | None = None,
) -> Promise:
    """The one way a promise closes: kept, cancelled, or broken.

    Kept and cancelled stop the ladder at once and drop any reminder still queued (also for a
    promise already marked broken, which is still owed). Broken comes only from the ladder's last
    step (``at_step`` makes it conditional on the ladder still standing there); a broken promise
    keeps its queued reminders, since it is still owed. ``why`` names what closed it when that was
    not the promise's own button (``resolved``: closed with its complaint).
    """
    if status is PromiseStatus.BROKEN:
        conditions = [Promise.id == promise_id, Promise.status == PromiseStatus.OPEN.value]
        if at_step is not None:
            conditions.append(Promise.ladder_step == at_step + 1)
        values: dict[str, Any] = {"status": status.value}
    elif status in (PromiseStatus.KEPT, PromiseStatus.CANCELLED):
        conditions = [Promise.id == promise_id, Promise.status.in_(STILL_OWED)]
        values = {"status": status.value, "closed_at": at, "closed_by": user_id, "next_nag_at": None}
    else:
        raise ValueError(status)
    done = session.execute(
        update(Promise).where(*conditions).values(**values).execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    promise = session.get(Promise, promise_id, populate_existing=True)
    if promise is None:
        raise NotFound(f"There is no promise {promise_id}.")
    if done != 1:
        raise Conflict(f"That promise is already {promise.status}.", current_status=promise.status)
    if status is not PromiseStatus.BROKEN:
        _drop_pending_nags(session, promise_id, f"promise {status.value}")
    complaint = session.get(Complaint, promise.complaint_id)
    assert complaint is not None
    event = events.record(
        session,
        CLOSE_KINDS[status],
        complaint_id=promise.complaint_id,
        promise_id=promise_id,
        actor=user_id,
        note=promise.text,
        at=at,
        details=events.PromiseClosed(
            due_at=promise.due_at.isoformat(), on_time=status is PromiseStatus.KEPT and at <= promise.due_at, why=why
        ),
    )
    theirs = promise.owner_id if promise.owner_id != user_id else None
    if why is None and status is not PromiseStatus.BROKEN:
        _note(session, complaint, event, user_id, at, text=promise.text, previous_owner=theirs)
    else:
        outbox.request_card_refresh(session, complaint.id, at=at, priority=complaint.priority + 1)
    if status is not PromiseStatus.BROKEN:
        heads_up.tell_previous_owner(
            session,
            owner=promise.owner_id,
            actor=user_id,
            action=event.action,
            event_id=event.id,
            complaint_id=complaint.id,
            promise_id=promise_id,
            at=at,
            priority=complaint.priority,
            detail={"text": promise.text, **({"why": why} if why else {})},
        )
    return promise


def close_open_on(
    session: Session, complaint_id: int, *, status: PromiseStatus, user_id: str, at: datetime, why: str
) -> int:
    """Close every promise still owed on a complaint (Resolve's "mark them kept / cancel them")."""
    ids = session.scalars(
        select(Promise.id).where(Promise.complaint_id == complaint_id, Promise.status.in_(STILL_OWED))
    ).all()
    for promise_id in ids:
        close(session, promise_id, status=status, user_id=user_id, at=at, why=why)
    return len(ids)


def reschedule(
    session: Session, promise_id: int, *, user_id: str, due_at: datetime, reason: str, at: datetime
) -> Promise:
    """Move the due time, with a reason; the count shows how often a promise moved."""
    reason = limits.within(" ".join(reason.split()), limits.RESCHEDULE_REASON, "Why it moved", field="reason")
    if not reason:
        raise DomainError("Say why it moved — the customer will ask.", field="reason")
    if due_at <= at:
        raise DomainError("The new time has passed; pick a time ahead.", field="when")
    promise = session.get(Promise, promise_id)
    if promise is None:
        raise NotFound(f"There is no promise {promise_id}.")
    old_due = promise.due_at
    done = session.execute(
        update(Promise)
        .where(Promise.id == promise_id, Promise.status.in_(STILL_OWED))
        .values(
            status=PromiseStatus.OPEN.value,
            due_at=due_at,
            next_nag_at=due_at,
            ladder_step=0,
            reschedule_count=Promise.reschedule_count + 1,
        )
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(promise)
    if done != 1:
        raise Conflict(f"That promise is already {promise.status}.", current_status=promise.status)
    _drop_pending_nags(session, promise_id, "promise rescheduled")
    complaint = session.get(Complaint, promise.complaint_id)
    assert complaint is not None
    event = events.record(
        session,
        EventKind.PROMISE_RESCHEDULED,
        complaint_id=promise.complaint_id,
        promise_id=promise_id,
        actor=user_id,
        note=reason,
        at=at,
        details=events.PromiseRescheduled(
            due_from=old_due.isoformat(), due_to=due_at.isoformat(), count=promise.reschedule_count
        ),
    )
    _note(
        session,
        complaint,
        event,
        user_id,
        at,
        text=promise.text,
        due=due_at.isoformat(),
        reason=reason,
        count=promise.reschedule_count,
        previous_owner=promise.owner_id if promise.owner_id != user_id else None,
    )
    heads_up.tell_previous_owner(
        session,
        owner=promise.owner_id,
        actor=user_id,
        action=event.action,
        event_id=event.id,
        complaint_id=complaint.id,
        promise_id=promise_id,
        at=at,
        priority=complaint.priority,
        detail={"text": promise.text, "due": due_at.isoformat(), "reason": reason},
    )
    return promise


# -- the nag ladder ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Ladder:
    steps: tuple[tuple[float, str], ...]  # (hours after due, kind)

    def offset(self, step: int) -> timedelta:
        return timedelta(hours=self.steps[step][0])


@dataclass(frozen=True)
class NagResult:
    sent: int = 0
    deferred: int = 0
    broken: int = 0


def due_for_nagging(session: Session, now: datetime, limit: int) -> Sequence[Promise]:
    """The one "due for reminder" query: open promises whose next step is due, oldest first."""
    query = (
        select(Promise)
        .where(Promise.status == PromiseStatus.OPEN.value, Promise.next_nag_at <= now)
        .order_by(Promise.next_nag_at)
        .limit(limit)
    )
    return session.scalars(dialect.skip_locked(query, session)).all()


@dataclass(frozen=True)
class NagTargets:
    """Where the ladder's rungs go, decided by the caller from the settings."""

    complaints_channel: str
    escalate_to: str
    """The escalation rung's conversation: the contact's DM when the contact is a person, else the
    escalation channel."""
    contact: str | None = None
    """Who the escalation notice names (a person or a user group)."""


def nag_tick(
    session: Session,
    *,
    now: datetime,
    ladder: Ladder,
    quiet: QuietHours,
    tz_of: Callable[[str], str],
    targets: NagTargets,
    limit: int = 200,
) -> NagResult:
    """Advance every due promise by one ladder step (or defer it past the owner's quiet hours)."""
    sent = deferred = broken = 0
    for promise in due_for_nagging(session, now, limit):
        step = promise.ladder_step
        if step >= len(ladder.steps):
            promise.next_nag_at = None
            continue
        allowed = next_allowed(now, quiet, tz_of(promise.owner_id))
        if allowed is not None:
            promise.next_nag_at = allowed
            deferred += 1
            continue
        if not _take_step(session, promise, step, next_at=_next_nag_at(promise, step, ladder, now), now=now):
            continue  # another worker took this step
        rung = _request_nag(session, promise, step, ladder=ladder, targets=targets, now=now)
        if rung == "escalate":
            close(session, promise.id, status=PromiseStatus.BROKEN, user_id=events.SYSTEM, at=now, at_step=step)
            broken += 1
        sent += 1
    return NagResult(sent, deferred, broken)


def _next_nag_at(promise: Promise, step: int, ladder: Ladder, now: datetime) -> datetime | None:
    """When the rung after ``step`` is due (None after the last). The ladder's spacing is kept after a
    deferral: no burst of steps on Monday morning."""
    if step == len(ladder.steps) - 1:
        return None
    return max(promise.due_at + ladder.offset(step + 1), now + ladder.offset(step + 1) - ladder.offset(step))


def _take_step(session: Session, promise: Promise, step: int, *, next_at: datetime | None, now: datetime) -> bool:
    """Move the promise past ``step``, if nobody else has: one conditional update, so two workers never
    send the same rung."""
    done = session.execute(
        update(Promise)
        .where(Promise.id == promise.id, Promise.ladder_step == step, Promise.status == PromiseStatus.OPEN.value)
        .values(ladder_step=step + 1, last_nagged_at=now, next_nag_at=next_at)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return bool(done == 1)


def _request_nag(
    session: Session, promise: Promise, step: int, *, ladder: Ladder, targets: NagTargets, now: datetime
) -> str:
    """The rung's delivery and its event, in the caller's transaction; returns the rung sent (a thread
    rung with no card to reply under is said in the channel instead)."""
    rung = ladder.steps[step][1]
    target = outbox.card_target(session, promise.complaint_id)
    if rung == "thread" and target.status != "sent":
        rung = "channel"
    key = f"nag:{promise.id}:{promise.reschedule_count}:{step}"
    payload = {"step": step, "kind": rung, "contact": targets.contact, "hours": ladder.steps[step][0]}
    if rung == "thread":
        outbox.enqueue_on_card(
            session,
            NAG_KINDS[rung],
            complaint_id=promise.complaint_id,
            key=key,
            at=now,
            payload=payload,
            priority=90,
            promise_id=promise.id,
            target=target,
        )
    else:
        channel = {"dm": promise.owner_id, "channel": targets.complaints_channel, "escalate": targets.escalate_to}
        outbox.enqueue(
            session,
            NAG_KINDS[rung],
            key=key,
            at=now,
            channel=channel[rung],
            complaint_id=promise.complaint_id,
            promise_id=promise.id,
            payload=payload,
            priority=90,
        )
    events.record(
        session,
        EventKind.NAG_SENT,
        complaint_id=promise.complaint_id,
        promise_id=promise.id,
        actor=events.SYSTEM,
        note=promise.text,
        at=now,
        details=events.NagSent(step=step, rung=rung),
    )
    return rung
