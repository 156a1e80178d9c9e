"""A local HTTP server that behaves like the parts of Slack's Web API the bot uses.

It keeps channels and messages in memory and records every call, so tests and the demo exercise the
real slack_sdk client over a real socket. Point ``SLACK_API_URL`` at ``server.base_url``. The tests'
subclass (``tests/support/slack_api.py``) adds per-channel rate limits and injected faults.
"""

from __future__ import annotations

import contextlib
import json
import random
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs

from bot.common.local_server import LocalServer
from bot.slack.manifest import MANIFEST_SCOPES as _MANIFEST_SCOPES

Json = dict[str, Any]

MANIFEST_SCOPES = _MANIFEST_SCOPES
"""The bot scopes ``slack-manifest.yml`` asks for (a test keeps the two equal)."""

# What Slack's Web API needs for each method the bot calls, by the kind of conversation (C public,
# G private, D direct message) where that matters. A method missing here needs no scope.
METHOD_SCOPES: dict[str, str | tuple[str, str]] = {
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "chat.delete": "chat:write",
    "chat.postEphemeral": "chat:write",
    "conversations.history": ("history", "channel"),
    "conversations.replies": ("history", "channel"),
    "conversations.members": ("read", "channel"),
    "conversations.info": ("read", "channel"),
    "conversations.open": "im:write",
    "users.info": "users:read",
    "users.list": "users:read",
    "usergroups.users.list": "usergroups:read",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
}
MAX_FILE_BYTES = 1024 * 1024 * 1024  # Slack's limit for one file: 1 GB
SECTION_TEXT_LIMIT = 3000
MESSAGE_TEXT_TOTAL = 12_000  # Slack refuses a message whose blocks carry more text than about this


@dataclass
class Call:
    method: str
    args: Json
    at: float
    status: int = 200
    retry_after: float | None = None
    fault: str | None = None


@dataclass
class Fault:
    """Inject a fault into the next ``count`` calls of ``method`` (or of every method if None)."""

    kind: str  # "429" | "500" | "slow" (done, answer late) | "drop" (no answer, not done) | "lost" (done, no answer)
    count: int = 1
    method: str | None = None
    retry_after: int = 1
    delay: float = 0.0


@dataclass
class User:
    id: str
    name: str
    tz: str = "UTC"
    locale: str = "en-US"
    """Returned by users.info only when asked with ``include_locale``, as Slack does."""
    is_bot: bool = False
    deleted: bool = False
    """Deactivated."""
    guest: bool = False
    """A multi- or single-channel guest (``is_restricted``)."""
    team_id: str = "T0FOLLOW"
    """Their organisation's workspace: another one's for a Slack Connect user."""
    display_name: str = ""
    """What Slack shows beside their messages (the profile's display name), when they set one."""

    def as_json(self) -> Json:
        return {
            "id": self.id,
            "name": self.name,
            "real_name": self.name,
            "tz": self.tz,
            "is_bot": self.is_bot,
            "is_app_user": False,
            "deleted": self.deleted,
            "is_restricted": self.guest,
            "is_ultra_restricted": False,
            "team_id": self.team_id,
            "profile": {"display_name": self.display_name, "real_name": self.name},
        }


@dataclass
class SlackState:
    team: str = "T0FOLLOW"
    bot_user: str = "UBOT0001"
    token: str = "xoxb-test-token"
    users: dict[str, User] = field(default_factory=dict)
    channel_members: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    messages: dict[str, list[Json]] = field(default_factory=lambda: defaultdict(list))
    ephemerals: list[Json] = field(default_factory=list)
    views: list[Json] = field(default_factory=list)
    home_views: dict[str, Json] = field(default_factory=dict)
    ts_counter: int = 0
    app_token: str = "xapp-1-test-app-token"
    triggers: dict[str, float] = field(default_factory=dict)
    """Trigger ids this workspace issued, and when: each opens one view within 3 seconds."""
    view_triggers: dict[str, str] = field(default_factory=dict)
    """The trigger id each view was opened with, by view id: whose click opened it (the playground
    shows a modal to the teammate who clicked)."""
    files: dict[str, Json] = field(default_factory=dict)
    """Files by id, from ``files.getUploadURLExternal``: name, announced length, uploaded bytes."""
    private_channels: set[str] = field(default_factory=set)
    """Private channels the app is in. Whether a channel is private is the channel's, not its id's:
    private channels made since 2021 have ``C`` ids like public ones."""
    closed_channels: dict[str, bool] = field(default_factory=dict)
    """Channels the app is not a member of, and whether each is private: posting there is refused
    (``not_in_channel`` in a public one, ``channel_not_found`` in a private one the app cannot see)."""


