"""``followthrough export``: complaints, promises, events or incidents between two dates, as CSV or JSON
lines.

The work is in ``bot.reports.export``; this module parses and opens. Only what an export needs is
imported (the ORM models, Alembic and Slack stay unimported): start-up time counts against every
export, and is most of a small one.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import IO, Any

from bot.reports.export import FORMATS, WHAT, export


@contextmanager
def _output(path: Path | None) -> Iterator[IO[bytes]]:
    """stdout, or ``path`` written whole or not at all: a temporary file beside it, renamed at the
    end — an export that fails halfway leaves the old file as it was, never a truncated one."""
    if path is None:
        sys.stdout.flush()
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed and renamed (or removed) below
        "wb", dir=path.parent, prefix=f".{path.name}.", suffix=".part", delete=False
    )
    try:
        with handle:
            yield handle
        os.replace(handle.name, path)
    except BaseException:
        Path(handle.name).unlink(missing_ok=True)
        raise


EARLIEST, LATEST = date(2006, 1, 1), date(2100, 12, 31)


def _date(value: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not a date like 2026-03-01") from None
    if not EARLIEST <= day <= LATEST:
        raise argparse.ArgumentTypeError(f"{value} is outside {EARLIEST.year}–{LATEST.year}")
    return day


def _refuse_output(path: Path, database_url: str, force: bool) -> str | None:
    """Why ``--output`` must not be written: it is the database (or its journal), or it exists."""
    from bot.cli.startup import sqlite_file

    database = sqlite_file(database_url)
    if database is not None:
        target = path.resolve()
        own = {database.resolve(), *(Path(f"{database.resolve()}{s}") for s in ("-wal", "-shm", "-journal"))}
        if target in own:
            return f"--output {path} is the database itself; choose another file"
    if path.is_dir():
        return f"--output {path} is a directory"
    if path.exists() and not force:
        return f"--output {path} exists; add --force to replace it"
    return None


def add_parser(sub: Any) -> None:
    parser = sub.add_parser(
        "export",
        help="complaints, promises, events or incidents as CSV or JSON lines",
        description="Write complaints, promises, events or incidents between two dates (team time zone; "
        "--until includes that day; an incident by when it was detected) as CSV or JSON lines, to stdout or "
        "--output. Streams: memory stays flat.",
    )
    parser.add_argument("--since", type=_date, required=True, metavar="DATE", help="first day, e.g. 2026-03-01")
    parser.add_argument("--until", type=_date, default=None, metavar="DATE", help="last day (default: no end)")
    parser.add_argument("--format", choices=FORMATS, default="csv", help="csv (default) or jsonl")
    parser.add_argument("--what", choices=sorted(WHAT), default="complaints", help="which rows (default complaints)")
    parser.add_argument("--output", type=Path, default=None, metavar="FILE", help="write here instead of stdout")
    parser.add_argument("--force", action="store_true", help="replace --output if it exists")
    parser.add_argument(
        "--raw",
        action="store_true",
        help="CSV cells exactly as stored (default: a cell a spreadsheet would run as a formula starts with ', "
        "control characters removed)",
    )


def main(args: argparse.Namespace) -> int:
    # Only what an export needs: the ORM models, Alembic and Slack stay unimported (start-up time
    # counts against every export, and is most of a small one).
    from sqlalchemy.exc import SQLAlchemyError

    from bot.cli.startup import StartupError, engine_or_fail
    from bot.config import load_settings

    if args.until is not None and args.until < args.since:
        raise StartupError(f"--until {args.until} is before --since {args.since}")
    settings = load_settings(mode=None, dotenv_path=args.env_file)
    if args.output is not None and (why := _refuse_output(args.output, settings.database_url, args.force)):
        raise StartupError(why)
    engine = engine_or_fail(settings, read_only=True)
    try:
        with _output(args.output) as out:
            n = export(
                engine,
                out,
                what=args.what,
                fmt=args.format,
                since=args.since,
                until=args.until,
                tz=settings.team_timezone,
                raw=args.raw,
            )
    except (SQLAlchemyError, engine.dialect.loaded_dbapi.Error) as exc:
        from bot.common.health import short_reason

        raise StartupError(f"cannot read database {settings.database_url_masked}: {short_reason(exc)}") from None
    except OSError as exc:
        raise StartupError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    finally:
        engine.dispose()
    noun = args.what if n != 1 else args.what.removesuffix("s")  # "1 promise", "2 promises"
    print(f"{n} {noun} exported", file=sys.stderr)
    return 0
