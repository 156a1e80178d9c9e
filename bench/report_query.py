"""The lead's report query at scale, on SQLite and PostgreSQL.

    python bench/report_query.py [--rows 1000000] [--pg URL] [--skip-pg] [--skip-sqlite]

``--rows`` complaints over one year (one every ~31 s, two networks, 20 people), each claimed and
resolved, each with one promise (70% kept on time, 20% late, 10% broken; every 20th rescheduled,
every 50th complaint reopened): 1 M complaints, 1 M promises and ~4.2 M events. Generated with
set-based SQL (generate_series / a recursive CTE), not ORM loops. Measured: ``metrics.compute`` for
one week (by team, person and network) and for 8 weeks, plus the whole weekly payload (8 weeks by
week and 56 days of complaints). Targets: week < 1 s, 8 weeks < 3 s.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import _repo  # noqa: F401  (puts the checkout on sys.path for tests.support)
from sqlalchemy import Engine, text

from bot.history import facts
from bot.reports import metrics, weekly
from bot.reports.metrics import Unit
from bot.store import migrate
from bot.store.engine import make_engine, make_sessionmaker
from tests.support.procs import temporary_schema

START = datetime(2025, 12, 1, tzinfo=UTC)  # a Monday
NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)  # a Monday, 52 weeks later
YEAR_S = 364 * 86400


def _series(pg: bool) -> str:
    if pg:
        return "generate_series(CAST(1 AS bigint), CAST(:n AS bigint)) AS g(x)"
    return "(WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < :n) SELECT x FROM s)"


def _ts(pg: bool, seconds_sql: str) -> str:
    if pg:
        return f"(TIMESTAMPTZ '2025-12-01 00:00:00+00' + ({seconds_sql}) * INTERVAL '1 second')"
    return f"strftime('%Y-%m-%d %H:%M:%S.000000', '2025-12-01 00:00:00', ({seconds_sql}) || ' seconds')"


def fill(engine: Engine, n: int) -> None:
    pg = engine.dialect.name == "postgresql"
    series = _series(pg)
    born = f"(x * {YEAR_S} / :n)"  # seconds after START
    ts = lambda sql: _ts(pg, sql)  # noqa: E731
    json = (lambda sql: f"CAST({sql} AS json)") if pg else (lambda sql: sql)
    false = "false"
    made_json = json("""'{"due_at": "2026-01-01T00:00:00+00:00", "owner": "U1"}'""")
    outcome_json = json("""CASE WHEN x % 10 < 7 THEN '{"on_time": true}' ELSE '{"on_time": false}' END""")
    moved_json = json("""'{"count": 1}'""")
    closed_after = "CASE WHEN x % 10 < 7 THEN 3600 + x % 40000 ELSE 90000 + x % 40000 END"
    statements = [
        f"""INSERT INTO complaints (id, source, external_id, author_id, author_handle, author_followers,
                author_verified, text, posted_at, sentiment_compound, sentiment_pos, sentiment_neg, sentiment_neu,
                kind, triage_score, triage_signals, priority, status, owner_id, claimed_at, resolved_at,
                resolved_by, customer_confirmed, amplification_count, amplification_reach, reply_count,
                repeat_contact, duplicate_count, created_at, updated_at)
            SELECT x, CASE WHEN x % 3 = 0 THEN 'bluesky' ELSE 'x' END, CAST(x AS text), CAST(x AS text),
                'c' || x, 10, {false}, 'late again', {ts(born)}, -0.5, 0, 0.5, 0.5, 'complaint', 2.0,
                {json("'[]'")}, 50, 'resolved', 'U' || (x % 20), {ts(f"{born} + 60 + x % 3600")},
                {ts(f"{born} + 7200 + x % 86400")}, 'U' || (x % 20), {false}, 0, 0, 0, 0, 0,
                {ts(born)}, {ts(born)}
            FROM {series}""",
        f"""INSERT INTO promises (id, complaint_id, owner_id, text, due_at, status, reschedule_count,
                ladder_step, created_by, created_at, closed_at, closed_by)
            SELECT x, x, 'U' || (x % 20), 'call back', {ts(f"{born} + 86400")},
                CASE WHEN x % 10 = 9 THEN 'broken' ELSE 'kept' END, CASE WHEN x % 20 = 0 THEN 1 ELSE 0 END,
                0, 'U' || (x % 20), {ts(f"{born} + 120")},
                CASE WHEN x % 10 = 9 THEN NULL ELSE {ts(f"{born} + {closed_after}")} END,
                CASE WHEN x % 10 = 9 THEN NULL ELSE 'U' || (x % 20) END
            FROM {series}""",
        f"""INSERT INTO audit_events (complaint_id, promise_id, actor, action, from_status, to_status, details, at)
            SELECT x, NULL, 'U' || (x % 20), 'claim', 'new', 'claimed', NULL, {ts(f"{born} + 60 + x % 3600")}
            FROM {series}""",
        f"""INSERT INTO audit_events (complaint_id, promise_id, actor, action, from_status, to_status, details, at)
            SELECT x, x, 'U' || (x % 20), 'promise', NULL, NULL,
                {made_json}, {ts(f"{born} + 120")}
            FROM {series}""",
        f"""INSERT INTO audit_events (complaint_id, promise_id, actor, action, from_status, to_status, details, at)
            SELECT x, x, 'U' || (x % 20),
                CASE WHEN x % 10 = 9 THEN 'promise_broken' ELSE 'promise_kept' END, NULL, NULL,
                {outcome_json},
                {ts(f"{born} + {closed_after}")}
            FROM {series}""",
        f"""INSERT INTO audit_events (complaint_id, promise_id, actor, action, from_status, to_status, details, at)
            SELECT x, NULL, 'U' || (x % 20), 'resolve', 'claimed', 'resolved', NULL,
                {ts(f"{born} + 7200 + x % 86400")}
            FROM {series}""",
        f"""INSERT INTO audit_events (complaint_id, promise_id, actor, action, from_status, to_status, details, at)
            SELECT x, x, 'U' || (x % 20), 'promise_rescheduled', NULL, NULL, {moved_json},
                {ts(f"{born} + 1800")}
            FROM {series} WHERE x % 20 = 0""",
        f"""INSERT INTO audit_events (complaint_id, promise_id, actor, action, from_status, to_status, details, at)
            SELECT x, NULL, 'U' || ((x + 1) % 20), 'reopen', 'resolved', 'claimed', NULL,
                {ts(f"{born} + 100000 + x % 86400")}
            FROM {series} WHERE x % 50 = 0""",
    ]
    with engine.begin() as conn:
        for sql in statements:
            conn.execute(text(sql), {"n": n})
        # The events were written by SQL, not by the bot: derive the report's facts from them as the
        # migration that introduced the facts does for a desk's existing history.
        facts.rebuild(conn)
    with engine.connect() as conn:
        for table in ("complaints", "promises", "audit_events", "complaint_facts", "promise_facts"):
            conn.execute(text(f"ANALYZE {table}"))
    if engine.dialect.name == "sqlite":  # as a running desk's would be: not a 2 GB write-ahead log
        raw = engine.raw_connection()
        try:
            raw.driver_connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
        conn.commit()


def timed(fn, rounds: int = 3) -> float:
    runs = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def run(name: str, engine: Engine, n: int) -> None:
    migrate.upgrade(engine)
    t0 = time.perf_counter()
    fill(engine, n)
    with engine.connect() as conn:
        events = conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one()
    print(f"{name}: {n:,} complaints, {n:,} promises, {events:,} events generated in {time.perf_counter() - t0:.0f}s")
    sessions = make_sessionmaker(engine)
    with sessions() as session:
        last_week = NOW - timedelta(days=7)  # whole weeks: the one before NOW's, and the 8 before that
        week = metrics.last_periods(last_week, 1, Unit.WEEK, "UTC")
        weeks8 = metrics.last_periods(last_week, 8, Unit.WEEK, "UTC")
        check = metrics.compute(session, week, unit=Unit.WEEK, tz="UTC", now=NOW)
        assert check.team[0].complaints_in > 0, "the generated data is not in the measured weeks"
        one = timed(lambda: metrics.compute(session, week, unit=Unit.WEEK, tz="UTC", now=NOW))
        eight = timed(lambda: metrics.compute(session, weeks8, unit=Unit.WEEK, tz="UTC", now=NOW))
        payload = timed(lambda: weekly.payload(session, now=NOW, tz="UTC"), rounds=1)
    print(
        f"  report for one week: {one:.2f} s   for 8 weeks: {eight:.2f} s   whole weekly payload: {payload:.2f} s"
        f"   (a week holds {check.team[0].complaints_in:,} complaints)"
    )
    print(f"{name}_week_s={one:.2f} {name}_8weeks_s={eight:.2f} {name}_payload_s={payload:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    if not args.skip_sqlite:
        with tempfile.TemporaryDirectory() as tmp:
            engine = make_engine(f"sqlite:///{Path(tmp) / 'report.db'}")
            run("sqlite", engine, args.rows)
            engine.dispose()
    if not args.skip_pg:
        with temporary_schema(args.pg, "bench") as url:
            engine = make_engine(url)
            run("postgresql", engine, args.rows)
            engine.dispose()


if __name__ == "__main__":
    main()
