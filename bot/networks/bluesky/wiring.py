"""Bluesky assembled from the settings: its reading loop (one poller, under a lease)."""

from __future__ import annotations

import logging
from typing import Any

from bot.common.tasks import Task
from bot.intake.source import SourceContext
from bot.networks.bluesky.source import build_bluesky_source
from bot.networks.network import Sources

log = logging.getLogger(__name__)


def sources(s: Any, ctx: SourceContext) -> Sources:
    source = build_bluesky_source(s, ctx)
    if source is None:
        log.warning("bluesky is selected but not configured; it is not read")
        return Sources()
    stop = getattr(source, "stop", None)
    return Sources([Task(source.name, source.step, error_backoff=5.0, max_backoff=300.0, stop=stop)])
