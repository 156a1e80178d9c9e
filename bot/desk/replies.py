"""The customer side of the loop: the brand's public replies, sent from the card or seen on a network.

- A reply sent from the card is a delivery row (``DeliveryKind.REPLY``, its transport the network), stored with
  who sent it before anything goes out; the transport posts it once. What happens after any reply
  kind is sent is here and generic: the post id and sender recorded, the post put in the ledger (so
  ingest knows it when the network shows it back), a thread line with its link, the first response
  time, and the promises in it tracked at once — owned by the sender.
- A brand reply seen on a network (ingest) gets the same thread line and first response time; the
  promises in it are *proposed* to the complaint's owner (Track / Change time / Not a promise) and,
  untouched after ``AUTO_TRACK_AFTER``, tracked anyway by the scheduler: a nag is cheaper than a
  broken promise.
- Every decision is a ``CommitmentLabel`` row (who, when, what), for detection to learn from.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot import outbox
from bot.common.errors import Conflict, DomainError, NotFound
from bot.desk import reach
from bot.history import events
from bot.history.events import EventKind
from bot.outbox.kinds import DeliveryKind
from bot.promises import lifecycle as promises
from bot.promises.commitments import find_commitments, untimed
from bot.store.enums import OPEN_STATUSES, DeliveryStatus, PostRole, PromiseStatus, Status
from bot.store.models import AuditEvent, CommitmentLabel, Complaint, Delivery, Interaction, Promise, SlackUser
from bot.store.models import Post as PostRow

log = logging.getLogger(__name__)

AUTO_TRACK_AFTER = timedelta(hours=1)
REPLY_LANE = "reply:{source}"
"""Replies have their own rate-limit lane per network: a 429 from X must not pause Slack's lanes."""

PROPOSED, TRACKED, AUTO_TRACKED, CHANGED, NOT_A_PROMISE = "proposed", "tracked", "auto_tracked", "changed", "rejected"


# -- sending from the card ----------------------------------------------------------------------------


def request_reply(
    session: Session,
    complaint_id: int,
    *,
    text: str,
    user_id: str,
    tz: str,
    key: str,
    at: datetime,
    closing: bool = False,
) -> bool:
    """Store the reply to be sent (with its sender) in the caller's transaction. ``key`` is the
    request's own id (a form submission's), so a repeated submission adds nothing. True if added."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(f"There is no complaint #{complaint_id}.")
    if not reach.answers(complaint.source):
        raise DomainError(f"Replying on {reach.label(complaint.source)} from the card is not possible yet.")
    if complaint.status == Status.DISMISSED.value:
        raise DomainError(f"Complaint #{complaint_id} was marked not a complaint: reopen it to reply.")
    text = text.strip()
    reach.check_reply(text, complaint.source)
    target = outbox.card_target(session, complaint_id)
    values = outbox.row(
        DeliveryKind.REPLY,
        transport=complaint.source,
        key=f"reply:{key}",
        at=at,
        lane=REPLY_LANE.format(source=complaint.source),
        complaint_id=complaint_id,
        card_of=target.complaint_id,
        payload={
            "text": text,
            "sender": user_id,
            "tz": tz,
            "source": complaint.source,
            "in_reply_to": complaint.external_id,
            "customer": complaint.author_handle,
            "closing": closing,
        },
        priority=90,
    )
    if not target.usable:
        raise DomainError(f"Complaint #{complaint_id} has no card to reply from.")
    return outbox.insert_row(session, values)


WRITING_WINDOW = timedelta(minutes=10)
"""How recent another agent's Reply (opened or sent) on the same card must be to be mentioned."""
DUPLICATE_WINDOW = timedelta(hours=24)
"""X refuses a post identical to one the account made recently; a day is the window people report."""


@dataclass(frozen=True)
class ReplyWarning:
    """Something to see before a reply goes public; ``who`` is a team member the text is about."""

    text: str
    who: str | None = None


