"""Load: 50 people clicking for 60 s in HTTP mode, two web processes and a worker on PostgreSQL.

    python bench/load.py [--users 50] [--seconds 60] [--pg URL]

Target: p99 ack < 500 ms, zero errors. The load generator runs on the same 2-core machine as the
bot processes and PostgreSQL, so its own scheduling is inside the measured latency.
"""

from __future__ import annotations

import argparse
import uuid

from sqlalchemy import create_engine, text

from bot.devtools.load import run_load


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    schema = f"load_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.pg)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        report = run_load(f"{args.pg}?options=-csearch_path%3D{schema}", users=args.users, seconds=args.seconds)
        print("\n".join(report.lines()))
        print(f"p99_ms={report.percentile(0.99):.0f} errors={report.errors}")
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
