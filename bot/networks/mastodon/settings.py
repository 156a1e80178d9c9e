"""Mastodon's section of the settings (``MASTODON_*``): the brand's instance and an access token."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.common.secret import Secret
from bot.common.settings_reader import Reader, shown_value
from bot.networks.network import Need


@dataclass(frozen=True)
class MastodonSettings:
    base_url: str | None = None
    access_token: Secret = field(default_factory=lambda: Secret(""))
    poll_seconds: int = 60

    @classmethod
    def read(cls, r: Reader, need: Need) -> MastodonSettings:
        """The instance's address (no path) and a token with read + write:statuses, both or neither."""
        base = r.url("MASTODON_BASE_URL")
        if base and re.search(r"^https?://[^/]+/.+", base.rstrip("/")):
            shown = shown_value("MASTODON_BASE_URL", base)
            r.problems.append(
                f"MASTODON_BASE_URL={shown} must be the instance's address only, like https://mastodon.social"
            )
            base = None
        token = r.raw("MASTODON_ACCESS_TOKEN")
        if r.raw("MASTODON_BASE_URL") and not token:
            r.problems.append(
                "MASTODON_ACCESS_TOKEN is not set (MASTODON_BASE_URL is): Preferences → Development → New application"
            )
        if token and not r.raw("MASTODON_BASE_URL"):
            r.problems.append(
                "MASTODON_BASE_URL is not set (MASTODON_ACCESS_TOKEN is): the instance, like https://mastodon.social"
            )
        return cls(
            base_url=base.rstrip("/") if base else None,
            access_token=Secret(token or ""),
            poll_seconds=r.integer("MASTODON_POLL_SECONDS", 60, 5, 86_400),
        )


def of(settings: Any) -> MastodonSettings:
    """Mastodon's section of the whole ``Settings``."""
    section: MastodonSettings = settings.network("mastodon")
    return section
