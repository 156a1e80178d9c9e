"""The scheduler's overdue scan at scale, on SQLite and PostgreSQL.

    python bench/overdue_scan.py [--pg URL] [--skip-pg]

1,000,000 promises, of which 10,000 are due (the rest open with a future due time, or closed);
then 1,000,000 more closed (kept) promises pile up, and the scan is measured again. "Scan" is the
scheduler's one "due for reminder" query (a batch of 200, oldest due first, FOR UPDATE SKIP LOCKED
on PostgreSQL); "batch" is a whole tick transaction advancing 200 promises one ladder step (updates,
audit events, outbox rows). Target: scan under 100 ms, flat as closed promises pile up.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import _repo  # noqa: F401  (puts the checkout on sys.path for tests.support)
from sqlalchemy import Engine, text

from bot.config import parse_quiet_hours
from bot.promises import lifecycle as promises
from bot.store import migrate
from bot.store.engine import make_engine, make_sessionmaker
from bot.store.models import Complaint
from tests.support.procs import temporary_schema

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
LADDER = promises.Ladder(((0.0, "dm"), (1.0, "thread"), (4.0, "channel"), (24.0, "escalate")))


def fill(engine: Engine, start: int, count: int, due: int, closed_share: float) -> None:
    """``count`` promises: the first ``due`` open and due; of the rest, ``closed_share`` kept, others open-future."""
    closed_from = due + int((count - due) * (1 - closed_share))
    pg = engine.dialect.name == "postgresql"
    series = (
        "generate_series(CAST(:start AS bigint), CAST(:end AS bigint)) AS g(x)"
        if pg
        else "(WITH RECURSIVE s(x) AS (SELECT :start UNION ALL SELECT x + 1 FROM s WHERE x < :end) SELECT x FROM s)"
    )

    def ts(offset_sql: str) -> str:
        if pg:
            return f"(TIMESTAMPTZ '2026-03-02 12:00:00+00' + ({offset_sql}) * INTERVAL '1 second')"
        return f"strftime('%Y-%m-%d %H:%M:%S.000000', '2026-03-02 12:00:00', ({offset_sql}) || ' seconds')"

    rel = "(x - :start)"
    sql = f"""
        INSERT INTO promises (complaint_id, owner_id, text, due_at, status, reschedule_count, ladder_step,
                              next_nag_at, created_by, created_at)
        SELECT 1, 'U' || (x % 50), 'call back', {ts(f"CASE WHEN {rel} < :due THEN -60 - {rel} ELSE 3600 + {rel} END")},
               CASE WHEN {rel} >= :closed_from THEN 'kept' ELSE 'open' END, 0, 0,
               CASE WHEN {rel} >= :closed_from THEN NULL
                    ELSE {ts(f"CASE WHEN {rel} < :due THEN -60 - {rel} ELSE 3600 + {rel} END")} END,
               'U1', {ts("-86400")}
        FROM {series}
    """
    with engine.begin() as conn:
        conn.execute(text(sql), {"start": start, "end": start + count - 1, "due": due, "closed_from": closed_from})
    with engine.connect() as conn:
        conn.execute(text("ANALYZE"))
        conn.commit()


def measure(engine: Engine, rounds: int = 30) -> tuple[float, float]:
    sessions = make_sessionmaker(engine)
    scans = []
    for _ in range(rounds):
        with sessions() as session, session.begin():
            t0 = time.perf_counter()
            rows = promises.due_for_nagging(session, NOW, 200)
            scans.append((time.perf_counter() - t0) * 1000)
            assert len(rows) == 200
            session.rollback()
    with sessions() as session, session.begin():  # one real batch, then undone
        t0 = time.perf_counter()
        result = promises.nag_tick(
            session,
            now=NOW,
            ladder=LADDER,
            quiet=parse_quiet_hours("off"),
            tz_of=lambda _u: "UTC",
            targets=promises.NagTargets(complaints_channel="C1", escalate_to="C2"),
            limit=200,
        )
        session.flush()
        batch = (time.perf_counter() - t0) * 1000
        assert result.sent == 200
        session.rollback()
    return statistics.median(scans), batch


def seed(engine: Engine) -> None:
    with make_sessionmaker(engine)() as session, session.begin():
        session.add(
            Complaint(
                source="x",
                external_id="1",
                author_id="1",
                author_handle="c",
                text="t",
                posted_at=NOW,
                kind="complaint",
                status="claimed",
                created_at=NOW,
                updated_at=NOW,
            )
        )


def run(name: str, engine: Engine) -> None:
    migrate.upgrade(engine)
    seed(engine)
    t0 = time.perf_counter()
    fill(engine, 1, 1_000_000, 10_000, 0.5)
    took = time.perf_counter() - t0
    print(f"{name}: 1,000,000 promises (10,000 due, 495,000 open later, 495,000 kept) in {took:.0f}s")
    scan, batch = measure(engine)
    print(f"  scan {scan:6.2f} ms (median of 30)   batch of 200 advanced {batch:6.1f} ms")
    fill(engine, 1_000_001, 1_000_000, 0, 1.0)
    scan2, batch2 = measure(engine)
    print(f"  +1,000,000 kept promises: scan {scan2:6.2f} ms   batch {batch2:6.1f} ms")
    print(f"{name}_scan_ms={scan:.2f} {name}_scan_after_pileup_ms={scan2:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'scan.db'}")
        run("sqlite", engine)
        engine.dispose()
    if args.skip_pg:
        return
    with temporary_schema(args.pg, "bench") as url:
        engine = make_engine(url)
        run("postgresql", engine)
        engine.dispose()


if __name__ == "__main__":
    main()
