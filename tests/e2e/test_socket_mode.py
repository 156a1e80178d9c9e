"""Socket Mode — what `followthrough run` uses by default — end to end: the real CLI, a replay source,
the Web API and Socket Mode stand-ins. Every kind of request is acked within Slack's 3 seconds and
takes effect; Slack's routine reconnect and a dropped connection lose nothing; SIGTERM is clean."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from bot.slack.ids import Action, Field
from tests.support.socket_bot import COMPLAINTS, TEAM, SocketBot

ALICE, BOB = TEAM


@pytest.fixture
def bot(db_url: str) -> Iterator[SocketBot]:
    b = SocketBot(db_url).start()
    yield b
    b.close()


def acked_fast(ack) -> bool:
    return ack is not None and ack.seconds < 3.0


@pytest.mark.timeout(180)
def test_every_kind_of_request_over_socket_mode_is_acked_in_time_and_takes_effect(bot: SocketBot):
    cid = bot.complaint_id(bot.post("@AcmeHelp still waiting for my refund, third time asking"))

    _, claim = bot.click(ALICE, Action.CLAIM, str(cid))
    assert acked_fast(claim)
    assert bot.slack.wait_for(lambda: bot.complaint(cid).status == "claimed", 10)

    promised = bot.command(ALICE, "/promise", f"#{cid} tomorrow 3pm call back about the refund")
    assert acked_fast(promised)
    assert "Promise recorded" in promised.payload["text"]

    status = bot.command(BOB, "/complaints", "status")
    assert acked_fast(status)
    assert "Desk status" in status.payload["text"]

    views = len(bot.slack.state.views)
    _, opened = bot.click(ALICE, Action.RESOLVE, str(cid))
    assert acked_fast(opened)
    assert bot.slack.wait_for(lambda: len(bot.slack.state.views) > views, 10)
    resolved = bot.submit(
        ALICE,
        bot.slack.state.views[-1],
        {
            Field.NOTE: {"type": "plain_text_input", "value": "Refund issued, called back"},
            Field.CLOSE_PROMISES: {"type": "radio_buttons", "selected_option": {"value": "kept"}},
        },
    )
    assert acked_fast(resolved)
    assert resolved.payload in (None, {})  # no errors: the form closes
    assert bot.slack.wait_for(lambda: bot.complaint(cid).status == "resolved", 10)

    home = bot.event({"type": "app_home_opened", "user": BOB, "tab": "home"})
    assert acked_fast(home)
    assert bot.slack.wait_for(lambda: BOB in bot.slack.state.home_views, 10)
    assert bot.socket.state.unknown_acks == []


@pytest.mark.timeout(180)
def test_reconnects_after_rotation_and_after_a_dropped_connection_losing_nothing(bot: SocketBot):
    cid = bot.complaint_id(bot.post("@AcmeHelp my parcel never arrived and nobody answers"))
    bot.socket.refresh()  # Slack's routine: "disconnect", reason refresh_requested
    assert bot.socket.wait_for_connections(2, 10)
    _, claim = bot.click(ALICE, Action.CLAIM, str(cid))
    assert claim is not None
    assert claim.seconds < 0.5  # the first envelope after a rotation, within half a second
    assert bot.slack.wait_for(lambda: bot.complaint(cid).status == "claimed", 10)

    cpu_before, dropped_at = bot.cpu_seconds(), time.monotonic()
    bot.socket.drop()  # the connection ends without a close frame
    assert bot.socket.wait_for_connections(3, 5)
    elapsed = time.monotonic() - dropped_at
    assert elapsed < 5
    # no core spinning while it notices (a floor on the window: CPU time is counted in 10 ms ticks)
    assert bot.cpu_seconds() - cpu_before < 0.5 * max(elapsed, 0.2)
    _, unclaim = bot.click(ALICE, Action.UNCLAIM, str(cid))
    assert acked_fast(unclaim)
    assert bot.slack.wait_for(lambda: bot.complaint(cid).status == "new", 10)
    cid2 = bot.complaint_id(bot.post("@AcmeHelp the app crashed again, I can't pay"))
    assert cid2 != cid  # the worker went on posting cards throughout


@pytest.mark.timeout(120)
def test_sigterm_closes_the_socket_with_a_close_frame_and_exits_cleanly(bot: SocketBot):
    bot.complaint_id(bot.post("@AcmeHelp still no refund after two weeks"))
    assert bot.stop() == 0
    output = bot.output()
    assert "Traceback" not in output
    assert bot.slack.wait_for(lambda: 1000 in bot.socket.state.close_codes, 5)
    assert "Socket Mode: connected" in output
    assert bot.slack.state.token not in output
    assert json.dumps(bot.slack.state.app_token)[1:-1] not in output
    assert COMPLAINTS
