"""One outage the grouping split in two, made one: ``/complaints move incident 8 into 7``.

Long, polite posts about a login outage ("I have tried several times this morning to enter my
details…") and short ones ("cant log in??") can share too few words, and the grouping opens two
incidents for one outage (on one held-out wording set, one to three extra incidents a day:
docs/reliability.md#incidents). Two cards, two owners, two updates to write: a person who sees it
merges them, in one transaction, both incidents locked in id order (as detection and Resolve lock):

- every customer of #8 becomes a customer of #7; the cards of #8's members that were posted say
  "part of incident #7" now, and #8's own card (its anchor's) becomes that customer's card, with
  the same line;
- #7's counts are counted again from its members, and its words — what later posts are matched
  against — are rewritten from all of them, so #8's wording joins #7 from now on;
- #8 is kept, ``released`` with ``merged_into`` = 7, who and when: it leaves the open list, and
  detection opens no incident on its words for a day (as after Not an incident);
- a line in #7's thread says who merged what; an ``incident_merged`` event with the person's id.

Refused, in one line: an incident into itself, a missing or closed one, one whose customers were
sent an update (they were told of #8 by number: resolve it on its own), one with an open promise
(it would be left on an ordinary card: keep or cancel it first).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot import outbox
from bot.common.errors import Conflict, NotFound
from bot.history import events
from bot.history.events import EventKind
from bot.incidents import topics
from bot.incidents.detect import INCIDENT_PRIORITY, redraw_own_card, withdraw_offers
from bot.incidents.membership import recount
from bot.store.enums import PromiseStatus
from bot.store.models import Complaint, Incident, IncidentUpdate, Promise


def merge(session: Session, source_id: int, target_id: int, *, user_id: str, at: datetime) -> str:
    """Make incident ``source_id`` part of ``target_id``; what happened, in a sentence."""
    if source_id == target_id:
        raise Conflict(f"Incident #{source_id} is itself: name two incidents, `move incident 8 into 7`.")
    locked = {
        i.id: i
        for i in session.scalars(
            select(Incident)
            .where(Incident.id.in_(sorted({source_id, target_id})))
            .order_by(Incident.id)
            .with_for_update()
        )
    }
    source, target = locked.get(source_id), locked.get(target_id)
    for number, incident in ((source_id, source), (target_id, target)):
        if incident is None:
            raise NotFound(f"There is no incident #{number}.")
    assert source is not None
    assert target is not None
    if source.merged_into == target_id:
        return f"Incident #{source_id} is part of incident #{target_id} already."
    for incident in (source, target):
        if incident.status != "open":
            raise Conflict(f"Incident #{incident.id} is {incident.status}: only open incidents can be merged.")
    if session.scalar(select(IncidentUpdate.id).where(IncidentUpdate.incident_id == source_id).limit(1)):
        raise Conflict(
            f"Incident #{source_id}'s customers were sent an update about it: resolve it on its own, "
            f"or merge incident #{target_id} into it instead."
        )
    if session.scalar(
        select(Promise.id)
        .where(
            Promise.complaint_id == source.anchor_id,
            Promise.status.in_([PromiseStatus.OPEN.value, PromiseStatus.BROKEN.value]),
        )
        .limit(1)
    ):
        raise Conflict(
            f"Incident #{source_id} has an open promise: keep or cancel it first, "
            f"or merge incident #{target_id} into it instead."
        )

    members = session.execute(
        select(Complaint.id, Complaint.slack_ts, Complaint.slack_channel).where(Complaint.incident_id == source_id)
    ).all()
    session.execute(
        update(Complaint)
        .where(Complaint.incident_id == source_id)
        .values(incident_id=target_id, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    for m in members:
        if m.slack_ts:  # #8's own card and the members' cards posted before it was found
            redraw_own_card(session, m.id, m.slack_channel, key=f"incident-merged:{m.id}:{target_id}", at=at)
    withdraw_offers(session, source_id, at=at)
    customers_before = target.customers
    source.status, source.merged_into = "released", target_id
    source.resolved_at, source.resolved_by, source.updated_at = at, user_id, at
    recount(session, target, at)
    profile = topics.Profile()
    for (text,) in session.execute(select(Complaint.text).where(Complaint.incident_id == target_id)):
        profile.add(topics.terms(text))
    target.profile, target.profile_size = profile.top(), profile.size
    event = events.record(
        session,
        EventKind.INCIDENT_MERGED,
        actor=user_id,
        at=at,
        complaint_id=target.anchor_id,
        note=f"incident #{source_id} into #{target_id}",
        details=events.IncidentEvent(target_id, target.customers, target.posts),
    )
    outbox.note_and_refresh(
        session,
        complaint_id=target.anchor_id,
        event_id=event.id,
        priority=INCIDENT_PRIORITY,
        action=EventKind.INCIDENT_MERGED.value,
        actor=user_id,
        at=at,
        detail={"incident": source_id, "customers": target.customers - customers_before},
    )
    return (
        f"Incident #{source_id} is part of incident #{target_id} now: its {len(members)} posts "
        f"({target.customers - customers_before} more customers) get #{target_id}'s next update and its resolution."
    )
