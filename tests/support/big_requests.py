"""Unsigned, oversized and malformed requests against the real ``followthrough run --http``.

Measures what an attacker (or a misconfigured proxy) costs us: the log's size and the process's
peak memory after ``count`` unsigned POSTs of ``megabytes`` each, and the status each got.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from bot.cli.run import STOP_LIMIT_SECONDS
from tests.support.procs import free_port, wait_for_port
from tests.support.slack_api import SlackStandIn


@dataclass
class BigRequestReport:
    statuses: list[int] = field(default_factory=list)
    log_bytes: int = 0
    peak_rss_mb: float = 0.0
    malformed_statuses: list[int] = field(default_factory=list)
    stop_seconds: float = 0.0
    log_text: str = ""

    def lines(self) -> list[str]:
        return [
            f"answers to the big unsigned POSTs: {sorted(set(self.statuses))}; to signed-looking garbage: "
            f"{sorted(set(self.malformed_statuses))}",
            f"log written: {self.log_bytes:,} bytes; peak RSS of the bot: {self.peak_rss_mb:.0f} MB; "
            f"SIGTERM to exit {self.stop_seconds:.1f} s",
        ]


def _post(port: int, body_size: int, headers: dict[str, str]) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest("POST", "/slack/events")
        conn.putheader("Content-Length", str(body_size))
        for key, value in headers.items():
            conn.putheader(key, value)
        conn.endheaders()
        chunk = b'{"token": "' + b"x" * 65_536
        sent = 0
        try:
            while sent < body_size:
                piece = chunk[: body_size - sent]
                conn.send(piece)
                sent += len(piece)
        except (BrokenPipeError, ConnectionResetError):
            pass  # refused before the end of the body: what we want
        return conn.getresponse().status
    except (ConnectionResetError, http.client.RemoteDisconnected, BrokenPipeError):
        return 0
    finally:
        conn.close()


def run_big_requests(*, count: int = 8, megabytes: int = 50) -> BigRequestReport:
    report = BigRequestReport()
    with tempfile.TemporaryDirectory() as tmp, SlackStandIn() as slack:
        port = free_port()
        replay = Path(tmp) / "empty.jsonl"
        replay.write_text("")
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        env.update(
            DATABASE_URL=f"sqlite:///{Path(tmp) / 'ft.db'}",
            SLACK_API_URL=slack.base_url,
            SLACK_BOT_TOKEN=slack.state.token,
            SLACK_SIGNING_SECRET="big-request-secret",
            SLACK_COMPLAINTS_CHANNEL="C0COMPLAIN",
            SLACK_ESCALATION_CHANNEL="C0ESCALATE",
            PORT=str(port),
            LOG_LEVEL="INFO",
        )
        log_path = Path(tmp) / "bot.log"
        with log_path.open("wb") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "bot", "--env-file", os.devnull, "run", "--http", "--replay", str(replay)],
                env=env,
                cwd=tmp,
                stdout=log,
                stderr=log,
            )
            try:
                wait_for_port(port, proc)
                for _ in range(count):
                    report.statuses.append(_post(port, megabytes * 1024 * 1024, {"Content-Type": "application/json"}))
                for content_type, body in (
                    ("application/json", b"{not json"),
                    ("application/x-www-form-urlencoded", b"payload=%ff%fe"),
                    ("application/json", b"\xff\xfe\x00"),
                ):
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                    conn.request("POST", "/slack/events", body=body, headers={"Content-Type": content_type})
                    report.malformed_statuses.append(conn.getresponse().status)
                    conn.close()
                status = Path(f"/proc/{proc.pid}/status").read_text()
                report.peak_rss_mb = int(status.split("VmHWM:")[1].split()[0]) / 1024
            finally:
                proc.send_signal(signal.SIGTERM)
                began = time.monotonic()
                try:
                    proc.wait(STOP_LIMIT_SECONDS + 10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
                    raise AssertionError(
                        f"the bot did not exit {STOP_LIMIT_SECONDS + 10:.0f} s after SIGTERM; its log:\n"
                        + log_path.read_text(errors="replace")[-6000:]
                    ) from None
                report.stop_seconds = time.monotonic() - began
        report.log_bytes = log_path.stat().st_size
        report.log_text = log_path.read_text(errors="replace")
    return report
