"""Two workers on PostgreSQL; the one reading the source (and posting) is kill -9'd: the other posts
the next card within seconds and takes the source over once the dead worker's lease expires, with
nothing lost or doubled. (Timed run: ``python bench/failover.py``.)"""

from __future__ import annotations

import pytest

from tests.support.failover import run_failover


@pytest.mark.postgres
@pytest.mark.timeout(300)
def test_killing_the_posting_worker_hands_its_work_to_the_other(pg_url: str):
    report = run_failover(pg_url, before=20, after=5)
    print("\n".join(report.lines()))
    assert report.next_post_seconds < 30
    assert report.source_resumed_seconds < 45
    assert report.cards == report.complaints == 25
    assert report.doubled == 0
    assert report.left_pending == 0
