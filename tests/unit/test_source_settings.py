"""SOURCES and the webhook's settings: problems listed with the rest, secrets never shown."""

from __future__ import annotations

import pytest

from bot import networks
from bot.config import Mode, SettingsError, load_settings

SLACK = {
    "SLACK_BOT_TOKEN": "xoxb-1-2-secretbot",
    "SLACK_APP_TOKEN": "xapp-1-secretapp",
    "SLACK_COMPLAINTS_CHANNEL": "C0COMPLAIN",
    "SLACK_ESCALATION_CHANNEL": "C0ESCALATE",
}
X = {"X_BEARER_TOKEN": "AAAAsecretbearer", "X_BRAND_HANDLE": "AcmeHelp"}
HOOK_SECRET = "Zq8wVv3kP0sLm2Xr7Ty1"


def load(env: dict[str, str], **kwargs: object):
    return load_settings(env, dotenv_path=None, mode=Mode.SOCKET, **kwargs)


def problems(env: dict[str, str], **kwargs: object) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load(env, **kwargs)
    return caught.value.problems


def test_a_webhook_alone_is_a_source_so_x_is_not_required():
    s = load({**SLACK, "WEBHOOK_SECRET_FACEBOOK": HOOK_SECRET})
    assert [(n, v.reveal()) for n, v in s.network("webhook").secrets] == [("facebook", HOOK_SECRET)]
    assert networks.selected(s) == ("webhook",)
    assert networks.ingest_sources(s) == ("facebook",)


def test_nothing_configured_still_asks_for_x():
    assert any("X_BEARER_TOKEN" in p for p in problems(SLACK))


def test_default_sources_are_the_configured_ones():
    s = load({**SLACK, **X, "WEBHOOK_SECRET_EMAIL": HOOK_SECRET})
    assert networks.selected(s) == ("x", "webhook")


def test_sources_lists_what_runs_and_each_named_network_needs_its_settings():
    found = problems({**SLACK, "SOURCES": "x, bluesky,mastodon,webhook,myspace"})
    text = "\n".join(found)
    assert "SOURCES names 'myspace'" in text
    assert "SOURCES includes bluesky, but BLUESKY_HANDLE and BLUESKY_APP_PASSWORD is not set" in text
    assert "SOURCES includes mastodon, but MASTODON_BASE_URL and MASTODON_ACCESS_TOKEN is not set" in text
    assert "SOURCES includes webhook, but no WEBHOOK_SECRET_<SOURCE> is set" in text
    assert any("X_BEARER_TOKEN" in p for p in found)


def test_sources_without_x_does_not_need_x_even_when_its_token_is_set():
    s = load({**SLACK, "X_BEARER_TOKEN": "AAAAsecretbearer", "SOURCES": "webhook", "WEBHOOK_SECRET_EMAIL": HOOK_SECRET})
    assert networks.selected(s) == ("webhook",)


def test_sources_without_webhook_turns_the_webhook_off():
    s = load({**SLACK, **X, "SOURCES": "x", "WEBHOOK_SECRET_EMAIL": HOOK_SECRET})
    assert networks.ingest_sources(s) == ()


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("WEBHOOK_SECRET_X", "'x' is a built-in source"),
        ("WEBHOOK_SECRET_BLUESKY", "'bluesky' is a built-in source"),
        ("WEBHOOK_SECRET_" + "A" * 33, "1–32 of a-z"),
        ("WEBHOOK_SECRET_FACE.BOOK", "1–32 of a-z"),
    ],
)
def test_webhook_source_names_are_checked(name: str, expected: str):
    found = problems({**SLACK, **X, name: HOOK_SECRET})
    assert any(expected in p for p in found)
    assert not any(HOOK_SECRET[:4] in p for p in found)


def test_a_short_webhook_secret_is_refused_without_showing_it():
    found = problems({**SLACK, **X, "WEBHOOK_SECRET_EMAIL": "hunter2hunter"})
    assert found == ["WEBHOOK_SECRET_EMAIL is too short: use at least 16 random characters"]


def test_secrets_never_show_in_the_settings_repr():
    s = load({**SLACK, "WEBHOOK_SECRET_FACEBOOK": HOOK_SECRET})
    assert HOOK_SECRET not in repr(s)
    assert "secrets=(('facebook', Secret('***')),)" in repr(s)


def test_link_hosts_per_webhook_source():
    s = load(
        {
            **SLACK,
            "WEBHOOK_SECRET_FACEBOOK": HOOK_SECRET,
            "WEBHOOK_LINK_HOSTS_FACEBOOK": "facebook.com, fb.com.",
        }
    )
    assert s.network("webhook").link_hosts == (("facebook", ("facebook.com", "fb.com")),)
    found = problems(
        {
            **SLACK,
            "WEBHOOK_SECRET_FACEBOOK": HOOK_SECRET,
            "WEBHOOK_LINK_HOSTS_FACEBOOK": "https://facebook.com/x",
            "WEBHOOK_LINK_HOSTS_EMAIL": "mail.example.com",
        }
    )
    assert any("WEBHOOK_LINK_HOSTS_FACEBOOK" in p and "is not a host name" in p for p in found)
    assert any("WEBHOOK_LINK_HOSTS_EMAIL: there is no WEBHOOK_SECRET_EMAIL" in p for p in found)
