"""A local stand-in for Slack's Socket Mode: ``apps.connections.open`` hands out a ``ws://127.0.0.1``
URL, and a websocket server there behaves like Slack's.

What it does, as Slack does (api.slack.com/apis/socket-mode): on connect it sends ``hello``; it
sends envelopes (``envelope_id``, ``type`` = ``slash_commands`` / ``interactive`` / ``events_api``,
``payload``, ``accepts_response_payload``) and records each ack (``{"envelope_id": …,
"payload"?: …}``) with when it arrived; it can ask for a reconnect (``{"type": "disconnect",
"reason": "refresh_requested"}``, closing the old connection a little later), close a connection
with a close frame, or drop it without one. Attach it to the Web API stand-in with ``attach``.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

from bot.devtools.slack_api import SlackStandIn

Json = dict[str, Any]


@dataclass
class Ack:
    envelope_id: str
    payload: Json | None
    seconds: float
    """From sending the envelope to receiving its ack."""
    connection: int


@dataclass
class _Sent:
    envelope: Json
    at: float
    connection: int


@dataclass
class SocketState:
    connections: list[ServerConnection] = field(default_factory=list)
    opened: int = 0
    acks: dict[str, Ack] = field(default_factory=dict)
    sent: dict[str, _Sent] = field(default_factory=dict)
    unknown_acks: list[Json] = field(default_factory=list)
    close_codes: list[int | None] = field(default_factory=list)
    """How each connection ended, as the client closed it (1000: a clean close frame)."""


class SocketModeStandIn:
    def __init__(self, *, app_id: str = "A0FOLLOW") -> None:
        self.app_id = app_id
        self.state = SocketState()
        self._server: Server | None = None
        self._lock = threading.Condition()
        self.monotonic = time.monotonic

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> SocketModeStandIn:
        self._server = serve(self._handle, "127.0.0.1", 0, ping_interval=None)
        threading.Thread(target=self._server.serve_forever, name="socket-mode-stand-in", daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()

    def __enter__(self) -> SocketModeStandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def attach(self, slack: SlackStandIn) -> SocketModeStandIn:
        """``apps.connections.open`` on ``slack`` (with the app token) now answers with our URL."""
        slack.socket_url = self.url
        return self

    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.socket.getsockname()[:2]
        return f"ws://{host}:{port}/link/?ticket={uuid.uuid4().hex}&app_id={self.app_id}"

    # -- one connection --------------------------------------------------------------------------
    def _handle(self, connection: ServerConnection) -> None:
        with self._lock:
            self.state.connections.append(connection)
            self.state.opened += 1
            number = self.state.opened
            self._lock.notify_all()
        connection.send(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": len(self.live()),
                    "debug_info": {"host": "stand-in", "approximate_connection_time": 18060},
                    "connection_info": {"app_id": self.app_id},
                }
            )
        )
        try:
            for raw in connection:
                self._on_message(raw, number)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                rcvd = connection.protocol.close_rcvd
                self.state.close_codes.append(rcvd.code if rcvd is not None else None)
                if connection in self.state.connections:
                    self.state.connections.remove(connection)
                self._lock.notify_all()

    def _on_message(self, raw: str | bytes, number: int) -> None:
        try:
            message = json.loads(raw)
        except ValueError:
            return
        envelope_id = message.get("envelope_id") if isinstance(message, dict) else None
        with self._lock:
            sent = self.state.sent.get(str(envelope_id))
            if sent is None:
                self.state.unknown_acks.append(message if isinstance(message, dict) else {"raw": raw})
            else:
                self.state.acks[str(envelope_id)] = Ack(
                    str(envelope_id), message.get("payload"), self.monotonic() - sent.at, number
                )
            self._lock.notify_all()

    # -- what Slack does -----------------------------------------------------------------------
    def live(self) -> list[ServerConnection]:
        with self._lock:
            return list(self.state.connections)

    def wait_for_connections(self, count: int = 1, timeout: float = 10.0) -> bool:
        """Until ``count`` connections have been opened in all (not necessarily still open)."""
        with self._lock:
            return self._lock.wait_for(lambda: self.state.opened >= count, timeout)

    def send(self, kind: str, payload: Json, *, accepts_response_payload: bool = False, retry_attempt: int = 0) -> str:
        """One envelope on the newest open connection; returns its id."""
        envelope_id = str(uuid.uuid4())
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
            "retry_attempt": retry_attempt,
            "retry_reason": "" if not retry_attempt else "timeout",
        }
        with self._lock:
            ok = self._lock.wait_for(lambda: bool(self.state.connections), 10.0)
            if not ok:
                raise AssertionError("no Socket Mode connection to send on")
            connection = self.state.connections[-1]
            self.state.sent[envelope_id] = _Sent(envelope, self.monotonic(), self.state.opened)
        connection.send(json.dumps(envelope))
        return envelope_id

    def ack(self, envelope_id: str, timeout: float = 10.0) -> Ack | None:
        with self._lock:
            self._lock.wait_for(lambda: envelope_id in self.state.acks, timeout)
            return self.state.acks.get(envelope_id)

    def refresh(self, close_after: float = 1.0) -> None:
        """Slack's routine rotation: ask the client to reconnect, then close the old connection."""
        connections = self.live()
        if not connections:
            return
        old = connections[-1]
        old.send(json.dumps({"type": "disconnect", "reason": "refresh_requested", "debug_info": {"host": "x"}}))

        def close_later() -> None:
            time.sleep(close_after)  # the stand-in's own pacing, as Slack's
            with contextlib.suppress(Exception):  # already gone is fine
                old.close()

        threading.Thread(target=close_later, daemon=True).start()

    def drop(self) -> None:
        """The network loses the connection: no close frame, the socket just ends."""
        for connection in self.live():
            connection.socket.close()

    def close_all(self) -> None:
        """Slack closes every connection with a close frame (without waiting for the client's reply)."""
        for connection in self.live():
            threading.Thread(target=connection.close, daemon=True).start()
