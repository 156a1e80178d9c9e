"""Requesting deliveries, in the same transaction as the change that calls for them.

This is what makes "store first, then act" hold: if the process dies after the commit, a worker
finds the row and sends it; if it dies before, neither the change nor the delivery exists. Every
key is deterministic, so a request repeated (a retried job, a replayed click) adds nothing.

Rows that need a card say so (``card_of``) and point at the card that will really carry them: a
folded complaint's thread lines go under the card it was folded into. A row whose card can never
be posted is stored closed, with the reason, instead of waiting for ever.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from bot.outbox.kinds import SPECS, DeliveryKind, lane_for
from bot.store import dialect
from bot.store.engine import autoflush
from bot.store.enums import DeliveryStatus
from bot.store.models import Complaint, Delivery, Incident
from bot.store.types import UTCDateTime

log = logging.getLogger(__name__)

_T = Delivery.__table__
_D = _T.c
PENDING = DeliveryStatus.PENDING.value
_C = Complaint.__table__.c
# Built once: ingest asks for card targets and refreshes every batch (see bot.intake.ingest).
_IDS = bindparam("ids", expanding=True)
_CARD_COMPLAINTS = select(_C.id, _C.duplicate_of, _C.slack_channel, _C.slack_ts, _C.incident_id).where(_C.id.in_(_IDS))
_ANCHORS = select(Incident.__table__.c.id, Incident.__table__.c.anchor_id).where(Incident.__table__.c.id.in_(_IDS))
_CARD_ROWS = select(_D.key, _D.status, _D.channel).where(_D.key.in_(_IDS))
_TOUCH = (
    update(Complaint.__table__)
    .where(_C.id.in_(_IDS), _C.updated_at < bindparam("at", type_=UTCDateTime()))
    .values(updated_at=bindparam("at", type_=UTCDateTime()))
)


def card_key(complaint_id: int) -> str:
    return f"card:{complaint_id}"


def row(
    kind: DeliveryKind,
    *,
    key: str,
    at: datetime,
    lane: str,
    channel: str | None = None,
    complaint_id: Any = None,
    promise_id: int | None = None,
    card_of: Any = None,
    payload: dict[str, Any] | None = None,
    priority: int = 0,
    status: DeliveryStatus = DeliveryStatus.PENDING,
    last_error: str | None = None,
    transport: str | None = None,
) -> dict[str, Any]:
    """A complete table row, for bulk inserts and for ``insert_row``. ``transport``: the network a
    reply goes out on (other kinds have theirs); for ``enqueue``, a reply's channel is its network."""
    sender = SPECS[kind].transport or transport or channel
    if sender is None:
        raise ValueError(f"{kind} needs the network it goes out on")
    return {
        "kind": kind.value,
        "transport": sender,
        "key": key,
        "complaint_id": complaint_id,
        "promise_id": promise_id,
        "card_of": card_of,
        "channel": channel,
        "lane": lane,
        "payload": payload or {},
        "priority": priority,
        "status": status.value,
        "attempts": 0,
        "available_at": at,
        "first_attempt_at": None,
        "remote_channel": None,
        "remote_id": None,
        "last_error": last_error,
        "created_at": at,
        "sent_at": None,
        "incident_update": None,
    }


def insert_row(session: Session, values: dict[str, Any]) -> bool:
    """Insert a row built by ``row`` unless a row with its key exists; True if this call added it."""
    return dialect.insert_new(session, _T, values, key=["key"])


def enqueue(
    session: Session,
    kind: DeliveryKind,
    *,
    key: str,
    channel: str,
    at: datetime,
    complaint_id: int | None = None,
    promise_id: int | None = None,
    payload: dict[str, Any] | None = None,
    priority: int = 0,
) -> bool:
    """A delivery to ``channel`` that needs no card. True if it was added (False: already requested)."""
    if SPECS[kind].needs_card:
        raise ValueError(f"{kind} needs a card: use enqueue_on_card")
    return insert_row(
        session,
        row(
            kind,
            key=key,
            at=at,
            lane=lane_for(kind, channel),
            channel=channel,
            complaint_id=complaint_id,
            promise_id=promise_id,
            payload=payload,
            priority=priority,
        ),
    )


