"""Typed events: every change to a complaint or a promise, who made it, when, and its details.

Reports and metrics read events by ``EventKind`` and their details as typed values, never by parsing
free text, so a wording change in Slack can never silently change a number on the lead's report.
Each kind has one details type (or none); ``record`` refuses a mismatch, so the shape stored is the
shape readers get back from ``details_of``.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot.history import facts
from bot.history.event_kinds import SYSTEM as SYSTEM  # what the bot does by itself is recorded as done by it
from bot.history.event_kinds import EventKind
from bot.store.models import AuditEvent

ACTOR_CHARS = 64


class Details:
    """Base of every details type: a frozen dataclass stored as its JSON dict."""

    def to_json(self) -> dict[str, Any]:
        # A shallow copy: details hold plain values, and ingest writes thousands of these a second
        # (``dataclasses.asdict`` deep-copies and cost more than the rest of an event).
        return dict(vars(self))


@dataclass(frozen=True)
class Ingested(Details):
    kind: str
    score: float
    signals: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Amplified(Details):
    post: str
    followers: int


@dataclass(frozen=True)
class CustomerReply(Details):
    post: str
    card_of: int | None = None
    """The card the reply is shown under, when the complaint was folded into another."""


@dataclass(frozen=True)
class Edited(Details):
    post: str
    """The new version's id; the event's note holds the words it replaced."""


@dataclass(frozen=True)
class Folded(Details):
    into: int


@dataclass(frozen=True)
class HandedOver(Details):
    to_user: str
    from_user: str | None = None


@dataclass(frozen=True)
class Escalated(Details):
    tier: str
    contact: str | None = None


@dataclass(frozen=True)
class Resolved(Details):
    customer_confirmed: bool = False
    promises: str = "open"
    """What happened to the promises still open: kept, cancelled, or left open."""
    with_card: int | None = None
    """Set on a folded copy resolved together with the card it was folded into."""


@dataclass(frozen=True)
class Dismissed(Details):
    with_card: int | None = None


@dataclass(frozen=True)
class Reopened(Details):
    with_card: int | None = None


@dataclass(frozen=True)
class Reclassified(Details):
    """A person said what a post is (``Card it``, ``Praise``, ``/complaints move``)."""

    from_kind: str
    to_kind: str


@dataclass(frozen=True)
class PromiseMade(Details):
    due_at: str
    owner: str


@dataclass(frozen=True)
class PromiseClosed(Details):
    due_at: str
    on_time: bool
    why: str | None = None
    """Set when the promise was closed by something else (``resolved`` with the complaint)."""


@dataclass(frozen=True)
class PromiseRescheduled(Details):
    due_from: str
    due_to: str
    count: int


@dataclass(frozen=True)
class NagSent(Details):
    step: int
    rung: str
    """dm, thread, channel or escalate (see ``NAG_LADDER``)."""


@dataclass(frozen=True)
class Refused(Details):
    action: str
    reason: str


@dataclass(frozen=True)
class Failed(Details):
    action: str
    ref: str


@dataclass(frozen=True)
class PublicReply(Details):
    post: str
    source: str
    url: str | None = None
    sent_by: str | None = None
    """The agent who sent it from the card; None when it was seen on the network."""
    first: bool = False
    """The complaint's first public answer: ``response_seconds`` is its first response time."""
    response_seconds: float | None = None


@dataclass(frozen=True)
class FollowUp(Details):
    post: str
    outcome: str
    """reopened, confirmed or attached."""


@dataclass(frozen=True)
class Forgotten(Details):
    """What a forget changed, with nothing that says whom: the network and counts."""

    source: str
    rows: dict[str, int]
    """Rows changed per table."""
    slack_messages: int
    cards: int


@dataclass(frozen=True)
class IncidentEvent(Details):
    """An incident's event: which, and how many customers and posts it had then."""

    incident: int
    customers: int = 0
    posts: int = 0
    update: int | None = None
    """The incident update (``incident_updates.id``) an update or resolution sent."""


