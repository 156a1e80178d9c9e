"""One recorded history of a desk's morning, fed through the real pipeline in different shapes.

The history: a storm of near-identical posts (folded into one card), each storm author's reply,
retweets of the storm, distinct complaints with replies from their customers, the brand's public
replies with promises in them, a thank-you, and late replies. The pipeline: the inbox, the drain
(ingest), the delivery worker, the Slack stand-in. A *shape* is how the same posts, in the same
order, arrive: all at once, one at a time, or in batches split at random — with or without the
worker delivering between batches. The rule (#22): every shape ends in the same Slack state.
"""

from __future__ import annotations

import json
import random
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot import networks
from bot.app import create_app
from bot.common.clock import FakeClock
from bot.config import Secret, Settings
from bot.intake.inbox import Inbox, InboxDrain, RawPost
from bot.networks.x.settings import XSettings
from bot.runtime import build_deliverer, build_ingestor
from bot.store import migrate
from bot.store.models import Complaint
from tests.support.slack_api import SlackStandIn

COMPLAINTS = "C0COMPLAIN"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STORM = "@AcmeHelp the app is down again and I can't pay my bill"
VARIANTS = [lambda s: s, str.upper, lambda s: s + "!!", lambda s: s.replace("'", ""), lambda s: s + " #fail"]


def _post(n: int, pid: str, text: str, author: str, **extra: Any) -> dict[str, Any]:
    at = NOW - timedelta(hours=1) + timedelta(seconds=20 * n)
    return {
        "id": pid,
        "text": text,
        "author_id": f"a-{author}",
        "author_handle": author,
        "created_at": at.isoformat().replace("+00:00", "Z"),
        "followers": 100 + n,
        **extra,
    }


def recorded_history(storm: int = 24, distinct: int = 8) -> list[dict[str, Any]]:
    """The posts, in the order the network delivered them."""
    posts: list[dict[str, Any]] = []

    def add(pid: str, text: str, author: str, **extra: Any) -> None:
        posts.append(_post(len(posts), pid, text, author, **extra))

    for i in range(storm):
        add(f"s{i}", VARIANTS[i % len(VARIANTS)](STORM), f"storm{i}", conversation_id=f"s{i}")
    for i in range(0, storm, 3):
        add(f"rt{i}", "RT @storm: " + STORM, f"fan{i}", retweet_of=f"s{i}")
    for i in range(distinct):
        add(f"d{i}", f"@AcmeHelp order {1000 + i} never arrived and nobody answers my emails", f"cust{i}",
            conversation_id=f"d{i}")  # fmt: skip
    for i in range(storm):
        add(
            f"sr{i}", f"@AcmeHelp still nothing here, {i}", f"storm{i}", conversation_id=f"s{i}", in_reply_to_id=f"s{i}"
        )
    for i in range(0, distinct, 2):
        add(f"b{i}", f"@cust{i} So sorry — we'll call you back by 5pm tomorrow", "AcmeHelp", author_id="99",
            conversation_id=f"d{i}", in_reply_to_id=f"d{i}")  # fmt: skip
    for i in range(distinct):
        add(f"dr{i}", f"@AcmeHelp it's order {1000 + i}, please hurry", f"cust{i}", conversation_id=f"d{i}",
            in_reply_to_id=f"d{i}")  # fmt: skip
    add("k1", "@AcmeHelp Lindsey sorted my refund in five minutes, brilliant service, thank you!", "happy1")
    for i in range(0, storm, 4):
        add(f"late{i}", f"@AcmeHelp hello?? day two of this, {i}", f"storm{i}", conversation_id=f"s{i}",
            in_reply_to_id=f"sr{i}")  # fmt: skip
    return posts


