"""The Mastodon stand-in lives in ``bot.networks.mastodon.standin`` (the demo uses it too, as it does the Slack one)."""

from bot.networks.mastodon.standin import *  # noqa: F403
