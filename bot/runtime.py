"""Which background loops a worker process runs, built from the assembled app.

A worker runs: each source (under a lease, so one worker reads it), the inbox drain (ingest), the
delivery worker (Slack), and the scheduler (nags, daily reminder). Any number of workers can share
one PostgreSQL database; on SQLite, one.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import tweepy

from bot.app import Followthrough, reply_sources
from bot.common.tasks import Leased, Task
from bot.config import Settings
from bot.delivery.slack import SlackTransport
from bot.delivery.worker import Deliverer
from bot.desk import replies
from bot.intake.inbox import Inbox, InboxDrain
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.source import SourceContext
from bot.jobs.scheduler import Retrainer, Scheduler
from bot.networks import registry
from bot.networks.builders import network_brand_handles, network_transports
from bot.networks.replay.source import ReplaySource
from bot.networks.x.reply import XReplyTransport, make_user_client
from bot.networks.x.source import XPoller, XStream, make_client, resolve_brand_user_id
from bot.outbox.transport import DeliveryTransport
from bot.store import leases
from bot.store.db import transaction
from bot.triage.classify import Thresholds, Triage
from bot.triage.learning import ModelReloader

log = logging.getLogger(__name__)

SOURCE_LEASE = timedelta(seconds=30)


def build_ingestor(app: Followthrough, brand_ids: frozenset[str] = frozenset()) -> Ingestor:
    s = app.settings
    handles = frozenset({s.x_brand_handle.lower()}) if s.x_brand_handle else frozenset()
    handles |= network_brand_handles(s)
    policy = IngestPolicy(
        complaints_channel=s.slack_complaints_channel,
        kudos_channel=s.slack_kudos_channel,
        brand_ids=brand_ids | ({s.x_user_id} if s.x_user_id else set()),
        brand_handles=handles,
        follow_up_days=s.follow_up_days,
        team_timezone=s.team_timezone,
    )
    thresholds = Thresholds(complaint=s.triage_complaint_threshold, praise=s.triage_praise_threshold)
    rules = Triage(thresholds)
    return Ingestor(rules, policy, ModelReloader(rules))


def source_context(app: Followthrough) -> SourceContext:
    s = app.settings
    return SourceContext(
        app.sessions,
        Inbox(app.sessions, app.clock),
        app.clock,
        s.slack_complaints_channel,
        timedelta(hours=s.x_silence_alert_hours),
    )


def build_sources(app: Followthrough, *, replays: Sequence[Path] = ()) -> tuple[list[Task], frozenset[str]]:
    """The sources this deployment reads (replay files, and X when it is configured), and the
    brand's account ids learnt while building them."""
    s = app.settings
    ctx = source_context(app)
    tasks: list[Task] = []
    for path in replays:
        source = ReplaySource(ctx, path)
        tasks.append(Task(source.name, source.step, stop=source.close))
    for network in registry.build_networks(s, ctx):
        tasks.append(
            Task(network.name, network.step, error_backoff=5.0, max_backoff=300.0, stop=getattr(network, "stop", None))
        )
    if registry.webhook_sources(s):
        watch = registry.QuietWatch(ctx, registry.webhook_sources(s))
        tasks.append(Task(watch.name, watch.step))
    if not s.x_bearer_token or "x" not in registry.selected(s):
        return tasks, frozenset()
    client = make_client(s.x_bearer_token.reveal(), s.x_api_url)
    user_id = s.x_user_id
    if user_id is None and s.x_brand_handle and "mentions" in s.x_mode:
        user_id = resolve_brand_user_id(app.sessions, client, s.x_brand_handle, app.clock.now)
    if "mentions" in s.x_mode:
        poller = XPoller(ctx, client, mode="mentions", user_id=user_id, poll_seconds=s.x_poll_seconds)
        tasks.append(Task(poller.name, poller.step))
    if "search" in s.x_mode:
        searcher = XPoller(ctx, client, mode="search", query=s.x_query, poll_seconds=s.x_poll_seconds)
        tasks.append(Task(searcher.name, searcher.step))
    if s.x_mode == "stream":
        stream = XStream(ctx, s.x_bearer_token.reveal(), s.x_stream_rules, api_url=s.x_api_url)
        tasks.append(Task(stream.name, stream.step, error_backoff=1.0, max_backoff=60.0, stop=stream.stop))
    return tasks, frozenset({user_id}) if user_id else frozenset()


def leased(app: Followthrough, task: Task, holder: str) -> Task:
    """Run ``task`` only while this worker holds its lease (one reader per source)."""
    name = f"source:{task.name}"

    def hold() -> bool:
        with transaction(app.sessions) as session:
            return leases.hold(session, name, holder, now=app.clock.now(), ttl=SOURCE_LEASE)

    def release() -> None:
        with transaction(app.sessions) as session:
            leases.release(session, name, holder)

    return Leased(task, hold=hold, release=release, ttl_seconds=SOURCE_LEASE.total_seconds()).as_task()


def build_deliverer(app: Followthrough, *, unpaced: bool = False) -> Deliverer:
    """``unpaced``: no per-channel rate (the demo's local stand-in has none)."""
    rate = math.inf if unpaced else app.settings.slack_post_rate
    transport = SlackTransport(app.slack, app.sessions, app.clock)
    transports: list[DeliveryTransport] = [transport, *network_transports(app.settings, app.clock)]
    s = app.settings
    if s.x_can_reply:
        transports.append(XReplyTransport(reply_client(s), app.clock))
    transport.context.reply_sources = reply_sources(s)
    brand = replies.Brand(
        handles={"x": s.x_brand_handle} if s.x_brand_handle else {}, ids={"x": s.x_user_id} if s.x_user_id else {}
    )
    return Deliverer(app.sessions, app.clock, transports, post_rate=rate, update_rate=max(0.8, rate * 0.8), brand=brand)


def reply_client(s: Settings) -> tweepy.Client:
    """The brand account's X client (OAuth 1.0a user context), routed by X_API_URL like the sources."""
    return make_user_client(
        s.x_api_key.reveal(),
        s.x_api_secret.reveal(),
        s.x_access_token.reveal(),
        s.x_access_token_secret.reveal(),
        s.x_api_url,
    )


def build_tasks(app: Followthrough, *, replays: Sequence[Path] = ()) -> list[Task]:
    """The worker's loops: the sources, ingest, delivery, and the scheduler."""
    holder = leases.worker_id()
    sources, brand_ids = build_sources(app, replays=replays)
    drain = InboxDrain(app.sessions, build_ingestor(app, brand_ids), app.clock)
    deliverer = build_deliverer(app)
    scheduler = Scheduler(app.sessions, app.settings, app.clock, app.people.tz)
    return [
        *(leased(app, task, holder) for task in sources),
        Task("ingest", drain.step, error_backoff=1.0, max_backoff=30.0),
        Task("slack-delivery", deliverer.step, error_backoff=1.0, max_backoff=30.0),
        Task("scheduler", scheduler.step, error_backoff=5.0, max_backoff=120.0),
        Task(
            "triage-retrain",
            Retrainer(app.sessions, app.settings, app.clock).step,
            error_backoff=30.0,
            max_backoff=600.0,
        ),
    ]
