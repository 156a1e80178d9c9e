"""How long each thing a person types into a form may be — enforced here, on the server.

The forms carry the same numbers as ``max_length``, but Slack's client is not the only thing that
can submit a form: a crafted request (or a Socket Mode envelope, which has no body cap) can carry a
megabyte in a field, and it must be refused with the limit named rather than stored and shown.
"""

from __future__ import annotations

from bot.common.errors import DomainError

RESOLUTION_NOTE = 2000
ESCALATION_REASON = 1000
PROMISE_TEXT = 500
RESCHEDULE_REASON = 500
DUE_TEXT = 80
INCIDENT_UPDATE = 1000
"""An incident update's template: each network's own length rule is checked on every rendered text."""


def within(value: str, limit: int, what: str, *, field: str | None = None) -> str:
    """``value`` unchanged if it fits, else a refusal naming the limit (about the input ``field``)."""
    if len(value) > limit:
        raise DomainError(f"{what} can be at most {limit:,} characters (this one is {len(value):,}).", field=field)
    return value
