"""HTTP mode: Slack's signed requests at /slack/events, and /healthz for the load balancer.

Served by waitress: a production WSGI server in pure Python (no compiler, runs anywhere Python
does), multi-threaded so a slow request never blocks a 3-second ack. Run several processes behind a
load balancer to scale out; they coordinate only through the database.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt.adapter.wsgi import SlackRequestHandler
from sqlalchemy import text

from bot.app import Followthrough

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]


def make_wsgi_app(app: Followthrough) -> Callable[[dict[str, Any], StartResponse], Iterable[bytes]]:
    assert app.bolt is not None, "HTTP mode needs the Slack listener"
    slack_handler = SlackRequestHandler(app.bolt)

    def wsgi(environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/slack/events":
            return slack_handler(environ, start_response)
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

    return wsgi


def serve(app: Followthrough, port: int, host: str = "0.0.0.0", threads: int = 16) -> None:  # noqa: S104
    from waitress import serve as waitress_serve

    log.info("HTTP mode: listening on %s:%d (Slack at /slack/events)", host, port)
    waitress_serve(make_wsgi_app(app), host=host, port=port, threads=threads, ident="followthrough")
