"""X's length rule for replies, the reply settings, and how reply lines treat outside text."""

from __future__ import annotations

import pytest

from bot.common.errors import DomainError
from bot.config import SettingsError, load_settings
from bot.desk.reach import check_reply as check_length
from bot.networks.x.wiring import weighted_length
from bot.slack.views import reply_blocks

KEYS = {"X_API_KEY": "k", "X_API_SECRET": "s", "X_ACCESS_TOKEN": "1-t", "X_ACCESS_TOKEN_SECRET": "ts"}


def test_weighted_length_counts_links_as_23_and_cjk_as_2():
    assert weighted_length("a" * 280) == 280
    assert weighted_length("see https://example.com/" + "x" * 300) == len("see ") + 23
    assert weighted_length("日本語") == 6
    check_length("a" * 280, "x")
    check_length("see https://example.com/" + "x" * 300, "x")


def test_a_reply_over_280_weighted_is_refused_with_its_count():
    with pytest.raises(DomainError, match=r"281/280"):
        check_length("a" * 281, "x")
    with pytest.raises(DomainError, match=r"282/280"):
        check_length("日本" * 70 + "ab", "x")  # 142 characters, 282 weighted
    with pytest.raises(DomainError, match="Write the reply"):
        check_length("   ", "x")


def test_reply_keys_are_all_or_nothing():
    off = load_settings({}, mode=None, dotenv_path=None)
    assert not off.network("x").can_reply
    on = load_settings(KEYS, mode=None, dotenv_path=None)
    assert on.network("x").can_reply
    assert on.follow_up_days == 7
    with pytest.raises(SettingsError) as refused:
        load_settings({"X_API_KEY": "k", "X_API_SECRET": "s"}, mode=None, dotenv_path=None)
    text = refused.value.render()
    assert "X_ACCESS_TOKEN, X_ACCESS_TOKEN_SECRET not set" in text
    assert "=k" not in text  # the values themselves are never shown
    assert "1-t" not in repr(on)


def test_reply_lines_keep_outside_text_inert():
    line = reply_blocks.public_reply_line(
        {"handle": "AcmeHelp", "text": "<!channel> hi @here", "url": "https://evil.example/x", "source": "x"}
    )
    body = line["blocks"][0]["text"]["text"]
    assert "<!channel>" not in body
    assert "&lt;!channel&gt;" in body
    assert "evil.example" not in body  # only links to X's own hosts
    assert "↩" in line["text"]
