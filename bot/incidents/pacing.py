"""When each of many replies may go, within what a network lets one account post.

Every network caps how much one account writes: past the cap its API answers 429 (or suspends a
bot that keeps trying), and the replies still queued wait behind the refusals. Answering three
hundred customers after an outage is exactly such a burst. So each reply of an incident's update
gets its time when the update is sent, planned here against the network's documented windows —
counting the replies the brand already sent or planned in them — and the delivery worker sends it
then. The plan also says when the last one goes ("the rest by 17:40").

The limits, from each network's documentation:
- X: 200 posts per 15 minutes and 300 per 3 hours for one account (the brand's, through the API);
- Bluesky: 5,000 write points an hour and 35,000 a day per account, a post costing 3
  (docs.bsky.app, "Rate Limits"): 1,666 posts an hour, 11,666 a day;
- Mastodon: 300 statuses per 3 hours per account (mastodon/mastodon ``app/lib/rate_limiter.rb``).
Replies the bot sent from cards count in the windows. Posts made as the brand elsewhere (a person on
the network's own app) do not — the bot cannot see them coming — and if they tip a window over,
the network's 429 pauses the reply lane until its reset and the reply goes then (nothing is lost).
``MARGIN`` < 1 would leave room for them at the cost of answering later; the caps as documented are
planned by default, so 300 customers on X are answered in 22 minutes rather than three hours.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

MARGIN = 1.0


@dataclass(frozen=True)
class Window:
    posts: int
    period: timedelta


LIMITS: dict[str, tuple[Window, ...]] = {
    "x": (Window(200, timedelta(minutes=15)), Window(300, timedelta(hours=3))),
    "bluesky": (Window(1666, timedelta(hours=1)), Window(11666, timedelta(days=1))),
    "mastodon": (Window(300, timedelta(hours=3)),),
}
DEFAULT = (Window(60, timedelta(minutes=15)),)
"""A network without documented limits (the webhook's sources are answered elsewhere)."""


def limits_of(network: str) -> tuple[Window, ...]:
    return tuple(Window(max(1, int(w.posts * MARGIN)), w.period) for w in LIMITS.get(network, DEFAULT))


def spacing(network: str) -> timedelta:
    """The even gap that keeps a long run of replies within the shortest window."""
    shortest = min(limits_of(network), key=lambda w: w.period)
    return shortest.period / shortest.posts


def plan(network: str, count: int, *, now: datetime, earlier: Iterable[datetime] = ()) -> list[datetime]:
    """Times for ``count`` replies on ``network`` from ``now``: evenly spaced, and never more in
    any window than its limit allows — counting ``earlier`` (replies sent or planned already)."""
    windows = limits_of(network)
    longest = max(w.period for w in windows)
    taken: list[datetime] = sorted(t for t in earlier if t > now - longest)
    gap = spacing(network)
    out: list[datetime] = []
    # Replies already planned for later (another update still going out) go first: this plan
    # starts after them, so no window is judged on a past that later changes.
    at = max(now, taken[-1] + gap) if taken and taken[-1] > now else now
    for _ in range(count):
        at = _first_free(at, taken, windows)
        out.append(at)
        bisect.insort(taken, at)
        at = at + gap
    return out


def _first_free(at: datetime, taken: Sequence[datetime], windows: Sequence[Window]) -> datetime:
    """The first time from ``at`` at which one more post breaks no window's limit."""
    while True:
        moved = False
        for window in windows:
            # posts in (at - period, at]: if the limit is reached, wait until the oldest of them leaves.
            start = bisect.bisect_right(taken, at - window.period)
            end = bisect.bisect_right(taken, at)
            inside = end - start
            if inside >= window.posts:
                at = taken[end - window.posts] + window.period
                moved = True
        if not moved:
            return at
