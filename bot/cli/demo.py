"""``followthrough demo``: the real bot against local stand-ins, with no credentials or network."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    demo = sub.add_parser(
        "demo",
        help="a self-contained demonstration",
        description="Run the real bot against a local Slack stand-in on a temporary database with a bundled sample "
        "replay (with a small login outage among it, which becomes one incident card), click through a card, claim "
        "the incident and print what the channels show. Needs no credentials or network.",
    )
    demo.add_argument(
        "--socket", action="store_true", help="the clicks arrive over Socket Mode (a local stand-in), as by default"
    )


def main(args: argparse.Namespace) -> int:
    from bot.devtools.walkthrough import run_demo

    return run_demo(socket=args.socket)
