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

from bot import networks
from bot.app import Followthrough
from bot.common.tasks import Leased, Task
from bot.delivery.slack_transport import SlackTransport
from bot.delivery.worker import Deliverer
from bot.desk import replies
from bot.incidents.detect import IncidentPolicy
from bot.incidents.suggest import Suggester
from bot.intake.inbox import Inbox, InboxDrain
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.source import SourceContext
from bot.jobs.scheduler import Retrainer, Scheduler
from bot.outbox.transport import DeliveryTransport
from bot.store import leases
from bot.store.engine import transaction
from bot.triage.classify import Thresholds, Triage
from bot.triage.learning import ModelReloader

log = logging.getLogger(__name__)

SOURCE_LEASE = timedelta(seconds=30)


def build_ingestor(app: Followthrough, brand_ids: frozenset[str] = frozenset()) -> Ingestor:
    s = app.settings
    _, ids = networks.reply_authors(s)
    policy = IngestPolicy(
        complaints_channel=s.slack_complaints_channel,
        kudos_channel=s.slack_kudos_channel,
        brand_ids=brand_ids | frozenset(ids.values()),
        brand_handles=networks.own_handles(s),
        follow_up_days=s.follow_up_days,
        team_timezone=s.team_timezone,
        incidents=IncidentPolicy(
            min_authors=max(1, s.incident_min_authors),
            window=timedelta(minutes=s.incident_window_minutes),
            enabled=s.incident_min_authors > 0,
        ),
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
        timedelta(hours=s.source_silence_alert_hours),
    )


def build_sources(app: Followthrough, *, replays: Sequence[Path] = ()) -> tuple[list[Task], frozenset[str]]:
    """The sources this deployment reads (replay files, and every selected network), and the
    brand's account ids learnt while building them."""
    ctx = source_context(app)
    read = networks.sources(app.settings, ctx)
    return [*networks.read_replays(ctx, replays), *read.tasks], read.brand_ids


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
    transports: list[DeliveryTransport] = [transport, *networks.transports(app.settings, app.clock)]
    transport.context.reply_sources = networks.reply_sources(app.settings)
    handles, ids = networks.reply_authors(app.settings)
    brand = replies.Brand(handles=handles, ids=ids)
    return Deliverer(app.sessions, app.clock, transports, post_rate=rate, update_rate=max(0.8, rate * 0.8), brand=brand)


def suggesting(app: Followthrough) -> list[Task]:
    """The loop that offers an incident to cards the grouping left out (none when incidents or
    suggestions are off)."""
    s = app.settings
    if s.incident_min_authors <= 0 or s.incident_suggest_margin >= 1.0:
        return []
    suggester = Suggester(
        app.sessions,
        app.clock,
        window=timedelta(minutes=s.incident_window_minutes),
        margin=s.incident_suggest_margin,
        join_margin=s.incident_join_margin,
    )
    # One worker suggests (each would load the model and judge the same cards): it holds a lease.
    task = Task("incident-suggest", suggester.step, error_backoff=5.0, max_backoff=120.0)
    return [leased(app, task, leases.worker_id())]


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
        *suggesting(app),
        Task(
            "triage-retrain",
            Retrainer(app.sessions, app.settings, app.clock).step,
            error_backoff=30.0,
            max_backoff=600.0,
        ),
    ]
