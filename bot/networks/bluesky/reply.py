"""Answering a customer on Bluesky: a reply post with the thread's root and parent refs, once.

Exactly once: every reply row gets its own record key — a TID (Bluesky's AppView indexes only posts
whose key is a TID) derived from the row's creation time and a hash of its delivery key, so the
same row always writes to the same ``at://brand/app.bsky.feed.post/<rkey>``. A retry after a lost
answer therefore cannot post twice: the transport looks the record up first (``getRecord``), and
if it posts anyway the PDS refuses a key that is taken and the look-up confirms it was ours.

Facets: Bluesky shows a mention or a link as one only when the record says so — ``facets`` with the
UTF-8 byte range and the mention's DID or the link's URI. Without them "@jo.bsky.social" is plain
text and Jo is not notified of the answer. The customer's DID is known; any other handle is resolved
(``com.atproto.identity.resolveHandle``), and left plain if it does not resolve.

Threadgates: a post whose author limited replies (``viewer.replyDisabled`` on the post view) would
take our reply, but the AppView hides it and notifies nobody — refused here, saying so.

Length: Bluesky allows 300 graphemes (user-perceived characters: an emoji with modifiers is one)
and 3000 bytes; counted with ``regex``'s ``\\X``, which follows Unicode's segmentation rules.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC
from typing import Any

import httpx
import regex
from atproto import models
from atproto_client import exceptions as at_errors

from bot.common.clock import Clock
from bot.networks.bluesky import settings as bluesky_settings
from bot.networks.bluesky.client import (
    POST_COLLECTION,
    BlueskyAuthError,
    BlueskySession,
    error_code,
    reset_wait,
    split_uri,
    uri_of,
)
from bot.networks.bluesky.source import make_session
from bot.outbox.send_errors import RetryLater, Undeliverable
from bot.outbox.transport import Sent
from bot.store.models import Complaint, Delivery

log = logging.getLogger(__name__)

MAX_GRAPHEMES = 300
MAX_BYTES = 3000
_GRAPHEME = regex.compile(r"\X")
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
# As Bluesky's own clients detect them (@atproto/api richtext): a handle is a domain name after "@".
_MENTION = regex.compile(
    r"(?:^|(?<=[\s(]))@((?:[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?\.)+[a-zA-Z][a-zA-Z0-9-]*)"
)
_LINK = regex.compile(r"(?:^|(?<=[\s(]))https?://[^\s]+")
_TRAILING = ".,;:!?)\"'"


def graphemes(text: str) -> int:
    return len(_GRAPHEME.findall(text))


def too_long(text: str) -> str | None:
    """Why ``text`` cannot be a Bluesky post, or None if it fits (for the Reply form, too)."""
    count = graphemes(text)
    if count > MAX_GRAPHEMES:
        return f"the reply is {count} characters; Bluesky allows {MAX_GRAPHEMES}"
    size = len(text.encode("utf-8"))
    if size > MAX_BYTES:
        return f"the reply is {size} bytes; Bluesky allows {MAX_BYTES}"
    return None


def facets(text: str, did_of: Any) -> list[dict[str, Any]]:
    """``app.bsky.richtext.facet`` records for the mentions and links in ``text``; ``did_of(handle)``
    gives a handle's DID, or None to leave it plain text."""
    out: list[dict[str, Any]] = []

    def span(start: int, end: int) -> dict[str, int]:
        return {"byteStart": len(text[:start].encode("utf-8")), "byteEnd": len(text[:end].encode("utf-8"))}

    for match in _MENTION.finditer(text):
        handle = match.group(1).rstrip(".").lower()
        did = did_of(handle)
        if did:
            end = match.start(1) + len(handle)
            feature = {"$type": "app.bsky.richtext.facet#mention", "did": did}
            out.append({"index": span(match.start(), end), "features": [feature]})
    for match in _LINK.finditer(text):
        uri = match.group(0).rstrip(_TRAILING)
        if len(uri) > len("https://"):
            out.append(
                {
                    "index": span(match.start(), match.start() + len(uri)),
                    "features": [{"$type": "app.bsky.richtext.facet#link", "uri": uri}],
                }
            )
    return sorted(out, key=lambda f: f["index"]["byteStart"])


def tid(micros: int, clock_id: int) -> str:
    """A timestamp identifier: 64 bits (top bit 0) = microseconds << 10 | clock id, in 13 base32-sortable characters."""
    value = ((micros & ((1 << 53) - 1)) << 10) | (clock_id & 0x3FF)
    return "".join(_TID_ALPHABET[(value >> (5 * i)) & 31] for i in reversed(range(13)))


def reply_rkey(row: Delivery) -> str:
    """The same key for every attempt of one row; different for two rows, even created together."""
    created = row.created_at.astimezone(UTC)
    micros = int(created.timestamp()) * 1_000_000 + created.microsecond
    clock_id = int(hashlib.sha256(row.key.encode()).hexdigest(), 16) % 1024
    return tid(micros, clock_id)


