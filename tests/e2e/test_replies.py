"""Answering the customer from the card, end to end: the real app behind waitress getting signed
requests, the Slack stand-in, the X stand-in (strict OAuth 1.0a), an injected clock.

complaint → Reply "We'll call you back by 5pm tomorrow" → one reply on X to the right post → a promise
due 17:00 tomorrow in the owner's zone, tracked → time passes → the nag ladder runs.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from bot import networks
from bot.config import Secret
from bot.history import events
from bot.history.events import EventKind
from bot.networks.x.settings import XSettings
from bot.slack.ids import Action, Field
from bot.store.models import AuditEvent, CommitmentLabel, Delivery, Promise
from tests.support.harness import COMPLAINTS, TEAM, Desk
from tests.support.x_api import XStandIn

ALICE, BOB, _ = TEAM
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # Monday; London is on GMT


@pytest.fixture
def x() -> Iterator[XStandIn]:
    with XStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def desk(db_url: str, x: XStandIn) -> Iterator[Desk]:
    keys = x.set_brand("99", "AcmeHelp")
    d = Desk(
        db_url,
        networks=networks.settings_with(
            x=XSettings(
                api_url=x.base_url,
                brand_handle="AcmeHelp",
                user_id="99",
                api_key=Secret(keys["X_API_KEY"]),
                api_secret=Secret(keys["X_API_SECRET"]),
                access_token=Secret(keys["X_ACCESS_TOKEN"]),
                access_token_secret=Secret(keys["X_ACCESS_TOKEN_SECRET"]),
            )
        ),
    )
    x.now = lambda: d.clock.now().timestamp()
    x.refuse_duplicates = False  # a double post must show up as two replies, not hide behind X's refusal
    yield d
    d.close()


def customer_post(desk: Desk, x: XStandIn, text: str = "@AcmeHelp my router has been dead for 3 days") -> int:
    cid = desk.complaint(text)
    complaint = desk.get(cid)
    x.add_user(complaint.author_id, complaint.author_handle)
    x.add_tweet(complaint.external_id, text, complaint.author_id)
    return cid


def buttons(message: dict) -> dict[str, dict]:
    out = {}
    for block in message["blocks"]:
        for element in block.get("elements") or []:
            if element.get("type") == "button":
                out[element["text"]["text"]] = element
    return out


def thread_texts(desk: Desk, cid: int) -> list[str]:
    return [json.dumps(m["blocks"], ensure_ascii=False) for m in desk.thread_of(cid)]


def reply_from_card(desk: Desk, cid: int, text: str, user: str = ALICE) -> tuple[int, bytes]:
    opened = len(desk.slack.state.views)
    desk.click(user, Action.REPLY, str(cid))
    view = desk.opened_view(opened + 1)
    status, raw, _ = desk.submit(user, view, {Field.REPLY_TEXT: {"value": text}})
    return status, raw


def test_reply_from_the_card_posts_once_tracks_the_promise_and_the_ladder_runs(desk: Desk, x: XStandIn):
    cid = customer_post(desk, x)
    desk.click(ALICE, "ft_claim", str(cid))
    card = desk.card(cid)
    assert "Reply" in buttons(card), "the card offers Reply when the brand's keys are set"
    assert "Open on X" not in buttons(card)

    desk.clock.set(START + timedelta(minutes=30))
    desk.click(ALICE, Action.REPLY, str(cid))
    view = desk.opened_view()
    assert view["blocks"][0]["element"]["initial_value"] == f"@{desk.get(cid).author_handle} "
    text = f"@{desk.get(cid).author_handle} So sorry! We'll call you back by 5pm tomorrow"
    status, raw, _ = desk.submit(ALICE, view, {Field.REPLY_TEXT: {"value": text}})
    assert status == 200
    assert raw in (b"", b"{}"), raw

    desk.deliver()
    complaint = desk.get(cid)
    [reply] = x.replies_to(complaint.external_id)  # exactly one, to the customer's post
    assert reply["text"] == text
    assert not x.oauth_refusals

    # the promise: due 17:00 tomorrow in Alice's zone (London, GMT in March), owned by the sender
    with desk.app.sessions() as s:
        [promise] = s.scalars(select(Promise).where(Promise.complaint_id == cid)).all()
        assert promise.owner_id == ALICE
        assert promise.created_by == ALICE
        assert promise.due_at == datetime(2026, 3, 3, 17, 0, tzinfo=UTC)
        [label] = s.scalars(select(CommitmentLabel)).all()
        assert (label.origin, label.decision, label.decided_by) == ("card", "tracked", ALICE)
        sent = s.scalars(select(Delivery).where(Delivery.kind == "reply")).one()
        assert sent.status == "sent"
        assert sent.remote_id == reply["id"]
        assert sent.payload["sender"] == ALICE
        [public] = s.scalars(select(AuditEvent).where(AuditEvent.action == EventKind.PUBLIC_REPLY.value)).all()
        details = events.details_of(public)
        assert isinstance(details, events.PublicReply)
        assert details.first
        assert details.sent_by == ALICE
        assert details.response_seconds == 1800

    thread = thread_texts(desk, cid)
    assert any("@AcmeHelp replied (on X)" in t and f"/status/{reply['id']}" in t and f"<@{ALICE}>" in t for t in thread)
    assert any("Tracking: call you back" in t and "Change time" in t and "Not a promise" in t for t in thread)
    assert not any("recorded a promise" in t for t in thread), "the Tracking line says it once"
    assert "first response 30 min" in json.dumps(desk.card(cid)["blocks"])

    # time passes: the ladder runs on the tracked promise
    sched = desk.scheduler()
    desk.clock.set(datetime(2026, 3, 3, 17, 1, tzinfo=UTC))
    sched.tick()
    desk.clock.set(datetime(2026, 3, 3, 18, 2, tzinfo=UTC))
    sched.tick()
    desk.deliver()
    with desk.app.sessions() as s:
        kinds = s.scalars(select(Delivery.kind).where(Delivery.promise_id == promise.id).order_by(Delivery.id)).all()
    assert kinds == ["nag_dm", "nag_thread"]
    assert len(desk.slack.channel_messages("D0ALICE01")) == 1
    assert len(x.replies_to(complaint.external_id)) == 1


def test_x_length_rule_refuses_with_the_count_before_anything_is_stored(desk: Desk, x: XStandIn):
    cid = customer_post(desk, x)
    text = "@cust " + "日本" * 140  # 286 characters but 566 weighted: CJK counts 2
    _status, raw = reply_from_card(desk, cid, text)
    answer = json.loads(raw)
    assert answer["response_action"] == "errors"
    assert "566/280" in answer["errors"][Field.REPLY_TEXT]
    link = "https://example.com/" + "a" * 200  # a link counts 23, however long
    assert reply_from_card(desk, cid, f"@cust see {link} for the fix")[1] in (b"", b"{}")
    desk.deliver()
    assert len(x.replies_to(desk.get(cid).external_id)) == 1
    with desk.app.sessions() as s:
        assert s.scalars(select(Delivery.kind).where(Delivery.kind == "reply")).all() == ["reply"]


def test_a_refused_reply_is_shown_in_the_thread_with_x_reason(desk: Desk, x: XStandIn):
    cid = customer_post(desk, x)
    x.state.tweets.clear()  # the customer deleted their post
    reply_from_card(desk, cid, "@cust we're on it")
    desk.deliver()
    thread = thread_texts(desk, cid)
    assert any("was *not* posted on X" in t and "gone or invisible" in t for t in thread), thread


def test_without_write_keys_reply_is_hidden_and_the_card_opens_the_post(db_url: str):
    desk = Desk(db_url)
    try:
        cid = desk.complaint(url="https://x.com/cust1/status/1001")
        card = buttons(desk.card(cid))
        assert "Reply" not in card
        assert card["Open on X"]["url"] == "https://x.com/cust1/status/1001"
        status, _raw, _ = desk.click(ALICE, Action.OPEN_POST, str(cid))
        assert status == 200
    finally:
        desk.close()


def test_reply_on_a_network_without_write_keys_says_so_privately(db_url: str):
    """A Reply button from an older card (the keys removed since) is answered, naming the network."""
    desk = Desk(db_url)
    try:
        cid = desk.complaint(url="https://x.com/cust1/status/1001")
        status, _raw, _ = desk.click(ALICE, Action.REPLY, str(cid), key="no-keys")
        assert status == 200
        [answer] = desk.responses("no-keys")
        assert answer["response_type"] == "ephemeral"
        assert answer["text"] == "Replying on X is not set up (see `followthrough check`)."
    finally:
        desk.close()


def test_internal_notes_are_marked_internal(desk: Desk, x: XStandIn):
    cid = customer_post(desk, x)
    desk.click(ALICE, "ft_claim", str(cid))
    desk.deliver()
    assert any("_internal_" in t and "claimed this" in t for t in thread_texts(desk, cid))


def test_the_resolve_form_can_send_a_closing_reply_through_the_reply_path(desk: Desk, x: XStandIn):
    cid = customer_post(desk, x)
    desk.click(ALICE, "ft_claim", str(cid))
    desk.click(ALICE, "ft_resolve", str(cid))
    view = desk.opened_view()
    assert Field.CLOSING_REPLY in [b.get("block_id") for b in view["blocks"]]
    text = f"@{desk.get(cid).author_handle} we think this is sorted now, can you confirm it works?"
    status, raw, _ = desk.submit(
        ALICE, view, {"ft_note": {"value": "router replaced"}, Field.CLOSING_REPLY: {"value": text}}
    )
    assert status == 200
    assert raw in (b"", b"{}"), raw
    assert desk.get(cid).status == "resolved"
    desk.deliver()
    [reply] = x.replies_to(desk.get(cid).external_id)
    assert reply["text"] == text
    assert any("replied (on X)" in t and f"<@{ALICE}>" in t for t in thread_texts(desk, cid))


def test_check_reports_whether_replying_is_set_up(desk: Desk, x: XStandIn):
    from bot.networks.x.check import check_x_replies

    good = check_x_replies(desk.settings)
    assert good.ok
    assert "replies are posted as @AcmeHelp" in good.detail
    bad = check_x_replies(desk.settings.with_network("x", access_token_secret=Secret("revoked")))
    assert not bad.ok
    assert "refused (401)" in bad.detail
    other = check_x_replies(desk.settings.with_network("x", brand_handle="SomeoneElse"))
    assert not other.ok
    off = check_x_replies(desk.settings.with_network("x", api_key=Secret("")))
    assert off.ok
    assert off.detail.startswith("off:")


def test_a_reply_sent_from_the_card_is_not_shown_again_when_x_shows_it_back(desk: Desk, x: XStandIn):
    from bot.intake.ingest import Ingestor, IngestPolicy, Outcome
    from bot.intake.posts import Post
    from bot.triage.classify import Triage

    cid = customer_post(desk, x)
    reply_from_card(desk, cid, "@cust we'll call you back by 5pm tomorrow")
    desk.deliver()
    c = desk.get(cid)
    [reply] = x.replies_to(c.external_id)
    ingestor = Ingestor(Triage(), IngestPolicy(COMPLAINTS, None, brand_handles=frozenset({"acmehelp"})))
    seen = Post(
        "x", reply["id"], reply["text"], "99", "AcmeHelp", desk.clock.now(),
        conversation_id=c.conversation_id, in_reply_to_id=c.external_id,
    )  # fmt: skip
    [result] = ingestor.ingest_batch(desk.app.sessions, [seen], at=desk.clock.now())
    assert result.outcome is Outcome.DUPLICATE
    desk.deliver()
    assert len([t for t in thread_texts(desk, cid) if "replied (on X)" in t]) == 1
    with desk.app.sessions() as s:
        assert len(s.scalars(select(Promise)).all()) == 1
        assert len(s.scalars(select(CommitmentLabel)).all()) == 1


def test_a_rate_limited_reply_waits_for_the_reset_says_so_once_and_goes_once(desk: Desk, x: XStandIn):
    from tests.support.x_api import XFault

    cid = customer_post(desk, x)
    x.inject(XFault(429, count=2, path="/2/tweets", method="POST", reset_in=120))
    reply_from_card(desk, cid, "@cust we'll look into it today")
    desk.deliver()
    assert x.replies_to(desk.get(cid).external_id) == []
    desk.clock.advance(timedelta(seconds=60))
    desk.deliver()  # before x-rate-limit-reset: the reply lane stays paused, nothing is tried
    assert [m for m, p, _ in x.requests if m == "POST"] == ["POST"]
    desk.clock.advance(timedelta(seconds=61))
    desk.deliver()  # second 429
    desk.clock.advance(timedelta(seconds=121))
    desk.deliver()
    assert len(x.replies_to(desk.get(cid).external_id)) == 1
    lines = thread_texts(desk, cid)
    assert len([t for t in lines if "is not on X yet" in t and "rate limit" in t]) == 1
    assert len([t for t in lines if "replied (on X)" in t]) == 1
