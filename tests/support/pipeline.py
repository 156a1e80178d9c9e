"""A source and the inbox drain behind it, stepped together as a worker would run them."""

from __future__ import annotations

from typing import Any

from bot.intake.inbox import InboxDrain


class Drained:
    """``step()`` runs the source once, then ingests what it wrote to the inbox."""

    def __init__(self, source: Any, drain: InboxDrain) -> None:
        self.source = source
        self.drain = drain

    def step(self) -> float:
        wait = self.source.step()
        self.drain.drain()
        return wait

    def __getattr__(self, name: str) -> Any:
        return getattr(self.source, name)
