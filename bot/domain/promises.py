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

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from bot.config import QuietHours
from bot.domain import outbox
from bot.domain.complaints import record_event
from bot.domain.errors import Conflict, DomainError, NotFound
from bot.domain.quiet import next_allowed
from bot.domain.types import OPEN_STATUSES, PromiseStatus
from bot.store.models import Complaint, Outbox, Promise

MAX_TEXT = 500
NAG_KINDS = {"dm": "nag_dm", "thread": "nag_thread", "channel": "nag_channel", "escalate": "nag_escalate"}


def _note(session: Session, complaint: Complaint, action: str, actor: str, at: datetime, **detail: Any) -> None:
    outbox.note_and_refresh(
        session,
        complaint_id=complaint.id,
        priority=complaint.priority,
        action=action,
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
    record_event(
        session,
        complaint_id=complaint_id,
        promise_id=promise.id,
        actor=created_by,
        action="promise",
        note=text,
        at=at,
        details={"due_at": due_at.isoformat(), "owner": owner_id},
    )
    _note(session, complaint, "promise", created_by, at, owner_id=owner_id, text=text, due=due_at.isoformat())
    return promise


def _drop_pending_nags(session: Session, promise_id: int) -> None:
    """Kept, cancelled or moved: nags not yet delivered for it must not go out."""
    session.execute(
        delete(Outbox).where(
            Outbox.promise_id == promise_id,
            Outbox.status == "pending",
            Outbox.kind.in_(list(NAG_KINDS.values())),
        )
    )


def close(session: Session, promise_id: int, *, user_id: str, status: PromiseStatus, at: datetime) -> Promise:
    """Kept or cancelled: the ladder stops at once (also for a promise already marked broken)."""
    if status not in (PromiseStatus.KEPT, PromiseStatus.CANCELLED):
        raise ValueError(status)
    done = session.execute(
        update(Promise)
        .where(Promise.id == promise_id, Promise.status.in_([PromiseStatus.OPEN.value, PromiseStatus.BROKEN.value]))
        .values(status=status.value, closed_at=at, closed_by=user_id, next_nag_at=None)
    ).rowcount  # type: ignore[attr-defined]
    promise = session.get(Promise, promise_id, populate_existing=True)
    if promise is None:
        raise NotFound(f"There is no promise {promise_id}.")
    if done != 1:
        raise Conflict(f"That promise is already {promise.status}.", current_status=promise.status)
    _drop_pending_nags(session, promise_id)
    complaint = session.get(Complaint, promise.complaint_id)
    assert complaint is not None
    on_time = status is PromiseStatus.KEPT and at <= promise.due_at
    record_event(
        session,
        complaint_id=promise.complaint_id,
        promise_id=promise_id,
        actor=user_id,
        action=f"promise_{status.value}",
        note=promise.text,
        at=at,
        details={"on_time": on_time, "due_at": promise.due_at.isoformat()},
    )
    _note(session, complaint, f"promise_{status.value}", user_id, at, text=promise.text)
    return promise


def reschedule(
    session: Session, promise_id: int, *, user_id: str, due_at: datetime, reason: str, at: datetime
) -> Promise:
    """Move the due time, with a reason; the count shows how often a promise moved."""
    reason = " ".join(reason.split())
    if not reason:
        raise DomainError("Say why it moved — the customer will ask.")
    if due_at <= at:
        raise DomainError("The new time has passed; pick a time ahead.")
    promise = session.get(Promise, promise_id)
    if promise is None:
        raise NotFound(f"There is no promise {promise_id}.")
    old_due = promise.due_at
    done = session.execute(
        update(Promise)
        .where(Promise.id == promise_id, Promise.status.in_([PromiseStatus.OPEN.value, PromiseStatus.BROKEN.value]))
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
    _drop_pending_nags(session, promise_id)
    complaint = session.get(Complaint, promise.complaint_id)
    assert complaint is not None
    record_event(
        session,
        complaint_id=promise.complaint_id,
        promise_id=promise_id,
        actor=user_id,
        action="promise_rescheduled",
        note=reason,
        at=at,
        details={"from": old_due.isoformat(), "to": due_at.isoformat(), "count": promise.reschedule_count},
    )
    _note(
        session,
        complaint,
        "promise_rescheduled",
        user_id,
        at,
        text=promise.text,
        due=due_at.isoformat(),
        reason=reason,
        count=promise.reschedule_count,
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
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    return session.scalars(query).all()


def nag_tick(
    session: Session,
    *,
    now: datetime,
    ladder: Ladder,
    quiet: QuietHours,
    tz_of: Callable[[str], str],
    complaints_channel: str,
    escalation_channel: str,
    escalation_contact: str | None,
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
        kind = ladder.steps[step][1]
        last = step == len(ladder.steps) - 1
        if last:
            next_at = None
        else:
            # Keep the ladder's spacing after a deferral: no burst of steps on Monday morning.
            next_at = max(promise.due_at + ladder.offset(step + 1), now + ladder.offset(step + 1) - ladder.offset(step))
        values: dict[str, Any] = {"ladder_step": step + 1, "last_nagged_at": now, "next_nag_at": next_at}
        if kind == "escalate":
            values["status"] = PromiseStatus.BROKEN.value
        done = session.execute(
            update(Promise)
            .where(Promise.id == promise.id, Promise.ladder_step == step, Promise.status == PromiseStatus.OPEN.value)
            .values(**values)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if done != 1:
            continue  # another worker took this step
        complaint = session.get(Complaint, promise.complaint_id)
        assert complaint is not None
        if kind == "thread" and not complaint.slack_ts:
            kind = "channel"  # no card to reply under: say it in the channel
        channel = {
            "dm": promise.owner_id,
            "thread": complaint.slack_channel,
            "channel": complaints_channel,
            "escalate": escalation_contact
            if escalation_contact and escalation_contact[0] in "UW"
            else escalation_channel,
        }[kind]
        outbox.enqueue(
            session,
            kind=NAG_KINDS[kind],
            at=now,
            dedupe_key=f"nag:{promise.id}:{promise.reschedule_count}:{step}",
            channel=channel,
            complaint_id=promise.complaint_id,
            promise_id=promise.id,
            payload={"step": step, "kind": kind, "contact": escalation_contact, "hours": ladder.steps[step][0]},
            priority=90,
            check_existing=False,
        )
        record_event(
            session,
            complaint_id=promise.complaint_id,
            promise_id=promise.id,
            actor="followthrough",
            action=f"nag_{kind}",
            note=promise.text,
            at=now,
            details={"step": step},
        )
        if kind == "escalate":
            record_event(
                session,
                complaint_id=promise.complaint_id,
                promise_id=promise.id,
                actor="followthrough",
                action="promise_broken",
                note=promise.text,
                at=now,
            )
            broken += 1
        sent += 1
    return NagResult(sent, deferred, broken)
