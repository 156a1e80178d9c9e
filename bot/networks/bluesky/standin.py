"""A local XRPC server that behaves like the parts of a Bluesky PDS (and its AppView) the bot uses.

Follows the lexicons: ``com.atproto.server.createSession`` / ``refreshSession`` (JWT access tokens
that expire — 400 ``ExpiredToken`` — and single-use refresh tokens; a wrong or revoked app password
is 401 ``AuthenticationRequired``), ``app.bsky.notification.listNotifications`` (newest first,
``cursor`` paging, ``reasons`` filter), ``app.bsky.actor.getProfiles`` (at most 25 actors),
``app.bsky.feed.getPosts``, ``com.atproto.repo.createRecord`` (post records checked: text within
300 graphemes and 3000 bytes, reply refs present, a taken ``rkey`` refused) and ``getRecord``.
Faults can be queued: 429 with ``ratelimit-*`` headers, 5xx, a dropped connection, a lost response
(the call is carried out, then the connection is dropped), a repeated page. Point
``BLUESKY_SERVICE_URL`` at ``base_url``; the real ``atproto`` SDK runs against it.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

import regex

from bot.common.local_server import LocalServer

Json = dict[str, Any]
ACCESS_TTL = 2 * 3600  # the reference PDS: access tokens live 2 hours
REFRESH_TTL = 90 * 86400


@dataclass
class BskyFault:
    """Answer the next ``count`` calls of ``nsid`` (every method if '') with ``status``; status 0
    drops the connection before answering; ``lost=True`` carries the call out, then drops it."""

    status: int
    count: int = 1
    nsid: str = ""
    reset_in: int = 30
    lost: bool = False


def _facet_problem(text: str, facets: Any) -> str | None:
    """What the lexicon refuses in ``facets`` (app.bsky.richtext.facet): byte ranges inside the UTF-8
    text, a mention's ``did``, a link's ``uri``; None when they are valid."""
    if facets is None:
        return None
    if not isinstance(facets, list):
        return "Record/facets must be an array"
    size = len(text.encode("utf-8"))
    for n, facet in enumerate(facets):
        index = facet.get("index") if isinstance(facet, dict) else None
        start = index.get("byteStart") if isinstance(index, dict) else None
        end = index.get("byteEnd") if isinstance(index, dict) else None
        if not isinstance(start, int) or not isinstance(end, int) or not 0 <= start <= end <= size:
            return f"Record/facets/{n}/index must be a byte range of the text"
        features = facet.get("features")
        if not isinstance(features, list) or not features:
            return f"Record/facets/{n}/features must be a non-empty array"
        for feature in features:
            kind = feature.get("$type") if isinstance(feature, dict) else None
            if kind == "app.bsky.richtext.facet#mention" and not str(feature.get("did", "")).startswith("did:"):
                return f"Record/facets/{n}/features/0/did must be a did"
            if kind == "app.bsky.richtext.facet#link" and not isinstance(feature.get("uri"), str):
                return f"Record/facets/{n}/features/0/uri must be a uri"
    return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


@dataclass
class BskyState:
    accounts: dict[str, Json] = field(default_factory=dict)  # did → {handle, displayName, followers, password}
    notifications: list[Json] = field(default_factory=list)  # oldest first
    records: dict[str, Json] = field(default_factory=dict)  # uri → {cid, value, indexedAt}
    access: dict[str, tuple[str, float]] = field(default_factory=dict)  # jwt → (did, exp)
    refresh: dict[str, tuple[str, float]] = field(default_factory=dict)
    created: list[Json] = field(default_factory=list)  # createRecord calls that created something
    hidden_replies: list[str] = field(default_factory=list)
    """Replies created against the parent's threadgate: stored, but never shown or notified."""
    priority_notifications: bool = False
    """The brand turned on "priority notifications": without ``priority=false`` only accounts it
    follows reach it (the AppView's default is the account's setting)."""
    follows: set[str] = field(default_factory=set)
    """DIDs the brand follows."""


