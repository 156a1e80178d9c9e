"""Three worker processes tick at the same moment against real PostgreSQL: each nag step and the
daily reminder go out exactly once."""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.common.clock import FakeClock
from bot.config import Settings, parse_quiet_hours
from bot.jobs.scheduler import Scheduler
from bot.promises import lifecycle as promise_service
from bot.store import migrate
from bot.store.engine import make_engine, make_sessionmaker, transaction
from bot.store.models import Complaint, Delivery, JobRun

T0 = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)  # after DIGEST_TIME (09:00 UTC)


def settings(url: str) -> Settings:
    return Settings(
        database_url=url,
        slack_complaints_channel="C0COMPLAIN",
        slack_escalation_channel="C0ESCALATE",
        nag_quiet_hours=parse_quiet_hours("off"),
    )


def _worker(url: str, when: str, barrier: multiprocessing.synchronize.Barrier, queue: multiprocessing.Queue) -> None:
    engine = make_engine(url)
    try:
        scheduler = Scheduler(
            make_sessionmaker(engine), settings(url), FakeClock(datetime.fromisoformat(when)), lambda _user: "UTC"
        )
        barrier.wait()
        nags, digest = scheduler.tick()
        queue.put((nags.sent, digest))
    finally:
        engine.dispose()


def race(url: str, when: datetime, processes: int = 3) -> list[tuple[int, bool]]:
    ctx = multiprocessing.get_context("spawn")
    barrier, queue = ctx.Barrier(processes), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, when.isoformat(), barrier, queue)) for _ in range(processes)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(30)
        assert p.exitcode == 0
    return results


@pytest.mark.postgres
def test_three_workers_race_the_same_due_nags_and_the_reminder(pg_url: str):
    engine = make_engine(pg_url)
    try:
        migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        with transaction(sessions) as s:
            for i in range(120):
                c = Complaint(
                    source="x",
                    external_id=str(i),
                    author_id=str(i),
                    author_handle=f"c{i}",
                    text="late",
                    posted_at=T0,
                    kind="complaint",
                    status="claimed",
                    owner_id=f"U{i % 7:08d}",
                    slack_channel="C0COMPLAIN",
                    slack_ts=f"1.{i}",
                    created_at=T0 - timedelta(days=1),  # a desk with history: today's reminder is due
                    updated_at=T0,
                )
                s.add(c)
                s.flush()
                promise_service.create(
                    s,
                    c.id,
                    owner_id=c.owner_id,
                    text=f"promise {i}",
                    due_at=T0 + timedelta(minutes=1),
                    created_by=c.owner_id,
                    at=T0 - timedelta(hours=1),
                )
        first = race(pg_url, T0 + timedelta(minutes=5))
        assert sum(sent for sent, _ in first) == 120
        assert sum(digest for _, digest in first) == 1
        second = race(pg_url, T0 + timedelta(hours=1, minutes=5))  # the thread step, an hour later
        assert sum(sent for sent, _ in second) == 120
        assert sum(digest for _, digest in second) == 0
        with sessions() as s:
            per_step = s.execute(
                select(Delivery.kind, func.count(), func.count(func.distinct(Delivery.promise_id)))
                .where(Delivery.kind.like("nag_%"))
                .group_by(Delivery.kind)
            ).all()
            assert sorted(per_step) == [("nag_dm", 120, 120), ("nag_thread", 120, 120)]
            # the daily reminder's run, once (the Monday weekly report keeps a run of its own)
            assert s.scalar(select(func.count()).select_from(JobRun).where(JobRun.kind == "digest")) == 1
            assert s.scalar(select(func.count()).select_from(Delivery).where(Delivery.kind == "digest")) == 1
    finally:
        engine.dispose()