@dataclass(frozen=True)
class Shape:
    """How the posts arrive: batch sizes (the last batch takes the rest) and whether the worker
    delivers between batches."""

    name: str
    sizes: tuple[int, ...]
    deliver_between: bool

    @staticmethod
    def all_at_once(n: int) -> Shape:
        return Shape("all at once", (n,), False)

    @staticmethod
    def one_at_a_time(n: int) -> Shape:
        return Shape("one at a time", (1,) * n, True)

    @staticmethod
    def random_split(n: int, seed: int) -> Shape:
        rng = random.Random(seed)
        sizes: list[int] = []
        while sum(sizes) < n:
            sizes.append(min(rng.choice((1, 2, 3, 5, 8, 13, 40)), n - sum(sizes)))
        return Shape(f"random split {seed}", tuple(sizes), rng.random() < 0.5)


def run_history(database_url: str, posts: list[dict[str, Any]], shape: Shape) -> dict[str, Any]:
    """Feed ``posts`` in ``shape``; deliver everything; return the Slack state, made comparable."""
    clock = FakeClock(NOW)
    with SlackStandIn() as slack:
        slack.wall = lambda: clock.now().timestamp()
        settings = _settings(database_url, slack.base_url, slack.state.token)
        app = create_app(settings, clock=clock, listener=False)
        try:
            migrate.upgrade(app.engine)
            inbox = Inbox(app.sessions, clock)
            drain = InboxDrain(app.sessions, build_ingestor(app), clock)
            drain.batch = len(posts)  # a written batch is ingested as one batch
            deliverer = build_deliverer(app, unpaced=True)
            start = 0
            for size in shape.sizes:
                batch = posts[start : start + size]
                start += size
                inbox.write("x:history", [RawPost(p["id"], {**p, "source": "x"}) for p in batch], cursor=None)
                drain.drain()
                if shape.deliver_between:
                    deliverer.drain()
            deliverer.drain()
            return slack_state(slack, app)
        finally:
            app.engine.dispose()


_TS = re.compile(r"\b\d{9,10}\.\d{6}\b")
_AGO = re.compile(r"\((?:[^()]*\bago|just now)\)")
"""A card's "(58 min ago)" depends on when it was drawn, not on what it says: left out."""


def slack_state(slack: SlackStandIn, app: Any) -> dict[str, Any]:
    """Each card (by the post it shows) with its final text and its thread's lines (as a sorted
    list: lines of one thread may be delivered in another order), complaint numbers replaced by the
    post ids they stand for and Slack timestamps dropped."""
    from bot.store.models import CommitmentLabel

    with app.sessions() as s:
        rows = s.execute(select(Complaint.id, Complaint.external_id, Complaint.slack_ts)).all()
        found = s.execute(select(CommitmentLabel.id, CommitmentLabel.post_id, CommitmentLabel.span_start)).all()
    by_ts = {r.slack_ts: r.external_id for r in rows if r.slack_ts}
    ids = {str(r.id): r.external_id for r in rows}
    labels = {str(r.id): f"{r.post_id}@{r.span_start}" for r in found}
    # Ids are the database's (PostgreSQL's sequences skip the values a killed transaction took):
    # what a message refers to is the post behind the id.

    def plain(message: dict[str, Any]) -> str:
        text = json.dumps({"text": message.get("text"), "blocks": message.get("blocks")}, sort_keys=True)
        text = re.sub(r"#(\d+)", lambda m: "#" + ids.get(m.group(1), m.group(1)), text)
        text = re.sub(r"card_(\d+)", lambda m: "card_" + ids.get(m.group(1), m.group(1)), text)
        text = re.sub(r"(label:|commitment_)(\d+)", lambda m: m.group(1) + labels.get(m.group(2), m.group(2)), text)
        text = re.sub(
            r'"(?:complaint|value|block_id)": "(\d+)"',
            lambda m: m.group(0).replace(m.group(1), ids.get(m.group(1), m.group(1))),
            text,
        )
        return _AGO.sub("(ago)", _TS.sub("<ts>", text))

    messages = slack.channel_messages(COMPLAINTS)
    cards = {}
    for card in (m for m in messages if not m.get("thread_ts")):
        thread = sorted(plain(m) for m in messages if m.get("thread_ts") == card["ts"])
        cards[by_ts.get(card["ts"], "?" + card["ts"])] = {"card": plain(card), "thread": thread}
    return {"cards": cards, "other": sorted(plain(m) for c in list(slack.state.messages) if c != COMPLAINTS
                                            for m in slack.channel_messages(c))}  # fmt: skip


