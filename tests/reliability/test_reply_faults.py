"""Replies to customers are posted exactly once under X's faults (fast variant of bench/reply_faults.py).

The X stand-in's duplicate-content refusal is off in the scenario, so a reply posted twice shows as
two replies. Without the look-before-posting after a lost answer this test sees doubles (tried).
"""

from __future__ import annotations

from tests.support.reply_faults import FAULTS, run


def test_replies_are_posted_exactly_once_under_x_faults(db_url: str):
    out = run(db_url, 8, seed=3, fault_share=1.0)
    assert all(out.faults.get(kind) for kind in FAULTS), out.faults  # every kind of fault happened
    assert out.lookups > 0  # lost answers were followed by a look at the brand's posts
    assert out.doubled == 0
    assert out.lost == 0
    assert out.wrong_post == 0
    assert out.posted == out.replies
    assert out.dead == 0
