"""X (formerly Twitter): mentions, search or the filtered stream read with tweepy; replies from the
card with the brand's OAuth 1.0a keys. See ``docs/networks.md`` for its setup."""

from __future__ import annotations

import re
from typing import Any

from bot.networks.network import Network, lazy
from bot.networks.x.settings import XSettings, of


def _post_url(handle: str | None, post_id: str) -> str | None:
    return f"https://x.com/{(handle or 'i').lstrip('@')}/status/{post_id}"


def _reply_check(post_text: str, brand_handles: frozenset[str]) -> str | None:
    """X's API refuses a reply to a post that neither mentions nor quotes the replying account
    ("Reply to this conversation is not allowed because you have not been mentioned …", 403)."""
    mentioned = {m.lower() for m in re.findall(r"(?<![\w@])@(\w{1,15})", post_text)}
    if not brand_handles or mentioned & brand_handles:
        return None
    shown = ", ".join(f"@{h}" for h in sorted(brand_handles))
    return (
        f"X will not take this reply from the bot: the post does not mention {shown}, and since 23 Feb 2026 "
        "X's API answers only posts whose author mentioned or quoted the brand. Open it on X and answer there "
        "(or send anyway if they quoted one of the brand's posts)."
    )


def _own_handles(s: Any) -> frozenset[str]:
    handle = of(s).brand_handle
    return frozenset({handle.lower()}) if handle else frozenset()


NETWORK = Network(
    name="x",
    label="X",
    emoji=":bird:",
    settings=XSettings,
    requires=("X_BEARER_TOKEN",),
    read_when_bare=True,
    link_hosts=("x.com", "twitter.com"),
    configured=lambda s: bool(of(s).bearer_token),
    sources=lazy("bot.networks.x.wiring:sources"),
    transport=lazy("bot.networks.x.wiring:transport"),
    can_reply=lambda s: of(s).can_reply,
    reply_limit=lazy("bot.networks.x.wiring:reply_limit"),
    reply_check=_reply_check,
    post_url=_post_url,
    own_handles=_own_handles,
    reply_author=lambda s: (of(s).brand_handle, of(s).user_id),
    checks=(
        lazy("bot.networks.x.check:check_x"),
        lazy("bot.networks.x.check:check_x_replies"),
        lazy("bot.networks.x.check:check_x_usage"),
    ),
    usage=lazy("bot.networks.x.usage:usage_line"),
    demo_settings=lambda: XSettings(brand_handle="AcmeHelp"),  # the brand in bot/devtools/sample_replay.jsonl
)
