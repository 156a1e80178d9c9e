"""Failover on PostgreSQL: two workers, the one reading the source (and posting) is kill -9'd.

    python bench/failover.py [--pg URL]

Prints how long until the other worker posts the next card (target < 30 s) and reads the source
again, and that nothing was lost or doubled.
"""

from __future__ import annotations

import argparse

import _repo  # noqa: F401  (puts the checkout on sys.path for tests.support)

from tests.support.failover import run_failover
from tests.support.procs import temporary_schema


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    with temporary_schema(args.pg, "failover") as url:
        report = run_failover(url)
    print("\n".join(report.lines()))
    print(f"failover_ok={report.ok} next_post_seconds={report.next_post_seconds:.1f}")


if __name__ == "__main__":
    main()
