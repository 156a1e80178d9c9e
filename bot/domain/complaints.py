"""Complaint state changes: conditional updates plus an audit event, in the caller's transaction.

Why conditional updates: two agents clicking Claim at the same instant must produce exactly one
owner on SQLite and PostgreSQL alike. ``UPDATE … WHERE id = :id AND status IN (:allowed)`` lets the
database pick the winner; the loser sees zero rows changed and is told who won.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot.domain import outbox
from bot.domain.errors import Conflict, DomainError, NotFound
from bot.domain.types import OPEN_STATUSES, PromiseStatus, Status
from bot.store.models import AuditEvent, Complaint, Promise


def record_event(
    session: Session,
    *,
    actor: str,
    action: str,
    at: datetime,
    complaint_id: int | None = None,
    promise_id: int | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    note: str | None = None,
    details: dict[str, Any] | None = None,
) -> AuditEvent:
    event = AuditEvent(
        complaint_id=complaint_id,
        promise_id=promise_id,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=to_status,
        note=note,
        details=details,
        at=at,
    )
    session.add(event)
    return event


def transition(
    session: Session,
    complaint_id: int,
    *,
    allowed_from: Iterable[Status],
    to: Status | None,
    actor: str,
    action: str,
    at: datetime,
    note: str | None = None,
    values: dict[str, Any] | None = None,
    require_owner: str | None = None,
) -> Complaint:
    """Move a complaint to ``to`` (None: keep its status) if it is in one of ``allowed_from``; raise
    ``Conflict`` otherwise.

    ``require_owner`` additionally insists the complaint is owned by that user (e.g. unclaim).
    ``values`` are extra columns set in the same statement (owner, tier, note …).
    """
    allowed = [s.value for s in allowed_from]
    previous = session.execute(select(Complaint.status).where(Complaint.id == complaint_id)).scalar_one_or_none()
    if previous is None:
        raise NotFound(f"There is no complaint #{complaint_id}.")
    conditions = [Complaint.id == complaint_id, Complaint.status.in_(allowed)]
    if require_owner is not None:
        conditions.append(Complaint.owner_id == require_owner)
    new_values = dict(values or {}, updated_at=at)
    if to is not None:
        new_values["status"] = to.value
    result = session.execute(
        update(Complaint).where(*conditions).values(**new_values).execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        current = session.execute(
            select(Complaint.status, Complaint.owner_id).where(Complaint.id == complaint_id)
        ).one()
        raise Conflict(
            f"#{complaint_id} is already {current.status}",
            current_status=current.status,
            owner_id=current.owner_id,
        )
    # The status we read before the update may be stale under a race; the winning update's
    # precondition guarantees it was one of ``allowed``, so record that when they disagree.
    from_status = previous if previous in allowed else allowed[0]
    complaint = session.get(Complaint, complaint_id, populate_existing=True)
    assert complaint is not None
    record_event(
        session,
        complaint_id=complaint_id,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=complaint.status,
        note=note,
        at=at,
    )
    _announce(session, complaint, action=action, actor=actor, at=at, note=note, values=values)
    return complaint


def _announce(
    session: Session,
    complaint: Complaint,
    *,
    action: str,
    actor: str,
    at: datetime,
    note: str | None,
    values: dict[str, Any] | None,
) -> None:
    detail = {k: v for k, v in (values or {}).items() if isinstance(v, str | int | bool) and k != "resolved_at"}
    outbox.note_and_refresh(
        session,
        complaint_id=complaint.id,
        priority=complaint.priority,
        action=action,
        actor=actor,
        at=at,
        note=note,
        detail=detail,
    )


def claim(session: Session, complaint_id: int, *, user_id: str, at: datetime) -> Complaint:
    """First claim wins; a second claimer gets ``Conflict`` naming the owner."""
    return transition(
        session,
        complaint_id,
        allowed_from=[Status.NEW],
        to=Status.CLAIMED,
        actor=user_id,
        action="claim",
        at=at,
        values={"owner_id": user_id, "claimed_at": at},
    )


def unclaim(session: Session, complaint_id: int, *, user_id: str, at: datetime) -> Complaint:
    return transition(
        session,
        complaint_id,
        allowed_from=[Status.CLAIMED],
        to=Status.NEW,
        actor=user_id,
        action="unclaim",
        at=at,
        values={"owner_id": None, "claimed_at": None},
    )


def hand_over(session: Session, complaint_id: int, *, user_id: str, to_user: str, at: datetime) -> Complaint:
    """Give an owned complaint to someone else; it keeps its status (claimed or escalated)."""
    if not to_user:
        raise DomainError("Pick the person to hand this complaint to.")
    return transition(
        session,
        complaint_id,
        allowed_from=[Status.CLAIMED, Status.ESCALATED],
        to=None,
        actor=user_id,
        action="hand_over",
        at=at,
        values={"owner_id": to_user, "claimed_at": at},
    )


def escalate(
    session: Session,
    complaint_id: int,
    *,
    user_id: str,
    tier: str,
    reason: str,
    at: datetime,
    channel: str,
    contact: str | None = None,
) -> Complaint:
    """Escalate to ``tier``; a linked message goes to ``channel`` naming ``contact`` (group or person)."""
    reason = reason.strip()
    if not reason:
        raise DomainError("Say why this needs escalating, so the next person need not ask the customer again.")
    complaint = transition(
        session,
        complaint_id,
        allowed_from=[Status.NEW, Status.CLAIMED],
        to=Status.ESCALATED,
        actor=user_id,
        action="escalate",
        at=at,
        note=reason,
        values={"escalation_tier": tier, "escalation_reason": reason, "escalated_by": user_id},
    )
    outbox.enqueue(
        session,
        kind=outbox.ESCALATION,
        at=at,
        dedupe_key=f"escalation:{uuid.uuid4().hex}",
        channel=channel,
        complaint_id=complaint_id,
        payload={"tier": tier, "contact": contact},
        priority=complaint.priority + 2,
        check_existing=False,
    )
    return complaint


def open_promise_count(session: Session, complaint_id: int) -> int:
    return session.execute(
        select(func.count())
        .select_from(Promise)
        .where(Promise.complaint_id == complaint_id, Promise.status == PromiseStatus.OPEN.value)
    ).scalar_one()


def resolve(
    session: Session,
    complaint_id: int,
    *,
    user_id: str,
    note: str,
    customer_confirmed: bool,
    at: datetime,
    open_promises: str = "open",
) -> Complaint:
    """Resolve with a required note; ``open_promises`` says what happens to promises still open:
    ``kept`` or ``cancelled`` closes them, ``open`` leaves them for their owners."""
    note = note.strip()
    if len(note) < 3:
        raise DomainError("A resolution note is required: what was done for the customer?")
    complaint = transition(
        session,
        complaint_id,
        allowed_from=list(OPEN_STATUSES),
        to=Status.RESOLVED,
        actor=user_id,
        action="resolve",
        at=at,
        note=note,
        values={
            "resolution_note": note,
            "customer_confirmed": customer_confirmed,
            "resolved_by": user_id,
            "resolved_at": at,
        },
    )
    if open_promises in (PromiseStatus.KEPT.value, PromiseStatus.CANCELLED.value):
        promises = session.scalars(
            select(Promise).where(Promise.complaint_id == complaint_id, Promise.status == PromiseStatus.OPEN.value)
        ).all()
        for promise in promises:
            promise.status = open_promises
            promise.closed_at = at
            promise.closed_by = user_id
            record_event(
                session,
                complaint_id=complaint_id,
                promise_id=promise.id,
                actor=user_id,
                action=f"promise_{open_promises}",
                note="closed when the complaint was resolved",
                at=at,
            )
    return complaint


def dismiss(session: Session, complaint_id: int, *, user_id: str, at: datetime) -> Complaint:
    """Not a complaint: off the board, and the human label kept for improving triage."""
    return transition(
        session,
        complaint_id,
        allowed_from=[Status.NEW],
        to=Status.DISMISSED,
        actor=user_id,
        action="dismiss",
        at=at,
        values={"human_label": "not_complaint", "resolved_by": user_id, "resolved_at": at},
    )


def reopen(session: Session, complaint_id: int, *, user_id: str, at: datetime) -> Complaint:
    """Back on the board, owned by whoever reopened it (they know why)."""
    return transition(
        session,
        complaint_id,
        allowed_from=[Status.RESOLVED, Status.DISMISSED],
        to=Status.CLAIMED,
        actor=user_id,
        action="reopen",
        at=at,
        values={
            "owner_id": user_id,
            "claimed_at": at,
            "resolution_note": None,
            "resolved_by": None,
            "resolved_at": None,
            "customer_confirmed": False,
            "human_label": None,
        },
    )