DETAILS: dict[EventKind, type[Details] | None] = {
    EventKind.INGESTED: Ingested,
    EventKind.AMPLIFIED: Amplified,
    EventKind.EDITED: Edited,
    EventKind.CUSTOMER_REPLY: CustomerReply,
    EventKind.FOLDED: Folded,
    EventKind.CLAIMED: None,
    EventKind.UNCLAIMED: None,
    EventKind.HANDED_OVER: HandedOver,
    EventKind.ESCALATED: Escalated,
    EventKind.RESOLVED: Resolved,
    EventKind.DISMISSED: Dismissed,
    EventKind.REOPENED: Reopened,
    EventKind.CARDED: Reclassified,
    EventKind.RECLASSIFIED: Reclassified,
    EventKind.PROMISE_MADE: PromiseMade,
    EventKind.PROMISE_KEPT: PromiseClosed,
    EventKind.PROMISE_CANCELLED: PromiseClosed,
    EventKind.PROMISE_BROKEN: PromiseClosed,
    EventKind.PROMISE_RESCHEDULED: PromiseRescheduled,
    EventKind.NAG_SENT: NagSent,
    EventKind.REFUSED: Refused,
    EventKind.PUBLIC_REPLY: PublicReply,
    EventKind.FOLLOW_UP: FollowUp,
    EventKind.FAILED: Failed,
    EventKind.FORGOTTEN: Forgotten,
    EventKind.INCIDENT_OPENED: IncidentEvent,
    EventKind.INCIDENT_JOINED: IncidentEvent,
    EventKind.INCIDENT_UPDATE: IncidentEvent,
    EventKind.INCIDENT_CLAIMED: IncidentEvent,
    EventKind.INCIDENT_RESOLVED: IncidentEvent,
    EventKind.INCIDENT_RELEASED: IncidentEvent,
    EventKind.INCIDENT_SUGGESTED: IncidentEvent,
    EventKind.INCIDENT_SUGGESTION_DISMISSED: IncidentEvent,
    EventKind.INCIDENT_MERGED: IncidentEvent,
    EventKind.INCIDENT_LEFT: IncidentEvent,
}


def _checked(kind: EventKind, details: Details | None) -> dict[str, Any] | None:
    expected = DETAILS[kind]
    if expected is None:
        if details is not None:
            raise TypeError(f"{kind} takes no details, got {type(details).__name__}")
        return None
    if not isinstance(details, expected):
        raise TypeError(f"{kind} needs {expected.__name__} details, got {type(details).__name__}")
    return details.to_json()


def row(
    kind: EventKind,
    *,
    actor: str,
    at: datetime,
    complaint_id: Any = None,
    promise_id: int | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    note: str | None = None,
    details: Details | None = None,
) -> dict[str, Any]:
    """The table row for an event, for bulk inserts (ingest writes thousands a second)."""
    return {
        "complaint_id": complaint_id,
        "promise_id": promise_id,
        "actor": actor[:ACTOR_CHARS],
        "action": kind.value,
        "from_status": from_status,
        "to_status": to_status,
        "note": note,
        "details": _checked(kind, details),
        "at": at,
    }


def record(
    session: Session,
    kind: EventKind,
    *,
    actor: str,
    at: datetime,
    complaint_id: int | None = None,
    promise_id: int | None = None,
    from_status: str | None = None,
    to_status: str | None = None,
    note: str | None = None,
    details: Details | None = None,
) -> AuditEvent:
    """Add one event in the caller's transaction and flush it, so its id can key what it causes."""
    event = AuditEvent(
        **row(
            kind,
            actor=actor,
            at=at,
            complaint_id=complaint_id,
            promise_id=promise_id,
            from_status=from_status,
            to_status=to_status,
            note=note,
            details=details,
        )
    )
    session.add(event)
    session.flush()
    facts.apply(
        session,
        kind.value,
        actor=event.actor,
        at=at,
        complaint_id=complaint_id,
        promise_id=promise_id,
        on_time=details.on_time if isinstance(details, PromiseClosed) else None,
    )
    return event


def details_of(event: AuditEvent) -> Details | None:
    """The typed details of a stored event (unknown keys from older versions are ignored)."""
    kind = EventKind(event.action)
    cls = DETAILS[kind]
    if cls is None or event.details is None:
        return None
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    return cls(**{k: v for k, v in event.details.items() if k in known})
