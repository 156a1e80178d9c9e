"""A short webhook load run: concurrent senders, deliberate retries of bodies already answered —
every post stored exactly once, every request answered 202. (The timed run with its targets is
``python bench/webhook_load.py``.)"""

from __future__ import annotations

import pytest

from tests.support.webhook import run_webhook_load


@pytest.mark.timeout(300)
def test_concurrent_senders_with_retries_store_every_post_once(db_url: str):
    report = run_webhook_load(db_url, senders=8, posts=600, largest=30, retry_share=0.2, threads=6, processes=1)
    print("\n".join(report.lines()))
    assert report.retries > 0  # the scenario really re-sent bodies
    assert set(report.statuses) == {202}
    assert report.stored == 600
    assert report.inbox_rows == 0
