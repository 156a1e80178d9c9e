"""The scheduler tick: walk the nag ladder, and post the daily reminder once per local date.

Nothing is kept in memory between ticks: what is due is read from the database, and what was done
is stamped there, so a restart loses nothing and several workers do each thing once (conditional
updates, SKIP LOCKED on PostgreSQL, and a unique (kind, key) job run for the reminder).
"""

from __future__ import annotations

import dataclasses
import logging
import socket
from collections.abc import Callable
from datetime import date, datetime, timedelta
from datetime import time as time_of_day
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot.config import Settings
from bot.delivery import outbox
from bot.delivery.kinds import DeliveryKind
from bot.domain import promises, reports
from bot.domain.clock import Clock
from bot.domain.types import JobStatus
from bot.reports import weekly
from bot.store.models import JobRun

log = logging.getLogger(__name__)
DIGEST = "digest"
WEEKLY_REPORT = "weekly_report"


class Scheduler:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        settings: Settings,
        clock: Clock,
        tz_of: Callable[[str], str],
    ) -> None:
        self.sessions = sessions
        self.settings = settings
        self.clock = clock
        self.tz_of = tz_of
        self.ladder = promises.Ladder(settings.nag_ladder)
        contact = settings.nag_escalation_contact or next((c for _, c in settings.escalation_tiers if c), None)
        self.escalation_contact = contact
        self.worker = f"{socket.gethostname()}"

    def step(self) -> float:
        """One tick; returns the seconds until the next."""
        self.tick()
        return float(self.settings.scheduler_tick_seconds)

    def tick(self) -> tuple[promises.NagResult, bool]:
        now = self.clock.now()
        total = promises.NagResult()
        while True:  # in batches, each its own transaction, until nothing more is due now
            # Time zones first, outside the write transaction: looking one up may ask Slack and write
            # the cache, which must not happen while this tick holds the database's write lock.
            with self.sessions() as session:
                owners = {p.owner_id for p in promises.due_for_nagging(session, now, 200)}
            zones = {owner: self.tz_of(owner) for owner in owners}
            with self.sessions() as session, session.begin():
                result = promises.nag_tick(
                    session,
                    now=now,
                    ladder=self.ladder,
                    quiet=self.settings.nag_quiet_hours,
                    # Never ask Slack (nor the cache) inside the write transaction: an owner who
                    # became due after the look-up above waits in the team's zone for this tick.
                    tz_of=lambda owner, zones=zones: zones.get(owner) or self.settings.team_timezone,
                    complaints_channel=self.settings.slack_complaints_channel,
                    escalation_channel=self.settings.slack_escalation_channel,
                    escalation_contact=self.escalation_contact,
                )
            total = promises.NagResult(
                *(a + b for a, b in zip(dataclasses.astuple(total), dataclasses.astuple(result), strict=True))
            )
            if result.sent + result.deferred == 0:
                break
        if total.sent or total.deferred:
            log.info(
                "nags: %d sent, %d deferred for quiet hours, %d promises broken",
                total.sent,
                total.deferred,
                total.broken,
            )
        digest = self.digest(now)
        self.weekly_report(now)
        return total, digest

    def weekly_report(self, now: datetime) -> bool:
        """Queue the weekly report once per week, for every worker together (a unique job run).

        The numbers are computed before the write transaction (they read a lot; the SQLite write
        lock must not wait on them) and stored in the delivery row, so a retry sends the same."""
        monday = weekly_report_due(now, self.settings.tz, self.settings.report_time)
        if monday is None:
            return False
        key = monday.isoformat()
        with self.sessions() as session:
            if session.query(JobRun.id).filter_by(kind=WEEKLY_REPORT, key=key).first():
                return False
            report = weekly.payload(session, now=now, tz=self.settings.team_timezone)
        quiet = weekly.is_empty(report)  # a week with nothing in it (a fresh install): no report, no noise
        try:
            with self.sessions() as session, session.begin():
                session.add(
                    JobRun(
                        kind=WEEKLY_REPORT,
                        key=key,
                        status=JobStatus.DONE.value,
                        owner=self.worker,
                        started_at=now,
                        finished_at=now,
                        details={"skipped": "nothing happened that week"} if quiet else None,
                    )
                )
                session.flush()  # the unique (kind, key) decides, before the delivery is queued
                if quiet:
                    return False
                outbox.enqueue(
                    session,
                    DeliveryKind.REPORT,
                    key=f"report:{key}",
                    at=now,
                    channel=self.settings.report_channel,
                    payload=report,
                    priority=70,
                )
        except IntegrityError:
            return False  # another worker queued it
        log.info("weekly report for the week of %s queued", key)
        return True

    def digest(self, now: datetime) -> bool:
        """Post today's reminder if it is time and nobody has: exactly once per local date."""
        local = now.astimezone(self.settings.tz)
        if local.time() < self.settings.digest_time:
            return False
        key = local.date().isoformat()
        try:
            with self.sessions() as session, session.begin():
                if session.query(JobRun.id).filter_by(kind=DIGEST, key=key).first():
                    return False
                session.add(
                    JobRun(
                        kind=DIGEST,
                        key=key,
                        status=JobStatus.DONE.value,
                        owner=self.worker,
                        started_at=now,
                        finished_at=now,
                    )
                )
                session.flush()  # the unique (kind, key) decides, before any work is queued
                report = reports.digest(session, now, self.settings.team_timezone)
                outbox.enqueue(
                    session,
                    DeliveryKind.DIGEST,
                    key=f"digest:{key}",
                    at=now,
                    channel=self.settings.slack_complaints_channel,
                    payload=_jsonable(report),
                    priority=80,
                )
        except IntegrityError:
            return False  # another worker posted it
        log.info("daily reminder for %s queued", key)
        return True


def weekly_report_due(now: datetime, tz: ZoneInfo, at: time_of_day) -> date | None:
    """The Monday whose report is due at ``now``: from REPORT_TIME that Monday, until the week ends
    (a worker that was down on Monday sends it when it is back, that week)."""
    local = now.astimezone(tz)
    monday = local.date() - timedelta(days=local.weekday())
    if local.weekday() == 0 and local.time() < at:
        return None
    return monday


def _jsonable(report: reports.Digest) -> dict[str, object]:
    def convert(value: object) -> object:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, dict):
            return {str(k): convert(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [convert(v) for v in value]
        return value

    return convert(dataclasses.asdict(report))  # type: ignore[return-value]
