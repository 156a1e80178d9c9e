"""The whole conversation on the card, end to end (real app, signed requests, Slack stand-in, clock
injected): brand replies seen on X join the thread and set the first response time; promises in them
are proposed (Track / Change time / Not a promise) and tracked anyway after an hour, exactly once;
after "resolved", the customer's next posts reopen it (back to its owner) or confirm it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot.desk import complaints
from bot.history import events
from bot.history.events import EventKind
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.posts import Post
from bot.slack.ids import Action, Field
from bot.store.engine import transaction
from bot.store.models import AuditEvent, CommitmentLabel, Complaint, Promise
from bot.triage.classify import Triage
from tests.support.harness import COMPLAINTS, TEAM, Desk

ALICE, BOB, _ = TEAM
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday; London is on GMT


@pytest.fixture
def desk(db_url: str) -> Iterator[Desk]:
    d = Desk(db_url)
    d.ingestor = Ingestor(
        Triage(),
        IngestPolicy(
            COMPLAINTS, None, brand_handles=frozenset({"acmehelp"}), follow_up_days=7, team_timezone="Europe/London"
        ),
    )
    yield d
    d.close()


def ingest(desk: Desk, post_id: str, text: str, author_id: str, handle: str, **kw: object) -> None:
    post = Post("x", post_id, text, author_id, handle, desk.clock.now(), **kw)  # type: ignore[arg-type]
    desk.ingestor.ingest_batch(desk.app.sessions, [post], at=desk.clock.now())
    desk.deliver()


def brand_reply(desk: Desk, cid: int, post_id: str, text: str) -> None:
    c = desk.get(cid)
    ingest(desk, post_id, text, "99", "AcmeHelp", conversation_id=c.conversation_id, in_reply_to_id=c.external_id)


def thread(desk: Desk, cid: int) -> list[str]:
    return [json.dumps(m["blocks"], ensure_ascii=False) for m in desk.thread_of(cid)]


def labels(desk: Desk) -> list[CommitmentLabel]:
    with desk.app.sessions() as s:
        return list(s.scalars(select(CommitmentLabel).order_by(CommitmentLabel.id)).all())


def promises_on(desk: Desk, cid: int) -> list[Promise]:
    with desk.app.sessions() as s:
        return list(s.scalars(select(Promise).where(Promise.complaint_id == cid).order_by(Promise.id)).all())


def test_brand_replies_seen_on_x_join_the_thread_and_their_promises_are_proposed(desk: Desk):
    cid = desk.complaint("@AcmeHelp my broadband is down again, third time this month")
    desk.click(ALICE, "ft_claim", str(cid))
    desk.clock.set(START + timedelta(minutes=20))
    brand_reply(desk, cid, "2001", "@cust1 Sorry! We'll call you back by 5pm tomorrow")

    lines = thread(desk, cid)
    assert any("@AcmeHelp replied (on X)" in t and "x.com/AcmeHelp/status/2001" in t for t in lines), lines
    assert not any("sent by" in t for t in lines)
    [proposal] = [t for t in lines if "reads like a promise" in t]
    assert f"<@{ALICE}>" in proposal
    assert all(word in proposal for word in ("Track", "Change time", "Not a promise"))
    assert "first response 20 min" in json.dumps(desk.card(cid)["blocks"])
    with desk.app.sessions() as s:
        [event] = s.scalars(select(AuditEvent).where(AuditEvent.action == EventKind.PUBLIC_REPLY.value)).all()
        details = events.details_of(event)
        assert isinstance(details, events.PublicReply)
        assert details.first
        assert details.response_seconds == 1200
        assert details.sent_by is None

    # Track: a promise owned by the complaint's owner; the click is the label, with who and when
    [label] = labels(desk)
    assert label.decision == "proposed"
    desk.click(BOB, Action.COMMIT_TRACK, f"label:{label.id}")
    [promise] = promises_on(desk, cid)
    assert promise.owner_id == ALICE
    assert promise.due_at == datetime(2026, 3, 3, 17, 0, tzinfo=UTC)
    [label] = labels(desk)
    assert (label.decision, label.decided_by, label.decided_at) == ("tracked", BOB, desk.clock.now())
    desk.deliver()
    assert any("Tracking: call you back" in t for t in thread(desk, cid))

    # a second reply in the conversation is no longer the first response
    brand_reply(desk, cid, "2002", "@cust1 We'll email the refund details by friday")
    [_, second] = labels(desk)
    desk.click(ALICE, Action.COMMIT_NOT_PROMISE, f"label:{second.id}")
    assert labels(desk)[1].decision == "rejected"
    assert len(promises_on(desk, cid)) == 1
    with desk.app.sessions() as s:
        replies = s.scalars(select(AuditEvent).where(AuditEvent.action == EventKind.PUBLIC_REPLY.value)).all()
        assert [events.details_of(e).first for e in replies] == [True, False]  # type: ignore[union-attr]


def test_an_untouched_proposal_is_tracked_after_an_hour_exactly_once(desk: Desk):
    cid = desk.complaint()
    desk.click(ALICE, "ft_claim", str(cid))
    brand_reply(desk, cid, "2001", "@cust1 we'll text you by 6pm tomorrow")
    sched = desk.scheduler()
    desk.clock.set(START + timedelta(minutes=59))
    sched.tick()
    assert promises_on(desk, cid) == []
    desk.clock.set(START + timedelta(minutes=61))
    sched.tick()
    sched.tick()
    desk.scheduler().tick()  # another worker's scheduler at the same moment
    [promise] = promises_on(desk, cid)
    assert promise.owner_id == ALICE
    assert promise.due_at == datetime(2026, 3, 3, 18, 0, tzinfo=UTC)
    [label] = labels(desk)
    assert (label.decision, label.decided_by) == ("auto_tracked", "followthrough")
    desk.deliver()
    assert any("nobody answered within the hour" in t for t in thread(desk, cid))
    # a late click on the old proposal changes nothing and says why
    desk.click(BOB, Action.COMMIT_TRACK, f"label:{label.id}")
    assert "Already decided" in desk.responses()[-1]["text"]
    assert len(promises_on(desk, cid)) == 1


def test_change_time_tracks_the_proposal_at_the_time_given(desk: Desk):
    cid = desk.complaint()
    desk.click(ALICE, "ft_claim", str(cid))
    brand_reply(desk, cid, "2001", "@cust1 we'll call you by 5pm tomorrow")
    [label] = labels(desk)
    desk.click(ALICE, Action.COMMIT_CHANGE, f"label:{label.id}")
    view = desk.opened_view()
    desk.submit(ALICE, view, {Field.COMMIT_WHEN: {"value": "friday 10am"}})
    [promise] = promises_on(desk, cid)
    assert promise.due_at == datetime(2026, 3, 6, 10, 0, tzinfo=UTC)
    assert labels(desk)[0].decision == "changed"


def test_brand_posts_outside_any_complaint_stay_set_aside(desk: Desk):
    cid = desk.complaint()
    ingest(desk, "2001", "Our spring sale starts today!", "99", "AcmeHelp")
    assert labels(desk) == []
    assert not any("replied (on X)" in t for t in thread(desk, cid))


def test_after_resolve_a_negative_post_reopens_to_the_last_owner_and_a_thankful_one_confirms(desk: Desk):
    angry = desk.complaint("@AcmeHelp no internet since Monday")
    happy = desk.complaint("@AcmeHelp my parcel is lost")
    for cid in (angry, happy):
        desk.click(ALICE, "ft_claim", str(cid))
        with transaction(desk.app.sessions) as s:
            complaints.resolve(
                s, cid, user_id=ALICE, note="engineer booked", customer_confirmed=False, at=desk.clock.now()
            )
    desk.deliver()
    desk.clock.set(START + timedelta(days=2))
    a, h = desk.get(angry), desk.get(happy)
    ingest(desk, "3001", "@AcmeHelp still no call. It's been 6 hours. Useless.", a.author_id, a.author_handle)
    ingest(desk, "3002", "@AcmeHelp thank you so much, all sorted now!", h.author_id, h.author_handle)

    with desk.app.sessions() as s:
        assert s.scalars(select(Complaint.id)).all() == [angry, happy], "no new cards"
    a, h = desk.get(angry), desk.get(happy)
    assert (a.status, a.owner_id) == ("claimed", ALICE)
    assert (h.status, h.customer_confirmed) == ("resolved", True)
    assert any("still no call" in t for t in thread(desk, angry))
    [dm] = desk.slack.channel_messages("D0ALICE01")
    assert f"#{angry} is back with you" in json.dumps(dm["blocks"])
    assert "customer confirmed" in json.dumps(desk.card(happy)["blocks"])


def test_after_follow_up_days_a_new_post_is_a_new_complaint(desk: Desk):
    cid = desk.complaint("@AcmeHelp no internet since Monday")
    with transaction(desk.app.sessions) as s:
        complaints.resolve(s, cid, user_id=ALICE, note="fixed", customer_confirmed=False, at=desk.clock.now())
    desk.clock.set(START + timedelta(days=8))
    c = desk.get(cid)
    ingest(desk, "3001", "@AcmeHelp down again, this is ridiculous", c.author_id, c.author_handle)
    assert desk.get(cid).status == "resolved"
    with desk.app.sessions() as s:
        assert len(s.scalars(select(Complaint.id)).all()) == 2


def test_two_angry_posts_in_one_batch_reopen_once_and_both_join_the_thread(desk: Desk):
    cid = desk.complaint("@AcmeHelp no internet since Monday")
    desk.click(ALICE, "ft_claim", str(cid))
    with transaction(desk.app.sessions) as s:
        complaints.resolve(s, cid, user_id=ALICE, note="fixed", customer_confirmed=False, at=desk.clock.now())
    c = desk.get(cid)
    posts = [
        Post("x", "3001", "@AcmeHelp it's down AGAIN. useless", c.author_id, c.author_handle, desk.clock.now()),
        Post("x", "3002", "@AcmeHelp still nothing, terrible", c.author_id, c.author_handle, desk.clock.now()),
    ]
    desk.ingestor.ingest_batch(desk.app.sessions, posts, at=desk.clock.now())
    desk.deliver()
    assert (desk.get(cid).status, desk.get(cid).owner_id) == ("claimed", ALICE)
    lines = thread(desk, cid)
    assert any("AGAIN" in t for t in lines)
    assert any("still nothing" in t for t in lines)
    with desk.app.sessions() as s:
        assert len(s.scalars(select(Complaint.id)).all()) == 1
        reopened = s.scalars(select(AuditEvent).where(AuditEvent.action == EventKind.REOPENED.value)).all()
        assert len(reopened) == 1
