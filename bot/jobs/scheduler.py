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

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from bot import outbox
from bot.common.clock import Clock
from bot.config import Settings
from bot.desk import replies
from bot.outbox.kinds import DeliveryKind
from bot.promises import lifecycle as promises
from bot.reports import status, weekly
from bot.store.enums import JobStatus
from bot.store.models import Complaint, JobRun
from bot.triage import learning
from bot.triage.classify import Thresholds, Triage

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
        person = contact is not None and contact[0] in "UW"  # a user id (a DM); S…: a user group
        self.nag_targets = promises.NagTargets(
            complaints_channel=settings.slack_complaints_channel,
            escalate_to=contact if person and contact else settings.slack_escalation_channel,
            contact=contact,
        )
        self.worker = f"{socket.gethostname()}"
        self._first: datetime | None = None
        """When the first daily reminder may go (found once the desk has its first complaint)."""

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
                    targets=self.nag_targets,
                )
            total = promises.NagResult(
                *(a + b for a, b in zip(dataclasses.astuple(total), dataclasses.astuple(result), strict=True))
            )
            if result.sent + result.deferred == 0:
                break
        self.auto_track(now)
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
                fallback = self.settings.slack_complaints_channel
                outbox.enqueue(
                    session,
                    DeliveryKind.REPORT,
                    key=f"report:{key}",
                    at=now,
                    channel=self.settings.report_channel,
                    payload={
                        **report,
                        "fallback_channel": fallback if fallback != self.settings.report_channel else None,
                    },
                    priority=70,
                )
        except IntegrityError:
            return False  # another worker queued it
        log.info("weekly report for the week of %s queued", key)
        return True

    def auto_track(self, now: datetime) -> int:
        """Promises proposed from brand replies seen on X, untouched for an hour: tracked anyway
        (each once: a conditional update in the transaction that records the promise)."""
        with self.sessions() as session, session.begin():
            tracked = replies.auto_track_due(session, now)
        if tracked:
            log.info("%d promise(s) found in brand replies tracked after nobody answered", tracked)
        return tracked

    def _first_reminder(self) -> datetime | None:
        if self._first is None:
            with self.sessions() as session:
                first = session.scalar(select(func.min(Complaint.created_at)))
            if first is not None:
                self._first = first_reminder_after(first, self.settings.tz, self.settings.digest_time)
        return self._first

    def digest(self, now: datetime) -> bool:
        """Post today's reminder if it is time and nobody has: exactly once per local date — and
        not before the desk has something to remind of: the first reminder is the first DIGEST_TIME
        after the first complaint (a new install used to greet the team with "Nothing is overdue")."""
        local = now.astimezone(self.settings.tz)
        if local.time() < self.settings.digest_time:
            return False
        first = self._first_reminder()
        if first is None or now < first:
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
                report = status.digest(session, now, self.settings.team_timezone)
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


def first_reminder_after(first_complaint: datetime, tz: ZoneInfo, at: time_of_day) -> datetime:
    """The first reminder time (``at``, team time) on or after the desk's first complaint."""
    local = first_complaint.astimezone(tz)
    due = datetime.combine(local.date(), at, tzinfo=tz)
    return due if due >= local else datetime.combine(local.date() + timedelta(days=1), at, tzinfo=tz)


def weekly_report_due(now: datetime, tz: ZoneInfo, at: time_of_day) -> date | None:
    """The Monday whose report is due at ``now``: from REPORT_TIME that Monday, until the week ends
    (a worker that was down on Monday sends it when it is back, that week)."""
    local = now.astimezone(tz)
    monday = local.date() - timedelta(days=local.weekday())
    if local.weekday() == 0 and local.time() < at:
        return None
    return monday