def checks_before_reply(
    session: Session, complaint_id: int, *, text: str, user_id: str, at: datetime, brand_handle: str | None
) -> list[ReplyWarning]:
    """What the sender should see before a reply goes public — none of it stops them (the form offers
    "Send anyway"): a commitment with no time (it cannot be tracked), what the network will refuse
    (X: a post that does not mention the brand), the same words sent in the last day (X refuses
    duplicates), and another agent's reply on this card in the last minutes (two answers to one
    customer)."""
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        raise NotFound(f"There is no complaint #{complaint_id}.")
    warnings = [
        ReplyWarning(f"“{said}” promises something with no time: by when? Add it (“by 5pm tomorrow”) so it is tracked.")
        for said in untimed(text)
    ]
    handles = frozenset({brand_handle.lower()}) if brand_handle else frozenset()
    network = reach.reply_warning(complaint.source, complaint.text or "", handles)
    if network:
        warnings.append(ReplyWarning(network))
    recent = session.scalars(
        select(Delivery)
        .where(
            Delivery.kind == DeliveryKind.REPLY.value,
            Delivery.transport == complaint.source,
            Delivery.created_at >= at - DUPLICATE_WINDOW,
        )
        .order_by(Delivery.created_at.desc())
        .limit(500)
    ).all()
    same = " ".join(text.split()).casefold()
    duplicate = next(
        (r for r in recent if " ".join(str((r.payload or {}).get("text") or "").split()).casefold() == same), None
    )
    if duplicate is not None:
        warnings.append(
            ReplyWarning(
                f"The same words were sent on #{duplicate.complaint_id} at {duplicate.created_at:%H:%M} UTC: "
                f"{reach.label(complaint.source)} may refuse a duplicate — change a few words."
            )
        )
    other = next(
        (
            r
            for r in recent
            if r.complaint_id == complaint_id
            and (r.payload or {}).get("sender") != user_id
            and r.created_at >= at - WRITING_WINDOW
        ),
        None,
    )
    if other is not None:
        minutes = max(1, round((at - other.created_at).total_seconds() / 60))
        said = " ".join(str((other.payload or {}).get("text") or "").split())[:200]
        warnings.append(
            ReplyWarning(f"replied on this card {minutes} min ago: “{said}”", who=(other.payload or {}).get("sender"))
        )
    return warnings


def requested(session: Session, key: str) -> bool:
    """Whether a reply with this request key is stored already (the same form sent again)."""
    return session.scalar(select(func.count()).select_from(Delivery).where(Delivery.key == f"reply:{key}")) > 0


def check_text(text: str, source: str) -> None:
    """Refuse (DomainError) a reply the network would refuse: empty, or too long as it counts."""
    reach.check_reply(text.strip(), source)


def writing_now(
    session: Session, complaint_id: int, *, user_id: str, at: datetime, opened_by: str
) -> list[tuple[str, datetime]]:
    """Who else opened Reply on this card in the last minutes and has not sent since: (user, when).
    ``opened_by``: the request log's name for the click that opens the form."""
    opened = session.execute(
        select(Interaction.user_id, func.max(Interaction.at))
        .where(
            Interaction.surface == "action",
            Interaction.name == opened_by,
            Interaction.ref == str(complaint_id),
            Interaction.user_id != user_id,
            Interaction.at >= at - WRITING_WINDOW,
        )
        .group_by(Interaction.user_id)
    ).all()
    out = []
    for who, when in opened:
        sent = session.scalar(
            select(func.count())
            .select_from(Delivery)
            .where(
                Delivery.kind == DeliveryKind.REPLY.value,
                Delivery.complaint_id == complaint_id,
                Delivery.created_at >= when,
                Delivery.payload["sender"].as_string() == who,
            )
        )
        if not sent:
            out.append((who, when))
    return out


