"""Replies to customers under X's faults: the scenario shared by the reliability test and
bench/reply_faults.py.

N complaints get a card (Slack stand-in) and a reply requested from it; the real delivery worker
sends the replies through tweepy to the X stand-in, which answers with a fault before many of the
posts (429 with x-rate-limit-reset, 500, the reply posted but the answer lost, the connection dropped
before anything happened) and some of the look-ups that follow a lost answer. The clock is injected:
each round drains the worker, then moves time past every back-off. Counted at the end, from what X
holds: replies posted twice (doubled), replies never posted (lost), replies to the wrong post.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from bot import networks
from bot.app import create_app
from bot.common.clock import FakeClock
from bot.config import Secret, Settings
from bot.desk import replies
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.posts import Post
from bot.networks.x.settings import XSettings
from bot.runtime import build_deliverer
from bot.store import migrate
from bot.store.engine import transaction
from bot.store.models import Delivery
from bot.triage.classify import Triage
from tests.support.slack_api import SlackStandIn
from tests.support.x_api import XFault, XStandIn

COMPLAINTS = "C0COMPLAIN"
FAULTS = ("429", "500", "lost", "drop")


@dataclass
class Outcome:
    replies: int
    posted: int = 0
    doubled: int = 0
    lost: int = 0
    wrong_post: int = 0
    dead: int = 0
    rounds: int = 0
    faults: dict[str, int] = field(default_factory=dict)
    lookups: int = 0
    seconds: float = 0.0


def _fault(kind: str, method: str = "POST", path: str = "/2/tweets") -> XFault:
    if kind == "429":
        return XFault(429, path=path, method=method, reset_in=30)
    if kind == "500":
        return XFault(500, path=path, method=method)
    return XFault(0, path=path, method=method, mode=kind)


def run(database_url: str, n: int = 20, *, seed: int = 7, fault_share: float = 0.8) -> Outcome:
    started = time.perf_counter()
    rng = random.Random(seed)
    slack = SlackStandIn().start()
    x = XStandIn().start()
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    slack.wall = lambda: clock.now().timestamp()
    x.now = lambda: clock.now().timestamp()
    x.refuse_duplicates = False  # a double must show as two replies, not hide behind X's own refusal
    keys = x.set_brand("99", "AcmeHelp")
    settings = Settings(
        slack_bot_token=Secret(slack.state.token),
        slack_signing_secret=Secret("s"),
        slack_api_url=slack.base_url,
        slack_complaints_channel=COMPLAINTS,
        slack_escalation_channel="C0ESCALATE",
        database_url=database_url,
        networks=networks.settings_with(
            x=XSettings(
                api_url=x.base_url,
                brand_handle="AcmeHelp",
                user_id="99",
                api_key=Secret(keys["X_API_KEY"]),
                api_secret=Secret(keys["X_API_SECRET"]),
                access_token=Secret(keys["X_ACCESS_TOKEN"]),
                access_token_secret=Secret(keys["X_ACCESS_TOKEN_SECRET"]),
            )
        ),
    )
    app = create_app(settings, clock=clock, listener=False)
    outcome = Outcome(replies=n)
    try:
        migrate.upgrade(app.engine)
        ingestor = Ingestor(Triage(), IngestPolicy(COMPLAINTS, None, brand_handles=frozenset({"acmehelp"})))
        targets: dict[int, str] = {}
        for i in range(n):
            post_id = str(5000 + i)
            x.add_user(str(100 + i), f"cust{i}")
            text = f"@AcmeHelp my order {i} never arrived and nobody answers"
            x.add_tweet(post_id, text, str(100 + i))
            post = Post("x", post_id, text, str(100 + i), f"cust{i}", clock.now())
            [result] = ingestor.ingest_batch(app.sessions, [post], at=clock.now())
            assert result.complaint_id is not None
            targets[result.complaint_id] = post_id
        deliverer = build_deliverer(app, unpaced=True)
        deliverer.drain()  # the cards
        with transaction(app.sessions) as session:
            for cid in targets:
                replies.request_reply(
                    session,
                    cid,
                    text=f"@cust{cid} sorry about this — we'll sort it today ({cid})",
                    user_id="U0ALICE01",
                    tz="Europe/London",
                    key=f"bench:{cid}",
                    at=clock.now(),
                )
        # Faults before the posts (and some look-ups), in a random order.
        for _ in range(int(n * fault_share)):
            kind = rng.choice(FAULTS)
            outcome.faults[kind] = outcome.faults.get(kind, 0) + 1
            x.inject(_fault(kind))
        for _ in range(max(1, n // 5)):
            kind = rng.choice(("500", "drop", "429"))
            outcome.faults[f"lookup {kind}"] = outcome.faults.get(f"lookup {kind}", 0) + 1
            x.inject(_fault(kind, "GET", "/tweets"))
        for _ in range(400):
            outcome.rounds += 1
            deliverer.drain()
            with app.sessions() as session:
                pending = session.scalars(
                    select(Delivery.id).where(Delivery.kind == "reply", Delivery.status == "pending")
                ).all()
            if not pending:
                break
            clock.advance(timedelta(seconds=301))  # past every back-off and any x-rate-limit-reset
        with app.sessions() as session:
            rows = session.scalars(select(Delivery).where(Delivery.kind == "reply")).all()
            outcome.dead = sum(1 for r in rows if r.status != "sent")
        brand_posts = [t for t in x.state.tweets if t.get("author_id") == "99"]
        for cid, post_id in targets.items():
            mine = [t for t in brand_posts if t["text"].endswith(f"({cid})")]
            on_target = [t for t in mine if {"type": "replied_to", "id": post_id} in t.get("referenced_tweets", [])]
            outcome.posted += min(1, len(on_target))
            outcome.doubled += max(0, len(mine) - 1)
            outcome.lost += 0 if mine else 1
            outcome.wrong_post += len(mine) - len(on_target)
        outcome.lookups = sum(1 for method, path, _ in x.requests if method == "GET" and path.endswith("/tweets"))
    finally:
        app.engine.dispose()
        x.stop()
        slack.stop()
    outcome.seconds = time.perf_counter() - started
    return outcome
