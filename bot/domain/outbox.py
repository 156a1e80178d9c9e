"""Enqueueing Slack deliveries in the same transaction as the change that calls for them.

The outbox is what makes "store first, then act" hold: if the process dies after the commit, the
poster finds the row and delivers it; if it dies before, neither the change nor the delivery exists.
``dedupe_key`` makes each delivery happen once however often it is requested.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.domain.types import OutboxStatus
from bot.store.models import Outbox

POST_CARD = "post_card"
UPDATE_CARD = "update_card"
THREAD_REPLY = "thread_reply"
KUDOS = "kudos"
ALERT = "alert"
NOTE = "note"
DIGEST = "digest"
ESCALATION = "escalation"


def enqueue(
    session: Session,
    *,
    kind: str,
    at: datetime,
    dedupe_key: str | None,
    channel: str | None = None,
    complaint_id: int | None = None,
    promise_id: int | None = None,
    payload: dict[str, Any] | None = None,
    priority: int = 0,
    check_existing: bool = True,
) -> bool:
    """Add a delivery unless one with ``dedupe_key`` exists. Returns whether a row was added."""
    if check_existing and dedupe_key is not None:
        exists = session.execute(select(Outbox.id).where(Outbox.dedupe_key == dedupe_key)).first()
        if exists:
            return False
    session.add(
        Outbox(
            kind=kind,
            dedupe_key=dedupe_key,
            channel=channel,
            complaint_id=complaint_id,
            promise_id=promise_id,
            payload=payload or {},
            priority=priority,
            status=OutboxStatus.PENDING.value,
            attempts=0,
            available_at=at,
            created_at=at,
        )
    )
    return True


_T = Outbox.__table__.c


def request_card_refresh(session: Session, complaint_id: int, *, at: datetime, priority: int = 0) -> None:
    """Ask for the card to be re-rendered from stored state (see ``request_card_refreshes``)."""
    request_card_refreshes(session, {complaint_id: priority}, at=at)


def request_card_refreshes(session: Session, priorities: dict[int, int], *, at: datetime) -> None:
    """Re-render these cards from stored state, at most one pending request per card.

    A card not posted yet needs nothing: it will be rendered from the current state when it is.
    Otherwise each card's one ``update:{id}`` row is added, or re-armed if it was already sent.
    """
    pending_cards = {
        int(key.split(":", 1)[1])
        for key in session.scalars(
            select(_T.dedupe_key).where(
                _T.dedupe_key.in_([f"card:{cid}" for cid in priorities]), _T.status == OutboxStatus.PENDING.value
            )
        )
    }
    wanted = {f"update:{cid}": cid for cid in priorities if cid not in pending_cards}
    if not wanted:
        return
    # One atomic upsert: two transactions refreshing the same card at once (a click and a /promise)
    # must both succeed; a select-then-insert lets the second fail on the unique key under PostgreSQL.
    insert = (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(Outbox.__table__)
    statement = insert.on_conflict_do_update(
        index_elements=[_T.dedupe_key],
        set_={
            "status": OutboxStatus.PENDING.value,
            "available_at": insert.excluded.available_at,
            "attempts": 0,
            "last_error": None,
        },
        where=_T.status != OutboxStatus.PENDING.value,
    )
    session.execute(
        statement,
        [
            {
                "kind": UPDATE_CARD,
                "dedupe_key": key,
                "complaint_id": cid,
                "promise_id": None,
                "channel": None,
                "payload": {},
                "priority": priorities[cid],
                "status": OutboxStatus.PENDING.value,
                "attempts": 0,
                "available_at": at,
                "slack_ts": None,
                "last_error": None,
                "created_at": at,
                "sent_at": None,
            }
            for key, cid in sorted(wanted.items())
        ],
    )


def note_and_refresh(
    session: Session,
    *,
    complaint_id: int,
    priority: int,
    action: str,
    actor: str,
    at: datetime,
    note: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """What the team sees after any change: one line in the card's thread, and the card re-rendered."""
    enqueue(
        session,
        kind=NOTE,
        at=at,
        dedupe_key=f"note:{uuid.uuid4().hex}",
        complaint_id=complaint_id,
        payload={"action": action, "actor": actor, "at": at.isoformat(), "note": note, "detail": detail or {}},
        priority=priority,
        check_existing=False,
    )
    request_card_refresh(session, complaint_id, at=at, priority=priority + 1)
