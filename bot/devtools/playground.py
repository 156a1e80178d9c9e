"""``followthrough playground``: the real bot, in a browser, before anyone installs anything.

The bot is assembled exactly as ``run --http`` assembles it (``create_app``, the worker's tasks, the
WSGI app Slack posts to), against the local Slack stand-in and a database of its own. A second
small web app, on 127.0.0.1 only, shows what Slack would — the channels and their threads, each
teammate's DMs and App Home, the modals they open — and turns a click in the page into exactly what
Slack sends: a signed ``block_actions`` or ``view_submission`` payload with a trigger id the
stand-in issued, or a signed slash command. Customers' posts enter through the inbox as any
source's do, and a "skip ahead" control moves the bot's clock so the nag ladder can be watched in
minutes rather than hours.

Nothing here is a shortcut into the bot: if a click works in the playground, it works in Slack.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from waitress.server import create_server

from bot import networks
from bot.app import Followthrough, create_app
from bot.common.clock import SkippableClock
from bot.common.tasks import Worker
from bot.config import Secret, Settings, parse_quiet_hours
from bot.devtools.interactions import block_action, event_callback, post_signed, slash_command, view_submission
from bot.devtools.slack_api import SlackStandIn
from bot.devtools.walkthrough import OUTAGE
from bot.intake.inbox import Inbox, RawPost
from bot.runtime import build_tasks
from bot.store import migrate
from bot.store.enums import PromiseStatus
from bot.store.models import Promise
from bot.web import make_wsgi_app, serve_in_background, stop_server

log = logging.getLogger(__name__)

PAGE = Path(__file__).with_name("playground.html")
SECRET = "playground-signing-secret"
COMPLAINTS, ESCALATION, KUDOS, REPORTS = "C0COMPLAIN", "C0ESCALATE", "C0KUDOS00", "C0REPORTS"
CHANNELS = {COMPLAINTS: "complaints", ESCALATION: "escalations", KUDOS: "kudos", REPORTS: "support-leads"}
TEAMMATES = (
    ("U0ALICE01", "Alice Moreau", "Europe/London"),
    ("U0BOB0001", "Bob Tanaka", "America/New_York"),
    ("U0CHEN001", "Chen Li", "Asia/Singapore"),
)
TIER_GROUP = ("S0TIER002", "tier-2-oncall")
NETWORKS = ("x", "bluesky", "mastodon")
MENTION = {"x": "@AcmeHelp", "bluesky": "@acmehelp.bsky.social", "mastodon": "@acmehelp"}
"""How a customer names the brand on each network, for the sample storm's posts."""
MAX_BODY = 64 * 1024
CSP = "default-src 'self'; script-src 'unsafe-inline' 'self'; style-src 'unsafe-inline'; img-src 'self' data:"
"""The page loads nothing from anywhere else: it works offline, and no post's link is fetched."""


@dataclass
class Seen:
    """What the page shows besides the stand-in's channels: each teammate's open modal and the
    answers only they see (ephemeral messages, slash command replies)."""

    modals: dict[str, dict[str, Any]] = field(default_factory=dict)
    private: dict[str, list[dict[str, Any]]] = field(default_factory=dict)


