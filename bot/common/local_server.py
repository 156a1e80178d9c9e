"""The one HTTP server every stand-in runs on: 127.0.0.1, a free port, a thread, JSON answers.

The Slack, X, Bluesky and Mastodon stand-ins each answer their own API; what starting, stopping and
answering a request looks like is the same for all four, and lives here. A stand-in subclasses
``LocalServer`` and implements ``handle(request, method)``. It lives in the package rather than in
``tests/support`` because ``followthrough demo`` runs the Slack, Bluesky and Mastodon stand-ins too
(the package installed without the tests), and low in it because the networks' stand-ins use it.
"""

from __future__ import annotations

import json
import threading
from abc import ABC, abstractmethod
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class LocalServer(ABC):
    """A threaded HTTP server on 127.0.0.1 and a free port, for a stand-in to answer on."""

    name = "stand-in"
    """The serving thread's name (seen in a stack dump)."""
    protocol = "HTTP/1.0"
    """HTTP/1.1 where the real service's client keeps connections alive (and needs Content-Length)."""
    methods: tuple[str, ...] = ("GET", "POST")

    _server: ThreadingHTTPServer | None = None

    def start(self) -> Self:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = stand_in.protocol

            def log_message(self, format: str, *args: Any) -> None:
                return

        for method in self.methods:
            setattr(Handler, f"do_{method}", lambda request, method=method: stand_in.handle(request, method))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name=self.name, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def origin(self) -> str:
        """``http://127.0.0.1:PORT``, where the stand-in answers."""
        assert self._server is not None, "start the stand-in first"
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @abstractmethod
    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        """Answer one request: each stand-in answers its own API."""

    @staticmethod
    def reply_json(
        request: BaseHTTPRequestHandler, status: int, body: Any, headers: dict[str, str] | None = None
    ) -> None:
        """Answer with ``body`` as JSON, its length stated (HTTP/1.1 clients wait for it otherwise). A
        client that hung up (a test's injected timeout) gets nothing, and nothing is raised."""
        data = json.dumps(body).encode()
        try:
            request.send_response(status)
            request.send_header("Content-Type", "application/json; charset=utf-8")
            request.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                request.send_header(name, value)
            request.end_headers()
            request.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            return
