"""A malformed record is refused with a reason fit for a log line."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.intake.posts import MalformedPost, post_from_record

GOOD = {"id": "1", "text": "hello", "author_id": "9", "author_handle": "@cust", "created_at": "2026-03-01T12:00:00Z"}


def test_good_record_with_optional_fields():
    post = post_from_record(
        {**GOOD, "followers": 12, "lang": "en", "conversation_id": "1", "unknown_field": [1, 2]},
        default_source="replay",
    )
    assert post.source == "replay"
    assert post.author_handle == "cust"
    assert post.created_at == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert post.followers == 12


def test_time_without_offset_is_utc_and_offsets_are_converted():
    post = post_from_record({**GOOD, "created_at": "2026-03-01T13:00:00+01:00"}, default_source="r")
    assert post.created_at == datetime(2026, 3, 1, 12, tzinfo=UTC)
    post = post_from_record({**GOOD, "created_at": "2026-03-01T12:00:00"}, default_source="r")
    assert post.created_at.tzinfo is UTC


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"id": None}, "missing id"),
        ({"text": None}, "missing text"),
        ({"text": "   "}, "empty text"),
        ({"text": 42}, "text must be a string"),
        ({"text": "x" * 100_000}, "100000 characters"),
        ({"text": "bad \ud800 surrogate"}, "lone surrogate"),
        ({"author_id": {"nested": 1}}, "author_id must be a string"),
        ({"author_id": True}, "author_id must be a string, got bool"),
        ({"author_handle": "caf\udce9"}, "author_handle is not valid Unicode"),
        ({"id": "  "}, "empty id"),
        ({"created_at": "yesterday"}, "not an ISO 8601 time"),
        ({"created_at": None}, "missing created_at"),
        ({"followers": -3}, "followers"),
        ({"followers": "many"}, "followers"),
        ({"id": "9" * 65}, "limit 64"),
        # over-long fields are refused with their reason, never cut (a cut handle is someone else's)
        ({"author_handle": "h" * 10_000}, "author_handle is 10000 characters .limit 320."),
        ({"author_handle": "@" + "h" * 321}, "author_handle is 321 characters .limit 320."),
        ({"author_handle": "@" + "h" * 320}, None),
        ({"author_name": "n" * 641}, "author_name is 641 characters .limit 640."),
        ({"url": "https://bsky.app/" + "p" * 2040}, "url is 2057 characters .limit 2048."),
        ({"lang": "x" * 36}, "lang is 36 characters .limit 35."),
        ({"source": "s" * 33}, "source is 33 characters .limit 32."),
    ],
)
def test_malformed_records_are_refused_with_reason(change, reason):
    if reason is None:  # the limit itself is allowed
        assert post_from_record({**GOOD, **change}, default_source="replay")
        return
    with pytest.raises(MalformedPost, match=reason):
        post_from_record({**GOOD, **change}, default_source="replay")


def test_the_longest_real_values_are_kept_whole():
    """A Bluesky handle is a domain name (253 characters at most); a Mastodon account is user@domain."""
    handle = ".".join(["a" * 63, "b" * 63, "c" * 63, "d" * 54]) + ".social"
    assert len(handle) == 253
    name = "É" * 640
    post = post_from_record(
        {
            **GOOD,
            "author_handle": "@" + handle,
            "author_name": name,
            "lang": "zh-Hant-TW",
            "url": "https://x.co/" + "u" * 2000,
        },
        default_source="r",
    )
    assert (post.author_handle, post.author_name, post.lang) == (handle, name, "zh-Hant-TW")
    assert len(post.url or "") == 2013


def test_not_an_object():
    with pytest.raises(MalformedPost, match="JSON object"):
        post_from_record(["a", "list"], default_source="replay")


def test_ids_given_as_numbers_and_non_ascii_handles_are_kept():
    post = post_from_record({**GOOD, "id": 123, "author_id": 7, "author_handle": " @Émilie "}, default_source="r")
    assert (post.id, post.author_id, post.author_handle) == ("123", "7", "Émilie")


def test_control_characters_are_stripped():
    assert post_from_record({**GOOD, "text": "a\x00b\x07c"}, default_source="r").text == "abc"


def test_text_key_matches_near_duplicates_only():
    from bot.intake.posts import text_key

    a = text_key("@AcmeHelp the site is DOWN again!! https://t.co/abc")
    assert a == text_key("RT @someone: @AcmeHelp The site is down again https://t.co/xyz")
    assert a == text_key("@AcmeAir   the site is down, again.")
    assert a != text_key("@AcmeHelp the site is down")


def test_text_key_ignores_apostrophes():
    from bot.intake.posts import text_key

    assert text_key("@AcmeHelp can't log in") == text_key("@acmehelp cant log in") == text_key("can’t log in")
