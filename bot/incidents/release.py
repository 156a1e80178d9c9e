"""Not an incident: a person says the grouping was wrong, and its customers get their cards back.

An incident is the bot's guess (many customers, one topic, one window); during a desk's first four
weeks there is no usual count to compare with, and a busy subject can look like an outage. The
incident card's **Not an incident** undoes the guess, in one transaction: every member leaves it;
members whose cards were never posted get them (their card rows, closed "part of incident #N",
are re-opened); cards posted before lose their "part of incident" line; the anchor's card becomes
its own complaint's card again. Thread lines that went to the incident's thread stay there. The
incident is kept, ``released``, with who and when, and its words: detection does not open an
incident on the same topic again for a day (``detect.RELEASED_FOR``). Refused once an update has
gone out to the customers — they were told it was one incident; Resolve it instead.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import outbox
from bot.common.errors import Conflict, NotFound
from bot.history import events
from bot.history.events import EventKind
from bot.incidents.detect import redraw_own_card, withdraw_offers
from bot.store.enums import DeliveryStatus
from bot.store.models import Complaint, Delivery, Incident, IncidentUpdate


def release(session: Session, incident_id: int, *, user_id: str, at: datetime) -> Incident:
    incident = session.execute(select(Incident).where(Incident.id == incident_id).with_for_update()).scalar()
    if incident is None:
        raise NotFound(f"There is no incident #{incident_id}.")
    if incident.status != "open":
        raise Conflict(f"Incident #{incident_id} is {incident.status} already.")
    if session.scalar(select(IncidentUpdate.id).where(IncidentUpdate.incident_id == incident_id).limit(1)):
        raise Conflict(f"An update of incident #{incident_id} has gone out to its customers: resolve it instead.")
    members = session.execute(
        select(Complaint.id, Complaint.slack_ts, Complaint.slack_channel, Complaint.kind).where(
            Complaint.incident_id == incident_id
        )
    ).all()
    ids = [m.id for m in members]
    for start in range(0, len(ids), 500):
        session.execute(
            update(Complaint)
            .where(Complaint.id.in_(ids[start : start + 500]))
            .values(incident_id=None, updated_at=at)
            .execution_options(synchronize_session=False)
        )
        # The cards that were never posted go out now, as they would have.
        session.execute(
            update(Delivery)
            .where(
                Delivery.key.in_([outbox.card_key(cid) for cid in ids[start : start + 500]]),
                Delivery.status == DeliveryStatus.CLOSED.value,
                Delivery.last_error == f"part of incident #{incident_id}",
            )
            .values(status=DeliveryStatus.PENDING.value, last_error=None, available_at=at, attempts=0)
            .execution_options(synchronize_session=False)
        )
    for member in members:
        if member.slack_ts and member.id != incident.anchor_id:
            redraw_own_card(session, member.id, member.slack_channel, key=f"incident-released:{member.id}", at=at)
    incident.status = "released"
    withdraw_offers(session, incident.id, at=at)
    incident.resolved_at = at
    incident.resolved_by = user_id
    incident.updated_at = at
    event = events.record(
        session,
        EventKind.INCIDENT_RELEASED,
        actor=user_id,
        at=at,
        complaint_id=incident.anchor_id,
        details=events.IncidentEvent(incident_id, incident.customers, incident.posts),
    )
    outbox.note_and_refresh(
        session,
        complaint_id=incident.anchor_id,
        event_id=event.id,
        priority=100,
        action=EventKind.INCIDENT_RELEASED.value,
        actor=user_id,
        at=at,
        detail={"customers": incident.customers},
    )
    return incident