class SlackStandIn(LocalServer):
    """Start with ``start()``; stop with ``stop()``; or use as a context manager.

    What ``followthrough demo`` needs: Slack's API with its checks (scopes, Block Kit limits, escaped
    text, trigger ids). Injected faults and rate limits are the tests' (``tests/support/slack_api.py``
    overrides ``_take_fault`` and ``_rate_limited``); the answers to them are here, inert without one.
    """

    name = "slack-stand-in"
    history_tier1 = False
    """Slack's 2025-05-29 limits for apps not approved for the Marketplace: ``conversations.history``
    and ``conversations.replies`` answer at most 15 messages a page (and 1 request a minute: the
    tests' rate limits)."""

    def __init__(
        self,
        *,
        token: str = "xoxb-test-token",
        scopes: frozenset[str] = MANIFEST_SCOPES,
    ) -> None:
        self.state = SlackState(token=token)
        self.scopes = scopes
        self.socket_url: Callable[[], str] | None = None
        """Where ``apps.connections.open`` sends the client (set by the Socket Mode stand-in)."""
        self.calls: list[Call] = []
        self.responses: list[Json] = []
        self.refused: list[Json] = []
        """Payloads Slack would have refused (a ``response_url`` body, an ack checked by a test)."""
        self.on_call: Callable[[str, Json], None] | None = None
        """Called with each Web API call after it is done and before it is answered (crash tests)."""
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self.clock: Callable[[], float] = time.monotonic
        """Times rate limits and records calls; tests substitute their own."""
        self.wall: Callable[[], float] = time.time
        """Stamps message ``ts`` values (epoch seconds, as Slack's are); tests substitute their own."""

    @property
    def base_url(self) -> str:
        return self.origin + "/api/"

    # -- set-up helpers ------------------------------------------------------------------------
    def add_user(self, user_id: str, name: str, tz: str = "UTC", channels: tuple[str, ...] = (), **flags: Any) -> User:
        with self._lock:
            user = User(user_id, name, tz, **flags)
            self.state.users[user_id] = user
            for channel in channels:
                self.state.channel_members[channel].append(user_id)
            return user

    def private_channel(self, channel: str) -> None:
        with self._lock:
            self.state.private_channels.add(channel)

    def _kind(self, channel: str) -> str:
        """``channels``, ``groups`` or ``im``: which scopes a conversation needs."""
        if channel[:1] == "D":
            return "im"
        private = channel in self.state.private_channels or self.state.closed_channels.get(channel, False)
        return "groups" if private or channel[:1] == "G" else "channels"

    def close_channel(self, channel: str, *, private: bool) -> None:
        """The app is not a member of ``channel`` (not invited, or removed)."""
        with self._lock:
            self.state.closed_channels[channel] = private

    def _not_a_member(self, channel: str) -> Json | None:
        if channel not in self.state.closed_channels:
            return None
        return {"ok": False, "error": "channel_not_found" if self.state.closed_channels[channel] else "not_in_channel"}

    def add_usergroup(self, group_id: str, members: list[str]) -> None:
        with self._lock:
            self.state.usergroups[group_id] = list(members)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method and c.status == 200]

    def channel_messages(self, channel: str) -> list[Json]:
        with self._lock:
            return [dict(m) for m in self.state.messages.get(channel, [])]

    # -- request handling ----------------------------------------------------------------------
    def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Block until ``predicate()`` is truthy (re-checked after every request), or ``timeout``."""
        with self._changed:
            return self._changed.wait_for(predicate, timeout)

    def _notify(self) -> None:
        with self._changed:
            self._changed.notify_all()

    def response_url(self, key: str = "r") -> str:
        """A ``response_url`` for a simulated interaction: what the bot sends there is recorded."""
        return self.base_url.replace("/api/", f"/response/{key}")

    def handle(self, request: BaseHTTPRequestHandler, verb: str) -> None:
        method = request.path.split("/api/", 1)[-1].split("?", 1)[0]
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        if request.path.startswith("/upload/"):
            self._upload(request, request.path.split("/")[2], raw)
            return
        if request.path.startswith("/response/"):
            body = json.loads(raw or b"{}")
            refused = refusal(body) if isinstance(body, dict) and not body.get("delete_original") else None
            with self._lock:
                if refused:
                    self.refused.append({"response_url": request.path, "body": body, "answer": refused})
                else:
                    self.responses.append({"key": request.path.split("/")[2], **body})
            # Slack's response_url answers a bad body with 400 and the error as plain text.
            if refused:
                self.reply_json(request, 400, refused)
            else:
                self.reply_json(request, 200, {"ok": True})
            self._notify()
            return
        args = self._parse_args(request, raw)
        fault = self._take_fault(method)
        if fault and fault.kind == "drop":
            request.close_connection = True
            request.connection.close()
            with self._lock:
                self.calls.append(Call(method, args, self.clock(), status=0, fault="drop"))
            self._notify()
            return
        if fault and fault.kind in ("429", "500"):
            status = int(fault.kind)
            headers = {"Retry-After": str(fault.retry_after)} if status == 429 else {}
            body = {"ok": False, "error": "ratelimited" if status == 429 else "internal_error"}
            with self._lock:
                self.calls.append(
                    Call(
                        method,
                        args,
                        self.clock(),
                        status=status,
                        retry_after=fault.retry_after if status == 429 else None,
                        fault=fault.kind,
                    )
                )
            self.reply_json(request, status, body, headers)
            self._notify()
            return
        auth = request.headers.get("Authorization", "")
        expected = self.state.app_token if method == "apps.connections.open" else self.state.token
        if auth != f"Bearer {expected}" and method != "api.test":
            with self._lock:
                self.calls.append(Call(method, args, self.clock(), status=200))
            self.reply_json(request, 200, {"ok": False, "error": "invalid_auth"})
            return
        with self._lock:
            limited = self._rate_limited(method, args)
            if limited is not None:
                self.calls.append(Call(method, args, self.clock(), status=429, retry_after=limited, fault="rate"))
                self.reply_json(request, 429, {"ok": False, "error": "ratelimited"}, {"Retry-After": str(limited)})
                return
            self.calls.append(Call(method, args, self.clock(), fault=fault.kind if fault else None))
            handler = getattr(self, "_m_" + method.replace(".", "_"), None)
            body = (
                self._missing_scope(method, args)
                or self._invalid_blocks(method, args)
                or (handler(args) if handler else {"ok": False, "error": "unknown_method"})
            )
        if self.on_call is not None:
            self.on_call(method, body)
        if fault and fault.kind == "lost":
            request.close_connection = True
            request.connection.close()
            self._notify()
            return
        if fault and fault.kind == "slow":
            time.sleep(fault.delay)  # done, but answered later than the client waits
        # Every answer names the token's scopes, as Slack's do (``check`` compares them with the manifest).
        self.reply_json(request, 200, body, {"x-oauth-scopes": ",".join(sorted(self.scopes))})
        self._notify()

    @staticmethod
    def _parse_args(request: BaseHTTPRequestHandler, raw: bytes) -> Json:
        ctype = request.headers.get("Content-Type", "")
        if "json" in ctype:
            return json.loads(raw or b"{}")
        args: Json = {k: v[0] for k, v in parse_qs(raw.decode()).items()}
        if "?" in request.path:
            args.update({k: v[0] for k, v in parse_qs(request.path.split("?", 1)[1]).items()})
        for key in ("blocks", "view", "metadata", "attachments"):
            if isinstance(args.get(key), str):
                with contextlib.suppress(ValueError):
                    args[key] = json.loads(args[key])
        return args

    def _take_fault(self, method: str) -> Fault | None:
        """The fault to play on this call (the tests' stand-in injects them; the demo's has none)."""
        return None

    def _rate_limited(self, method: str, args: Json) -> int | None:
        """Seconds to wait when this call is over a rate limit (the tests' stand-in keeps them)."""
        return None

    def _next_ts(self) -> str:
        self.state.ts_counter += 1
        return f"{int(self.wall())}.{self.state.ts_counter:06d}"

    # -- what Slack checks before doing anything ---------------------------------------------------
    def _missing_scope(self, method: str, args: Json) -> Json | None:
        needed = METHOD_SCOPES.get(method)
        if needed is None:
            return None
        if isinstance(needed, tuple):
            needed = f"{self._kind(str(args.get('channel') or 'C'))}:{needed[0]}"
        if needed in self.scopes:
            return None
        return {"ok": False, "error": "missing_scope", "needed": needed, "provided": ",".join(sorted(self.scopes))}

    def _invalid_blocks(self, method: str, args: Json) -> Json | None:
        """Block Kit's limits, as Slack enforces them: the bot must never rely on a lenient copy."""
        if method not in ("chat.postMessage", "chat.update", "views.open", "views.update", "views.publish"):
            return None
        view = method.startswith("views.")
        payload = args.get("view") if view else args
        if isinstance(payload, str):
            try:
                payload = json.loads(payload)
            except ValueError:
                return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(payload, dict):
            return {"ok": False, "error": "invalid_arguments"} if view else None
        return refusal(payload, view=view)

    def trigger_id(self) -> str:
        """A trigger id as Slack issues with an interaction: good for one view, for 3 seconds."""
        with self._lock:
            self.state.ts_counter += 1
            trigger = f"{int(self.wall())}.{self.state.ts_counter}.{random.getrandbits(64):016x}"
            self.state.triggers[trigger] = self.wall()
            return trigger

    def _use_trigger(self, trigger: Any) -> Json | None:
        issued = self.state.triggers.pop(str(trigger), None)
        if issued is None:
            return {"ok": False, "error": "invalid_trigger_id"}
        if self.wall() - issued > 3.0:
            return {"ok": False, "error": "expired_trigger_id"}
        return None

    # -- Web API methods -----------------------------------------------------------------------
    def _m_api_test(self, args: Json) -> Json:
        return {"ok": True, "args": args}

    def _m_auth_test(self, args: Json) -> Json:
        return {
            "ok": True,
            "url": "https://followthrough-test.slack.com/",
            "team": "Followthrough Test",
            "user": "followthrough",
            "team_id": self.state.team,
            "user_id": self.state.bot_user,
            "bot_id": "BFOLLOW01",
        }

    def _m_chat_postMessage(self, args: Json) -> Json:
        channel = str(args.get("channel"))
        if channel.startswith("U"):
            channel = "D" + channel[1:]
        if refused := self._not_a_member(channel):
            return refused
        message = {
            "type": "message",
            "ts": self._next_ts(),
            "channel": channel,
            "user": self.state.bot_user,
            "text": args.get("text", ""),
            "blocks": args.get("blocks") or [],
            "metadata": args.get("metadata"),
            "thread_ts": args.get("thread_ts"),
        }
        self.state.messages[channel].append(message)
        return {"ok": True, "channel": channel, "ts": message["ts"], "message": message}

    def _m_chat_update(self, args: Json) -> Json:
        channel, ts = str(args.get("channel")), str(args.get("ts"))
        for message in self.state.messages.get(channel, []):
            if message["ts"] == ts:
                message.update(text=args.get("text", message["text"]), blocks=args.get("blocks") or [])
                if args.get("metadata"):
                    message["metadata"] = args["metadata"]
                return {"ok": True, "channel": channel, "ts": ts}
        return {"ok": False, "error": "message_not_found"}

    def _m_chat_delete(self, args: Json) -> Json:
        """A bot token deletes only the bot's own messages (``cant_delete_message`` otherwise), as Slack's does."""
        channel, ts = str(args.get("channel")), str(args.get("ts"))
        messages = self.state.messages.get(channel, [])
        for i, message in enumerate(messages):
            if message["ts"] == ts:
                if message.get("user") != self.state.bot_user:
                    return {"ok": False, "error": "cant_delete_message"}
                del messages[i]
                return {"ok": True, "channel": channel, "ts": ts}
        return {"ok": False, "error": "message_not_found"}

    def _m_chat_postEphemeral(self, args: Json) -> Json:
        self.state.ephemerals.append(dict(args))
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_chat_getPermalink(self, args: Json) -> Json:
        channel, ts = args.get("channel"), str(args.get("message_ts", ""))
        return {
            "ok": True,
            "channel": channel,
            "permalink": f"https://slack.test/archives/{channel}/p{ts.replace('.', '')}",
        }

    @staticmethod
    def _page(messages: list[Json], args: Json, include_metadata: bool) -> Json:
        """One page as Slack pages it: at most ``limit`` (default 100, at most 999), an opaque
        ``next_cursor`` while more remain, metadata only when asked for."""
        limit = max(1, min(999, int(args.get("limit") or 100)))
        if args.get("_tier1"):
            limit = min(limit, 15)
        start = int(str(args.get("cursor") or "0").removeprefix("c") or 0)
        page = messages[start : start + limit]
        out = [m if include_metadata else {k: v for k, v in m.items() if k != "metadata"} for m in page]
        more = start + limit < len(messages)
        return {
            "ok": True,
            "messages": out,
            "has_more": more,
            "response_metadata": {"next_cursor": f"c{start + limit}" if more else ""},
        }

    def _m_conversations_history(self, args: Json) -> Json:
        channel = str(args.get("channel"))
        oldest = float(args.get("oldest", 0) or 0)
        latest = float(args.get("latest", 0) or 0) or float("inf")
        inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
        top = [
            m
            for m in self.state.messages.get(channel, [])
            if not m.get("thread_ts") and _between(float(m["ts"]), oldest, latest, inclusive)
        ]
        include = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        args = {**args, "_tier1": self.history_tier1}
        return self._page(list(reversed(top)), args, include)  # newest first, as Slack returns history

    def _m_conversations_replies(self, args: Json) -> Json:
        channel, ts = str(args.get("channel")), str(args.get("ts"))
        oldest = float(args.get("oldest", 0) or 0)
        latest = float(args.get("latest", 0) or 0) or float("inf")
        inclusive = str(args.get("inclusive", "")).lower() in ("1", "true")
        include = str(args.get("include_all_metadata", "")).lower() in ("1", "true")
        thread = [
            m
            for m in self.state.messages.get(channel, [])
            if m["ts"] == ts or (m.get("thread_ts") == ts and _between(float(m["ts"]), oldest, latest, inclusive))
        ]
        args = {**args, "_tier1": self.history_tier1}
        return self._page(thread, args, include)  # the parent first, then replies oldest first

    def thread(self, channel: str, ts: str) -> list[Json]:
        with self._lock:
            return [dict(m) for m in self.state.messages.get(channel, []) if m.get("thread_ts") == ts]

    def _m_conversations_info(self, args: Json) -> Json:
        channel = str(args.get("channel"))
        private = self._kind(channel) == "groups"
        member = channel not in self.state.closed_channels
        if private and not member:
            return {"ok": False, "error": "channel_not_found"}  # a private channel the app is not in is invisible
        return {
            "ok": True,
            "channel": {
                "id": channel,
                "is_private": private,
                "is_member": member,
                "is_archived": False,
                "is_im": channel[:1] == "D",
            },
        }

    def _m_conversations_members(self, args: Json) -> Json:
        members = list(self.state.channel_members.get(str(args.get("channel")), []))
        limit = max(1, min(1000, int(args.get("limit") or 100)))
        start = int(str(args.get("cursor") or "0").removeprefix("m") or 0)
        more = start + limit < len(members)
        return {
            "ok": True,
            "members": members[start : start + limit],
            "response_metadata": {"next_cursor": f"m{start + limit}" if more else ""},
        }

    def _m_conversations_open(self, args: Json) -> Json:
        users = str(args.get("users", ""))
        return {"ok": True, "channel": {"id": "D" + users.split(",")[0][1:]}}

    def _m_users_info(self, args: Json) -> Json:
        user = self.state.users.get(str(args.get("user")))
        if user is None:
            return {"ok": False, "error": "user_not_found"}
        shown = user.as_json()
        if str(args.get("include_locale", "")).lower() in ("true", "1"):
            shown["locale"] = user.locale
        return {"ok": True, "user": shown}

    def _m_users_list(self, args: Json) -> Json:
        users = list(self.state.users.values())
        limit = max(1, min(1000, int(args.get("limit") or 100)))
        start = int(str(args.get("cursor") or "0").removeprefix("u") or 0)
        more = start + limit < len(users)
        return {
            "ok": True,
            "members": [u.as_json() for u in users[start : start + limit]],
            "response_metadata": {"next_cursor": f"u{start + limit}" if more else ""},
        }

    def _m_usergroups_users_list(self, args: Json) -> Json:
        members = self.state.usergroups.get(str(args.get("usergroup")))
        if members is None:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(members)}

    def _m_apps_connections_open(self, args: Json) -> Json:
        if self.socket_url is None:
            return {"ok": False, "error": "not_allowed_token_type"}
        return {"ok": True, "url": self.socket_url()}

    # -- file uploads (files_upload_v2: get a URL, send the bytes there, complete) ----------------
    def _m_files_getUploadURLExternal(self, args: Json) -> Json:
        filename, length = str(args.get("filename") or ""), str(args.get("length") or "")
        if not filename or not (length.isascii() and length.isdigit()) or int(length) <= 0:
            return {"ok": False, "error": "invalid_arguments"}
        if int(length) > MAX_FILE_BYTES:
            return {"ok": False, "error": "file_too_large"}
        self.state.ts_counter += 1
        file_id = f"F{self.state.ts_counter:08d}"
        self.state.files[file_id] = {
            "id": file_id,
            "name": filename,
            "length": int(length),
            "alt_txt": args.get("alt_txt"),
            "content": None,
            "completed": False,
        }
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return {"ok": True, "upload_url": f"http://{host}:{port}/upload/{file_id}", "file_id": file_id}

    def _upload(self, request: BaseHTTPRequestHandler, file_id: str, raw: bytes) -> None:
        """The upload URL: takes the bytes once; Slack's answers it with plain text, not JSON."""
        with self._lock:
            self.calls.append(Call("upload", {"file_id": file_id, "bytes": len(raw)}, self.clock()))
            entry = self.state.files.get(file_id)
            status = 200
            if entry is None or entry["completed"]:
                status = 404
            elif len(raw) != entry["length"]:
                status = 400  # the length announced when the URL was asked for must match
            else:
                entry["content"] = raw
        data = b"OK - %d" % len(raw) if status == 200 else b"upload refused"
        try:
            request.send_response(status)
            request.send_header("Content-Type", "text/plain; charset=utf-8")
            request.send_header("Content-Length", str(len(data)))
            request.end_headers()
            request.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            return
        self._notify()

    def _m_files_completeUploadExternal(self, args: Json) -> Json:
        try:
            files = json.loads(args.get("files") or "[]") if isinstance(args.get("files"), str) else args.get("files")
        except ValueError:
            return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(files, list) or not files:
            return {"ok": False, "error": "invalid_arguments"}
        done = []
        for item in files:
            entry = self.state.files.get(str(item.get("id")))
            if entry is None or entry["content"] is None or entry["completed"]:
                return {"ok": False, "error": "file_not_found"}
            entry.update(completed=True, title=item.get("title") or entry["name"])
            done.append(entry)
        channel = str(args.get("channel_id") or args.get("channels") or "")
        if channel:
            if channel.startswith("U"):
                channel = "D" + channel[1:]
            if refused := self._not_a_member(channel):
                return refused
            comment = str(args.get("initial_comment") or "")
            if len(comment) > 40_000:
                return {"ok": False, "error": "msg_too_long"}
            message = {
                "type": "message",
                "ts": self._next_ts(),
                "channel": channel,
                "user": self.state.bot_user,
                "text": comment,
                "files": [self._file_json(e) for e in done],
                "thread_ts": args.get("thread_ts"),
                "upload": True,
            }
            message = {k: v for k, v in message.items() if v is not None}
            self.state.messages[channel].append(message)
            for entry in done:
                entry["shares"] = {channel: [message["ts"]]}
        return {"ok": True, "files": [{"id": e["id"], "title": e["title"]} for e in done]}

    @staticmethod
    def _file_json(entry: Json) -> Json:
        return {
            "id": entry["id"],
            "name": entry["name"],
            "title": entry.get("title"),
            "mimetype": "image/png" if entry["content"][:8] == b"\x89PNG\r\n\x1a\n" else "application/octet-stream",
            "size": len(entry["content"]),
            "alt_txt": entry.get("alt_txt"),
        }

    def uploaded(self, channel: str) -> list[tuple[Json, bytes]]:
        """The files shared in ``channel`` with their bytes, oldest first (for tests)."""
        with self._lock:
            out = []
            for message in self.state.messages.get(channel, []):
                for f in message.get("files") or []:
                    out.append((message, self.state.files[f["id"]]["content"]))
            return out

    def _m_views_open(self, args: Json) -> Json:
        refused = self._use_trigger(args.get("trigger_id"))
        if refused:
            return refused
        view = dict(args.get("view") or {})
        view["id"] = f"V{len(self.state.views) + 1:08d}"
        self.state.views.append(view)
        self.state.view_triggers[view["id"]] = str(args.get("trigger_id"))
        return {"ok": True, "view": view}

    def _m_views_update(self, args: Json) -> Json:
        view = dict(args.get("view") or {})
        view["id"] = args.get("view_id") or f"V{len(self.state.views) + 1:08d}"
        self.state.views.append(view)
        return {"ok": True, "view": view}

    def _m_views_publish(self, args: Json) -> Json:
        view = dict(args.get("view") or {})
        self.state.home_views[str(args.get("user_id"))] = view
        return {"ok": True, "view": view}


