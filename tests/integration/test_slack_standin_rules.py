"""The Slack stand-in refuses what Slack refuses — each rule on its own, through slack_sdk.

A lenient stand-in is how production bugs pass tests: these pin the rules the rest of the suite
relies on (empty section text, member paging, trigger ids good once for 3 s, the app token).
"""

from __future__ import annotations

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from tests.support.slack_api import SlackStandIn


@pytest.fixture
def slack():
    with SlackStandIn() as stand_in:
        now = [1_770_000_000.0]
        stand_in.wall = lambda: now[0]
        stand_in.now = now  # type: ignore[attr-defined]
        yield stand_in


def client(slack: SlackStandIn) -> WebClient:
    return WebClient(token=slack.state.token, base_url=slack.base_url)


def test_a_section_with_empty_text_is_refused(slack: SlackStandIn):
    web = client(slack)
    empty = [{"type": "section", "text": {"type": "mrkdwn", "text": ""}}]
    with pytest.raises(SlackApiError) as refused:
        web.chat_postMessage(channel="C0COMPLAIN", text="fallback", blocks=empty)
    assert refused.value.response["error"] == "invalid_blocks"
    ok = [{"type": "section", "text": {"type": "mrkdwn", "text": "hello"}}]
    assert web.chat_postMessage(channel="C0COMPLAIN", text="fallback", blocks=ok)["ok"]


def test_channel_members_come_in_pages(slack: SlackStandIn):
    for n in range(7):
        slack.add_user(f"U{n:08d}", f"user{n}", channels=("C0COMPLAIN",))
    web = client(slack)
    seen, cursor, pages = [], None, 0
    while True:
        answer = web.conversations_members(channel="C0COMPLAIN", limit=3, cursor=cursor)
        seen += answer["members"]
        pages += 1
        cursor = answer["response_metadata"]["next_cursor"]
        if not cursor:
            break
    assert pages == 3
    assert seen == [f"U{n:08d}" for n in range(7)]


def test_a_trigger_id_works_once_and_for_three_seconds(slack: SlackStandIn):
    web = client(slack)
    view = {"type": "modal", "title": {"type": "plain_text", "text": "Resolve"}, "blocks": []}
    trigger = slack.trigger_id()
    assert web.views_open(trigger_id=trigger, view=view)["ok"]
    with pytest.raises(SlackApiError) as again:
        web.views_open(trigger_id=trigger, view=view)
    assert again.value.response["error"] == "invalid_trigger_id"
    late = slack.trigger_id()
    slack.now[0] += 3.5  # type: ignore[attr-defined]
    with pytest.raises(SlackApiError) as expired:
        web.views_open(trigger_id=late, view=view)
    assert expired.value.response["error"] == "expired_trigger_id"


def test_a_private_channels_scopes_go_by_the_channel_not_its_id():
    """Private channels made since 2021 have C ids: reading one needs ``groups:history``, whatever
    its first letter."""
    from bot.slack.manifest import MANIFEST_SCOPES

    with SlackStandIn(scopes=MANIFEST_SCOPES - {"groups:history"}) as slack:
        slack.private_channel("C0PRIVATE")
        web = client(slack)
        assert web.conversations_history(channel="C0PUBLIC")["ok"]
        with pytest.raises(SlackApiError) as refused:
            web.conversations_history(channel="C0PRIVATE")
        assert (refused.value.response["error"], refused.value.response["needed"]) == (
            "missing_scope",
            "groups:history",
        )


def test_the_app_posts_and_deletes_only_where_and_what_slack_lets_it(slack: SlackStandIn):
    """Not a member: ``not_in_channel`` (public) or ``channel_not_found`` (private, invisible).
    A bot token deletes only the bot's own messages; a message gone is ``message_not_found``."""
    web = client(slack)
    slack.close_channel("C0PUBLIC", private=False)
    slack.close_channel("C0SECRET", private=True)
    for channel, error in (("C0PUBLIC", "not_in_channel"), ("C0SECRET", "channel_not_found")):
        with pytest.raises(SlackApiError) as refused:
            web.chat_postMessage(channel=channel, text="hello")
        assert refused.value.response["error"] == error
    ts = web.chat_postMessage(channel="C0COMPLAIN", text="hello")["ts"]
    slack.state.messages["C0COMPLAIN"].append({"type": "message", "ts": "1.000001", "user": "U0ALICE01", "text": "hi"})
    with pytest.raises(SlackApiError) as refused:
        web.chat_delete(channel="C0COMPLAIN", ts="1.000001")
    assert refused.value.response["error"] == "cant_delete_message"
    assert web.chat_delete(channel="C0COMPLAIN", ts=ts)["ok"]
    with pytest.raises(SlackApiError) as refused:
        web.chat_delete(channel="C0COMPLAIN", ts=ts)
    assert refused.value.response["error"] == "message_not_found"
