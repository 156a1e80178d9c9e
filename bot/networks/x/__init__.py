"""X (formerly Twitter): mentions, search or the filtered stream read with tweepy; replies from the
card with the brand's OAuth 1.0a keys. See ``docs/networks.md`` for its setup."""

from __future__ import annotations

from typing import Any

from bot.networks.network import Network, lazy


def _post_url(handle: str | None, post_id: str) -> str | None:
    return f"https://x.com/{(handle or 'i').lstrip('@')}/status/{post_id}"


def _own_handles(s: Any) -> frozenset[str]:
    return frozenset({s.x_brand_handle.lower()}) if s.x_brand_handle else frozenset()


NETWORK = Network(
    name="x",
    label="X",
    emoji=":bird:",
    link_hosts=("x.com", "twitter.com"),
    configured=lambda s: bool(s.x_bearer_token),
    sources=lazy("bot.networks.x.wiring:sources"),
    transport=lazy("bot.networks.x.wiring:transport"),
    can_reply=lambda s: bool(s.x_can_reply),
    reply_limit=lazy("bot.networks.x.wiring:reply_limit"),
    post_url=_post_url,
    own_handles=_own_handles,
    reply_author=lambda s: (s.x_brand_handle, s.x_user_id),
    checks=(lazy("bot.networks.x.check:check_x"), lazy("bot.networks.x.check:check_x_replies")),
)
