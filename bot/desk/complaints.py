"""Complaint state changes: conditional updates plus an audit event, in the caller's transaction.

Why conditional updates: two agents clicking Claim at the same instant must produce exactly one
owner on SQLite and PostgreSQL alike. ``UPDATE … WHERE id = :id AND status IN (:allowed)`` lets the
database pick the winner; the loser sees zero rows changed and is told who won.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot import outbox
from bot.common import limits
from bot.common.errors import Conflict, DomainError, NotFound
from bot.history import events, labels
from bot.history.events import EventKind
from bot.outbox.kinds import DeliveryKind
from bot.promises import heads_up
from bot.promises import lifecycle as promises
from bot.store.enums import OPEN_STATUSES, PromiseStatus, Status
from bot.store.models import AuditEvent, Complaint, Promise

OPEN = [s.value for s in OPEN_STATUSES]


def transition(session: Session, complaint_id: int, **kwargs: Any) -> Complaint:
    """Move a complaint (see ``changed``) and return it."""
    return changed(session, complaint_id, **kwargs)[0]


def changed(
    session: Session,
    complaint_id: int,
    *,
    allowed_from: Iterable[Status],
    to: Status | None,
    actor: str,
    kind: EventKind,
    at: datetime,
    note: str | None = None,
    values: dict[str, Any] | None = None,
    require_owner: str | None = None,
    details: events.Details | None = None,
    detail: dict[str, Any] | None = None,
) -> tuple[Complaint, AuditEvent]:
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
            f"Nothing changed: complaint #{complaint_id} is already {current.status}.",
            current_status=current.status,
            owner_id=current.owner_id,
        )
    # The status we read before the update may be stale under a race; the winning update's
    # precondition guarantees it was one of ``allowed``, so record that when they disagree.
    from_status = previous if previous in allowed else allowed[0]
    complaint = session.get(Complaint, complaint_id, populate_existing=True)
    assert complaint is not None
    event = events.record(
        session,
        kind,
        complaint_id=complaint_id,
        actor=actor,
        from_status=from_status,
        to_status=complaint.status,
        note=note,
        at=at,
        details=details,
    )
    detail = {
        **{k: v for k, v in (values or {}).items() if isinstance(v, str | int | bool) and k != "resolved_at"},
        **(detail or {}),
    }
    outbox.note_and_refresh(
        session,
        complaint_id=complaint.id,
        event_id=event.id,
        priority=complaint.priority,
        action=kind.value,
        actor=actor,
        at=at,
        note=note,
        detail=detail,
        known_target=outbox.posted_card(complaint),
    )
    return complaint, event


def claim(session: Session, complaint_id: int, *, user_id: str, at: datetime) -> Complaint:
    """First claim wins; a second claimer gets ``Conflict`` naming the owner. Claiming says the post
    needed the team: a label for triage (see ``labels.label_post``)."""
    complaint = transition(
        session,
        complaint_id,
        allowed_from=[Status.NEW],
        to=Status.CLAIMED,
        actor=user_id,
        kind=EventKind.CLAIMED,
        at=at,
        values={"owner_id": user_id, "claimed_at": at},
    )
    labels.label_post(session, complaint_id, None, "claim", at)
    return complaint


def _owner(session: Session, complaint_id: int) -> str | None:
    return session.execute(select(Complaint.owner_id).where(Complaint.id == complaint_id)).scalar_one_or_none()


def _others(owner: str | None, actor: str) -> dict[str, Any]:
    """The thread line names whose it was when that was someone else."""
    return {"previous_owner": owner} if owner and owner != actor else {}


def unclaim(session: Session, complaint_id: int, *, user_id: str, at: datetime) -> Complaint:
    """Anyone in the team may unclaim (the owner is away); the owner is told privately."""
    before = _owner(session, complaint_id)
    complaint, event = changed(
        session,
        complaint_id,
        allowed_from=[Status.CLAIMED],
        to=Status.NEW,
        actor=user_id,
        kind=EventKind.UNCLAIMED,
        at=at,
        values={"owner_id": None, "claimed_at": None},
        require_owner=before,
        detail=_others(before, user_id),
    )
    heads_up.tell_previous_owner(
        session,
        owner=before,
        actor=user_id,
        action=event.action,
        event_id=event.id,
        complaint_id=complaint_id,
        at=at,
        priority=complaint.priority,
    )
    return complaint


def hand_over(session: Session, complaint_id: int, *, user_id: str, to_user: str, at: datetime) -> Complaint:
    """Give an owned complaint to someone else; it keeps its status (claimed or escalated)."""
    if not to_user:
        raise DomainError("Pick the person to hand this complaint to.")
    before = _owner(session, complaint_id)
    complaint, event = changed(
        session,
        complaint_id,
        allowed_from=[Status.CLAIMED, Status.ESCALATED],
        to=None,
        actor=user_id,
        kind=EventKind.HANDED_OVER,
        at=at,
        values={"owner_id": to_user, "claimed_at": at},
        details=events.HandedOver(to_user=to_user, from_user=before),
        require_owner=before,
        detail=_others(before, user_id),
    )
    if before != to_user:
        heads_up.tell_previous_owner(
            session,
            owner=before,
            actor=user_id,
            action=event.action,
            event_id=event.id,
            complaint_id=complaint_id,
            at=at,
            priority=complaint.priority,
            detail={"to_user": to_user},
        )
    return complaint


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
    reason = limits.within(reason.strip(), limits.ESCALATION_REASON, "The reason")
    if not reason:
        raise DomainError("Say why this needs escalating, so the next person need not ask the customer again.")
    complaint, event = changed(
        session,
        complaint_id,
        allowed_from=[Status.NEW, Status.CLAIMED],
        to=Status.ESCALATED,
        actor=user_id,
        kind=EventKind.ESCALATED,
        at=at,
        note=reason,
        values={"escalation_tier": tier, "escalation_reason": reason, "escalated_by": user_id},
        details=events.Escalated(tier=tier, contact=contact),
    )
    outbox.enqueue(
        session,
        DeliveryKind.ESCALATION,
        key=f"escalation:{event.id}",
        at=at,
        channel=channel,
        complaint_id=complaint_id,
        payload={"tier": tier, "contact": contact},
        priority=complaint.priority + 2,
    )
    labels.label_post(session, complaint_id, None, "escalate", at)
    return complaint


def open_promise_count(session: Session, complaint_id: int) -> int:
    return session.execute(
        select(func.count())
        .select_from(Promise)
        .where(Promise.complaint_id == complaint_id, Promise.status == PromiseStatus.OPEN.value)
    ).scalar_one()


def _cascade(
    session: Session,
    primary: Complaint,
    *,
    kind: EventKind,
    to: Status,
    from_statuses: list[str],
    at: datetime,
    values: dict[str, Any],
    details: events.Details,
) -> int:
    """Move the copies folded into ``primary`` along with it (resolved together, dismissed together)."""
    copies = session.execute(
        select(Complaint.id, Complaint.status).where(
            Complaint.duplicate_of == primary.id, Complaint.status.in_(from_statuses)
        )
    ).all()
    if not copies:
        return []
    session.execute(
        update(Complaint)
        .where(Complaint.id.in_([c.id for c in copies]), Complaint.status.in_(from_statuses))
        .values(status=to.value, updated_at=at, **values)
        .execution_options(synchronize_session=False)
    )
    for copy in copies:
        events.record(
            session,
            kind,
            complaint_id=copy.id,
            actor=events.SYSTEM,
            from_status=copy.status,
            to_status=to.value,
            at=at,
            details=details,
        )
    return [copy.id for copy in copies]


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
    ``kept`` or ``cancelled`` closes them (through the one promise close path, so their queued
    reminders are dropped too), ``open`` leaves them for their owners. Copies folded into this card
    are resolved with it."""
    note = limits.within(note.strip(), limits.RESOLUTION_NOTE, "The resolution note")
    if len(note) < 3:
        raise DomainError("A resolution note is required: what was done for the customer?")
    if open_promises not in ("open", PromiseStatus.KEPT.value, PromiseStatus.CANCELLED.value):
        raise DomainError("Say what happens to the open promises: kept, cancelled or left open.")
    complaint = transition(
        session,
        complaint_id,
        allowed_from=list(OPEN_STATUSES),
        to=Status.RESOLVED,
        actor=user_id,
        kind=EventKind.RESOLVED,
        at=at,
        note=note,
        values={
            "resolution_note": note,
            "customer_confirmed": customer_confirmed,
            "resolved_by": user_id,
            "resolved_at": at,
        },
        details=events.Resolved(customer_confirmed=customer_confirmed, promises=open_promises),
    )
    if open_promises != "open":
        promises.close_open_on(
            session, complaint_id, status=PromiseStatus(open_promises), user_id=user_id, at=at, why="resolved"
        )
    copies = _cascade(
        session,
        complaint,
        kind=EventKind.RESOLVED,
        to=Status.RESOLVED,
        from_statuses=OPEN,
        at=at,
        values={"resolved_by": user_id, "resolved_at": at, "resolution_note": f"resolved with #{complaint_id}"},
        details=events.Resolved(with_card=complaint_id),
    )
    if open_promises != "open":
        for copy in copies:  # promises someone made on a folded copy close with the card
            promises.close_open_on(
                session, copy, status=PromiseStatus(open_promises), user_id=user_id, at=at, why="resolved"
            )
    labels.label_post(session, complaint_id, None, "resolve", at)
    return complaint


