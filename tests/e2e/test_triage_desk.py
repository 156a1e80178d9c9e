"""Triage's Slack surfaces end to end: every decision on a card is a label, ``/complaints skipped``
with Card it and Praise, ``/complaints move``, ``/complaints triage``, and the daily reminder's count
of skipped posts. Signed requests into the running app, the Slack stand-in, a real database."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.history import labels as triage_labels
from bot.jobs.scheduler import Retrainer
from bot.slack.ids import Action, Field
from bot.store.models import AuditEvent, Interaction, TriageLabel
from tests.support.harness import COMPLAINTS, OUTSIDER, TEAM, Desk

ALICE, BOB, CAROL = TEAM
KUDOS = "C0KUDOS001"
CHATTER = "@AcmeHelp the seat 14C tray table is sticky"
PRAISE = "@AcmeHelp Maria at the desk was wonderful, thank you!"
QUESTION = "@AcmeHelp can I bring my cat in the cabin?"


@pytest.fixture
def desk(db_url: str) -> Iterator[Desk]:
    d = Desk(db_url, kudos=KUDOS)
    yield d
    d.close()


def labels(desk: Desk) -> list[tuple[str, str, int | None]]:
    with desk.app.sessions() as s:
        rows = s.scalars(select(TriageLabel).order_by(TriageLabel.id))
        return [(r.source, r.kind, r.complaint_id) for r in rows]


def label_texts(desk: Desk) -> list[str]:
    with desk.app.sessions() as s:
        return list(s.scalars(select(TriageLabel.text).order_by(TriageLabel.id)))


def command(desk: Desk, user: str, text: str) -> dict:
    status, raw, _ = desk.command(user, "/complaints", text)
    assert status == 200, raw
    return json.loads(raw)


def cards(desk: Desk) -> list[dict]:
    return [m for m in desk.slack.channel_messages(COMPLAINTS) if (m.get("metadata") or {}).get("event_payload")]


def buttons(message: dict) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e.get("value", ""))
        for b in message.get("blocks", [])
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def test_every_decision_on_a_card_is_a_label_with_the_posts_text(desk: Desk):
    cid = desk.complaint("@AcmeHelp still waiting for my refund, third week")
    desk.click(ALICE, Action.CLAIM, str(cid))
    status, _raw, _ = desk.command(ALICE, "/promise", f"#{cid} tomorrow 3pm call back about the refund")
    assert status == 200
    desk.click(ALICE, Action.ESCALATE, str(cid))
    tier = {"type": "static_select", "selected_option": {"value": "Tier 2"}}
    desk.submit(ALICE, desk.opened_view(), {Field.TIER: tier, Field.REASON: {"type": "plain_text_input", "value": "x"}})
    desk.click(BOB, Action.RESOLVE, str(cid))
    desk.submit(
        BOB,
        desk.opened_view(count=2),
        {
            Field.NOTE: {"type": "plain_text_input", "value": "Refund issued"},
            Field.CLOSE_PROMISES: {"type": "radio_buttons", "selected_option": {"value": "kept"}},
        },
    )
    assert desk.get(cid).status == "resolved"
    question = desk.complaint(QUESTION)
    assert desk.get(question).kind == "question"  # a question gets a card of its own
    desk.click(CAROL, Action.CLAIM, str(question))
    dismissed = desk.complaint("@AcmeHelp my order never arrived lol jk")
    desk.click(BOB, Action.DISMISS, str(dismissed))
    assert labels(desk) == [
        ("claim", "complaint", cid),
        ("promise", "complaint", cid),
        ("escalate", "complaint", cid),
        ("resolve", "complaint", cid),
        ("claim", "question", question),
        ("dismiss", "not_complaint", dismissed),
    ]
    assert label_texts(desk)[0] == "@AcmeHelp still waiting for my refund, third week"
    # A click refused (the card is already claimed) teaches nothing.
    desk.click(BOB, Action.CLAIM, str(question), key="late")
    assert len(labels(desk)) == 6


def action_ids(message: dict) -> list[str]:
    return [action for action, _ in buttons(message)]


def test_a_question_gets_a_compact_card_with_the_complaint_cards_buttons(desk: Desk):
    complaint = desk.complaint("@AcmeHelp still waiting for my refund, third week")
    question = desk.complaint(QUESTION)
    assert (desk.get(complaint).kind, desk.get(question).kind) == ("complaint", "question")
    big, small = desk.card(complaint), desk.card(question)
    assert len(small["blocks"]) < len(big["blocks"])
    assert len(json.dumps(small["blocks"])) < len(json.dumps(big["blocks"]))
    assert action_ids(small) == action_ids(big)
    assert {Action.CLAIM, Action.ESCALATE, Action.RESOLVE} <= set(action_ids(small))
    shown = json.dumps(small["blocks"])
    assert "*Question #" in shown
    assert "can I bring my cat in the cabin?" in shown
    assert "priority" not in shown
    assert "followers" not in shown
    assert small["text"].startswith(f"Question #{question} from @cust")

    # Claimed, the compact card says who has it, and offers what a claimed complaint's card offers.
    desk.click(CAROL, Action.CLAIM, str(question))
    desk.click(ALICE, Action.CLAIM, str(complaint))
    desk.deliver()
    big, small = desk.card(complaint), desk.card(question)
    assert f"*Claimed* by <@{CAROL}>" in json.dumps(small["blocks"])
    assert action_ids(small) == action_ids(big)
    assert Action.RESOLVE in action_ids(small)
    assert len(small["blocks"]) < len(big["blocks"])


def test_skipped_posts_are_listed_and_card_it_cards_exactly_once(desk: Desk):
    chatter = desk.complaint(CHATTER)
    desk.clock.advance(timedelta(minutes=5))
    praise = desk.complaint(PRAISE)
    desk.clock.advance(timedelta(minutes=5))
    complaint = desk.complaint()  # carded: not in the list
    assert [desk.get(c).kind for c in (chatter, praise, complaint)] == ["other", "praise", "complaint"]
    before = len(cards(desk))

    reply = command(desk, ALICE, "skipped")
    text = json.dumps(reply["blocks"])
    assert "2 post(s) got no card in the last 24 h" in text
    order = [
        b["block_id"]
        for b in reply["blocks"]
        if b.get("block_id", "").startswith("skipped_") and "actions" not in b["block_id"]
    ]
    assert order == [f"skipped_{praise}", f"skipped_{chatter}"]  # newest first
    assert "read as praise" in text
    assert "no complaint, question or praise cue" in text
    assert (Action.CARD_IT, str(chatter)) in buttons(reply)
    assert (Action.PRAISE_IT, str(chatter)) in buttons(reply)

    # Someone outside the team cannot card it.
    desk.click(OUTSIDER, Action.CARD_IT, str(chatter), key="out")
    assert "Only the support team" in desk.responses("out")[0]["text"]
    assert desk.get(chatter).kind == "other"

    # Four clicks at once, by two people: one card.
    threads = [
        threading.Thread(
            target=desk.click, args=(ALICE if i % 2 else BOB, Action.CARD_IT, str(chatter)), kwargs={"key": f"c{i}"}
        )
        for i in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    desk.deliver()
    desk.click(ALICE, Action.CARD_IT, str(chatter), key="again")
    desk.deliver()
    new_cards = cards(desk)[before:]
    assert [m["metadata"]["event_payload"]["complaint_id"] for m in new_cards] == [chatter]
    assert desk.get(chatter).kind == "complaint"
    assert desk.get(chatter).slack_ts
    answers = [r["text"] for k in ("c0", "c1", "c2", "c3") for r in desk.responses(k)]
    assert sum("gets a card" in a for a in answers) == 1
    assert sum("has a card already" in a for a in answers) == 3
    assert labels(desk) == [("card_it", "complaint", chatter)]
    with desk.app.sessions() as s:
        clicks = s.scalars(select(Interaction).where(Interaction.name == "card_it")).all()
        assert len(clicks) == 6
        assert {c.user_id for c in clicks} == {ALICE, BOB, OUTSIDER}
        assert all(c.at is not None for c in clicks)
        carded = s.scalars(select(AuditEvent).where(AuditEvent.action == "card_it")).all()
        assert [(e.complaint_id, e.actor) for e in carded] == [(chatter, carded[0].actor)]
    # The carded post left the list; the praise is still waiting for a look.
    text = json.dumps(command(desk, BOB, "skipped")["blocks"])
    assert f"skipped_{chatter}" not in text
    assert f"skipped_{praise}" in text


def test_praise_sends_a_skipped_post_to_kudos_once(desk: Desk):
    chatter = desk.complaint("my cousin works at acme lol")
    assert desk.get(chatter).kind == "other"
    for key in ("p1", "p2"):
        desk.click(ALICE, Action.PRAISE_IT, str(chatter), key=key)
    desk.deliver()
    kudos = desk.slack.channel_messages(KUDOS)
    assert len(kudos) == 1
    assert "my cousin works at acme" in json.dumps(kudos[0])
    assert desk.get(chatter).kind == "praise"
    assert labels(desk) == [("praise", "praise", chatter)]
    assert "reviewed already" in desk.responses("p2")[0]["text"]
    assert "Nothing left off the board" in command(desk, ALICE, "skipped")["text"]


def test_posts_older_than_a_day_are_not_listed(desk: Desk):
    desk.complaint(CHATTER)
    desk.clock.advance(timedelta(hours=24, seconds=1))
    assert "Nothing left off the board" in command(desk, ALICE, "skipped")["text"]


def test_the_daily_reminder_counts_the_skipped_posts(desk: Desk):
    desk.complaint(CHATTER)
    desk.complaint(PRAISE)
    desk.complaint()
    assert desk.scheduler().tick()[1] is True
    desk.deliver()
    [digest] = [m for m in desk.slack.channel_messages(COMPLAINTS) if m["text"].startswith("Daily reminder")]
    assert "*2 post(s) got no card* in the last 24 h" in json.dumps(digest["blocks"])


def test_move_between_complaint_question_and_praise(desk: Desk):
    cid = desk.complaint()
    assert "is a question now" in command(desk, ALICE, f"move #{cid} question")["text"]
    desk.deliver()
    assert desk.get(cid).kind == "question"
    assert "*Question #" in json.dumps(desk.card(cid)["blocks"])
    assert "moved this to *question*" in desk.thread_of(cid)[-1]["text"]
    assert "praise now" in command(desk, ALICE, f"move #{cid} praise")["text"]
    desk.deliver()
    assert (desk.get(cid).kind, desk.get(cid).status) == ("praise", "dismissed")
    assert len(desk.slack.channel_messages(KUDOS)) == 1
    chatter = desk.complaint(CHATTER)
    assert "gets a complaint card" in command(desk, BOB, f"move #{chatter} complaint")["text"]
    desk.deliver()
    assert desk.get(chatter).slack_ts
    assert "`/complaints move #42 question`" in command(desk, BOB, f"move #{chatter} spam")["text"]
    assert labels(desk) == [("move", "question", cid), ("move", "praise", cid), ("card_it", "complaint", chatter)]
    with desk.app.sessions() as s:
        moves = s.scalars(select(Interaction).where(Interaction.name == "/complaints")).all()
        assert {m.user_id for m in moves} == {ALICE, BOB}


def test_triage_report_shows_quality_on_the_teams_labels_and_what_changed(desk: Desk):
    text = command(desk, ALICE, "triage")["text"]
    assert "No model trained yet" in text
    rows = [(f"@AcmeHelp still waiting for refund number {i}, nobody answers", "complaint") for i in range(60)]
    rows += [(f"lovely sunny walk number {i} with the dog", "not_complaint") for i in range(60)]
    with desk.app.sessions() as s, s.begin():
        for text_, kind in rows:
            triage_labels.record_label(s, text_, kind, "test", desk.clock.now())
    trainer = Retrainer(desk.app.sessions, desk.settings, desk.clock)
    assert trainer.tick() is not None  # the night's training (02:00 has passed at 09:00)
    assert trainer.tick() is None
    with desk.app.sessions() as s, s.begin():
        for i in range(100):
            triage_labels.record_label(
                s, f"@AcmeHelp my bag number {i} is lost again", "complaint", "test", desk.clock.now()
            )
    desk.clock.advance(timedelta(minutes=5))
    assert trainer.tick() is not None  # after 100 new labels
    text = command(desk, ALICE, "triage")["text"]
    assert "220 label(s) (complaint 160 · not complaint 60)" in text
    assert "Model v2" in text
    assert "on 220 label(s)" in text
    assert "cross-validated macro-F1 *" in text
    assert "complaint recall *" in text
    assert "Since v1" in text
    assert "+100 label(s)" in text


def test_a_post_triage_cannot_read_is_carded_with_its_language(desk: Desk):
    cid = desk.complaint("@ANA 荷物がまだ届きません。どうなっていますか")
    assert "needs a look · ja" in json.dumps(desk.card(cid)["blocks"], ensure_ascii=False)
