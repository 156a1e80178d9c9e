"""Following through after "resolved": for ``FOLLOW_UP_DAYS`` the customer's next public posts to the
brand belong to the resolved complaint, not to a new card with no context.

A negative one reopens it, back to its last owner, who is told (a DM); a thankful one marks it
"customer confirmed"; anything else is shown in its thread. Each is a ``FOLLOW_UP`` event.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.delivery import outbox
from bot.delivery.kinds import DeliveryKind
from bot.domain import complaints, events
from bot.domain.events import EventKind
from bot.domain.types import Kind, Status
from bot.store.models import Complaint

REOPENED, CONFIRMED, ATTACHED = "reopened", "confirmed", "attached"


def recently_resolved(session: Session, source: str, author_id: str, *, at: datetime, days: int) -> int | None:
    """The customer's complaint resolved within ``days`` (the newest), if any."""
    if days <= 0:
        return None
    return session.execute(
        select(Complaint.id)
        .where(
            Complaint.source == source,
            Complaint.author_id == author_id,
            Complaint.kind == Kind.COMPLAINT.value,
            Complaint.status == Status.RESOLVED.value,
            Complaint.duplicate_of.is_(None),
            Complaint.resolved_at >= at - timedelta(days=days),
        )
        .order_by(Complaint.resolved_at.desc())
        .limit(1)
    ).scalar_one_or_none()


def outcome_of(kind: Kind, compound: float) -> str:
    """Negative (a complaint, or clearly unhappy) reopens; praise or clearly happy confirms."""
    if kind is Kind.COMPLAINT or compound <= -0.3:
        return REOPENED
    if kind is Kind.PRAISE or compound >= 0.4:
        return CONFIRMED
    return ATTACHED


def follow_up(
    session: Session, complaint_id: int, *, post_id: str, actor: str, text: str, outcome: str, at: datetime
) -> str:
    """Act on the customer's post (already in the ledger, attached to ``complaint_id``)."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        return ATTACHED
    events.record(
        session,
        EventKind.FOLLOW_UP,
        complaint_id=complaint_id,
        actor=actor,
        note=text[:500],
        at=at,
        details=events.FollowUp(post=post_id, outcome=outcome),
    )
    if outcome == REOPENED:
        owner = complaint.owner_id or complaint.resolved_by
        complaints.transition(
            session,
            complaint_id,
            allowed_from=[Status.RESOLVED],
            to=Status.CLAIMED if owner else Status.NEW,
            actor=events.SYSTEM,
            kind=EventKind.REOPENED,
            at=at,
            note="the customer posted again after it was resolved",
            values={
                "owner_id": owner,
                "claimed_at": at if owner else None,
                "resolution_note": None,
                "resolved_by": None,
                "resolved_at": None,
                "customer_confirmed": False,
            },
            details=events.Reopened(),
        )
        if owner:
            outbox.enqueue(
                session,
                DeliveryKind.ALERT,
                key=f"follow-up:{complaint_id}:{post_id}",
                channel=owner,
                at=at,
                complaint_id=complaint_id,
                payload={
                    "text": f":arrows_counterclockwise: Complaint #{complaint_id} is back with you: the customer "
                    "posted again after it was resolved — see its thread."
                },
                priority=80,
            )
    elif outcome == CONFIRMED:
        complaint.customer_confirmed = True
        complaint.updated_at = at
        session.flush()
        outbox.request_card_refresh(session, complaint_id, at=at, priority=complaint.priority)
    return outcome
