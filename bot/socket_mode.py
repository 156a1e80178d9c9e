"""Socket Mode: Slack's requests over a websocket the bot opens, so no public URL is needed.

The client is slack_sdk's ``websocket_client`` adapter, chosen by measurement against the local
stand-in (``python bench/socket_mode.py``): slack_sdk's built-in client — what Bolt's default
``SocketModeHandler`` uses — acked the first envelope after a routine ``disconnect`` (Slack rotates
connections every few hours) only after about 3 s, past Slack's deadline, and noticed a connection
closed without a close frame only after about a minute while spinning a core. The adapter
reconnects at once in both cases (see the README's figures).

``connect`` returns only once Slack's ``hello`` has arrived, so "connected" is never logged early;
what can go wrong on the way (a revoked app token, Slack unreachable) is one ``SocketModeFailed``
with a sentence an operator can act on. ``close`` ends the connection with a close frame.
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode.websocket_client import SocketModeHandler
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)

PING_SECONDS = 5.0
"""How often the client pings: a connection that stops answering is replaced within about this."""


class SocketModeFailed(Exception):
    """Socket Mode could not be started; the message says why and what to do."""


class SocketMode:
    def __init__(self, bolt: App, app_token: str, *, ping_seconds: float = PING_SECONDS) -> None:
        self.handler = SocketModeHandler(bolt, app_token, ping_interval=ping_seconds)
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
