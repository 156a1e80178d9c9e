"""X's section of the settings (``X_*``): what to read, with which token, and the brand's reply keys."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from bot.common.secret import Secret
from bot.common.settings_reader import Reader, shown_value
from bot.networks.network import Need

MODES = ("mentions", "search", "stream", "mentions+search")
REPLY_KEYS = ("X_API_KEY", "X_API_SECRET", "X_ACCESS_TOKEN", "X_ACCESS_TOKEN_SECRET")
_USER_ID = re.compile(r"^\d{1,20}$")
_HANDLE = re.compile(r"^\w{1,15}$")


@dataclass(frozen=True)
class XSettings:
    bearer_token: Secret = field(default_factory=lambda: Secret(""))
    api_url: str | None = None
    """Another host for X's API (a local stand-in, a proxy); None: api.twitter.com."""
    user_id: str | None = None
    brand_handle: str | None = None
    mode: str = "mentions"
    query: str | None = None
    stream_rules: tuple[str, ...] = ()
    poll_seconds: int = 60
    api_key: Secret = field(default_factory=lambda: Secret(""))
    api_secret: Secret = field(default_factory=lambda: Secret(""))
    access_token: Secret = field(default_factory=lambda: Secret(""))
    access_token_secret: Secret = field(default_factory=lambda: Secret(""))

    @property
    def can_reply(self) -> bool:
        """The brand's OAuth 1.0a user-context keys are all set: the card can reply on X."""
        return all((self.api_key, self.api_secret, self.access_token, self.access_token_secret))

    @classmethod
    def read(cls, r: Reader, need: Need) -> XSettings:
        """The bearer token and what to read are required only when this process reads X; the reply
        keys come all four or none (none leaves replying off: cards offer "Open on X")."""
        mode = (r.raw("X_MODE") or "mentions").lower()
        if mode not in MODES:
            r.problems.append(f"X_MODE={shown_value('X_MODE', mode)} must be one of {', '.join(MODES)}")
            mode = "mentions"
        if need.reads:
            token = r.require("X_BEARER_TOKEN", "the X API bearer token, needed to read posts; or use --replay")
        else:
            token = r.raw("X_BEARER_TOKEN")
        handle = r.raw("X_BRAND_HANDLE")
        rules = r.raw("X_STREAM_RULES")
        values: dict[str, Any] = {
            "mode": mode,
            "bearer_token": Secret(token or ""),
            "api_url": r.url("X_API_URL"),
            "user_id": r.pattern("X_USER_ID", r.raw("X_USER_ID"), _USER_ID, "must be the numeric X user id"),
            "brand_handle": r.pattern(
                "X_BRAND_HANDLE",
                handle.lstrip("@") if handle else None,
                _HANDLE,
                "must be an X handle like AcmeSupport",
            ),
            "query": r.raw("X_QUERY"),
            "stream_rules": tuple(x.strip() for x in rules.split(";") if x.strip()) if rules else (),
        }
        if need.reads:
            # Given but invalid counts as named (that has its own problem); empty counts as missing.
            named = r.raw("X_USER_ID") is not None or r.raw("X_BRAND_HANDLE") is not None
            if "mentions" in mode and not named:
                r.problems.append("X_USER_ID or X_BRAND_HANDLE must be set to read the brand's mentions")
            if "search" in mode and not values["query"]:
                r.problems.append("X_QUERY is not set (X_MODE includes search)")
            if mode == "stream" and not values["stream_rules"]:
                r.problems.append("X_STREAM_RULES is not set (X_MODE=stream; rules separated by ';')")
        values["poll_seconds"] = r.integer("X_POLL_SECONDS", 60, 5, 86_400)
        given = {name: r.raw(name) or "" for name in REPLY_KEYS}
        missing = [name for name, value in given.items() if not value]
        if 0 < len(missing) < len(REPLY_KEYS):
            r.problems.append(
                f"{', '.join(missing)} not set: replying on X needs all four of {', '.join(REPLY_KEYS)} "
                "(the brand account's OAuth 1.0a keys), or none to leave replying off"
            )
        values |= {name.removeprefix("X_").lower(): Secret(value) for name, value in given.items()}
        return cls(**values)


def of(settings: Any) -> XSettings:
    """X's section of the whole ``Settings``."""
    section: XSettings = settings.network("x")
    return section