@dataclass(frozen=True)
class CardTarget:
    """The card a complaint's thread lines go under: its own, the one it was folded into, or — for a
    member of an incident — the incident's card (carried by its anchor complaint's card row)."""

    complaint_id: int
    channel: str | None
    status: str | None
    """The card delivery's status; None when the complaint has no card at all."""

    @property
    def usable(self) -> bool:
        return self.status in (DeliveryStatus.PENDING.value, DeliveryStatus.SENT.value) and bool(self.channel)


def card_targets(session: Session, complaint_ids: Iterable[int]) -> dict[int, CardTarget]:
    """``card_target`` for many complaints in three queries, whatever their number."""
    ids = sorted(set(complaint_ids))
    if not ids:
        return {}
    autoflush(session)
    complaints = {row.id: row for row in session.execute(_CARD_COMPLAINTS, {"ids": ids})}
    incidents = sorted({row.incident_id for row in complaints.values() if row.incident_id is not None})
    anchors = dict(session.execute(_ANCHORS, {"ids": incidents}).all()) if incidents else {}
    primaries = {
        cid: anchors.get(complaints[cid].incident_id) or complaints[cid].duplicate_of or cid
        if cid in complaints
        else cid
        for cid in ids
    }
    missing = [p for p in set(primaries.values()) if p not in complaints]
    if missing:
        complaints.update((row.id, row) for row in session.execute(_CARD_COMPLAINTS, {"ids": missing}))
    unposted = [p for p in set(primaries.values()) if not (p in complaints and complaints[p].slack_ts)]
    cards = {}
    if unposted:
        cards = {
            key: (status, channel)
            for key, status, channel in session.execute(_CARD_ROWS, {"ids": [card_key(p) for p in unposted]})
        }
    out = {}
    for cid, primary in primaries.items():
        row = complaints.get(primary)
        if row is not None and row.slack_ts:
            out[cid] = CardTarget(primary, row.slack_channel, DeliveryStatus.SENT.value)
        elif card_key(primary) in cards:
            status, channel = cards[card_key(primary)]
            out[cid] = CardTarget(primary, channel, status)
        else:
            out[cid] = CardTarget(primary, None, None)
    return out


def card_target(session: Session, complaint_id: int) -> CardTarget:
    return card_targets(session, [complaint_id])[complaint_id]


def posted_card(complaint: Complaint) -> CardTarget | None:
    """The target of a complaint already loaded whose own card is out (no query needed), else None."""
    if complaint.slack_ts and not complaint.duplicate_of and not complaint.incident_id:
        return CardTarget(complaint.id, complaint.slack_channel, DeliveryStatus.SENT.value)
    return None


def enqueue_on_card(
    session: Session,
    kind: DeliveryKind,
    *,
    complaint_id: int,
    key: str,
    at: datetime,
    payload: dict[str, Any] | None = None,
    priority: int = 0,
    promise_id: int | None = None,
    target: CardTarget | None = None,
) -> bool:
    """A delivery that threads under (or updates) the complaint's card, whichever card that is."""
    if not SPECS[kind].needs_card:
        raise ValueError(f"{kind} needs no card: use enqueue")
    target = target or card_target(session, complaint_id)
    values = row(
        kind,
        key=key,
        at=at,
        lane=lane_for(kind, target.channel or "none"),
        complaint_id=complaint_id,
        promise_id=promise_id,
        card_of=target.complaint_id,
        payload=payload,
        priority=priority,
    )
    if not target.usable:
        reason = (
            f"complaint #{target.complaint_id} has no card"
            if target.status is None
            else f"the card of #{target.complaint_id} can never be posted ({target.status})"
        )
        values.update(status=DeliveryStatus.CLOSED.value, last_error=reason)
        if insert_row(session, values):
            log.warning("%s for #%d not sent: %s", kind, complaint_id, reason)
        return False
    return insert_row(session, values)