def dismiss(session: Session, complaint_id: int, *, user_id: str, at: datetime) -> Complaint:
    """Not a complaint: off the board, and the human label kept for improving triage."""
    complaint = transition(
        session,
        complaint_id,
        allowed_from=[Status.NEW],
        to=Status.DISMISSED,
        actor=user_id,
        kind=EventKind.DISMISSED,
        at=at,
        values={"human_label": "not_complaint", "resolved_by": user_id, "resolved_at": at},
        details=events.Dismissed(),
    )
    _cascade(
        session,
        complaint,
        kind=EventKind.DISMISSED,
        to=Status.DISMISSED,
        from_statuses=OPEN,
        at=at,
        values={"human_label": "not_complaint", "resolved_by": user_id, "resolved_at": at},
        details=events.Dismissed(with_card=complaint_id),
    )
    labels.label_post(session, complaint_id, "not_complaint", "dismiss", at)
    return complaint


def reopen(session: Session, complaint_id: int, *, user_id: str, at: datetime) -> Complaint:
    """Back on the board, owned by whoever reopened it (they know why); its folded copies come back
    with it, still folded."""
    complaint = transition(
        session,
        complaint_id,
        allowed_from=[Status.RESOLVED, Status.DISMISSED],
        to=Status.CLAIMED,
        actor=user_id,
        kind=EventKind.REOPENED,
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
        details=events.Reopened(),
    )
    _cascade(
        session,
        complaint,
        kind=EventKind.REOPENED,
        to=Status.NEW,
        from_statuses=[Status.RESOLVED.value, Status.DISMISSED.value],
        at=at,
        values={"resolution_note": None, "resolved_by": None, "resolved_at": None, "human_label": None},
        details=events.Reopened(with_card=complaint_id),
    )
    return complaint
