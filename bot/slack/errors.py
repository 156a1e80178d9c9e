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


class TrackedAck:
    """Wraps Bolt's ``ack`` to know whether it was called (an error after it must not ack twice)."""

    def __init__(self, ack: Callable[..., Any]) -> None:
        self._ack = ack
        self.done = False

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.done = True
        return self._ack(*args, **kwargs)


Recorder = Callable[[dict[str, Any], str], None]


def user_message_and_ref(error: Exception) -> tuple[str, str | None]:
    if isinstance(error, DomainError):
        return str(error), None
    cid = correlation_id()
    log.error("unexpected error in a Slack handler [ref %s]", cid, exc_info=error)
    return (
        f":warning: Something went wrong on our side (ref `{cid}`). What you did was recorded; please try again."
    ), cid


def guarded(handler: Callable[..., None], *, recorder: Recorder | None = None) -> Callable[..., None]:
    """Apply the error policy to a listener taking ``ack``, ``body`` and ``respond`` (and others).

    ``recorder`` stores the click or command when the handler failed before storing it itself, so an
    acknowledged request always leaves a trace (who, when, what, and the reference the user saw).
    """

    @functools.wraps(handler)
    def wrapper(ack: Callable[..., Any], body: dict[str, Any], respond: Callable[..., Any], **kwargs: Any) -> None:
        tracked = TrackedAck(ack)
        try:
            handler(ack=tracked, body=body, respond=respond, **kwargs)
        except Exception as exc:
            text, ref = user_message_and_ref(exc)
            if recorder is not None and not tracked.done:
                try:
                    recorder(body, ref or f"refused: {exc}")
                except Exception:
                    log.exception("could not record a failed request")
            if not tracked.done:
                if body.get("command"):
                    tracked(response_type="ephemeral", text=text)
                    return
                tracked()
            if body.get("response_url"):
                try:
                    respond(text=text, response_type="ephemeral", replace_original=False)
                except Exception:
                    log.exception("could not tell the user about an error")

    return wrapper
