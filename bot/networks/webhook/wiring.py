"""The signed webhook assembled from the settings: its silence watch, and its HTTP endpoint."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from bot.common.clock import Clock
from bot.common.tasks import Task
from bot.intake.source import SourceContext
from bot.networks.network import Sources
from bot.networks.webhook import settings as webhook_settings
from bot.networks.webhook.quiet import QuietWatch
from bot.networks.webhook.server import WebhookIngest, from_settings


def source_names(s: Any) -> tuple[str, ...]:
    """Each configured ``WEBHOOK_SECRET_<SOURCE>``'s source name."""
    hook = webhook_settings.of(s)
    return tuple(name for name, _ in hook.secrets)


def sources(s: Any, ctx: SourceContext) -> Sources:
    """No loop reads a webhook (senders call us); one watches it for silence."""
    names = source_names(s)
    if not names:
        return Sources()
    watch = QuietWatch(ctx, names)
    return Sources([Task(watch.name, watch.step)])


def endpoint(sessions: sessionmaker[Session], clock: Clock, s: Any) -> WebhookIngest:
    return from_settings(sessions, clock, s)
