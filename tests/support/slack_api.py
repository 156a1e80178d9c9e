"""The Slack stand-in as the tests need it: the demo's stand-in plus faults and rate limits.

``inject(Fault(...))`` plays a 429, a 500, a slow, dropped or lost answer on the next calls;
``fault_rates`` plays them at random (seeded); ``rate_limit_per_channel`` and ``history_tier1`` are
Slack's own limits (about one post a second per channel; 1 history request a minute for apps outside
the Marketplace). The demo never needs them, so they are not shipped in ``bot/devtools``.
"""

from __future__ import annotations

import random

from bot.devtools.slack_api import Fault, Json
from bot.devtools.slack_api import SlackStandIn as DemoSlackStandIn

__all__ = ["Fault", "SlackStandIn"]


class SlackStandIn(DemoSlackStandIn):
    def __init__(self, *, rate_limit_per_channel: float | None = None, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.faults: list[Fault] = []
        self.fault_rates: dict[str, float] = {}
        """Random faults at these rates per call of ``fault_methods`` (seeded: ``seed_faults``)."""
        self.fault_methods: set[str] = {"chat.postMessage", "chat.update"}
        self.slow_seconds = 0.5
        self._rng = random.Random(0)
        self.rate_limit_per_channel = rate_limit_per_channel
        self._last_post: dict[str, float] = {}
        self._last_history: dict[str, float] = {}

    def seed_faults(self, seed: int) -> None:
        self._rng = random.Random(seed)

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self.faults.append(fault)

    def _take_fault(self, method: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.count > 0 and (fault.method is None or fault.method == method):
                    fault.count -= 1
                    if fault.count == 0:
                        self.faults.remove(fault)
                    return fault
            if method in self.fault_methods and self.fault_rates:
                roll = self._rng.random()
                for kind, rate in self.fault_rates.items():
                    if roll < rate:
                        return Fault(kind, retry_after=self._rng.choice((1, 2, 5)), delay=self.slow_seconds)
                    roll -= rate
        return None

    def _rate_limited(self, method: str, args: Json) -> int | None:
        if self.history_tier1 and method in ("conversations.history", "conversations.replies"):
            now, last = self.clock(), self._last_history.get(method)
            if last is not None and now - last < 60:
                return max(1, int(60 - (now - last) + 0.999))
            self._last_history[method] = now
            return None
        if self.rate_limit_per_channel is None or method != "chat.postMessage":
            return None
        channel = str(args.get("channel"))
        now = self.clock()
        last = self._last_post.get(channel)
        interval = 1.0 / self.rate_limit_per_channel
        if last is not None and now - last < interval:
            return max(1, int(interval - (now - last) + 0.999))
        self._last_post[channel] = now
        return None
