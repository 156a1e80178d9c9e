"""Replay files: JSON-lines posts read from disk (``run --replay FILE``, the demo), through the same
inbox and ingest as every network — for trying the bot, and for replaying a day after an outage."""

from __future__ import annotations

from bot.networks.network import Network

NETWORK = Network(name="replay", label="Replay", emoji=":page_facing_up:", selectable=False)
