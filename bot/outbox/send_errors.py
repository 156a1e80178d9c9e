"""How a transport says a send failed: worth retrying, or never deliverable.

Anything else a transport raises is a fault in our own code; the worker sets the row aside at once
(retrying a bug twelve times only delays the traceback a person needs to see).
"""

from __future__ import annotations


class RetryLater(Exception):
    """A transient failure (timeout, dropped connection, 5xx, 429): try again after ``seconds``."""

    def __init__(self, seconds: float, reason: str, *, pause_lane: bool = False) -> None:
        super().__init__(reason)
        self.seconds = seconds
        self.pause_lane = pause_lane
        """The service asked us to slow down: nobody uses this lane until then."""


class Undeliverable(Exception):
    """The service refused for good (channel gone, token revoked, message too long)."""
