"""``followthrough db upgrade | downgrade | current``: the schema, through Alembic."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from bot.cli.startup import EXIT_CONFIG, StartupError, engine_or_fail, sqlite_file
from bot.common.health import short_reason
from bot.config import load_settings
from bot.logs import configure_logging


def add_parser(sub: Any) -> None:
    db = sub.add_parser("db", help="database schema commands", description="Manage the database schema (Alembic).")
    db_sub = db.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    db_sub.add_parser(
        "upgrade", help="migrate to the latest schema", description="Migrate DATABASE_URL to the latest schema."
    )
    down = db_sub.add_parser(
        "downgrade", help="migrate back to a revision", description="Migrate DATABASE_URL back to REVISION."
    )
    down.add_argument("revision", help="target revision id, or 'base' for an empty database")
    down.add_argument("--yes", action="store_true", help="do not ask before dropping every table (revision 'base')")
    db_sub.add_parser("current", help="show the schema revision", description="Print the current and latest revisions.")


def main(args: argparse.Namespace) -> int:
    from bot.store import migrate

    settings = load_settings(mode=None, dotenv_path=args.env_file)
    configure_logging(settings.log_level, settings.secrets())
    missing = sqlite_file(settings.database_url)
    if args.db_command == "current" and missing is not None and not missing.exists():
        # Read-only: say there is none, and do not create an empty file by looking.
        print(f"current: none (there is no database at {missing})\nlatest:  {migrate.head_revision()}")
        return 1
    engine = engine_or_fail(settings)
    try:
        if args.db_command == "upgrade":
            migrate.upgrade(engine)
            print(f"{settings.database_url_masked}: schema at {migrate.current_revision(engine)} (latest)")
        elif args.db_command == "downgrade":
            known = migrate.revisions()
            if args.revision not in (*known, "base"):
                raise StartupError(
                    f"there is no schema revision {args.revision[:40]!r}; known: {', '.join(known)}, or base"
                )
            if args.revision == "base" and not args.yes and not _confirmed(settings.database_url_masked):
                print("Nothing changed. `followthrough db downgrade base --yes` drops every table without asking.")
                return EXIT_CONFIG
            migrate.downgrade(engine, args.revision)
            print(f"{settings.database_url_masked}: schema at {migrate.current_revision(engine) or 'base'}")
        else:
            state = migrate.schema_state(engine)
            print(f"current: {state.current or 'none'}\nlatest:  {state.head}")
            return 0 if state.up_to_date else 1
    except SQLAlchemyError as exc:
        raise StartupError(f"cannot reach database {settings.database_url_masked}: {short_reason(exc)}") from None
    finally:
        engine.dispose()
    return 0


def _confirmed(where: str) -> bool:
    """Ask before dropping every table; without a terminal to ask on, the answer is no."""
    if not sys.stdin.isatty():
        print(f"`db downgrade base` drops every table of {where}: add --yes to do it without a terminal.")
        return False
    answer = input(f"This drops every table of {where}, and all its complaints and promises. Type yes to go on: ")
    return answer.strip().lower() == "yes"


def _confirmed(where: str) -> bool:
    """Ask before dropping every table; without a terminal to ask on, the answer is no."""
    if not sys.stdin.isatty():
        print(f"`db downgrade base` drops every table of {where}: add --yes to do it without a terminal.")
        return False
    answer = input(f"This drops every table of {where}, and all its complaints and promises. Type yes to go on: ")
    return answer.strip().lower() == "yes"
