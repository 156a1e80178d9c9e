"""The outbox worker: delivers stored Slack messages exactly once, in priority order, within limits.

- **Order**: the highest-priority due row goes first; a card's thread lines and refreshes wait for
  the card itself.
- **Rate**: a token bucket per channel keeps ``chat.postMessage`` to about 1 per second per channel
  (``chat.update`` has its own, Tier-3 budget). A 429 reschedules the row for ``Retry-After``
  seconds and pauses that channel's bucket as long; it is never retried sooner.
- **Failures**: 5xx, timeouts and dropped connections are retried with back-off; errors that no
  retry can fix (channel_not_found, invalid_blocks …) mark the row dead after a few attempts and log.
- **Exactly once**: a row is leased by a conditional update before sending, so two posters never
  send it together. Every message carries metadata with its outbox id; a row whose earlier attempt
  may have reached Slack (the process died before storing ``ts``) is first looked for in the
  channel, and only posted if it is not there.
- **Storms**: a new card whose text matches an open card (or a pending one of higher priority)
  after normalisation is folded into it as ``+N similar`` instead of taking a message of its own.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker

from bot.domain import outbox as kinds
from bot.domain import reports
from bot.domain.clock import Clock
from bot.domain.complaints import record_event
from bot.domain.promises import NAG_KINDS as NAG_OUTBOX_KINDS
from bot.domain.types import OPEN_STATUSES, Kind, OutboxStatus
from bot.slack import blocks
from bot.slack.ids import METADATA_EVENT
from bot.store.models import Complaint, Outbox, Promise
from bot.store.models import Post as PostRow

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 12
PERMANENT_ERRORS = {
    "channel_not_found",
    "not_in_channel",
    "is_archived",
    "invalid_blocks",
    "invalid_blocks_format",
    "msg_too_long",
    "no_text",
    "invalid_auth",
    "account_inactive",
    "token_revoked",
    "missing_scope",
    "message_not_found",
    "cant_update_message",
}
NAG_KINDS = set(NAG_OUTBOX_KINDS.values())
COLLAPSE_WINDOW = timedelta(hours=24)


class TokenBucket:
    """``rate`` tokens a second per key, holding at most ``burst``; time from an injected monotonic clock."""

    def __init__(self, rate: float, burst: float = 1.0, monotonic: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.burst = burst
        self.monotonic = monotonic
        self._state: dict[str, tuple[float, float]] = {}

    def _tokens(self, key: str) -> float:
        tokens, last = self._state.get(key, (self.burst, self.monotonic()))
        return min(self.burst, tokens + (self.monotonic() - last) * self.rate)

    def wait(self, key: str) -> float:
        """Seconds until a token is available for ``key`` (0 if one is)."""
        tokens = self._tokens(key)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate

    def take(self, key: str) -> None:
        self._state[key] = (self._tokens(key) - 1, self.monotonic())

    def pause(self, key: str, seconds: float) -> None:
        """After a 429: no token for ``key`` until ``seconds`` from now."""
        self._state[key] = (-seconds * self.rate, self.monotonic())


class RetryLater(Exception):
    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(reason)
        self.seconds = seconds


class Poster:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        client: WebClient,
        clock: Clock,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        post_rate: float = 1.0,
        update_rate: float = 0.8,
        idle_seconds: float = 0.25,
    ) -> None:
        self.sessions = sessions
        self.client = client
        self.clock = clock
        self.posts = TokenBucket(post_rate, 1.0, monotonic)
        self.updates = TokenBucket(update_rate, 2.0, monotonic)
        self.idle_seconds = idle_seconds
        self.sent = 0
        self._dm_channels: dict[str, str] = {}
        self.collapsed = 0
        self.retries = 0

    # -- the loop --------------------------------------------------------------------------------
    def step(self) -> float:
        """Deliver at most one row; return how long to wait before the next step."""
        now = self.clock.now()
        with self.sessions() as session:
            rows = session.execute(
                select(
                    Outbox.id,
                    Outbox.kind,
                    Outbox.channel,
                    Outbox.complaint_id,
                    Complaint.slack_ts,
                    Complaint.slack_channel,
                    Complaint.text_key,
                )
                .outerjoin(Complaint, Complaint.id == Outbox.complaint_id)
                .where(Outbox.status == OutboxStatus.PENDING.value, Outbox.available_at <= now)
                .order_by(Outbox.priority.desc(), Outbox.id)
                .limit(100)
            ).all()
        if not rows:
            return self.idle_seconds
        foldable = self._foldable_keys({r.text_key for r in rows if r.kind == kinds.POST_CARD and r.text_key})
        shortest = self.idle_seconds
        waiting: set[str] = set()  # channels that had to wait: nothing lower in priority may overtake
        for row in rows:
            needs_card = row.kind in (kinds.UPDATE_CARD, kinds.THREAD_REPLY, kinds.NOTE, "nag_thread")
            if needs_card and row.slack_ts is None:
                continue  # the card is not posted yet; its own row comes first
            channel = row.slack_channel if needs_card else row.channel
            bucket, key = (self.updates, f"u:{channel}") if row.kind == kinds.UPDATE_CARD else (self.posts, channel)
            if row.kind == kinds.POST_CARD and row.text_key in foldable:
                # Folding sends nothing, so it needs no token: a storm folds at database speed.
                if self._lease(row.id, now):
                    self._deliver(row.id, bucket, key)
                    return 0.0
                continue
            if key in waiting:
                continue
            wait = bucket.wait(key)
            if wait > 0:
                waiting.add(key)
                shortest = min(shortest, wait)
                continue
            if not self._lease(row.id, now):
                continue
            self._deliver(row.id, bucket, key)
            return 0.0
        return shortest

    def drain(self, max_steps: int = 10_000, until: Callable[[], bool] | None = None) -> int:
        """Run steps until nothing is due (for tests and the demo; production uses the worker loop)."""
        for n in range(max_steps):
            if until and until():
                return n
            if self.step() > 0 and not self._due():
                return n
        return max_steps

    def next_due_in(self) -> float | None:
        """Seconds until the earliest pending row is due (None when nothing is pending)."""
        with self.sessions() as session:
            first = session.execute(
                select(Outbox.available_at)
                .where(Outbox.status == OutboxStatus.PENDING.value)
                .order_by(Outbox.available_at)
                .limit(1)
            ).scalar_one_or_none()
        return None if first is None else max(0.0, (first - self.clock.now()).total_seconds())

    def _due(self) -> bool:
        with self.sessions() as session:
            return (
                session.execute(
                    select(Outbox.id)
                    .where(Outbox.status == OutboxStatus.PENDING.value, Outbox.available_at <= self.clock.now())
                    .limit(1)
                ).first()
                is not None
            )

    def _lease(self, row_id: int, now: datetime) -> bool:
        """Take the row for ``LEASE``: another poster skips it; if we die, it comes back."""
        with self.sessions() as session, session.begin():
            taken = session.execute(
                update(Outbox)
                .where(Outbox.id == row_id, Outbox.status == OutboxStatus.PENDING.value, Outbox.available_at <= now)
                .values(available_at=now + LEASE, attempts=Outbox.attempts + 1)
            ).rowcount  # type: ignore[attr-defined]
        return taken == 1

    # -- one delivery ------------------------------------------------------------------------------
    def _deliver(self, row_id: int, bucket: TokenBucket, key: str) -> None:
        with self.sessions() as session:
            row = session.get(Outbox, row_id)
            assert row is not None
            complaint = session.get(Complaint, row.complaint_id) if row.complaint_id else None
            session.expunge_all()
        try:
            if row.kind == kinds.POST_CARD and complaint is not None and self._collapse(row, complaint):
                return
            bucket.take(key)
            ts = self._send(row, complaint)
        except RetryLater as exc:
            self.retries += 1
            if "429" in str(exc):
                bucket.pause(key, exc.seconds)
            self._reschedule(row, exc.seconds, str(exc))
            return
        except SlackApiError as exc:
            error = str(exc.response.get("error", "unknown"))
            if error in PERMANENT_ERRORS or row.attempts >= MAX_ATTEMPTS:
                self._dead(row, error)
            else:
                self._reschedule(row, self._backoff(row.attempts), error)
            return
        except Exception as exc:  # network errors, timeouts, dropped connections
            if row.attempts >= MAX_ATTEMPTS:
                self._dead(row, f"{type(exc).__name__}: {exc}")
                return
            self.retries += 1
            self._reschedule(row, self._backoff(row.attempts), f"{type(exc).__name__}: {exc}")
            return
        self._done(row, complaint, ts)

    @staticmethod
    def _backoff(attempts: int) -> float:
        return min(300.0, 2.0 ** max(0, attempts - 1))

    def _send(self, row: Outbox, complaint: Complaint | None) -> str | None:
        now = self.clock.now()
        if row.kind == kinds.UPDATE_CARD:
            assert complaint is not None
            assert complaint.slack_ts
            payload = blocks.build_card(self._card(complaint), now)
            self._call("chat_update", channel=complaint.slack_channel, ts=complaint.slack_ts, **payload)
            return complaint.slack_ts
        channel, thread_ts, payload = self._render(row, complaint, now)
        channel = self._conversation(channel)
        if row.attempts > 1:
            found = self._find_posted(row.id, channel, thread_ts, row.created_at)
            if found:
                log.info("outbox %d: found in the channel after a lost response; not posting again", row.id)
                return found
        metadata = {
            "event_type": METADATA_EVENT,
            "event_payload": {"outbox_id": row.id, "complaint_id": row.complaint_id or 0},
        }
        answer = self._call(
            "chat_postMessage",
            channel=channel,
            thread_ts=thread_ts,
            metadata=metadata,
            unfurl_links=False,
            unfurl_media=False,
            **payload,
        )
        return str(answer["ts"])

    def _render(
        self, row: Outbox, complaint: Complaint | None, now: datetime
    ) -> tuple[str, str | None, dict[str, Any]]:
        if row.kind in NAG_KINDS:
            assert complaint is not None
            return self._render_nag(row, complaint, now)
        if row.kind == kinds.DIGEST:
            return self._render_digest(row, now)
        if row.kind == kinds.POST_CARD:
            assert complaint is not None
            assert row.channel
            return row.channel, None, blocks.build_card(self._card(complaint), now)
        if row.kind == kinds.KUDOS:
            assert complaint is not None
            assert row.channel
            return row.channel, None, blocks.build_kudos(blocks.card_state(complaint))
        if row.kind == kinds.ALERT:
            assert row.channel
            return row.channel, None, blocks.build_alert(str(row.payload.get("text", "")))
        if row.kind == kinds.ESCALATION:
            assert complaint is not None
            assert row.channel
            permalink = None
            if complaint.slack_ts:
                try:
                    permalink = self._call(
                        "chat_getPermalink", channel=complaint.slack_channel, message_ts=complaint.slack_ts
                    ).get("permalink")
                except SlackApiError:
                    permalink = None
            state = blocks.card_state(complaint)
            return (
                row.channel,
                None,
                blocks.build_escalation_notice(
                    state, str(row.payload.get("tier", "")), row.payload.get("contact"), permalink
                ),
            )
        assert complaint is not None
        assert complaint.slack_channel
        if row.kind == kinds.THREAD_REPLY:
            with self.sessions() as session:
                post = session.execute(
                    select(PostRow).where(
                        PostRow.source == row.payload.get("source"), PostRow.external_id == row.payload.get("post_id")
                    )
                ).scalar_one()
            return (
                complaint.slack_channel,
                complaint.slack_ts,
                blocks.build_customer_reply(post.author_handle, post.text),
            )
        if row.kind == kinds.NOTE:
            return complaint.slack_channel, complaint.slack_ts, blocks.build_note(blocks.format_note(row.payload))
        raise ValueError(f"unknown outbox kind {row.kind!r}")

    def _conversation(self, channel: str) -> str:
        """A DM addressed to a person (U…/W…) goes to the app's conversation with them (D…): only that
        id can be searched afterwards for a post whose answer was lost."""
        if not channel or channel[0] not in "UW":
            return channel
        if channel not in self._dm_channels:
            answer = self._call("conversations_open", users=channel)
            self._dm_channels[channel] = str(answer["channel"]["id"])
        return self._dm_channels[channel]

    def _card(self, complaint: Complaint) -> blocks.CardState:
        with self.sessions() as session:
            promises = reports.open_promises_on(session, complaint.id)
        return blocks.card_state(complaint, promises)

    def _permalink(self, channel: str | None, ts: str | None) -> str | None:
        if not channel or not ts:
            return None
        try:
            return self._call("chat_getPermalink", channel=channel, message_ts=ts).get("permalink")
        except SlackApiError:
            return None

    def _render_nag(self, row: Outbox, complaint: Complaint, now: datetime) -> tuple[str, str | None, dict[str, Any]]:
        with self.sessions() as session:
            promise = session.get(Promise, row.promise_id)
        assert promise is not None
        view = blocks.PromiseView(
            promise.id, promise.owner_id, promise.text, promise.due_at, promise.status, promise.reschedule_count
        )
        kind = str(row.payload.get("kind"))
        permalink = None if kind == "thread" else self._permalink(complaint.slack_channel, complaint.slack_ts)
        payload = blocks.build_nag(
            kind, view, self._card(complaint), now, contact=row.payload.get("contact"), permalink=permalink
        )
        assert row.channel
        thread = complaint.slack_ts if kind == "thread" else None
        return row.channel, thread, payload

    def _render_digest(self, row: Outbox, now: datetime) -> tuple[str, str | None, dict[str, Any]]:
        report = row.payload
        lines = [*(report.get("overdue") or []), *(report.get("due_today") or [])]
        permalinks = {}
        for line in lines[:60]:
            cid = int(line["complaint_id"])
            if cid not in permalinks and line.get("ts"):
                link = self._permalink(line.get("channel"), line.get("ts"))
                if link:
                    permalinks[cid] = link
        assert row.channel
        return row.channel, None, blocks.build_digest(report, permalinks, now)

    def _call(self, method: str, **kwargs: Any) -> Any:
        try:
            return getattr(self.client, method)(**kwargs)
        except SlackApiError as exc:
            status = exc.response.status_code
            if status == 429:
                retry = float(exc.response.headers.get("Retry-After", exc.response.headers.get("retry-after", 1)))
                raise RetryLater(retry, f"429 rate limited for {retry:.0f}s") from None
            if status >= 500:
                raise RetryLater(1.0, f"Slack answered {status}") from None
            raise

    def _find_posted(self, row_id: int, channel: str, thread_ts: str | None, since: datetime) -> str | None:
        """Look for a message we tagged with ``row_id``: it reached Slack if it is there."""
        oldest = f"{(since - timedelta(minutes=5)).timestamp():.6f}"
        if thread_ts:
            answer = self._call(
                "conversations_replies",
                channel=channel,
                ts=thread_ts,
                oldest=oldest,
                include_all_metadata=True,
                limit=200,
            )
        else:
            answer = self._call(
                "conversations_history", channel=channel, oldest=oldest, include_all_metadata=True, limit=200
            )
        for message in answer.get("messages", []):
            meta = message.get("metadata") or {}
            if (
                meta.get("event_type") == METADATA_EVENT
                and (meta.get("event_payload") or {}).get("outbox_id") == row_id
            ):
                return str(message["ts"])
        return None

    # -- outcomes ----------------------------------------------------------------------------------
    def _done(self, row: Outbox, complaint: Complaint | None, ts: str | None) -> None:
        now = self.clock.now()
        with self.sessions() as session, session.begin():
            session.execute(
                update(Outbox)
                .where(Outbox.id == row.id)
                .values(status=OutboxStatus.SENT.value, sent_at=now, slack_ts=ts, last_error=None)
            )
            if row.kind == kinds.POST_CARD and complaint is not None:
                session.execute(
                    update(Complaint).where(Complaint.id == complaint.id).values(slack_channel=row.channel, slack_ts=ts)
                )
        self.sent += 1

    def _reschedule(self, row: Outbox, seconds: float, reason: str) -> None:
        log.warning("outbox %d (%s): %s; retrying in %.1fs", row.id, row.kind, reason, seconds)
        with self.sessions() as session, session.begin():
            session.execute(
                update(Outbox)
                .where(Outbox.id == row.id)
                .values(available_at=self.clock.now() + timedelta(seconds=seconds), last_error=reason[:500])
            )

    def _dead(self, row: Outbox, reason: str) -> None:
        log.error(
            "outbox %d (%s) cannot be delivered: %s — given up after %d attempt(s)",
            row.id,
            row.kind,
            reason,
            row.attempts,
        )
        with self.sessions() as session, session.begin():
            session.execute(
                update(Outbox)
                .where(Outbox.id == row.id)
                .values(status=OutboxStatus.DEAD.value, last_error=reason[:500])
            )

    def _foldable_keys(self, keys: set[str]) -> set[str]:
        """Which of these text keys already have an open, posted card to fold into (one query)."""
        if not keys:
            return set()
        with self.sessions() as session:
            return set(
                session.scalars(
                    select(Complaint.text_key).where(
                        Complaint.text_key.in_(keys),
                        Complaint.slack_ts.is_not(None),
                        Complaint.duplicate_of.is_(None),
                        Complaint.status.in_([s.value for s in OPEN_STATUSES]),
                        Complaint.created_at >= self.clock.now() - COLLAPSE_WINDOW,
                    )
                )
            )

    def _primary_for(self, complaint_id: int | None, session: Session | None = None) -> Complaint | None:
        """An open, posted card with the same normalised text as ``complaint_id``, within a day."""
        if complaint_id is None:
            return None
        if session is None:
            with self.sessions() as own:
                return self._primary_for(complaint_id, own)
        complaint = session.get(Complaint, complaint_id)
        if complaint is None or not complaint.text_key or complaint.kind != Kind.COMPLAINT:
            return None
        return session.execute(
            select(Complaint)
            .where(
                Complaint.text_key == complaint.text_key,
                Complaint.id != complaint.id,
                Complaint.slack_ts.is_not(None),
                Complaint.duplicate_of.is_(None),
                Complaint.status.in_([s.value for s in OPEN_STATUSES]),
                Complaint.created_at >= self.clock.now() - COLLAPSE_WINDOW,
            )
            .order_by(Complaint.id.desc())
            .limit(1)
        ).scalar_one_or_none()

    def _collapse(self, row: Outbox, complaint: Complaint) -> bool:
        """Fold ``complaint`` into an open card with the same text, if there is one. True if folded."""
        now = self.clock.now()
        with self.sessions() as session, session.begin():
            primary = self._primary_for(complaint.id, session)
            if primary is None:
                return False
            session.execute(update(Complaint).where(Complaint.id == complaint.id).values(duplicate_of=primary.id))
            session.execute(
                update(Complaint)
                .where(Complaint.id == primary.id)
                .values(
                    duplicate_count=Complaint.duplicate_count + 1,
                    amplification_reach=Complaint.amplification_reach + complaint.author_followers,
                    priority=max(primary.priority, complaint.priority),
                )
            )
            session.execute(
                update(Outbox)
                .where(Outbox.id == row.id)
                .values(status=OutboxStatus.SENT.value, sent_at=now, last_error=f"folded into #{primary.id}")
            )
            record_event(
                session,
                complaint_id=complaint.id,
                actor="followthrough",
                action="folded",
                note=f"same text as #{primary.id}",
                at=now,
                details={"into": primary.id},
            )
            kinds.request_card_refresh(session, primary.id, at=now, priority=primary.priority)
        self.collapsed += 1
        return True
