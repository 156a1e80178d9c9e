"""Complaint state changes: conditional updates plus an audit event, in the caller's transaction.

Why conditional updates: two agents clicking Claim at the same instant must produce exactly one
owner on SQLite and PostgreSQL alike. ``UPDATE … WHERE id = :id AND status IN (:allowed)`` lets the
database pick the winner; the loser sees zero rows changed and is told who won.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.domain.errors import Conflict, NotFound
from bot.domain.types import Status
from bot.store.models import AuditEvent, Complaint


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
    to: Status,
    actor: str,
    action: str,
    at: datetime,
    note: str | None = None,
    values: dict[str, Any] | None = None,
    require_owner: str | None = None,
) -> Complaint:
    """Move a complaint to ``to`` if it is in one of ``allowed_from``; raise ``Conflict`` otherwise.

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
    result = session.execute(
        update(Complaint)
        .where(*conditions)
        .values(status=to.value, updated_at=at, **(values or {}))
        .execution_options(synchronize_session=False)
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
    record_event(
        session,
        complaint_id=complaint_id,
        actor=actor,
        action=action,
        from_status=from_status,
        to_status=to.value,
        note=note,
        at=at,
    )
    complaint = session.get(Complaint, complaint_id, populate_existing=True)
    assert complaint is not None
    return complaint


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
