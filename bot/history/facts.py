"""The report's facts: a complaint's first answer, first claim and first resolve, and a promise's last
outcome, kept beside the events that establish them.

The lead's report asks "which complaints got their first answer this week, from whom, after how
long" and "which promises settled this week, and how". Answered from the events, that is a ranking of
every event of the period against each complaint's earlier ones: 2.8 s for one week and 23 s for
eight at a million complaints. Answered from these narrow rows, it is an index range read.

The facts are a projection of the events, never a second truth: ``apply`` runs inside
``events.record`` (the one way a person's or the bot's action becomes an event), so a fact commits or
rolls back with its event; and ``rebuild`` derives them all again from the events with the same
rules (the migration that introduced them uses it, and a test checks that the two agree on a known
history). The rules are the metrics' own:

- first response: the earliest ``FIRST_RESPONSE_KINDS`` event (by time, then id), its actor;
- first claim: the earliest claim; first resolve: the earliest resolve by a person (folded copies
  resolved by the bot with their card are not the team's work);
- a promise's outcome: its latest closing event (by time, then id) — kept on time, kept late,
  broken, or none when it was cancelled — so a promise broken and then kept late counts once, late.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    Connection,
    Select,
    and_,
    case,
    delete,
    exists,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from bot.history.event_kinds import SYSTEM, EventKind
from bot.store import dialect
from bot.store.models import AuditEvent, Complaint, ComplaintFacts, Promise, PromiseFacts

CLAIM = EventKind.CLAIMED.value
PUBLIC_REPLY = EventKind.PUBLIC_REPLY.value
RESOLVE = EventKind.RESOLVED.value
PROMISE_MADE = EventKind.PROMISE_MADE.value
KEPT = EventKind.PROMISE_KEPT.value
BROKEN = EventKind.PROMISE_BROKEN.value
CANCELLED = EventKind.PROMISE_CANCELLED.value

FIRST_RESPONSE_KINDS: tuple[str, ...] = (CLAIM, PUBLIC_REPLY)
"""The events that count as the team's first answer to a customer: a claim, or a brand reply in
public (seen on the network or sent from the card)."""
CLOSING_KINDS: tuple[str, ...] = (KEPT, BROKEN, CANCELLED)


class Outcome(StrEnum):
    KEPT_ON_TIME = "kept_on_time"
    KEPT_LATE = "kept_late"
    BROKEN = "broken"


def outcome_of(kind: str, on_time: bool | None) -> str | None:
    if kind == BROKEN:
        return Outcome.BROKEN.value
    if kind == KEPT:
        return (Outcome.KEPT_ON_TIME if on_time else Outcome.KEPT_LATE).value
    return None  # cancelled: settled without an outcome


FIRSTS = ("first_response", "first_claim", "first_resolve")
"""Each first is three columns: ``<name>_at``, ``<name>_by`` and ``<name>_s`` (seconds waited)."""


def _firsts(kind: str, actor: str) -> list[str]:
    """Which firsts an event of ``kind`` by ``actor`` can be."""
    names = []
    if kind in FIRST_RESPONSE_KINDS:
        names.append("first_response")
    if kind == CLAIM:
        names.append("first_claim")
    if kind == RESOLVE and actor != SYSTEM:
        names.append("first_resolve")
    return names


def _insert_ignoring_duplicates(session: Session, table: Any, source: Select[Any]) -> None:
    columns = [c.name for c in table.__table__.columns if c.name in source.selected_columns]
    session.execute(dialect.insert(session, table.__table__).from_select(columns, source).on_conflict_do_nothing())


WAITING_SINCE = case((Complaint.posted_at < Complaint.created_at, Complaint.posted_at), else_=Complaint.created_at)
"""When the customer started waiting (as the daily reminder counts it)."""


def apply(
    session: Session,
    kind: str,
    *,
    actor: str,
    at: datetime,
    complaint_id: int | None,
    promise_id: int | None,
    on_time: bool | None = None,
) -> None:
    """Fold one event just recorded into the facts, in the caller's transaction.

    A first is replaced only by an earlier time (a tie keeps the one recorded first); an outcome by
    a time as late or later (a tie takes the one recorded last) — the events' own order."""
    firsts = _firsts(kind, actor) if complaint_id is not None else []
    if firsts:
        _insert_ignoring_duplicates(
            session,
            ComplaintFacts,
            select(
                Complaint.id.label("complaint_id"),
                Complaint.source.label("source"),
                WAITING_SINCE.label("waiting_since"),
            ).where(Complaint.id == complaint_id),
        )
        table = ComplaintFacts.__table__
        for name in firsts:
            column = table.c[f"{name}_at"]
            seconds = dialect.seconds_between(session, literal(at, column.type), table.c.waiting_since)
            session.execute(
                update(table)
                .where(table.c.complaint_id == complaint_id, or_(column.is_(None), column > at))
                .values(
                    {
                        column: at,
                        table.c[f"{name}_by"]: actor[:64],
                        table.c[f"{name}_s"]: seconds,
                    }
                )
            )
    if promise_id is None:
        return
    if kind == PROMISE_MADE:
        _insert_ignoring_duplicates(
            session,
            PromiseFacts,
            select(
                Promise.id.label("promise_id"),
                Promise.complaint_id.label("complaint_id"),
                Promise.owner_id.label("owner_id"),
                Complaint.source.label("source"),
                literal(at, PromiseFacts.made_at.type).label("made_at"),
            )
            .join(Complaint, Complaint.id == Promise.complaint_id)
            .where(Promise.id == promise_id),
        )
    elif kind in CLOSING_KINDS:
        table = PromiseFacts.__table__
        session.execute(
            update(table)
            .where(table.c.promise_id == promise_id, or_(table.c.outcome_at.is_(None), table.c.outcome_at <= at))
            .values(outcome=outcome_of(kind, on_time), outcome_at=at)
        )


