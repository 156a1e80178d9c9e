"""A running bot in HTTP mode, driven the way Slack drives it: signed requests over real HTTP.

The app is built by ``create_app`` with a local Slack stand-in as SLACK_API_URL, a real database
and an injected clock; waitress serves it on 127.0.0.1. ``click`` and ``submit`` send what Slack
sends for a button click and a modal submission, signed with the signing secret.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from waitress.server import create_server

from bot.app import Followthrough, create_app
from bot.common.clock import FakeClock
from bot.config import Secret, Settings
from bot.devtools.interactions import block_action, event_callback, post_signed, slash_command, view_submission
from bot.devtools.slack_api import refusal
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.posts import Post
from bot.jobs.scheduler import Scheduler
from bot.runtime import build_deliverer
from bot.slack.people import People
from bot.store import migrate
from bot.store.models import Complaint
from bot.triage.classify import Triage
from bot.web import MAX_BODY, make_wsgi_app, serve_in_background
from tests.support.slack_api import SlackStandIn

SECRET = "test-signing-secret"
COMPLAINTS = "C0COMPLAIN"
ESCALATION = "C0ESCALATE"
TEAM = ("U0ALICE01", "U0BOB0001", "U0CAROL01")
OUTSIDER = "U0OUTSIDE"


class Desk:
    def __init__(
        self,
        database_url: str,
        *,
        usergroup: str | None = None,
        threads: int = 24,
        kudos: str | None = None,
        **settings: Any,
    ) -> None:
        self.slack = SlackStandIn().start()
        self.clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
        self.slack.wall = lambda: self.clock.now().timestamp()
        for user in TEAM:
            self.slack.add_user(user, user.lower(), tz="Europe/London", channels=(COMPLAINTS,))
        self.slack.add_user(OUTSIDER, "outsider", channels=("C0ELSEWHERE",))
        self.settings = Settings(
            slack_bot_token=Secret(self.slack.state.token),
            slack_signing_secret=Secret(SECRET),
            slack_api_url=self.slack.base_url,
            slack_complaints_channel=COMPLAINTS,
            slack_escalation_channel=ESCALATION,
            slack_support_usergroup=usergroup,
            slack_kudos_channel=kudos,
            escalation_tiers=(("Tier 2", "S0TIER002"), ("Comms lead", "U0COMMS01")),
            database_url=database_url,
            **settings,
        )
        self.app: Followthrough = create_app(self.settings, clock=self.clock)
        migrate.upgrade(self.app.engine)
        # Rate limiting is tested on the delivery worker itself; here cards should appear at once.
        self.poster = build_deliverer(self.app, unpaced=True)
        self.threads = threads
        self.ingestor = Ingestor(Triage(), IngestPolicy(COMPLAINTS, kudos))
        self.server = create_server(
            make_wsgi_app(self.app), host="127.0.0.1", port=0, threads=threads, max_request_body_size=MAX_BODY
        )
        self.port = self.server.effective_port  # type: ignore[union-attr]
        self.thread = serve_in_background(self.server, "desk-http")
        self._ids = itertools.count(1)

    def close(self) -> None:
        refused, self.slack.refused[:] = list(self.slack.refused), []
        if self.app.access is not None:
            self.app.access.stop()
        self.server.close()
        self.server.task_dispatcher.shutdown(timeout=5)  # type: ignore[union-attr]
        self.slack.stop()
        self.app.engine.dispose()
        # Every ack body and response_url body went through Slack's rules: one it would refuse is a bug.
        assert not refused, f"Slack would refuse these answers: {refused}"

    # -- the world ---------------------------------------------------------------------------------
    def complaint(
        self, text: str = "@AcmeHelp still waiting for my refund", *, post_card: bool = True, **kw: Any
    ) -> int:
        n = next(self._ids)
        post = Post(
            source="x",
            id=str(1000 + n),
            text=text,
            author_id=str(n),
            author_handle=f"cust{n}",
            author_name=kw.pop("author_name", f"Customer {n}"),
            created_at=kw.pop("posted_at", None) or self.clock.now(),
            **kw,
        )
        [result] = self.ingestor.ingest_batch(self.app.sessions, [post], at=self.clock.now())
        if post_card:
            self.deliver()
        assert result.complaint_id is not None
        return result.complaint_id

    def deliver(self) -> None:
        self.poster.drain()

    def get(self, complaint_id: int) -> Complaint:
        with self.app.sessions() as s:
            row = s.execute(select(Complaint).where(Complaint.id == complaint_id)).scalar_one()
            s.expunge(row)
            return row

    def card(self, complaint_id: int) -> dict[str, Any]:
        ts = self.get(complaint_id).slack_ts
        [message] = [m for m in self.slack.channel_messages(COMPLAINTS) if m["ts"] == ts]
        return message

    def thread_of(self, complaint_id: int) -> list[dict[str, Any]]:
        return self.slack.thread(COMPLAINTS, self.get(complaint_id).slack_ts or "")

    # -- Slack's side --------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def send(self, payload: dict[str, Any], **kwargs: Any) -> tuple[int, bytes, float]:
        return self._checked(post_signed(self.url, payload, kwargs.pop("secret", SECRET), **kwargs))

    def _checked(self, answer: tuple[int, bytes, float]) -> tuple[int, bytes, float]:
        """An ack's body is a message or a view Slack reads like any other: held to the same rules."""
        status, raw, _ = answer
        if status == 200 and raw[:1] == b"{":
            body = json.loads(raw)
            if isinstance(body.get("view"), dict):
                problem = refusal(body["view"], view=True)
            elif "text" in body or "blocks" in body:
                problem = refusal(body)
            else:
                problem = None
            if problem:
                self.slack.refused.append({"ack": body, "answer": problem})
        return answer

    def click(
        self,
        user: str,
        action_id: str,
        value: str | None = None,
        *,
        selected_user: str | None = None,
        block_id: str | None = None,
        key: str = "r",
        **send_kw: Any,
    ) -> tuple[int, bytes, float]:
        payload = block_action(
            user,
            action_id,
            value=value,
            block_id=block_id,
            selected_user=selected_user,
            trigger_id=self.slack.trigger_id(),
            response_url=self.slack.response_url(key),
        )
        return self.send(payload, **send_kw)

    def command(self, user: str, command: str, text: str, **send_kw: Any) -> tuple[int, bytes, float]:
        form = slash_command(user, command, text, response_url=self.slack.response_url("cmd"))
        form["trigger_id"] = self.slack.trigger_id()
        return self._checked(post_signed(self.url, None, send_kw.pop("secret", SECRET), form=form, **send_kw))

    def event(self, event: dict[str, Any]) -> tuple[int, bytes, float]:
        return post_signed(self.url, None, SECRET, json_body=event_callback(event))

    def scheduler(self) -> Scheduler:
        people = People(self.app.sessions, self.app.slack, self.clock, self.settings.team_timezone)
        return Scheduler(self.app.sessions, self.settings, self.clock, people.tz)

    def submit(self, user: str, view: dict[str, Any], values: dict[str, Any]) -> tuple[int, bytes, float]:
        return self.send(view_submission(user, view, values, trigger_id=self.slack.trigger_id()))

    def responses(self, key: str = "r", *, count: int = 1, timeout: float = 10.0) -> list[dict[str, Any]]:
        """Ephemeral answers sent to a response_url; they follow the ack, so wait for them (bounded)."""
        self.slack.wait_for(lambda: len([r for r in self.slack.responses if r["key"] == key]) >= count, timeout)
        return [r for r in self.slack.responses if r["key"] == key]

    def opened_view(self, count: int = 1, timeout: float = 10.0) -> dict[str, Any]:
        if not self.slack.wait_for(lambda: len(self.slack.state.views) >= count, timeout):
            raise AssertionError("no modal was opened")
        return self.slack.state.views[count - 1]