@dataclass(frozen=True)
class Brand:
    """Who the brand is on each network (for the ledger and the thread line)."""

    handles: dict[str, str]
    ids: dict[str, str]


def after_sent(session: Session, row: Delivery, post_id: str, *, at: datetime, brand: Brand) -> None:
    """A reply of any kind went out: remember it, show it, read the promises in it — in the
    transaction that marks the row sent, so none of this happens twice or not at all."""
    payload = row.payload or {}
    complaint = session.get(Complaint, row.complaint_id)
    if complaint is None:
        return
    source = str(payload.get("source") or complaint.source)
    text = str(payload.get("text") or "")
    handle = brand.handles.get(source) or "brand"
    existing = session.execute(
        select(PostRow.id).where(PostRow.source == source, PostRow.external_id == post_id)
    ).scalar_one_or_none()
    if existing is not None:
        log.info("reply %s on #%d was already seen on %s; not shown twice", post_id, complaint.id, source)
        return
    session.add(
        PostRow(
            source=source,
            external_id=post_id,
            complaint_id=complaint.id,
            role=PostRole.OWN.value,
            author_id=brand.ids.get(source) or handle,
            author_handle=handle,
            text=text,
            posted_at=at,
            created_at=at,
        )
    )
    session.flush()
    sender = str(payload.get("sender") or "") or None
    one_of_many = payload.get("incident") is not None
    record_public_reply(
        session,
        complaint,
        source=source,
        post_id=post_id,
        text=text,
        handle=handle,
        posted_at=at,
        sent_by=sender,
        at=at,
        shown=not one_of_many,
    )
    if one_of_many:
        # One of an incident's many replies: its thread shows progress lines, not three hundred
        # copies, and a promise in the update is the incident's own (its card's Promise).
        return
    read_promises(
        session,
        complaint,
        source=source,
        post_id=post_id,
        text=text,
        origin="card",
        owner=sender,
        tz=str(payload.get("tz") or "UTC"),
        at=at,
    )


def _reply_line(session: Session, row: Delivery, key: str, at: datetime, **state: Any) -> None:
    """A thread line about a reply's fate (failed, delayed), once per row and fate — not for an
    incident's replies, whose fates are counted in its progress lines."""
    if not row.complaint_id or (row.payload or {}).get("incident") is not None:
        return
    payload = row.payload or {}
    outbox.enqueue_on_card(
        session,
        DeliveryKind.PUBLIC_REPLY_LINE,
        complaint_id=row.complaint_id,
        key=f"{key}:{row.id}",
        at=at,
        payload={**state, "sender": payload.get("sender"), "source": payload.get("source")},
        priority=90,
    )


def after_failed(session: Session, row: Delivery, reason: str, *, at: datetime) -> None:
    """A reply that will not go out: the thread says so, with X's reason, so someone acts."""
    text = (row.payload or {}).get("text")
    _reply_line(session, row, "reply-failed", at, failed=True, reason=reason[:300], text=text)


def after_delayed(session: Session, row: Delivery, reason: str, *, until: datetime, at: datetime) -> None:
    """A reply that could not go yet (X's rate limit, an outage): said once in the thread, so the
    sender knows it is on its way rather than lost. Its final fate gets its own line."""
    _reply_line(session, row, "reply-delayed", at, delayed=True, reason=reason[:300], until=until.isoformat())


