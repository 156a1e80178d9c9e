"""An hour of backlog arriving at once, scaled down (the full one: ``python bench/catch_up.py``):
two storms with every author's reply, retweets, distinct complaints with replies — nothing lost,
nothing doubled, every reply in its primary card's thread, nothing closed unsent."""

from __future__ import annotations

import pytest

from tests.support.history import catch_up_backlog, run_catch_up


@pytest.mark.timeout(300)
def test_a_backlog_arriving_at_once_loses_and_doubles_nothing(db_url: str):
    report = run_catch_up(db_url, catch_up_backlog(storms=(150, 80), distinct=20))
    print("\n".join(report.lines()))
    assert report.cards == report.cards_expected == 22
    assert (report.lost, report.doubled, report.closed, report.pending) == (0, 0, 0, 0)
    assert report.replies_in_thread == report.replies == 250
    assert report.last_card_seconds <= 30  # 22 cards at one a second, ahead of 250 thread lines
