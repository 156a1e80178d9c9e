"""The Bluesky stand-in as the tests need it: the demo's (``bot.networks.bluesky.standin``) plus queued
faults — 429 with ``ratelimit-*`` headers, 5xx, a dropped connection, a lost response."""

from __future__ import annotations

from typing import Any

from bot.networks.bluesky.standin import BlueskyStandIn as DemoBlueskyStandIn
from bot.networks.bluesky.standin import BskyFault

__all__ = ["BlueskyStandIn", "BskyFault"]


class BlueskyStandIn(DemoBlueskyStandIn):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.faults: list[BskyFault] = []
        self.canned: dict[str, Any] = {}
        """nsid → the next answer to it, as it is (a payload shaped as the lexicon's docs show it)."""

    def _route(self, request: Any, method: str, nsid: str, query: Any, body: Any) -> Any:
        status, answer = super()._route(request, method, nsid, query, body)  # authenticates first
        with self._lock:
            canned = self.canned.pop(nsid, None)
        return (200, canned) if canned is not None and status == 200 else (status, answer)

    def inject(self, fault: BskyFault) -> None:
        with self._lock:
            self.faults.append(fault)

    def _take_fault(self, nsid: str) -> BskyFault | None:
        fault = next((f for f in self.faults if f.nsid in ("", nsid) and f.count > 0), None)
        if fault:
            fault.count -= 1
            if fault.count == 0:
                self.faults.remove(fault)
        return fault
