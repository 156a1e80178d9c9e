"""Mastodon: mentions read with Mastodon.py from the brand's instance, replies posted with the
mention's visibility. See ``docs/networks.md`` for its setup."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from bot.networks.mastodon.settings import MastodonSettings, of
from bot.networks.network import Network, lazy


def _instance(s: Any) -> dict[str, tuple[str, ...]]:
    """Cards link to the brand's own instance (its copy of each status), whatever server the author is on."""
    base = of(s).base_url
    host = urlsplit(base).netloc if base else ""
    return {"mastodon": (host,)} if host else {}


NETWORK = Network(
    name="mastodon",
    label="Mastodon",
    emoji=":elephant:",
    settings=MastodonSettings,
    requires=("MASTODON_BASE_URL", "MASTODON_ACCESS_TOKEN"),
    settings_hosts=_instance,
    configured=lambda s: bool(of(s).base_url and of(s).access_token),
    sources=lazy("bot.networks.mastodon.wiring:sources"),
    transport=lazy("bot.networks.mastodon.reply:build_mastodon_transport"),
    can_reply=lambda s: bool(of(s).base_url),
    checks=(lazy("bot.networks.mastodon.check:check_mastodon"),),
    demo=lazy("bot.networks.mastodon.demo:read_sample"),
)
