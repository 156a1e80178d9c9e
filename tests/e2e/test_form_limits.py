"""Form field limits hold on the server too (issue 10 §5): Slack's client stops at each field's
``max_length``, but a crafted submission (or a Socket Mode envelope, which has no body cap) does not;
a value over the limit is refused next to its field, and nothing is stored."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.common import limits
from bot.promises import lifecycle as promise_service
from bot.slack.ids import Action, Field
from bot.slack.views import blocks
from bot.store.engine import transaction
from bot.store.models import Promise
from tests.support.harness import TEAM, Desk

ALICE, BOB, _ = TEAM
MEGABYTE = 1_000_000


@pytest.fixture(scope="module")
def desk(tmp_path_factory) -> Iterator[Desk]:
    d = Desk(f"sqlite:///{tmp_path_factory.mktemp('limits') / 'ft.db'}")
    yield d
    d.close()


def form(desk: Desk, action: Action, ref: int) -> dict:
    """Click a button that opens a form, and return the form Slack opened."""
    opened = len(desk.slack.state.views)
    desk.click(ALICE, action, str(ref))
    return desk.opened_view(opened + 1)


def errors(raw: bytes) -> dict[str, str]:
    answer = json.loads(raw) if raw else {}
    assert answer.get("response_action") == "errors", answer
    return answer["errors"]


def max_lengths(view: dict) -> dict[str, int]:
    return {
        b["element"]["action_id"]: b["element"]["max_length"]
        for b in view["blocks"]
        if b.get("type") == "input" and "max_length" in b.get("element", {})
    }


def test_the_server_limits_are_the_forms_limits():
    assert max_lengths(blocks.resolve_modal(1, 0)) == {Field.NOTE.value: limits.RESOLUTION_NOTE}
    assert max_lengths(blocks.escalate_modal(1, ["Tier 2"])) == {Field.REASON.value: limits.ESCALATION_REASON}
    assert max_lengths(blocks.promise_modal(1, ALICE)) == {
        Field.WHAT.value: limits.PROMISE_TEXT,
        Field.WHEN.value: limits.DUE_TEXT,
    }
    assert max_lengths(blocks.reschedule_modal(1, "x")) == {
        Field.WHEN.value: limits.DUE_TEXT,
        Field.REASON.value: limits.RESCHEDULE_REASON,
    }


@pytest.mark.parametrize("size", [limits.RESOLUTION_NOTE + 1, MEGABYTE // 2, MEGABYTE])
def test_an_oversized_resolution_note_is_refused_and_nothing_is_stored(desk: Desk, size: int):
    cid = desk.complaint()
    view = form(desk, Action.RESOLVE, cid)
    if size >= MEGABYTE:  # over HTTP the body cap answers first; Socket Mode has none, so the domain must
        from bot.desk import complaints

        with pytest.raises(Exception, match="at most 2,000 characters"), transaction(desk.app.sessions) as s:
            complaints.resolve(s, cid, user_id=ALICE, note="x" * size, customer_confirmed=False, at=desk.clock.now())
    else:
        status, raw, _ = desk.submit(ALICE, view, {Field.NOTE: {"value": "refunded " + "x" * size}})
        assert status == 200
        assert "at most 2,000 characters" in errors(raw)[Field.NOTE.value]
    assert desk.get(cid).status == "new"
    assert desk.get(cid).resolution_note is None


def test_a_note_at_the_limit_is_accepted(desk: Desk):
    cid = desk.complaint()
    status, raw, _ = desk.submit(
        ALICE, form(desk, Action.RESOLVE, cid), {Field.NOTE: {"value": "y" * limits.RESOLUTION_NOTE}}
    )
    assert (status, raw) == (200, b"")
    assert desk.get(cid).resolution_note == "y" * limits.RESOLUTION_NOTE


def test_an_oversized_escalation_reason_is_refused(desk: Desk):
    cid = desk.complaint()
    view = form(desk, Action.ESCALATE, cid)
    _, raw, _ = desk.submit(
        ALICE,
        view,
        {
            Field.TIER: {"selected_option": {"value": "Tier 2"}},
            Field.REASON: {"value": "z" * (limits.ESCALATION_REASON + 1)},
        },
    )
    assert "at most 1,000 characters" in errors(raw)[Field.REASON.value]
    assert desk.get(cid).status == "new"


def test_oversized_promise_fields_are_refused(desk: Desk):
    cid = desk.complaint()
    view = form(desk, Action.PROMISE, cid)
    _, raw, _ = desk.submit(
        ALICE, view, {Field.WHAT: {"value": "w" * (limits.PROMISE_TEXT + 1)}, Field.WHEN: {"value": "tomorrow"}}
    )
    assert "under 500 characters" in errors(raw)[Field.WHAT.value]
    _, raw, _ = desk.submit(
        ALICE, view, {Field.WHAT: {"value": "call back"}, Field.WHEN: {"value": "tomorrow " * 10_000}}
    )
    assert "at most 80 characters" in errors(raw)[Field.WHEN.value]
    with desk.app.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Promise).where(Promise.complaint_id == cid)) == 0


def test_an_oversized_reschedule_reason_is_refused(desk: Desk):
    cid = desk.complaint()
    with transaction(desk.app.sessions) as s:
        pid = promise_service.create(
            s,
            cid,
            owner_id=ALICE,
            text="call",
            due_at=desk.clock.now() + timedelta(hours=1),
            created_by=ALICE,
            at=desk.clock.now(),
        ).id
    view = form(desk, Action.PROMISE_RESCHEDULE, pid)
    _, raw, _ = desk.submit(
        ALICE,
        view,
        {Field.WHEN: {"value": "tomorrow 10am"}, Field.REASON: {"value": "r" * (limits.RESCHEDULE_REASON + 1)}},
    )
    assert "at most 500 characters" in errors(raw)[Field.REASON.value]
    with desk.app.sessions() as s:
        assert s.get(Promise, pid).reschedule_count == 0