def record_public_reply(
    session: Session,
    complaint: Complaint,
    *,
    source: str,
    post_id: str,
    text: str,
    handle: str,
    posted_at: datetime,
    sent_by: str | None,
    at: datetime,
    shown: bool = True,
) -> AuditEvent:
    """The typed event (the first one sets the first response time), the thread line, the card
    (``shown``: an incident's replies are counted in its thread instead)."""
    first = (
        session.execute(
            select(AuditEvent.id)
            .where(AuditEvent.complaint_id == complaint.id, AuditEvent.action == EventKind.PUBLIC_REPLY.value)
            .limit(1)
        ).scalar_one_or_none()
        is None
    )
    url = reach.post_url(source, handle, post_id)
    seconds = max(0.0, (posted_at - complaint.posted_at).total_seconds()) if first else None
    event = events.record(
        session,
        EventKind.PUBLIC_REPLY,
        complaint_id=complaint.id,
        actor=sent_by or f"{source}:@{handle}",
        note=text[:500],
        at=at,
        details=events.PublicReply(
            post=post_id, source=source, url=url, sent_by=sent_by, first=first, response_seconds=seconds
        ),
    )
    if not shown:
        return event
    outbox.enqueue_on_card(
        session,
        DeliveryKind.PUBLIC_REPLY_LINE,
        complaint_id=complaint.id,
        key=f"public:{source}:{post_id}",
        at=at,
        payload={"handle": handle, "text": text, "url": url, "sender": sent_by, "source": source},
        priority=complaint.priority + 1,
    )
    outbox.request_card_refresh(session, complaint.id, at=at, priority=complaint.priority)
    return event


def first_response_seconds(session: Session, complaint_id: int) -> float | None:
    """The complaint's first response time (customer's post → first public answer), from its event."""
    event = session.execute(
        select(AuditEvent)
        .where(AuditEvent.complaint_id == complaint_id, AuditEvent.action == EventKind.PUBLIC_REPLY.value)
        .order_by(AuditEvent.id)
        .limit(1)
    ).scalar_one_or_none()
    if event is None:
        return None
    details = events.details_of(event)
    return details.response_seconds if isinstance(details, events.PublicReply) else None


# -- brand replies seen on a network (ingest) ----------------------------------------------------------


