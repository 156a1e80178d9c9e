"""Bluesky and Mastodon misbehaving: 429 with a reset, 5xx, dropped connections, a repeated page,
an expired token and one spell of refused credentials — nothing missed, nothing doubled, one alert.
(Longer run: ``python bench/network_faults.py``.)"""

from __future__ import annotations

from tests.support.network_faults import bluesky_fault_scenario, mastodon_fault_scenario


def test_bluesky_faults_lose_nothing_double_nothing_and_alert_once():
    report = bluesky_fault_scenario(150, seed=4)
    assert report.stored == report.posts == 150
    assert report.complaints_doubled == 0
    assert report.alerts == 1
    assert report.raised >= 3  # the 5xx and the dropped connection really reached the worker's back-off
    assert len(report.faults) == 8


def test_mastodon_faults_lose_nothing_double_nothing_and_alert_once():
    report = mastodon_fault_scenario(150, seed=4)
    assert report.stored == report.posts == 150
    assert report.complaints_doubled == 0
    assert report.alerts == 1
    assert report.raised >= 3
    assert len(report.faults) == 7
