"""Ack latency of card clicks: 200 Claim clicks, 20 at a time, on SQLite — in HTTP mode (signed
requests) and in Socket Mode (envelopes over the websocket, against the Socket Mode stand-in).

    python bench/desk_ack.py [ROUNDS]      (default 10 rounds of 20 = 200 clicks)

Half the rounds are contended (20 people click Claim on the same card: one wins, 19 are refused
with a stored click and an ephemeral), half uncontended (20 people each claim their own card).
Latency is measured on Slack's side: from sending the request (or envelope) to its 200 (or ack).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
from pathlib import Path

import _repo  # noqa: F401  (puts the checkout on sys.path for tests.support)

from bot.devtools.interactions import block_action
from bot.devtools.socket_standin import SocketModeStandIn
from bot.slack.ids import Action
from bot.socket_mode import SocketMode
from tests.support.harness import COMPLAINTS, Desk


def run(mode: str, rounds: int) -> tuple[list[float], int]:
    """``rounds`` of 20 simultaneous Claim clicks (every other round all on one card), in HTTP mode
    (signed requests) or Socket Mode (envelopes over the websocket); latency from send to ack."""
    people = [f"U0BENCH{i:03d}" for i in range(20)]
    with tempfile.TemporaryDirectory() as tmp:
        desk = Desk(f"sqlite:///{Path(tmp) / 'bench.db'}", threads=24)
        socket = None
        try:
            for person in people:
                desk.slack.add_user(person, person.lower(), channels=(COMPLAINTS,))
            desk.app.access.refresh()  # the team list is refreshed off the request path
            if mode == "socket":
                stand_in = SocketModeStandIn().start().attach(desk.slack)
                assert desk.app.bolt is not None
                socket = SocketMode(desk.app.bolt, desk.slack.state.app_token)
                socket.connect()
            latencies: list[float] = []
            errors = 0
            lock = threading.Lock()
            for r in range(rounds):
                if r % 2 == 0:
                    cid = desk.complaint(f"@AcmeHelp still waiting for refund {r}", post_card=False)
                    targets = [cid] * 20
                else:
                    targets = [
                        desk.complaint(f"@AcmeHelp order {r}-{i} never arrived", post_card=False) for i in range(20)
                    ]
                barrier = threading.Barrier(20)

                def click(person: str, cid: int, barrier: threading.Barrier = barrier) -> None:
                    nonlocal errors
                    barrier.wait()
                    if mode == "socket":
                        payload = block_action(person, Action.CLAIM, value=str(cid), trigger_id=desk.slack.trigger_id())
                        ack = stand_in.ack(stand_in.send("interactive", payload))
                        ok, seconds = ack is not None, (ack.seconds if ack else 10.0)
                    else:
                        status, _, seconds = desk.click(person, Action.CLAIM, str(cid), key=person)
                        ok = status == 200
                    with lock:
                        latencies.append(seconds)
                        errors += not ok

                threads = [threading.Thread(target=click, args=(p, t)) for p, t in zip(people, targets, strict=True)]
                for t in threads:
                    t.start()
                for t in threads:
                    t.join()
        finally:
            if socket is not None:
                socket.close()
                stand_in.stop()
            desk.close()
    return latencies, errors


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    figures = {}
    for mode in ("http", "socket"):
        latencies, errors = run(mode, rounds)
        ms = sorted(x * 1000 for x in latencies)
        p99 = ms[max(0, round(0.99 * len(ms)) - 1)]
        figures[mode] = p99
        print(
            f"{mode:>6} mode: clicks={len(ms)} concurrency=20 errors={errors} ack latency ms: "
            f"p50={statistics.median(ms):.1f} p90={ms[int(0.9 * len(ms)) - 1]:.1f} p99={p99:.1f} max={ms[-1]:.1f}"
        )
    print(f"p99_ms={figures['http']:.1f} socket_p99_ms={figures['socket']:.1f}")


if __name__ == "__main__":
    main()
