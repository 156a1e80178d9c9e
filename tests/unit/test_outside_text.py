"""Outside text can't pass for ours (issue 10 §6): one-line fields stay one plain line, quotes can't be
broken out of, bare broadcast words ping nobody — in customer and team-entered text alike — and a
post's link goes only to its own network."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.slack.views import blocks
from tests.inert import assert_inert

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
BROADCASTS = ("@channel", "@here", "@everyone", "@Channel", "@HERE")
INVISIBLE = ("\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u202e", "\u2066", "\x00", "\x07")


def card(**kw) -> blocks.CardState:
    values = dict(
        id=7,
        kind="complaint",
        status="new",
        priority=50,
        text="still waiting",
        author_name="Eve",
        author_handle="eve",
        author_followers=10,
        url="https://x.com/eve/status/1",
        source="x",
        posted_at=NOW - timedelta(hours=1),
    )
    values.update(kw)
    return blocks.CardState(**values)


def lines_outside_quotes(text: str) -> list[str]:
    return [line for line in text.split("\n") if not line.startswith("&gt; ")]


# -- one-line fields ------------------------------------------------------------------------------
@pytest.mark.parametrize("brk", ["\n", "\r\n", "\r", "\u2028", "\u2029", "\x85", "\v", "\f"])
def test_a_display_name_with_a_line_break_stays_on_one_line(brk: str):
    name = f"Eve{brk}:white_check_mark: *Resolved by <@U0ALICE01>*"
    shown = blocks.inline(name)
    assert "\n" not in shown
    assert "\r" not in shown
    assert brk not in shown
    assert "*" not in shown
    header = blocks.build_card(card(author_name=name), NOW)["blocks"][0]["text"]["text"]
    assert "\n" not in header  # the name cannot start a line of its own on the card
    assert "*Resolved" not in header


def test_formatting_characters_are_dropped_from_one_line_fields_but_a_handle_keeps_underscores():
    assert blocks.inline("*Acme* _Support_ ~team~ `bot`") == "Acme Support team bot"
    assert blocks.handle("acme_help") == "@acme_help"
    assert blocks.handle("@@*acme*\nhelp") == "@acme help"


@pytest.mark.parametrize("ch", INVISIBLE)
def test_invisible_and_control_characters_are_removed_from_one_line_fields(ch: str):
    assert blocks.inline(f"Ev{ch}e") == "Eve"
    assert blocks.handle(f"ev{ch}e") == "@eve"


def test_a_source_name_or_handle_is_cut_to_one_short_line():
    assert len(blocks.inline("x" * 500)) <= 100
    assert len(blocks.handle("y" * 500)) <= 65


# -- quotes ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("brk", ["\n", "\r\n", "\r", "\u2028", "\u2029", "\x85", "\v", "\f", "\n\n\n"])
def test_every_line_of_a_quote_stays_quoted(brk: str):
    text = f"my order is late{brk}*Complaint #8 resolved by <@U0ALICE01>*{brk}> fake quote{brk}"
    quoted = blocks.quote(text)
    for line in quoted.split("\n"):
        assert line.startswith("&gt; "), repr(line)
    assert "\r" not in quoted
    assert "\u2028" not in quoted
    assert "\u2029" not in quoted


def test_a_customer_reply_in_the_thread_cannot_step_out_of_its_quote():
    reply = blocks.build_customer_reply(
        "eve", "thanks\n:white_check_mark: <@U0BOB0001> resolved this\u2028ok", source="x"
    )
    body = reply["blocks"][0]["text"]["text"]
    assert lines_outside_quotes(body) == [":speech_balloon: @eve replied:"]
    assert "\n" not in reply["text"]


# -- broadcasts -----------------------------------------------------------------------------------
@pytest.mark.parametrize("word", BROADCASTS)
def test_bare_broadcast_words_are_neutralised(word: str):
    shown = blocks.escape(f"hey {word} look")
    assert word not in shown
    assert word.lower() not in shown.lower()
    assert "\uff20" + word[1:] in shown  # still reads the same


def test_an_email_like_or_handle_like_word_is_left_alone():
    assert blocks.escape("mail me at ops@channel.example") == "mail me at ops@channel.example"
    assert blocks.escape("@channels4news") == "@channels4news"


@pytest.mark.parametrize("word", BROADCASTS)
def test_customer_text_names_and_replies_never_broadcast(word: str):
    c = card(text=f"{word} my refund", author_name=f"{word} Eve", author_handle="eve")
    for payload in (
        blocks.build_card(c, NOW),
        blocks.build_kudos(c),
        blocks.build_customer_reply("eve", f"{word} still nothing", source="x"),
    ):
        flat = str(payload)
        assert word not in flat, payload
        assert_inert(payload)


@pytest.mark.parametrize("word", BROADCASTS)
def test_team_entered_text_never_broadcasts_through_the_bot(word: str):
    """Notes, reasons and promise text are typed by the team, but the bot posts them."""
    promise = blocks.PromiseView(1, "U0ALICE01", f"{word} call back", NOW - timedelta(hours=1), "open")
    c = card(
        status="escalated",
        owner_id="U0ALICE01",
        escalation_tier="Tier 2",
        escalation_reason=f"{word} legal risk",
        escalated_by="U0ALICE01",
        promises=(promise,),
    )
    payloads = [
        blocks.build_card(c, NOW),
        blocks.build_escalation_notice(c, "Tier 2", None, None),
        blocks.build_nag("dm", promise, c, NOW),
        blocks.build_nag("channel", promise, c, NOW),
        {"text": blocks.format_note({"action": "resolve", "actor": "U0ALICE01", "note": f"{word} done"})},
        {
            "text": blocks.format_note(
                {
                    "action": "promise_rescheduled",
                    "actor": "U0ALICE01",
                    "detail": {"text": f"{word} call", "due": NOW.isoformat(), "count": 1, "reason": f"{word} x"},
                }
            )
        },
    ]
    for payload in payloads:
        assert word not in str(payload), payload


def test_a_team_note_with_line_breaks_stays_in_its_quote():
    line = blocks.format_note(
        {"action": "resolve", "actor": "U0ALICE01", "note": "refunded\n:rotating_light: *Broken promise*\r\nbye"}
    )
    first, *rest = line.split("\n")
    assert first.startswith(":white_check_mark: <@U0ALICE01> resolved this")
    assert rest
    assert all(part.startswith("&gt; ") for part in rest), rest


# -- links ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "url",
    ["https://x.com/eve/status/1", "https://twitter.com/eve/status/1", "https://mobile.twitter.com/eve/status/1"],
)
def test_a_post_links_to_its_own_network(url: str):
    assert blocks.post_link(url, "x") == url
    assert f"<{url}|view post>" in str(blocks.build_card(card(url=url), NOW))


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/x.com/status/1",
        "https://x.com.evil.example/status/1",
        "https://notx.com/status/1",
        "https://x.com@evil.example/status/1",
        "http://x.com/eve/status/1",
        "javascript:alert(1)",
        "https://x\u200b.com/eve/status/1",
        "https://x.com/eve/status/1\u202egnp.exe",
        "https://x.com/eve|click here",
        "https://x.com/eve>",
        "https://x.com/e ve",
        "https://xn--x-com.example/",
        "https://x.cοm/eve",  # Greek omicron
        "https://evil.example\\@x.com/eve/status/1",  # a browser goes to evil.example; urlsplit read x.com
        "https://evil.example\\x.com/status/1",
        "https://x.com\\@evil.example/status/1",
        "https://eve@x.com/status/1",  # user info: never on a real post link
        "https://x.com:443@evil.example/status/1",
        "https://x%2Ecom/status/1",
    ],
)
def test_any_other_url_is_shown_as_text_not_a_link(url: str):
    assert blocks.post_link(url, "x") is None
    shown = blocks.shown_url(url, "x")
    assert shown.startswith("`")
    assert shown.endswith("`")
    assert "|" not in shown.replace("&amp;", "") or "<" not in shown
    assert "\u200b" not in shown
    assert "\u202e" not in shown
    payload = blocks.build_card(card(url=url), NOW)
    assert "view post>" not in str(payload)
    assert "read it all>" not in str(payload)
    assert_inert(payload)


def test_a_source_without_registered_hosts_gets_no_links():
    assert blocks.post_link("https://x.com/eve/status/1", "webhook") is None
    assert blocks.shown_url("https://x.com/eve/status/1", "webhook") == "`https://x.com/eve/status/1`"
