"""Times that tell the truth (issue 10 §7): a customer waits from when they posted, not from when
the bot stored the post — after a fresh start or an outage that can be hours later."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import update

from bot.slack.ids import Action
from bot.store.models import Complaint
from tests.support.harness import COMPLAINTS, TEAM, Desk

ALICE, BOB, _ = TEAM


@pytest.fixture
def desk(db_url: str) -> Iterator[Desk]:
    d = Desk(db_url)
    yield d
    d.close()


def said(raw: bytes) -> str:
    return json.loads(raw)["text"]


def test_a_post_stored_hours_after_it_was_posted_has_waited_since_it_was_posted(desk: Desk):
    """The bot starts fresh at 09:00 and reads a post made at 04:00: it has waited 5 h, everywhere."""
    posted = desk.clock.now() - timedelta(hours=5)
    cid = desk.complaint("@AcmeHelp my refund is still missing", posted_at=posted)
    assert desk.get(cid).posted_at == posted
    assert desk.get(cid).created_at == desk.clock.now()

    assert "the oldest has waited 5 h" in said(desk.command(ALICE, "/complaints", "status")[1])

    desk.scheduler().tick()  # the first daily reminder after the fresh start
    desk.deliver()
    [digest] = [m for m in desk.slack.channel_messages(COMPLAINTS) if m["text"].startswith("Daily reminder")]
    shown = json.dumps(digest["blocks"])
    assert "the oldest waiting 5 h" in shown
    assert "0 min" not in shown

    desk.event({"type": "app_home_opened", "user": BOB, "tab": "home"})
    desk.slack.wait_for(lambda: BOB in desk.slack.state.home_views, 10)
    assert "oldest unclaimed 5 h" in json.dumps(desk.slack.state.home_views[BOB])

    desk.click(ALICE, Action.CLAIM, str(cid))
    assert f"#{cid} @cust1 — claimed, waiting 5 h" in said(desk.command(ALICE, "/complaints", "mine")[1])

    found = said(desk.command(BOB, "/complaints", "find @cust1")[1])
    assert f"<!date^{int(posted.timestamp())}^" in found  # the day they posted, not the day we read it


def test_history_lists_posts_in_the_order_they_were_posted(desk: Desk):
    """Two posts from one customer read in reverse order (a backfill): newest *posted* first."""
    now = desk.clock.now()
    later = desk.complaint("@AcmeHelp second: still broken", posted_at=now - timedelta(hours=1))
    desk.clock.advance(timedelta(minutes=1))  # the older post is read (stored) after the newer one
    earlier = desk.complaint("@AcmeHelp first: app broken", posted_at=now - timedelta(days=2))
    with desk.app.sessions() as s, s.begin():
        s.execute(update(Complaint).where(Complaint.id.in_([later, earlier])).values(author_handle="dana"))
    found = said(desk.command(BOB, "/complaints", "find @dana")[1])
    assert found.index(f"#{later} ") < found.index(f"#{earlier} ")


def test_a_post_stamped_in_the_future_waits_from_when_we_had_it(desk: Desk):
    """A customer's clock ahead of ours must not make the wait negative or hide the post."""
    desk.complaint(posted_at=desk.clock.now() + timedelta(hours=2))
    desk.clock.advance(timedelta(hours=3))
    assert "the oldest has waited 3 h" in said(desk.command(ALICE, "/complaints", "status")[1])
