"""Which background loops a worker process runs, built from the assembled app."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path

from bot.app import Followthrough
from bot.domain.ingest import Ingestor, IngestPolicy
from bot.domain.triage import Thresholds, Triage
from bot.jobs.scheduler import Scheduler
from bot.slack.people import People
from bot.slack.poster import Poster
from bot.sources.replay import ReplaySource
from bot.sources.x import SourceContext, XPoller, XStream, make_client, resolve_brand_user_id
from bot.worker import Task

log = logging.getLogger(__name__)


def build_ingestor(app: Followthrough, brand_ids: frozenset[str] = frozenset()) -> Ingestor:
    s = app.settings
    handles = frozenset({s.x_brand_handle.lower()}) if s.x_brand_handle else frozenset()
    policy = IngestPolicy(
        complaints_channel=s.slack_complaints_channel,
        kudos_channel=s.slack_kudos_channel,
        brand_ids=brand_ids | ({s.x_user_id} if s.x_user_id else set()),
        brand_handles=handles,
    )
    thresholds = Thresholds(complaint=s.triage_complaint_threshold, praise=s.triage_praise_threshold)
    return Ingestor(Triage(thresholds), policy)


def build_sources(app: Followthrough, *, replay: Path | None = None) -> list[Task]:
    """The sources this deployment reads: a replay file, or X in the configured mode(s)."""
    s = app.settings
    silence = timedelta(hours=s.x_silence_alert_hours)
    if replay is not None:
        ctx = SourceContext(app.sessions, build_ingestor(app), app.clock, s.slack_complaints_channel, silence)
        source = ReplaySource(ctx, replay)
        return [Task(source.name, source.step)]

    client = make_client(s.x_bearer_token.reveal(), s.x_api_url)
    user_id = s.x_user_id
    if user_id is None and s.x_brand_handle and "mentions" in s.x_mode:
        user_id = resolve_brand_user_id(app.sessions, client, s.x_brand_handle, app.clock.now)
    ctx = SourceContext(
        app.sessions,
        build_ingestor(app, frozenset({user_id}) if user_id else frozenset()),
        app.clock,
        s.slack_complaints_channel,
        silence,
    )
    tasks: list[Task] = []
    if "mentions" in s.x_mode:
        poller = XPoller(ctx, client, mode="mentions", user_id=user_id, poll_seconds=s.x_poll_seconds)
        tasks.append(Task(poller.name, poller.step))
    if "search" in s.x_mode:
        searcher = XPoller(ctx, client, mode="search", query=s.x_query, poll_seconds=s.x_poll_seconds)
        tasks.append(Task(searcher.name, searcher.step))
    if s.x_mode == "stream":
        stream = XStream(ctx, s.x_bearer_token.reveal(), s.x_stream_rules, api_url=s.x_api_url)
        tasks.append(Task(stream.name, stream.step, error_backoff=1.0, max_backoff=60.0, stop=stream.stop))
    return tasks


def build_tasks(app: Followthrough, *, replay: Path | None = None) -> list[Task]:
    """The worker's loops: the sources, the Slack poster that delivers the outbox, and the scheduler."""
    rate = app.settings.slack_post_rate
    poster = Poster(app.sessions, app.slack, app.clock, post_rate=rate, update_rate=max(0.8, rate * 0.8))
    people = People(app.sessions, app.slack, app.clock, app.settings.team_timezone)
    scheduler = Scheduler(app.sessions, app.settings, app.clock, people.tz)
    return [
        *build_sources(app, replay=replay),
        Task("slack-poster", poster.step, error_backoff=1.0, max_backoff=30.0),
        Task("scheduler", scheduler.step, error_backoff=5.0, max_backoff=120.0),
    ]
