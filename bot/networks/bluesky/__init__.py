"""Bluesky: mentions read with the atproto SDK (``listNotifications``), replies posted as records with
root and parent. See ``docs/networks.md`` for its setup."""

from __future__ import annotations

from typing import Any

from bot.networks.bluesky.settings import BlueskySettings, of
from bot.networks.network import Network, lazy


def _own_handles(s: Any) -> frozenset[str]:
    """A handle has dots, so it can't be mistaken for another network's customer; a DID is no handle."""
    handle = of(s).handle
    return frozenset({handle.lower()}) if handle and not handle.startswith("did:") else frozenset()


NETWORK = Network(
    name="bluesky",
    label="Bluesky",
    emoji=":butterfly:",
    settings=BlueskySettings,
    requires=("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD"),
    link_hosts=("bsky.app",),
    configured=lambda s: bool(of(s).handle and of(s).app_password),
    sources=lazy("bot.networks.bluesky.wiring:sources"),
    transport=lazy("bot.networks.bluesky.reply:build_bluesky_transport"),
    can_reply=lambda s: bool(of(s).handle),
    reply_limit=lazy("bot.networks.bluesky.reply:too_long"),
    own_handles=_own_handles,
    checks=(lazy("bot.networks.bluesky.check:check_bluesky"),),
    demo=lazy("bot.networks.bluesky.demo:read_sample"),
)
