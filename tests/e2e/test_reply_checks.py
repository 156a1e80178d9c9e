"""Before a reply goes public, and exactly once whoever clicks (#21): the Reply form against the Slack
and X stand-ins, signed requests, clock injected.

- the same form submitted twice (a second click on Send; Slack's view id stays, the trigger is new)
  posts once;
- a second agent replying on the same card minutes later is warned, and nothing goes out unless they
  tick "Send anyway";
- a reply that commits to something with no time, a post that does not mention the brand (X refuses
  the reply), the same words sent in the last day (X refuses duplicates): each is a warning in the form.
"""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from bot.slack.ids import Action, Field
from bot.store.models import Delivery
from tests.e2e import test_replies as setup
from tests.support.harness import TEAM, Desk
from tests.support.x_api import XStandIn

ALICE, BOB, _ = TEAM
START, customer_post = setup.START, setup.customer_post
x, desk = setup.x, setup.desk  # the fixtures: a desk whose brand can reply on the X stand-in


def open_reply(desk: Desk, cid: int, user: str) -> dict:
    opened = len(desk.slack.state.views)
    desk.click(user, Action.REPLY, str(cid))
    return desk.opened_view(opened + 1)


def submit(desk: Desk, user: str, view: dict, text: str, *, anyway: bool = False) -> dict:
    values: dict = {Field.REPLY_TEXT: {"value": text}}
    if anyway:
        values[Field.SEND_ANYWAY] = {"selected_options": [{"value": "yes"}]}
    status, raw, _ = desk.submit(user, view, values)
    assert status == 200
    return json.loads(raw) if raw not in (b"", b"{}") else {}


def warnings_in(answer: dict) -> str:
    assert answer.get("response_action") == "update", answer
    return json.dumps(answer["view"]["blocks"], ensure_ascii=False)


def sent_replies(desk: Desk) -> list[Delivery]:
    with desk.app.sessions() as s:
        return list(s.scalars(select(Delivery).where(Delivery.kind == "reply")))


def test_the_same_form_submitted_twice_posts_once(desk: Desk, x: XStandIn):
    cid = customer_post(desk, x)
    view = open_reply(desk, cid, ALICE)
    text = f"@{desk.get(cid).author_handle} So sorry — we'll call you back by 5pm tomorrow"
    assert submit(desk, ALICE, view, text) == {}
    assert submit(desk, ALICE, view, text) == {}  # Send clicked again on the same form
    desk.deliver()
    assert len(x.replies_to(desk.get(cid).external_id)) == 1
    assert len(sent_replies(desk)) == 1


def test_two_forms_are_two_replies_when_the_sender_means_it(desk: Desk, x: XStandIn):
    """The key is the card and the form: a second Reply opened on purpose is a second reply."""
    cid = customer_post(desk, x)
    handle = desk.get(cid).author_handle
    assert submit(desk, ALICE, open_reply(desk, cid, ALICE), f"@{handle} We'll call you by 5pm tomorrow") == {}
    desk.clock.advance(minutes=30)
    assert submit(desk, ALICE, open_reply(desk, cid, ALICE), f"@{handle} Update: the part ships today by 5pm") == {}
    desk.deliver()
    assert len(x.replies_to(desk.get(cid).external_id)) == 2


def test_a_second_agent_is_warned_and_nothing_goes_out_until_they_say_so(desk: Desk, x: XStandIn):
    cid = customer_post(desk, x)
    handle = desk.get(cid).author_handle
    alice_view = open_reply(desk, cid, ALICE)
    desk.clock.advance(minutes=1)
    bob_view = open_reply(desk, cid, BOB)
    shown = json.dumps(bob_view["blocks"])
    assert f"<@{ALICE}> opened Reply on this card 1 min ago" in shown  # told who is writing

    assert submit(desk, ALICE, alice_view, f"@{handle} We'll call you back by 5pm tomorrow") == {}
    desk.clock.advance(minutes=2)
    answer = submit(desk, BOB, bob_view, f"@{handle} Sorry! An engineer will visit on Friday by 1pm")
    warned = warnings_in(answer)
    assert f"<@{ALICE}> replied on this card 2 min ago" in warned
    assert "We'll call you back by 5pm tomorrow" in warned
    assert Field.SEND_ANYWAY in warned
    desk.deliver()
    assert len(x.replies_to(desk.get(cid).external_id)) == 1  # one post, one warning

    # Bob reads it and sends his anyway: now it goes, once
    assert submit(desk, BOB, bob_view, f"@{handle} Sorry! An engineer will visit on Friday by 1pm", anyway=True) == {}
    desk.deliver()
    assert len(x.replies_to(desk.get(cid).external_id)) == 2


