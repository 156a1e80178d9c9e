"""Socket Mode: Slack's requests over a websocket the bot opens, so no public URL is needed.

The client is slack_sdk's ``websocket_client`` adapter, chosen by measurement against the local
stand-in (``python bench/socket_mode.py``): slack_sdk's built-in client — what Bolt's default
``SocketModeHandler`` uses — acked the first envelope after a routine ``disconnect`` (Slack rotates
connections every few hours) only after about 3 s, past Slack's deadline, and noticed a connection
closed without a close frame only after about a minute while spinning a core. The adapter
reconnects at once in both cases (see the README's figures).

The adapter itself races when a connection is replaced (measured under CPU load: its monitor saw the new,
not-yet-open session as dead and opened a second one; the old session's close callback opened a third;
a replaced session's close handshake held up the next one for 10 s). ``_SteadyClient`` keeps the
adapter's wire code and replaces only the bookkeeping: each session runs once, on a thread of its own;
only the current session's end opens a new one, at once; a ping unanswered for half the ping interval
ends a connection; the monitor is a backstop that leaves a session alone while it is still opening.

``connect`` returns only once Slack's ``hello`` has arrived, so "connected" is never logged early;
what can go wrong on the way (a revoked app token, Slack unreachable) is one ``SocketModeFailed``
with a sentence an operator can act on. ``close`` ends the connection with a close frame.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode.websocket_client import SocketModeHandler
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.websocket_client import SocketModeClient
from websocket import WebSocketApp

log = logging.getLogger(__name__)

PING_SECONDS = 5.0
"""How often the client pings: a connection that stops answering is replaced within about this."""


OPENING_GRACE_SECONDS = 10.0
"""How long a new session may take to open before the monitor gives up on it and opens another."""


class _SteadyClient(SocketModeClient):
    """The adapter's client with one owner for "which session is live" (see the module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # set before the base starts its runner thread, which calls _run_current_session at once
        self._closing = threading.Event()
        self._opening_since: float | None = None
        self._retry = False
        self.closed = False
        super().__init__(*args, **kwargs)

    def connect(self) -> None:
        """The adapter's connect, then the new session runs on a thread of its own.

        A thread per session means a replaced session winding down (its close handshake can take
        seconds) never delays the new one.
        """
        super().connect()
        session = self.current_session
        assert session is not None
        adapter_on_open = session.on_open

        def on_open(ws: WebSocketApp) -> None:
            if ws is self.current_session:
                self._opening_since = None
            adapter_on_open(ws)

        def on_close(ws: WebSocketApp, *_args: Any) -> None:
            for listener in self.on_close_listeners:
                listener(ws)

        session.on_open = on_open
        session.on_close = on_close
        self._opening_since = time.monotonic()
        self._retry = False
        threading.Thread(target=self._run, args=(session,), name="socket-mode-session", daemon=True).start()

    def _run(self, session: WebSocketApp) -> None:
        try:
            self.logger.info("Starting to receive messages from a new connection")
            session.run_forever(
                ping_interval=self.ping_interval,
                ping_timeout=self.ping_interval / 2,  # no pong in time: the connection is dead
                http_proxy_host=self.http_proxy_host,
                http_proxy_port=self.http_proxy_port,
                http_proxy_auth=self.http_proxy_auth,
                proxy_type=self.proxy_type,
            )
        except Exception as exc:
            self.logger.warning("Socket Mode connection failed: %s", exc)
        if session is self.current_session and self.auto_reconnect_enabled and not self.closed:
            self._reconnect("the connection ended")

    def _run_current_session(self) -> None:
        """Sessions run on their own threads (see connect); the base's runner just waits for close."""
        self._closing.wait()

    def close(self) -> None:
        self.closed = True
        self._closing.set()
        super().close()

    def _monitor_current_session(self) -> None:
        """Backstop: a failed reconnect, a session that never opened, or none at all, is replaced."""
        if not self.current_app_monitor_started or not self.auto_reconnect_enabled or self.closed:
            return
        opening = self._opening_since
        stuck = opening is not None and time.monotonic() - opening > OPENING_GRACE_SECONDS
        if self.current_session is None or stuck or self._retry:
            self._reconnect("the connection did not open" if stuck else "no connection")

    def _reconnect(self, why: str) -> None:
        try:
            self.logger.info("Socket Mode: %s; opening a new connection", why)
            self.connect_to_new_endpoint(force=True)
        except Exception as exc:
            self.logger.warning("Socket Mode: could not open a new connection (%s); retrying", exc)
            self._retry = True


class _Handler(SocketModeHandler):
    """Bolt's websocket_client handler on the steadier client."""

    def __init__(self, app: App, app_token: str, *, ping_interval: float) -> None:
        self.app = app
        self.app_token = app_token
        self.client = _SteadyClient(
            app_token=app_token, logger=app.logger, web_client=app.client, ping_interval=ping_interval
        )
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]


class SocketModeFailed(Exception):
    """Socket Mode could not be started; the message says why and what to do."""


class SocketMode:
    def __init__(self, bolt: App, app_token: str, *, ping_seconds: float = PING_SECONDS) -> None:
        self.handler = _Handler(bolt, app_token, ping_interval=ping_seconds)
        self._hello = threading.Event()
        self.handler.client.on_message_listeners.append(self._on_message)

    def _on_message(self, _ws: Any, message: str) -> None:
        try:
            if json.loads(message).get("type") == "hello":
                self._hello.set()
        except (ValueError, AttributeError):
            return

    def connect(self, timeout: float = 15.0) -> None:
        try:
            self.handler.connect()
        except SlackApiError as exc:
            error = exc.response.get("error", "unknown error")
            raise SocketModeFailed(
                f"Slack refused the app-level token (apps.connections.open: {error}): check SLACK_APP_TOKEN "
                "(an xapp- token with the connections:write scope, from Basic Information → App-Level Tokens)"
            ) from None
        except OSError as exc:
            raise SocketModeFailed(f"cannot reach Slack to open a Socket Mode connection ({exc})") from None
        if not self._hello.wait(timeout):
            self.close()
            raise SocketModeFailed(f"Slack did not answer the Socket Mode connection within {timeout:.0f} s")
        log.info("Socket Mode: connected")

    @property
    def connections(self) -> Any:
        return self.handler.client

    def close(self) -> None:
        """A clean close frame, then the client's threads stop."""
        self.handler.client.close()
