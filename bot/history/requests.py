"""The request log: every click, form and command, with who and when, stored before it is acted on.

Slack re-sends an event it thinks was lost, and a person clicks twice; the log's key (the trigger or
event id) makes the second arrival recognisable, and a request that failed on our side is taken out
again, so its redelivery is handled instead of ignored.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.store import dialect
from bot.store.models import Interaction


def record(
    session: Session, *, key: str | None, user: str, surface: str, name: str, ref: str | None, at: datetime
) -> bool:
    """Log one request; False when its key was logged already (a redelivery: do not act again)."""
    values = {"key": key, "user_id": user[:32], "surface": surface, "name": name, "ref": ref, "at": at}
    return dialect.insert_new(session, Interaction.__table__, values, key=["key"])


def forget(session: Session, key: str) -> None:
    """A request we failed on was not acted on: unlog it, so its redelivery is handled."""
    session.execute(delete(Interaction).where(Interaction.key == key))
