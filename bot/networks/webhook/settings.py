"""The webhook's section of the settings: ``WEBHOOK_SECRET_<SOURCE>`` and ``WEBHOOK_LINK_HOSTS_<SOURCE>``.

Why the built-in network names are reserved for webhook sources: a sender holding a webhook secret
for a source named ``x`` could write posts under X's ids — blocking the real post as a "duplicate"
and making a card's reply go out on X to someone who never wrote. Webhook sources get names of
their own (``facebook``, ``instagram``, ``email``, ``helpdesk`` …).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.common.secret import Secret
from bot.common.settings_reader import Reader
from bot.networks.network import Need

SOURCE_NAME = re.compile(r"^[a-z0-9_-]{1,32}$")
"""A webhook source's name as it appears in ``/ingest/<source>``: lowercase, digits, ``_`` and ``-``."""

MIN_SECRET = 16
SECRET_PREFIX = "WEBHOOK_SECRET_"  # noqa: S105 - a variable name's prefix
HOSTS_PREFIX = "WEBHOOK_LINK_HOSTS_"
_HOST = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")


def set_up_in(env: Mapping[str, str]) -> bool:
    """Any ``WEBHOOK_SECRET_<SOURCE>`` is set."""
    return any(k.startswith(SECRET_PREFIX) and (env.get(k) or "").strip() for k in env)


@dataclass(frozen=True)
class WebhookSettings:
    secrets: tuple[tuple[str, Secret], ...] = ()
    """(source, secret) for each ``WEBHOOK_SECRET_<SOURCE>``."""
    link_hosts: tuple[tuple[str, tuple[str, ...]], ...] = ()
    """(source, hosts) its posts' links may point to."""

    @classmethod
    def read(cls, r: Reader, need: Need) -> WebhookSettings:
        """A secret's value is never quoted in a problem, not even its first characters."""
        env = r.env
        secrets: list[tuple[str, Secret]] = []
        for key in sorted(env):
            if not key.startswith(SECRET_PREFIX):
                continue
            value = (env.get(key) or "").strip()
            if not value:
                continue
            name = key[len(SECRET_PREFIX) :].lower()
            if not SOURCE_NAME.match(name):
                r.problems.append(
                    f"{key}: the source name must be 1–32 of a-z, 0-9, _ and - (it is used in /ingest/<source>)"
                )
            elif name in need.reserved:
                r.problems.append(f"{key}: {name!r} is a built-in source; give the webhook source its own name")
            elif len(value) < MIN_SECRET:
                r.problems.append(f"{key} is too short: use at least {MIN_SECRET} random characters")
            else:
                secrets.append((name, Secret(value)))
        if need.chosen and not secrets:
            r.problems.append("SOURCES includes webhook, but no WEBHOOK_SECRET_<SOURCE> is set")

        hosts: list[tuple[str, tuple[str, ...]]] = []
        for key in sorted(env):
            if not key.startswith(HOSTS_PREFIX) or not (env.get(key) or "").strip():
                continue
            name = key[len(HOSTS_PREFIX) :].lower()
            listed = tuple(h.strip().lower().rstrip(".") for h in (env.get(key) or "").split(",") if h.strip())
            bad = [h for h in listed if not _HOST.match(h)]
            if bad:
                r.problems.append(f"{key}: {', '.join(repr(b[:60]) for b in bad)} is not a host name like facebook.com")
                continue
            if name not in {n for n, _ in secrets}:
                r.problems.append(f"{key}: there is no WEBHOOK_SECRET_{name.upper()} for it")
                continue
            hosts.append((name, listed))
        return cls(tuple(secrets), tuple(hosts))


def of(settings: Any) -> WebhookSettings:
    """The webhook's section of the whole ``Settings``."""
    section: WebhookSettings = settings.network("webhook")
    return section
