"""The wedge: one storm of copies, then everything that can attach to the copies, then new complaints.

Before the reshape, this stopped every new card: copies folded into "+N similar" stayed ``new``,
their customers' replies and retweets attached to them, the rows for those waited for cards that
would never exist, and the poster read the top 100 due rows and skipped them in Python — so once 100
such rows sat above a new complaint's priority, it was never posted.

The scenario runs the production path (raw records into the inbox, the drain, the delivery worker)
against the Slack stand-in at one message a second per channel, on an injected clock, and checks:
every new complaint gets its card; every folded customer's reply is in the primary card's thread,
labelled; nothing is left pending, lost or doubled.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.app import make_slack_client
from bot.common.clock import FakeClock
from bot.config import Secret, Settings
from bot.delivery.slack_transport import SlackTransport
from bot.delivery.worker import Deliverer
from bot.incidents.detect import IncidentPolicy
from bot.intake.inbox import Inbox, InboxDrain, RawPost
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.store import migrate
from bot.store.engine import make_engine, make_sessionmaker
from bot.store.models import Complaint, Delivery, InboxItem
from bot.triage.classify import Triage
from tests.support.slack_api import SlackStandIn

CHANNEL = "C0COMPLAIN"
NO_INCIDENTS = IncidentPolicy(enabled=False)
"""Storms of copies folded into one card are what this scenario is about; a storm that size would be
an incident, whose own variations are tests/reliability/test_incident_shapes.py."""
STORM = "@AcmeHelp the app is down again and I still can't pay for my order"
VARIANTS = (str, str.upper, lambda s: s + "!!", lambda s: "RT @someone: " + s, lambda s: s.replace("'", ""))


@dataclass
class WedgeReport:
    copies: int = 0
    folded: int = 0
    new_complaints: int = 0
    new_cards: int = 0
    cards: int = 0
    replies_expected: int = 0
    replies_in_thread: int = 0
    labelled: int = 0
    pending: int = 0
    lost: list[int] = field(default_factory=list)
    doubled: int = 0
    last_card_seconds: float = 0.0
    drained_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return (
            self.new_cards == self.new_complaints
            and self.replies_in_thread == self.replies_expected
            and self.labelled == self.replies_expected - 1
            and self.pending == 0
            and not self.lost
            and self.doubled == 0
        )

    def lines(self) -> list[str]:
        return [
            f"storm: {self.copies} near-identical posts, {self.folded} folded into one card; then a reply and "
            f"3 retweets for each, then {self.new_complaints} new complaints",
            f"new complaints carded: {self.new_cards}/{self.new_complaints}; cards in all: {self.cards}",
            f"folded customers' replies in the primary card's thread: {self.replies_in_thread}/"
            f"{self.replies_expected} ({self.labelled} labelled with their own complaint)",
            f"left pending: {self.pending}; lost: {len(self.lost)}; doubled: {self.doubled}",
            f"last new card {self.last_card_seconds:.1f}s after the last ingest; everything drained "
            f"{self.drained_seconds:.1f}s after it (Slack time, 1 message/s/channel)",
        ]


def _record(pid: str, text: str, author: str, **extra: object) -> RawPost:
    return RawPost(
        f"post {pid}",
        {
            "id": pid,
            "text": text,
            "author_id": author,
            "author_handle": f"c{author}",
            "created_at": "2026-03-02T08:00:00Z",
            "followers": 100,
            "source": "x",
            **extra,
        },
    )


def run_wedge(
    database_url: str | None = None, *, copies: int = 150, new: int = 20, one_batch: bool = False
) -> WedgeReport:
    """``one_batch``: the storm and every reply to it arrive together (a replay file, a catch-up after
    downtime) and are ingested as one batch, with no delivery in between."""
    report = WedgeReport(copies=copies, new_complaints=new, replies_expected=copies)
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    with tempfile.TemporaryDirectory() as tmp, SlackStandIn(rate_limit_per_channel=1.0) as slack:
        slack.clock = lambda: clock.now().timestamp()
        slack.wall = lambda: clock.now().timestamp()
        engine = make_engine(database_url or f"sqlite:///{Path(tmp) / 'wedge.db'}")
        migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        inbox = Inbox(sessions, clock)
        drain = InboxDrain(sessions, Ingestor(Triage(), IngestPolicy(CHANNEL, incidents=NO_INCIDENTS)), clock)
        settings = Settings(slack_bot_token=Secret(slack.state.token), slack_api_url=slack.base_url)
        poster = Deliverer(sessions, clock, [SlackTransport(make_slack_client(settings), sessions, clock)])

        def ingest(posts: list[RawPost]) -> None:
            for start in range(0, len(posts), 100):
                inbox.write("x:wedge", posts[start : start + 100], cursor=None)
                drain.drain()

        def deliver(seconds: float) -> None:
            """The worker runs while time passes (the storm's card goes out meanwhile)."""
            until = clock.now() + timedelta(seconds=seconds)
            while clock.now() < until:
                wait = poster.step()
                if wait > 0:
                    clock.advance(seconds=min(max(wait, 0.01), (until - clock.now()).total_seconds()))

        storm = [
            _record(str(10_000 + i), VARIANTS[i % len(VARIANTS)](STORM), str(i), conversation_id=str(10_000 + i))
            for i in range(copies)
        ]
        if not one_batch:
            ingest(storm)
            deliver(2.0)
        attached = []
        for i in range(copies):
            attached.append(
                _record(
                    str(20_000 + i),
                    f"@AcmeHelp still nothing, {i}",
                    str(i),
                    conversation_id=str(10_000 + i),
                    in_reply_to_id=str(10_000 + i),
                )
            )
            attached += [
                _record(f"{30_000 + 3 * i + k}", "RT " + STORM, f"fan{i}-{k}", retweet_of=str(10_000 + i))
                for k in range(3)
            ]
        if one_batch:
            drain.batch = len(storm) + len(attached)
            inbox.write("x:wedge", storm + attached, cursor=None)
            drain.drain()
        else:
            ingest(attached)
        fresh = [
            _record(str(40_000 + i), f"@AcmeHelp order {i} never arrived and nobody answers my emails", f"n{i}")
            for i in range(new)
        ]
        ingest(fresh)
        ingested_at = clock.now()
        last_card_at = ingested_at
        fresh_ids = {r.record["id"] for r in fresh}
        for _ in range(100_000):
            wait = poster.step()
            with sessions() as s:
                waiting = s.scalar(
                    select(func.count())
                    .select_from(Complaint)
                    .where(Complaint.external_id.in_(fresh_ids), Complaint.slack_ts.is_(None))
                )
            if waiting == 0 and last_card_at == ingested_at:
                last_card_at = clock.now()
            if wait > 0 and not poster.due():
                later = poster.next_due_in()
                if later is None:
                    break
                clock.advance(seconds=max(later, 0.01))
        report.last_card_seconds = (last_card_at - ingested_at).total_seconds()
        report.drained_seconds = (clock.now() - ingested_at).total_seconds()

        with sessions() as s:
            rows = s.execute(
                select(Complaint.id, Complaint.external_id, Complaint.duplicate_of, Complaint.slack_ts)
            ).all()
            report.pending = (
                s.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "pending")) or 0
            ) + (s.scalar(select(func.count()).select_from(InboxItem).where(InboxItem.status == "pending")) or 0)
        by_external = {r.external_id: r for r in rows}
        report.folded = sum(1 for r in rows if r.duplicate_of)
        report.new_cards = sum(1 for pid in fresh_ids if by_external[pid].slack_ts)
        report.lost = [r.id for r in rows if not r.duplicate_of and not r.slack_ts]
        messages = slack.channel_messages(CHANNEL)
        cards = [m for m in messages if not m.get("thread_ts")]
        report.cards = len(cards)
        ids = Counter((m.get("metadata") or {}).get("event_payload", {}).get("delivery_id") for m in messages)
        report.doubled = sum(1 for key, n in ids.items() if key is not None and n > 1)
        primary = by_external[str(10_000)]
        thread = [m for m in messages if m.get("thread_ts") == primary.slack_ts]
        replies = [m for m in thread if "replied" in m["text"]]
        report.replies_in_thread = len(replies)
        report.labelled = sum(1 for m in replies if "folded into this card" in str(m["blocks"]))
        engine.dispose()
    return report