def rebuild(conn: Connection) -> None:
    """Derive every fact again from the events (the migration that introduced them, and a check).

    One indexed probe per complaint and kind (``ix_audit_events_complaint_action``) and per promise
    (``ix_audit_events_promise``): minutes at millions of rows, run once."""
    conn.execute(delete(ComplaintFacts))
    conn.execute(delete(PromiseFacts))
    _rebuild_complaint_facts(conn)
    _rebuild_promise_facts(conn)


def _first(kinds: tuple[str, ...], column: str, *, people_only: bool = False) -> Any:
    """A complaint's first event of ``kinds`` (its ``column``), as a correlated subquery."""
    e = aliased(AuditEvent)
    query = select(getattr(e, column)).where(e.complaint_id == Complaint.id, e.action.in_(kinds))
    if people_only:
        query = query.where(e.actor != SYSTEM)
    return query.order_by(e.at, e.id).limit(1).correlate(Complaint).scalar_subquery()


def _rebuild_complaint_facts(conn: Connection) -> None:
    any_first = aliased(AuditEvent)
    conn.execute(
        insert(ComplaintFacts).from_select(
            [
                "complaint_id",
                "source",
                "waiting_since",
                "first_response_at",
                "first_response_by",
                "first_claim_at",
                "first_claim_by",
                "first_resolve_at",
                "first_resolve_by",
            ],
            select(
                Complaint.id,
                Complaint.source,
                WAITING_SINCE,
                _first(FIRST_RESPONSE_KINDS, "at"),
                _first(FIRST_RESPONSE_KINDS, "actor"),
                _first((CLAIM,), "at"),
                _first((CLAIM,), "actor"),
                _first((RESOLVE,), "at", people_only=True),
                _first((RESOLVE,), "actor", people_only=True),
            ).where(
                exists(
                    select(any_first.id).where(
                        any_first.complaint_id == Complaint.id,
                        any_first.action.in_((*FIRST_RESPONSE_KINDS, RESOLVE)),
                    )
                )
            ),
        )
    )
    table = ComplaintFacts.__table__
    conn.execute(
        update(table).values(
            {
                table.c[f"{name}_s"]: dialect.seconds_between(conn, table.c[f"{name}_at"], table.c.waiting_since)
                for name in FIRSTS
            }
        )
    )
    # A complaint whose only resolves were the bot's has a row with nothing in it: drop it.
    conn.execute(
        delete(ComplaintFacts).where(
            and_(
                ComplaintFacts.first_response_at.is_(None),
                ComplaintFacts.first_claim_at.is_(None),
                ComplaintFacts.first_resolve_at.is_(None),
            )
        )
    )


def _last_closing(column: Callable[[Any], Any]) -> Any:
    """What ``column`` says of a promise's latest closing event, as a correlated subquery."""
    e = aliased(AuditEvent)
    return (
        select(column(e))
        .where(e.promise_id == Promise.id, e.action.in_(CLOSING_KINDS))
        .order_by(e.at.desc(), e.id.desc())
        .limit(1)
        .correlate(Promise)
        .scalar_subquery()
    )


def _outcome(e: Any) -> Any:
    return case(
        (e.action == BROKEN, Outcome.BROKEN.value),
        (
            e.action == KEPT,
            case(
                (e.details["on_time"].as_boolean(), Outcome.KEPT_ON_TIME.value),
                else_=Outcome.KEPT_LATE.value,
            ),
        ),
        else_=None,
    )


def _rebuild_promise_facts(conn: Connection) -> None:
    conn.execute(
        insert(PromiseFacts).from_select(
            ["promise_id", "complaint_id", "owner_id", "source", "made_at", "outcome", "outcome_at"],
            select(
                Promise.id,
                Promise.complaint_id,
                Promise.owner_id,
                Complaint.source,
                Promise.created_at,
                _last_closing(_outcome),
                _last_closing(lambda e: e.at),
            ).join(Complaint, Complaint.id == Promise.complaint_id),
        )
    )
