"""Click ack time while Slack's membership API stalls (target: ack < 500 ms).

    python bench/membership_stall.py [STALL_SECONDS] [CLICKS]     (default 12 s, 20 clicks)

The team list's refresher calls ``conversations.members``; the Slack stand-in holds that call for
STALL_SECONDS. Meanwhile people click Claim on their own cards, one after another; each click's ack
is timed on Slack's side (send to 200). Clicks are answered from the list already held, so the stall
should not show in them at all.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import _repo  # noqa: F401  (puts the checkout on sys.path for tests.support)

from bot.slack.ids import Action
from tests.support.harness import TEAM, Desk
from tests.support.slack_api import Fault


def main() -> None:
    stall = float(sys.argv[1]) if len(sys.argv) > 1 else 12.0
    clicks = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    with tempfile.TemporaryDirectory() as tmp:
        desk = Desk(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            cards = [desk.complaint() for _ in range(clicks)]
            asked = threading.Event()
            desk.slack.on_call = lambda method, _body: method == "conversations.members" and asked.set()
            desk.slack.inject(Fault("slow", count=1, method="conversations.members", delay=stall))
            started = time.monotonic()
            refresher = threading.Thread(target=desk.app.access.refresh, daemon=True)
            refresher.start()
            asked.wait(10)
            acks = []
            for i, cid in enumerate(cards):
                status, _, elapsed = desk.click(TEAM[i % len(TEAM)], Action.CLAIM, str(cid))
                assert status == 200
                acks.append(elapsed * 1000)
            during = refresher.is_alive()
            refresher.join(stall + 10)
            took = time.monotonic() - started
            claimed = sum(1 for cid in cards if desk.get(cid).status == "claimed")
        finally:
            desk.close()
    acks.sort()
    p99 = acks[min(len(acks) - 1, int(len(acks) * 0.99))]
    print(f"membership API stalled {stall:.0f} s (refresh took {took:.1f} s; all clicks inside it: {during})")
    print(
        f"{clicks} clicks: ack p50 {statistics.median(acks):.0f} ms, p99 {p99:.0f} ms, max {acks[-1]:.0f} ms; "
        f"{claimed}/{clicks} claimed"
    )


if __name__ == "__main__":
    main()
