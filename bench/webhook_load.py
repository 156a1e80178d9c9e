"""Webhook under load: 50 concurrent senders post 10,000 posts (1–50 a request) to /ingest/<source>.

    python bench/webhook_load.py [--senders 50] [--posts 10000] [--pg URL]

5% of requests deliberately re-send a body that was already sent and answered (a relay retrying
after a lost response); afterwards the inbox is drained and every post must be stored exactly once.
Prints the sustained rate (posts a second answered 202, i.e. committed to the inbox) and the
latency of the requests. Targets on SQLite: >= 1,000 posts/s, p99 < 500 ms. The senders run in two
separate processes (as separate machines would), but share the 2-core machine with the bot.
"""

from __future__ import annotations

import argparse
import os
import tempfile

import _repo  # noqa: F401  (puts the checkout on sys.path for tests.support)

from tests.support.procs import temporary_schema
from tests.support.webhook import run_webhook_load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--posts", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=16, help="waitress threads")
    parser.add_argument("--pg", default=None, help="also run on this PostgreSQL database")
    args = parser.parse_args()
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        report = run_webhook_load(
            f"sqlite:///{tmp}/webhook.db", senders=args.senders, posts=args.posts, threads=args.threads
        )
    print(f"SQLite ({args.senders} senders, machine load {load:.1f} at start):")
    print("\n".join("  " + line for line in report.lines()))
    ok = report.stored == args.posts and set(report.statuses) == {202}
    print(
        f"posts_per_s={report.rate:.0f} p99_ms={report.percentile(99) * 1000:.0f} stored_once={'yes' if ok else 'NO'}"
    )
    if args.pg:
        with temporary_schema(args.pg, "webhook") as url:
            pg = run_webhook_load(url, senders=args.senders, posts=args.posts, threads=args.threads)
        print(f"PostgreSQL ({args.senders} senders):")
        print("\n".join("  " + line for line in pg.lines()))


if __name__ == "__main__":
    main()
