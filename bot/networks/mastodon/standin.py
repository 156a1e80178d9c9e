"""A local HTTP server that behaves like the parts of a Mastodon instance's REST API the bot uses.

Follows docs.joinmastodon.org: ``GET /api/v1/notifications`` (``types[]``, ``since_id``/``max_id``/
``min_id``, ``limit`` up to 40, newest first, a ``Link`` header), ``GET /api/v1/statuses/:id`` and
``/context``, ``POST /api/v1/statuses`` (the instance's character limit with URLs counted as 23
and mentions by their local part; ``Idempotency-Key`` returns the first status for a repeated key;
a reply to a status the account cannot see is 404), ``GET /api/v2/instance``. Bearer tokens are
checked (401 ``The access token is invalid``). Faults can be queued: 429 with ``X-RateLimit-*``
headers (the reset an ISO 8601 time), 5xx, a dropped connection, a lost response, a repeated page.
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import regex

from bot.common.local_server import LocalServer

Json = dict[str, Any]
IDEMPOTENCY_SECONDS = 3600
"""Mastodon keeps an ``Idempotency-Key`` for one hour (docs.joinmastodon.org, "Posting a new
status"): a retry after that posts again — the transport looks in the thread first."""


@dataclass
class MastoFault:
    """Answer the next ``count`` requests whose path contains ``path`` with ``status`` (0: drop the
    connection; ``lost``: carry the request out, then drop the connection)."""

    status: int
    count: int = 1
    path: str = ""
    method: str = ""
    reset_in: int = 30
    lost: bool = False


@dataclass
class MastoState:
    accounts: dict[str, Json] = field(default_factory=dict)
    statuses: dict[str, Json] = field(default_factory=dict)
    notifications: list[Json] = field(default_factory=list)  # oldest first
    idempotency: dict[tuple[str, str], tuple[str, float]] = field(default_factory=dict)
    """(account, key) → the status it made and when; kept an hour."""
    policy: dict[str, str] = field(
        default_factory=lambda: dict.fromkeys(
            (
                "for_not_following",
                "for_not_followers",
                "for_new_accounts",
                "for_private_mentions",
                "for_limited_accounts",
            ),
            "accept",
        )
    )
    """The brand account's notification policy (Mastodon 4.3): accept, filter or drop, per kind of sender."""
    following: set[str] = field(default_factory=set)
    """Accounts the brand follows (their mentions are never filtered as "not following")."""


class MastodonStandIn(LocalServer):
    name = "masto-stand-in"
    protocol = "HTTP/1.1"

    def __init__(
        self, *, token: str = "masto-test-token", domain: str = "social.example", max_characters: int = 500
    ) -> None:
        self.token = token
        self.domain = domain
        self.max_characters = max_characters
        self.brand_id = ""
        self.state = MastoState()
        self.requests: list[tuple[str, str, Json, Json]] = []
        self.repeat_next_page = False
        self.now: Callable[[], float] = time.time
        self._ids = itertools.count(1)
        self._last_page: list[Json] | None = None
        self._lock = threading.RLock()

    @property
    def base_url(self) -> str:
        return self.origin

    # -- set-up --------------------------------------------------------------------------------
    def _next_id(self) -> str:
        # Snowflake-like: milliseconds << 16 plus a sequence, as Mastodon's ids (numeric strings).
        return str((int(self.now() * 1000) << 16) + next(self._ids))

    def _iso(self) -> str:
        t = self.now()
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"

    def add_account(
        self, username: str, *, name: str = "", followers: int = 10, remote: str | None = None, brand: bool = False
    ) -> str:
        account_id = self._next_id()
        acct = f"{username}@{remote}" if remote else username
        with self._lock:
            self.state.accounts[account_id] = {
                "id": account_id,
                "username": username,
                "acct": acct,
                "display_name": name,
                "followers_count": followers,
                "following_count": 1,
                "statuses_count": 1,
                "url": f"https://{remote or self.domain}/@{username}",
                "created_at": "2024-01-01T00:00:00.000Z",
            }
            if brand:
                self.brand_id = account_id
        return account_id

    def add_status(
        self,
        account_id: str,
        content_html: str,
        *,
        visibility: str = "public",
        reply_to: str | None = None,
        spoiler: str = "",
        notify: bool = True,
        language: str | None = "en",
        media: Sequence[tuple[str, str | None]] = (),
        quote_of: str | None = None,
    ) -> str:
        """A status; ``media``: (type, description) per attachment; ``quote_of``: the status it quotes
        (Mastodon 4.5: the quoted account is notified with a ``quote`` notification, not a mention)."""
        status_id = self._next_id()
        account = self.state.accounts[account_id]
        parent = self.state.statuses.get(reply_to) if reply_to else None
        status = {
            "id": status_id,
            "uri": f"https://{self.domain}/users/{account['username']}/statuses/{status_id}",
            "url": f"https://{self.domain}/@{account['acct']}/{status_id}",
            "created_at": self._iso(),
            "account": account,
            "content": content_html,
            "visibility": visibility,
            "sensitive": bool(spoiler),
            "spoiler_text": spoiler,
            "in_reply_to_id": reply_to,
            "in_reply_to_account_id": parent["account"]["id"] if parent else None,
            "language": language,
            "reblog": None,
            "mentions": [],
            "media_attachments": [
                {
                    "id": self._next_id(),
                    "type": kind,
                    "url": f"https://{self.domain}/media/{n}.bin",
                    "preview_url": f"https://{self.domain}/media/{n}_small.bin",
                    "description": description,
                }
                for n, (kind, description) in enumerate(media)
            ],
            "quote": None,
        }
        if quote_of is not None:
            status["quote"] = {"state": "accepted", "quoted_status": self.state.statuses[quote_of]}
        with self._lock:
            self.state.statuses[status_id] = status
            if notify:
                self._notify("quote" if quote_of is not None else "mention", account_id, status)
        return status_id

    def add_boost(self, account_id: str, status_id: str) -> None:
        with self._lock:
            self._notify("reblog", account_id, self.state.statuses[status_id])

    def add_favourite(self, account_id: str, status_id: str) -> None:
        with self._lock:
            self._notify("favourite", account_id, self.state.statuses[status_id])

    def _notify(self, kind: str, account_id: str, status: Json) -> None:
        """As Mastodon 4.3 does: the policy may drop a notification (never created) or filter it
        (created, but listed only with ``include_filtered=true`` or under notification requests)."""
        account = self.state.accounts[account_id]
        applies = []
        if account_id not in self.state.following:
            applies.append(self.state.policy["for_not_following"])
        if account.get("new"):
            applies.append(self.state.policy["for_new_accounts"])
        private = status.get("visibility") == "direct"
        if kind in ("mention", "quote") and private and account_id not in self.state.following:
            applies.append(self.state.policy["for_private_mentions"])
        if "drop" in applies:
            return
        self.state.notifications.append(
            {
                "id": self._next_id(),
                "type": kind,
                "created_at": self._iso(),
                "account": account,
                "status": status,
                "filtered": "filter" in applies,
            }
        )

    def calls(self, path: str, method: str = "GET") -> list[Json]:
        with self._lock:
            return [q for m, p, q, _ in self.requests if p == path and m == method]

    def statuses_by(self, account_id: str) -> list[Json]:
        with self._lock:
            return [s for s in self.state.statuses.values() if s["account"]["id"] == account_id]

    # -- handling ------------------------------------------------------------------------------
    def _take_fault(self, path: str, method: str) -> MastoFault | None:
        """The fault to play on this call: the tests' stand-in (``tests/support/mastodon_api.py``)
        queues them; the demo's plays none. Called holding the lock."""
        return None

    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        parts = parts._replace(path=parts.path.rstrip("/") or "/")  # Rails routes accept a trailing slash
        query = parse_qs(parts.query)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        body: Json = {}
        if raw:
            if "json" in (request.headers.get("Content-Type") or ""):
                body = json.loads(raw)
            else:
                body = {k: v if len(v) > 1 else v[0] for k, v in parse_qs(raw.decode()).items()}
        flat = {k: v if len(v) > 1 else v[0] for k, v in query.items()}
        with self._lock:
            self.requests.append((method, parts.path, flat, body))
            fault = self._take_fault(parts.path, method)
        if fault and not fault.lost:
            if fault.status == 0:
                request.close_connection = True
                request.connection.shutdown(2)
                return
            headers: dict[str, str] = {}
            answer: Json = {"error": "We're sorry, but something went wrong on our end."}
            if fault.status == 429:
                reset = self.now() + fault.reset_in
                headers = {
                    "X-RateLimit-Limit": "300",
                    "X-RateLimit-Remaining": "0",
                    "X-RateLimit-Reset": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(reset)) + ".000000Z",
                }
                answer = {"error": "Too many requests"}
            self.reply_json(request, fault.status, answer, headers)
            return
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            self.reply_json(request, 401, {"error": "The access token is invalid"})
            return
        status, answer, headers = self._route(request, method, parts.path, query, body)
        if fault and fault.lost:
            request.close_connection = True
            request.connection.shutdown(2)
            return
        self.reply_json(request, status, answer, headers)

    def _route(
        self, request: BaseHTTPRequestHandler, method: str, path: str, query: dict[str, list[str]], body: Json
    ) -> tuple[int, Any, dict[str, str]]:
        if path == "/api/v1/notifications" and method == "GET":
            return 200, *self._notifications(query)
        if path == "/api/v2/instance" and method == "GET":
            return 200, self._instance(), {}
        if path == "/api/v2/notifications/policy" and method == "GET":
            with self._lock:
                filtered = [n for n in self.state.notifications if n.get("filtered")]
                senders = {n["account"]["id"] for n in filtered}
            summary = {"pending_requests_count": len(senders), "pending_notifications_count": len(filtered)}
            return 200, {**self.state.policy, "summary": summary}, {}
        match = re.fullmatch(r"/api/v1/statuses/(\d+)(/context)?", path)
        if match and method == "GET":
            status = self.state.statuses.get(match.group(1))
            if status is None or status.get("deleted"):
                return 404, {"error": "Record not found"}, {}
            if match.group(2):
                return 200, self._context(status), {}
            return 200, status, {}
        if path == "/api/v1/statuses" and method == "POST":
            return self._post_status(request, body)
        if path == "/api/v1/accounts/verify_credentials" and method == "GET":
            return 200, self.state.accounts[self.brand_id], {}
        return 404, {"error": "Not Found"}, {}

    def _notifications(self, query: dict[str, list[str]]) -> tuple[list[Json], dict[str, str]]:
        types = query.get("types[]") or query.get("types") or []
        limit = max(1, min(40, int((query.get("limit") or ["40"])[0])))
        since = int((query.get("since_id") or ["0"])[0] or 0)
        max_id = int((query.get("max_id") or ["0"])[0] or 0)
        with self._lock:
            if self.repeat_next_page and self._last_page is not None:
                self.repeat_next_page = False
                return self._last_page, {}
            include_filtered = (query.get("include_filtered") or ["false"])[0] == "true"
            items = [
                n
                for n in reversed(self.state.notifications)
                if (not types or n["type"] in types) and (include_filtered or not n.get("filtered"))
            ]
            items = [n for n in items if int(n["id"]) > since and (not max_id or int(n["id"]) < max_id)]
            page = items[:limit]
            self._last_page = page
        headers = {}
        if page:
            base = f"{self.base_url}/api/v1/notifications"
            headers["Link"] = (
                f'<{base}?max_id={page[-1]["id"]}>; rel="next", <{base}?min_id={page[0]["id"]}>; rel="prev"'
            )
        return page, headers

    def _context(self, status: Json) -> Json:
        ancestors = []
        parent = status.get("in_reply_to_id")
        while parent and parent in self.state.statuses:
            ancestors.insert(0, self.state.statuses[parent])
            parent = self.state.statuses[parent].get("in_reply_to_id")
        descendants = [s for s in self.state.statuses.values() if s.get("in_reply_to_id") == status["id"]]
        return {"ancestors": ancestors, "descendants": descendants}

    def _instance(self) -> Json:
        return {
            "domain": self.domain,
            "title": "Stand-in",
            "version": "4.3.0",
            "configuration": {
                "urls": {"streaming": f"wss://{self.domain}"},
                "accounts": {"max_featured_tags": 10},
                "statuses": {
                    "max_characters": self.max_characters,
                    "max_media_attachments": 4,
                    "characters_reserved_per_url": 23,
                },
            },
        }

    @staticmethod
    def counted_length(text: str, spoiler: str = "") -> int:
        """Mastodon's count (app/validators/status_length_validator.rb): the content warning plus the
        text, in grapheme clusters (``each_grapheme_cluster.size``), every URL 23 characters, a
        mention its local part only."""
        text = re.sub(r"https?://\S+", "x" * 23, text)
        text = re.sub(r"(@[\w.]+)@[\w.-]+\w", r"\1", text)
        return len(regex.findall(r"\X", spoiler + text))

    def _post_status(self, request: BaseHTTPRequestHandler, body: Json) -> tuple[int, Any, dict[str, str]]:
        text = body.get("status")
        if not isinstance(text, str) or not text.strip():
            return 422, {"error": "Validation failed: Text can't be blank"}, {}
        if self.counted_length(text, str(body.get("spoiler_text") or "")) > self.max_characters:
            return 422, {"error": f"Validation failed: Text character limit of {self.max_characters} exceeded"}, {}
        visibility = body.get("visibility") or "public"
        if visibility not in ("public", "unlisted", "private", "direct"):
            return 422, {"error": "Validation failed: Visibility is not included in the list"}, {}
        reply_to = str(body["in_reply_to_id"]) if body.get("in_reply_to_id") is not None else None
        if reply_to and (reply_to not in self.state.statuses or self.state.statuses[reply_to].get("deleted")):
            return 404, {"error": "Record not found"}, {}
        key = request.headers.get("Idempotency-Key")
        with self._lock:
            kept = self.state.idempotency.get((self.brand_id, key)) if key else None
            if kept is not None and self.now() - kept[1] < IDEMPOTENCY_SECONDS:
                return 200, self.state.statuses[kept[0]], {}
            paragraphs = "".join(f"<p>{escape(p).replace(chr(10), '<br />')}</p>" for p in text.split("\n\n"))
            status_id = self.add_status(
                self.brand_id, paragraphs, visibility=visibility, reply_to=reply_to, notify=False
            )
            self.state.statuses[status_id]["text_sent"] = text
            if key:
                self.state.idempotency[(self.brand_id, key)] = (status_id, self.now())
            return 200, self.state.statuses[status_id], {}
