"""Bluesky and Mastodon faults, longer run: ``python bench/network_faults.py [N]`` (default 1,000 posts each)."""

from __future__ import annotations

import sys
import time

import _repo  # noqa: F401  (puts the checkout on sys.path for tests.support)

from tests.support.network_faults import bluesky_fault_scenario, mastodon_fault_scenario


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    ok = True
    for scenario in (bluesky_fault_scenario, mastodon_fault_scenario):
        started = time.perf_counter()
        report = scenario(n, seed=13)
        print("\n".join(report.lines()))
        print(f"  wall time {time.perf_counter() - started:.0f}s")
        ok = ok and report.ok
    print(f"invariants_hold={ok}")


if __name__ == "__main__":
    main()
