"""Following through after "resolved": for ``FOLLOW_UP_DAYS`` the customer's next public posts to the
brand belong to the resolved complaint, not to a new card with no context.

A negative one reopens it, back to its last owner, who is told (a DM); a thankful one marks it
"customer confirmed"; anything else is shown in its thread. Each is a ``FOLLOW_UP`` event.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import outbox
from bot.desk import complaints
from bot.history import events
from bot.history.events import EventKind
from bot.outbox.kinds import DeliveryKind
from bot.store.enums import Kind, Status
from bot.store.models import Complaint

REOPENED, CONFIRMED, ATTACHED = "reopened", "confirmed", "attached"


def recently_resolved_many(
    session: Session, authors: dict[str, set[str]], *, at: datetime, days: int
) -> dict[tuple[str, str], int]:
    """Each author's complaint resolved within ``days`` (the newest), for a whole ingest batch: one
    query per source and 500 authors, not one per post (ingest's hot path; a per-post query halved
    its throughput)."""
    found: dict[tuple[str, str], tuple[datetime, int]] = {}
    if days <= 0:
        return {}
    since = at - timedelta(days=days)
    for source, ids in authors.items():
        wanted = sorted(ids)
        for start in range(0, len(wanted), 500):
            rows = session.execute(
                select(Complaint.author_id, Complaint.id, Complaint.resolved_at).where(
                    Complaint.source == source,
                    Complaint.author_id.in_(wanted[start : start + 500]),
                    Complaint.kind == Kind.COMPLAINT.value,
                    Complaint.status == Status.RESOLVED.value,
                    Complaint.duplicate_of.is_(None),
                    Complaint.resolved_at >= since,
                )
            )
            for author_id, cid, resolved_at in rows:
                key = (source, author_id)
                if key not in found or resolved_at > found[key][0]:
                    found[key] = (resolved_at, cid)
    return {key: cid for key, (_, cid) in found.items()}


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
    if outcome == REOPENED and complaint.status != Status.RESOLVED.value:
        outcome = ATTACHED  # reopened already (an earlier post of the same batch, or a person)
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
