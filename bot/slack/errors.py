"""One error policy for every Slack handler.

Expected refusals (DomainError) become a friendly message for the person who clicked; anything else
is logged with its traceback and a short correlation id that the user also sees, so a support lead
can quote it and we can find the log line.
"""

from __future__ import annotations

import logging
import uuid
from typing import TYPE_CHECKING, Any

from bot.domain.errors import DomainError

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.app import Followthrough

log = logging.getLogger(__name__)


def correlation_id() -> str:
    return uuid.uuid4().hex[:8]


def user_message(error: Exception) -> tuple[str, str | None]:
    """The text to show for ``error`` and, for unexpected errors, the correlation id logged with it."""
    if isinstance(error, DomainError):
        return str(error), None
    cid = correlation_id()
    log.error("unexpected error in Slack handler [%s]", cid, exc_info=error)
    return f"Something went wrong on our side (reference `{cid}`). Nothing you did was lost.", cid


def register(bolt: App, app: Followthrough) -> None:
    @bolt.error
    def _on_error(error: Exception, body: dict[str, Any], respond: Any, logger: logging.Logger) -> None:
        text, _cid = user_message(error)
        if body.get("response_url"):
            try:
                respond(text=text, response_type="ephemeral", replace_original=False)
            except Exception:  # the reply is best effort; the failure itself is already logged
                log.exception("could not tell the user about an error")