# -- catching up after downtime ----------------------------------------------------------------------


@dataclass
class CatchUp:
    posts: int = 0
    complaints: int = 0
    cards_expected: int = 0
    cards: int = 0
    lost: int = 0
    doubled: int = 0
    replies: int = 0
    replies_in_thread: int = 0
    closed: int = 0
    pending: int = 0
    ingest_seconds: float = 0.0
    last_card_seconds: float = 0.0
    drained_seconds: float = 0.0
    wall_seconds: float = 0.0

    def lines(self) -> list[str]:
        return [
            f"backlog: {self.posts} posts arriving at once ({self.complaints} complaints stored)",
            f"cards: {self.cards}/{self.cards_expected} (lost {self.lost}, doubled {self.doubled})",
            f"customer replies in their card's thread: {self.replies_in_thread}/{self.replies}; "
            f"rows closed unsent: {self.closed}; left pending: {self.pending}",
            f"ingest (wall): {self.ingest_seconds:.1f} s; last card {self.last_card_seconds:.0f} s of Slack time "
            f"after ingest (1 post/s per channel); everything delivered after {self.drained_seconds:.0f} s",
            f"lost={self.lost} doubled={self.doubled} replies={self.replies_in_thread}/{self.replies} "
            f"last_card_s={self.last_card_seconds:.0f} wall_s={self.wall_seconds:.1f}",
        ]


def catch_up_backlog(storms: tuple[int, int] = (1400, 800), distinct: int = 200) -> list[dict[str, Any]]:
    """An hour of posts after downtime: two storms (each copy, then each author's reply), retweets of
    both, ``distinct`` complaints each with a reply — about 5,000 posts, in the order they were made."""
    texts = (STORM, "@AcmeHelp my card was charged twice for the same order, refund it now")
    posts: list[dict[str, Any]] = []

    def add(pid: str, text: str, author: str, **extra: Any) -> None:
        record = _post(len(posts), pid, text, author, **extra)
        record["created_at"] = (NOW - timedelta(minutes=59) + timedelta(seconds=0.6 * len(posts))).isoformat()
        posts.append(record)

    for s, copies in enumerate(storms):
        for i in range(copies):
            add(f"s{s}-{i}", VARIANTS[i % 4](texts[s]), f"st{s}-{i}", conversation_id=f"s{s}-{i}")
        for i in range(0, copies, 10):
            add(f"rt{s}-{i}", "RT @someone: " + texts[s], f"fan{s}-{i}", retweet_of=f"s{s}-{i}")
    for i in range(distinct):
        add(f"d{i}", f"@AcmeHelp parcel {5000 + i} is lost and the tracking page says nothing, day {i % 9}",
            f"cust{i}", conversation_id=f"d{i}")  # fmt: skip
    for s, copies in enumerate(storms):
        for i in range(copies):
            add(f"sr{s}-{i}", f"@AcmeHelp still nothing, {s}-{i}", f"st{s}-{i}", conversation_id=f"s{s}-{i}",
                in_reply_to_id=f"s{s}-{i}")  # fmt: skip
    for i in range(distinct):
        add(f"dr{i}", f"@AcmeHelp any news on parcel {5000 + i}?", f"cust{i}", conversation_id=f"d{i}",
            in_reply_to_id=f"d{i}")  # fmt: skip
    return posts


