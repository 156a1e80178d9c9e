"""A 1,000-complaint storm against the Slack stand-in enforcing 1 message/second/channel.

    python bench/storm.py [N]      (default 1,000)

The storm: 70% are copies of 35 outage posts (20 each, worded differently: case, punctuation,
"RT @x:" prefixes), 30% distinct complaints; posts arrive over 10 seconds in batches of 50, and a
high-reach, high-severity complaint arrives halfway through. The poster and the stand-in share one
injected clock that moves by exactly what the poster asks to wait, so a storm that takes many minutes
of Slack time runs in seconds; the figures are in that (simulated) time. Copies are folded at ingest
(``+N similar``), so they never take a message of their own.

Incident mode is off here (it would make this storm one incident card: ``bench/incidents.py``).

Checks: every complaint is on exactly one card (its own, or folded into one with the same text) —
zero lost, zero doubled; no 429 retry loops; the top-priority complaint visible within 2 s of ingest.
"""

from __future__ import annotations

import itertools
import random
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _repo  # noqa: F401  (puts the checkout on sys.path for tests.support)
from sqlalchemy import select

from bot.app import make_slack_client
from bot.common.clock import FakeClock
from bot.config import Secret, Settings
from bot.delivery.slack_transport import SlackTransport
from bot.delivery.worker import Deliverer
from bot.incidents.detect import IncidentPolicy
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.posts import Post
from bot.store import migrate
from bot.store.engine import make_engine, make_sessionmaker
from bot.store.models import Complaint
from bot.triage.classify import Triage
from tests.support.slack_api import SlackStandIn

CHANNEL = "C0COMPLAIN"
OUTAGES = [
    f"@AcmeHelp the {thing} is down again and I can't {verb}"
    for thing, verb in [
        (t, v)
        for t in ("app", "website", "checkout", "login page", "tracking page", "chat", "payment page")
        for v in ("pay", "log in", "track my order", "reach anyone", "get a refund")
    ]
]
VARIANTS = [lambda s: s, str.upper, lambda s: s + "!!", lambda s: "RT @someone: " + s, lambda s: s.replace("'", "")]


def storm(n: int, rng: random.Random, start: datetime) -> list[Post]:
    posts = []
    for i in range(n):
        if rng.random() < 0.7:
            text = rng.choice(VARIANTS)(OUTAGES[i % 35])
        else:
            text = f"@AcmeHelp order {i} never arrived and nobody answers, still waiting for a refund"
        posts.append(
            Post(
                source="x",
                id=str(10_000 + i),
                text=text,
                author_id=str(i),
                author_handle=f"c{i}",
                created_at=start,
                followers=int(rng.paretovariate(1.3) * 40),
            )
        )
    return posts


def posted(slack: SlackStandIn, handle: str) -> bool:
    return any(handle in m["text"] for m in slack.channel_messages(CHANNEL))


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    rng = random.Random(11)
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    sim = [1000.0]
    wall_start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, SlackStandIn(rate_limit_per_channel=1.0) as slack:
        slack.clock = lambda: sim[0]
        slack.wall = lambda: clock.now().timestamp()
        engine = make_engine(f"sqlite:///{Path(tmp) / 'storm.db'}")
        migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        client = make_slack_client(Settings(slack_bot_token=Secret(slack.state.token), slack_api_url=slack.base_url))
        poster = Deliverer(sessions, clock, [SlackTransport(client, sessions, clock)])
        # Folding and Slack's pace are measured here: a storm this size of one subject is an incident
        # in production (one card for all of it), measured by bench/incidents.py.
        ingestor = Ingestor(Triage(), IngestPolicy(CHANNEL, incidents=IncidentPolicy(enabled=False)))

        def advance(seconds: float) -> None:
            sim[0] += seconds
            clock.advance(timedelta(seconds=seconds))

        posts = storm(n, rng, clock.now())
        vip = Post(
            source="x",
            id="99999",
            text="@AcmeHelp third time asking: you charged me twice and still no "
            "refund after 3 weeks. Absolutely unacceptable!!",
            author_id="vip",
            author_handle="famous",
            created_at=clock.now(),
            followers=5_000_000,
            verified=True,
        )
        vip_ingested_at: float | None = None
        vip_posted_at: float | None = None
        batches = [posts[i : i + 50] for i in range(0, len(posts), 50)]
        for index, batch in enumerate(batches):
            ingestor.ingest_batch(sessions, batch, at=clock.now())
            if index == len(batches) // 2:
                # Worst case: the VIP arrives just after a post took the channel's token.
                while poster.step() > 0:
                    advance(0.01)
                ingestor.ingest_batch(sessions, [vip], at=clock.now())
                vip_ingested_at = sim[0]
            until = sim[0] + 0.5  # the next batch arrives half a second later
            while sim[0] < until:
                wait = poster.step()
                if vip_posted_at is None and vip_ingested_at is not None and posted(slack, "@famous"):
                    vip_posted_at = sim[0]
                advance(min(max(wait, 0.001), until - sim[0]) if wait > 0 else 0.0)
        while True:  # drain the rest at Slack's pace
            wait = poster.step()
            if vip_posted_at is None and posted(slack, "@famous"):
                vip_posted_at = sim[0]
            if wait > 0 and not poster.due():
                later = poster.next_due_in()
                if later is None:
                    break
                wait = max(wait, later)
            advance(wait)

        with sessions() as session:
            complaints = session.execute(select(Complaint.id, Complaint.duplicate_of, Complaint.slack_ts)).all()
        cards = [m for m in slack.channel_messages(CHANNEL) if not m.get("thread_ts")]
        per_complaint = Counter(m["metadata"]["event_payload"]["complaint_id"] for m in cards)
        carded = {cid for cid, _, ts in complaints if ts}
        folded = {cid for cid, dup, _ in complaints if dup in carded}
        lost = [cid for cid, _, _ in complaints if cid not in carded and cid not in folded]
        doubled = [cid for cid, count in per_complaint.items() if count > 1]
        posts_calls = [c for c in slack.calls if c.method == "chat.postMessage"]
        throttled = [c for c in posts_calls if c.status == 429]
        gaps = [b.at - a.at for a, b in itertools.pairwise(posts_calls) if b.status == 200]
    wall = time.perf_counter() - wall_start
    assert vip_ingested_at is not None
    assert vip_posted_at is not None
    print(
        f"complaints stored={len(complaints)} cards posted={len(cards)} folded into a card={len(folded)} "
        f"card updates={len([c for c in slack.calls if c.method == 'chat.update'])}"
    )
    print(f"lost={len(lost)} doubled={len(doubled)} 429s={len(throttled)} poster retries={poster.retries}")
    print(
        f"shortest gap between posts={min(gaps):.2f}s; storm drained in {sim[0] - 1000.0:.0f}s of Slack time "
        f"({wall:.1f}s wall)"
    )
    print(f"top-priority complaint visible {vip_posted_at - vip_ingested_at:.2f}s after ingest")
    print(f"lost={len(lost)} doubled={len(doubled)} vip_seconds={vip_posted_at - vip_ingested_at:.2f}")


if __name__ == "__main__":
    main()