class Playground:
    """The bot, the Slack stand-in and the page, started together; ``stop()`` ends all three."""

    def __init__(self, database_url: str | None = None, *, port: int = 0, host: str = "127.0.0.1") -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="followthrough-playground-")
        self.database_url = database_url or f"sqlite:///{Path(self._tmp.name) / 'playground.db'}"
        self.clock = SkippableClock()
        self.slack = SlackStandIn()
        self.slack.wall = lambda: self.clock.now().timestamp()
        self.seen = Seen()
        self._trigger_users: dict[str, str] = {}
        """Whose request each trigger id went with (the views it opens are theirs)."""
        self._view_users: dict[str, str] = {}
        self._views_read = 0
        self._lock = threading.RLock()
        self._host, self._port = host, port
        self._servers: list[Any] = []
        self.app: Followthrough | None = None
        self.worker: Worker | None = None
        self.bot_url = ""
        self.url = ""

    # -- start and stop ------------------------------------------------------------------------
    def settings(self) -> Settings:
        return Settings(
            slack_bot_token=Secret(self.slack.state.token),
            slack_signing_secret=Secret(SECRET),
            slack_api_url=self.slack.base_url,
            slack_complaints_channel=COMPLAINTS,
            slack_escalation_channel=ESCALATION,
            slack_kudos_channel=KUDOS,
            slack_report_channel=REPORTS,
            networks=networks.demo_settings(),
            escalation_tiers=(("Tier 2 on-call", TIER_GROUP[0]), ("Comms lead", None)),
            database_url=self.database_url,
            team_timezone="Europe/London",
            scheduler_tick_seconds=1,  # so a skip ahead shows its nags at once
            nag_quiet_hours=parse_quiet_hours("off"),  # nags at any hour: it is a playground
        )

    def start(self) -> str:
        self.slack.start()
        for user, name, tz in TEAMMATES:
            self.slack.add_user(user, name, tz=tz, channels=(COMPLAINTS,))
        self.slack.add_usergroup(TIER_GROUP[0], [TEAMMATES[1][0]])
        settings = self.settings()
        app = create_app(settings, clock=self.clock)
        migrate.upgrade(app.engine)
        self.app = app
        bot = create_server(make_wsgi_app(app), host="127.0.0.1", port=0, threads=8, ident="followthrough")
        self.bot_url = f"http://127.0.0.1:{bot.effective_port}/slack/events"  # type: ignore[union-attr]
        page = create_server(
            self.wsgi, host=self._host, port=self._port, threads=4, ident="playground", max_request_body_size=MAX_BODY
        )
        self.url = f"http://{self._host}:{page.effective_port}/"  # type: ignore[union-attr]
        for server in (bot, page):
            self._servers.append(server)
            serve_in_background(server, "playground-http")
        self.worker = Worker(build_tasks(app))
        self.worker.start()
        return self.url

    def stop(self) -> None:
        """Safe after a start that was interrupted half-way: only what was started is stopped."""
        if self.worker is not None:
            self.worker.shutdown()
        for server in self._servers:
            stop_server(server)
        with contextlib.suppress(Exception):  # the stand-in may never have started
            self.slack.stop()
        if self.app is not None:
            self.app.close()
        self._tmp.cleanup()

    # -- what Slack would show -----------------------------------------------------------------
    def dm_of(self, user: str) -> str:
        return "D" + user[1:]  # the stand-in's conversations.open

    def state(self, viewer: str) -> dict[str, Any]:
        self._collect_views()
        with self.slack._lock, self._lock:
            messages = {channel: [dict(m) for m in self.slack.state.messages.get(channel, [])] for channel in CHANNELS}
            dm = [dict(m) for m in self.slack.state.messages.get(self.dm_of(viewer), [])]
            home = self.slack.state.home_views.get(viewer)
            modal = self.seen.modals.get(viewer)
            private = list(self.seen.private.get(viewer, []))
            private += [
                {"text": e.get("text", ""), "blocks": e.get("blocks") or [], "ts": "0"}
                for e in self.slack.state.ephemerals
                if e.get("user") == viewer
            ]
            private += [r for r in self.slack.responses if r.get("key") == _key(viewer)]
        now = self.clock.now()
        return {
            "viewer": viewer,
            "now": now.isoformat(),
            "now_ts": now.timestamp(),
            "skipped_s": round((now - datetime.now(UTC)).total_seconds()),
            "teammates": [{"id": u, "name": n, "tz": tz} for u, n, tz in TEAMMATES],
            "names": {**{u: n for u, n, _ in TEAMMATES}, TIER_GROUP[0]: TIER_GROUP[1], "UBOT0001": "Followthrough"},
            "channels": [{"id": c, "name": n, "messages": messages[c]} for c, n in CHANNELS.items()],
            "dm": dm,
            "home": home,
            "modal": modal,
            "private": [_plain(p) for p in private][-20:],
            "next_nag": self.next_nag(),
        }

    def next_nag(self) -> str | None:
        assert self.app is not None
        with self.app.sessions() as session:
            due = session.scalar(
                select(func.min(Promise.next_nag_at)).where(
                    Promise.status == PromiseStatus.OPEN.value, Promise.next_nag_at.is_not(None)
                )
            )
        return due.isoformat() if due is not None else None

    # -- what a teammate does, sent as Slack sends it ---------------------------------------------
    def _trigger(self, user: str) -> str:
        """A trigger id for ``user``'s request: a view the bot opens with it is that user's modal."""
        trigger = self.slack.trigger_id()
        with self._lock:
            self._trigger_users[trigger] = user
            while len(self._trigger_users) > 1000:  # most requests open nothing; their triggers expire
                del self._trigger_users[next(iter(self._trigger_users))]
        return trigger

    def _collect_views(self) -> None:
        """The views the bot opened or updated since last looked, each shown to the teammate whose
        request opened it. Looked for whenever the page reads, not only when a request returns: Bolt
        acknowledges a click before its handler opens the form, so a form can arrive after the answer
        (one click in about thirty showed no form when only the views present then were looked at)."""
        with self.slack._lock, self._lock:
            views = self.slack.state.views
            for view in views[self._views_read :]:
                view_id = str(view.get("id"))
                if view_id not in self._view_users:  # views.open
                    user = self._trigger_users.pop(self.slack.state.view_triggers.get(view_id, ""), None)
                    if user is not None:
                        self._view_users[view_id] = user
                        self.seen.modals[user] = dict(view)
                else:  # views.update: only the modal still open, as Slack updates only an open view
                    user = self._view_users[view_id]
                    if (self.seen.modals.get(user) or {}).get("id") == view_id:
                        self.seen.modals[user] = dict(view)
            self._views_read = len(views)

    def click(self, user: str, action: dict[str, Any]) -> dict[str, Any]:
        payload = block_action(
            user,
            str(action.get("action_id")),
            value=action.get("value"),
            block_id=action.get("block_id"),
            selected_user=action.get("selected_user"),
            channel=str(action.get("channel") or COMPLAINTS),
            trigger_id=self._trigger(user),
            response_url=self.slack.response_url(_key(user)),
        )
        if action.get("selected_option") is not None:
            payload["actions"][0].update(type="static_select", selected_option=action["selected_option"])
        if action.get("view_id"):  # a button inside a modal
            self._collect_views()
            payload["container"] = {"type": "view", "view_id": action["view_id"]}
            payload["view"] = self.seen.modals.get(user, {})
        status, body, _ = post_signed(self.bot_url, payload, SECRET)
        self._collect_views()
        return {"status": status, "answer": _json(body)}

    def submit(self, user: str, values: dict[str, Any]) -> dict[str, Any]:
        self._collect_views()
        with self._lock:
            view = self.seen.modals.get(user)
        if view is None:
            return {"status": 409, "answer": {"error": "no form is open"}}
        status, body, _ = post_signed(
            self.bot_url, view_submission(user, view, values, trigger_id=self._trigger(user)), SECRET
        )
        answer = _json(body)
        with self._lock:
            if status == 200 and answer.get("response_action") == "update":
                self.seen.modals[user] = {**answer["view"], "id": view.get("id")}
            elif status == 200 and answer.get("response_action") == "errors":
                self.seen.modals[user] = {**view, "errors": answer.get("errors") or {}}
            elif status == 200:
                self.seen.modals.pop(user, None)
        self._collect_views()
        return {"status": status, "answer": answer}

    def open_home(self, user: str) -> dict[str, Any]:
        """The teammate opened the app's Home tab: Slack sends ``app_home_opened``, the bot publishes."""
        event = {
            "type": "app_home_opened",
            "user": user,
            "channel": self.dm_of(user),
            "tab": "home",
            "event_ts": f"{self.clock.now().timestamp():.6f}",
        }
        status, body, _ = post_signed(self.bot_url, None, SECRET, json_body=event_callback(event))
        return {"status": status, "answer": _json(body)}

    def close_modal(self, user: str) -> None:
        with self._lock:
            self.seen.modals.pop(user, None)

    def command(self, user: str, line: str) -> dict[str, Any]:
        command, _, text = line.strip().partition(" ")
        if command not in ("/complaints", "/promise"):
            return {"status": 400, "answer": {"error": "try /complaints help or /promise …"}}
        form = slash_command(user, command, text.strip(), response_url=self.slack.response_url(_key(user)))
        form["trigger_id"] = self._trigger(user)
        status, body, _ = post_signed(self.bot_url, None, SECRET, form=form)
        answer = _json(body)
        if status == 200 and (answer.get("text") or answer.get("blocks")):
            with self._lock:
                self.seen.private.setdefault(user, []).append({**answer, "ts": str(self.clock.now().timestamp())})
        self._collect_views()
        return {"status": status, "answer": answer}

    def post(self, network: str, handle: str, text: str) -> dict[str, Any]:
        """A customer's post on ``network``, entering the inbox as that network's source writes it."""
        network = network if network in NETWORKS else "x"
        handle = handle.strip().lstrip("@")[:64] or "customer"
        text = text.strip()[:2000]
        if not text:
            return {"status": 400, "answer": {"error": "write the post first"}}
        self._write([(network, handle, text)])
        return {"status": 200, "answer": {}}

    def storm(self) -> dict[str, Any]:
        """The demo's login outage (``walkthrough.OUTAGE``): eighteen customers, each in their own
        words, most on X and some on Bluesky and Mastodon — more distinct customers on one topic than
        ``INCIDENT_MIN_AUTHORS``, so the bot makes it one incident card and gives them none of their
        own. Pressed again, the same customers write again: they join the open incident."""
        posts = []
        for n, (handle, text) in enumerate(OUTAGE):
            network = storm_network(n)
            posts.append(
                (network, f"{handle}.bsky.social" if network == "bluesky" else handle, f"{MENTION[network]} {text}")
            )
        self._write(posts)
        return {"status": 200, "answer": {"posts": len(posts)}}

    def _write(self, posts: Iterable[tuple[str, str, str]]) -> None:
        assert self.app is not None
        now = self.clock.now()
        raw = []
        for network, handle, text in posts:
            post_id = uuid.uuid4().hex[:12]
            raw.append(
                RawPost(
                    f"playground {post_id}",
                    {
                        "id": post_id,
                        "text": text,
                        "author_id": f"pg-{handle.lower()}",
                        "author_handle": handle,
                        "followers": 250,
                        "created_at": now.isoformat(),
                        "source": network,
                    },
                )
            )
        Inbox(self.app.sessions, self.clock).write("playground", raw, cursor=None)

    def skip(self, what: str) -> dict[str, Any]:
        now = self.clock.now()
        if what == "nag":
            due = self.next_nag()
            if due is None:
                return {"status": 409, "answer": {"error": "no promise is waiting for a reminder"}}
            delta = datetime.fromisoformat(due) - now + timedelta(seconds=1)
        elif what == "tomorrow":
            tz = ZoneInfo(self.settings().team_timezone)
            local = now.astimezone(tz)
            target = datetime.combine(local.date() + timedelta(days=1), time(9, 0), tz)
            delta = target - now
        else:
            delta = timedelta(hours=1)
        self.clock.skip(max(delta, timedelta(0)))
        return {"status": 200, "answer": {"now": self.clock.now().isoformat()}}

    # -- the page's own web app ------------------------------------------------------------------
    def wsgi(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        path, method = environ.get("PATH_INFO", "/"), environ.get("REQUEST_METHOD", "GET")
        if (why := self._foreign(environ, method)) is not None:
            return _answer(start_response, "403 Forbidden", why.encode(), "text/plain")
        try:
            if method == "GET" and path == "/":
                return _answer(start_response, "200 OK", PAGE.read_bytes(), "text/html; charset=utf-8")
            if method == "GET" and path == "/api/state":
                viewer = _query(environ).get("viewer") or TEAMMATES[0][0]
                return _json_answer(start_response, self.state(viewer))
            if method == "POST" and path.startswith("/api/"):
                length = min(int(environ.get("CONTENT_LENGTH") or 0), MAX_BODY)
                body = json.loads(environ["wsgi.input"].read(length) or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("the body must be a JSON object")
                return _json_answer(start_response, self._act(path[5:], body))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            return _json_answer(start_response, {"status": 400, "answer": {"error": str(exc)[:200]}}, "400 Bad Request")
        return _answer(start_response, "404 Not Found", b"not found", "text/plain")

    def _foreign(self, environ: dict[str, Any], method: str) -> str | None:
        """Why a request did not come from the page itself, or None. The page drives a bot that
        posts and clicks: another site open in the same browser must not (a cross-site POST, or DNS
        rebinding a name of its own to 127.0.0.1)."""
        host = environ.get("HTTP_HOST", "")
        port = self.url.rsplit(":", 1)[-1].rstrip("/")
        if host not in (f"127.0.0.1:{port}", f"localhost:{port}"):
            return f"this page answers only to 127.0.0.1:{port}"
        if method == "POST":
            origin = environ.get("HTTP_ORIGIN")
            if origin is not None and origin not in (f"http://127.0.0.1:{port}", f"http://localhost:{port}"):
                return "a request from another site"
            if not environ.get("CONTENT_TYPE", "").startswith("application/json"):
                return "the page sends JSON"  # a form or text/plain POST can come from any site
        return None

    def _act(self, what: str, body: dict[str, Any]) -> dict[str, Any]:
        user = str(body.get("user") or TEAMMATES[0][0])
        if user not in {u for u, _, _ in TEAMMATES}:
            raise ValueError("unknown teammate")
        if what == "click":
            return self.click(user, _object(body.get("action")))
        if what == "submit":
            return self.submit(user, _object(body.get("values")))
        if what == "home":
            return self.open_home(user)
        if what == "close":
            self.close_modal(user)
            return {"status": 200, "answer": {}}
        if what == "command":
            return self.command(user, str(body.get("line") or ""))
        if what == "post":
            return self.post(str(body.get("network")), str(body.get("handle") or ""), str(body.get("text") or ""))
        if what == "storm":
            return self.storm()
        if what == "skip":
            return self.skip(str(body.get("what") or "1h"))
        raise ValueError(f"unknown action {what!r}")


def storm_network(n: int) -> str:
    """The network of the sample storm's ``n``-th post: an outage is told on every network at once."""
    return "bluesky" if n % 6 == 2 else "mastodon" if n % 6 == 5 else "x"


def _object(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("expected a JSON object")
    return value


def _key(user: str) -> str:
    return f"pg-{user}"


def _json(body: bytes) -> dict[str, Any]:
    try:
        answer = json.loads(body or b"{}")
    except ValueError:
        return {"text": body.decode(errors="replace")[:500]}
    return answer if isinstance(answer, dict) else {}


def _plain(message: dict[str, Any]) -> dict[str, Any]:
    return {"text": message.get("text", ""), "blocks": message.get("blocks") or [], "ts": message.get("ts", "0")}


def _query(environ: dict[str, Any]) -> dict[str, str]:
    from urllib.parse import parse_qs

    return {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", "")).items()}


def _answer(start_response: Callable[..., Any], status: str, body: bytes, content_type: str) -> list[bytes]:
    start_response(
        status,
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            # The page loads nothing from anywhere else (it works offline, and nothing leaks).
            ("Content-Security-Policy", CSP),
        ],
    )
    return [body]


def _json_answer(start_response: Callable[..., Any], data: Any, status: str = "200 OK") -> list[bytes]:
    return _answer(start_response, status, json.dumps(data, default=str).encode(), "application/json")


def run_playground(database_url: str | None = None, *, port: int = 8765, stop: threading.Event | None = None) -> int:
    """``followthrough playground``: start, print where to look, and clean up (the temporary
    database included) on Ctrl-C or SIGTERM."""
    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())  # a clean stop: the temporary database goes too
    playground = Playground(database_url, port=port)
    try:
        with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how a person ends it, even while starting
            url = playground.start()
            print(f"Followthrough playground: open {url} (127.0.0.1 only; Ctrl-C to stop)", flush=True)
            print(f"  the bot: {playground.bot_url} · database: {playground.database_url}", flush=True)
            stop.wait()
    finally:
        playground.stop()
    return 0