def _between(ts: float, oldest: float, latest: float, inclusive: bool) -> bool:
    """Slack's ``oldest`` / ``latest`` bounds are exclusive unless ``inclusive`` is set."""
    if inclusive:
        return oldest <= ts <= latest
    return oldest < ts < latest


def _texts(node: Any) -> list[str]:
    """Every text string inside a block (what Slack adds up against a message's limit)."""
    if isinstance(node, dict):
        out = []
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                out.append(value)
            else:
                out += _texts(value)
        return out
    if isinstance(node, list):
        return [t for item in node for t in _texts(item)]
    return []


def refusal(payload: Json, *, view: bool = False) -> Json | None:
    """What Slack answers a message (``text``/``blocks``) or a view that breaks Block Kit's rules, or
    None. Used for every way a payload reaches Slack: Web API calls, an ack's body, a ``response_url``.
    Slack's own checks are many; these are ours, then slack_sdk's models' (which know more limits)."""
    blocks = payload.get("blocks") or []
    if isinstance(blocks, str):
        try:
            blocks = json.loads(blocks)
        except ValueError:
            return {"ok": False, "error": "invalid_blocks_format"}
    if not isinstance(blocks, list):
        return {"ok": False, "error": "invalid_blocks_format"}
    if view:
        problem = _view_problem(payload)
        if problem:
            return {"ok": False, "error": "invalid_arguments", "response_metadata": {"messages": [problem]}}
    if len(blocks) > (100 if view else 50):
        return {"ok": False, "error": "invalid_blocks", "errors": [f"must be at most {100 if view else 50} blocks"]}
    if not view and not blocks and not str(payload.get("text") or "").strip():
        return {"ok": False, "error": "no_text"}
    if not view and len(str(payload.get("text") or "")) > 40_000:
        return {"ok": False, "error": "msg_too_long"}
    total = 0
    for block in blocks:
        problem = _block_problem(block) or _sdk_problem(block)
        if problem:
            return {"ok": False, "error": "invalid_blocks", "errors": [problem]}
        total += sum(len(t) for t in _texts(block))
    if not view and total > MESSAGE_TEXT_TOTAL:
        return {"ok": False, "error": "msg_blocks_too_long"}
    return None


