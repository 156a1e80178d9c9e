"""X misbehaving: the stream drops and repeats, 429 with reset, one 401 spell mid-run — nothing
missed, nothing doubled, exactly one credentials alert. (Long run: ``python bench/x_faults.py``.)"""

from __future__ import annotations

from tests.support.faults import x_fault_scenario


def test_x_faults_lose_nothing_double_nothing_and_alert_once():
    report = x_fault_scenario(120, seed=4)
    assert report.stored == report.posts == 120
    assert report.complaints_doubled == 0
    assert report.repeats_dropped > 0  # the stream really repeated posts
    assert report.connections > 10  # ...and really dropped, many times
    assert report.alerts == 1
