"""``followthrough promises explain TEXT --now ISO --tz ZONE [--locale …] [--reply]``: how the bot reads a
``/promise`` argument, or every commitment in a brand reply, as JSON lines. Operators use it to see what
the bot will do before an agent types it; tests use it too. Needs no Slack, X or database settings:
only ``WORKDAY_END``, ``PROMISE_HOLIDAYS`` and ``NAG_QUIET_HOURS`` are read (from the environment or
the ``--env-file``), and a bad value is one line naming it, exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
from datetime import UTC, datetime, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config import load_dotenv_into, parse_hhmm, parse_quiet_hours

BAD_INPUT = 2


def add_parser(sub: Any) -> None:
    promises = sub.add_parser("promises", help="promise tools", description="Tools for promises.")
    psub = promises.add_subparsers(dest="promises_command", required=True, metavar="ACTION")
    explain = psub.add_parser(
        "explain",
        help="show how a /promise argument (or, with --reply, a brand reply) is read",
        description="Print, as JSON lines {due, text, ask, error}, how the bot reads a /promise argument "
        "(e.g. 'tomorrow 3pm call back') or, with --reply, every commitment found in a brand reply.",
    )
    explain.add_argument("text", help="the words, e.g. 'tomorrow 11.30 call back'")
    explain.add_argument("--now", required=True, help="the moment to read from, ISO-8601 with an offset or Z")
    explain.add_argument("--tz", required=True, help="the owner's IANA time zone, e.g. Europe/London")
    explain.add_argument(
        "--locale",
        default=None,
        help="the owner's Slack locale: day/month order (en-GB: d/m, en-US: m/d); unset, a date like 12/5 is asked",
    )
    explain.add_argument("--reply", action="store_true", help="read TEXT as a brand reply: every commitment in it")


def _line(due: datetime | None, text: str, ask: str | None, error: str | None, **more: Any) -> str:
    iso = due.astimezone(UTC).isoformat().replace("+00:00", "Z") if due else None
    return json.dumps({"due": iso, "text": text, "ask": ask, "error": error, **more}, ensure_ascii=False)


def _fail(message: str) -> int:
    print(_line(None, "", None, message))
    return BAD_INPUT


def main(args: argparse.Namespace) -> int:
    # Imported here, not at the top: every command's parser is built from this module, and the
    # readers cost a noticeable share of a short command's start-up (an export, a check).
    from bot.promises.commitments import find_commitments
    from bot.promises.due import DueParser, parse_holidays

    env = dict(os.environ)
    env_file = getattr(args, "env_file", None)
    if env_file is not None and Path(env_file).is_file():
        merged: dict[str, str] = {}
        load_dotenv_into(merged, Path(env_file))
        env = {**merged, **env}
    try:
        workday_end = parse_hhmm(env["WORKDAY_END"]) if env.get("WORKDAY_END", "").strip() else time(17, 0)
    except ValueError as exc:
        return _fail(f"WORKDAY_END: {exc}")
    try:
        holidays = parse_holidays(env.get("PROMISE_HOLIDAYS", ""))
    except ValueError as exc:
        return _fail(f"PROMISE_HOLIDAYS: {exc}")
    quiet = None
    if env.get("NAG_QUIET_HOURS", "").strip():
        try:
            quiet = parse_quiet_hours(env["NAG_QUIET_HOURS"])
        except ValueError as exc:
            return _fail(f"NAG_QUIET_HOURS: {exc}")
    try:
        now = datetime.fromisoformat(args.now.replace("Z", "+00:00"))
    except ValueError:
        return _fail(f"--now {args.now!r} is not an ISO-8601 time like 2026-11-24T10:00:00Z")
    if now.tzinfo is None:
        return _fail(f"--now {args.now!r} has no offset: add Z or +01:00")
    try:
        ZoneInfo(args.tz)
    except (ZoneInfoNotFoundError, ValueError):
        return _fail(f"--tz {args.tz!r} is not an IANA time zone like Europe/London")
    now = now.astimezone(UTC)
    if args.reply:
        found = find_commitments(
            args.text, now=now, tz=args.tz, locale=args.locale, workday_end=workday_end, holidays=holidays
        )
        for c in found:
            print(_line(c.due, c.text, c.ask, None, **_nag(c.due, quiet, args.tz)))
        return 0
    reading = DueParser(workday_end, holidays).read(args.text, now=now, tz=args.tz, locale=args.locale)
    if reading.error:
        print(_line(None, reading.what, None, reading.error))
        return 1
    first = reading.options[0]
    print(
        _line(first.due if not reading.ask else None, first.what, reading.ask, None, **_nag(first.due, quiet, args.tz))
    )
    if reading.ask:  # the readings the buttons would offer, one line each
        for option in reading.options:
            print(_line(option.due, option.what, None, None, reading=True))
    return 0


def _nag(due: datetime | None, quiet: Any, tz: str) -> dict[str, Any]:
    """With quiet hours set, when the first nag would really go (a due time inside them waits)."""
    if quiet is None or due is None:
        return {}
    from bot.promises.quiet import next_allowed

    later = next_allowed(due, quiet, tz)
    return {"first_nag": (later or due).astimezone(UTC).isoformat().replace("+00:00", "Z")}
