"""``followthrough check``: the settings, then each dependency in one line, ok or why not."""

from __future__ import annotations

import argparse
from typing import Any

from bot.config import Mode, load_settings


def add_parser(sub: Any) -> None:
    check = sub.add_parser(
        "check",
        help="check settings and every dependency",
        description="Check the settings, the database (reachable and migrated), the Slack token (auth.test) and "
        "the X credentials; print ok/FAILED for each and exit non-zero if any failed.",
    )
    check.add_argument("--http", action="store_true", help="check the settings for HTTP mode instead of Socket Mode")
    check.add_argument("--replay", action="store_true", help="posts come from replay files: X credentials not needed")


def main(args: argparse.Namespace) -> int:
    from bot.checks import backlog_lines, run_checks, source_lines

    settings = load_settings(
        mode=Mode.HTTP if args.http else Mode.SOCKET, replay=args.replay, dotenv_path=args.env_file
    )
    print("ok     settings: all required settings present and valid")
    results = run_checks(settings, socket_mode=not args.http)
    for result in results:
        print(result.line())
    if results[0].ok and "will be created" not in results[0].detail:
        sources = source_lines(settings)
        print("sources:" if sources else "sources: none has run yet")
        for line in sources:
            print(f"  {line}")
        for line in backlog_lines(settings):
            print(line)
    return 0 if all(r.ok for r in results) else 1