def _plain(obj: Any) -> str:
    return str(obj.get("text") or "") if isinstance(obj, dict) else ""


def _view_problem(view: Json) -> str | None:
    for key, limit in (("title", 24), ("submit", 24), ("close", 24)):
        if len(_plain(view.get(key))) > limit:
            return f"{key} must be at most {limit} characters"
    if view.get("type") == "modal" and not _plain(view.get("title")).strip():
        return "a modal needs a title"
    for key, limit in (("private_metadata", 3000), ("callback_id", 255), ("external_id", 255)):
        if len(str(view.get(key) or "")) > limit:
            return f"{key} must be at most {limit} characters"
    return None


def _sdk_problem(block: Any) -> str | None:
    """slack_sdk's Block Kit models: the limits they know, on the block as parsed."""
    from slack_sdk.errors import SlackObjectFormationError
    from slack_sdk.models.blocks import Block

    try:
        parsed = Block.parse(block)
        if parsed is not None:
            parsed.validate_json()
    except SlackObjectFormationError as exc:
        return f"slack_sdk: {exc}"
    except (KeyError, TypeError, AttributeError, ValueError) as exc:
        return f"slack_sdk could not read the block: {exc}"
    return None


def _option_problem(option: Any) -> str | None:
    if not isinstance(option, dict):
        return "an option must be an object"
    if len(_plain(option.get("text"))) > 75:
        return "option text longer than 75"
    if len(str(option.get("value") or "")) > 150:
        return "option value longer than 150"
    if len(_plain(option.get("description"))) > 75:
        return "option description longer than 75"
    return None


