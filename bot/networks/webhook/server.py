"""The signed webhook: ``POST /ingest/<source>`` puts posts from anywhere into the durable inbox.

For networks we have no reader for (Facebook Page and Instagram comments through a relay, email,
another helpdesk): the sender posts one record or a JSON array of records in the replay format,
signed with the source's own secret (``WEBHOOK_SECRET_<SOURCE>``)::

    X-Followthrough-Timestamp: 1767225600
    X-Followthrough-Signature: v1=<hex HMAC-SHA256(secret, "v1:<timestamp>:<body>")>

Why each rule:

- the timestamp is inside the signed text and must be within 5 minutes of our clock (either way),
  so a captured request cannot be replayed later; comparison is constant-time (``hmac``);
- an unknown source, or one without a secret, gets the same 404 as any unknown path: the endpoint
  does not tell a prober which sources exist;
- 401 and 413 change nothing: the body is not parsed before the signature is checked, nor read at
  all when it is declared too large;
- 202 is sent only after the records are committed to the inbox (one transaction), so a sender that
  gets 202 may forget them; anything else (503 when the database is away) means "send it again",
  and a resend doubles nothing: ingest drops a post whose (source, id) it has stored, and records
  already stored are not written to the inbox again (they are reported as duplicates);
- a bad record is reported by its index with the reason and the good ones are kept, so one broken
  record in a batch of fifty never makes the sender retry the other forty-nine for ever.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets as secrets_module
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from bot.common import jsonsafe
from bot.common.clock import Clock
from bot.intake.inbox import Inbox, RawPost
from bot.intake.posts import post_from_record
from bot.networks.webhook import settings as webhook_settings
from bot.networks.webhook.settings import SOURCE_NAME
from bot.store.engine import unavailable
from bot.store.enums import InboxStatus
from bot.store.models import InboxItem
from bot.store.models import Post as PostRow

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]

PREFIX = "/ingest/"
SIGNATURE_HEADER = "X-Followthrough-Signature"
TIMESTAMP_HEADER = "X-Followthrough-Timestamp"
TOLERANCE_SECONDS = 300
MAX_BODY = 1024 * 1024
PENDING = InboxStatus.PENDING.value
MAX_RECORDS = 1000
"""A 1 MB body holds a few thousand tiny records; a request is answered within one transaction, so
the count is capped too (a sender splits larger batches)."""


def stream_name(source: str) -> str:
    """The inbox stream (and the cursor/health row) of a webhook source."""
    return f"webhook:{source}"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header's value for ``body`` sent at ``timestamp`` (unix seconds, as text)."""
    mac = hmac.new(secret.encode(), b"v1:" + timestamp.encode() + b":" + body, hashlib.sha256)
    return "v1=" + mac.hexdigest()


def signature_ok(secret: str, timestamp: str, signature: str, body: bytes, now: float) -> bool:
    """Whether ``signature`` (one or more comma-separated ``v1=…``) signs ``body`` at a fresh ``timestamp``."""
    if (
        not (timestamp.isascii() and timestamp.isdigit())
        or len(timestamp) > 12
        or abs(now - int(timestamp)) > TOLERANCE_SECONDS
    ):
        return False
    expected = sign(secret, timestamp, body)
    good = False
    for candidate in signature.split(","):
        # compare_digest over every candidate: no early exit that would time which one matched
        good |= hmac.compare_digest(candidate.strip().encode(), expected.encode())
    return good


@dataclass(frozen=True)
class Reply:
    status: str
    body: dict[str, Any]
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class _Slot:
    """One request's valid records, waiting for a group commit; ``accepted``: how many were new."""

    source: str
    records: dict[str, tuple[int, dict[str, Any]]]
    accepted: int = 0
    error: BaseException | None = None
    done: bool = False


