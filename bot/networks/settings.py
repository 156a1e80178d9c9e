"""Settings for choosing sources (``SOURCES``) and for the signed webhook (``WEBHOOK_*_<SOURCE>``).

Kept out of ``bot.config`` so each network's section can grow on its own; ``load_settings`` calls
``sources_settings`` like any other section parser, and its problems join the one start-up list.

Why the built-in network names are reserved for webhook sources: a sender holding a webhook secret
for a source named ``x`` could write posts under X's ids — blocking the real post as a "duplicate"
and making a card's reply go out on X to someone who never wrote. Webhook sources get names of
their own (``facebook``, ``instagram``, ``email``, ``helpdesk`` …).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.common.secret import Secret

SOURCE_NAME = re.compile(r"^[a-z0-9_-]{1,32}$")
"""A webhook source's name as it appears in ``/ingest/<source>``: lowercase, digits, ``_`` and ``-``."""

BUILT_IN = ("x", "bluesky", "mastodon", "replay")
"""Source names a webhook may not take (see the module docstring)."""

KNOWN_SOURCES = ("x", "bluesky", "mastodon", "webhook")
"""What ``SOURCES`` may list. ``webhook`` stands for every configured ``WEBHOOK_SECRET_<SOURCE>``."""

REQUIRES: dict[str, tuple[str, ...]] = {
    "x": ("X_BEARER_TOKEN",),
    "bluesky": ("BLUESKY_HANDLE", "BLUESKY_APP_PASSWORD"),
    "mastodon": ("MASTODON_BASE_URL", "MASTODON_ACCESS_TOKEN"),
}
"""The settings that make a network "configured" (the default ``SOURCES`` is every configured one)."""

MIN_SECRET = 16
SECRET_PREFIX = "WEBHOOK_SECRET_"  # noqa: S105 - a variable name's prefix
HOSTS_PREFIX = "WEBHOOK_LINK_HOSTS_"
_HOST = re.compile(r"^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)+$")


def _set(env: Mapping[str, str], name: str) -> bool:
    value = env.get(name)
    return bool(value and value.strip())


def configured_networks(env: Mapping[str, str]) -> tuple[str, ...]:
    """The networks whose credentials are set, and ``webhook`` when any webhook secret is."""
    found = [name for name, needs in REQUIRES.items() if all(_set(env, n) for n in needs)]
    if any(k.startswith(SECRET_PREFIX) and _set(env, k) for k in env):
        found.append("webhook")
    return tuple(found)


def selected_sources(env: Mapping[str, str]) -> tuple[str, ...] | None:
    """``SOURCES`` as given (lowercased, in order, no repeats), or None when it is not set."""
    raw = (env.get("SOURCES") or "").strip()
    if not raw:
        return None
    out: list[str] = []
    for part in (p.strip().lower() for p in raw.split(",")):
        if part and part not in out:
            out.append(part)
    return tuple(out)


def reads_x(env: Mapping[str, str], *, replay: bool) -> bool:
    """Whether this deployment reads X (so X's settings are required): named in ``SOURCES``, or —
    without ``SOURCES`` — when nothing else (no replay file, no other network, no webhook) is set up,
    which keeps the old behaviour of asking for ``X_BEARER_TOKEN`` on a bare configuration."""
    chosen = selected_sources(env)
    if chosen is not None:
        return "x" in chosen
    return not replay and not [n for n in configured_networks(env) if n != "x"]


def sources_settings(r: Any, secret: type[Secret]) -> dict[str, Any]:
    """Parse ``SOURCES``, ``WEBHOOK_SECRET_<SOURCE>`` and ``WEBHOOK_LINK_HOSTS_<SOURCE>``.

    ``r`` is config's problem-collecting reader; ``secret`` its Secret class (passed in to keep the
    import one-way). A secret's value is never quoted in a problem, not even its first characters.
    """
    env: Mapping[str, str] = r.env
    values: dict[str, Any] = {}
    chosen = selected_sources(env)
    if chosen is not None:
        unknown = [s for s in chosen if s not in KNOWN_SOURCES]
        if unknown:
            shown = ", ".join(repr(u[:32]) for u in unknown)
            r.problems.append(f"SOURCES names {shown}; it may list {', '.join(KNOWN_SOURCES)} (separated by commas)")
        for name in chosen:
            missing = [n for n in REQUIRES.get(name, ()) if not _set(env, n)]
            if missing:
                r.problems.append(f"SOURCES includes {name}, but {' and '.join(missing)} is not set")
        values["sources"] = tuple(s for s in chosen if s in KNOWN_SOURCES)

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
        elif name in BUILT_IN:
            r.problems.append(f"{key}: {name!r} is a built-in source; give the webhook source its own name")
        elif len(value) < MIN_SECRET:
            r.problems.append(f"{key} is too short: use at least {MIN_SECRET} random characters")
        else:
            secrets.append((name, secret(value)))
    values["webhook_secrets"] = tuple(secrets)
    if chosen is not None and "webhook" in chosen and not secrets:
        r.problems.append("SOURCES includes webhook, but no WEBHOOK_SECRET_<SOURCE> is set")

    hosts: list[tuple[str, tuple[str, ...]]] = []
    for key in sorted(env):
        if not key.startswith(HOSTS_PREFIX) or not _set(env, key):
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
    values["webhook_link_hosts"] = tuple(hosts)
    return values
