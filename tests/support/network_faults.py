"""Fault scenarios for the Bluesky and Mastodon sources, shared by the reliability tests and benches.

Posts keep arriving between polls while the stand-in throws every fault at the source in turn —
429 with a reset, 5xx, dropped connections, a page repeated after a reconnect, an expired access
token, and one spell of refused credentials lasting several polls. The source runs as the worker
runs it (an exception is the worker loop's back-off; the returned wait moves the injected clock).
Afterwards: every post stored once, no complaint doubled, one credentials alert.
"""

from __future__ import annotations

import random
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from bot.common.clock import FakeClock
from bot.intake.inbox import Inbox, InboxDrain
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.source import SourceContext
from bot.store import migrate
from bot.store.engine import make_engine, make_sessionmaker
from bot.store.models import Complaint, Delivery
from bot.store.models import Post as PostRow
from bot.triage.classify import Triage

CHANNEL = "C0COMPLAIN"


@dataclass
class NetworkFaultReport:
    network: str
    posts: int = 0
    stored: int = 0
    complaints_doubled: int = 0
    alerts: int = 0
    polls: int = 0
    raised: int = 0
    faults: Counter[str] = field(default_factory=Counter)

    @property
    def ok(self) -> bool:
        return self.stored == self.posts and self.complaints_doubled == 0 and self.alerts == 1

    def lines(self) -> list[str]:
        return [
            f"{self.network}: {self.posts} posts arrived during {self.polls} polls",
            f"  faults: {', '.join(f'{k} x{v}' for k, v in self.faults.items())}",
            f"  raised to the worker's back-off: {self.raised}",
            f"  stored {self.stored}, complaints doubled {self.complaints_doubled}, credentials alerts {self.alerts}",
        ]


def _run(
    report: NetworkFaultReport, source: Any, drain: InboxDrain, clock: FakeClock, sessions: Any, step_faults: Any
) -> None:
    for poll in range(40 * report.posts):
        step_faults(poll)
        try:
            wait = source.step()
        except Exception:  # the worker's loop backs off on these (tests/unit/test_worker.py)
            report.raised += 1
            wait = 5.0
        report.polls += 1
        drain.drain()
        clock.advance(timedelta(seconds=wait))
        with sessions() as s:
            if s.scalar(select(func.count()).select_from(PostRow)) >= report.posts and poll > 30:
                return


def _finish(report: NetworkFaultReport, sessions: Any) -> None:
    with sessions() as s:
        report.stored = s.scalar(select(func.count()).select_from(PostRow)) or 0
        per = s.execute(select(Complaint.external_id, func.count()).group_by(Complaint.external_id)).all()
        report.complaints_doubled = sum(1 for _, count in per if count > 1)
        alerts = s.scalars(select(Delivery.payload).where(Delivery.kind == "alert")).all()
        report.alerts = sum(1 for a in alerts if "cannot read" in str(a.get("text", "")))


