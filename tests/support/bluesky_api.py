"""The Bluesky stand-in lives in ``bot.networks.bluesky.standin`` (the demo uses it too, as it does the Slack one)."""

from bot.networks.bluesky.standin import *  # noqa: F403
