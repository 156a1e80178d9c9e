"""The Mastodon stand-in lives in ``bot.devtools.mastodon_api`` (the demo uses it too, as it does the Slack one)."""

from bot.devtools.mastodon_api import *  # noqa: F403
