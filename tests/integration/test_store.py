"""Storage behaviour that correctness rests on: uniqueness, UTC timestamps, one winner per race."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import IntegrityError, StatementError

from bot.common.errors import Conflict, NotFound
from bot.desk import complaints
from bot.store.engine import make_engine, make_sessionmaker, transaction
from bot.store.enums import Kind, Status
from bot.store.models import AuditEvent, Complaint

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def new_complaint(external_id: str = "1", source: str = "x", **overrides) -> Complaint:
    values = dict(
        source=source,
        external_id=external_id,
        author_id="42",
        author_handle="customer",
        text="still waiting for my refund",
        posted_at=T0,
        kind=Kind.COMPLAINT.value,
        created_at=T0,
        updated_at=T0,
    )
    values.update(overrides)
    return Complaint(**values)


def add(engine: Engine, complaint: Complaint) -> int:
    with transaction(make_sessionmaker(engine)) as session:
        session.add(complaint)
        session.flush()
        return complaint.id


def test_source_and_external_id_are_unique_together(migrated: Engine):
    add(migrated, new_complaint("100", "x"))
    add(migrated, new_complaint("100", "replay"))  # same id, other source: fine
    with pytest.raises(IntegrityError):
        add(migrated, new_complaint("100", "x"))
    with make_sessionmaker(migrated)() as session:
        assert session.scalar(select(func.count()).select_from(Complaint)) == 2


def test_timestamps_come_back_aware_utc_and_naive_ones_are_refused(migrated: Engine):
    paris = timezone(timedelta(hours=1))
    cid = add(migrated, new_complaint(posted_at=datetime(2026, 3, 1, 13, 0, tzinfo=paris)))
    with make_sessionmaker(migrated)() as session:
        stored = session.get(Complaint, cid)
        assert stored is not None
        assert stored.posted_at == T0
        assert stored.posted_at.utcoffset() == timedelta(0)
    with pytest.raises(StatementError, match="naive datetime"):
        add(migrated, new_complaint("2", posted_at=datetime(2026, 3, 1, 12, 0)))  # noqa: DTZ001


def test_claim_records_owner_and_audit_event(migrated: Engine):
    cid = add(migrated, new_complaint())
    sessions = make_sessionmaker(migrated)
    with transaction(sessions) as session:
        claimed = complaints.claim(session, cid, user_id="U1", at=T0)
        assert (claimed.status, claimed.owner_id) == ("claimed", "U1")
    with pytest.raises(Conflict) as info, transaction(sessions) as session:
        complaints.claim(session, cid, user_id="U2", at=T0)
    assert info.value.owner_id == "U1"
    assert info.value.current_status == Status.CLAIMED
    with pytest.raises(NotFound), transaction(sessions) as session:
        complaints.claim(session, 999_999, user_id="U2", at=T0)
    with sessions() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.complaint_id == cid)).all()
        assert [(e.actor, e.action, e.from_status, e.to_status) for e in events] == [("U1", "claim", "new", "claimed")]


def _claim_once(url: str, cid: int, user: str) -> str:
    engine = make_engine(url)
    try:
        with transaction(make_sessionmaker(engine)) as session:
            complaints.claim(session, cid, user_id=user, at=T0)
        return "won"
    except Conflict:
        return "lost"
    finally:
        engine.dispose()


def _race_threads(url: str, cid: int, n: int, prefix: str) -> list[str]:
    barrier = threading.Barrier(n)
    results: list[str] = []
    lock = threading.Lock()

    def worker(i: int) -> None:
        barrier.wait()
        outcome = _claim_once(url, cid, f"{prefix}{i}")
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def _assert_one_winner(engine: Engine, cid: int) -> None:
    with make_sessionmaker(engine)() as session:
        claims = session.scalars(
            select(AuditEvent).where(AuditEvent.complaint_id == cid, AuditEvent.action == "claim")
        ).all()
        complaint = session.get(Complaint, cid)
        assert complaint is not None
        assert len(claims) == 1
        assert complaint.owner_id == claims[0].actor


def test_concurrent_claims_from_threads_leave_exactly_one_winner(migrated: Engine, db_url: str):
    cid = add(migrated, new_complaint())
    results = _race_threads(db_url, cid, 16, "T")
    assert sorted(results) == ["lost"] * 15 + ["won"]
    _assert_one_winner(migrated, cid)


def _process_entry(url: str, cid: int, prefix: str, queue: multiprocessing.Queue) -> None:
    queue.put(_race_threads(url, cid, 4, prefix))


@pytest.mark.postgres
def test_concurrent_claims_from_processes_leave_exactly_one_winner(pg_url: str):
    engine = make_engine(pg_url)
    try:
        from bot.store import migrate

        migrate.upgrade(engine)
        cid = add(engine, new_complaint())
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        procs = [ctx.Process(target=_process_entry, args=(pg_url, cid, f"P{i}-", queue)) for i in range(4)]
        for p in procs:
            p.start()
        results = [r for _ in procs for r in queue.get(timeout=60)]
        for p in procs:
            p.join(30)
            assert p.exitcode == 0
        assert sorted(results) == ["lost"] * 15 + ["won"]
        _assert_one_winner(engine, cid)
    finally:
        engine.dispose()


def test_conditional_upserts_say_whether_they_won_on_both_engines(migrated: Engine):
    """Leases, lane turns and delivery keys decide races by an upsert's row count; SQLAlchemy
    reports -1 for INSERT on PostgreSQL unless asked, which once let every worker win every race."""
    from datetime import UTC, datetime, timedelta

    from bot import outbox
    from bot.outbox import lanes
    from bot.outbox.kinds import DeliveryKind
    from bot.store import leases
    from bot.store.engine import make_sessionmaker, transaction

    sessions = make_sessionmaker(migrated)
    now = datetime(2026, 1, 1, tzinfo=UTC)
    ttl = timedelta(seconds=30)
    with transaction(sessions) as s:
        assert leases.hold(s, "source:x", "w1", now=now, ttl=ttl)
        assert not leases.hold(s, "source:x", "w2", now=now + timedelta(seconds=1), ttl=ttl)
        assert leases.hold(s, "source:x", "w1", now=now + timedelta(seconds=2), ttl=ttl)
        assert leases.hold(s, "source:x", "w2", now=now + timedelta(seconds=40), ttl=ttl)  # w1 died
        assert lanes.take_turn(s, "post:C1", now=now, interval=1.0)
        assert not lanes.take_turn(s, "post:C1", now=now + timedelta(seconds=0.5), interval=1.0)
        assert lanes.take_turn(s, "post:C1", now=now + timedelta(seconds=1), interval=1.0)
        first = outbox.enqueue(s, DeliveryKind.ALERT, key="alert:a:1", channel="C1", at=now, payload={"text": "x"})
        again = outbox.enqueue(s, DeliveryKind.ALERT, key="alert:a:1", channel="C1", at=now, payload={"text": "x"})
    assert (first, again) == (True, False)
