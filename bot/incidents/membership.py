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

And the other way, ``/complaints move #42 out of incident 7``: grouping also draws in a few ordinary
complaints (up to 2% of a day's on held-out wordings), and such a customer would be answered with the
outage's text. A person takes the post out (``take_out``): its own card comes back, it hears none of
the incident's replies, and detection never groups it again (the decision is kept as a dismissed
suggestion, as Not part of it keeps one).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot import outbox
from bot.common.errors import Conflict, DomainError, NotFound
from bot.history import events
from bot.history.events import EventKind
from bot.incidents import broadcast
from bot.incidents.detect import CLOSE_CARD, INCIDENT_PRIORITY, KINDS, OPEN, REPOINT_THREAD, redraw_own_card
from bot.outbox.kinds import DeliveryKind
from bot.store import dialect
from bot.store.enums import DeliveryStatus, Kind
from bot.store.models import Complaint, Delivery, Incident, IncidentSuggestion, IncidentUpdate


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


def take_out(
    session: Session, complaint_id: int, incident_id: int | None, *, user_id: str, at: datetime, channel: str
) -> str:
    """Take complaint ``complaint_id`` (and the posts folded into it) out of its open incident: its own
    card back (``channel`` if it never had one), none of the incident's replies, never grouped again.
    ``incident_id``: the incident the person named, checked against the post's (None: its own)."""
    c = session.get(Complaint, complaint_id)
    if c is None:
        raise NotFound(f"There is no post #{complaint_id}.")
    if c.duplicate_of is not None:
        raise DomainError(f"#{complaint_id} is folded into #{c.duplicate_of}: take that one out instead.")
    if c.incident_id is None:
        raise DomainError(f"#{complaint_id} is in no incident: it has its own card.")
    if incident_id is not None and c.incident_id != incident_id:
        raise Conflict(f"#{complaint_id} is part of incident #{c.incident_id}, not #{incident_id}.")
    incident = session.execute(select(Incident).where(Incident.id == c.incident_id).with_for_update()).scalar()
    assert incident is not None  # a foreign key
    if incident.status != "open":
        raise Conflict(
            f"Incident #{incident.id} is {incident.status}: its customers have had its last word. "
            f"Answer #{complaint_id} from here on with a reply of its own."
        )
    if c.id == incident.anchor_id:
        raise Conflict(
            f"#{complaint_id} is the post incident #{incident.id}'s card was opened on: it cannot leave it. "
            f"If the whole incident is wrong, press *Not an incident* on its card."
        )
    leaving = [
        c,
        *session.scalars(select(Complaint).where(Complaint.duplicate_of == c.id, Complaint.incident_id == incident.id)),
    ]
    ids = [m.id for m in leaving]
    for m in leaving:
        m.incident_id = None
        m.updated_at = at
        # Kept as a person's "not part of it": detection passes over it from now on, and the
        # suggestion loop never offers it to this incident again.
        row = session.execute(
            select(IncidentSuggestion)
            .where(IncidentSuggestion.complaint_id == m.id, IncidentSuggestion.incident_id == incident.id)
            .with_for_update()
        ).scalar()
        if row is None:
            dialect.insert_new(
                session,
                IncidentSuggestion.__table__,
                {
                    "complaint_id": m.id,
                    "incident_id": incident.id,
                    "score": 0.0,  # no suggestion was scored: a person decided
                    "status": "dismissed",
                    "created_at": at,
                    "decided_by": user_id,
                    "decided_at": at,
                },
                key=["complaint_id", "incident_id"],
            )
        else:
            row.status, row.decided_by, row.decided_at = "dismissed", user_id, at
    session.flush()
    # The incident's replies not sent yet to these posts' customers are not theirs any more; an update
    # whose last reply this was says it is done (as when a customer is forgotten mid-send).
    pending = list(
        session.scalars(
            select(Delivery)
            .where(
                Delivery.complaint_id.in_(ids),
                Delivery.incident_update.is_not(None),
                Delivery.status == DeliveryStatus.PENDING.value,
                Delivery.attempts == 0,
            )
            .with_for_update()
        )
    )
    for reply in pending:
        reply.status, reply.last_error = DeliveryStatus.CLOSED.value, f"taken out of incident #{incident.id}"
    session.flush()
    for reply in {r.incident_update: r for r in pending}.values():
        broadcast.after_reply(session, reply, at=at)
    withdrawn = len(pending)
    if c.kind in (Kind.COMPLAINT.value, Kind.QUESTION.value):  # an `other` goes back to /complaints skipped
        if c.slack_ts is not None:
            redraw_own_card(session, c.id, c.slack_channel, key=f"incident-out:{c.id}:{incident.id}", at=at)
        else:
            # Its card was held back when it joined (never posted): it goes now.
            reopened = session.execute(
                update(Delivery)
                .where(
                    Delivery.key == outbox.card_key(c.id),
                    Delivery.status == DeliveryStatus.CLOSED.value,
                    Delivery.attempts == 0,
                )
                .values(status=DeliveryStatus.PENDING.value, last_error=None, available_at=at)
                .execution_options(synchronize_session=False)
            ).rowcount  # type: ignore[attr-defined]
            if not reopened:
                outbox.enqueue(
                    session, DeliveryKind.CARD, key=outbox.card_key(c.id), at=at, channel=channel,
                    complaint_id=c.id, priority=c.priority,
                )  # fmt: skip
    recount(session, incident, at)
    event = events.record(
        session,
        EventKind.INCIDENT_LEFT,
        actor=user_id,
        at=at,
        complaint_id=c.id,
        note=f"with {len(leaving) - 1} folded" if len(leaving) > 1 else None,
        details=events.IncidentEvent(incident.id, incident.customers, incident.posts),
    )
    outbox.note_and_refresh(
        session,
        complaint_id=incident.anchor_id,  # the line in the incident's thread, its card re-counted
        event_id=event.id,
        priority=INCIDENT_PRIORITY,
        action=EventKind.INCIDENT_LEFT.value,
        actor=user_id,
        at=at,
        detail={"complaint": c.id, "handle": c.author_handle or c.author_id},
    )
    who = (
        f"#{complaint_id} and the {len(leaving) - 1} post(s) folded into it are"
        if len(leaving) > 1
        else (f"#{complaint_id} is")
    )
    said = f"{who} out of incident #{incident.id}: its own card is back and it hears none of the incident's replies."
    if withdrawn:
        said += f" {withdrawn} queued incident repl{'y' if withdrawn == 1 else 'ies'} to it withdrawn."
    if session.scalar(
        select(func.count())
        .select_from(Delivery)
        .where(
            Delivery.complaint_id.in_(ids),
            Delivery.incident_update.is_not(None),
            Delivery.status == DeliveryStatus.SENT.value,
        )
    ):
        said += " It was sent an update of the incident already: say so in your reply."
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
