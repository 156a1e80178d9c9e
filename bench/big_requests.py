"""Eight unsigned 50 MB POSTs to HTTP mode: how much log and memory they cost (targets: log < 1 MB,
RSS < 150 MB), and that signed-looking garbage gets 401/400, never 500.

    python bench/big_requests.py [COUNT] [MEGABYTES]
"""

from __future__ import annotations

import sys

import _repo  # noqa: F401  (puts the checkout on sys.path for tests.support)

from tests.support.big_requests import run_big_requests


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 8
    megabytes = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    report = run_big_requests(count=count, megabytes=megabytes)
    print("\n".join(report.lines()))
    print(f"log_bytes={report.log_bytes} peak_rss_mb={report.peak_rss_mb:.0f}")


if __name__ == "__main__":
    main()
