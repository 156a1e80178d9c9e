"""``followthrough data forget @handle --source S [--dry-run] [--yes]``, without the argument parsing.

A data-protection request names a person, not a row: this finds everything of theirs and forgets it
(see ``bot/desk/forget.py`` for what is deleted and what is anonymised, and why). The dry run does
the same work in a transaction it rolls back, so what it reports is exactly what would happen.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

EXIT_OK = 0
EXIT_NOTHING = 1
EXIT_REFUSED = 2
EXIT_DATABASE = 3


def stored_sources(session: Session) -> set[str]:
    """Networks something is stored from: a network switched off since can still be forgotten on."""
    from sqlalchemy import select, union

    from bot.store.models import Complaint, Post

    return set(session.scalars(union(select(Complaint.source).distinct(), select(Post.source).distinct())))


def _ask(question: str) -> bool:
    if not sys.stdin.isatty():
        return False
    return input(question).strip().lower() == "yes"


def forget_command(
    database_url: str,
    masked_url: str,
    handle: str,
    source: str,
    *,
    dry_run: bool,
    yes: bool,
    ask: Callable[[str], bool] = _ask,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
    configured: tuple[str, ...] = (),
    actor: str = "data forget",
) -> int:
    # Here, not at the top: every command's start (``--help``, ``run``) imported the forgetting,
    # Alembic and the models through this module — half a second each time.
    from sqlalchemy.exc import SQLAlchemyError

    from bot.desk.forget import MissingRule, forget
    from bot.store import migrate
    from bot.store.engine import make_engine, make_sessionmaker

    handle = handle.strip()
    if not handle.lstrip("@"):
        print("Name the customer: followthrough data forget @handle --source x", file=sys.stderr)
        return EXIT_REFUSED
    try:
        engine = make_engine(database_url)
    except Exception as exc:
        print(f"cannot open database {masked_url}: {exc}", file=sys.stderr)
        return EXIT_DATABASE
    try:
        state = migrate.schema_state(engine)
        if not state.up_to_date:
            print(
                f"database {masked_url} is at schema {state.current or 'empty'}, needs {state.head}: "
                "run `followthrough db upgrade` first",
                file=sys.stderr,
            )
            return EXIT_DATABASE
        sessions = make_sessionmaker(engine)
        with sessions() as session:
            stored = stored_sources(session)
        if source not in stored | set(configured):
            known = ", ".join(sorted(stored | set(configured))) or "none"
            print(
                f"Unknown source {source!r}: the sources configured or with stored posts are {known}. "
                "Example: followthrough data forget @jo --source x",
                file=sys.stderr,
            )
            return EXIT_REFUSED
        with sessions() as session:  # first, always, a dry run: what would go
            report = forget(session, source, handle, at=now(), actor=actor)
            session.rollback()
        if not report.found:
            print(f"Nothing stored about @{report.customer.handle} on {source}.")
            return EXIT_NOTHING
        lines = report.lines(dry_run=True)
        if dry_run:
            print("\n".join([*lines, "Dry run: nothing changed."]))
            return EXIT_OK
        print("\n".join(lines))
        if not yes and not ask(f"Forget @{report.customer.handle} on {source}? This cannot be undone. Type yes: "):
            print("Nothing changed. Add --yes to forget without being asked (e.g. with no terminal).")
            return EXIT_REFUSED
        with sessions.begin() as session:
            done = forget(session, source, handle, at=now(), actor=actor)
        print(
            f"Forgotten: @{done.customer.handle} on {source}; the running bot re-renders {done.cards_refreshed} "
            f"card(s) and deletes or edits {len(done.slack_messages)} other message(s) in Slack."
        )
        return EXIT_OK
    except MissingRule as exc:
        print(f"Refusing to forget: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    except SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:300]
        print(f"cannot reach database {masked_url}: {reason}", file=sys.stderr)
        return EXIT_DATABASE
    finally:
        engine.dispose()


def add_parser(sub: Any) -> None:
    data = sub.add_parser("data", help="stored data commands", description="Commands about stored customer data.")
    data_sub = data.add_subparsers(dest="data_command", required=True, metavar="ACTION")
    forget = data_sub.add_parser(
        "forget",
        help="forget one customer (a data-protection request)",
        description="Delete or anonymise everything stored about one customer: their posts and raw records are "
        "deleted; their complaints, promises and events stay anonymised, so counts and reports do not change.",
    )
    forget.add_argument("handle", help="the customer's handle, e.g. @jo")
    forget.add_argument("--source", required=True, help="the network the handle is on: x, replay, …")
    forget.add_argument("--dry-run", action="store_true", help="say what would change, per table; change nothing")
    forget.add_argument("--yes", action="store_true", help="do not ask for confirmation")


def main(args: argparse.Namespace) -> int:
    import getpass

    from bot import networks
    from bot.config import load_settings
    from bot.logs import configure_logging

    settings = load_settings(mode=None, dotenv_path=args.env_file)
    configure_logging(settings.log_level, settings.secrets())
    configured = {*networks.selected(settings), *networks.ingest_sources(settings)} - {"webhook"}
    return forget_command(
        settings.database_url,
        settings.database_url_masked,
        args.handle,
        args.source,
        dry_run=args.dry_run,
        yes=args.yes,
        configured=tuple(sorted(configured)),
        actor=f"data forget ({getpass.getuser()})"[:64],
    )
