"""The Slack desk end to end: signed requests into the running app in HTTP mode, Slack stand-in as
SLACK_API_URL, a real database (SQLite file; PostgreSQL too when TEST_DATABASE_URL is set)."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.devtools.interactions import block_action
from bot.slack.ids import Action, Field, View
from bot.store.enums import PromiseStatus
from bot.store.models import AuditEvent, Complaint, Interaction, Promise
from tests.support.harness import COMPLAINTS, ESCALATION, OUTSIDER, TEAM, Desk

ALICE, BOB, CAROL = TEAM
HOSTILE = "<!channel> <!here> @here <@U0ALICE01> *bold* _it_ `code` <https://evil.example|click me> & co > quote"


@pytest.fixture
def desk(db_url: str) -> Iterator[Desk]:
    d = Desk(db_url)
    yield d
    d.close()


def events(desk: Desk, cid: int) -> list[tuple[str, str, str | None]]:
    with desk.app.sessions() as s:
        rows = s.scalars(select(AuditEvent).where(AuditEvent.complaint_id == cid).order_by(AuditEvent.id))
        return [(e.actor, e.action, e.note) for e in rows]


def requests(desk: Desk, name: str) -> list[Interaction]:
    with desk.app.sessions() as s:
        return list(s.scalars(select(Interaction).where(Interaction.name == name)))


def all_text(message: dict) -> str:
    return message["text"] + json.dumps(message["blocks"])


def test_card_shows_the_customer_and_outside_text_is_inert(desk: Desk):
    cid = desk.complaint(
        HOSTILE + " still waiting for my refund",
        author_name="<!everyone> Eve & Co",
        followers=12_345,
        url="https://x.com/cust/status/1001",
    )
    card = desk.card(cid)
    text = all_text(card)
    for ping in ("<!channel>", "<!here>", "<!everyone>", "<@U0ALICE01>", "<https://evil"):
        assert ping not in text
    assert "&lt;!channel&gt;" in card["text"]  # the notification fallback is escaped too
    assert "&lt;!everyone&gt; Eve &amp; Co" in text
    assert "12k followers" in text
    assert f"#{cid}" in text
    assert "<https://x.com/cust/status/1001|view post>" in text
    assert card["metadata"]["event_payload"]["complaint_id"] == cid
    actions = {e["action_id"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]}
    # without the brand's X write keys the card links to the post instead of offering Reply
    assert actions == {Action.CLAIM, Action.ESCALATE, Action.RESOLVE, Action.PROMISE, Action.DISMISS, "ft_open_post"}


def test_long_text_is_cut_to_block_kit_limits_with_a_link(desk: Desk):
    cid = desk.complaint("@AcmeHelp still waiting. " + "&<>" * 3000, url="https://x.com/c/status/9")
    card = desk.card(cid)
    for block in card["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
    assert "…" in json.dumps(card["blocks"], ensure_ascii=False)
    assert "read it all" in json.dumps(card["blocks"])
    assert len(card["text"]) < 4000


def test_twenty_concurrent_claims_give_one_owner_and_nineteen_ephemerals(desk: Desk):
    people = [f"U0CLAIM{i:03d}" for i in range(20)]
    for person in people:
        desk.slack.add_user(person, person.lower(), channels=(COMPLAINTS,))
    desk.app.access.refresh()  # the team list is refreshed off the request path
    cid = desk.complaint()
    barrier = threading.Barrier(20)
    statuses: list[int] = []

    def click(person: str) -> None:
        barrier.wait()
        status, _, _ = desk.click(person, Action.CLAIM, str(cid), key=person)
        statuses.append(status)

    threads = [threading.Thread(target=click, args=(p,)) for p in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert statuses == [200] * 20
    owner = desk.get(cid).owner_id
    assert owner in people
    losers = [p for p in people if p != owner]
    answers = [desk.responses(p)[0]["text"] for p in losers]
    assert all(f"already claimed by <@{owner}>" in a for a in answers)
    assert desk.responses(owner, timeout=0.2) == []
    log = events(desk, cid)
    assert [a for a in log if a[1] == "claim"] == [(owner, "claim", None)]
    assert len([a for a in log if a[1] == "refused" and "already claimed" in a[2]]) == 19
    assert len(requests(desk, "claim")) == 20  # every click is in the request log: who, when, what


def test_claim_escalate_resolve_reopen(desk: Desk):
    cid = desk.complaint()
    assert desk.click(ALICE, Action.CLAIM, str(cid))[0] == 200
    desk.deliver()
    card = desk.card(cid)
    assert f"Claimed* by <@{ALICE}>" in all_text(card)
    buttons = {e["action_id"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert buttons == {Action.RESOLVE, Action.PROMISE, Action.ESCALATE, Action.UNCLAIM, Action.HAND_OVER}
    assert f"<@{ALICE}> claimed this" in desk.thread_of(cid)[0]["text"]

    desk.click(ALICE, Action.ESCALATE, str(cid))
    modal = desk.opened_view()
    assert modal["callback_id"] == View.ESCALATE
    trigger = desk.slack.calls_to("views.open")[0].args["trigger_id"]
    assert trigger in {r.key for r in requests(desk, "escalate")}  # the click's own trigger, used once
    tier = {"type": "static_select", "selected_option": {"value": "Tier 2"}}
    status, body, _ = desk.submit(
        ALICE, modal, {Field.TIER: tier, Field.REASON: {"type": "plain_text_input", "value": "   "}}
    )
    assert status == 200
    assert json.loads(body)["response_action"] == "errors"
    assert desk.get(cid).status == "claimed"
    desk.submit(
        ALICE,
        modal,
        {Field.TIER: tier, Field.REASON: {"type": "plain_text_input", "value": "refund stuck in finance <!here>"}},
    )
    desk.deliver()
    escalated = desk.get(cid)
    assert (escalated.status, escalated.escalation_tier, escalated.escalated_by) == ("escalated", "Tier 2", ALICE)
    [notice] = desk.slack.channel_messages(ESCALATION)
    assert "<!subteam^S0TIER002>" in notice["blocks"][0]["text"]["text"]
    assert "open the card" in notice["blocks"][0]["text"]["text"]
    assert "<!here>" not in all_text(notice)
    assert "Escalated* to Tier 2" in all_text(desk.card(cid))

    desk.click(BOB, Action.RESOLVE, str(cid))
    modal = desk.opened_view(count=2)
    assert modal["callback_id"] == View.RESOLVE
    status, body, _ = desk.submit(BOB, modal, {Field.NOTE: {"type": "plain_text_input", "value": ""}})
    assert json.loads(body)["errors"][Field.NOTE].startswith("A resolution note is required")
    desk.submit(
        BOB,
        modal,
        {
            Field.NOTE: {"type": "plain_text_input", "value": "Refund issued, ref 77"},
            Field.CONFIRMED: {"type": "checkboxes", "selected_options": [{"value": "yes"}]},
        },
    )
    desk.deliver()
    resolved = desk.get(cid)
    assert (resolved.status, resolved.resolved_by, resolved.customer_confirmed) == ("resolved", BOB, True)
    card_text = all_text(desk.card(cid))
    assert "Resolved* by <@U0BOB0001>" in card_text
    assert "customer confirmed" in card_text
    assert "Refund issued, ref 77" in card_text
    buttons = {e["action_id"] for b in desk.card(cid)["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert buttons == {Action.REOPEN}

    desk.click(CAROL, Action.REOPEN, str(cid))
    desk.deliver()
    assert (desk.get(cid).status, desk.get(cid).owner_id) == ("claimed", CAROL)
    notes = [m["text"] for m in desk.thread_of(cid)]
    assert [n.split(">", 1)[1].split("·")[0].strip() for n in notes] == [
        "claimed this",
        "escalated this to *Tier 2*",
        "resolved this",
        "reopened this and owns it now",
    ]
    actions = [a for _, a, _ in events(desk, cid)]
    assert actions[:1] == ["ingested"]
    assert {"claim", "escalate", "resolve", "reopen"} <= set(actions)
    assert {(r.user_id, r.surface) for r in requests(desk, "escalate")} == {(ALICE, "action"), (ALICE, "view")}


def test_hand_over_and_unclaim(desk: Desk):
    cid = desk.complaint()
    desk.click(ALICE, Action.CLAIM, str(cid))
    desk.click(ALICE, Action.HAND_OVER, block_id=f"card_{cid}", selected_user=OUTSIDER, key="h1")
    assert "is not in the support team" in desk.responses("h1")[0]["text"]
    assert desk.get(cid).owner_id == ALICE
    desk.click(ALICE, Action.HAND_OVER, block_id=f"card_{cid}", selected_user=BOB)
    assert (desk.get(cid).status, desk.get(cid).owner_id) == ("claimed", BOB)
    desk.click(BOB, Action.UNCLAIM, str(cid))
    assert (desk.get(cid).status, desk.get(cid).owner_id) == ("new", None)
    desk.deliver()
    notes = [m["text"] for m in desk.thread_of(cid)]
    assert f"handed this over to <@{BOB}>" in notes[1]
    assert "unclaimed this" in notes[2]


def test_not_a_complaint_is_kept_as_a_triage_label(desk: Desk):
    cid = desk.complaint("@AcmeHelp my order never arrived lol jk")
    desk.click(ALICE, Action.DISMISS, str(cid))
    row = desk.get(cid)
    assert (row.status, row.human_label, row.resolved_by) == ("dismissed", "not_complaint", ALICE)


def test_outsiders_are_refused_and_nothing_changes(desk: Desk):
    cid = desk.complaint()
    assert desk.click(OUTSIDER, Action.CLAIM, str(cid))[0] == 200
    assert "Only the support team" in desk.responses()[0]["text"]
    assert desk.get(cid).status == "new"
    assert (OUTSIDER, "refused", "not in the support team") in events(desk, cid)


def test_a_slack_connect_partner_in_the_channel_is_refused_and_nothing_changes(desk: Desk):
    """A shared channel: the partner is a member, their organisation is not ours (``user.team_id``).
    A click from them, or one that says it comes from their organisation, is refused."""
    desk.slack.add_user("U0PARTNER", "partner", channels=(COMPLAINTS,), team_id="T0PARTNER")
    desk.app.access.refresh()
    cid = desk.complaint()
    assert desk.click("U0PARTNER", Action.CLAIM, str(cid))[0] == 200
    assert "Only the support team" in desk.responses()[0]["text"]
    payload = block_action(ALICE, Action.CLAIM, value=str(cid), trigger_id=desk.slack.trigger_id())
    payload["user"]["team_id"] = "T0PARTNER"
    payload["response_url"] = desk.slack.response_url("p")
    assert desk.send(payload)[0] == 200
    assert "Only the support team" in desk.responses("p")[0]["text"]
    assert desk.get(cid).status == "new"
    assert desk.click(ALICE, Action.CLAIM, str(cid))[0] == 200  # from our organisation: as ever
    assert desk.get(cid).status == "claimed"


def test_support_usergroup_decides_who_may_act(db_url: str):
    d = Desk(db_url, usergroup="S0SUPPORT")
    try:
        d.slack.add_usergroup("S0SUPPORT", [BOB])
        d.app.access.refresh()
        cid = d.complaint()
        d.click(ALICE, Action.CLAIM, str(cid))  # in the channel, but not in the group
        assert "<!subteam^S0SUPPORT>" in d.responses()[0]["text"]
        d.click(BOB, Action.CLAIM, str(cid))
        assert d.get(cid).owner_id == BOB
    finally:
        d.close()


def test_forged_and_stale_requests_get_401_and_change_nothing(desk: Desk):
    cid = desk.complaint()
    assert desk.click(ALICE, Action.CLAIM, str(cid), secret="not-the-secret")[0] == 401
    assert desk.click(ALICE, Action.CLAIM, str(cid), timestamp=int(time.time()) - 600)[0] == 401
    assert desk.click(ALICE, Action.CLAIM, str(cid), signature="v0=" + "0" * 64)[0] == 401
    assert desk.get(cid).status == "new"
    assert [a for _, a, _ in events(desk, cid)] == ["ingested"]


def test_resolving_with_open_promises_asks_what_happens_to_them(desk: Desk):
    cid = desk.complaint()
    with desk.app.sessions() as s, s.begin():
        now = desk.clock.now()
        s.add(
            Promise(
                complaint_id=cid,
                owner_id=ALICE,
                text="call back",
                due_at=now + timedelta(days=1),
                status="open",
                created_by=ALICE,
                created_at=now,
            )
        )
    desk.click(ALICE, Action.RESOLVE, str(cid))
    modal = desk.opened_view()
    assert Field.CLOSE_PROMISES in [b["block_id"] for b in modal["blocks"]]
    desk.submit(
        ALICE,
        modal,
        {
            Field.NOTE: {"type": "plain_text_input", "value": "Called back, all fine"},
            Field.CLOSE_PROMISES: {"type": "radio_buttons", "selected_option": {"value": "kept"}},
        },
    )
    with desk.app.sessions() as s:
        assert s.scalars(select(Promise.status)).one() == PromiseStatus.KEPT
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "promise_kept")) == 1


def test_unexpected_errors_show_a_reference_and_are_logged(desk: Desk, caplog, monkeypatch):
    def broken(_user: str) -> bool:
        raise RuntimeError("a bug")

    cid = desk.complaint()
    monkeypatch.setattr(desk.app.access, "allowed", broken)  # any bug behind a click will do
    with caplog.at_level(logging.ERROR):
        status, _, _ = desk.click(ALICE, Action.CLAIM, str(cid))
        answer = desk.responses()[0]["text"]
    assert status == 200
    ref = answer.split("ref `")[1].split("`")[0]
    assert any(ref in r.getMessage() and r.exc_info for r in caplog.records)
    with desk.app.sessions() as s:  # the failed click was stored too: who, when, what, and the reference
        [stored] = s.scalars(select(AuditEvent).where(AuditEvent.action == "failed")).all()
    assert (stored.actor, stored.note, stored.details) == (ALICE, f"ref {ref}", {"action": "claim", "ref": ref})


def test_unknown_complaint_is_a_friendly_answer(desk: Desk):
    desk.click(ALICE, Action.CLAIM, "999999")
    assert desk.responses()[0]["text"] == "There is no complaint #999999."
    desk.click(ALICE, Action.CLAIM, "not-a-number", key="nan")  # a forged or foreign button
    assert "does not name a complaint" in desk.responses("nan")[0]["text"]


def test_stale_card_click_after_resolution(desk: Desk):
    cid = desk.complaint()
    with desk.app.sessions() as s, s.begin():
        s.execute(Complaint.__table__.update().values(status="resolved"))
    desk.click(ALICE, Action.CLAIM, str(cid))
    assert "already resolved" in desk.responses()[0]["text"]
