"""The command line: ``followthrough run | check | db … | demo``.

Start-up failures an operator can fix (settings, an unreachable or out-of-date database) end with
one clear message and a non-zero exit code, never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from sqlalchemy.exc import SQLAlchemyError

from bot.cli.webhook import add_webhook_parser, cmd_webhook
from bot.config import Mode, Role, Settings, SettingsError, load_settings
from bot.logs import configure_logging

log = logging.getLogger("bot")

EXIT_CONFIG = 2
EXIT_DEPENDENCY = 3


class StartupError(Exception):
    """A problem the operator must fix before the bot can start; the message says how."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="followthrough",
        description="Followthrough: public complaints become owned Slack cards, and promises get kept.",
    )
    parser.add_argument("--env-file", type=Path, default=Path(".env"), help="a .env file to read (default: .env)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser(
        "run",
        help="run the bot",
        description="Run the bot: Slack listener, X sources, Slack poster and scheduler (all in one process "
        "unless --role says otherwise). Socket Mode by default; --http serves signed requests at /slack/events.",
    )
    run.add_argument(
        "--http", action="store_true", help="HTTP mode instead of Socket Mode (needs SLACK_SIGNING_SECRET)"
    )
    run.add_argument("--port", type=int, default=None, help="HTTP port (default: $PORT, else 3000)")
    run.add_argument(
        "--replay",
        type=Path,
        metavar="FILE",
        action="append",
        default=[],
        help="also read posts from a JSON-lines file (repeat for several; X is read too when X_BEARER_TOKEN is set)",
    )
    run.add_argument(
        "--role",
        choices=[r.value for r in Role],
        default=Role.ALL.value,
        help="web: Slack listener only; worker: sources, poster and scheduler; all: both (default)",
    )

    check = sub.add_parser(
        "check",
        help="check settings and every dependency",
        description="Check the settings, the database (reachable and migrated), the Slack token (auth.test) and "
        "the X credentials; print ok/FAILED for each and exit non-zero if any failed.",
    )
    check.add_argument("--http", action="store_true", help="check the settings for HTTP mode instead of Socket Mode")
    check.add_argument("--replay", action="store_true", help="posts come from replay files: X credentials not needed")

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

    add_webhook_parser(sub)

    demo = sub.add_parser(
        "demo",
        help="a self-contained demonstration",
        description="Run the real bot against a local Slack stand-in on a temporary database with a bundled sample "
        "replay, click through a card and print what the channel shows. Needs no credentials or network.",
    )
    demo.add_argument(
        "--socket", action="store_true", help="the clicks arrive over Socket Mode (a local stand-in), as by default"
    )
    from bot.reports.export import add_parser as add_export

    add_export(sub)
    from bot.cli import promises as promises_cli

    promises_cli.add_parser(sub)
    _add_data_parser(sub)
    _add_triage_parser(sub)
    return parser


def _add_triage_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    triage = sub.add_parser(
        "triage",
        help="triage labels and model",
        description="Seed labels from a team's history, train the model now, or measure triage on a labelled "
        "file. Runs against DATABASE_URL; needs no Slack or X settings.",
    )
    triage_sub = triage.add_subparsers(dest="triage_command", required=True, metavar="ACTION")
    imp = triage_sub.add_parser(
        "import-labels",
        help="store labels from a CSV (columns text,is_complaint[,kind])",
        description="Store labels from a CSV with columns text,is_complaint and optionally kind "
        "(complaint, question, praise, not_complaint). All rows or, when any is bad, none.",
    )
    imp.add_argument("file", help="the CSV file")
    triage_sub.add_parser(
        "train", help="train the model now on every stored label", description="Fit and store a new model version."
    )
    ev = triage_sub.add_parser(
        "eval",
        help="measure triage on a labelled CSV",
        description="Print accuracy, macro-F1, complaint precision and recall of today's triage (cues and the "
        "newest stored model) on FILE, ending with one line macro_f1=… recall=… precision=….",
    )
    ev.add_argument("file", help="the CSV file (text,is_complaint)")


def cmd_triage(args: argparse.Namespace) -> int:
    from bot.cli import triage as triage_cli

    settings = load_settings(mode=None, dotenv_path=args.env_file)
    configure_logging(settings.log_level)
    if args.triage_command == "import-labels":
        return triage_cli.import_labels_command(settings.database_url, args.file)
    if args.triage_command == "train":
        return triage_cli.train_command(settings.database_url)
    return triage_cli.eval_command(settings.database_url, args.file)


def _add_data_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
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


