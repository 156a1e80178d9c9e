"""Crash safety, long run: the real bot killed with SIGKILL at random moments and restarted.

    python bench/crash.py [--posts 2000] [--kills 25] [--pg URL] [--skip-pg]

Runs on a SQLite file and on PostgreSQL (a fresh schema); prints the counts for each.
"""

from __future__ import annotations

import argparse
import tempfile
import uuid
from pathlib import Path

from sqlalchemy import create_engine, text

from bot.devtools.crash import run_crash_scenario


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=25)
    parser.add_argument("--pg", default="postgresql+psycopg://postgres@127.0.0.1:5432/test")
    parser.add_argument("--skip-pg", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        report = run_crash_scenario(f"sqlite:///{Path(tmp) / 'crash.db'}", posts=args.posts, kills=args.kills, seed=21)
        print("SQLite:")
        print("\n".join("  " + line for line in report.lines()))
        print(f"sqlite_invariants_hold={report.ok}")
    if args.skip_pg:
        return
    schema = f"crash_{uuid.uuid4().hex[:8]}"
    admin = create_engine(args.pg)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        report = run_crash_scenario(
            f"{args.pg}?options=-csearch_path%3D{schema}", posts=args.posts, kills=args.kills, seed=22
        )
        print("PostgreSQL:")
        print("\n".join("  " + line for line in report.lines()))
        print(f"postgresql_invariants_hold={report.ok}")
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


if __name__ == "__main__":
    main()
