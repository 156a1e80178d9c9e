"""Load: 50 people clicking for 60 s in HTTP mode, two web processes and a worker on PostgreSQL.

    python bench/load.py [--users 50] [--seconds 60] [--pg URL]

Target: p99 ack < 500 ms, zero errors. Each person pauses 0.2–1.0 s between clicks (about 1.7
clicks a second each — far busier than people are); a second run with no pause at all is printed as
a stress figure. The load generator shares the 2-core machine with the bot and PostgreSQL, so its
own scheduling is inside the measured latency.
"""

from __future__ import annotations

import argparse

import _repo  # noqa: F401  (puts the checkout on sys.path for tests.support)

from tests.support.load import run_load
from tests.support.procs import temporary_schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with temporary_schema(args.pg, "load") as url:
        report = run_load(url, users=args.users, seconds=args.seconds)
        print(f"{args.users} people, 0.2–1.0 s between clicks:")
        print("\n".join("  " + line for line in report.lines()))
        stress = run_load(url, users=args.users, seconds=min(args.seconds, 20), think=(0, 0), seed=2)
        print(f"stress, {args.users} requests always in flight (no pause):")
        print("\n".join("  " + line for line in stress.lines()))
        print(
            f"p99_ms={report.percentile(0.99):.0f} errors={report.errors} stress_p99_ms={stress.percentile(0.99):.0f}"
        )


if __name__ == "__main__":
    main()
