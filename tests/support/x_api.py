"""A local HTTP server that behaves like the parts of X's API v2 the bot reads.

Mentions and recent search with ``since_id`` and pagination (and the 800-mention horizon), user
look-up, and a filtered stream that sends keep-alive newlines and can drop the connection and repeat
posts after a reconnect. Faults (429 with ``x-rate-limit-reset``, 401, 500) can be queued. Point
``X_API_URL`` at ``base_url``; tweepy's real code path runs against it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from twitter_text import parse_tweet

from bot.common.local_server import LocalServer

Json = dict[str, Any]
MENTIONS_HORIZON = 800


_LEADING_MENTIONS = re.compile(r"^(?:\s*@\w{1,15})+\s*")


@dataclass
class XFault:
    """Answer the next ``count`` requests whose path contains ``path`` with ``status``."""

    status: int
    count: int = 1
    path: str = ""
    reset_in: int = 30
    method: str = ""
    """Only requests with this method (``POST`` for replies); any when empty."""
    mode: str = "status"
    """``status``: answer ``status``; ``lost``: do the request, then drop the connection before the
    answer; ``drop``: drop the connection without doing anything; ``usage-capped``: the 429 X sends
    when the app's credits for the period are spent (no rate-limit reset will help)."""


@dataclass
class StreamPlan:
    """How the filtered stream behaves on each connection.

    ``per_connection``: posts sent before the server drops the connection; ``repeat``: how many of
    the previous connection's last posts are sent again after a reconnect (as X does).
    """

    per_connection: int = 5
    repeat: int = 2
    keepalives: int = 1


@dataclass
class XState:
    users: dict[str, Json] = field(default_factory=dict)
    tweets: list[Json] = field(default_factory=list)  # oldest first
    rules: list[Json] = field(default_factory=list)
    stream_queue: list[Json] = field(default_factory=list)
    stream_sent: int = 0
    connections: int = 0
    next_rule: int = 1


