"""Unsigned oversized requests are refused before they are read or logged; garbage that is not JSON,
form data or UTF-8 gets 401, never 500. (Eight 50 MB requests: ``python bench/big_requests.py``.)"""

from __future__ import annotations

import pytest

from bot.cli.run import STOP_LIMIT_SECONDS
from tests.support.big_requests import run_big_requests


@pytest.mark.timeout(120)
def test_oversized_and_malformed_requests_cost_almost_nothing():
    report = run_big_requests(count=4, megabytes=8)
    print("\n".join(report.lines()))
    assert set(report.statuses) <= {413, 0}  # refused (0: the connection was cut before the answer)
    assert 413 in report.statuses
    assert report.malformed_statuses == [401, 401, 401]
    assert report.log_bytes < 50_000
    assert report.peak_rss_mb < 150
    # and SIGTERM stops it cleanly: requests drained before the sockets close (waitress printed
    # an EBADF traceback at every stop), nothing hung past the limit
    assert "Traceback" not in report.log_text, report.log_text[-3000:]
    assert report.stop_seconds < STOP_LIMIT_SECONDS, report.log_text[-6000:]