class GroupWriter:
    """Writes the records of concurrent requests in one transaction (group commit).

    Why: a request may be answered 202 only once its records are committed, and on SQLite commits
    are one at a time — fifty senders each waiting for their own commit queue up behind each other.
    Here a request adds its records to a queue and takes the write lock; whoever gets it writes
    everything queued so far (its own and the others'), so one commit answers many requests. A
    request whose records a previous holder wrote returns at once. If the database is unavailable,
    every request in that group fails (503: its sender retries); if the group fails for anything
    else, each request is written again on its own, so one sender's bad data fails only its request
    — never another sender's. Nothing is half-stored.

    The (source, id) check runs inside the same transaction, so two copies of one body arriving
    together are written once, and a post already ingested is not written to the inbox again.
    """

    def __init__(self, sessions: sessionmaker[Session], clock: Clock) -> None:
        self.sessions = sessions
        self.clock = clock
        self._queue: list[_Slot] = []
        self._queue_lock = threading.Lock()
        self._write_lock = threading.Lock()
        self.commits = 0

    def write(self, slot: _Slot) -> None:
        with self._queue_lock:
            self._queue.append(slot)
        with self._write_lock:
            if not slot.done:
                with self._queue_lock:
                    group, self._queue = self._queue, []
                try:
                    self._write_isolated(group)
                finally:
                    for queued in group:
                        queued.done = True
        if slot.error is not None:
            raise slot.error

    def _write_isolated(self, group: list[_Slot]) -> None:
        try:
            self._write(group)
            return
        except SQLAlchemyError as exc:
            if unavailable(exc) or len(group) == 1:
                for queued in group:
                    queued.error = exc
                return
            log.warning(
                "webhook: a group of %d requests failed (%s); writing each alone", len(group), type(exc).__name__
            )
        except BaseException as exc:
            for queued in group:
                queued.error = exc
            raise
        for queued in group:
            try:
                self._write([queued])
            except SQLAlchemyError as exc:
                queued.error = exc

    def _write(self, group: list[_Slot]) -> None:
        at = self.clock.now()
        with self.sessions() as session, session.begin():
            by_source: dict[str, list[_Slot]] = {}
            for slot in group:
                by_source.setdefault(slot.source, []).append(slot)
            for source, slots in by_source.items():
                ids = sorted({pid for slot in slots for pid in slot.records})
                taken = _stored_ids(session, source, ids)
                posts: list[RawPost] = []
                for slot in slots:
                    slot.accepted = 0
                    for pid, (index, record) in slot.records.items():
                        if pid in taken:
                            continue
                        taken.add(pid)
                        slot.accepted += 1
                        posts.append(RawPost(f"request record {index} (id {pid[:40]})", record))
                Inbox.add(session, stream_name(source), posts, at=at)
        self.commits += 1


def _stored_ids(session: Session, source: str, ids: list[str]) -> set[str]:
    """The ids of this source already ingested, or still waiting in the inbox to be: a retry —
    before or after the drain — writes nothing new and is counted as duplicates, not accepted."""
    found: set[str] = set()
    waiting = InboxItem.record["id"].as_string()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        rows = session.execute(
            select(PostRow.external_id).where(PostRow.source == source, PostRow.external_id.in_(chunk))
        )
        found.update(r[0] for r in rows)
        pending = session.execute(
            select(waiting).where(
                InboxItem.stream == stream_name(source),
                InboxItem.status == InboxStatus.PENDING.value,
                waiting.in_(chunk),
            )
        )
        found.update(r[0] for r in pending)
    return found


UNSIGNED = Reply("401 Unauthorized", {"error": "missing, wrong or stale signature"})


