"""Slack misbehaving at set rates: nothing lost, nothing doubled, never faster than 1 msg/s/channel,
never a retry before Retry-After. (The long run is ``python bench/slack_faults.py``.)"""

from __future__ import annotations

from tests.support.faults import slack_fault_scenario


def test_slack_faults_at_set_rates_keep_every_invariant():
    report = slack_fault_scenario(80, {"429": 0.08, "500": 0.08, "drop": 0.05, "lost": 0.05, "slow": 0.03}, seed=3)
    assert sum(report.faults.values()) >= 15, report.faults  # the faults really happened
    assert report.lost == []
    assert report.doubled == []
    assert report.dead == 0
    assert report.min_gap >= 1.0
    assert report.early_retries == 0
    assert report.notes_posted == report.notes_expected == 16
    assert report.cards == report.complaints == 80
