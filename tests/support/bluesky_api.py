"""The Bluesky stand-in lives in ``bot.devtools.bluesky_api`` (the demo uses it too, as it does the Slack one)."""

from bot.devtools.bluesky_api import *  # noqa: F403