def test_a_commitment_without_a_time_asks_by_when(desk: Desk, x: XStandIn):
    cid = customer_post(desk, x)
    view = open_reply(desk, cid, ALICE)
    answer = submit(desk, ALICE, view, f"@{desk.get(cid).author_handle} Thanks — we'll look into it.")
    warned = warnings_in(answer)
    assert "we'll look into it" in warned
    assert "by when?" in warned
    # the draft is kept in the form, so adding the time is one edit
    [field] = [b for b in answer["view"]["blocks"] if b.get("block_id") == Field.REPLY_TEXT]
    assert field["element"]["initial_value"].endswith("we'll look into it.")
    assert sent_replies(desk) == []


def test_a_post_that_does_not_mention_the_brand_warns_that_x_will_refuse(desk: Desk, x: XStandIn):
    """Since 23 Feb 2026 X's API answers only posts whose author mentioned or quoted the account (403
    otherwise). The form says so when it opens, with the post's link; sent anyway, X's refusal is a
    clear line in the card's thread, and nothing is posted."""
    cid = customer_post(desk, x, "my router has been dead for 3 days, useless company")
    view = open_reply(desk, cid, ALICE)
    [note] = [b for b in view["blocks"] if b["type"] == "section" and ":no_entry:" in b["text"]["text"]]
    assert "X will not take this reply" in note["text"]["text"]
    assert note["accessory"]["text"]["text"] == "Open on X"
    assert note["accessory"]["url"] == f"https://x.com/{desk.get(cid).author_handle}/status/{desk.get(cid).external_id}"
    answer = submit(desk, ALICE, view, f"@{desk.get(cid).author_handle} So sorry — we'll DM you by 5pm today")
    assert "does not mention @acmehelp" in warnings_in(answer)
    submit(desk, ALICE, view, f"@{desk.get(cid).author_handle} So sorry — we'll DM you by 5pm today", anyway=True)
    desk.deliver()
    assert x.replies_to(desk.get(cid).external_id) == []
    [row] = sent_replies(desk)
    assert row.status == "dead"
    assert "only posts that mention or quote the brand" in (row.last_error or "")
    thread = json.dumps(desk.slack.thread(desk.get(cid).slack_channel, desk.get(cid).slack_ts))
    assert "was *not* posted on X" in thread
    assert "open it on X and answer there" in thread


def test_a_post_that_mentions_the_brand_opens_the_form_without_a_refusal(desk: Desk, x: XStandIn):
    cid = customer_post(desk, x, "@AcmeHelp my router has been dead for 3 days")
    view = open_reply(desk, cid, ALICE)
    assert ":no_entry:" not in json.dumps(view["blocks"])


def test_the_same_words_as_a_reply_earlier_today_warn_of_a_duplicate(desk: Desk, x: XStandIn):
    first = customer_post(desk, x, "@AcmeHelp my router has been dead for 3 days")
    second = customer_post(desk, x, "@AcmeHelp no internet since Monday, nobody answers")
    words = "So sorry — an engineer will call you by 5pm today."
    assert submit(desk, ALICE, open_reply(desk, first, ALICE), words) == {}
    desk.clock.advance(hours=2)
    answer = submit(desk, BOB, open_reply(desk, second, BOB), words)
    warned = warnings_in(answer)
    assert f"The same words were sent on #{first}" in warned
    assert "refuse a duplicate" in warned
    desk.clock.set(START + timedelta(days=2))  # a day later the same words are fine
    assert submit(desk, BOB, open_reply(desk, second, BOB), words) == {}


def test_the_closing_reply_reads_its_promises_in_the_senders_zone_and_is_asked_for_once(desk: Desk, x: XStandIn):
    """Bob works from New York: "tomorrow at 10am" in his closing reply is 10:00 there (15:00 UTC in
    March, before the US clocks change), not 10:00 UTC; the same Resolve form sent twice asks once."""
    from datetime import UTC, datetime

    from bot.store.models import CommitmentLabel

    desk.slack.state.users[BOB].tz = "America/New_York"
    cid = customer_post(desk, x)
    desk.click(BOB, "ft_claim", str(cid))
    desk.click(BOB, "ft_resolve", str(cid))
    view = desk.opened_view()
    text = f"@{desk.get(cid).author_handle} Sorted, I hope — we'll call you tomorrow at 10am to check."
    values = {"ft_note": {"value": "router replaced"}, Field.CLOSING_REPLY: {"value": text}}
    assert desk.submit(BOB, view, values)[0] == 200
    desk.submit(BOB, view, values)  # Resolve clicked again on the same form
    desk.deliver()
    assert len(x.replies_to(desk.get(cid).external_id)) == 1
    with desk.app.sessions() as s:
        [found] = s.scalars(select(CommitmentLabel).where(CommitmentLabel.complaint_id == cid)).all()
    assert found.due_at == datetime(2026, 3, 3, 15, 0, tzinfo=UTC)
    assert found.proposed_to == BOB
