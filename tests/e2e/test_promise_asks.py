"""/promise when the words leave the time unclear: it answers privately with what it read and one button
per reading (plus Cancel), and a click records the promise once — against the Slack stand-in, signed
requests, clock injected (Monday 2 March 2026, 09:00 in London)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from bot.slack.ids import Action
from bot.store.models import Interaction, Promise
from tests.support.harness import TEAM, Desk

ALICE, BOB, _ = TEAM


@pytest.fixture
def desk(db_url: str) -> Iterator[Desk]:
    d = Desk(db_url)
    d.slack.state.users[ALICE].locale = "en-GB"
    d.slack.state.users[BOB].locale = "en-US"
    yield d
    d.close()


def answer(raw: bytes) -> dict:
    return json.loads(raw)


def buttons(message: dict) -> list[dict]:
    return [e for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


def promises(desk: Desk) -> list[tuple[str, datetime, str, str]]:
    with desk.app.sessions() as s:
        return [(p.text, p.due_at, p.owner_id, p.created_by) for p in s.scalars(select(Promise).order_by(Promise.id))]


def test_unclear_number_offers_both_readings_and_a_click_records_once(desk: Desk):
    cid = desk.complaint()
    status, raw, _ = desk.command(ALICE, "/promise", f"#{cid} tomorrow 2 vouchers to send")
    assert status == 200
    message = answer(raw)
    assert message["response_type"] == "ephemeral"
    assert "“2” the time (14:00) or part of the promise" in message["text"]
    shown = json.dumps(message["blocks"], ensure_ascii=False)
    assert "Tue 3 Mar, 14:00 your time — tomorrow" in shown
    assert "Tue 3 Mar, 17:00 your time — tomorrow" in shown
    first, second, cancel = buttons(message)
    assert (first["action_id"], second["action_id"], cancel["action_id"]) == (
        Action.PROMISE_PICK,
        Action.PROMISE_PICK_OTHER,
        Action.PROMISE_PICK_CANCEL,
    )
    assert all(len(b["text"]["text"]) <= 75 and len(b["value"]) <= 2000 for b in (first, second, cancel))
    assert promises(desk) == []  # nothing saved until a reading is picked

    desk.clock.advance(seconds=30)
    assert desk.click(ALICE, second["action_id"], second["value"], key="pick")[0] == 200
    [done] = desk.responses("pick")
    assert done["replace_original"] is True
    assert "Promise recorded on" in done["text"]
    assert "“2 vouchers to send”" in done["text"]
    assert promises(desk) == [("2 vouchers to send", datetime(2026, 3, 3, 17, 0, tzinfo=UTC), ALICE, ALICE)]

    # a double click (a new request, not a redelivery) records nothing more
    assert desk.click(ALICE, second["action_id"], second["value"], key="again")[0] == 200
    desk.responses("again")
    assert len(promises(desk)) == 1
    with desk.app.sessions() as s:
        clicks = s.scalars(select(Interaction).where(Interaction.name.like("%promise_pick%"))).all()
    assert [(c.user_id, c.at) for c in clicks] == [(ALICE, desk.clock.now())] * 2


def test_cancel_records_nothing(desk: Desk):
    cid = desk.complaint()
    message = answer(desk.command(ALICE, "/promise", f"#{cid} friday 3 boxes to collect")[1])
    cancel = buttons(message)[-1]
    assert desk.click(ALICE, cancel["action_id"], cancel["value"], key="cancel")[0] == 200
    assert "Not recorded" in desk.responses("cancel")[0]["text"]
    assert promises(desk) == []


def test_a_time_passed_today_is_asked_about_with_one_reading(desk: Desk):
    cid = desk.complaint()
    message = answer(desk.command(ALICE, "/promise", f"#{cid} 8am call back")[1])
    pick, _cancel = buttons(message)
    assert "08:00 today has passed" in message["text"]
    desk.click(ALICE, pick["action_id"], pick["value"], key="p")
    desk.responses("p")
    assert promises(desk) == [("call back", datetime(2026, 3, 3, 8, 0, tzinfo=UTC), ALICE, ALICE)]


def test_day_month_order_follows_each_owners_slack_locale(desk: Desk):
    cid = desk.complaint()
    gb = answer(desk.command(ALICE, "/promise", f"#{cid} 4/3 call back")[1])
    us = answer(desk.command(BOB, "/promise", f"#{cid} 4/3 call back")[1])
    assert "Wed 4 Mar, 17:00 your time — in 2 days" in gb["text"]  # en-GB: 4 March
    assert "Fri 3 Apr, 17:00 your time" in us["text"]  # en-US: April 3
    assert promises(desk)[0][1] == datetime(2026, 3, 4, 17, 0, tzinfo=UTC)
    asked = [c for c in desk.slack.calls_to("users.info") if c.args.get("include_locale")]
    assert {c.args["user"] for c in asked} >= {ALICE, BOB}
    # impossible read the owner's way round: asked, with the reading that works
    odd = answer(desk.command(ALICE, "/promise", f"#{cid} 3/25 call back")[1])
    assert "not a date read as day/month" in odd["text"]
    assert len(buttons(odd)) == 2


def test_forged_or_stale_button_values_are_refused_cleanly(desk: Desk):
    cid = desk.complaint()
    for value in ["", "{}", "not json", json.dumps({"c": cid, "d": 1, "w": "x", "a": 1})]:
        status, _, _ = desk.click(ALICE, Action.PROMISE_PICK, value, key="bad")
        assert status == 200
    assert promises(desk) == []


def test_a_zone_typed_with_the_time_is_that_places_clock_and_never_part_of_the_promise(desk: Desk):
    """ "3pm PST" on Monday 2 March (California still on PST) is 23:00 in London, and the reply says both."""
    cid = desk.complaint()
    status, raw, _ = desk.command(ALICE, "/promise", f"#{cid} 3pm PST call back")
    assert status == 200
    text = answer(raw)["text"]
    assert "“call back”" in text
    assert "Mon 2 Mar 15:00 PST — Mon 2 Mar, 23:00 your time" in text
    assert promises(desk) == [("call back", datetime(2026, 3, 2, 23, 0, tzinfo=UTC), ALICE, ALICE)]


def test_a_zone_that_names_several_places_asks_with_one_button_per_place(desk: Desk):
    cid = desk.complaint()
    status, raw, _ = desk.command(ALICE, "/promise", f"#{cid} tomorrow 2pm IST ring back")
    assert status == 200
    message = answer(raw)
    assert "IST could mean India (UTC+5:30), Ireland (UTC+0) or Israel (UTC+2)" in message["text"]
    india, ireland, israel, cancel = buttons(message)
    assert [b["action_id"] for b in (india, ireland, israel, cancel)] == [
        Action.PROMISE_PICK,
        Action.PROMISE_PICK_OTHER,
        Action.PROMISE_PICK_THIRD,
        Action.PROMISE_PICK_CANCEL,
    ]
    assert "India" in india["text"]["text"]
    assert "Israel" in israel["text"]["text"]
    assert promises(desk) == []
    assert desk.click(ALICE, israel["action_id"], israel["value"], key="pick")[0] == 200
    [done] = desk.responses("pick")
    assert "“ring back”" in done["text"]
    # 14:00 in Israel (UTC+2) on Tuesday 3 March is 12:00 in London
    assert promises(desk) == [("ring back", datetime(2026, 3, 3, 12, 0, tzinfo=UTC), ALICE, ALICE)]


def test_a_promise_too_long_for_its_question_is_refused_before_asking(desk: Desk):
    """Its question would carry the text in three buttons (2,000 characters each) and a section
    (3,000): Slack would refuse it as ``invalid_blocks``. The same limit as the form's, said first."""
    cid = desk.complaint()
    long = "call back about the refund and the router and the voucher " * 26
    message = answer(desk.command(ALICE, "/promise", f"#{cid} friday 3 {long}")[1])
    assert message["text"].startswith("Keep the promise under 500 characters (this one is ")
    assert "blocks" not in message
    assert promises(desk) == []
    short = answer(desk.command(ALICE, "/promise", f"#{cid} friday 3 boxes to collect, " + "x" * 400)[1])
    assert all(len(b["value"]) <= 2000 for b in buttons(short))
