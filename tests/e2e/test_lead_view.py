"""The lead's view end to end: ``/complaints report`` over signed requests (numbers privately, the
chart by DM through the upload flow) and App Home's this-week-against-last section."""

from __future__ import annotations

import json
import struct
from collections.abc import Iterator

import pytest

from tests.support import report_history
from tests.support.harness import TEAM, Desk

LEAD = TEAM[0]


@pytest.fixture
def desk(db_url: str) -> Iterator[Desk]:
    d = Desk(db_url)
    report_history.build(d.app.sessions)
    d.clock.set(report_history.NOW)  # Wednesday of the history's second week
    yield d
    d.close()


def answer(desk: Desk, text: str) -> str:
    status, raw, _ = desk.command(LEAD, "/complaints", text)
    assert status == 200
    return json.loads(raw)["text"]


def test_report_answers_privately_and_sends_the_chart_by_dm(desk: Desk):
    text = answer(desk, "report")
    assert "*Followthrough — 2026-W11 so far*" in text
    assert "Promises kept on time: 0%* ↓ (worse than 50%)" in text
    assert "Complaints in: 1 (before: 5)" in text
    assert "First response: median 5 min ↓ (better than 45 min)" in text
    assert "chart is on its way" in text
    desk.deliver()
    dm = "D" + LEAD[1:]
    [(message, png)] = desk.slack.uploaded(dm)
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", png[16:24]) == (800, 900)
    [numbers] = [m for m in desk.slack.channel_messages(dm) if not m.get("thread_ts")]
    assert numbers["text"].startswith("*Followthrough — 2026-W11 so far*")
    assert message["thread_ts"] == numbers["ts"]
    assert len(desk.slack.calls_to("files.completeUploadExternal")) == 1  # nothing went anywhere else


def test_report_for_a_month_and_for_one_person(desk: Desk):
    month = answer(desk, "report month")
    assert "2026-W08 to 2026-W11" in month
    assert "Complaints in: 6" in month
    bob = answer(desk, f"report person <@{report_history.BOB}|bob>")
    assert f"for <@{report_history.BOB}>" in bob
    assert "Promises kept on time: 0%* → same as before — 0 of 1 settled (1 late, 0 broken)" in bob
    assert "Per person" not in bob


def test_report_for_a_person_named_in_plain_text(desk: Desk):
    """Slack sends "@Bob J" as typed when it is not turned into a mention (a display name with a space,
    a name typed without picking from the list): found on the team's display, real and user names."""
    bob = report_history.BOB
    desk.slack.add_user(bob, "Bob Jones", channels=("C0COMPLAIN",), display_name="Bob J")
    desk.slack.add_user("U0SAM00001", "Sam Smith", channels=("C0COMPLAIN",), display_name="Sam")
    desk.slack.add_user("U0SAM00002", "Sam Jones", channels=("C0COMPLAIN",), display_name="Sam")
    desk.app.access.refresh()
    for typed in ("@Bob J", "bob j", "@Bob  Jones", "Bob Jones", f"<@{bob}|bob>", bob):
        answered = answer(desk, f"report person {typed}")
        assert f"for <@{bob}>" in answered, typed
    sam = answer(desk, "report person @Sam")
    assert sam.startswith("`Sam` could be <@U0SAM00001> or <@U0SAM00002>: name them with their @mention.")
    assert answer(desk, "report person @Bobby").startswith("I can't tell who `@Bobby` is")


def test_report_refuses_what_it_cannot_read_with_examples(desk: Desk):
    who = answer(desk, "report person @nobody")
    assert who.startswith("I can't tell who `@nobody` is")
    assert "/complaints report person U0123ABCD" in who
    assert answer(desk, "report yearly").startswith("I don't know the report `year`")
    desk.deliver()
    assert desk.slack.uploaded("D" + LEAD[1:]) == []


def test_app_home_shows_this_week_so_far_against_last_week(desk: Desk):
    assert desk.event({"type": "app_home_opened", "user": LEAD, "tab": "home", "channel": "D0LEAD"})[0] == 200
    desk.slack.wait_for(lambda: LEAD in desk.slack.state.home_views)
    text = json.dumps(desk.slack.state.home_views[LEAD], ensure_ascii=False)
    assert "The lead's view — 2026-W11 so far" in text
    assert "Promises kept on time: 0% :arrow_down: worse than last week" in text
    assert "First response (median): 5 min :arrow_down: better than last week" in text
    assert "Complaints in: 1 :arrow_down: fewer than last week (5)" in text


def test_app_home_shows_an_outsider_nothing_of_the_desk(desk: Desk):
    """Every /complaints answered an outsider "only the support team"; the App Home showed them the
    team's numbers and the lead's view. Now it answers the same."""
    from tests.support.harness import OUTSIDER

    assert desk.event({"type": "app_home_opened", "user": OUTSIDER, "tab": "home", "channel": "D0OUT"})[0] == 200
    desk.slack.wait_for(lambda: OUTSIDER in desk.slack.state.home_views)
    text = json.dumps(desk.slack.state.home_views[OUTSIDER], ensure_ascii=False)
    assert "Only the support team" in text
    assert "can see the desk here" in text
    for secret in ("Team", "The lead's view", "Your promises", "Complaints in"):
        assert secret not in text
