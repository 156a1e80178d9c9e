"""Every message and view the bot builds, at its largest, is one Slack takes.

Each builder is fed the longest values the bot can store (a 25,000-character post, 320-character
handles, 500-character promises, thirty promises on one card, a hundred escalation tiers, two
hundred overdue promises …), passed through ``fit_message`` / ``fit_view`` — the one place the bot
meets Block Kit's limits — and then checked twice: by the Slack stand-in's rules (what every other
test relies on) and by slack_sdk's Block Kit models. A builder that puts an uncuttable value over
its limit (a button value) fails here, not in Slack.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

from bot.devtools.slack_api import refusal
from bot.promises.due import DueParser
from bot.slack.listeners.app_home import outsider_view
from bot.slack.listeners.promising import _ask_message
from bot.slack.views import blocks, reply_blocks
from bot.slack.views.fit import Unfittable, fit_message, fit_view, listed

NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LONG = ("Wir warten seit Wochen & <nobody> answers *at all* — " * 600)[:25_000]
PROMISE = ("call back about the refund & the <router> " * 20)[:500]
HANDLE = "h" * 320


def card(promises: int = 30, **kw: Any) -> blocks.CardState:
    state = blocks.CardState(
        id=10**9,
        kind="complaint",
        status="escalated",
        priority=99,
        text=LONG,
        author_name="N" * 640,
        author_handle=HANDLE,
        author_followers=10**12,
        url="https://bsky.app/profile/" + "p" * 2000,
        posted_at=NOW - timedelta(days=400),
        owner_id="U0ALICE01",
        claimed_at=NOW,
        escalation_tier="T" * 64,
        escalation_reason=LONG,
        escalated_by="U0BOB0001",
        resolution_note=LONG,
        resolved_by="U0BOB0001",
        resolved_at=NOW,
        amplification_count=10**6,
        amplification_reach=10**12,
        duplicate_count=10**6,
        reply_count=10**6,
        repeat_contact=10**6,
        source="bluesky",
        promises=tuple(
            blocks.PromiseView(i, f"U0OWNER{i:02d}", PROMISE, NOW - timedelta(hours=i), "open", 99)
            for i in range(promises)
        ),
        first_response_seconds=10**8,
        can_reply=True,
        needs_look="a language triage cannot read",
    )
    return replace(state, **kw)


def digest_report(n: int = 200) -> dict[str, Any]:
    line = {
        "promise_id": 1,
        "complaint_id": 10**9,
        "owner_id": "U0OWNER01",
        "text": PROMISE,
        "customer": HANDLE,
        "due_at": (NOW - timedelta(days=3)).isoformat(),
        "status": "broken",
        "channel": "C0COMPLAIN",
        "ts": "1.1",
    }
    return {
        "day": "2026-03-02",
        "overdue": [{**line, "owner_id": f"U0OWNER{i % 40:02d}"} for i in range(n)],
        "due_today": [line] * n,
        "counts": {
            "by_status": {"new": 10**6},
            "oldest_unclaimed": (NOW - timedelta(days=400)).isoformat(),
            "unclaimed": 10**6,
            "overdue_promises": n,
        },
        "yesterday": {
            "day": "2026-03-01",
            "new": 10**6,
            "resolved": 10**6,
            "median_minutes_to_claim": 10.0**6,
            "kept_on_time": 10**6,
            "kept_late": 10**6,
            "broken": 10**6,
        },
        "skipped": 10**6,
    }


def label() -> Any:
    return SimpleNamespace(
        id=10**9,
        text=PROMISE,
        reply_text=LONG,
        due_at=NOW,
        decision=None,
        status="proposed",
        promise_id=None,
        proposed_to="U0ALICE01",
        ask="Which time did you mean: 3pm London or 3pm New York?",
        origin="seen",
        complaint_id=1,
    )


def ask_reading() -> Any:
    reading = DueParser().read("tomorrow 3pm " + PROMISE[:480], now=NOW, tz="Europe/London", locale=None)
    options = tuple(replace(o, what=PROMISE) for o in reading.options) * 3
    return replace(reading, ask=reading.ask or "Which time?", options=options[:3])


MESSAGES = {
    "card": lambda: blocks.build_card(card(), NOW),
    "card, resolved": lambda: blocks.build_card(card(status="resolved", customer_confirmed=True), NOW),
    "question card": lambda: blocks.build_question_card(card(kind="question", status="new"), NOW),
    "kudos": lambda: blocks.build_kudos(card(kind="praise")),
    "customer reply": lambda: blocks.build_customer_reply(HANDLE, LONG, source="mastodon", folded_from=10**9),
    "note": lambda: blocks.build_note(
        blocks.format_note(
            {"action": "resolve", "actor": "U0ALICE01", "note": LONG, "at": NOW.isoformat(), "detail": {"x": LONG}}
        )
    ),
    "alert": lambda: blocks.build_alert(LONG),
    "escalation": lambda: blocks.build_escalation_notice(
        card(), "T" * 64, "S0COMMS01", "https://slack.test/" + "p" * 900
    ),
    "digest": lambda: blocks.build_digest(digest_report(), {10**9: "https://slack.test/archives/C/p1"}, NOW),
    "heads-up": lambda: blocks.build_heads_up(
        {
            "action": "promise_rescheduled",
            "actor": "U0BOB0001",
            "text": PROMISE,
            "due": NOW.isoformat(),
            "reason": LONG,
        },
        10**9,
        "https://slack.test/archives/C/p1",
    ),
    "public reply line": lambda: reply_blocks.public_reply_line(
        {"source": "x", "text": LONG, "sender": "U0ALICE01", "url": "https://x.com/a/status/1", "customer": HANDLE}
    ),
    "commitment line": lambda: reply_blocks.commitment_line(label(), "U0ALICE01", NOW),
    "/promise question": lambda: _ask_message(
        10**9, "tomorrow 3pm " + PROMISE, ask_reading(), now=NOW, tz="Europe/London"
    ),
    "a text answer": lambda: {"text": LONG * 2},
    "card list": lambda: {
        "text": listed(
            "*Your promises (80)*", [f"• #{i} “{PROMISE[:100]}”" for i in range(80)], 3900, "`/complaints mine`"
        )
    },
}
for rung in ("dm", "thread", "channel", "escalate"):
    MESSAGES[f"nag: {rung}"] = lambda rung=rung: blocks.build_nag(
        rung, card().promises[0], card(), NOW, contact="S0COMMS01", permalink="https://slack.test/archives/C/p1"
    )

VIEWS = {
    "escalate form": lambda: blocks.escalate_modal(10**9, ["T" * 64] * 150),
    "resolve form": lambda: blocks.resolve_modal(10**9, open_promises=10**6),
    "promise form": lambda: blocks.promise_modal(10**9, "U0ALICE01"),
    "reschedule form": lambda: blocks.reschedule_modal(10**9, PROMISE),
    "reply form": lambda: reply_blocks.reply_modal(
        10**9,
        HANDLE,
        "bluesky",
        draft=LONG[:3000],
        warnings=[blocks_warning() for _ in range(40)],
        writing=[(f"U0WRITER{i:02d}", NOW) for i in range(40)],
        now=NOW,
    ),
    "change time form": lambda: reply_blocks.change_time_modal(10**9, PROMISE),
    "outsider's home": lambda: outsider_view(LONG),
}


def blocks_warning() -> Any:
    from bot.desk.replies import ReplyWarning

    return ReplyWarning(LONG[:2000], who="U0ALICE01")


def sdk_checks(blocks_: list[Any]) -> None:
    for block in blocks_:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()


@pytest.mark.parametrize("name", sorted(MESSAGES))
def test_every_message_at_its_largest_is_one_slack_takes(name: str):
    payload = fit_message(MESSAGES[name]())
    assert refusal(payload) is None, (name, refusal(payload))
    sdk_checks(payload.get("blocks") or [])


@pytest.mark.parametrize("name", sorted(VIEWS))
def test_every_view_at_its_largest_is_one_slack_takes(name: str):
    view = fit_view(VIEWS[name]())
    assert refusal(view, view=True) is None, (name, refusal(view, view=True))
    View(**view).validate_json()
    sdk_checks(view["blocks"])


def test_what_is_cut_says_so_and_what_cannot_be_cut_is_refused():
    """Fitting shows where it cut ("…", "…and N more"), never cuts a value read back later."""
    many = {"blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x" * 5000}}] * 80}
    fitted = fit_message(many)
    assert len(fitted["blocks"]) == 50
    assert fitted["blocks"][0]["text"]["text"].endswith("…")
    assert fitted["blocks"][-1]["elements"][0]["text"].startswith("…and 31 more")
    assert refusal(fitted) is None
    assert refusal(many) is not None  # unfitted, Slack refuses it: the fitting is what makes it pass
    button = {
        "type": "actions",
        "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": "Go"}, "action_id": "a", "value": "v" * 2001}
        ],
    }
    with pytest.raises(Unfittable, match="a button's value is 2001 characters"):
        fit_message({"text": "t", "blocks": [button]})
    with pytest.raises(Unfittable, match="private_metadata"):
        fit_view(
            {
                "type": "modal",
                "title": {"type": "plain_text", "text": "t"},
                "private_metadata": "m" * 3001,
                "blocks": [],
            }
        )


def test_a_long_list_ends_with_how_many_more_and_where_to_see_them():
    lines = [f"• line {i} " + "x" * 90 for i in range(80)]
    text = listed("*Your promises (80)*", lines, 3000, "`/complaints mine`")
    assert len(text) <= 3000
    shown = text.count("• line ")
    assert 20 < shown < 80
    assert text.endswith(f"…and {80 - shown} more — `/complaints mine`")
    assert listed("*Two*", ["• a", "• b"], 3000, "x") == "*Two*\n• a\n• b"