def conversation_complaint(session: Session, source: str, conversation_id: str | None) -> int | None:
    """The complaint a brand post in this conversation answers (the newest one in it)."""
    if not conversation_id:
        return None
    return session.execute(
        select(Complaint.id)
        .where(Complaint.source == source, Complaint.conversation_id == conversation_id, Complaint.kind == "complaint")
        .order_by(Complaint.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def seen_on_network(
    session: Session,
    complaint_id: int,
    *,
    source: str,
    post_id: str,
    text: str,
    handle: str,
    posted_at: datetime,
    at: datetime,
    team_tz: str,
) -> None:
    complaint = session.get(Complaint, complaint_id)
    if complaint is None:
        return
    card = session.get(Complaint, complaint.duplicate_of) if complaint.duplicate_of else complaint
    record_public_reply(
        session,
        complaint,
        source=source,
        post_id=post_id,
        text=text,
        handle=handle,
        posted_at=posted_at,
        sent_by=None,
        at=at,
    )
    owner = (card or complaint).owner_id
    tz = team_tz
    if owner:
        cached = session.get(SlackUser, owner)
        tz = (cached.tz if cached and cached.tz else None) or team_tz
    read_promises(
        session, complaint, source=source, post_id=post_id, text=text, origin="seen", owner=owner, tz=tz, at=at
    )


# -- promises in replies -------------------------------------------------------------------------------


def read_promises(
    session: Session,
    complaint: Complaint,
    *,
    source: str,
    post_id: str,
    text: str,
    origin: str,
    owner: str | None,
    tz: str,
    at: datetime,
    finder: Callable[..., list[Any]] = find_commitments,
) -> list[CommitmentLabel]:
    """Each commitment found: tracked at once (from the card, owner the sender) or proposed."""
    labels = []
    for found in finder(text, now=at, tz=tz):
        label = CommitmentLabel(
            complaint_id=complaint.id,
            source=source,
            post_id=post_id,
            span_start=int(found.span[0]),
            origin=origin,
            reply_text=text,
            text=found.text[: promises.MAX_TEXT],
            due_at=found.due,
            ask=found.ask,
            decision=PROPOSED,
            proposed_to=owner,
            track_after=at + AUTO_TRACK_AFTER if origin == "seen" else None,
            created_at=at,
        )
        session.add(label)
        session.flush()
        labels.append(label)
        open_now = complaint.status in [s.value for s in OPEN_STATUSES]
        if origin == "card" and owner and found.due is not None and found.due > at and open_now:
            _track(session, label, owner=owner, by=owner, at=at, decision=TRACKED)
        else:
            _show(session, label, at=at)
    return labels


def _show(session: Session, label: CommitmentLabel, *, at: datetime, step: str = "0") -> None:
    """The label's line in the thread, rendered from its current state when it goes."""
    outbox.enqueue_on_card(
        session,
        DeliveryKind.COMMITMENT,
        complaint_id=label.complaint_id,
        key=f"commitment:{label.id}:{step}",
        at=at,
        payload={"label": label.id},
        priority=85,
    )


def _track(session: Session, label: CommitmentLabel, *, owner: str, by: str, at: datetime, decision: str) -> Promise:
    promise = promises.create(
        session,
        label.complaint_id,
        owner_id=owner,
        text=label.text,
        due_at=_need_due(label),
        created_by=by,
        at=at,
    )
    # The "Tracking: …" line says it (with Change time / Not a promise): the generic "recorded a
    # promise" line would say it twice.
    made = session.scalars(
        select(AuditEvent.id).where(
            AuditEvent.promise_id == promise.id, AuditEvent.action == EventKind.PROMISE_MADE.value
        )
    ).all()
    session.execute(
        update(Delivery)
        .where(Delivery.key.in_([f"note:{eid}" for eid in made]), Delivery.status == DeliveryStatus.PENDING.value)
        .values(status=DeliveryStatus.CLOSED.value, last_error="shown as the Tracking line")
        .execution_options(synchronize_session=False)
    )
    label.decision, label.decided_by, label.decided_at, label.promise_id = decision, by, at, promise.id
    session.flush()
    _show(session, label, at=at, step=decision)
    return promise


def _need_due(label: CommitmentLabel) -> datetime:
    if label.due_at is None:
        raise DomainError(f"“{label.text}” has no due time yet: use Change time to say when.")
    return label.due_at


def _label(session: Session, label_id: int) -> CommitmentLabel:
    label = session.get(CommitmentLabel, label_id, with_for_update=True)
    if label is None:
        raise NotFound("That promise suggestion is gone.")
    return label


def _claim_decision(
    session: Session, label: CommitmentLabel, allowed: tuple[str, ...], to: str, by: str, at: datetime
) -> None:
    done = session.execute(
        update(CommitmentLabel)
        .where(CommitmentLabel.id == label.id, CommitmentLabel.decision.in_(allowed))
        .values(decision=to, decided_by=by, decided_at=at)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(label)
    if done != 1:
        who = (
            f" by <@{label.decided_by}>"
            if label.decided_by and not label.decided_by.startswith("followthrough")
            else ""
        )
        raise Conflict(f"Already decided{who}: {label.decision.replace('_', ' ')}.", current_status=label.decision)


def track(session: Session, label_id: int, *, user_id: str, at: datetime) -> Promise:
    """Track: a proposed promise becomes a promise, owned by the complaint's owner (or the clicker)."""
    label = _label(session, label_id)
    _need_due(label)
    _claim_decision(session, label, (PROPOSED,), TRACKED, user_id, at)
    complaint = session.get(Complaint, label.complaint_id)
    owner = (complaint.owner_id if complaint else None) or user_id
    return _track(session, label, owner=owner, by=user_id, at=at, decision=TRACKED)


def not_a_promise(session: Session, label_id: int, *, user_id: str, at: datetime) -> CommitmentLabel:
    """Not a promise: the proposal is dropped, or the tracked promise cancelled."""
    label = _label(session, label_id)
    _claim_decision(session, label, (PROPOSED, TRACKED, AUTO_TRACKED, CHANGED), NOT_A_PROMISE, user_id, at)
    if label.promise_id:
        promise = session.get(Promise, label.promise_id)
        if promise is not None and promise.status in promises.STILL_OWED:
            promises.close(
                session, promise.id, status=PromiseStatus.CANCELLED, user_id=user_id, at=at, why="not a promise"
            )
    _show(session, label, at=at, step=f"{NOT_A_PROMISE}:{at.timestamp():.0f}")
    return label


def change_time(session: Session, label_id: int, *, user_id: str, due_at: datetime, at: datetime) -> CommitmentLabel:
    """Change time: a tracked promise moves; a proposed one is tracked at the new time."""
    label = _label(session, label_id)
    if due_at <= at:
        raise DomainError("That time has passed; pick a time ahead.")
    was = label.decision
    _claim_decision(session, label, (PROPOSED, TRACKED, AUTO_TRACKED, CHANGED), CHANGED, user_id, at)
    label.due_at = due_at
    session.flush()
    promise = session.get(Promise, label.promise_id) if label.promise_id else None
    if was != PROPOSED and promise is not None and promise.status in promises.STILL_OWED:
        promises.reschedule(session, promise.id, user_id=user_id, due_at=due_at, reason="time changed", at=at)
        _show(session, label, at=at, step=f"{CHANGED}:{at.timestamp():.0f}")
    else:
        complaint = session.get(Complaint, label.complaint_id)
        owner = (complaint.owner_id if complaint else None) or user_id
        _track(session, label, owner=owner, by=user_id, at=at, decision=CHANGED)
    return label


def auto_track_due(session: Session, now: datetime, limit: int = 100) -> int:
    """Proposals nobody touched for an hour are tracked anyway — each exactly once: the decision is
    a conditional update in the transaction that records the promise."""
    due = session.scalars(
        select(CommitmentLabel.id)
        .where(
            CommitmentLabel.decision == PROPOSED,
            CommitmentLabel.track_after <= now,
            CommitmentLabel.due_at.is_not(None),
        )
        .order_by(CommitmentLabel.track_after)
        .limit(limit)
    ).all()
    tracked = 0
    for label_id in due:
        label = session.get(CommitmentLabel, label_id)
        complaint = session.get(Complaint, label.complaint_id) if label else None
        if label is None or complaint is None:
            continue
        card = session.get(Complaint, complaint.duplicate_of) if complaint.duplicate_of else complaint
        owner = (card or complaint).owner_id or complaint.owner_id
        open_now = complaint.status in [s.value for s in OPEN_STATUSES]
        usable = owner is not None and open_now and label.due_at is not None and label.due_at > now
        if owner is None and open_now and label.due_at is not None and label.due_at > now:
            continue  # nobody to own it yet: tracked at the first tick after someone claims the card
        try:
            with session.begin_nested():
                done = session.execute(
                    update(CommitmentLabel)
                    .where(CommitmentLabel.id == label_id, CommitmentLabel.decision == PROPOSED)
                    .values(decision=AUTO_TRACKED if usable else "lapsed", decided_by=events.SYSTEM, decided_at=now)
                    .execution_options(synchronize_session=False)
                ).rowcount  # type: ignore[attr-defined]
                if done != 1:
                    continue
                session.refresh(label)
                if usable:
                    assert owner is not None
                    _track(session, label, owner=owner, by=events.SYSTEM, at=now, decision=AUTO_TRACKED)
                    tracked += 1
                else:
                    _show(session, label, at=now, step="lapsed")
        except DomainError as exc:  # changed under us (resolved meanwhile): not tracked, and said so
            log.info("proposed promise %d not tracked: %s", label_id, exc)
            session.execute(
                update(CommitmentLabel)
                .where(CommitmentLabel.id == label_id, CommitmentLabel.decision == PROPOSED)
                .values(decision="lapsed", decided_by=events.SYSTEM, decided_at=now)
            )
            _show(session, label, at=now, step="lapsed")
    return tracked