class XStandIn(LocalServer):
    name = "x-stand-in"
    protocol = "HTTP/1.1"

    def __init__(self, *, token: str = "x-test-bearer") -> None:
        self.token = token
        self.state = XState()
        self.requests: list[tuple[str, str, Json]] = []
        self.faults: list[XFault] = []
        self.stream_plan = StreamPlan()
        self.now: Callable[[], float] = time.time
        self._lock = threading.RLock()
        self.brand: Json | None = None
        self.oauth: dict[str, str] = {}
        self._nonces: set[str] = set()
        self.refuse_duplicates = True
        self.post_limits: list[tuple[int, float]] = [(200, 15 * 60), (300, 3 * 3600)]
        """What X lets one account post through the API: 200 per 15 minutes and 300 per 3 hours
        (the incident issue's figures for the brand's account); past them, 429 with the reset time."""
        self._posted_at: list[float] = []
        self.oauth_refusals: list[str] = []
        self.wall: Callable[[], float] = time.time
        """Real time, for OAuth timestamps (tweepy signs with the machine's clock, not the test's)."""
        self._next_id = 1_900_000_000_000_000_000
        self.canned: list[tuple[str, Json]] = []
        """(path part, answer): the next GET whose path contains it gets that answer as it is — a
        payload copied from X's documentation, for the contract tests."""
        self.billed: dict[str, int] = dict.fromkeys(
            ("post_read", "post_read_owned", "user_read", "post_create", "post_create_link"), 0
        )
        """What X would bill for the calls answered so far, per item."""

    @property
    def base_url(self) -> str:
        return self.origin

    # -- set-up --------------------------------------------------------------------------------
    def add_user(self, user_id: str, username: str, name: str | None = None, followers: int = 10) -> None:
        with self._lock:
            self.state.users[user_id] = {
                "id": user_id,
                "username": username,
                "name": name or username,
                "verified": False,
                "public_metrics": {"followers_count": followers},
            }

    def add_tweet(
        self,
        tweet_id: str,
        text: str,
        author_id: str,
        *,
        mentions: str | None = None,
        conversation_id: str | None = None,
        replied_to: str | None = None,
        retweeted: str | None = None,
        created_at: str = "2026-03-01T12:00:00.000Z",
        raw: Json | None = None,
    ) -> Json:
        tweet = raw or {
            "id": tweet_id,
            "text": text,
            "author_id": author_id,
            "created_at": created_at,
            "conversation_id": conversation_id or tweet_id,
            "lang": "en",
        }
        refs = []
        if replied_to:
            refs.append({"type": "replied_to", "id": replied_to})
        if retweeted:
            refs.append({"type": "retweeted", "id": retweeted})
        if refs:
            tweet["referenced_tweets"] = refs
        tweet["_mentions"] = mentions
        with self._lock:
            self.state.tweets.append(tweet)
        return tweet

    def edit_tweet(self, tweet_id: str, text: str, *, created_at: str | None = None) -> Json:
        """The author edits a post (docs.x.com, "Edit Posts"): the edit is a new post with a new id whose
        ``edit_history_tweet_ids`` lists every version, oldest first; timelines show the latest only."""
        with self._lock:
            old = next(t for t in self.state.tweets if t["id"] == tweet_id)
            history = list(old.get("edit_history_tweet_ids") or [tweet_id])
            self._next_id += 1
            new = {k: v for k, v in old.items() if k not in ("id", "text", "created_at")}
            new_id = str(self._next_id)
            new.update(id=new_id, text=text, created_at=created_at or old["created_at"])
            new["edit_history_tweet_ids"] = [*history, new_id]
            old["_superseded"] = True
            self.state.tweets.append(new)
            return new

    def set_brand(
        self,
        user_id: str,
        username: str,
        *,
        api_key: str = "x-api-key",
        api_secret: str = "x-api-secret",
        access_token: str = "1-x-access-token",
        access_secret: str = "x-access-secret",
    ) -> dict[str, str]:
        """The brand's account and its OAuth 1.0a keys; returns them as the bot's settings name them."""
        self.add_user(user_id, username)
        with self._lock:
            self.brand = self.state.users[user_id]
            self.oauth = {
                "api_key": api_key,
                "api_secret": api_secret,
                "access_token": access_token,
                "access_secret": access_secret,
            }
        return {
            "X_API_KEY": api_key,
            "X_API_SECRET": api_secret,
            "X_ACCESS_TOKEN": access_token,
            "X_ACCESS_TOKEN_SECRET": access_secret,
        }

    def replies_to(self, tweet_id: str) -> list[Json]:
        """The brand's posts replying to ``tweet_id`` (what the customer would see)."""
        with self._lock:
            return [
                t
                for t in self.state.tweets
                if self.brand
                and t.get("author_id") == self.brand["id"]
                and any(r["type"] == "replied_to" and r["id"] == tweet_id for r in t.get("referenced_tweets", []))
            ]

    def queue_stream(self, tweet: Json) -> None:
        with self._lock:
            self.state.stream_queue.append(tweet)

    def inject(self, fault: XFault) -> None:
        with self._lock:
            self.faults.append(fault)

    def paths(self) -> list[str]:
        with self._lock:
            return [p for _, p, _ in self.requests]

    # -- handling ------------------------------------------------------------------------------
    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        length = int(request.headers.get("Content-Length") or 0)
        body = json.loads(request.rfile.read(length) or b"{}") if length else {}
        with self._lock:
            self.requests.append((method, parts.path, query))
            fault = next(
                (
                    f
                    for f in self.faults
                    if f.path in parts.path and f.count > 0 and (not f.method or f.method == method)
                ),
                None,
            )
            if fault:
                fault.count -= 1
                if fault.count == 0:
                    self.faults.remove(fault)
        if fault and fault.mode == "drop":
            request.close_connection = True
            return
        if fault and fault.mode == "lost":
            self._user_context(request, method, parts.path, parts.query, body)
            request.close_connection = True
            return
        if fault and fault.mode == "usage-capped":
            # docs.x.com, "Usage cap exceeded": a 429 whose problem type is usage-capped.
            self.reply_json(
                request,
                429,
                {
                    "title": "UsageCapExceeded",
                    "detail": "Usage cap exceeded: Monthly product cap",
                    "type": "https://api.twitter.com/2/problems/usage-capped",
                    "period": "Monthly",
                    "scope": "Product",
                },
            )
            return
        if fault:
            headers = {}
            if fault.status == 429:
                headers = {"x-rate-limit-reset": str(int(self.now()) + fault.reset_in), "x-rate-limit-remaining": "0"}
            titles = {401: "Unauthorized", 403: "Forbidden", 429: "Too Many Requests", 500: "Internal Error"}
            self.reply_json(
                request, fault.status, {"title": titles.get(fault.status, "Error"), "detail": "injected"}, headers
            )
            return
        if self._is_user_context(method, parts.path, request.headers.get("Authorization") or ""):
            self._user_context(request, method, parts.path, parts.query, body, answer=True)
            return
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            self.reply_json(request, 401, {"title": "Unauthorized", "detail": "Unauthorized", "status": 401})
            return
        with self._lock:
            canned = next((c for c in self.canned if c[0] in parts.path), None)
            if canned:
                self.canned.remove(canned)
        if canned:
            self.reply_json(request, 200, self._billed(canned[1], owned=False))
            return
        path = parts.path
        if path == "/2/tweets/search/stream" and method == "GET":
            self._stream(request)
            return
        if path == "/2/tweets/search/stream/rules":
            self.reply_json(request, 200, self._rules(method, body))
            return
        if path.startswith("/2/users/by/username/"):
            username = path.rsplit("/", 1)[-1].lower()
            user = next((u for u in self.state.users.values() if u["username"].lower() == username), None)
            self.reply_json(request, 200, {"data": user} if user else {"errors": [{"detail": "Not Found"}]})
            return
        if path.startswith("/2/users/") and path.endswith("/mentions"):
            self.reply_json(request, 200, self._billed(self._mentions(path, query), owned=False))
            return
        if path == "/2/tweets/search/recent":
            words = [w.lower() for w in query.get("query", "").split() if not w.startswith("-")]
            with self._lock:
                matching = [
                    t
                    for t in self.state.tweets
                    if not t.get("_superseded") and all(w in str(t.get("text", "")).lower() for w in words)
                ]
            self.reply_json(request, 200, self._billed(self._page(matching, query), owned=False))
            return
        if path.startswith("/2/users/"):
            user = self.state.users.get(path.split("/")[3])
            self.reply_json(request, 200, {"data": user} if user else {"errors": [{"detail": "Not Found"}]})
            return
        self.reply_json(request, 404, {"title": "Not Found"})

    def _mentions(self, path: str, query: Json) -> Json:
        user_id = path.split("/")[3]
        user = self.state.users.get(user_id, {})
        handle = "@" + user.get("username", "").lower()
        with self._lock:
            matching = [
                t
                for t in self.state.tweets
                if not t.get("_superseded")
                and (handle in str(t.get("text", "")).lower() or t.get("_mentions") == user_id)
            ]
        return self._page(matching[-MENTIONS_HORIZON:], query)

    def _billed(self, answer: Json, *, owned: bool) -> Json:
        """What X charges for an answer (docs.x.com, "Pricing"): each post in it, the included ones
        too, and each user included; the brand's own data read with its user-context keys is an
        owned read."""
        posts = len(answer.get("data") or []) + len((answer.get("includes") or {}).get("tweets") or [])
        with self._lock:
            self.billed["post_read_owned" if owned else "post_read"] += posts
            self.billed["user_read"] += len((answer.get("includes") or {}).get("users") or [])
        return answer

    # -- the brand's own account: OAuth 1.0a user context ------------------------------------------
    @staticmethod
    def _is_user_context(method: str, path: str, authorization: str = "") -> bool:
        return (
            (method == "POST" and path == "/2/tweets")
            or path == "/2/users/me"
            or (path.startswith("/2/users/") and path.endswith("/tweets"))
            or (path.startswith("/2/users/") and path.endswith("/mentions") and authorization.startswith("OAuth "))
        )

    def _oauth_problem(self, request: BaseHTTPRequestHandler, method: str, path: str, raw_query: str) -> str | None:
        """OAuth 1.0a as X checks it: every parameter present and well-formed, the keys known, the
        timestamp fresh, the nonce new, and the HMAC-SHA1 signature right over method, URL and query."""
        header = request.headers.get("Authorization") or ""
        if not header.startswith("OAuth "):
            return "no OAuth 1.0a Authorization header (user context required)"
        params: dict[str, str] = {}
        for part in header[len("OAuth ") :].split(","):
            key, eq, value = part.strip().partition("=")
            if not eq or len(value) < 2 or value[0] != '"' or value[-1] != '"':
                return f"malformed OAuth parameter {key[:30]!r}"
            params[unquote(key)] = unquote(value[1:-1])
        required = (
            "oauth_consumer_key",
            "oauth_nonce",
            "oauth_signature",
            "oauth_signature_method",
            "oauth_timestamp",
            "oauth_token",
            "oauth_version",
        )
        missing = [k for k in required if not params.get(k)]
        if missing:
            return f"OAuth header lacks {', '.join(missing)}"
        if params["oauth_signature_method"] != "HMAC-SHA1" or params["oauth_version"] != "1.0":
            return "OAuth must be HMAC-SHA1, version 1.0"
        if not self.oauth or params["oauth_consumer_key"] != self.oauth["api_key"]:
            return "unknown consumer key"
        if params["oauth_token"] != self.oauth["access_token"]:
            return "unknown access token"
        if not params["oauth_timestamp"].isdigit() or abs(int(params["oauth_timestamp"]) - self.wall()) > 300:
            return "OAuth timestamp is not within 5 minutes"
        nonce = params["oauth_nonce"]
        if nonce in self._nonces:
            return "OAuth nonce used before"
        signed = [(k, v) for k, v in params.items() if k != "oauth_signature" and k.startswith("oauth_")]
        signed += [(k, v) for k, vs in parse_qs(raw_query, keep_blank_values=True).items() for v in vs]
        normal = "&".join(f"{k}={v}" for k, v in sorted((_enc(k), _enc(v)) for k, v in signed))
        key = f"{_enc(self.oauth['api_secret'])}&{_enc(self.oauth['access_secret'])}".encode()
        for host in ("https://api.twitter.com", "https://api.x.com"):
            base = f"{method}&{_enc(host + path)}&{_enc(normal)}"
            digest = base64.b64encode(hmac.new(key, base.encode(), hashlib.sha1).digest()).decode()
            if hmac.compare_digest(digest, params["oauth_signature"]):
                self._nonces.add(nonce)
                return None
        return "OAuth signature does not match"

    def _user_context(
        self,
        request: BaseHTTPRequestHandler,
        method: str,
        path: str,
        raw_query: str,
        body: Json,
        *,
        answer: bool = False,
    ) -> None:
        with self._lock:
            problem = self._oauth_problem(request, method, path, raw_query)
            if problem:
                self.oauth_refusals.append(problem)
                if answer:
                    self.reply_json(request, 401, {"title": "Unauthorized", "detail": problem, "status": 401})
                return
            query = {k: v[0] for k, v in parse_qs(raw_query).items()}
            if path == "/2/users/me":
                result: tuple[int, Json] = (200, {"data": self.brand})
            elif method == "POST":
                result = self._create_tweet(body)
                if result[0] == 201:
                    self.billed["post_create_link" if "http" in str(body.get("text")) else "post_create"] += 1
            elif path.endswith("/mentions"):
                owned = self.brand is not None and path.split("/")[3] == self.brand["id"]
                result = (200, self._billed(self._mentions(path, query), owned=owned))
            else:
                result = (200, self._timeline(path.split("/")[3], {k: v[0] for k, v in parse_qs(raw_query).items()}))
        if answer:
            status, payload = result
            headers = payload.pop("_headers", None) if isinstance(payload, dict) else None
            self.reply_json(request, status, payload, headers or {})

    def _create_tweet(self, body: Json) -> tuple[int, Json]:
        text = body.get("text")
        reply = body.get("reply") or {}
        target = str(reply.get("in_reply_to_tweet_id") or "")
        if not isinstance(text, str) or not text.strip():
            return 400, {"title": "Invalid Request", "detail": "text is required"}
        if set(body) - {"text", "reply"}:
            return 400, {
                "title": "Invalid Request",
                "detail": f"unexpected fields {sorted(set(body) - {'text', 'reply'})}",
            }
        if _weighted(text) > 280:
            return 400, {"title": "Invalid Request", "detail": "Your Tweet text is too long."}
        original = next((t for t in self.state.tweets if t["id"] == target), None)
        if target and original is None:
            return 400, {"title": "Invalid Request", "detail": "The Tweet you are replying to is gone or invisible."}
        assert self.brand is not None
        if original is not None and not self._summoned(original):
            # Since 23 Feb 2026 X's API takes a reply only to a post whose author mentioned or quoted
            # the replying account (or is that account).
            return 403, {
                "title": "Forbidden",
                "detail": (
                    "Reply to this conversation is not allowed because you have not been mentioned or "
                    "otherwise engaged by the author of the post you are replying to."
                ),
                "status": 403,
            }
        # X stores a reply with the @mention of the account it answers in front (unless the text
        # already starts with it): reading the reply back shows "@customer …", not what was sent.
        if original is not None:
            mention = "@" + self.state.users.get(str(original.get("author_id")), {}).get("username", "")
            if len(mention) > 1 and not text.lower().startswith(mention.lower()):
                text = f"{mention} {text}"
        now = self.now()
        for limit, period in self.post_limits:
            inside = [t for t in self._posted_at if t > now - period]
            if len(inside) >= limit:
                reset = int(min(inside) + period) + 1
                return 429, {
                    "title": "Too Many Requests",
                    "detail": "Too Many Requests",
                    "status": 429,
                    "_headers": {"x-rate-limit-reset": str(reset), "x-rate-limit-remaining": "0"},
                }
        # X refuses a post whose words repeat one of the account's: the @mention it puts in front
        # does not make two replies different.
        words = _LEADING_MENTIONS.sub("", text)
        if self.refuse_duplicates and any(
            t.get("author_id") == self.brand["id"] and _LEADING_MENTIONS.sub("", str(t.get("text"))) == words
            for t in self.state.tweets
        ):
            return 403, {
                "title": "Forbidden",
                "detail": "You are not allowed to create a Tweet with duplicate content.",
                "status": 403,
            }
        self._posted_at.append(now)
        self._next_id += 1
        tweet_id = str(self._next_id)
        created = datetime.fromtimestamp(self.now(), UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        tweet = self.add_tweet(
            tweet_id,
            text,
            self.brand["id"],
            conversation_id=(original or {}).get("conversation_id") or target or tweet_id,
            replied_to=target or None,
            created_at=created,
        )
        tweet["edit_history_tweet_ids"] = [tweet_id]
        return 201, {"data": {"id": tweet_id, "text": text, "edit_history_tweet_ids": [tweet_id]}}

    def _summoned(self, original: Json) -> bool:
        """Whether the post's author called on the brand: wrote the post as the brand, mentioned it,
        or quoted or replied to one of its posts."""
        assert self.brand is not None
        if original.get("author_id") == self.brand["id"] or original.get("_mentions") == self.brand["id"]:
            return True
        handle = "@" + self.brand["username"].lower()
        text = str(original.get("text", "")).lower()
        if re.search(re.escape(handle) + r"(?!\w)", text):
            return True
        brand_posts = {t["id"] for t in self.state.tweets if t.get("author_id") == self.brand["id"]}
        return any(r.get("id") in brand_posts for r in original.get("referenced_tweets", []))

    def _timeline(self, user_id: str, query: Json) -> Json:
        start = query.get("start_time")
        mine = [t for t in self.state.tweets if t.get("author_id") == user_id]
        if start:
            since = datetime.fromisoformat(start.replace("Z", "+00:00"))
            mine = [t for t in mine if datetime.fromisoformat(t["created_at"].replace("Z", "+00:00")) >= since]
        return self._page(mine, query)

    def _page(self, tweets: list[Json], query: Json) -> Json:
        since = int(query.get("since_id", 0) or 0)
        newer = [t for t in tweets if int(t["id"]) > since] if since else list(tweets)
        newest_first = sorted(newer, key=lambda t: int(t["id"]), reverse=True)
        size = int(query.get("max_results", 10))
        start = int(query.get("pagination_token", 0) or 0)
        page = newest_first[start : start + size]
        if not page:
            return {"meta": {"result_count": 0}}
        meta: Json = {"result_count": len(page), "newest_id": page[0]["id"], "oldest_id": page[-1]["id"]}
        if start + size < len(newest_first):
            meta["next_token"] = str(start + size)
        fields = _fields(query, "tweet.fields")
        return {
            "data": [self._public(t, fields) for t in page],
            "includes": self._includes(page, query),
            "meta": meta,
        }

    @staticmethod
    def _public(tweet: Json, fields: set[str] | None = None) -> Json:
        """A tweet as X's API v2 sends it (docs.x.com, "Fields" and "Post object"): ``id``, ``text`` and
        ``edit_history_tweet_ids`` always, any other field only when ``tweet.fields`` asks for it; the
        text HTML-escaped (``&amp;`` ``&lt;`` ``&gt;``); a post over 280 characters cut in ``text``, its
        whole text only in ``note_tweet`` (asked for with ``tweet.fields=note_tweet``)."""
        out = {k: v for k, v in tweet.items() if not k.startswith("_")}
        out.setdefault("edit_history_tweet_ids", [out.get("id")])
        whole = out.get("text")
        if isinstance(whole, str) and len(whole) > LONG_POST:
            out["text"] = whole[:LONG_POST]
            out["note_tweet"] = {"text": whole}
        if fields is not None:
            out = {k: v for k, v in out.items() if k in ALWAYS_TWEET_FIELDS or k in fields}
        for key in ("text",):
            if isinstance(out.get(key), str):
                out[key] = _html(out[key])
        if isinstance(out.get("note_tweet"), dict):
            out["note_tweet"] = {**out["note_tweet"], "text": _html(out["note_tweet"]["text"])}
        return out

    def _includes(self, tweets: list[Json], query: Json | None = None) -> Json:
        query = query or {}
        expansions = _fields(query, "expansions") if "expansions" in query else None
        user_fields = _fields(query, "user.fields") if query else None
        out: Json = {}
        authors: set[Any] = set()
        if expansions is None or "author_id" in expansions:
            authors = {t.get("author_id") for t in tweets}
        if expansions is None or "referenced_tweets.id.author_id" in expansions:
            # The authors of the posts these refer to (a retweet's original author).
            referenced_ids = {r["id"] for t in tweets for r in t.get("referenced_tweets", [])}
            authors |= {t.get("author_id") for t in self.state.tweets if t["id"] in referenced_ids}
        if authors:
            users = [self.state.users[a] for a in authors if a in self.state.users]
            if user_fields is not None:
                users = [
                    {k: v for k, v in u.items() if k in ("id", "name", "username") or k in user_fields} for u in users
                ]
            out["users"] = users
        if expansions is None or "referenced_tweets.id" in expansions:
            referenced = {r["id"] for t in tweets for r in t.get("referenced_tweets", [])}
            known = [
                self._public(t, _fields(query, "tweet.fields") if query else None)
                for t in self.state.tweets
                if t["id"] in referenced
            ]
            if known:
                out["tweets"] = known
        return out

    def _rules(self, method: str, body: Json) -> Json:
        with self._lock:
            if method == "GET":
                return {"data": list(self.state.rules), "meta": {"result_count": len(self.state.rules)}}
            for rule in body.get("add", []):
                self.state.rules.append({"id": str(self.state.next_rule), "value": rule["value"]})
                self.state.next_rule += 1
            ids = set(body.get("delete", {}).get("ids", []))
            self.state.rules = [r for r in self.state.rules if r["id"] not in ids]
            return {"data": list(self.state.rules), "meta": {"summary": {"created": len(body.get("add", []))}}}

    def _stream(self, request: BaseHTTPRequestHandler) -> None:
        with self._lock:
            self.state.connections += 1
            plan = self.stream_plan
            sent = self.state.stream_sent
            start = max(0, sent - plan.repeat) if self.state.connections > 1 else sent
            end = sent + plan.per_connection
            batch = self.state.stream_queue[start:end]
            self.state.stream_sent = max(sent, min(end, len(self.state.stream_queue)))
        request.send_response(200)
        request.send_header("Content-Type", "application/json")
        request.send_header("Transfer-Encoding", "chunked")
        request.end_headers()

        def chunk(data: bytes) -> None:
            request.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
            request.wfile.flush()

        try:
            for _ in range(plan.keepalives):
                chunk(b"\r\n")
            for tweet in batch:
                line = self._billed({"data": [self._public(tweet)], "includes": self._includes([tweet])}, owned=False)
                line["data"] = line["data"][0]
                chunk(json.dumps(line).encode() + b"\r\n")
            # Drop the connection without the terminating chunk, as a network failure would.
            request.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            return


LONG_POST = 280
"""Characters of a post's ``text``; longer posts (Premium, up to 25,000) are whole only in ``note_tweet``."""
ALWAYS_TWEET_FIELDS = frozenset({"id", "text", "edit_history_tweet_ids"})


def _fields(query: Json, name: str) -> set[str]:
    return {f for f in str(query.get(name) or "").split(",") if f}


def _html(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _enc(value: str) -> str:
    """RFC 5849 percent-encoding (unreserved characters kept)."""
    return quote(value, safe="~-._")


def _weighted(text: str) -> int:
    return int(parse_tweet(text).weightedLength)