def _block_problem(block: Any) -> str | None:
    if not isinstance(block, dict):
        return "a block must be an object"
    kind = block.get("type")
    if len(str(block.get("block_id", ""))) > 255:
        return "block_id longer than 255"
    if kind == "section":
        text = (block.get("text") or {}).get("text") if isinstance(block.get("text"), dict) else None
        if text is not None and not text.strip():
            return "section text must not be empty"
        if text is not None and len(text) > SECTION_TEXT_LIMIT:
            return f"section text longer than {SECTION_TEXT_LIMIT}"
    if kind == "header" and len(((block.get("text") or {}).get("text")) or "") > 150:
        return "header text longer than 150"
    if kind == "context" and len(block.get("elements") or []) > 10:
        return "context with more than 10 elements"
    elements = list(block.get("elements") or [])
    if isinstance(block.get("element"), dict):
        elements.append(block["element"])
    if isinstance(block.get("accessory"), dict):
        elements.append(block["accessory"])
    for element in elements:
        if not isinstance(element, dict):
            continue
        if len(str(element.get("action_id", ""))) > 255:
            return "action_id longer than 255"
        if element.get("type") == "button":
            if len(((element.get("text") or {}).get("text")) or "") > 75:
                return "button text longer than 75"
            if len(str(element.get("value", ""))) > 2000:
                return "button value longer than 2000"
            if len(str(element.get("url", ""))) > 3000:
                return "button url longer than 3000"
        if element.get("type") in ("static_select", "multi_static_select") and len(element.get("options") or []) > 100:
            return "a select with more than 100 options"
        if len(_plain(element.get("placeholder"))) > 150:
            return "placeholder longer than 150"
        for option in [
            *(element.get("options") or []),
            *([element["initial_option"]] if element.get("initial_option") else []),
        ]:
            if problem := _option_problem(option):
                return problem
        confirm = element.get("confirm")
        if isinstance(confirm, dict):
            for key, limit in (("title", 100), ("text", 300), ("confirm", 30), ("deny", 30)):
                if len(_plain(confirm.get(key))) > limit:
                    return f"confirm {key} longer than {limit}"
    if kind == "actions" and len(block.get("elements") or []) > 25:
        return "actions with more than 25 elements"
    if kind == "section":
        fields = block.get("fields") or []
        if len(fields) > 10:
            return "section with more than 10 fields"
        if any(len(_plain(f)) > 2000 for f in fields):
            return "section field longer than 2000"
    if kind == "input":
        if len(_plain(block.get("label"))) > 2000:
            return "input label longer than 2000"
        if len(_plain(block.get("hint"))) > 2000:
            return "input hint longer than 2000"
    return None
