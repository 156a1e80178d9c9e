"""``followthrough export`` of events at scale: rows per second and the exporting process's peak RSS.

    python bench/export.py [--rows 1000000] [--pg URL] [--skip-pg] [--skip-sqlite]

Events are generated with set-based SQL (generate_series / a recursive CTE): a claim, a promise with
JSON details, or a kept promise, in turn. The export runs as its own process (the real CLI), once
over a tenth of the rows and once over all of them, as CSV and as JSON lines, so a flat memory
profile shows as the same peak RSS at both sizes. Targets: at least 50,000 rows/s, RSS under 150 MB.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import _repo
from sqlalchemy import Engine, text

from bot.store import migrate
from bot.store.engine import make_engine
from tests.support.procs import temporary_schema

CHILD = (
    "import resource, sys\n"
    "from bot.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "usage = resource.getrusage(resource.RUSAGE_SELF)\n"
    "print('maxrss_kb', usage.ru_maxrss, 'cpu_s', usage.ru_utime + usage.ru_stime, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def fill(engine: Engine, n: int) -> None:
    pg = engine.dialect.name == "postgresql"
    series = (
        "generate_series(CAST(1 AS bigint), CAST(:n AS bigint)) AS g(x)"
        if pg
        else "(WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < :n) SELECT x FROM s)"
    )
    at = (
        "(TIMESTAMPTZ '2026-01-01 00:00:00+00' + x * INTERVAL '1 second')"
        if pg
        else "strftime('%Y-%m-%d %H:%M:%S.000000', '2026-01-01 00:00:00', x || ' seconds')"
    )
    details = """CASE WHEN x % 3 = 1 THEN '{"due_at": "2026-02-01T10:00:00+00:00", "owner": "U1"}'
                      WHEN x % 3 = 2 THEN '{"due_at": "2026-02-01T10:00:00+00:00", "on_time": true, "why": null}'
                      ELSE NULL END"""
    if pg:
        details = f"CAST({details} AS json)"
    sql = f"""
        INSERT INTO audit_events (complaint_id, promise_id, actor, action, from_status, to_status, note, details, at)
        SELECT NULL, NULL, 'U' || (x % 20),
               CASE WHEN x % 3 = 0 THEN 'claim' WHEN x % 3 = 1 THEN 'promise' ELSE 'promise_kept' END,
               CASE WHEN x % 3 = 0 THEN 'new' END, CASE WHEN x % 3 = 0 THEN 'claimed' END,
               CASE WHEN x % 3 = 1 THEN 'call back about the refund, with a "quote", a comma' END,
               {details}, {at}
        FROM {series}
    """
    with engine.begin() as conn:
        conn.execute(text(sql), {"n": n})


def export(url: str, until: str, fmt: str, out: Path) -> tuple[int, float, float, float]:
    env = dict(os.environ, DATABASE_URL=url, PYTHONPATH=str(_repo.ROOT), TEAM_TIMEZONE="UTC")
    args = ["--env-file", "/nonexistent.env", "export", "--since", "2026-01-01", "--until", until]
    args += ["--what", "events", "--format", fmt, "--output", str(out)]
    t0 = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, *args], env=env, capture_output=True, text=True, check=True)
    took = time.perf_counter() - t0
    rss_mb = int(done.stderr.split("maxrss_kb")[1].split()[0]) / 1024
    cpu_s = float(done.stderr.split("cpu_s")[1].split()[0])
    rows = int(done.stderr.split(" events exported")[0].split()[-1])
    return rows, took, rss_mb, cpu_s


def run(name: str, url: str, n: int, tmp: Path) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    t0 = time.perf_counter()
    fill(engine, n)
    engine.dispose()
    print(f"{name}: {n:,} events generated in {time.perf_counter() - t0:.0f}s")
    tenth_day = f"2026-01-{1 + n // 10 // 86400:02d}" if n // 10 >= 86400 else "2026-01-01"
    for fmt in ("csv", "jsonl"):
        for until in (tenth_day, "2026-12-31"):
            rows, took, rss, cpu = export(url, until, fmt, tmp / f"events.{fmt}")
            size = (tmp / f"events.{fmt}").stat().st_size / 1e6
            print(
                f"  {fmt:5} {rows:>9,} rows in {took:5.1f} s = {rows / took:>8,.0f} rows/s (process start"
                f" included; the exporting process used {cpu:4.1f} s of CPU)   peak RSS {rss:5.1f} MB"
                f"   file {size:6.1f} MB"
            )
            if until != tenth_day:
                print(f"{name}_{fmt}_rows_per_s={rows / took:.0f} {name}_{fmt}_peak_rss_mb={rss:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-pg", action="store_true")
    parser.add_argument("--skip-sqlite", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_sqlite:
            run("sqlite", f"sqlite:///{Path(tmp) / 'export.db'}", args.rows, Path(tmp))
        if not args.skip_pg:
            with temporary_schema(args.pg, "bench") as url:
                run("postgresql", url, args.rows, Path(tmp))


if __name__ == "__main__":
    main()
