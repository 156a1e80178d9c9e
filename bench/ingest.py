"""Push synthetic posts through the whole ingest path into a SQLite file; print posts/s and memory.

    python bench/ingest.py [N]        (default 100,000)

The path is the production one: a source writes each page of raw records, with its cursor, to the
durable inbox (one transaction), and the inbox drain validates, triages and ingests them (another).
The mix resembles a brand's mentions: complaints, questions, praise, retweets of complaints, and
some exact repeats (as after a stream reconnect). Posts are generated lazily in pages of 100 (X's
page size). Peak RSS is printed at checkpoints so a leak shows as growth with N. The CPU seconds
the process used are printed too: on a shared machine they move less with the load than the wall
time does (posts/s stays the figure of record).
"""

from __future__ import annotations

import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.common.clock import FakeClock
from bot.intake.inbox import Inbox, InboxDrain, RawPost
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.posts import Post
from bot.store import migrate
from bot.store.engine import make_engine, make_sessionmaker
from bot.store.models import Complaint, Delivery
from bot.store.models import Post as PostRow
from bot.triage.classify import Triage

COMPLAINTS = [
    "@AcmeHelp still waiting for my refund, it has been {n} days",
    "@AcmeHelp my order #{n} never arrived and nobody replies to my emails",
    "@AcmeHelp the app keeps crashing when I try to pay. third time this week",
    "@AcmeHelp why was I charged twice for order {n}?? this is ridiculous",
    "@AcmeHelp on hold for {n} minutes and then the call dropped. terrible service",
    "@AcmeHelp cant log in to my account since monday, please help",
]
OTHER = [
    "@AcmeHelp do you ship to Canada?",
    "@AcmeHelp what time does the store on {n}th street open",
    "Just saw the new @AcmeHelp ad on tv",
    "@AcmeHelp is the {n} model waterproof",
]
PRAISE = [
    "@AcmeHelp thank you so much, great service from Sam today!",
    "@AcmeHelp love the new design, amazing work",
]


def synthetic(n: int, seed: int = 7) -> Iterator[Post]:
    rng = random.Random(seed)
    t0 = datetime(2026, 6, 1, tzinfo=UTC)
    complaint_ids: list[str] = []
    for i in range(n):
        r = rng.random()
        created = t0 + timedelta(seconds=i)
        author = str(rng.randrange(1, 40_000))
        pid = str(10**15 + i)
        if r < 0.08 and complaint_ids:
            target = rng.choice(complaint_ids)
            yield Post(
                "x",
                pid,
                "RT: " + COMPLAINTS[0],
                author,
                f"fan{author}",
                created,
                followers=rng.randrange(0, 5000),
                retweet_of=target,
            )
            continue
        if r < 0.11 and complaint_ids:
            pid_dup = rng.choice(complaint_ids)
            yield Post("x", pid_dup, "duplicate", author, f"user{author}", created)
            continue
        if r < 0.50:
            # Real complaints rarely share their wording; identical ones would be folded into one card.
            text = rng.choice(COMPLAINTS) + f" (ref {rng.randrange(10**6)})"
        elif r < 0.85:
            text = rng.choice(OTHER)
        else:
            text = rng.choice(PRAISE)
        text = text.format(n=rng.randrange(2, 99))
        if r < 0.50:
            complaint_ids.append(pid)
            if len(complaint_ids) > 2000:
                complaint_ids.pop(0)
        yield Post(
            "x",
            pid,
            text,
            author,
            f"user{author}",
            created,
            followers=int(rng.paretovariate(1.2) * 50),
            conversation_id=pid,
        )


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def record(post: Post) -> dict[str, object]:
    """A post as a source writes it to the inbox (the replay format)."""
    return {
        "id": post.id,
        "text": post.text,
        "author_id": post.author_id,
        "author_handle": post.author_handle,
        "created_at": post.created_at.isoformat(),
        "followers": post.followers,
        "conversation_id": post.conversation_id,
        "retweet_of": post.retweet_of,
        "source": post.source,
    }


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'bench.db'}")
        migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        clock = FakeClock(datetime(2026, 6, 2, tzinfo=UTC))
        ingestor = Ingestor(Triage(), IngestPolicy("C0COMPLAIN", "C0KUDOS", frozenset({"1"}), frozenset({"acmehelp"})))
        inbox = Inbox(sessions, clock)
        drain = InboxDrain(sessions, ingestor, clock)
        page: list[RawPost] = []
        done = 0
        checkpoints = {n // 10, n // 2, n}
        start = time.perf_counter()
        cpu_start = time.process_time()
        for post in synthetic(n):
            page.append(RawPost(f"post {post.id}", record(post)))
            if len(page) == 100:
                inbox.write("x:bench", page, cursor=post.id)
                drain.drain()
                done += len(page)
                page = []
                if done in checkpoints:
                    elapsed = time.perf_counter() - start
                    print(f"  {done:>8,} posts  {done / elapsed:>8,.0f} posts/s  peak RSS {rss_mb():6.1f} MB")
        if page:
            inbox.write("x:bench", page, cursor=page[-1].record["id"])
            drain.drain()
            done += len(page)
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        with sessions() as s:
            complaints = s.scalar(select(func.count()).select_from(Complaint))
            posts = s.scalar(select(func.count()).select_from(PostRow))
            cards = s.scalar(select(func.count()).select_from(Delivery).where(Delivery.kind == "post_card"))
            folded = s.scalar(select(func.count()).select_from(Complaint).where(Complaint.duplicate_of.is_not(None)))
        print(f"stored: {complaints:,} complaints ({folded:,} folded), {posts:,} posts in the ledger, {cards:,} cards")
        print(f"skipped as malformed: {drain.skipped}; left in the inbox: {inbox.pending()}")
        print(
            f"posts={done} seconds={elapsed:.1f} posts_per_s={done / elapsed:.0f} peak_rss_mb={rss_mb():.1f}"
            f" cpu_s={cpu:.1f}"
        )


if __name__ == "__main__":
    main()
