"""The command line: ``followthrough run | check | db … | demo | playground | export | promises | triage | data |
webhook``.

One module per command group, each with ``add_parser(sub)`` and ``main(args) -> int``; this module
only lists them. Start-up failures an operator can fix end with one clear message and a non-zero
exit code, never a traceback (``bot.cli.startup``). Each group imports what its work needs when it
runs, not when the parser is built: ``--help`` and a small export should not load Slack or Alembic.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from importlib import metadata
from pathlib import Path
from types import ModuleType

from bot.cli import check, data, db, demo, export, playground, promises, run, triage
from bot.cli.startup import EXIT_CONFIG, EXIT_DEPENDENCY, StartupError
from bot.config import SettingsError
from bot.networks import commands as network_commands

GROUPS: tuple[ModuleType, ...] = (run, check, db, demo, playground, export, promises, data, triage)
"""Each command group, in the order ``--help`` lists them (the networks add theirs after)."""


def build_parser() -> tuple[argparse.ArgumentParser, dict[str, Callable[[argparse.Namespace], int]]]:
    parser = argparse.ArgumentParser(
        prog="followthrough",
        description="Followthrough: public complaints become owned Slack cards, and promises get kept.",
    )
    parser.add_argument(
        "--env-file", type=Path, default=None, help="a .env file to read (default: .env, when there is one)"
    )
    parser.add_argument("--version", action="version", version=f"followthrough {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    handlers: dict[str, Callable[[argparse.Namespace], int]] = {}
    for group in GROUPS:
        before = set(sub.choices)
        group.add_parser(sub)
        handlers.update(dict.fromkeys(set(sub.choices) - before, group.main))
    for name, add, handler in network_commands():
        add(sub)
        handlers[name] = handler
    return parser, handlers


def _version() -> str:
    try:
        return metadata.version("followthrough")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed: pip install -e .)"


def main(argv: Sequence[str] | None = None) -> int:
    parser, handlers = build_parser()
    args = parser.parse_args(argv)
    if args.env_file is None:
        args.env_file = Path(".env")  # read when present; most deployments set the environment instead
    elif not args.env_file.exists():
        # Named on purpose: running on without it would start with other settings than meant.
        print(f"Followthrough cannot start: --env-file {args.env_file} does not exist", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return handlers[args.command](args)
    except SettingsError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_CONFIG
    except StartupError as exc:
        print(f"Followthrough cannot start: {exc}", file=sys.stderr)
        return EXIT_DEPENDENCY


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
