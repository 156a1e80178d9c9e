"""Fault scenarios shared by the reliability tests (small) and the bench scripts (large).

Each runs the real code against the local stand-ins with faults at set rates and returns counts and
the invariants' verdicts, so a test asserts them and a bench prints them.
"""

from __future__ import annotations

import itertools
import random
import tempfile
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.app import make_slack_client
from bot.common.clock import FakeClock
from bot.config import Secret, Settings
from bot.delivery.slack_transport import SlackTransport
from bot.delivery.worker import Deliverer
from bot.desk import complaints as complaint_service
from bot.incidents.detect import IncidentPolicy
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.posts import Post
from bot.store import migrate
from bot.store.engine import make_engine, make_sessionmaker, transaction
from bot.store.models import Complaint, Delivery
from bot.triage.classify import Triage
from tests.support.slack_api import SlackStandIn

CHANNEL = "C0COMPLAIN"
NO_INCIDENTS = IncidentPolicy(enabled=False)
"""Storms of copies folded into one card are what this scenario is about; a storm that size would be
an incident, whose own variations are tests/reliability/test_incident_shapes.py."""


@dataclass
class SlackFaultReport:
    complaints: int = 0
    cards: int = 0
    folded: int = 0
    notes_expected: int = 0
    notes_posted: int = 0
    lost: list[int] = field(default_factory=list)
    doubled: list[int] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    min_gap: float = 0.0
    early_retries: int = 0
    dead: int = 0

    @property
    def ok(self) -> bool:
        return (
            not self.lost
            and not self.doubled
            and self.min_gap >= 1.0 - 1e-9
            and not self.early_retries
            and self.notes_posted == self.notes_expected
            and not self.dead
        )

    def lines(self) -> list[str]:
        return [
            f"complaints={self.complaints} cards={self.cards} folded={self.folded} "
            f"thread notes={self.notes_posted}/{self.notes_expected}",
            "faults injected: " + ", ".join(f"{k}={v}" for k, v in sorted(self.faults.items())),
            f"lost={len(self.lost)} doubled={len(self.doubled)} dead={self.dead} "
            f"shortest gap between posts in a channel={self.min_gap:.2f}s "
            f"retries before Retry-After={self.early_retries}",
        ]


