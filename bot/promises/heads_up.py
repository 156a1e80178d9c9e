"""Telling someone privately that a teammate acted on what was theirs.

The team may take over or unclaim a complaint someone else claimed, and keep, cancel or move
someone else's promise — holidays and sick days happen — but the person whose work it was must not
find out from the board. They get a DM saying who did what (the card's thread says it too, for
everyone). Stored as a delivery in the same transaction as the change, so it is sent exactly once.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from bot import outbox
from bot.outbox.kinds import DeliveryKind


def tell_previous_owner(
    session: Session,
    *,
    owner: str | None,
    actor: str,
    action: str,
    event_id: int,
    complaint_id: int,
    at: datetime,
    priority: int = 0,
    promise_id: int | None = None,
    detail: dict[str, Any] | None = None,
) -> bool:
    """Queue the DM to ``owner`` when ``actor`` is someone else; True if one was queued."""
    if not owner or owner == actor:
        return False
    return outbox.enqueue(
        session,
        DeliveryKind.HEADS_UP,
        key=f"heads_up:{event_id}",
        channel=owner,
        at=at,
        complaint_id=complaint_id,
        promise_id=promise_id,
        payload={"action": action, "actor": actor, "owner": owner, **(detail or {})},
        priority=priority + 1,
    )
