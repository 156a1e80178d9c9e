"""Catching up after downtime: an hour of backlog arriving at once (#22).

    python bench/catch_up.py [--postgres URL]

About 5,000 posts — two storms (1,400 and 800 near-identical posts, each author's reply, retweets)
and 200 distinct complaints with their replies — written to the inbox in one go, ingested, then
delivered to a Slack stand-in that allows one post a second per channel (the clock is injected, so
Slack time is counted, not waited). Prints: cards expected and posted, lost, doubled, every reply in
its primary card's thread, rows closed unsent, and the Slack time until the last card was up.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import _repo  # noqa: F401  (puts the checkout on sys.path for tests.support)

from tests.support.history import run_catch_up


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--postgres", default=None, help="also run on this PostgreSQL URL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        print("== SQLite")
        report = run_catch_up(f"sqlite:///{Path(tmp) / 'catch_up.db'}")
        print("\n".join(report.lines()))
    if args.postgres:
        print("== PostgreSQL")
        print("\n".join(run_catch_up(args.postgres).lines()))
    return 0 if report.lost == report.doubled == 0 and report.replies_in_thread == report.replies else 1


if __name__ == "__main__":
    raise SystemExit(main())