def run_catch_up(database_url: str, posts: list[dict[str, Any]] | None = None) -> CatchUp:
    """Write the whole backlog to the inbox at once (as a catch-up poll or a replay would), ingest it,
    then run the delivery worker against a Slack stand-in that allows one post a second per channel,
    with the clock injected; count what reached Slack."""
    import time as wall
    from collections import Counter

    from sqlalchemy import func

    from bot.store.models import Delivery

    posts = posts or catch_up_backlog()
    report = CatchUp(posts=len(posts))
    started = wall.perf_counter()
    clock = FakeClock(NOW)
    with SlackStandIn(rate_limit_per_channel=1.0) as slack:
        slack.clock = lambda: clock.now().timestamp()
        slack.wall = lambda: clock.now().timestamp()
        settings = _settings(database_url, slack.base_url, slack.state.token)
        app = create_app(settings, clock=clock, listener=False)
        try:
            migrate.upgrade(app.engine)
            Inbox(app.sessions, clock).write(
                "x:catch-up", [RawPost(p["id"], {**p, "source": "x"}) for p in posts], cursor=None
            )
            ingest_started = wall.perf_counter()
            InboxDrain(app.sessions, build_ingestor(app), clock).drain()
            report.ingest_seconds = wall.perf_counter() - ingest_started
            deliverer = build_deliverer(app)
            ingested_at = clock.now()
            with app.sessions() as s:
                rows = s.execute(
                    select(Complaint.id, Complaint.external_id, Complaint.duplicate_of, Complaint.kind)
                ).all()
            report.complaints = len(rows)
            expected = {r.external_id for r in rows if r.duplicate_of is None and r.kind in ("complaint", "question")}
            report.cards_expected = len(expected)
            last_card = None
            for _ in range(1_000_000):
                wait = deliverer.step()
                if last_card is None:
                    with app.sessions() as s:
                        waiting = s.scalar(
                            select(func.count())
                            .select_from(Complaint)
                            .where(Complaint.external_id.in_(expected), Complaint.slack_ts.is_(None))
                        )
                    if waiting == 0:
                        last_card = clock.now()
                if wait > 0 and not deliverer.due():
                    later = deliverer.next_due_in()
                    if later is None:
                        break
                    clock.advance(seconds=max(later, 0.01))
            report.last_card_seconds = ((last_card or clock.now()) - ingested_at).total_seconds()
            report.drained_seconds = (clock.now() - ingested_at).total_seconds()
            with app.sessions() as s:
                rows = s.execute(select(Complaint.external_id, Complaint.duplicate_of, Complaint.slack_ts)).all()
                report.closed = (
                    s.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "closed")) or 0
                )
                report.pending = (
                    s.scalar(select(func.count()).select_from(Delivery).where(Delivery.status == "pending")) or 0
                )
            messages = slack.channel_messages(COMPLAINTS)
            cards = [m for m in messages if not m.get("thread_ts")]
            report.cards = len(cards)
            posted = {r.external_id for r in rows if r.slack_ts}
            report.lost = len(expected - posted)
            ids = Counter((m.get("metadata") or {}).get("event_payload", {}).get("delivery_id") for m in messages)
            report.doubled = sum(1 for key, n in ids.items() if key is not None and n > 1)
            reply_ids = {p["id"] for p in posts if p.get("in_reply_to_id")}
            report.replies = len(reply_ids)
            ts_of = {r.external_id: r.slack_ts for r in rows}
            card_of = {r.external_id: r.duplicate_of for r in rows}
            with app.sessions() as s:
                ext_of_id = dict(s.execute(select(Complaint.id, Complaint.external_id)).all())
            in_thread = 0
            threads: dict[str, str] = {}
            for m in messages:
                if m.get("thread_ts"):
                    threads.setdefault(m["thread_ts"], "")
                    threads[m["thread_ts"]] += json.dumps(m.get("blocks")) + (m.get("text") or "")
            for p in posts:
                if p["id"] not in reply_ids:
                    continue
                original = p["in_reply_to_id"]
                primary = ext_of_id.get(card_of.get(original)) if card_of.get(original) else original
                thread = threads.get(ts_of.get(primary) or "", "")
                in_thread += p["text"].split("@AcmeHelp ", 1)[-1][:40] in thread
            report.replies_in_thread = in_thread
        finally:
            app.engine.dispose()
    report.wall_seconds = wall.perf_counter() - started
    return report


