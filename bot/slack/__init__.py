"""Everything that speaks Slack to people: ``listeners/`` (thin: parse, one domain command, render),
``views/`` (pure Block Kit builders), middleware.

Sending to Slack is ``bot.delivery``'s job; this package only answers requests.
"""

from __future__ import annotations

from slack_bolt import App

from bot.slack.deps import Surfaces
from bot.slack.listeners import app_home, cards, complaints_command, incidents, promising, replying, skipped_posts
from bot.slack.middleware import error_policy, record_requests


def register(bolt: App, surfaces: Surfaces) -> None:
    """Attach every Slack surface to ``bolt``, once, at start-up: the request log and the error
    policy first, then one ``register`` per surface."""
    bolt.use(record_requests(surfaces.requests))
    bolt.error(error_policy(surfaces.requests))
    desk = cards.register(bolt, surfaces.cards, surfaces.requests)
    promising.register(bolt, surfaces.promises, surfaces.requests, desk)
    complaints_command.register(bolt, surfaces.commands, surfaces.requests)
    skipped_posts.register(bolt, surfaces.commands, surfaces.requests)
    app_home.register(bolt, surfaces.home)
    if surfaces.replies is not None:
        replying.register(bolt, surfaces.replies, surfaces.requests)
        incidents.register(bolt, surfaces.replies, surfaces.requests)
