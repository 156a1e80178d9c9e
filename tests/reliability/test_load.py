"""A short load run: 10 people clicking for 5 s against two web processes and a worker on one
database — zero errors. (The timed run with its latency target is ``python bench/load.py``.)"""

from __future__ import annotations

import pytest

from tests.support.load import run_load


@pytest.mark.postgres
@pytest.mark.timeout(180)
def test_two_web_processes_under_load_answer_every_click(pg_url: str):
    report = run_load(pg_url, users=10, seconds=5, complaints=50)
    print("\n".join(report.lines()))
    assert report.requests > 50
    assert report.errors == 0
