"""The Mastodon stand-in as the tests need it: the demo's (``bot.networks.mastodon.standin``) plus
queued faults — 429 with ``X-RateLimit-*`` headers, 5xx, a dropped connection, a lost response."""

from __future__ import annotations

from typing import Any

from bot.networks.mastodon.standin import MastodonStandIn as DemoMastodonStandIn
from bot.networks.mastodon.standin import MastoFault

__all__ = ["MastoFault", "MastodonStandIn"]


class MastodonStandIn(DemoMastodonStandIn):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.faults: list[MastoFault] = []
        self.canned: dict[str, Any] = {}
        """path → the next GET answer to it, as it is (a payload shaped as Mastodon's docs show it)."""

    def _route(self, request: Any, method: str, path: str, query: Any, body: Any) -> Any:
        with self._lock:
            canned = self.canned.pop(path, None) if method == "GET" else None
        if canned is not None:
            return 200, canned, {}
        return super()._route(request, method, path, query, body)

    def inject(self, fault: MastoFault) -> None:
        with self._lock:
            self.faults.append(fault)

    def _take_fault(self, path: str, method: str) -> MastoFault | None:
        fault = next((f for f in self.faults if f.path in path and f.method in ("", method) and f.count > 0), None)
        if fault:
            fault.count -= 1
            if fault.count == 0:
                self.faults.remove(fault)
        return fault
