"""Retraining in the worker (SQLite file and PostgreSQL): nightly and after every 100 new labels,
once across workers, never while holding a transaction; ingest picks up the newest model."""

from __future__ import annotations

import dataclasses
import threading
from datetime import UTC, datetime, time, timedelta

from sqlalchemy import Engine, func, select

from bot.common.clock import FakeClock
from bot.config import Settings
from bot.history import labels
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.posts import Post
from bot.jobs.scheduler import RETRAIN, Retrainer
from bot.store.engine import make_sessionmaker
from bot.store.models import JobRun, TriageModel
from bot.triage import learning
from bot.triage.classify import Triage
from tests.unit.test_triage_learning import synthetic

START = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)  # 00:30 in London (GMT in March)


def settings(**values: object) -> Settings:
    fields: dict[str, object] = {"team_timezone": "Europe/London", "triage_retrain_time": time(2, 0), **values}
    return dataclasses.replace(Settings(), **fields)  # type: ignore[arg-type]


def add_labels(sessions, rows, at: datetime) -> None:  # type: ignore[no-untyped-def]
    with sessions() as s, s.begin():
        for r in rows:
            labels.record_label(s, r.text, r.kind, "test", at)


def models(sessions) -> list[tuple[int, int]]:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return [(m.version, m.label_count) for m in s.scalars(select(TriageModel).order_by(TriageModel.version))]


def runs(sessions) -> list[tuple[str, str]]:  # type: ignore[no-untyped-def]
    with sessions() as s:
        return [(r.key, r.status) for r in s.scalars(select(JobRun).where(JobRun.kind == RETRAIN).order_by(JobRun.id))]


def test_nightly_once_per_night_and_after_every_hundred_labels(migrated: Engine):
    sessions = make_sessionmaker(migrated)
    clock = FakeClock(START)
    trainer = Retrainer(sessions, settings(), clock)
    rows = synthetic(400)
    add_labels(sessions, rows[:60], clock.now())
    assert trainer.tick() is None  # 00:30: not yet the night's time, and fewer than 100 new labels
    clock.advance(hours=2)  # 02:30 London
    report = trainer.tick()
    assert report is not None
    assert (report.version, report.label_count) == (1, 60)
    assert trainer.tick() is None  # once per night
    add_labels(sessions, rows[60:159], clock.now())
    assert trainer.tick() is None  # 99 new labels: not yet
    add_labels(sessions, rows[159:160], clock.now())
    assert trainer.tick() is not None  # the hundredth
    assert trainer.tick() is None
    clock.advance(days=1)
    assert trainer.tick() is None  # the next night, but nothing new to learn from
    add_labels(sessions, rows[160:170], clock.now())
    assert trainer.tick() is not None
    assert models(sessions) == [(1, 60), (2, 160), (3, 170)]
    assert runs(sessions) == [("night:2026-03-02", "done"), ("labels:1", "done"), ("night:2026-03-03", "done")]
    with sessions() as s:
        stored = s.scalars(select(TriageModel).where(TriageModel.version == 3)).one()
        assert stored.metrics["label_rows"] == 170
        assert 0.0 <= stored.metrics["cross_validated"]["recall"] <= 1.0


def test_off_means_only_after_a_hundred_labels(migrated: Engine):
    sessions = make_sessionmaker(migrated)
    clock = FakeClock(START + timedelta(hours=10))
    trainer = Retrainer(sessions, settings(triage_retrain_time=None), clock)
    add_labels(sessions, synthetic(99), clock.now())
    assert trainer.tick() is None
    add_labels(sessions, synthetic(101, seed=9)[99:], clock.now())
    assert trainer.tick() is not None
    assert runs(sessions) == [("labels:1", "done")]


def test_too_few_labels_is_recorded_and_not_retried_every_tick(migrated: Engine):
    sessions = make_sessionmaker(migrated)
    clock = FakeClock(START + timedelta(hours=3))
    add_labels(sessions, synthetic(12), clock.now())
    trainer = Retrainer(sessions, settings(), clock)
    assert trainer.tick() is None
    assert trainer.tick() is None
    assert models(sessions) == []
    with sessions() as s:
        [run] = s.scalars(select(JobRun).where(JobRun.kind == RETRAIN)).all()
        assert run.status == "done"
        assert "need at least" in run.details["skipped"]


def test_workers_racing_train_once(migrated: Engine):
    sessions = make_sessionmaker(migrated)
    clock = FakeClock(START + timedelta(hours=3))
    add_labels(sessions, synthetic(120), clock.now())
    trainers = [Retrainer(sessions, settings(), clock) for _ in range(3)]
    for t in trainers:
        t.rules()  # built before the race, so the race is about the claim
    results: list[object] = []
    threads = [threading.Thread(target=lambda t=t: results.append(t.tick())) for t in trainers]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert sum(r is not None for r in results) == 1
    assert models(sessions) == [(1, 120)]


def test_ingest_uses_the_newest_model_once_it_looks_again(migrated: Engine):
    sessions = make_sessionmaker(migrated)
    clock = FakeClock(START + timedelta(hours=3))
    rules = Triage()
    reloader = learning.ModelReloader(rules, interval=30)
    ingestor = Ingestor(rules, IngestPolicy("C0COMPLAIN"), reloader)

    def post(n: int) -> Post:
        return Post(source="x", id=str(n), text="@Acme my parcel is late", author_id=str(n), author_handle=f"c{n}",
                    created_at=clock.now())  # fmt: skip

    ingestor.ingest_batch(sessions, [post(1)], at=clock.now())
    assert ingestor.triage.model is None
    add_labels(sessions, synthetic(120), clock.now())
    Retrainer(sessions, settings(), clock).tick()
    clock.advance(seconds=10)
    ingestor.ingest_batch(sessions, [post(2)], at=clock.now())
    assert ingestor.triage.model is None  # looked 10 s ago: not yet
    clock.advance(seconds=30)
    ingestor.ingest_batch(sessions, [post(3)], at=clock.now())
    first = ingestor.triage.model
    assert first is not None
    assert first.version == 1
    assert first.label_count == 120
    clock.advance(seconds=60)
    ingestor.ingest_batch(sessions, [post(4)], at=clock.now())
    assert ingestor.triage.model is first  # the same version is not loaded again
    with sessions() as s:
        assert s.scalar(select(func.count()).select_from(TriageModel)) == 1
