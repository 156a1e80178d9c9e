"""The real ``followthrough run`` in Socket Mode (the default), driven as Slack drives it.

The bot runs as a subprocess with a replay source, against the Web API stand-in and the Socket Mode
stand-in; clicks, forms, commands and events arrive as envelopes over the websocket, and each ack
is timed from the envelope's send to its arrival.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from sqlalchemy import select

from bot.devtools.interactions import block_action, event_callback, slash_command, view_submission
from bot.devtools.socket_standin import Ack, SocketModeStandIn
from bot.store import migrate
from bot.store.engine import make_engine, make_sessionmaker
from bot.store.models import Complaint
from tests.support.slack_api import SlackStandIn

COMPLAINTS, ESCALATION = "C0COMPLAIN", "C0ESCALATE"
TEAM = ("U0ALICE01", "U0BOB0001")


class SocketBot:
    def __init__(self, database_url: str | None = None, *, log_level: str = "INFO") -> None:
        self.tmp = Path(tempfile.mkdtemp(prefix="ft-socket-"))
        self.database_url = database_url or f"sqlite:///{self.tmp / 'ft.db'}"
        engine = make_engine(self.database_url)
        migrate.upgrade(engine)  # PostgreSQL is migrated by the release step, not by `run`
        engine.dispose()
        self.slack = SlackStandIn().start()
        self.socket = SocketModeStandIn().start().attach(self.slack)
        for user in TEAM:
            self.slack.add_user(user, user.lower(), tz="Europe/London", channels=(COMPLAINTS,))
        self.replay = self.tmp / "posts.jsonl"
        self.replay.write_text("")
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
        env.update(
            DATABASE_URL=self.database_url,
            SLACK_API_URL=self.slack.base_url,
            SLACK_BOT_TOKEN=self.slack.state.token,
            SLACK_APP_TOKEN=self.slack.state.app_token,
            SLACK_COMPLAINTS_CHANNEL=COMPLAINTS,
            SLACK_ESCALATION_CHANNEL=ESCALATION,
            SLACK_POST_RATE="50",
            DIGEST_TIME="23:59",
            LOG_LEVEL=log_level,
        )
        self.env = env
        self.log = (self.tmp / "bot.log").open("w")
        self.proc: subprocess.Popen[bytes] | None = None
        self._ids = 0

    def start(self) -> SocketBot:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "--env-file", os.devnull, "run", "--replay", str(self.replay)],
            env=self.env,
            cwd=self.tmp,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        if not self.socket.wait_for_connections(1, 30):
            raise AssertionError(f"the bot never opened a Socket Mode connection:\n{self.output()}")
        return self

    def cpu_seconds(self) -> float:
        """CPU the bot process has used so far (user + system), from /proc."""
        assert self.proc is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def output(self) -> str:
        if not self.log.closed:
            self.log.flush()
        return (self.tmp / "bot.log").read_text(errors="replace")

    def stop(self, timeout: float = 20.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        self.log.close()
        return code

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.socket.stop()
        self.slack.stop()

    # -- the world -------------------------------------------------------------------------------
    def post(self, text: str) -> str:
        self._ids += 1
        pid = str(90_000 + self._ids)
        record = {
            "id": pid,
            "text": text,
            "author_id": pid,
            "author_handle": f"cust{self._ids}",
            "created_at": "2026-03-02T08:00:00Z",
        }
        with self.replay.open("a") as f:
            f.write(json.dumps(record) + "\n")
        return pid

    def complaint_id(self, external_id: str, timeout: float = 20.0) -> int:
        """Wait until the post has its card, and return the complaint's number."""
        engine = make_engine(self.database_url)
        try:
            sessions = make_sessionmaker(engine)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                with sessions() as s:
                    row = s.execute(
                        select(Complaint.id, Complaint.slack_ts).where(Complaint.external_id == external_id)
                    ).first()
                if row is not None and row.slack_ts:
                    return int(row.id)
                self.slack.wait_for(lambda: False, 0.1)  # wakes on the stand-in's next call
            raise AssertionError(f"no card for post {external_id}:\n{self.output()}")
        finally:
            engine.dispose()

    def complaint(self, complaint_id: int) -> Any:
        engine = make_engine(self.database_url)
        try:
            with make_sessionmaker(engine)() as s:
                row = s.get(Complaint, complaint_id)
                s.expunge_all()
                return row
        finally:
            engine.dispose()

    # -- Slack's side ------------------------------------------------------------------------------
    def click(self, user: str, action: str, value: str) -> tuple[str, Ack | None]:
        payload = block_action(user, action, value=value, trigger_id=self.slack.trigger_id())
        envelope = self.socket.send("interactive", payload)
        return envelope, self.socket.ack(envelope)

    def submit(self, user: str, view: dict[str, Any], values: dict[str, Any]) -> Ack | None:
        payload = view_submission(user, view, values, trigger_id=self.slack.trigger_id())
        return self.socket.ack(self.socket.send("interactive", payload, accepts_response_payload=True))

    def command(self, user: str, command: str, text: str) -> Ack | None:
        form = slash_command(user, command, text)
        form["trigger_id"] = self.slack.trigger_id()
        return self.socket.ack(self.socket.send("slash_commands", form, accepts_response_payload=True))

    def event(self, event: dict[str, Any]) -> Ack | None:
        return self.socket.ack(self.socket.send("events_api", event_callback(event)))
