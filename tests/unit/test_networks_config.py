"""Bluesky and Mastodon settings and the pure parts of their adapters (no network)."""

from __future__ import annotations

import pytest

from bot.config import SettingsError, load_settings
from bot.networks.bluesky.client import post_id, post_url, uri_of
from bot.networks.bluesky.reply import graphemes, tid, too_long
from bot.networks.bluesky.source import normalise as bluesky_record
from bot.networks.mastodon.reply import counted_length
from bot.networks.mastodon.source import html_to_text

GOOD = {
    "SLACK_BOT_TOKEN": "xoxb-1-2-secretbot",
    "SLACK_APP_TOKEN": "xapp-1-secretapp",
    "SLACK_COMPLAINTS_CHANNEL": "C0COMPLAIN",
    "SLACK_ESCALATION_CHANNEL": "C0ESCALATE",
    "X_BEARER_TOKEN": "AAAAsecretbearer",
    "X_BRAND_HANDLE": "AcmeHelp",
}


def load(env: dict[str, str]):
    return load_settings({**GOOD, **env}, dotenv_path=None)


def test_bluesky_and_mastodon_settings_load_and_hide_their_secrets():
    s = load(
        {
            "BLUESKY_HANDLE": "@acme.bsky.social",
            "BLUESKY_APP_PASSWORD": "abcd-efgh-ijkl-mnop",
            "BLUESKY_SERVICE_URL": "http://127.0.0.1:9999",
            "MASTODON_BASE_URL": "https://mastodon.social/",
            "MASTODON_ACCESS_TOKEN": "zQ8-secret-mastodon-token-123",
        }
    )
    assert s.network("bluesky").handle == "acme.bsky.social"
    assert s.network("bluesky").app_password.reveal() == "abcd-efgh-ijkl-mnop"
    assert s.network("bluesky").service_url == "http://127.0.0.1:9999"
    assert s.network("mastodon").base_url == "https://mastodon.social"
    assert "abcd-efgh" not in repr(s)
    assert "secret-mastodon" not in repr(s)
    assert load({}).network("bluesky").handle is None  # neither configured: both off, no problem


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"BLUESKY_HANDLE": "acme.bsky.social"}, "BLUESKY_APP_PASSWORD is not set"),
        ({"BLUESKY_APP_PASSWORD": "abcd-efgh-ijkl-mnop"}, "BLUESKY_HANDLE is not set"),
        ({"BLUESKY_HANDLE": "acme support", "BLUESKY_APP_PASSWORD": "x"}, "must be a Bluesky handle"),
        ({"MASTODON_BASE_URL": "https://mastodon.social"}, "MASTODON_ACCESS_TOKEN is not set"),
        ({"MASTODON_ACCESS_TOKEN": "tok"}, "MASTODON_BASE_URL is not set"),
        ({"MASTODON_BASE_URL": "mastodon.social", "MASTODON_ACCESS_TOKEN": "t"}, "is not an http(s) URL"),
        (
            {"MASTODON_BASE_URL": "https://mastodon.social/api/v1", "MASTODON_ACCESS_TOKEN": "t"},
            "must be the instance's address only",
        ),
    ],
)
def test_half_configured_networks_are_clear_problems(env, problem):
    with pytest.raises(SettingsError) as caught:
        load(env)
    assert any(problem in p for p in caught.value.problems), caught.value.problems


def test_a_secret_in_a_problem_is_never_echoed_whole():
    with pytest.raises(SettingsError) as caught:
        load({"BLUESKY_HANDLE": "abcd-efgh-ijkl-mnop-pasted-here-9", "BLUESKY_APP_PASSWORD": "abcd-efgh-ijkl-mnop"})
    assert "ijkl-mnop" not in caught.value.render()


@pytest.mark.parametrize(
    ("html", "text"),
    [
        ("<p>one</p><p>two</p>", "one\n\ntwo"),
        ("<p>line<br>next<br/>last</p>", "line\nnext\nlast"),
        ("<p>Q&amp;A &lt;3 &quot;ok&quot; &#39;x&#39;</p>", "Q&A <3 \"ok\" 'x'"),
        ("<p>I typed &amp;amp; on purpose</p>", "I typed &amp; on purpose"),  # unescaped once, not twice
        (
            '<p><a href="x"><span class="invisible">https://</span>a.io/<span class="invisible">long</span></a></p>',
            "https://a.io/long",
        ),
        ("<p><script>alert(1)</script><b>bold</b> <i>it</i></p>", "alert(1)bold it"),
        ("", ""),
    ],
)
def test_mastodon_html_becomes_plain_text(html, text):
    assert html_to_text(html) == text