def slack_fault_scenario(n: int, rates: dict[str, float], *, seed: int = 5, timeout: float = 0.3) -> SlackFaultReport:
    """``n`` complaints (a fifth of them claimed, each claim adding a thread note) posted through a
    stand-in that fails at ``rates``; the poster and the stand-in share an injected clock."""
    rng = random.Random(seed)
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    sim = [1000.0]
    report = SlackFaultReport()
    with tempfile.TemporaryDirectory() as tmp, SlackStandIn(rate_limit_per_channel=1.0) as slack:
        slack.clock = lambda: sim[0]
        slack.wall = lambda: clock.now().timestamp()
        slack.fault_rates = rates
        slack.seed_faults(seed)
        slack.slow_seconds = timeout * 2
        engine = make_engine(f"sqlite:///{Path(tmp) / 'faults.db'}")
        migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        settings = Settings(slack_bot_token=Secret(slack.state.token), slack_api_url=slack.base_url)
        client = make_slack_client(settings)
        client.timeout = int(max(1, timeout)) if timeout >= 1 else timeout  # type: ignore[assignment]
        poster = Deliverer(sessions, clock, [SlackTransport(client, sessions, clock)])
        ingestor = Ingestor(Triage(), IngestPolicy(CHANNEL, incidents=NO_INCIDENTS))
        posts = [
            Post(
                source="x",
                id=str(i),
                text=f"@AcmeHelp order {i} never arrived, still waiting (ref {i})",
                author_id=str(i),
                author_handle=f"c{i}",
                created_at=clock.now(),
                followers=rng.randrange(5000),
            )
            for i in range(n)
        ]
        for start in range(0, n, 50):
            ingestor.ingest_batch(sessions, posts[start : start + 50], at=clock.now())

        def advance(seconds: float) -> None:
            sim[0] += seconds
            clock.advance(timedelta(seconds=seconds))

        claimed = 0
        for _ in range(200_000):
            wait = poster.step()
            if claimed < n // 5:  # claims arrive while the cards are still going out
                with sessions() as s:
                    ready = s.scalars(
                        select(Complaint.id).where(Complaint.slack_ts.is_not(None), Complaint.status == "new").limit(1)
                    ).first()
                if ready is not None:
                    with transaction(sessions) as s:
                        complaint_service.claim(s, ready, user_id="U0ALICE01", at=clock.now())
                    claimed += 1
            if wait > 0 and not poster.due():
                later = poster.next_due_in()
                if later is None and claimed >= n // 5:
                    break
                wait = max(wait, later or 0.0)
            advance(wait)
        report.notes_expected = claimed
        report.faults = Counter(c.fault for c in slack.calls if c.fault)
        with sessions() as s:
            rows = s.execute(select(Complaint.id, Complaint.slack_ts, Complaint.duplicate_of)).all()
            report.dead = (
                s.scalar(select(func.count()).select_from(Delivery).where(Delivery.status.in_(["dead", "set_aside"])))
                or 0
            )
        messages = slack.channel_messages(CHANNEL)
        cards = [m for m in messages if not m.get("thread_ts")]
        per = Counter(m["metadata"]["event_payload"]["complaint_id"] for m in cards)
        report.complaints = len(rows)
        report.cards = len(cards)
        report.folded = sum(1 for _, _, dup in rows if dup)
        report.lost = [cid for cid, ts, dup in rows if not ts and not dup]
        report.doubled = [cid for cid, count in per.items() if count > 1]
        report.notes_posted = sum(1 for m in messages if m.get("thread_ts") and "claimed this" in m["text"])
        posts_by_channel: dict[str, list[tuple[float, int, dict]]] = defaultdict(list)
        for call in slack.calls:
            if call.method == "chat.postMessage":
                posts_by_channel[str(call.args.get("channel"))].append((call.at, call.status, call.args))
        gaps = []
        for calls in posts_by_channel.values():
            ok_times = [t for t, status, _ in calls if status == 200]
            gaps += [b - a for a, b in itertools.pairwise(ok_times)]
        report.min_gap = min(gaps) if gaps else 1.0
        report.early_retries = _early_retries(slack)
    return report


def _early_retries(slack: SlackStandIn) -> int:
    """Calls to a channel sooner after a 429 than its Retry-After allowed."""
    early = 0
    calls = [c for c in slack.calls if c.method == "chat.postMessage"]
    for i, call in enumerate(calls):
        if call.status != 429:
            continue
        retry_after = call.retry_after or 1
        channel = call.args.get("channel")
        for later in calls[i + 1 :]:
            if later.args.get("channel") == channel and later.at < call.at + retry_after - 1e-9:
                early += 1
    return early


@dataclass
class XFaultReport:
    posts: int = 0
    stored: int = 0
    complaints_doubled: int = 0
    repeats_dropped: int = 0
    connections: int = 0
    alerts: int = 0
    other_alerts: int = 0
    polls: int = 0
    faults: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return self.stored == self.posts and not self.complaints_doubled and self.alerts == 1 and not self.other_alerts

    def lines(self) -> list[str]:
        return [
            f"posts sent by X={self.posts} stored={self.stored} doubled={self.complaints_doubled} "
            f"repeats dropped={self.repeats_dropped} stream connections={self.connections} polls={self.polls}",
            "faults: " + ", ".join(f"{k}={v}" for k, v in sorted(self.faults.items())),
            f"credential alerts={self.alerts} other alerts (falling behind)={self.other_alerts}",
        ]