def cmd_data(args: argparse.Namespace) -> int:
    from bot.cli.data import forget_command

    settings = load_settings(mode=None, dotenv_path=args.env_file)
    configure_logging(settings.log_level)
    return forget_command(
        settings.database_url,
        settings.database_url_masked,
        args.handle,
        args.source,
        dry_run=args.dry_run,
        yes=args.yes,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "run":
            return cmd_run(args)
        if args.command == "check":
            return cmd_check(args)
        if args.command == "db":
            return cmd_db(args)
        if args.command == "demo":
            return cmd_demo(args)
        if args.command == "export":
            from bot.reports.export import cmd_export

            return cmd_export(args)
        if args.command == "promises":
            from bot.cli import promises as promises_cli

            return promises_cli.main(args)
        if args.command == "data":
            return cmd_data(args)
        if args.command == "triage":
            return cmd_triage(args)
        if args.command == "webhook":
            return cmd_webhook(args)
    except SettingsError as exc:
        print(exc.render(), file=sys.stderr)
        return EXIT_CONFIG
    except StartupError as exc:
        print(f"Followthrough cannot start: {exc}", file=sys.stderr)
        return EXIT_DEPENDENCY
    return EXIT_CONFIG  # pragma: no cover - argparse rejects unknown commands


def _engine_or_fail(settings: Settings):  # noqa: ANN202 - returns an Engine; import kept local
    from bot.store.db import make_engine

    try:
        return make_engine(settings.database_url)
    except (SQLAlchemyError, ValueError, ImportError) as exc:
        raise StartupError(f"cannot open database {settings.database_url_masked}: {exc}") from None


def _prepare_schema(settings: Settings) -> None:
    from bot.checks import short_reason
    from bot.store import migrate

    engine = _engine_or_fail(settings)
    try:
        state = migrate.ensure_schema(engine)
        log.debug("database %s at schema %s", settings.database_url_masked, state.current)
    except migrate.SchemaOutOfDate as exc:
        raise StartupError(str(exc)) from None
    except SQLAlchemyError as exc:
        raise StartupError(f"cannot reach database {settings.database_url_masked}: {short_reason(exc)}") from None
    finally:
        engine.dispose()


def _check_slack_or_fail(settings: Settings, *, socket_mode: bool) -> None:
    """The tokens must work before anything starts: the same words ``check`` prints, exit 3."""
    from bot.checks import check_slack, check_socket_mode

    for check in (check_slack, check_socket_mode) if socket_mode else (check_slack,):
        result = check(settings)
        if not result.ok:
            raise StartupError(f"{result.name}: {result.detail}")


def cmd_db(args: argparse.Namespace) -> int:
    from bot.checks import short_reason
    from bot.store import migrate

    settings = load_settings(mode=None, dotenv_path=args.env_file)
    configure_logging(settings.log_level)
    engine = _engine_or_fail(settings)
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


def cmd_check(args: argparse.Namespace) -> int:
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


def cmd_demo(args: argparse.Namespace) -> int:
    from bot.devtools.demo import run_demo

    return run_demo(socket=args.socket)


def cmd_run(args: argparse.Namespace) -> int:
    role = Role(args.role)
    mode = Mode.HTTP if args.http else Mode.SOCKET
    replays: list[Path] = list(args.replay)
    for replay in replays:
        if not replay.is_file():
            raise StartupError(f"--replay {replay}: no such file")
    settings = load_settings(mode=mode, role=role, replay=bool(replays), dotenv_path=args.env_file)
    configure_logging(settings.log_level)

    from bot.app import create_app
    from bot.common.tasks import Worker
    from bot.networks.registry import webhook_sources
    from bot.runtime import build_tasks
    from bot.store.leases import AnotherWorker, sqlite_worker_lock

    works = role in (Role.WORKER, Role.ALL)
    try:
        worker_lock = sqlite_worker_lock(settings.database_url) if works else None
    except AnotherWorker as exc:
        raise StartupError(str(exc)) from None
    _prepare_schema(settings)
    listens = role in (Role.WEB, Role.ALL)
    if listens or works:
        _check_slack_or_fail(settings, socket_mode=listens and mode is Mode.SOCKET)
    app = create_app(settings, listener=listens)
    worker = Worker(build_tasks(app, replays=replays) if works else [])
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: shutting down", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    socket = None
    try:
        if listens and mode is Mode.SOCKET:
            from bot.socket_mode import SocketMode, SocketModeFailed

            assert app.bolt is not None
            socket = SocketMode(app.bolt, settings.slack_app_token.reveal())
            try:
                socket.connect()
            except SocketModeFailed as exc:
                socket = None
                raise StartupError(str(exc)) from None
        worker.start()
        if listens and mode is Mode.HTTP:
            from bot.web import serve

            port = args.port or settings.port
            threading.Thread(target=serve, args=(app, port), name="http", daemon=True).start()
        elif listens and webhook_sources(settings):
            from bot.web import serve

            port = args.port or settings.port  # Socket Mode: the HTTP server only takes the webhook
            kwargs = {"slack_events": False}
            threading.Thread(target=serve, args=(app, port), kwargs=kwargs, name="http", daemon=True).start()
        stop.wait()
    finally:
        if socket is not None:
            socket.close()
        worker.shutdown()
        if worker_lock is not None:
            worker_lock.close()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