class WebhookIngest:
    """Checks, validates and stores one webhook request; knows nothing of HTTP servers (WSGI below)."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, secrets: Mapping[str, str]) -> None:
        self.sessions = sessions
        self.clock = clock
        self.writer = GroupWriter(sessions, clock)
        self._secrets = dict(secrets)
        self._decoy = secrets_module.token_hex(32)
        """Checked against for a source that does not exist, so its answer (401) and its time are a
        configured source's with a wrong signature: a prober learns nothing of which sources exist."""

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(sorted(self._secrets))

    def secret_of(self, source: str) -> str | None:
        if not SOURCE_NAME.match(source):
            return None
        return self._secrets.get(source)

    def receive(self, source: str, headers: Mapping[str, str], body: bytes) -> Reply:
        """``headers``: lower-case names. Assumes the body is at most MAX_BODY (the caller checked)."""
        secret = self.secret_of(source)
        timestamp = headers.get(TIMESTAMP_HEADER.lower(), "").strip()
        signature = headers.get(SIGNATURE_HEADER.lower(), "").strip()
        checked = secret if secret is not None else self._decoy
        good = bool(signature) and signature_ok(checked, timestamp, signature, body, self.clock.now().timestamp())
        if secret is None or not good:
            log.info("webhook %r: refused a request with a missing, wrong or stale signature", source[:40])
            return UNSIGNED
        try:
            payload = jsonsafe.loads(body.decode("utf-8"))
        except UnicodeDecodeError:
            return Reply("400 Bad Request", {"error": "the body is not UTF-8 JSON"})
        except ValueError as exc:
            return Reply("400 Bad Request", {"error": f"the body is not UTF-8 JSON ({str(exc)[:80]})"})
        records = payload if isinstance(payload, list) else [payload]
        if not isinstance(payload, list | dict) or not records:
            return Reply("400 Bad Request", {"error": "send one post (a JSON object) or a non-empty array of posts"})
        if len(records) > MAX_RECORDS:
            return Reply("413 Content Too Large", {"error": f"at most {MAX_RECORDS} posts a request"})
        return self._store(source, records)

    def _store(self, source: str, records: list[Any]) -> Reply:
        now = self.clock.now()
        rejected: list[dict[str, Any]] = []
        good: dict[str, tuple[int, dict[str, Any]]] = {}  # post id -> (index, record); a repeat in the body once
        for index, record in enumerate(records):
            try:
                why = jsonsafe.problem(record)
                if why:
                    raise ValueError(why)
                if isinstance(record, Mapping) and record.get("source") not in (None, "", source):
                    shown = str(record.get("source"))[:32]
                    raise ValueError(f"source {shown!r} does not match the source in the path ({source!r})")
                post = post_from_record(record, default_source=source, now=now)
            except Exception as exc:  # any record, however broken, is refused with its reason
                rejected.append({"index": index, "reason": str(exc) or type(exc).__name__})
                continue
            good.setdefault(post.id, (index, {**record, "source": source}))
        slot = _Slot(source, good)
        try:
            if good:
                self.writer.write(slot)
        except SQLAlchemyError as exc:
            if not unavailable(exc):
                # Written alone, this request still failed: its data, not our availability. A 5xx would
                # have the sender retry it for ever; say which records, and why, once.
                log.error("webhook %s: could not store a request: %s", source, type(exc).__name__)
                reason = f"could not be stored ({type(exc).__name__}); check the values of these posts"
                refused = rejected + [{"index": index, "reason": reason} for index, _ in good.values()]
                return Reply(
                    "422 Unprocessable Content",
                    {"accepted": 0, "duplicates": 0, "rejected": sorted(refused, key=lambda r: r["index"])},
                )
            log.warning("webhook %s: database unavailable; asked the sender to retry", source)
            return Reply(
                "503 Service Unavailable",
                {"error": "could not store the posts now; send the same request again"},
                (("Retry-After", "5"),),
            )
        for bad in rejected:
            log.warning("webhook %s: record %d skipped: %s", source, bad["index"], bad["reason"])
        body = {"accepted": slot.accepted, "duplicates": len(records) - len(rejected) - slot.accepted}
        body["rejected"] = rejected
        if not good:
            return Reply("422 Unprocessable Content", body)
        return Reply("202 Accepted", body)

    # -- WSGI ------------------------------------------------------------------------------------
    def wsgi(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        source = environ.get("PATH_INFO", "")[len(PREFIX) :]
        if environ.get("REQUEST_METHOD") != "POST":
            return _send(start_response, Reply("405 Method Not Allowed", {"error": "POST only"}, (("Allow", "POST"),)))
        try:
            declared = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return _send(start_response, Reply("400 Bad Request", {"error": "bad Content-Length"}))
        if declared > MAX_BODY:
            return _send(start_response, _too_large())
        body = environ["wsgi.input"].read(declared) if declared > 0 else b""
        headers = {
            SIGNATURE_HEADER.lower(): environ.get("HTTP_X_FOLLOWTHROUGH_SIGNATURE", ""),
            TIMESTAMP_HEADER.lower(): environ.get("HTTP_X_FOLLOWTHROUGH_TIMESTAMP", ""),
        }
        return _send(start_response, self.receive(source, headers, body))


def _too_large() -> Reply:
    return Reply("413 Content Too Large", {"error": f"the body is over {MAX_BODY:,} bytes; send fewer posts a request"})


def _send(start_response: StartResponse, reply: Reply) -> list[bytes]:
    data = json.dumps(reply.body).encode()
    start_response(
        reply.status,
        [("Content-Type", "application/json"), ("Content-Length", str(len(data))), *reply.headers],
    )
    return [data]


def from_settings(sessions: sessionmaker[Session], clock: Clock, settings: Any) -> WebhookIngest:
    """The webhook for the configured sources; none when ``SOURCES`` is given without ``webhook``."""
    hook = webhook_settings.of(settings)
    chosen = settings.sources
    secrets = {} if chosen and "webhook" not in chosen else {n: s.reveal() for n, s in hook.secrets}
    return WebhookIngest(sessions, clock, secrets)
