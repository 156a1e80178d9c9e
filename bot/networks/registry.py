"""Which sources a deployment reads: ``SOURCES`` (default: every configured one), and their link hosts.

A network source is one line in ``NETWORKS``: its name and the import path of a builder
``build(settings, ctx) -> Source | None`` (None when its settings are not set). Builders are
imported only when their network is selected, so one network's SDK missing or broken never stops
another. X is built by ``bot.runtime`` (it resolves the brand's user id first); the webhook has no
worker loop of its own — it is served by the HTTP server (``bot.networks.webhook.server``), and the worker only
watches it for silence (``QuietWatch``).
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from bot.intake import state
from bot.intake.source import Source, SourceContext
from bot.networks import links
from bot.networks.settings import REQUIRES

log = logging.getLogger(__name__)

NETWORKS: dict[str, str] = {
    "bluesky": "bot.networks.bluesky.source:build_bluesky_source",
    "mastodon": "bot.networks.mastodon.source:build_mastodon_source",
}
"""Network sources besides X: name → ``module:builder``. Adding a network is one line here (and
its settings' names in ``bot.networks.settings.REQUIRES``)."""


def selected(settings: Any) -> tuple[str, ...]:
    """``SOURCES`` as given, else every configured source (X, the networks, the webhook)."""
    if settings.sources:
        return tuple(settings.sources)
    found: list[str] = []
    if settings.x_bearer_token:
        found.append("x")
    for name in NETWORKS:
        if all(getattr(settings, n.lower(), None) for n in REQUIRES.get(name, ("-",))):
            found.append(name)
    if settings.webhook_secrets:
        found.append("webhook")
    return tuple(found)


def _builder(name: str) -> Callable[[Any, SourceContext], Source | None]:
    module, _, attr = NETWORKS[name].partition(":")
    return getattr(importlib.import_module(module), attr)  # type: ignore[no-any-return]


def build_networks(settings: Any, ctx: SourceContext) -> list[Source]:
    """The selected network sources (not X, not the webhook), each with its own cursor and alerts."""
    out: list[Source] = []
    for name in selected(settings):
        if name not in NETWORKS:
            continue
        source = _builder(name)(settings, ctx)
        if source is None:
            log.warning("%s is selected but not configured; it is not read", name)
            continue
        out.append(source)
    return out


def webhook_sources(settings: Any) -> tuple[str, ...]:
    """The webhook sources the HTTP server accepts (none unless ``webhook`` is selected)."""
    if "webhook" not in selected(settings):
        return ()
    return tuple(name for name, _ in settings.webhook_secrets)


def register_link_hosts(settings: Any) -> None:
    """Hosts a card may link a post to, per source: Mastodon's is the configured instance, a webhook
    source's are its ``WEBHOOK_LINK_HOSTS_<SOURCE>`` (none: its posts show their address unlinked)."""
    base = getattr(settings, "mastodon_base_url", None)
    if base and urlsplit(base).hostname:
        links.LINK_HOSTS["mastodon"] = (urlsplit(base).hostname or "",)
    for name, hosts in settings.webhook_link_hosts:
        links.LINK_HOSTS[name] = tuple(hosts)


class QuietWatch:
    """Alerts once when a webhook source has had no post for the silence window.

    Polling sources notice their own silence on each read; nobody reads a webhook, so this loop asks
    the database instead. The alert is raised once per quiet spell and cleared by the next post.
    """

    name = "webhook-quiet"

    def __init__(self, ctx: SourceContext, sources: tuple[str, ...], *, every: float = 300.0) -> None:
        self.ctx = ctx
        self.sources = sources
        self.every = every

    def step(self) -> float:
        from bot.networks.webhook.server import stream_name

        now = self.ctx.clock.now()
        for source in self.sources:
            stream = stream_name(source)
            key = f"quiet:{stream}"
            with self.ctx.sessions() as session, session.begin():
                row = state.get_cursor(session, stream, now)  # a new source starts its silence now
                last = row.last_poll_at or row.updated_at  # when a request last stored posts
                quiet = now - last >= self.ctx.silence
                if not quiet:
                    state.clear_alert(session, key, now)
            if quiet:
                hours = self.ctx.silence / timedelta(hours=1)
                state.raise_alert_once(
                    self.ctx.sessions,
                    key,
                    f":zzz: No posts from the {source} webhook for {hours:g} hours. Is the sender still running?",
                    channel=self.ctx.alert_channel,
                    at=now,
                )
        return self.every
