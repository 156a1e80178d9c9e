"""A click the database could not take (issue 10 §5): the person is told it was *not* saved, nothing
half-happened, and the same click works once the database is back. On PostgreSQL a row held by a
long transaction fails the click within Slack's 3 seconds (lock_timeout) instead of hanging it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, func, select, text

from bot.slack.ids import Action
from bot.store.models import Interaction, Promise
from tests.support.harness import TEAM, Desk

ALICE, BOB, _ = TEAM


@pytest.fixture
def desk(db_url: str) -> Iterator[Desk]:
    d = Desk(db_url)
    yield d
    d.close()


def rename(desk: Desk, old: str, new: str) -> None:
    with desk.app.engine.begin() as conn:
        conn.execute(text(f"ALTER TABLE {old} RENAME TO {new}"))


def test_a_click_the_database_refuses_is_not_saved_and_says_so(desk: Desk):
    cid = desk.complaint()
    rename(desk, "audit_events", "audit_events_away")  # the change's audit write fails mid-transaction
    try:
        status, _, elapsed = desk.click(ALICE, Action.CLAIM, str(cid), key="down")
        [reply] = desk.responses("down")
        answer = json.loads(desk.command(ALICE, "/promise", f"#{cid} tomorrow 3pm call back")[1])["text"]
    finally:
        rename(desk, "audit_events_away", "audit_events")
    assert status == 200
    assert elapsed < 3
    assert "*not saved*" in reply["text"]
    assert "try again" in reply["text"]
    assert "*not saved*" in answer
    assert "recorded" not in answer.lower()
    assert desk.get(cid).status == "new"  # nothing half-happened
    with desk.app.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Promise)) == 0
        assert s.scalar(select(func.count()).select_from(Interaction).where(Interaction.name == "claim")) == 0
    desk.click(ALICE, Action.CLAIM, str(cid))  # the same click, now that the database is back
    assert desk.get(cid).owner_id == ALICE


@pytest.mark.postgres
def test_a_row_locked_elsewhere_fails_the_click_inside_slacks_deadline(pg_url: str):
    desk = Desk(pg_url)
    holder = create_engine(pg_url)
    try:
        cid = desk.complaint()
        with holder.connect() as conn:
            conn.execute(text("SELECT id FROM complaints WHERE id = :id FOR UPDATE"), {"id": cid})
            started = time.monotonic()
            status, _, _ = desk.click(ALICE, Action.CLAIM, str(cid), key="locked")
            elapsed = time.monotonic() - started
            conn.rollback()
        [reply] = desk.responses("locked")
        assert status == 200
        assert elapsed < 3, f"the click took {elapsed:.1f} s"
        assert "*not saved*" in reply["text"]
        assert desk.get(cid).status == "new"
        desk.click(BOB, Action.CLAIM, str(cid))
        assert desk.get(cid).owner_id == BOB
    finally:
        holder.dispose()
        desk.close()


@pytest.mark.postgres
def test_request_sessions_carry_the_timeouts_and_worker_sessions_do_not(pg_url: str):
    desk = Desk(pg_url)
    try:
        from bot.store.engine import make_request_sessionmaker

        with make_request_sessionmaker(desk.app.engine)() as s, s.begin():
            limits = s.execute(text("SELECT current_setting('lock_timeout'), current_setting('statement_timeout')"))
            assert tuple(limits.one()) == ("1500ms", "2500ms")
        with desk.app.sessions() as s, s.begin():
            assert s.execute(text("SELECT current_setting('lock_timeout')")).scalar_one() == "0"
    finally:
        desk.close()


def test_looking_needs_no_write_while_a_change_is_not_saved(desk: Desk):
    """The request log cannot be written (its table is gone): ``/complaints status`` and App Home still
    answer from what the database has, while a click that would change something says not saved."""
    cid = desk.complaint()
    rename(desk, "interactions", "interactions_away")
    try:
        status = json.loads(desk.command(ALICE, "/complaints", "status")[1])["text"]
        desk.event({"type": "app_home_opened", "user": BOB, "tab": "home"})
        desk.slack.wait_for(lambda: BOB in desk.slack.state.home_views, 10)
        desk.click(ALICE, Action.CLAIM, str(cid), key="nolog")
        [reply] = desk.responses("nolog")
    finally:
        rename(desk, "interactions_away", "interactions")
    assert status.startswith("*Desk status*: new 1")
    assert BOB in desk.slack.state.home_views
    assert "*not saved*" in reply["text"]
    assert desk.get(cid).status == "new"
