"""Failover: two workers on one PostgreSQL database; the one reading the source is ``kill -9``'d.

Both workers deliver (the rate lanes live in the database), and one at a time reads the source (a
lease). The killed worker held the source lease and was posting; the scenario measures how long
until the survivor posts the next card, and how long until it reads the source again (it must wait
for the dead worker's lease to expire). Nothing may be lost or doubled.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from bot.store import migrate
from bot.store.engine import make_engine, make_sessionmaker
from bot.store.models import Complaint, Delivery, Lease
from tests.support.crash import Bot
from tests.support.slack_api import SlackStandIn

CHANNEL = "C0COMPLAIN"


@dataclass
class FailoverReport:
    killed: str = ""
    next_post_seconds: float = 0.0
    source_resumed_seconds: float = 0.0
    complaints: int = 0
    cards: int = 0
    doubled: int = 0
    left_pending: int = 0

    @property
    def ok(self) -> bool:
        return (
            self.cards == self.complaints
            and not self.doubled
            and not self.left_pending
            and self.next_post_seconds < 30
            and self.source_resumed_seconds < 45
        )

    def lines(self) -> list[str]:
        return [
            f"killed {self.killed} (it held the source and was posting)",
            f"the other worker posted the next card {self.next_post_seconds:.1f}s after the kill",
            f"the other worker read the source again {self.source_resumed_seconds:.1f}s after the kill "
            "(the dead worker's 30 s lease had to expire)",
            f"complaints {self.complaints}, cards {self.cards}, doubled {self.doubled}, "
            f"left pending {self.left_pending}",
        ]


def _lines(start: int, n: int) -> str:
    return "".join(
        json.dumps(
            {
                "id": str(start + i),
                "text": f"@AcmeHelp order {start + i} never arrived, still waiting for a refund",
                "author_id": str(start + i),
                "author_handle": f"c{start + i}",
                "created_at": "2026-03-02T08:00:00Z",
            }
        )
        + "\n"
        for i in range(n)
    )


def _wait(predicate: object, timeout: float, step: float = 0.05) -> float:
    """Seconds until ``predicate()`` holds (a child process: there is no clock to inject)."""
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - started
        time.sleep(step)
    raise AssertionError(f"not within {timeout}s")


def run_failover(database_url: str, *, before: int = 30, after: int = 10) -> FailoverReport:
    report = FailoverReport()
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    with tempfile.TemporaryDirectory() as tmp, SlackStandIn(rate_limit_per_channel=2.0) as slack:
        replay = Path(tmp) / "posts.jsonl"
        replay.write_text(_lines(1000, before))
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        env.update(
            DATABASE_URL=database_url,
            SLACK_API_URL=slack.base_url,
            SLACK_BOT_TOKEN=slack.state.token,
            SLACK_COMPLAINTS_CHANNEL=CHANNEL,
            SLACK_ESCALATION_CHANNEL="C0ESCALATE",
            SLACK_POST_RATE="2",
            DIGEST_TIME="23:59",
            LOG_LEVEL="WARNING",
            # Cards are what this run counts: these customers all waiting for a refund at once
            # would be one incident (incident mode has its own runs, tests/e2e/test_incidents*.py).
            INCIDENT_MIN_AUTHORS="0",
        )
        bots = {name: Bot(env, replay, None, name) for name in ("worker-a", "worker-b")}
        for bot in bots.values():
            bot.start()

        def cards() -> int:
            return len([m for m in slack.channel_messages(CHANNEL) if not m.get("thread_ts")])

        _wait(lambda: cards() >= 5, 60)
        with sessions() as s:
            holder = s.scalars(select(Lease.holder).where(Lease.name.like("source:replay:%"))).one()
        pid = int(holder.split(":")[1])
        victim = next(name for name, bot in bots.items() if bot.proc is not None and bot.proc.pid == pid)
        report.killed = victim
        posted = len(slack.calls_to("chat.postMessage"))
        bots[victim].kill()
        killed_at = time.monotonic()
        report.next_post_seconds = _wait(lambda: len(slack.calls_to("chat.postMessage")) > posted, 60)
        with replay.open("a") as f:
            f.write(_lines(5000, after))

        def read_again() -> bool:
            with sessions() as s:
                return bool(
                    s.scalar(select(func.count()).select_from(Complaint).where(Complaint.external_id == "5000"))
                )

        _wait(read_again, 90)
        report.source_resumed_seconds = time.monotonic() - killed_at
        _wait(lambda: cards() >= before + after, 120)
        time.sleep(1.0)  # anything doubled would show within a turn or two of the lanes
        for bot in bots.values():
            bot.stop()
        with sessions() as s:
            report.complaints = s.scalar(select(func.count()).select_from(Complaint)) or 0
            report.left_pending = (
                s.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "pending")) or 0
            )
        messages = slack.channel_messages(CHANNEL)
        report.cards = cards()
        ids = Counter((m.get("metadata") or {}).get("event_payload", {}).get("delivery_id") for m in messages)
        report.doubled = sum(1 for key, n in ids.items() if key is not None and n > 1)
    engine.dispose()
    return report
