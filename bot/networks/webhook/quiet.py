"""The webhook's silence alarm: nobody reads a webhook, so a loop asks the database instead."""

from __future__ import annotations

from datetime import timedelta

from bot.intake import state
from bot.intake.source import SourceContext
from bot.networks.webhook.server import stream_name


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