def request_card_refreshes(
    session: Session,
    priorities: dict[int, int],
    *,
    at: datetime,
    targets: dict[int, CardTarget] | None = None,
) -> None:
    """Re-render these cards from stored state, at most one pending request per card.

    Folded complaints refresh the card they were folded into. A card not posted yet needs nothing
    (it is rendered from the current state when it goes); a card that can never be posted needs
    nothing either. Otherwise the card's one ``update:{id}`` row is added, or re-armed if it was
    already sent — one atomic upsert, because two transactions refreshing one card at once (a click
    and a /promise) must both succeed, and select-then-insert makes the second fail on PostgreSQL.
    """
    wanted: dict[int, tuple[int, str]] = {}
    targets = targets or card_targets(session, priorities)
    # The card's state changed: say so on the card's row, so a refresh already on its way (or a
    # card being posted right now) knows to go once more.
    primaries = sorted({t.complaint_id for t in targets.values()})
    if primaries:
        autoflush(session)
        session.execute(_TOUCH, {"ids": primaries, "at": at})
    for cid, priority in priorities.items():
        target = targets[cid]
        if target.status == DeliveryStatus.SENT.value and target.channel:
            previous = wanted.get(target.complaint_id)
            wanted[target.complaint_id] = (max(priority, previous[0] if previous else priority), target.channel)
    if not wanted:
        return
    insert = dialect.insert(session, _T)
    statement = insert.on_conflict_do_update(
        index_elements=[_D.key],
        set_={
            "status": PENDING,
            "available_at": insert.excluded.available_at,
            "priority": insert.excluded.priority,
            "attempts": 0,
            "first_attempt_at": None,
            "last_error": None,
        },
        where=_D.status != PENDING,
    )
    session.execute(
        statement,
        [
            row(
                DeliveryKind.CARD_UPDATE,
                key=f"update:{cid}",
                at=at,
                lane=lane_for(DeliveryKind.CARD_UPDATE, channel),
                complaint_id=cid,
                card_of=cid,
                priority=priority,
            )
            for cid, (priority, channel) in sorted(wanted.items())
        ],
    )


def request_card_refresh(session: Session, complaint_id: int, *, at: datetime, priority: int = 0) -> None:
    request_card_refreshes(session, {complaint_id: priority}, at=at)


def note_and_refresh(
    session: Session,
    *,
    complaint_id: int,
    event_id: int,
    priority: int,
    action: str,
    actor: str,
    at: datetime,
    note: str | None = None,
    detail: dict[str, Any] | None = None,
    known_target: CardTarget | None = None,
) -> None:
    """What the team sees after any change: one line in the card's thread, and the card re-rendered.

    The line's key is the event's id: one event, one line, however often this is called for it.
    """
    target = known_target or card_target(session, complaint_id)
    enqueue_on_card(
        session,
        DeliveryKind.NOTE,
        complaint_id=complaint_id,
        key=f"note:{event_id}",
        at=at,
        payload={"action": action, "actor": actor, "at": at.isoformat(), "note": note, "detail": detail or {}},
        priority=priority,
        target=target,
    )
    request_card_refreshes(session, {complaint_id: priority + 1}, at=at, targets={complaint_id: target})


def close_dependents(session: Session, card_complaint_id: int, reason: str) -> int:
    """The card of ``card_complaint_id`` will never exist: close what waits for it, with the reason."""
    closed = session.execute(
        update(Delivery)
        .where(Delivery.card_of == card_complaint_id, Delivery.status == PENDING)
        .values(status=DeliveryStatus.CLOSED.value, last_error=reason[:500])
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    if closed:
        log.warning("closed %d delivery(ies) waiting for the card of #%d: %s", closed, card_complaint_id, reason)
    return int(closed or 0)


def drop_pending(session: Session, *, promise_id: int, kinds: list[DeliveryKind], reason: str) -> int:
    """What was announced is over (a promise kept): its queued reminders must not go out."""
    closed = session.execute(
        update(Delivery)
        .where(Delivery.promise_id == promise_id, Delivery.status == PENDING, Delivery.kind.in_(kinds))
        .values(status=DeliveryStatus.CLOSED.value, last_error=reason[:500])
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    return int(closed or 0)
