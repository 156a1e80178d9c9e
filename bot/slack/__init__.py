"""Everything that speaks Slack to people: listeners (thin), middleware, block builders (pure).

Sending to Slack is ``bot.delivery``'s job; this package only answers requests.
"""

from __future__ import annotations

from slack_bolt import App

from bot.slack import cards, commands, home, promises, reply_cards, triage
from bot.slack.deps import Surfaces
from bot.slack.middleware import error_policy, record_requests


def register(bolt: App, surfaces: Surfaces) -> None:
    """Attach every Slack surface to ``bolt``, once, at start-up: the request log and the error
    policy first, then one ``register`` per surface."""
    bolt.use(record_requests(surfaces.requests))
    bolt.error(error_policy(surfaces.requests))
    desk = cards.register(bolt, surfaces.cards, surfaces.requests)
    promises.register(bolt, surfaces.promises, surfaces.requests, desk)
    commands.register(bolt, surfaces.commands, surfaces.requests)
    triage.register(bolt, surfaces.commands, surfaces.requests)
    home.register(bolt, surfaces.home)
    if surfaces.replies is not None:
        reply_cards.register(bolt, surfaces.replies, surfaces.requests)
