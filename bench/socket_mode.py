"""Which Socket Mode client: slack_sdk's built-in one (Bolt's default) or its websocket_client adapter.

    python bench/socket_mode.py

For each client, against the local Socket Mode stand-in with the real app (its listeners, a SQLite
database): the ack time of the first envelope after Slack's routine ``disconnect`` (rotation), the
time to a new connection after the old one ends without a close frame and after a close frame, the
CPU the process spends meanwhile, and the ack latency (p50/p99) of 200 slash commands.
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import _repo  # noqa: F401  (puts the checkout on sys.path for tests.support)

from bot.app import create_app
from bot.config import Secret, Settings
from bot.devtools.interactions import slash_command
from bot.devtools.socket_standin import SocketModeStandIn
from bot.store import migrate
from tests.support.slack_api import SlackStandIn

WAIT = 20.0


def measure(client: str) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp, SlackStandIn() as slack, SocketModeStandIn() as socket:
        socket.attach(slack)
        slack.add_user("U0ALICE01", "alice", channels=("C0COMPLAIN",))
        settings = Settings(
            slack_bot_token=Secret(slack.state.token),
            slack_app_token=Secret(slack.state.app_token),
            slack_api_url=slack.base_url,
            slack_complaints_channel="C0COMPLAIN",
            slack_escalation_channel="C0ESCALATE",
            database_url=f"sqlite:///{Path(tmp) / 'b.db'}",
        )
        app = create_app(settings)
        migrate.upgrade(app.engine)
        if client == "builtin":
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            handler = SocketModeHandler(app.bolt, slack.state.app_token)
        else:
            from bot.socket_mode import SocketMode

            handler = SocketMode(app.bolt, slack.state.app_token)
        handler.connect()
        socket.wait_for_connections(1, 10)

        def command() -> float | None:
            form = slash_command("U0ALICE01", "/complaints", "status")
            ack = socket.ack(socket.send("slash_commands", form, accepts_response_payload=True), timeout=WAIT)
            return None if ack is None else ack.seconds

        latencies = [command() for _ in range(200)]
        acked = [x for x in latencies if x is not None]
        socket.refresh(close_after=1.0)
        socket.wait_for_connections(2, WAIT)
        after_rotation = command()

        def reconnect(how: str, count: int) -> tuple[float | None, float]:
            cpu0, started = time.process_time(), time.monotonic()
            socket.drop() if how == "drop" else socket.close_all()
            ok = socket.wait_for_connections(count, WAIT)
            took = time.monotonic() - started if ok else None
            time.sleep(max(0.0, 5.0 - (time.monotonic() - started)))  # CPU over at least 5 s
            return took, (time.process_time() - cpu0) / (time.monotonic() - started)

        close, close_cpu = reconnect("close", 3)
        drop, drop_cpu = reconnect("drop", 4)
        handler.close()
        app.engine.dispose()
        return {
            "client": client,
            "p50": statistics.median(acked) * 1000 if acked else None,
            "p99": sorted(acked)[int(len(acked) * 0.99) - 1] * 1000 if acked else None,
            "after_rotation": after_rotation,
            "drop": drop,
            "drop_cpu": drop_cpu,
            "close": close,
            "close_cpu": close_cpu,
        }


def seconds(value: object) -> str:
    return f">{WAIT:.0f} s" if value is None else f"{value:.2f} s"


def main() -> None:
    clients = sys.argv[1:] or ["builtin", "websocket_client"]
    results = [measure(name) for name in clients]
    for r in results:
        print(
            f"{r['client']:>16}: ack p50 {r['p50']:.0f} ms, p99 {r['p99']:.0f} ms; first ack after rotation "
            f"{seconds(r['after_rotation'])}; new connection after a drop without close frame {seconds(r['drop'])} "
            f"(CPU {r['drop_cpu']:.0%}), after a close frame {seconds(r['close'])} (CPU {r['close_cpu']:.0%})"
        )
    chosen = next(r for r in results if r["client"] == "websocket_client") if "websocket_client" in clients else None
    if chosen:
        print(
            f"rotation_ack_s={chosen['after_rotation']:.2f} drop_reconnect_s={seconds(chosen['drop'])} "
            f"socket_p99_ms={chosen['p99']:.0f}"
        )


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    main()
