"""X faults, long run: ``python bench/x_faults.py [N]`` (default 2,000 posts, half by stream, half by polling)."""

from __future__ import annotations

import sys
import time

import _repo  # noqa: F401  (puts the checkout on sys.path for tests.support)

from tests.support.faults import x_fault_scenario


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    started = time.perf_counter()
    report = x_fault_scenario(n, seed=13)
    print("\n".join(report.lines()))
    print(f"wall time {time.perf_counter() - started:.0f}s")
    print(f"invariants_hold={report.ok}")


if __name__ == "__main__":
    main()
