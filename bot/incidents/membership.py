"""A person adds a customer the grouping missed: ``/complaints move #42 incident 7``.

Grouping reads an outage's words, not its meaning: on wordings nobody tuned it on, a fifth to a
quarter of an outage's customers keep ordinary cards (docs/reliability.md#incidents) — "Clicked
'My account' and got a blank page" states no failure the word lists know. The team sees those cards
among the others; one command puts a card where it belongs, so that customer hears the incident's
next update and its resolution like the rest, and nobody answers them twice by hand.

What changes, in one transaction (the incident's row locked, as detection locks it): the complaint
becomes a member; its card, if it was posted, is re-drawn with the "part of incident #N" line (its
customer's later posts go to the incident's thread); a card not posted yet never will be; the
incident's counts are counted again from its members; a line in the incident's thread says who
added whom; an ``incident_joined`` event with the person's id. The posts folded into the card (other
customers who wrote the same words) go with it: the card stood for them. Detection never takes a member back
out, so nothing undoes it behind the person's back.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot import outbox
from bot.common.errors import Conflict, DomainError, NotFound
from bot.history import events
from bot.history.events import EventKind
from bot.incidents.detect import CLOSE_CARD, INCIDENT_PRIORITY, KINDS, OPEN, REPOINT_THREAD, redraw_own_card
from bot.store.models import Complaint, Incident, IncidentUpdate


def add_to_incident(session: Session, complaint_id: int, incident_id: int, *, user_id: str, at: datetime) -> str:
    """Make complaint ``complaint_id`` a member of open incident ``incident_id``; what happened, in a
    sentence for the person who asked."""
    incident = session.execute(select(Incident).where(Incident.id == incident_id).with_for_update()).scalar()
    if incident is None:
        raise NotFound(f"There is no incident #{incident_id}.")
    if incident.status != "open":
        raise Conflict(
            f"Incident #{incident_id} is {incident.status}: its customers have had its last word. "
            f"Answer #{complaint_id} from its own card."
        )
    c = session.get(Complaint, complaint_id)
    if c is None:
        raise NotFound(f"There is no post #{complaint_id}.")
    if c.incident_id == incident_id:
        return f"#{complaint_id} is part of incident #{incident_id} already."
    if c.incident_id is not None:
        raise Conflict(f"#{complaint_id} is part of incident #{c.incident_id}: it stays there.")
    if c.duplicate_of is not None:
        raise DomainError(f"#{complaint_id} is folded into #{c.duplicate_of}: move that card instead.")
    if c.kind not in KINDS:
        raise DomainError(f"#{complaint_id} is {c.kind}, not a complaint: move it to complaint first.")
    if c.status not in OPEN:
        raise Conflict(f"#{complaint_id} is {c.status}: reopen it first if the customer is still affected.")

    # The customers whose same words were folded into this card go with it: the card stood for them.
    copies = list(
        session.scalars(
            select(Complaint)
            .where(Complaint.duplicate_of == c.id, Complaint.incident_id.is_(None), Complaint.status.in_(OPEN))
            .order_by(Complaint.id)
        )
    )
    for joining in (c, *copies):
        joining.incident_id = incident_id
        joining.updated_at = at
    session.flush()
    for copy in copies:
        session.execute(CLOSE_CARD, {"card_key": outbox.card_key(copy.id), "why": f"part of incident #{incident_id}"})
        session.execute(REPOINT_THREAD, {"cid": copy.id, "anchor": incident.anchor_id})
    if c.slack_ts is None:
        # Its card never went: the incident's stands for it, and what waited for it goes there.
        session.execute(CLOSE_CARD, {"card_key": outbox.card_key(c.id), "why": f"part of incident #{incident_id}"})
        session.execute(REPOINT_THREAD, {"cid": c.id, "anchor": incident.anchor_id})
    else:
        redraw_own_card(session, c.id, c.slack_channel, key=f"incident-line:{c.id}:{incident_id}", at=at)
    recount(session, incident, at)
    for copy in copies:
        events.record(
            session,
            EventKind.INCIDENT_JOINED,
            actor=user_id,
            at=at,
            complaint_id=copy.id,
            note=f"folded into #{c.id}",
            details=events.IncidentEvent(incident_id, incident.customers, incident.posts),
        )
    event = events.record(
        session,
        EventKind.INCIDENT_JOINED,
        actor=user_id,
        at=at,
        complaint_id=c.id,
        details=events.IncidentEvent(incident_id, incident.customers, incident.posts),
    )
    outbox.note_and_refresh(
        session,
        complaint_id=c.id,  # a member now: its line goes to the incident's thread, the incident's card is re-drawn
        event_id=event.id,
        priority=INCIDENT_PRIORITY,
        action=EventKind.INCIDENT_JOINED.value,
        actor=user_id,
        at=at,
        detail={"complaint": c.id, "handle": c.author_handle or c.author_id},
    )
    folded = "the post folded into it" if len(copies) == 1 else f"the {len(copies)} posts folded into it"
    who = f"#{complaint_id} and {folded} are" if copies else f"#{complaint_id} is"
    said = f"{who} part of incident #{incident_id} now: they get its next update and its resolution."
    last = session.scalar(select(func.max(IncidentUpdate.created_at)).where(IncidentUpdate.incident_id == incident_id))
    if last is not None:
        said += " The updates sent before did not reach them; the next one will."
    return said


def recount(session: Session, incident: Incident, at: datetime) -> None:
    """The card's numbers from its members: a person's add is one post, so counting them all again
    costs nothing next to keeping detection's running sums right by hand."""
    members = Complaint.incident_id == incident.id
    posts, first, latest = session.execute(
        select(func.count(), func.min(Complaint.posted_at), func.max(Complaint.posted_at)).where(members)
    ).one()
    per_customer = (
        select(Complaint.source, Complaint.author_id, func.max(func.coalesce(Complaint.author_followers, 0)).label("f"))
        .where(members)
        .group_by(Complaint.source, Complaint.author_id)
        .subquery()
    )
    customers, reach = session.execute(select(func.count(), func.coalesce(func.sum(per_customer.c.f), 0))).one()
    networks = sorted(session.scalars(select(Complaint.source).where(members).distinct()))
    incident.posts = int(posts)
    incident.customers = int(customers)
    incident.reach = int(reach)
    incident.networks = networks
    incident.first_post_at = first
    incident.latest_post_at = latest
    incident.updated_at = at
