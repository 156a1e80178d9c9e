"""Mastodon assembled from the settings: its reading loop (one poller, under a lease)."""

from __future__ import annotations

import logging
from typing import Any

from bot.common.tasks import Task
from bot.intake.source import SourceContext
from bot.networks.mastodon.source import build_mastodon_source
from bot.networks.network import Sources

log = logging.getLogger(__name__)


def sources(s: Any, ctx: SourceContext) -> Sources:
    source = build_mastodon_source(s, ctx)
    if source is None:
        log.warning("mastodon is selected but not configured; it is not read")
        return Sources()
    stop = getattr(source, "stop", None)
    return Sources([Task(source.name, source.step, error_backoff=5.0, max_backoff=300.0, stop=stop)])
