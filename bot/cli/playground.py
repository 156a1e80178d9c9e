"""``followthrough playground``: the real bot in a browser page, against a local Slack stand-in."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    playground = sub.add_parser(
        "playground",
        help="try the bot in a browser, with no Slack workspace",
        description="Run the real bot (as `run --http` does) against a local Slack stand-in and a temporary "
        "database, and serve a page on 127.0.0.1 that shows the channels, DMs, App Home and forms as Slack would. "
        "Click, type slash commands as one of three sample teammates, post as a customer, and skip the bot's "
        "clock ahead to watch the nag ladder. Needs no credentials or network.",
    )
    playground.add_argument("--port", type=int, default=8765, help="the page's port on 127.0.0.1 (default 8765)")
    playground.add_argument(
        "--database", metavar="URL", help="keep what you do in this database (default: a temporary SQLite file)"
    )


def main(args: argparse.Namespace) -> int:
    from bot.cli.startup import StartupError
    from bot.devtools.playground import run_playground

    if not 1 <= args.port <= 65_535:
        raise StartupError(f"--port {args.port} is not a TCP port (1–65535)")
    try:
        return run_playground(args.database, port=args.port)
    except OSError as exc:
        raise StartupError(f"the playground cannot listen on 127.0.0.1:{args.port}: {exc.strerror or exc}") from None
