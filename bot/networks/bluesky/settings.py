"""Bluesky's section of the settings (``BLUESKY_*``): the brand account and an app password."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.common.secret import Secret
from bot.common.settings_reader import Reader
from bot.networks.network import Need

_HANDLE = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z][a-zA-Z0-9-]*$|^did:[a-z]+:[\w.:%-]+$"
)


@dataclass(frozen=True)
class BlueskySettings:
    handle: str | None = None
    app_password: Secret = field(default_factory=lambda: Secret(""))
    service_url: str | None = None
    """The account's PDS, or a local stand-in; None: https://bsky.social."""
    poll_seconds: int = 60

    @classmethod
    def read(cls, r: Reader, need: Need) -> BlueskySettings:
        """A handle and an app password, both or neither (never the account's own password)."""
        handle = r.raw("BLUESKY_HANDLE")
        handle = handle.lstrip("@") if handle else None
        password = r.raw("BLUESKY_APP_PASSWORD")
        handle = r.pattern(
            "BLUESKY_HANDLE", handle, _HANDLE, "must be a Bluesky handle like acme.bsky.social (or a did:plc:…)"
        )
        if r.raw("BLUESKY_HANDLE") and not password:
            r.problems.append(
                "BLUESKY_APP_PASSWORD is not set (BLUESKY_HANDLE is): create one in Bluesky → Settings → "
                "Privacy and security → App passwords"
            )
        if password and not r.raw("BLUESKY_HANDLE"):
            r.problems.append("BLUESKY_HANDLE is not set (BLUESKY_APP_PASSWORD is): the brand account's handle")
        return cls(
            handle=handle,
            app_password=Secret(password or ""),
            service_url=r.url("BLUESKY_SERVICE_URL"),
            poll_seconds=r.integer("BLUESKY_POLL_SECONDS", 60, 5, 86_400),
        )


def of(settings: Any) -> BlueskySettings:
    """Bluesky's section of the whole ``Settings``."""
    section: BlueskySettings = settings.network("bluesky")
    return section
