"""One error policy for every Slack handler.

Expected refusals (DomainError) become a friendly ephemeral message for the person who clicked;
anything else is logged with its traceback and a short correlation id that the user also sees, so
a support lead can quote it and we can find the log line. The request is always acknowledged, so
Slack never shows its own generic error.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable
from typing import Any

from bot.domain.errors import DomainError

log = logging.getLogger(__name__)


def correlation_id() -> str:
    return uuid.uuid4().hex[:8]


def user_message(error: Exception) -> str:
    """The text to show for ``error``; unexpected errors are logged here with their correlation id."""
    if isinstance(error, DomainError):
        return str(error)
    cid = correlation_id()
    log.error("unexpected error in a Slack handler [ref %s]", cid, exc_info=error)
    return f":warning: Something went wrong on our side (ref `{cid}`). Nothing you did was lost; please try again."


class TrackedAck:
    """Wraps Bolt's ``ack`` to know whether it was called (an error after it must not ack twice)."""

    def __init__(self, ack: Callable[..., Any]) -> None:
        self._ack = ack
        self.done = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.done = True
        return self._ack(*args, **kwargs)


def guarded(handler: Callable[..., None]) -> Callable[..., None]:
    """Apply the error policy to a listener taking ``ack``, ``body`` and ``respond`` (and others)."""

    @functools.wraps(handler)
    def wrapper(ack: Callable[..., Any], body: dict[str, Any], respond: Callable[..., Any], **kwargs: Any) -> None:
        tracked = TrackedAck(ack)
        try:
            handler(ack=tracked, body=body, respond=respond, **kwargs)
        except Exception as exc:
            text = user_message(exc)
            if not tracked.done:
                tracked()
            if body.get("response_url"):
                try:
                    respond(text=text, response_type="ephemeral", replace_original=False)
                except Exception:
                    log.exception("could not tell the user about an error")

    return wrapper
