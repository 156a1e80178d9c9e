"""``followthrough run``: the Slack listener, the sources, delivery and the scheduler, as the role says."""

from __future__ import annotations

import argparse
import faulthandler
import signal
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from bot import networks
from bot.cli.startup import StartupError, log, prepare_schema
from bot.config import Mode, Role, Settings, load_settings
from bot.logs import configure_logging


def add_parser(sub: Any) -> None:
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


STOP_LIMIT_SECONDS = 20.0
"""From SIGTERM to exit at most: HTTP requests 5 s to finish, the worker's loops 10 s, the rest to
spare; within Heroku's 30 s before SIGKILL."""


def check_slack_or_fail(settings: Settings, *, socket_mode: bool) -> None:
    """The tokens must work before anything starts: the same words ``check`` prints, exit 3."""
    from bot.checks import check_slack, check_socket_mode

    for check in (check_slack, check_socket_mode) if socket_mode else (check_slack,):
        result = check(settings)
        if not result.ok:
            raise StartupError(f"{result.name}: {result.detail}")


def main(args: argparse.Namespace) -> int:
    # First of all: a SIGTERM while starting (a platform restarting us, a second worker refused
    # beside this one) is a clean stop once start-up is done, not a kill halfway through it.
    stop = threading.Event()

    def _stop(signum: int, _frame: FrameType | None) -> None:
        log.info("signal %d: shutting down", signum)
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    role = Role(args.role)
    mode = Mode.HTTP if args.http else Mode.SOCKET
    replays: list[Path] = list(args.replay)
    for replay in replays:
        if not replay.is_file():
            raise StartupError(f"--replay {replay}: no such file")
    settings = load_settings(mode=mode, role=role, replay=bool(replays), dotenv_path=args.env_file)
    configure_logging(settings.log_level, settings.secrets())

    from bot.app import create_app
    from bot.common.tasks import Worker
    from bot.runtime import build_tasks
    from bot.store.leases import AnotherWorker, sqlite_worker_lock

    works = role in (Role.WORKER, Role.ALL)
    try:
        worker_lock = sqlite_worker_lock(settings.database_url) if works else None
    except AnotherWorker as exc:
        raise StartupError(str(exc)) from None
    prepare_schema(settings)
    listens = role in (Role.WEB, Role.ALL)
    if listens or works:
        check_slack_or_fail(settings, socket_mode=listens and mode is Mode.SOCKET)
    app = create_app(settings, listener=listens)
    worker = Worker(build_tasks(app, replays=replays) if works else [])
    socket = None
    http = None
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
        if listens and (mode is Mode.HTTP or networks.ingest_sources(settings)):
            from bot.web import PortUnavailable, bind, serve_in_background, stop_server

            port = args.port if args.port is not None else settings.port
            try:  # Socket Mode: the HTTP server only takes the webhook
                http = bind(app, port, slack_events=mode is Mode.HTTP)
            except PortUnavailable as exc:
                raise StartupError(str(exc)) from None
        worker.start()
        if http is not None:
            serve_in_background(http)
        stop.wait()
    finally:
        # A stop that hangs (a loop stuck in a call, an exit handler waiting) would be killed by
        # the platform with nothing said; past the limit, every thread's stack goes to stderr and
        # the process exits, so the log says where it hung.
        faulthandler.dump_traceback_later(STOP_LIMIT_SECONDS, exit=True)
        if http is not None:
            stop_server(http)
        if socket is not None:
            socket.close()
        worker.shutdown()
        app.close()
        if worker_lock is not None:
            worker_lock.close()
    return 0
