"""Ack latency of card clicks: 200 signed Claim clicks, 20 at a time, HTTP mode on SQLite.

    python bench/desk_ack.py [ROUNDS]      (default 10 rounds of 20 = 200 clicks)

Half the rounds are contended (20 people click Claim on the same card: one wins, 19 are refused
with a stored click and an ephemeral), half uncontended (20 people each claim their own card).
Latency is measured at the client, from sending the request to receiving Slack's 200.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
from pathlib import Path

import _repo  # noqa: F401  (puts the checkout on sys.path for tests.support)

from bot.slack.ids import Action
from tests.support.harness import COMPLAINTS, Desk


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    people = [f"U0BENCH{i:03d}" for i in range(20)]
    with tempfile.TemporaryDirectory() as tmp:
        desk = Desk(f"sqlite:///{Path(tmp) / 'bench.db'}", threads=24)
        try:
            for person in people:
                desk.slack.add_user(person, person.lower(), channels=(COMPLAINTS,))
            latencies: list[float] = []
            statuses: list[int] = []
            lock = threading.Lock()
            for r in range(rounds):
                contended = r % 2 == 0
                if contended:
                    cid = desk.complaint(f"@AcmeHelp still waiting for refund {r}", post_card=False)
                    targets = [cid] * 20
                else:
                    targets = [
                        desk.complaint(f"@AcmeHelp order {r}-{i} never arrived", post_card=False) for i in range(20)
                    ]
                barrier = threading.Barrier(20)

                def click(person: str, cid: int, barrier: threading.Barrier = barrier) -> None:
                    barrier.wait()
                    status, _, seconds = desk.click(person, Action.CLAIM, str(cid), key=person)
                    with lock:
                        latencies.append(seconds)
                        statuses.append(status)

                threads = [threading.Thread(target=click, args=(p, t)) for p, t in zip(people, targets, strict=True)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
        finally:
            desk.close()
    ms = sorted(x * 1000 for x in latencies)
    p99 = ms[max(0, round(0.99 * len(ms)) - 1)]
    print(f"clicks={len(ms)} concurrency=20 errors={sum(s != 200 for s in statuses)}")
    print(
        f"ack latency ms: p50={statistics.median(ms):.1f} p90={ms[int(0.9 * len(ms)) - 1]:.1f} "
        f"p99={p99:.1f} max={ms[-1]:.1f}"
    )
    print(f"p99_ms={p99:.1f}")


if __name__ == "__main__":
    main()
