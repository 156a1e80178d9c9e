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
from bot.incidents.detect import CLOSE_CARD, INCIDENT_PRIORITY, KINDS, OPEN, REPOINT_THREAD, redraw_own_card
from bot.outbox.kinds import DeliveryKind
from bot.store import dialect
from bot.store.enums import DeliveryStatus, Kind
from bot.store.models import Complaint, Delivery, Incident, IncidentSuggestion, IncidentUpdate


def add_to_incident(
    session: Session, complaint_id: int, incident_id: int, *, user_id: str, at: datetime, note: str | None = None
) -> str:
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
    recount(session, incident, at)
    # A person's word now: a post someone took out before and puts back in is theirs again.
    session.execute(
        update(IncidentSuggestion)
        .where(
            IncidentSuggestion.complaint_id.in_([c.id, *(copy.id for copy in copies)]),
            IncidentSuggestion.incident_id == incident_id,
            IncidentSuggestion.status == "dismissed",
        )
        .values(status="added", decided_by=user_id, decided_at=at)
        .execution_options(synchronize_session=False)
    )
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
        note=note,
        details=events.IncidentEvent(incident_id, incident.customers, incident.posts),
    )
    if c.slack_ts is not None:  # once per join (a post taken out and put back is re-drawn each time)
        redraw_own_card(session, c.id, c.slack_channel, key=f"incident-line:{c.id}:{event.id}", at=at)
    outbox.note_and_refresh(
        session,
        complaint_id=c.id,  # a member now: its line goes to the incident's thread, the incident's card is re-drawn
        event_id=event.id,
        priority=INCIDENT_PRIORITY,
        action=EventKind.INCIDENT_JOINED.value,
        actor=user_id,
        at=at,
        note=note,
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
    ``incident_id``: the incident the person named, checked against the post's (None: its own).

    The incident's replies already queued for these customers are not touched here: the worker sends
    an incident's reply only to a member of that incident, and closes the rest when their turn comes
    (``Deliverer._deliver``) — so a take-out needs no lock on rows a worker may hold (it locks
    delivery, update, incident in that order; this locks the incident first), and a reply retried
    later, or queued when the take-out was written but not yet read, goes nowhere either."""
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
    # Read again under the incident's lock: a colleague's take-out (or a merge) may have just committed.
    session.refresh(c)
    if c.incident_id != incident.id:
        if c.incident_id is None:
            return f"#{complaint_id} is out of incident #{incident.id} already."
        raise Conflict(f"#{complaint_id} is part of incident #{c.incident_id} now, not #{incident.id}.")
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
        decide(session, m.id, incident.id, "dismissed", user_id=user_id, at=at)
    session.flush()
    event = events.record(
        session,
        EventKind.INCIDENT_LEFT,
        actor=user_id,
        at=at,
        complaint_id=c.id,
        note=f"with {len(leaving) - 1} folded" if len(leaving) > 1 else None,
        details=events.IncidentEvent(incident.id, incident.customers, incident.posts),
    )
    carded = c.kind in (Kind.COMPLAINT.value, Kind.QUESTION.value)
    if carded:
        if c.slack_ts is not None:
            redraw_own_card(session, c.id, c.slack_channel, key=f"incident-out:{c.id}:{event.id}", at=at)
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
    folded = len(leaving) - 1
    who = f"#{complaint_id} and the {folded} post(s) folded into it are" if folded else f"#{complaint_id} is"
    if carded:
        said = (
            f"{who} out of incident #{incident.id}: its own card is back, and it hears none of the incident's replies."
        )
    else:
        said = (
            f"{who} out of incident #{incident.id} and hears none of its replies. Triage read it as not a "
            f"complaint, so it has no card: `/complaints move #{complaint_id} complaint` gives it one."
        )
    # Replies of this incident's updates: still queued (they will not go), or gone already.
    of_incident = select(IncidentUpdate.id).where(IncidentUpdate.incident_id == incident.id)
    statuses = dict(
        session.execute(
            select(Delivery.status, func.count())
            .where(Delivery.incident_update.in_(of_incident), Delivery.complaint_id.in_(ids))
            .group_by(Delivery.status)
        ).all()
    )
    queued = int(statuses.get(DeliveryStatus.PENDING.value, 0))
    if queued:
        said += f" {queued} queued incident repl{'y' if queued == 1 else 'ies'} to it will not be sent."
    if statuses.get(DeliveryStatus.SENT.value):
        said += " It was sent an update of the incident already: say so in your reply."
    return said


def decide(session: Session, complaint_id: int, incident_id: int, status: str, *, user_id: str, at: datetime) -> None:
    """Keep a person's word on whether a post belongs to an incident (a suggestion's row, made if there
    was none: no score, a person decided): ``dismissed`` keeps detection off it, ``added`` says it is in
    by a person's say — the latest decision is the one kept."""
    row = session.execute(
        select(IncidentSuggestion)
        .where(IncidentSuggestion.complaint_id == complaint_id, IncidentSuggestion.incident_id == incident_id)
        .with_for_update()
    ).scalar()
    if row is not None:
        row.status, row.decided_by, row.decided_at = status, user_id, at
        return
    dialect.insert_new(
        session,
        IncidentSuggestion.__table__,
        {
            "complaint_id": complaint_id,
            "incident_id": incident_id,
            "score": 0.0,  # no suggestion was scored: a person decided
            "status": status,
            "created_at": at,
            "decided_by": user_id,
            "decided_at": at,
        },
        key=["complaint_id", "incident_id"],
    )


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
