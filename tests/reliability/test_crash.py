"""Kill the real bot with SIGKILL at random moments — mid-post, mid-click — and restart it: nothing
lost, nothing doubled, nothing left pending. On PostgreSQL two workers run, and either may be killed.
Promises made between the kills come due a minute later and must be nagged once per rung.
(Long run: ``python bench/crash.py``: 2,000 posts, 25 kills, both engines.)"""

from __future__ import annotations

import pytest

from tests.support.crash import run_crash_scenario


@pytest.mark.timeout(420)
def test_kill_9_anywhere_loses_nothing_and_doubles_nothing(db_url: str):
    workers = 2 if db_url.startswith("postgresql") else 1
    report = run_crash_scenario(db_url, posts=150, kills=6, seed=7, clicks=240, workers=workers)
    print("\n".join(report.lines()))
    assert sum(report.kills.values()) == 6
    assert report.posts_stored == report.posts_written == 150
    assert report.missing_cards == []
    assert report.doubled_cards == []
    assert report.messages_doubled == 0
    assert report.clicks_acked > 0
    assert report.clicks_lost == 0
    assert report.promises_acked > 0  # the promise half really ran
    assert report.promises_lost == 0
    assert report.nag_steps_due > 0
    assert report.nag_messages == report.nag_steps_due
    assert report.nags_doubled == 0
    assert report.nags_missing == 0
    assert report.digests == 1
    assert report.left_pending == 0
