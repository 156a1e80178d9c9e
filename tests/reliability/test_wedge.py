"""The wedge that once stopped every new card (150 copies of one post, then a reply and 3 retweets to
each copy, then 20 new complaints): now every new complaint gets its card, every folded customer's
reply is in the primary card's thread, and nothing is left pending, lost or doubled.
(The same scenario with timings: ``python bench/wedge.py``.)"""

from __future__ import annotations

import pytest

from tests.support.wedge import run_wedge


@pytest.mark.timeout(300)
def test_a_storm_of_copies_and_their_replies_never_stops_new_cards(db_url: str):
    report = run_wedge(db_url)
    print("\n".join(report.lines()))
    assert report.folded == 149
    assert report.new_cards == report.new_complaints == 20
    assert report.replies_in_thread == 150
    assert report.labelled == 149  # all but the primary's own customer say whose complaint it is
    assert report.pending == 0
    assert report.lost == []
    assert report.doubled == 0
    assert report.last_card_seconds <= 25  # 20 cards at one a second, ahead of the thread lines


@pytest.mark.timeout(300)
def test_replies_that_arrive_in_the_same_batch_as_the_storm_reach_the_primarys_thread(db_url: str):
    """A replay file or a catch-up after downtime: 150 near-identical posts and each author's reply,
    ingested together. The replies' card is requested earlier in the same batch, so it is pending —
    never closed as "cannot be posted" (149 of 150 replies were, before)."""
    report = run_wedge(db_url, one_batch=True)
    print("\n".join(report.lines()))
    assert report.folded == 149
    assert report.replies_in_thread == 150
    assert report.labelled == 149
    assert report.pending == 0
    assert report.lost == []
    assert report.doubled == 0
