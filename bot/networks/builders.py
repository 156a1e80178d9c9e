"""Bluesky and Mastodon, assembled from Settings: their sources, reply transports and brand handles.

One function per network builds each piece (``build_bluesky_source``, ``build_mastodon_source``,
``build_bluesky_transport``, ``build_mastodon_transport``), so a source selector can pick them by
name; this module only gathers whichever are configured, for ``bot.runtime``.
"""

from __future__ import annotations

from typing import Any

from bot.common.clock import Clock
from bot.common.tasks import Task
from bot.intake.source import SourceContext
from bot.networks.bluesky.reply import build_bluesky_transport
from bot.networks.bluesky.source import build_bluesky_source
from bot.networks.mastodon.reply import build_mastodon_transport
from bot.networks.mastodon.source import build_mastodon_source
from bot.outbox.transport import DeliveryTransport

BUILDERS = {"bluesky": build_bluesky_source, "mastodon": build_mastodon_source}


def network_tasks(settings: Any, ctx: SourceContext, names: tuple[str, ...] = ("bluesky", "mastodon")) -> list[Task]:
    """A worker task for each of ``names`` that is configured (nothing is contacted yet)."""
    tasks = []
    for name in names:
        source = BUILDERS[name](settings, ctx)
        if source is not None:
            tasks.append(Task(source.name, source.step, error_backoff=5.0, max_backoff=300.0))
    return tasks


def network_transports(settings: Any, clock: Clock) -> list[DeliveryTransport]:
    found = [build_bluesky_transport(settings, clock), build_mastodon_transport(settings, clock)]
    return [t for t in found if t is not None]


def network_brand_handles(settings: Any) -> frozenset[str]:
    """The brand's own handles on these networks (lower case), so its posts are recognised as its own.

    A Bluesky handle has dots and a Mastodon account is the bare local name on its instance, so
    neither can be mistaken for another network's customer with the same letters except the brand.
    """
    handles = set()
    if settings.bluesky_handle and not settings.bluesky_handle.startswith("did:"):
        handles.add(settings.bluesky_handle.lower())
    return frozenset(handles)
