"""Acting on someone else's work (issue 10 §5): the team may take over or unclaim a teammate's claim
and keep, cancel or move a teammate's promise — and the person whose it was is told privately, and
the card's thread says who did it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from bot.promises import lifecycle as promise_service
from bot.slack.ids import Action, Field, View
from bot.store.engine import transaction
from tests.support.harness import TEAM, Desk

ALICE, BOB, CAROL = TEAM


@pytest.fixture
def desk(db_url: str) -> Iterator[Desk]:
    d = Desk(db_url)
    yield d
    d.close()


def dms(desk: Desk, user: str) -> list[str]:
    desk.deliver()
    return [m["text"] + json.dumps(m.get("blocks", [])) for m in desk.slack.channel_messages("D" + user[1:])]


def thread(desk: Desk, cid: int) -> list[str]:
    desk.deliver()
    return [m["text"] for m in desk.thread_of(cid)]


def promise(desk: Desk, cid: int, owner: str = ALICE) -> int:
    with transaction(desk.app.sessions) as s:
        return promise_service.create(
            s,
            cid,
            owner_id=owner,
            text="call back <!here>",
            due_at=desk.clock.now() + timedelta(hours=2),
            created_by=owner,
            at=desk.clock.now(),
        ).id


def test_taking_over_a_claim_tells_the_owner_privately_and_the_thread_says_who(desk: Desk):
    cid = desk.complaint()
    desk.click(ALICE, Action.CLAIM, str(cid))
    desk.click(BOB, Action.HAND_OVER, block_id=f"card_{cid}", selected_user=BOB)
    assert desk.get(cid).owner_id == BOB
    [dm] = dms(desk, ALICE)
    assert f"<@{BOB}> took over complaint #{cid}, which you had claimed" in dm
    assert "open the card" in dm
    assert dms(desk, BOB) == []  # nobody is told about their own action
    assert f"<@{BOB}> took this over (it was <@{ALICE}>'s)" in thread(desk, cid)[-1]


def test_handing_someone_elses_claim_to_a_third_person_tells_the_owner(desk: Desk):
    cid = desk.complaint()
    desk.click(ALICE, Action.CLAIM, str(cid))
    desk.click(BOB, Action.HAND_OVER, block_id=f"card_{cid}", selected_user=CAROL)
    [dm] = dms(desk, ALICE)
    assert f"<@{BOB}> handed complaint #{cid}, which you had claimed, over to <@{CAROL}>" in dm
    assert f"<@{BOB}> handed this over to <@{CAROL}> (it was <@{ALICE}>'s)" in thread(desk, cid)[-1]


def test_unclaiming_someone_elses_claim_tells_them_and_ones_own_does_not(desk: Desk):
    cid = desk.complaint()
    desk.click(ALICE, Action.CLAIM, str(cid))
    desk.click(BOB, Action.UNCLAIM, str(cid))
    assert desk.get(cid).status == "new"
    [dm] = dms(desk, ALICE)
    assert f"<@{BOB}> unclaimed complaint #{cid}, which you had claimed" in dm
    assert f"<@{BOB}> unclaimed this" in thread(desk, cid)[-1]
    assert f"(it was <@{ALICE}>'s)" in thread(desk, cid)[-1]
    desk.click(CAROL, Action.CLAIM, str(cid))
    desk.click(CAROL, Action.UNCLAIM, str(cid))
    desk.click(ALICE, Action.CLAIM, str(cid))
    desk.click(ALICE, Action.HAND_OVER, block_id=f"card_{cid}", selected_user=BOB)
    assert dms(desk, CAROL) == []
    assert len(dms(desk, ALICE)) == 1  # still only Bob's unclaim
    assert "(it was" not in thread(desk, cid)[-1]


@pytest.mark.parametrize(
    ("action", "said"), [(Action.PROMISE_KEPT, "kept"), (Action.PROMISE_CANCEL, "cancelled your promise")]
)
def test_closing_someone_elses_promise_tells_its_owner(desk: Desk, action: Action, said: str):
    cid = desk.complaint()
    pid = promise(desk, cid, owner=ALICE)
    desk.click(BOB, action, str(pid))
    [dm] = dms(desk, ALICE)
    assert f"<@{BOB}>" in dm
    assert said in dm
    assert "call back &lt;!here&gt;" in dm  # the promise's words, inert
    assert "<!here>" not in dm
    line = thread(desk, cid)[-1]
    assert f"<@{BOB}>" in line
    assert f"(it was <@{ALICE}>'s)" in line


def test_moving_someone_elses_promise_tells_its_owner_when_and_why(desk: Desk):
    cid = desk.complaint()
    pid = promise(desk, cid, owner=ALICE)
    desk.click(BOB, Action.PROMISE_RESCHEDULE, str(pid))
    modal = desk.opened_view()
    assert modal["callback_id"] == View.RESCHEDULE
    desk.submit(BOB, modal, {Field.WHEN: {"value": "tomorrow 10am"}, Field.REASON: {"value": "Alice is off sick"}})
    [dm] = dms(desk, ALICE)
    assert f"<@{BOB}> moved your promise" in dm
    assert "Alice is off sick" in dm
    assert "<!date^" in dm
    assert f"(it was <@{ALICE}>'s)" in thread(desk, cid)[-1]


def test_closing_ones_own_promise_sends_no_dm(desk: Desk):
    cid = desk.complaint()
    pid = promise(desk, cid, owner=ALICE)
    desk.click(ALICE, Action.PROMISE_KEPT, str(pid))
    assert dms(desk, ALICE) == []
    assert "(it was" not in thread(desk, cid)[-1]
