"""Who may act (issue 10 §5, issue 28), against the Slack stand-in over real HTTP with an injected
clock: the team list is refreshed off the request path, the last good list is kept while Slack
cannot be asked (however long), removal revokes access at the next refresh (every minute, well
inside five), and bots, apps, deactivated users and — unless allowed — guests and people of another
organisation (Slack Connect) never count."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient

from bot.slack.access import REFRESH_SECONDS, STALE_AFTER, TeamAccess
from tests.support.slack_api import Fault, SlackStandIn

CHANNEL = "C0COMPLAIN"


class Monotonic:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as stand_in:
        stand_in.add_user("U0ALICE01", "alice", channels=(CHANNEL,))
        stand_in.add_user("U0BOB0001", "bob", channels=(CHANNEL,))
        stand_in.add_user("UBOT0001", "followthrough", channels=(CHANNEL,), is_bot=True)
        stand_in.add_user("U0GONE001", "gone", channels=(CHANNEL,), deleted=True)
        stand_in.add_user("U0GUEST01", "guest", channels=(CHANNEL,), guest=True)
        yield stand_in


def access(slack: SlackStandIn, clock: Monotonic, **kw) -> TeamAccess:
    client = WebClient(token=slack.state.token, base_url=slack.base_url, timeout=2, retry_handlers=[])
    return TeamAccess(client, usergroup=kw.pop("usergroup", None), channel=CHANNEL, monotonic=clock, **kw)


def test_only_people_count_and_guests_only_when_allowed(slack: SlackStandIn):
    clock = Monotonic()
    team = access(slack, clock)
    assert team.refresh()
    assert [u for u in slack.state.channel_members[CHANNEL] if team.allowed(u)] == ["U0ALICE01", "U0BOB0001"]
    with_guests = access(slack, clock, allow_guests=True)
    with_guests.refresh()
    assert with_guests.allowed("U0GUEST01")
    assert not with_guests.allowed("UBOT0001")
    assert not with_guests.allowed("U0GONE001")


def test_a_member_slack_will_not_show_locks_nobody_else_out(slack: SlackStandIn):
    """An information barrier or a Slack Connect account: ``users.info`` answers ``user_not_found``
    for one member. That member does not count; the rest of the team still can act — at start-up,
    when the list is first read, and at every refresh after."""
    slack.state.channel_members[CHANNEL].append("U0HIDDEN1")  # in the channel, unreadable
    clock = Monotonic()
    team = access(slack, clock)
    assert team.refresh()
    assert team.allowed("U0ALICE01")
    assert team.allowed("U0BOB0001")
    assert not team.allowed("U0HIDDEN1")
    clock.now += REFRESH_SECONDS
    assert team.refresh()
    assert team.allowed("U0ALICE01")


def test_answering_never_asks_slack(slack: SlackStandIn):
    clock = Monotonic()
    team = access(slack, clock)
    team.refresh()
    before = len(slack.calls)
    for _ in range(50):
        team.allowed("U0ALICE01")
        team.allowed("U0NOBODY1")
    assert len(slack.calls) == before


def test_removal_revokes_access_at_the_next_refresh_well_inside_five_minutes(slack: SlackStandIn):
    assert REFRESH_SECONDS <= 5 * 60
    clock = Monotonic()
    team = access(slack, clock)
    team.refresh()
    assert team.allowed("U0BOB0001")
    slack.state.channel_members[CHANNEL].remove("U0BOB0001")
    clock.now += REFRESH_SECONDS
    team.refresh()  # what the background thread does every REFRESH_SECONDS
    assert not team.allowed("U0BOB0001")
    assert team.allowed("U0ALICE01")


def test_the_last_good_list_is_kept_while_slack_cannot_be_asked(slack: SlackStandIn, caplog):
    """A request reaches the bot only through Slack: while Slack cannot say who is in the team, the
    team keeps working on its cards (it used to be locked out after 15 minutes). Past STALE_AFTER
    each failed refresh is an error in the log."""
    clock = Monotonic()
    team = access(slack, clock)
    team.refresh()
    slack.inject(Fault("500", count=10_000, method="conversations.members"))
    clock.now += STALE_AFTER - 1
    with caplog.at_level("WARNING", logger="bot.slack.access"):
        assert not team.refresh()
        assert [r.levelname for r in caplog.records] == ["WARNING"]
        assert team.allowed("U0ALICE01")  # the last list, 14:59 old
        clock.now += 3 * 60 * 60
        assert not team.refresh()
        assert caplog.records[-1].levelname == "ERROR"
        assert "keeping the last good list, from 195 min ago" in caplog.records[-1].getMessage()
    assert team.allowed("U0ALICE01")
    assert not team.allowed("U0NOBODY1")
    slack.faults.clear()
    slack.state.channel_members[CHANNEL].remove("U0ALICE01")
    assert team.refresh()
    assert not team.allowed("U0ALICE01")  # and a removal still takes effect once Slack answers


def test_people_of_another_organisation_act_only_when_allowed(slack: SlackStandIn):
    """A Slack Connect channel: a partner's member is in the channel, their ``team_id`` is not ours.
    Refused unless SLACK_TEAM_ALLOW_EXTERNAL; a click naming another organisation is refused too."""
    slack.add_user("U0PARTNER", "partner", channels=(CHANNEL,), team_id="T0PARTNER")
    clock = Monotonic()
    team = access(slack, clock)
    assert team.refresh()
    assert team.allowed("U0ALICE01", "T0FOLLOW")
    assert not team.allowed("U0PARTNER")
    assert not team.allowed("U0ALICE01", "T0PARTNER")
    open_team = access(slack, clock, allow_external=True)
    assert open_team.refresh()
    assert open_team.allowed("U0PARTNER", "T0PARTNER")


def test_before_any_list_nobody_may_act_and_is_told_why(slack: SlackStandIn):
    slack.inject(Fault("500", count=10_000, method="conversations.members"))
    team = access(slack, Monotonic())
    assert not team.refresh()
    assert not team.allowed("U0ALICE01")
    assert "could not yet ask Slack who is in the support team" in team.refusal("act on complaint cards")


def test_a_usergroup_decides_when_configured(slack: SlackStandIn):
    slack.add_usergroup("S0SUPPORT", ["U0BOB0001", "UBOT0001"])
    team = access(slack, Monotonic(), usergroup="S0SUPPORT")
    team.refresh()
    assert team.allowed("U0BOB0001")
    assert not team.allowed("U0ALICE01")
    assert not team.allowed("UBOT0001")


def test_a_click_is_answered_while_slacks_membership_api_stalls(sqlite_url: str):
    """The refresher is stuck in a slow ``conversations.members`` (the bench stalls it 12 s); a click
    is answered at once from the list already held, and takes effect."""
    import threading

    from bot.slack.ids import Action
    from tests.support.harness import TEAM, Desk

    desk = Desk(sqlite_url)
    try:
        cid = desk.complaint()
        desk.slack.inject(Fault("slow", count=1, method="conversations.members", delay=4.0))
        asked = threading.Event()
        desk.slack.on_call = lambda method, _body: method == "conversations.members" and asked.set()
        stuck = threading.Thread(target=desk.app.access.refresh, daemon=True)
        stuck.start()
        assert asked.wait(5), "the refresh never asked Slack"  # it is now inside the stalled call
        status, _, elapsed = desk.click(TEAM[0], Action.CLAIM, str(cid))
        assert stuck.is_alive(), "the refresh should still be waiting on Slack"
        assert status == 200
        assert elapsed < 1.5, f"the click waited {elapsed:.2f} s"
        assert desk.get(cid).owner_id == TEAM[0]
        stuck.join(10)
    finally:
        desk.close()


def test_closing_the_assembled_bot_stops_its_membership_refresher(sqlite_url: str):
    """The playground and the demo assemble a bot and are done with it while the process lives on:
    its refresher went on asking a Slack that was gone (logging to a closed stream at the end of CI)."""
    from tests.support.harness import Desk

    desk = Desk(sqlite_url)
    try:
        assert desk.app.access is not None
        refresher = desk.app.access._thread
        assert refresher is not None
        assert refresher.is_alive()
        desk.app.close()
        refresher.join(5)
        assert not refresher.is_alive()
    finally:
        desk.close()