def _jsonable(report: status.Digest) -> dict[str, object]:
    def convert(value: object) -> object:
        if isinstance(value, datetime):
            return value.isoformat()
        if isinstance(value, dict):
            return {str(k): convert(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [convert(v) for v in value]
        return value

    return convert(dataclasses.asdict(report))  # type: ignore[return-value]


RETRAIN = "triage_retrain"


class Retrainer:
    """Retrains triage on the team's labels: each night at ``TRIAGE_RETRAIN_TIME`` (team time zone)
    and whenever ``learning.RETRAIN_EVERY`` new labels have come in since the model in use.

    Its own worker loop, not the scheduler's tick: fitting takes seconds (about 25 on 5,000 labels)
    and nags must not wait for it. Each training is claimed by a unique job run first — ``night:<date>``
    or ``labels:<hundreds>`` — so however many workers run, each happens once; the fit itself runs
    with no transaction open (``learning.train_outside``). A run that dies half-way leaves its claim
    behind: the next night or the next hundred labels train instead.
    """

    def __init__(self, sessions: sessionmaker[Session], settings: Settings, clock: Clock, every: float = 60.0) -> None:
        self.sessions = sessions
        self.settings = settings
        self.clock = clock
        self.every = every
        self.worker = f"{socket.gethostname()}"
        self._rules: Triage | None = None

    def rules(self) -> Triage:
        if self._rules is None:
            self._rules = Triage(
                Thresholds(
                    complaint=self.settings.triage_complaint_threshold, praise=self.settings.triage_praise_threshold
                )
            )
        return self._rules

    def step(self) -> float:
        self.tick()
        return self.every

    def due(self, now: datetime) -> str | None:
        """The job-run key of the training due now, or None."""
        keys = self.due_keys(now)
        return keys[0] if keys else None

    def due_keys(self, now: datetime) -> list[str]:
        """Every job-run key one training now satisfies (the night's and the label count's): all are
        claimed together, so a worker that finds the night's key taken cannot train again for the
        same labels under the count's key while the first is still training."""
        keys: list[str] = []
        with self.sessions() as session:
            total = learning.label_rows(session)
            last = learning.rows_at_last_training(session)
            if total == 0:
                return keys
            at = self.settings.triage_retrain_time
            if at is not None and total != last:
                local = now.astimezone(self.settings.tz)
                key = f"night:{local.date().isoformat()}"
                if local.time() >= at and not session.query(JobRun.id).filter_by(kind=RETRAIN, key=key).first():
                    keys.append(key)
            if total - last >= learning.RETRAIN_EVERY:
                key = f"labels:{total // learning.RETRAIN_EVERY}"
                taken = session.query(JobRun.status).filter_by(kind=RETRAIN, key=key).first()
                if taken is None:
                    keys.append(key)
                elif taken.status == JobStatus.RUNNING.value:
                    return []  # the count's training is under way: the night's would repeat it
        return keys

    def tick(self) -> learning.ModelReport | None:
        now = self.clock.now()
        keys = self.due_keys(now)
        if not keys:
            return None
        key = keys[0]
        try:
            with self.sessions() as session, session.begin():
                runs = [
                    JobRun(kind=RETRAIN, key=k, status=JobStatus.RUNNING.value, owner=self.worker, started_at=now)
                    for k in keys
                ]
                session.add_all(runs)
                session.flush()  # the unique (kind, key) decides who trains
                run_ids = [r.id for r in runs]
        except IntegrityError:
            return None  # another worker is training for this key
        report: learning.ModelReport | None = None
        status, details = JobStatus.DONE, {}
        try:
            report = learning.train_outside(
                self.sessions, now, self.rules(), target_recall=self.settings.triage_recall_target
            )
            cv = report.cross_validated
            details = {"version": report.version, "labels": report.label_count, "macro_f1": cv.macro_f1,
                       "recall": cv.recall, "seconds": round(report.seconds, 1)}  # fmt: skip
            log.info(
                "triage retrained (%s): model v%d on %d labels, cross-validated macro-F1 %.3f, recall %.3f, %.1f s",
                key, report.version, report.label_count, cv.macro_f1, cv.recall, report.seconds,
            )  # fmt: skip
        except learning.NotEnoughLabels as exc:
            details = {"skipped": str(exc)}
            log.info("triage not retrained (%s): %s", key, exc)
        except Exception as exc:
            status, details = JobStatus.FAILED, {"error": f"{type(exc).__name__}: {exc}"[:300]}
            log.exception("triage retraining failed (%s)", key)
        with self.sessions() as session, session.begin():
            for run_id in run_ids:
                run = session.get(JobRun, run_id)
                if run is not None:
                    run.status, run.details, run.finished_at = status.value, details, self.clock.now()
        return report
