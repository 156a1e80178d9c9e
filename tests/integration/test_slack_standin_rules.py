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