def x_fault_scenario(n: int, *, seed: int = 7) -> XFaultReport:
    """The filtered stream drops every few posts and repeats some after each reconnect; a 429 with a
    reset and one spell of 401s (three connections in a row) hit mid-run; then mentions polling meets
    a 429 and a 503. One credentials incident must mean exactly one alert."""
    from bot.intake.inbox import Inbox, InboxDrain
    from bot.intake.source import SourceContext
    from bot.networks.x.source import XPoller, XStream, make_client
    from bot.store.models import Post as PostRow
    from tests.support.x_api import StreamPlan, XFault, XStandIn

    rng = random.Random(seed)
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    report = XFaultReport()
    with tempfile.TemporaryDirectory() as tmp, XStandIn() as x:
        x.now = lambda: clock.now().timestamp()
        x.add_user("1000", "AcmeHelp")
        for i in range(50):
            x.add_user(str(i), f"c{i}", followers=rng.randrange(10_000))
        engine = make_engine(f"sqlite:///{Path(tmp) / 'x.db'}")
        migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        ctx = SourceContext(sessions, Inbox(sessions, clock), clock, CHANNEL)
        drain = InboxDrain(
            sessions,
            Ingestor(Triage(), IngestPolicy(CHANNEL, None, frozenset({"1000"}), incidents=NO_INCIDENTS)),
            clock,
        )
        half = n // 2
        for i in range(half):
            x.queue_stream(x.add_tweet(str(10_000 + i), f"@AcmeHelp still no refund for order {i}", str(i % 50)))
        x.state.rules = [{"id": "1", "value": "@AcmeHelp"}]
        stream = XStream(ctx, x.token, ("@AcmeHelp",), api_url=x.base_url)
        injected = False
        for step in range(10 * n):
            x.stream_plan = StreamPlan(per_connection=rng.randrange(2, 9), repeat=rng.randrange(0, 4))
            if not injected and x.state.stream_sent >= half // 2:
                x.inject(XFault(429, path="/search/stream", reset_in=30))
                x.inject(XFault(401, count=3, path="/search/stream"))
                injected = True
            wait = stream.step()
            drain.drain()
            clock.advance(timedelta(seconds=wait))
            if x.state.stream_sent >= half and step > 3:
                break
        report.connections = x.state.connections
        report.repeats_dropped = stream.repeats_dropped

        poller = XPoller(ctx, make_client(x.token, x.base_url), mode="mentions", user_id="1000")
        with sessions() as s, s.begin():
            from bot.intake import state as source_state

            source_state.advance(s, "x:mentions", at=clock.now(), cursor=str(10_000 + half - 1))
        x.inject(XFault(429, path="/mentions", reset_in=20))
        x.inject(XFault(503, path="/mentions"))
        pending = list(range(half, n))
        for _ in range(10 * n):
            for i in pending[:100]:  # mentions keep arriving between polls
                x.add_tweet(str(10_000 + i), f"@AcmeHelp the app crashed again, ticket {i}", str(i % 50))
            pending = pending[100:]
            try:
                wait = poller.step()
            except Exception:  # the worker's loop backs off on these (tests/unit/test_worker.py)
                wait = 5.0
            report.polls += 1
            drain.drain()
            clock.advance(timedelta(seconds=wait))
            with sessions() as s:
                if not pending and s.scalar(select(func.count()).select_from(PostRow)) >= n:
                    break
        report.faults = Counter(("stream 429", "stream 401 (3 connections in a row)", "mentions 429", "mentions 503"))
        report.posts = n
        with sessions() as s:
            report.stored = s.scalar(select(func.count()).select_from(PostRow)) or 0
            per = s.execute(select(Complaint.external_id, func.count()).group_by(Complaint.external_id)).all()
            report.complaints_doubled = sum(1 for _, count in per if count > 1)
            alerts = s.scalars(select(Delivery.payload).where(Delivery.kind == "alert")).all()
            report.alerts = sum(1 for a in alerts if "credentials" in str(a.get("text", "")))
            report.other_alerts = len(alerts) - report.alerts
    return report
