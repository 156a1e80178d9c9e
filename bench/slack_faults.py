"""Slack faults at set rates, long run: ``python bench/slack_faults.py [N]`` (default 1,000 complaints).

The stand-in answers 8% of posts and updates with 429 (Retry-After 1–5 s), 8% with 500, drops 5% of
connections, loses 5% of answers after doing the work, and answers 3% later than the client waits.
"""

from __future__ import annotations

import logging
import sys
import time

import _repo  # noqa: F401  (puts the checkout on sys.path for tests.support)

from tests.support.faults import slack_fault_scenario


def main() -> None:
    logging.basicConfig(level=logging.ERROR)  # each retry is a warning; the report counts them
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    started = time.perf_counter()
    report = slack_fault_scenario(n, {"429": 0.08, "500": 0.08, "drop": 0.05, "lost": 0.05, "slow": 0.03}, seed=11)
    print("\n".join(report.lines()))
    print(f"wall time {time.perf_counter() - started:.0f}s")
    print(f"invariants_hold={report.ok}")


if __name__ == "__main__":
    main()