def bluesky_fault_scenario(n: int, *, seed: int = 7) -> NetworkFaultReport:
    from bot.networks.bluesky.client import BlueskySession
    from bot.networks.bluesky.source import BlueskyPoller
    from tests.support.bluesky_api import BlueskyStandIn, BskyFault

    rng = random.Random(seed)
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    report = NetworkFaultReport("bluesky", posts=n)
    brand, password = "did:plc:acmebrandacmebrandacmebr", "abcd-efgh-ijkl-mnop"
    customers = [f"did:plc:customer{i:017d}" for i in range(20)]
    with tempfile.TemporaryDirectory() as tmp, BlueskyStandIn() as bsky:
        bsky.now = lambda: clock.now().timestamp()
        bsky.add_account(brand, "acme.bsky.social", password=password)
        for i, did in enumerate(customers):
            bsky.add_account(did, f"c{i}.bsky.social", followers=rng.randrange(10_000))
        engine = make_engine(f"sqlite:///{Path(tmp) / 'b.db'}")
        migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        ctx = SourceContext(sessions, Inbox(sessions, clock), clock, CHANNEL)
        policy = IngestPolicy(CHANNEL, None, frozenset({brand}), frozenset({"acme.bsky.social"}))
        drain = InboxDrain(sessions, Ingestor(Triage(), policy), clock)
        session = BlueskySession("acme.bsky.social", password, service_url=bsky.base_url, clock=clock, timeout=5)
        source = BlueskyPoller(ctx, session, page_size=10, max_pages=50)
        source.step()  # the first poll sets the cursor (it reads only the newest page)
        sent = 0
        nsid = "app.bsky.notification.listNotifications"
        plan = {
            3: ("429", lambda: bsky.inject(BskyFault(429, nsid=nsid, reset_in=rng.randrange(5, 60)))),
            5: ("500", lambda: bsky.inject(BskyFault(500, nsid=nsid))),
            7: ("502 on profiles", lambda: bsky.inject(BskyFault(502, nsid="app.bsky.actor.getProfiles"))),
            9: ("dropped connection", lambda: bsky.inject(BskyFault(0, nsid=nsid))),
            11: ("repeated page after a reconnect", lambda: setattr(bsky, "repeat_next_page", True)),
            13: ("expired access token", bsky.expire_tokens),
            15: ("app password revoked for 3 polls", lambda: bsky.revoke_password(brand)),
            18: ("app password restored", lambda: bsky.state.accounts[brand].update(password=password)),
        }

        def faults(poll: int) -> None:
            nonlocal sent
            for _ in range(min(rng.randrange(0, 12), n - sent)):
                clock.advance(timedelta(milliseconds=rng.randrange(1, 500)))
                bsky.add_post(customers[sent % 20], f"@acme.bsky.social order {sent} still missing, refund please")
                sent += 1
            if poll in plan:
                name, act = plan[poll]
                act()
                report.faults[name] += 1

        _run(report, source, drain, clock, sessions, faults)
        _finish(report, sessions)
    return report


def mastodon_fault_scenario(n: int, *, seed: int = 7) -> NetworkFaultReport:
    from bot.networks.mastodon.source import MastodonPoller, make_client
    from tests.support.mastodon_api import MastodonStandIn, MastoFault

    rng = random.Random(seed)
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    report = NetworkFaultReport("mastodon", posts=n)
    with tempfile.TemporaryDirectory() as tmp, MastodonStandIn() as masto:
        masto.now = lambda: clock.now().timestamp()
        masto.add_account("acmehelp", brand=True)
        customers = [masto.add_account(f"c{i}", followers=rng.randrange(10_000)) for i in range(20)]
        engine = make_engine(f"sqlite:///{Path(tmp) / 'm.db'}")
        migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        ctx = SourceContext(sessions, Inbox(sessions, clock), clock, CHANNEL)
        policy = IngestPolicy(CHANNEL, None, frozenset({masto.brand_id}), frozenset({"acmehelp"}))
        drain = InboxDrain(sessions, Ingestor(Triage(), policy), clock)
        client, last = make_client(masto.base_url, masto.token, timeout=5)
        source = MastodonPoller(ctx, client, last, max_pages=50)
        source.step()
        sent = 0
        token = masto.token
        path = "/api/v1/notifications"
        plan = {
            3: ("429", lambda: masto.inject(MastoFault(429, path=path, reset_in=rng.randrange(5, 60)))),
            5: ("503", lambda: masto.inject(MastoFault(503, path=path))),
            7: ("500 on a thread's context", lambda: masto.inject(MastoFault(500, path="/context"))),
            9: ("dropped connection", lambda: masto.inject(MastoFault(0, path=path))),
            11: ("repeated page after a reconnect", lambda: setattr(masto, "repeat_next_page", True)),
            15: ("token revoked for 3 polls", lambda: setattr(masto, "token", "rotated-elsewhere")),
            18: ("token restored", lambda: setattr(masto, "token", token)),
        }
        thread: list[str] = []

        def faults(poll: int) -> None:
            nonlocal sent
            for _ in range(min(rng.randrange(0, 12), n - sent)):
                clock.advance(timedelta(milliseconds=rng.randrange(2, 500)))
                reply_to = thread[-1] if thread and rng.random() < 0.2 else None
                status = masto.add_status(
                    customers[sent % 20], f"<p>@acmehelp order {sent} still missing</p>", reply_to=reply_to
                )
                thread.append(status)
                sent += 1
            if poll in plan:
                name, act = plan[poll]
                act()
                report.faults[name] += 1

        _run(report, source, drain, clock, sessions, faults)
        _finish(report, sessions)
    return report
