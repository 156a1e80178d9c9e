"""The wedge scenario with its timings: a storm of near-identical posts, a reply and 3 retweets to
every folded copy, then new distinct complaints.

    python bench/wedge.py [--copies 150] [--new 20] [--pg URL]

Prints whether every new complaint got its card, every folded customer's reply reached the primary
card's thread, and how long (Slack time, at 1 message/s/channel) from the last ingest to the last
new card and to the last delivery.
"""

from __future__ import annotations

import argparse

import _repo  # noqa: F401  (puts the checkout on sys.path for tests.support)

from tests.support.procs import temporary_schema
from tests.support.wedge import run_wedge


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=150)
    parser.add_argument("--new", type=int, default=20)
    parser.add_argument("--pg", default=None, help="also run on this PostgreSQL (a fresh schema)")
    args = parser.parse_args()
    runs = [("SQLite", None)]
    for name, url in runs:
        report = run_wedge(url, copies=args.copies, new=args.new)
        print(f"{name}:")
        print("\n".join("  " + line for line in report.lines()))
    if args.pg:
        with temporary_schema(args.pg, "wedge") as url:
            report = run_wedge(url, copies=args.copies, new=args.new)
            print("PostgreSQL:")
            print("\n".join("  " + line for line in report.lines()))
    print(f"wedge_ok={report.ok} last_card_seconds={report.last_card_seconds:.1f}")


if __name__ == "__main__":
    main()
