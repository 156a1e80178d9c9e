"""Everything that speaks Slack: handlers (thin), block builders (pure), the outbox poster."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from slack_bolt import App

    from bot.app import Followthrough


def register(bolt: App, app: Followthrough) -> None:
    """Attach every Slack surface to ``bolt``. One call per surface, registered once at start-up."""
    from bot.slack import actions, commands, home, promise_actions
    from bot.slack.people import People

    people = People(app.sessions, app.slack, app.clock, app.settings.team_timezone)
    app.extras["people"] = people
    desk = actions.register(bolt, app)
    promise_actions.register(bolt, app, desk, people)
    commands.register(bolt, app, desk)
    home.register(bolt, app, desk)