def test_bluesky_ids_urls_and_a_notification_mapping():
    uri = "at://did:plc:ewvi7nxzyoun6zhxrhs64oiz/app.bsky.feed.post/3l3qo2vuowo2b"
    assert post_id(uri) == "did:plc:ewvi7nxzyoun6zhxrhs64oiz/3l3qo2vuowo2b"
    assert len(post_id(uri)) <= 64
    assert uri_of(post_id(uri)) == uri
    assert post_id("at://did:plc:x/app.bsky.feed.like/3l3") is None
    assert post_url("ann.bsky.social", "3l3") == "https://bsky.app/profile/ann.bsky.social/post/3l3"
    note = {
        "uri": uri,
        "author": {"did": "did:plc:ewvi7nxzyoun6zhxrhs64oiz", "handle": "ann.bsky.social"},
        "reason": "reply",
        "record": {
            "text": "still broken",
            "createdAt": "2026-03-02T08:00:00Z",
            "reply": {
                "root": {"uri": "at://did:plc:root/app.bsky.feed.post/3root", "cid": "a"},
                "parent": {"uri": "at://did:plc:brand/app.bsky.feed.post/3par", "cid": "b"},
            },
        },
        "indexedAt": "2026-03-02T08:00:01Z",
    }
    record = bluesky_record(note, {"did:plc:ewvi7nxzyoun6zhxrhs64oiz": {"displayName": "Ann", "followersCount": 7}})
    assert (record["conversation_id"], record["in_reply_to_id"]) == ("did:plc:root/3root", "did:plc:brand/3par")
    assert (record["author_name"], record["followers"], record["source"]) == ("Ann", 7, "bluesky")


def test_bluesky_graphemes_and_tids():
    assert graphemes("👍🏽") == 1
    assert graphemes("e\u0301") == 1
    assert too_long("👍🏽" * 300) is None  # 300 graphemes, 2,400 bytes
    assert too_long("👨‍👩‍👧‍👦" * 200) == "the reply is 5000 bytes; Bluesky allows 3000"
    assert tid(0, 0) == "2222222222222"
    assert len(tid(1_767_225_600_000_000, 1023)) == 13
    assert tid(1, 0) > tid(0, 1023)  # sortable by time first


def test_mastodon_counts_urls_as_23_and_mentions_by_local_part():
    assert counted_length("hi https://example.com/" + "x" * 100) == 3 + 23
    assert counted_length("@ann@mastodon.example thanks") == len("@ann thanks")
    assert counted_length("mail me at a@b.example") == len("mail me at a@b.example")


def test_cards_may_link_to_bluesky_and_to_the_brands_own_mastodon_instance_only():
    from bot.networks import register_link_hosts
    from bot.networks.links import link_hosts

    register_link_hosts(load({"MASTODON_BASE_URL": "https://Social.Example:443", "MASTODON_ACCESS_TOKEN": "t"}))
    assert link_hosts("bluesky") == ("bsky.app",)
    assert "social.example" in link_hosts("mastodon")
    assert "evil.example" not in link_hosts("mastodon")


def test_the_quiet_source_alert_has_one_name_for_every_network_and_the_old_one_still_works():
    assert load({}).source_silence_alert_hours == 6.0
    assert load({"SOURCE_SILENCE_ALERT_HOURS": "2"}).source_silence_alert_hours == 2.0
    assert load({"X_SILENCE_ALERT_HOURS": "3"}).source_silence_alert_hours == 3.0  # deployments set up before
    assert load({"SOURCE_SILENCE_ALERT_HOURS": "2", "X_SILENCE_ALERT_HOURS": "3"}).source_silence_alert_hours == 2.0


def test_each_network_reads_its_own_section_and_a_copy_can_change_one():
    s = load({"BLUESKY_HANDLE": "acme.bsky.social", "BLUESKY_APP_PASSWORD": "abcd-efgh-ijkl-mnop"})
    assert set(s.networks) == {"x", "bluesky", "mastodon", "webhook"}
    other = s.with_network("bluesky", handle="other.bsky.social")
    assert other.network("bluesky").handle == "other.bsky.social"
    assert other.network("bluesky").app_password.reveal() == "abcd-efgh-ijkl-mnop"
    assert s.network("bluesky").handle == "acme.bsky.social"  # the original is untouched
