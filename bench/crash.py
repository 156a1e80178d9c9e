"""Crash safety, long run: the real bot killed with SIGKILL at random moments and restarted.

    python bench/crash.py [--posts 2000] [--kills 25] [--clicks 1000] [--workers 2] [--pg URL] [--skip-pg]

Runs on a SQLite file (one worker) and on PostgreSQL (a fresh schema, two workers by default,
either of which is killed); prints the counts for each and whether every invariant held.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import _repo  # noqa: F401  (puts the checkout on sys.path for tests.support)

from tests.support.crash import run_crash_scenario
from tests.support.procs import temporary_schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=25)
    parser.add_argument("--clicks", type=int, default=1000, help="clicks and /promise commands in all")
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--workers", type=int, default=2, help="worker processes on PostgreSQL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = run_crash_scenario(
            f"sqlite:///{Path(tmp) / 'crash.db'}", posts=args.posts, kills=args.kills, clicks=args.clicks, seed=21
        )
        print("SQLite:")
        print("\n".join("  " + line for line in report.lines()))
        print(f"sqlite_invariants_hold={report.ok}")
    if args.skip_pg:
        return
    with temporary_schema(args.pg, "crash") as url:
        report = run_crash_scenario(
            url, posts=args.posts, kills=args.kills, clicks=args.clicks, seed=22, workers=args.workers
        )
        print(f"PostgreSQL, {args.workers} workers:")
        print("\n".join("  " + line for line in report.lines()))
        print(f"postgresql_invariants_hold={report.ok}")


if __name__ == "__main__":
    main()