class BlueskyTransport:
    name = "bluesky"

    def __init__(self, session: BlueskySession, clock: Clock) -> None:
        self.session = session
        self.clock = clock

    def send(self, row: Delivery, complaint: Complaint | None, card: Complaint | None) -> Sent:
        payload: dict[str, Any] = row.payload or {}
        text = str(payload.get("text") or "").strip()
        if not text:
            raise Undeliverable("the reply is empty")
        problem = too_long(text)
        if problem:
            raise Undeliverable(problem)
        target = payload.get("in_reply_to") or (complaint.external_id if complaint else None)
        if complaint is None or complaint.source != "bluesky" or not target:
            raise Undeliverable("a Bluesky reply needs the Bluesky post it answers")
        rkey = reply_rkey(row)
        try:
            did = self.session.did
            if row.attempts > 1 and self._exists(did, rkey):
                log.info("delivery %d: the reply was already posted (a lost answer); not posting again", row.id)
                return Sent("bluesky", f"{did}/{rkey}")
            record = self._record(text, str(target), complaint)
            data = models.ComAtprotoRepoCreateRecord.Data(
                repo=did, collection=POST_COLLECTION, rkey=rkey, record=record
            )
            try:
                self.session.procedure("com.atproto.repo.createRecord", data)
            except at_errors.BadRequestError as exc:
                if self._exists(did, rkey):
                    return Sent("bluesky", f"{did}/{rkey}")  # refused because our earlier attempt got there
                raise Undeliverable(f"Bluesky refused the reply: {_message(exc)}") from None
        except BlueskyAuthError as exc:
            raise RetryLater(900, f"{exc}; fix BLUESKY_APP_PASSWORD") from None
        except at_errors.UnauthorizedError:
            raise RetryLater(900, "Bluesky refused the brand account's session; fix BLUESKY_APP_PASSWORD") from None
        except at_errors.RateLimitExceededError as exc:
            raise RetryLater(reset_wait(exc, self.clock.now()), "rate limited by Bluesky") from None
        except (at_errors.NetworkError, at_errors.InvokeTimeoutError, httpx.TransportError) as exc:
            raise RetryLater(30, f"Bluesky did not answer: {type(exc).__name__}") from None
        except at_errors.RequestException as exc:
            status = getattr(exc.response, "status_code", 0) if exc.response else 0
            if status >= 500 or status == 0:
                raise RetryLater(30, f"Bluesky failed (HTTP {status})") from None
            raise Undeliverable(f"Bluesky refused the reply: {_message(exc)}") from None
        return Sent("bluesky", f"{did}/{rkey}")

    def _exists(self, did: str, rkey: str) -> bool:
        try:
            self.session.query(
                "com.atproto.repo.getRecord",
                models.ComAtprotoRepoGetRecord.Params(repo=did, collection=POST_COLLECTION, rkey=rkey),
            )
            return True
        except at_errors.BadRequestError as exc:
            if error_code(exc) == "RecordNotFound":
                return False
            raise

    def _did_of(self, complaint: Complaint) -> Any:
        known = {complaint.author_handle.lower().lstrip("@"): complaint.author_id}

        def did_of(handle: str) -> str | None:
            if handle not in known:
                try:
                    answer = self.session.query(
                        "com.atproto.identity.resolveHandle",
                        models.ComAtprotoIdentityResolveHandle.Params(handle=handle),
                    )
                    did = answer.get("did")
                    known[handle] = did if isinstance(did, str) and did.startswith("did:") else None
                except at_errors.BadRequestError:
                    known[handle] = None  # no such handle: plain text, as the app would leave it
            return known[handle]

        return did_of

    def _record(self, text: str, target: str, complaint: Complaint) -> models.AppBskyFeedPost.Record:
        """The reply record: ``parent`` is the post answered, ``root`` the first post of its thread."""
        answer = self.session.query("app.bsky.feed.getPosts", models.AppBskyFeedGetPosts.Params(uris=[uri_of(target)]))
        posts = answer.get("posts") or []
        if not posts:
            raise Undeliverable("the customer's post is gone (deleted, or hidden from the brand account)")
        parent = posts[0]
        if (parent.get("viewer") or {}).get("replyDisabled"):
            raise Undeliverable(
                "the customer limited who can reply to this thread on Bluesky, and the brand is not allowed: "
                "a reply would be hidden and they would never see it. Answer them another way (a DM, if they "
                "accept them)"
            )
        reply = (parent.get("record") or {}).get("reply") or {}
        root = (
            reply.get("root") if isinstance(reply.get("root"), dict) and split_uri(reply["root"].get("uri")) else None
        )
        parent_ref = models.ComAtprotoRepoStrongRef.Main(uri=parent["uri"], cid=parent["cid"])
        root_ref = models.ComAtprotoRepoStrongRef.Main(uri=root["uri"], cid=root["cid"]) if root else parent_ref
        marked = facets(text, self._did_of(complaint))
        return models.AppBskyFeedPost.Record(
            text=text,
            created_at=self.clock.now().astimezone(UTC).isoformat().replace("+00:00", "Z"),
            reply=models.AppBskyFeedPost.ReplyRef(root=root_ref, parent=parent_ref),
            langs=[complaint.lang] if complaint.lang else None,
            facets=[models.AppBskyRichtextFacet.Main.model_validate(f) for f in marked] or None,
        )


def _message(exc: BaseException) -> str:
    response = getattr(exc, "response", None)
    content = getattr(response, "content", None)
    message = getattr(content, "message", None) or error_code(exc) or type(exc).__name__
    return str(message)[:300]


def build_bluesky_transport(settings: Any, clock: Clock) -> BlueskyTransport | None:
    """The Bluesky reply transport when the brand account is configured, else None."""
    bluesky = bluesky_settings.of(settings)
    if not bluesky.handle or not bluesky.app_password:
        return None
    return BlueskyTransport(make_session(settings, clock), clock)
