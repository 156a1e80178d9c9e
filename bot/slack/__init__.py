"""Everything that speaks Slack: handlers (thin), block builders (pure), the outbox poster."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.app import Followthrough


def register(bolt: App, app: Followthrough) -> None:
    """Attach every Slack surface to ``bolt``. One call per surface, registered once at start-up."""
    from bot.slack import actions

    actions.register(bolt, app)
