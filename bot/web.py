"""HTTP mode: Slack's signed requests at /slack/events, and /healthz for the load balancer.

Served by waitress: a production WSGI server in pure Python (no compiler, runs anywhere Python
does), multi-threaded so a slow request never blocks a 3-second ack. Run several processes behind a
load balancer to scale out; they coordinate only through the database.
"""

from __future__ import annotations

import errno
import io
import json
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_sdk.signature import SignatureVerifier
from sqlalchemy import text

from bot import networks
from bot.app import Followthrough
from bot.common import jsonsafe

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]


MAX_BODY = 1024 * 1024
"""Slack's largest requests (a form with every field full) are a few hundred KB; waitress refuses
more than this with 413 before anything reads it."""


def _plain(start_response: StartResponse, status: str, text: str) -> list[bytes]:
    data = text.encode()
    start_response(status, [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))])
    return [data]


def make_wsgi_app(
    app: Followthrough, *, slack_events: bool = True
) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    """``slack_events=False``: only the webhook and /healthz (Socket Mode, where nothing signs
    /slack/events requests with a secret we hold)."""
    ingest = networks.ingest_endpoint(app.sessions, app.clock, app.settings)
    if not slack_events:
        return _without_slack(app, ingest)
    assert app.bolt is not None, "HTTP mode needs the Slack listener"
    slack_handler = SlackRequestHandler(app.bolt)
    verifier = SignatureVerifier(app.settings.slack_signing_secret.reveal())

    def slack(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        """A first look before Bolt's: an unsigned or badly signed request gets 401 with one short log
        line (Bolt would log the whole body, and parse it first — 50 MB of it, if sent); a signed
        body that is not text gets 400, never a 500. Bolt then verifies the signature again."""
        try:
            length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY)
        except ValueError:
            return _plain(start_response, "400 Bad Request", "bad Content-Length")
        body = environ["wsgi.input"].read(length) if length else b""
        headers = {
            "x-slack-request-timestamp": environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP", ""),
            "x-slack-signature": environ.get("HTTP_X_SLACK_SIGNATURE", ""),
        }
        try:
            signed = all(headers.values()) and verifier.is_valid_request(body, headers)
        except (ValueError, UnicodeDecodeError):
            signed = False  # a timestamp that is not a number, a body that is not text
        if not signed:
            log.info("refused a request with a missing, wrong or stale signature (%d bytes)", len(body))
            return _plain(start_response, "401 Unauthorized", "invalid request")
        try:
            text_body = body.decode("utf-8")
            if "json" in environ.get("CONTENT_TYPE", ""):
                jsonsafe.loads(text_body)
            else:
                payload = dict(parse_qsl(text_body, keep_blank_values=True, errors="strict")).get("payload")
                if payload is not None and not isinstance(jsonsafe.loads(payload), dict):
                    raise ValueError("payload is not a JSON object")
        except ValueError:
            return _plain(start_response, "400 Bad Request", "the body is not UTF-8 JSON or form data")
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return slack_handler(environ, start_response)

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/slack/events":
            return slack(environ, start_response)
        return _common(app, ingest, environ, start_response)

    wsgi.ingest = ingest  # type: ignore[attr-defined]
    return wsgi


def _without_slack(app: Followthrough, ingest: Any) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        return _common(app, ingest, environ, start_response)

    wsgi.ingest = ingest  # type: ignore[attr-defined]  # for tests and benches: its group writer's counts
    return wsgi


def _common(app: Followthrough, ingest: Any, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
    """/ingest/<source> (the signed webhook, ``bot.networks.webhook``), /healthz, and 404 for the rest."""
    path = environ.get("PATH_INFO", "")
    if path.startswith("/ingest/"):
        return ingest.wsgi(environ, start_response)
    if path == "/healthz":
        try:
            with app.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            status, body = "200 OK", {"ok": True}
        except Exception as exc:  # health must answer, whatever the database says
            log.warning("health check: database unreachable: %s", type(exc).__name__)
            status, body = "503 Service Unavailable", {"ok": False, "error": "database unreachable"}
        data = json.dumps(body).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))])
        return [data]
    data = b"not found"
    start_response("404 Not Found", [("Content-Type", "text/plain"), ("Content-Length", str(len(data)))])
    return [data]


class PortUnavailable(Exception):
    """The HTTP port cannot be listened on; the message says which and why, in one line."""


def bind(
    app: Followthrough,
    port: int,
    host: str = "0.0.0.0",  # noqa: S104
    threads: int = 16,
    *,
    slack_events: bool = True,
) -> Any:
    """Listen now, in the caller's thread, so a busy or invalid port stops start-up with one line
    (it used to fail in a background thread, leaving a bot that ran with no web server). Returns
    the server; ``server.run()`` serves until ``server.close()``."""
    from waitress.server import create_server

    if not 1 <= port <= 65_535:
        raise PortUnavailable(f"port {port} is not a TCP port (1–65535)")
    try:
        server = create_server(
            make_wsgi_app(app, slack_events=slack_events),
            host=host,
            port=port,
            threads=threads,
            ident="followthrough",
            max_request_body_size=MAX_BODY,
        )
    except OSError as exc:
        raise PortUnavailable(
            f"cannot listen on port {port}: {exc.strerror or exc} (is another process using it?)"
        ) from None
    if slack_events:
        log.info("HTTP mode: listening on %s:%d (Slack at /slack/events)", host, port)
    else:
        log.info("webhook: listening on %s:%d (/ingest/<source>; Slack arrives over Socket Mode)", host, port)
    return server


def serve_in_background(server: Any, name: str = "http") -> threading.Thread:
    """Run a waitress server in a daemon thread until ``server.close()``.

    ``close()`` from another thread closes the sockets under the ``select()`` the loop is waiting
    in, which then raises (EBADF, or a negative file descriptor): that is the loop ending, not an
    error, and it must not print a traceback as the process stops.
    """

    def run() -> None:
        try:
            server.run()
        except (OSError, ValueError) as exc:
            if isinstance(exc, OSError) and exc.errno not in (errno.EBADF, errno.ENOTSOCK):
                raise
            log.debug("%s: server loop ended at close (%s)", name, type(exc).__name__)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread


def stop_server(server: Any, *, drain_seconds: float = 5.0) -> None:
    """Let requests being answered finish (up to ``drain_seconds``), then close the sockets.

    A single waitress server's ``close()`` closes its sockets without waiting for its request
    threads: one still answering then wrote to the closed wake-up pipe and printed a traceback
    at every stop (EBADF) — and Slack got no answer to a click it had already sent.
    """
    dispatcher = getattr(server, "task_dispatcher", None)
    if dispatcher is not None:
        dispatcher.shutdown(timeout=drain_seconds)
    server.close()