class BlueskyStandIn(LocalServer):
    name = "bsky-stand-in"
    protocol = "HTTP/1.1"

    def __init__(self) -> None:
        self.state = BskyState()
        self.requests: list[tuple[str, str, Json]] = []
        self.repeat_next_page = False  # the next listNotifications page answers with the previous one
        self.empty_pages: list[Json] = []
        """Pages answered empty with a cursor (reasons filtered after paging), for tests."""
        self.now: Callable[[], float] = time.time
        self._lock = threading.RLock()
        self._seq = itertools.count(1)
        self._last_page: Json | None = None

    @property
    def base_url(self) -> str:
        return self.origin

    # -- set-up --------------------------------------------------------------------------------
    def add_account(
        self, did: str, handle: str, *, name: str | None = None, followers: int = 10, password: str | None = None
    ) -> None:
        with self._lock:
            self.state.accounts[did] = {
                "did": did,
                "handle": handle,
                "displayName": name or "",
                "followers": followers,
                "password": password,
            }

    def revoke_password(self, did: str) -> None:
        """The app password is deleted: it no longer logs in, and its sessions end."""
        with self._lock:
            self.state.accounts[did]["password"] = None
            self.state.access = {k: v for k, v in self.state.access.items() if v[0] != did}
            self.state.refresh = {k: v for k, v in self.state.refresh.items() if v[0] != did}

    def expire_tokens(self) -> None:
        """Every access token expires now (as after two hours), refresh tokens still work."""
        with self._lock:
            self.state.access = {k: (did, 0.0) for k, (did, _) in self.state.access.items()}

    def _cid(self, value: Json) -> str:
        digest = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).digest()
        return "bafyrei" + base64.b32encode(digest).decode().lower().rstrip("=")[:52]

    def _tid(self) -> str:
        alphabet = "234567abcdefghijklmnopqrstuvwxyz"
        n = (int(self.now() * 1_000_000) << 10) | next(self._seq) % 1024
        return "".join(alphabet[(n >> (5 * i)) & 31] for i in reversed(range(13)))

    def add_post(
        self,
        did: str,
        text: str,
        *,
        reply_to: str | None = None,
        created_at: str = "2026-03-02T08:30:00.000Z",
        rkey: str | None = None,
        notify: str | None = "mention",
        langs: list[str] | None = None,
        facets: list[Json] | None = None,
        embed: Json | None = None,
        labels: list[str] | None = None,
        reply_disabled: bool = False,
    ) -> str:
        """A post by ``did``; with ``notify``, the brand gets a notification of that reason. Returns its URI.

        As the lexicon (app.bsky.feed.post) has it: ``facets`` (byte ranges of the UTF-8 text: links
        whose visible text the client shortened, mentions), an ``embed`` (images with alt text, a
        quoted record with media), self-``labels``; ``createdAt`` is whatever the client declared.
        ``reply_disabled``: the author's threadgate keeps the brand from replying (the post view's
        ``viewer.replyDisabled``)."""
        record: Json = {"$type": "app.bsky.feed.post", "text": text, "createdAt": created_at}
        if langs:
            record["langs"] = langs
        if facets:
            record["facets"] = facets
        if embed:
            record["embed"] = embed
        if labels:
            record["labels"] = {
                "$type": "com.atproto.label.defs#selfLabels",
                "values": [{"val": v} for v in labels],
            }
        if reply_to:
            parent = self.state.records[reply_to]
            root = parent["value"].get("reply", {}).get("root") or {"uri": reply_to, "cid": parent["cid"]}
            record["reply"] = {"root": root, "parent": {"uri": reply_to, "cid": parent["cid"]}}
        uri = f"at://{did}/app.bsky.feed.post/{rkey or self._tid()}"
        with self._lock:
            self.state.records[uri] = {"cid": self._cid(record), "value": record, "indexedAt": self._iso()}
            if reply_disabled:
                self.state.records[uri]["replyDisabled"] = True
            if notify:
                self._notify(did, uri, notify, record)
        return uri

    def add_repost(self, did: str, subject: str) -> str:
        record = {
            "$type": "app.bsky.feed.repost",
            "subject": {"uri": subject, "cid": self.state.records[subject]["cid"]},
            "createdAt": self._iso(),
        }
        uri = f"at://{did}/app.bsky.feed.repost/{self._tid()}"
        with self._lock:
            self.state.records[uri] = {"cid": self._cid(record), "value": record, "indexedAt": self._iso()}
            self._notify(did, uri, "repost", record, subject=subject)
        return uri

    def add_like(self, did: str, subject: str) -> None:
        record = {"$type": "app.bsky.feed.like", "subject": {"uri": subject, "cid": "x"}, "createdAt": self._iso()}
        uri = f"at://{did}/app.bsky.feed.like/{self._tid()}"
        with self._lock:
            self._notify(did, uri, "like", record, subject=subject)

    def _notify(self, did: str, uri: str, reason: str, record: Json, subject: str | None = None) -> None:
        note: Json = {
            "uri": uri,
            "cid": self._cid(record),
            "author": self._profile_view(did),
            "reason": reason,
            "record": record,
            "isRead": False,
            "indexedAt": self._iso(),
        }
        if subject:
            note["reasonSubject"] = subject
        self.state.notifications.append(note)

    def _iso(self) -> str:
        t = self.now()
        return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"

    def _profile_view(self, did: str) -> Json:
        account = self.state.accounts[did]
        view: Json = {"did": did, "handle": account["handle"], "labels": []}
        if account["displayName"]:
            view["displayName"] = account["displayName"]
        return view

    def calls(self, nsid: str) -> list[Json]:
        with self._lock:
            return [q for _, p, q in self.requests if p == f"/xrpc/{nsid}"]

    def posts_by(self, did: str) -> list[Json]:
        with self._lock:
            return [
                {"uri": uri, **r}
                for uri, r in self.state.records.items()
                if uri.startswith(f"at://{did}/app.bsky.feed.post/")
            ]

    # -- handling ------------------------------------------------------------------------------
    def _take_fault(self, nsid: str) -> BskyFault | None:
        """The fault to play on this call: the tests' stand-in (``tests/support/bluesky_api.py``)
        queues them; the demo's plays none. Called holding the lock."""
        return None

    def handle(self, request: BaseHTTPRequestHandler, method: str) -> None:
        parts = urlsplit(request.path)
        query = parse_qs(parts.query)
        length = int(request.headers.get("Content-Length") or 0)
        raw = request.rfile.read(length) if length else b""
        nsid = parts.path.removeprefix("/xrpc/")
        with self._lock:
            self.requests.append((method, parts.path, {k: v if len(v) > 1 else v[0] for k, v in query.items()}))
            fault = self._take_fault(nsid)
        if fault and not fault.lost:
            if fault.status == 0:
                request.close_connection = True
                request.connection.shutdown(2)
                return
            headers: dict[str, str] = {}
            body: Json = {"error": "InternalServerError", "message": "Internal Server Error"}
            if fault.status == 429:
                headers = {
                    "ratelimit-limit": "3000",
                    "ratelimit-remaining": "0",
                    "ratelimit-reset": str(int(self.now()) + fault.reset_in),
                    "ratelimit-policy": "3000;w=300",
                }
                body = {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"}
            elif fault.status == 502:
                body = {"error": "UpstreamFailure", "message": "Upstream Failure"}
            self.reply_json(request, fault.status, body, headers)
            return
        try:
            body_json = json.loads(raw) if raw else {}
        except ValueError:
            self.reply_json(request, 400, {"error": "InvalidRequest", "message": "Invalid JSON body"})
            return
        status, answer = self._route(request, method, nsid, query, body_json)
        if fault and fault.lost:
            request.close_connection = True
            request.connection.shutdown(2)  # done, but the answer never arrives
            return
        self.reply_json(request, status, answer)

    def _route(
        self, request: BaseHTTPRequestHandler, method: str, nsid: str, query: dict[str, list[str]], body: Json
    ) -> tuple[int, Json]:
        if nsid == "com.atproto.server.createSession" and method == "POST":
            return self._create_session(body)
        if nsid == "com.atproto.server.refreshSession" and method == "POST":
            return self._refresh_session(request)
        did, problem = self._auth(request)
        if problem:
            return problem
        one = {k: v[0] for k, v in query.items()}
        if nsid == "app.bsky.notification.listNotifications" and method == "GET":
            return 200, self._list_notifications(one, query.get("reasons"))
        if nsid == "app.bsky.actor.getProfiles" and method == "GET":
            actors = query.get("actors", [])
            if not actors or len(actors) > 25:
                return 400, {"error": "InvalidRequest", "message": "actors must have 1 to 25 items"}
            return 200, {"profiles": [self._profile_detailed(a) for a in actors if self._find(a)]}
        if nsid == "app.bsky.feed.getPosts" and method == "GET":
            uris = query.get("uris", [])
            if not uris or len(uris) > 25:
                return 400, {"error": "InvalidRequest", "message": "uris must have 1 to 25 items"}
            return 200, {"posts": [self._post_view(u) for u in uris if u in self.state.records]}
        if nsid == "com.atproto.repo.getRecord" and method == "GET":
            uri = f"at://{one.get('repo')}/{one.get('collection')}/{one.get('rkey')}"
            found = self.state.records.get(uri)
            if not found:
                return 400, {"error": "RecordNotFound", "message": f"Could not locate record: {uri}"}
            return 200, {"uri": uri, "cid": found["cid"], "value": found["value"]}
        if nsid == "com.atproto.repo.createRecord" and method == "POST":
            return self._create_record(did, body)
        if nsid == "com.atproto.identity.resolveHandle" and method == "GET":
            account = self._find(str(one.get("handle", "")))
            if account is None:
                return 400, {"error": "InvalidRequest", "message": "Unable to resolve handle"}
            return 200, {"did": account["did"]}
        return 501, {"error": "MethodNotImplemented", "message": "Method Not Implemented"}

    def _find(self, actor: str) -> Json | None:
        for did, account in self.state.accounts.items():
            if actor in (did, account["handle"]):
                return account
        return None

    def _tokens(self, did: str) -> Json:
        now = self.now()
        n = next(self._seq)
        header = _b64(json.dumps({"typ": "at+jwt", "alg": "ES256K"}).encode())

        def jwt(scope: str, exp: float) -> str:
            payload = {"scope": scope, "sub": did, "iat": int(now), "exp": int(exp), "jti": f"{did}-{n}-{scope}"}
            return f"{header}.{_b64(json.dumps(payload).encode())}.{_b64(b'sig' + str(n).encode())}"

        access, refresh = jwt("com.atproto.access", now + ACCESS_TTL), jwt("com.atproto.refresh", now + REFRESH_TTL)
        self.state.access[access] = (did, now + ACCESS_TTL)
        self.state.refresh[refresh] = (did, now + REFRESH_TTL)
        account = self.state.accounts[did]
        return {"accessJwt": access, "refreshJwt": refresh, "handle": account["handle"], "did": did, "active": True}

    def _create_session(self, body: Json) -> tuple[int, Json]:
        identifier, password = body.get("identifier"), body.get("password")
        if not isinstance(identifier, str) or not isinstance(password, str):
            return 400, {"error": "InvalidRequest", "message": 'Input must have the property "identifier"'}
        with self._lock:
            account = self._find(identifier.lstrip("@"))
            if account is None or not account["password"] or account["password"] != password:
                return 401, {"error": "AuthenticationRequired", "message": "Invalid identifier or password"}
            return 200, self._tokens(account["did"])

    def _bearer(self, request: BaseHTTPRequestHandler) -> str | None:
        header = request.headers.get("Authorization") or ""
        return header[7:] if header.startswith("Bearer ") else None

    def _refresh_session(self, request: BaseHTTPRequestHandler) -> tuple[int, Json]:
        token = self._bearer(request)
        with self._lock:
            entry = self.state.refresh.pop(token or "", None)  # single use: a refresh token rotates
            if entry is None:
                if token in self.state.access:
                    return 400, {"error": "InvalidToken", "message": "Invalid token type"}
                return 400, {"error": "ExpiredToken", "message": "Token has been revoked"}
            did, exp = entry
            if exp <= self.now():
                return 400, {"error": "ExpiredToken", "message": "Token has expired"}
            return 200, self._tokens(did)

    def _auth(self, request: BaseHTTPRequestHandler) -> tuple[str, tuple[int, Json] | None]:
        token = self._bearer(request)
        if token is None:
            return "", (401, {"error": "AuthMissing", "message": "Authentication Required"})
        with self._lock:
            entry = self.state.access.get(token)
            if entry is None:
                if token in self.state.refresh:
                    return "", (400, {"error": "InvalidToken", "message": "Invalid token type"})
                return "", (401, {"error": "InvalidToken", "message": "Token could not be verified"})
            did, exp = entry
            if exp <= self.now():
                return "", (400, {"error": "ExpiredToken", "message": "Token has expired"})
        return did, None

    def _list_notifications(self, query: Json, reasons: list[str] | None) -> Json:
        """As the AppView pages them (bluesky-social/atproto, packages/bsky/src/api/app/bsky/notification/
        listNotifications.ts, ``paginateNotifications``): the dataplane's pages are ``limit`` raw
        notifications behind a timestamp cursor; ``reasons`` are filtered AFTER each page is read,
        refilling at most 10 times until half a page is found — so a page can be empty, with a cursor,
        while older matching notifications remain. ``priority`` defaults to the account's setting."""
        try:
            limit = int(query.get("limit", 50))
        except ValueError:
            limit = 50
        limit = max(1, min(100, limit))
        priority_param = query.get("priority")
        priority = self.state.priority_notifications if priority_param is None else priority_param == "true"
        with self._lock:
            if self.repeat_next_page and self._last_page is not None:
                self.repeat_next_page = False
                return self._last_page
            raw = [
                n
                for n in reversed(self.state.notifications)
                if not priority or n["author"]["did"] in self.state.follows
            ]
            cursor = query.get("cursor")
            found: list[Json] = []
            for _attempt in range(10):
                older = [n for n in raw if cursor is None or n["indexedAt"] < cursor]
                page = older[:limit]
                found += [n for n in page if not reasons or n["reason"] in reasons]
                cursor = page[-1]["indexedAt"] if len(older) > limit else None
                if not reasons or len(found) >= -(-limit // 2) or cursor is None:
                    break
            answer: Json = {"notifications": found, "priority": priority}
            if cursor is not None:
                answer["cursor"] = cursor
                if not found:
                    self.empty_pages.append(answer)
            self._last_page = answer
            return answer

    def _profile_detailed(self, actor: str) -> Json:
        account = self._find(actor)
        assert account is not None
        view = self._profile_view(account["did"])
        view.update({"followersCount": account["followers"], "followsCount": 3, "postsCount": 12})
        return view

    def _post_view(self, uri: str) -> Json:
        found = self.state.records[uri]
        did = uri[5:].split("/")[0]
        return {
            "uri": uri,
            "cid": found["cid"],
            "author": self._profile_view(did),
            "record": found["value"],
            "indexedAt": found["indexedAt"],
            # app.bsky.feed.defs#viewerState, as the AppView answers the signed-in brand account.
            "viewer": {"replyDisabled": True} if found.get("replyDisabled") else {},
        }

    def _create_record(self, did: str, body: Json) -> tuple[int, Json]:
        repo, collection, record = body.get("repo"), body.get("collection"), body.get("record")
        account = self._find(str(repo))
        if account is None or account["did"] != did:
            return 400, {"error": "InvalidRequest", "message": "Invalid repo"}
        if not isinstance(record, dict) or record.get("$type") != collection:
            return 400, {"error": "InvalidRequest", "message": "Invalid $type: must match collection"}
        if collection == "app.bsky.feed.post":
            text = record.get("text")
            if not isinstance(text, str):
                return 400, {
                    "error": "InvalidRequest",
                    "message": "Invalid app.bsky.feed.post record: Record/text must be a string",
                }
            if len(regex.findall(r"\X", text)) > 300 or len(text.encode()) > 3000:
                return 400, {
                    "error": "InvalidRequest",
                    "message": "Invalid app.bsky.feed.post record: Record/text must not be longer than 300 graphemes",
                }
            if not isinstance(record.get("createdAt"), str):
                return 400, {
                    "error": "InvalidRequest",
                    "message": 'Invalid app.bsky.feed.post record: Record must have the property "createdAt"',
                }
            problem = _facet_problem(text, record.get("facets"))
            if problem:
                return 400, {"error": "InvalidRequest", "message": f"Invalid app.bsky.feed.post record: {problem}"}
            reply = record.get("reply")
            if reply is not None:
                for ref in ("root", "parent"):
                    strong = reply.get(ref) if isinstance(reply, dict) else None
                    if not isinstance(strong, dict) or not strong.get("uri") or not strong.get("cid"):
                        return 400, {
                            "error": "InvalidRequest",
                            "message": f"Invalid app.bsky.feed.post record: Record/reply/{ref} must be a strongRef",
                        }
        rkey = body.get("rkey") or self._tid()
        uri = f"at://{did}/{collection}/{rkey}"
        with self._lock:
            if uri in self.state.records:
                return 400, {"error": "InvalidRequest", "message": f"Record already exists: {uri}"}
            cid = self._cid(record)
            self.state.records[uri] = {"cid": cid, "value": record, "indexedAt": self._iso()}
            self.state.created.append({"uri": uri, "record": record})
            parent = ((record.get("reply") or {}).get("parent") or {}).get("uri")
            if parent in self.state.records and self.state.records[parent].get("replyDisabled"):
                # The PDS stores it, but the AppView treats a reply the threadgate forbids as
                # invalid: nobody sees it in the thread, and the customer is not notified.
                self.state.hidden_replies.append(uri)
        return 200, {"uri": uri, "cid": cid, "commit": {"cid": cid, "rev": self._tid()}, "validationStatus": "valid"}