# -- the same, with the process killed (-9) at random moments -------------------------------------


def _settings(database_url: str, slack_url: str, token: str) -> Settings:
    return Settings(
        slack_bot_token=Secret(token),
        slack_api_url=slack_url,
        slack_complaints_channel=COMPLAINTS,
        slack_escalation_channel="C0ESCALATE",
        database_url=database_url,
        networks=networks.settings_with(x=XSettings(brand_handle="AcmeHelp", user_id="99")),
        # These histories are about copies folded into one card ("+19 similar") in any shape; a
        # storm that size would be an incident, whose own variations are tests/reliability/
        # test_incident_shapes.py.
        incident_min_authors=0,
    )


def _child(database_url: str, slack_url: str, token: str, sizes: list[int], deliver_between: bool) -> None:
    """One life of the worker: carry on from the stream's cursor (the number of posts already in
    the inbox), batch by batch, delivering as it goes; killed at any moment by the parent."""
    from bot.intake import state

    posts = recorded_history()
    clock = FakeClock(NOW)
    app = create_app(_settings(database_url, slack_url, token), clock=clock, listener=False)
    inbox = Inbox(app.sessions, clock)
    drain = InboxDrain(app.sessions, build_ingestor(app), clock)
    drain.batch = len(posts)
    deliverer = build_deliverer(app, unpaced=True)
    done = int(state.read_cursor(app.sessions, "x:history") or 0)
    drain.drain()  # what a killed life wrote but did not ingest
    start = 0
    for size in sizes:
        end = start + size
        if end > done:
            batch = posts[max(start, done) : end]
            inbox.write("x:history", [RawPost(p["id"], {**p, "source": "x"}) for p in batch], cursor=str(end))
            drain.drain()
            if deliver_between:
                deliverer.drain()
        start = end
    while True:  # a killed life may hold a row's lease: wait it out, as a worker does
        deliverer.drain()
        wait = deliverer.next_due_in()
        if wait is None:
            break
        clock.advance(seconds=wait + 0.01)


def run_history_killed(database_url: str, posts: list[dict[str, Any]], shape: Shape, seed: int) -> dict[str, Any]:
    """``run_history`` with the worker in its own process, killed with SIGKILL at random moments
    (up to 8 times) and started again, until a life finishes the history."""
    import signal
    import subprocess
    import sys

    from tests.e2e.helpers import ROOT

    assert posts == recorded_history(), "the child process replays recorded_history()"
    rng = random.Random(seed)
    clock = FakeClock(NOW)
    with SlackStandIn() as slack:
        slack.wall = lambda: clock.now().timestamp()
        settings = _settings(database_url, slack.base_url, slack.state.token)
        app = create_app(settings, clock=clock, listener=False)
        try:
            migrate.upgrade(app.engine)
            command = [sys.executable, "-m", "tests.support.history", database_url, slack.base_url,
                       slack.state.token, json.dumps(list(shape.sizes)), str(int(shape.deliver_between))]  # fmt: skip
            kills = 0
            for _ in range(100):
                child = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                if kills < 8:
                    try:
                        child.wait(timeout=rng.uniform(0.3, 2.0))  # a random moment in its life
                    except subprocess.TimeoutExpired:
                        child.send_signal(signal.SIGKILL)
                        child.wait()
                        kills += 1
                        continue
                _, err = child.communicate(timeout=120)
                if child.returncode == 0:
                    break
                raise AssertionError(f"the worker failed: {err.decode()[-2000:]}")
            return {**slack_state(slack, app), "kills": kills}
        finally:
            app.engine.dispose()


if __name__ == "__main__":
    import sys

    _child(sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4]), sys.argv[5] == "1")
