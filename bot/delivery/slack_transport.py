"""The Slack transport: renders each delivery kind from stored state and sends it exactly once.

Each kind's message is built by its renderer (``bot.delivery.renderers``) from stored state. Sending:

- every message carries metadata naming its delivery id; a row whose earlier attempt may have
  reached Slack (the answer was lost) is first looked for in the channel — following every page
  back to its first attempt — and only posted if it is not there;
- a DM addressed to a person goes to the app's conversation with them (``conversations.open``),
  because only that conversation can be searched afterwards;
- 429 becomes ``RetryLater`` with Slack's Retry-After (the lane pauses); 5xx, timeouts and dropped
  connections ``RetryLater`` with back-off; errors no retry can fix ``Undeliverable``.
"""

from __future__ import annotations

import dataclasses
import http.client
import logging
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackRequestError
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from bot.common.clock import Clock
from bot.delivery.renderers import RENDERERS, Outgoing, RenderContext, Upload
from bot.outbox.kinds import SLACK, DeliveryKind
from bot.outbox.send_errors import RetryLater, Undeliverable
from bot.outbox.transport import Sent
from bot.slack.ids import METADATA_EVENT
from bot.slack.views.fit import fit_message
from bot.store.models import Complaint, Delivery

log = logging.getLogger(__name__)

PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_blocks_format",
        "msg_too_long",
        "msg_blocks_too_long",
        "no_text",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "token_revoked",
        "token_expired",
        "missing_scope",
        "message_not_found",
        "cant_update_message",
        "cant_delete_message",
        "user_not_found",
        "cannot_dm_bot",
        "user_disabled",
    }
)
LANE_METHODS = frozenset({"chat_postMessage", "chat_update", "chat_delete", "files_upload_v2"})
"""The calls a lane paces (``kinds.lane_for``): a 429 on one of them pauses the lane for every worker."""
LOOKBACK = timedelta(seconds=30)
"""Clock skew allowed between us and Slack either side of a post attempt's window."""
POST_WINDOW = timedelta(seconds=15)
"""How long after a post attempt started Slack may still have stamped the message (the client's 10 s
timeout, and some)."""
PAGE = 15
"""Messages asked for per ``conversations.history`` / ``replies`` page: the most that apps not approved
for the Slack Marketplace get since 2025-05-29 (they also get 1 request a minute), so the search
behaves the same for every app."""


class SlackTransport:
    name = SLACK

    def __init__(self, client: WebClient, sessions: sessionmaker[Session], clock: Clock) -> None:
        self.client = client
        self.sessions = sessions
        self.clock = clock
        self.context = RenderContext(sessions, clock, self.call)
        self._dm_channels: dict[str, str] = {}
        self._searched: dict[int, tuple[float, float]] = {}
        """How far each unfinished search got (oldest, latest): resumed after a 429."""

    def send(self, row: Delivery, complaint: Complaint | None, card: Complaint | None) -> Sent:
        renderer = RENDERERS[DeliveryKind(row.kind)]
        out = renderer(self.context, row, complaint, card)
        out = dataclasses.replace(out, payload=fit_message(out.payload))  # the one place limits are met
        if out.upload is not None:
            return self.send_upload(row, out, out.upload)
        if out.delete_ts:
            try:
                self.call("chat_delete", channel=out.channel, ts=out.delete_ts)
            except Undeliverable as exc:
                if str(exc) != "message_not_found":  # gone already (an earlier attempt, or a person)
                    raise
            return Sent(out.channel, out.delete_ts)
        if out.update_ts:
            self.call("chat_update", channel=out.channel, ts=out.update_ts, **out.payload)
            return Sent(out.channel, out.update_ts)
        channel = self._conversation(out.channel)
        if row.attempts > 1 and row.first_attempt_at is not None:
            found = self.find_posted(row.id, channel, out.thread_ts, row.first_attempt_at)
            if found:
                log.info("delivery %d: found in the channel after a lost answer; not posting again", row.id)
                return Sent(channel, found, recovered=True)
        self._attempting(row)
        metadata = {
            "event_type": METADATA_EVENT,
            "event_payload": {"delivery_id": row.id, "complaint_id": row.complaint_id or 0},
        }
        answer = self.call(
            "chat_postMessage",
            channel=channel,
            thread_ts=out.thread_ts,
            metadata=metadata,
            unfurl_links=False,
            unfurl_media=False,
            **out.payload,
        )
        return Sent(str(answer.get("channel") or channel), str(answer["ts"]))

    def call(self, method: str, **kwargs: Any) -> Any:
        """One Web API call, with Slack's failures sorted into retry-later and never."""
        try:
            return getattr(self.client, method)(**kwargs)
        except SlackApiError as exc:
            status = exc.response.status_code
            error = str(exc.response.get("error", "unknown"))
            if status == 429:
                headers = exc.response.headers
                retry = float(headers.get("Retry-After", headers.get("retry-after", 1)))
                # Only a refused post or edit pauses the channel's lane. A look back through the
                # history (1 request a minute for apps outside the Marketplace), a permalink or a DM
                # opening has its own limit: that row waits, the channel's other rows go on.
                raise RetryLater(
                    retry, f"429 rate limited for {retry:.0f}s ({method})", pause_lane=method in LANE_METHODS
                ) from None
            if status >= 500:
                raise RetryLater(1.0, f"Slack answered {status}") from None
            if error in PERMANENT_ERRORS:
                raise Undeliverable(error) from None
            raise RetryLater(1.0, f"Slack said {error}") from None
        except (OSError, http.client.HTTPException) as exc:  # timeouts, refused and dropped connections
            raise RetryLater(1.0, f"{type(exc).__name__}: {exc}") from None

    def _conversation(self, channel: str) -> str:
        if not channel or channel[0] not in "UW":
            return channel
        if channel not in self._dm_channels:
            answer = self.call("conversations_open", users=channel)
            self._dm_channels[channel] = str(answer["channel"]["id"])
        return self._dm_channels[channel]

    def _attempting(self, row: Delivery) -> None:
        """Note when this post attempt starts: a copy it leaves behind (its answer lost) is stamped
        between now and ``POST_WINDOW`` later, and every earlier attempt was already looked for — so
        the next look covers this attempt's window only, however long the retries go on."""
        if row.id is None:
            return
        now = self.clock.now()
        with self.sessions() as session, session.begin():
            session.execute(
                update(Delivery)
                .where(Delivery.id == row.id)
                .values(first_attempt_at=now)
                .execution_options(synchronize_session=False)
            )
        row.first_attempt_at = now
        self._searched.pop(row.id, None)

    def find_posted(self, delivery_id: int, channel: str, thread_ts: str | None, attempt: datetime) -> str | None:
        """Look for a message tagged with ``delivery_id`` posted by the attempt that started at ``attempt``.

        The window is that attempt's alone (``LOOKBACK`` before to ``POST_WINDOW`` + ``LOOKBACK`` after),
        read in pages of ``PAGE`` bounded by time rather than by cursor; the bound reached is kept, so a
        search cut short by a 429 (1 request a minute for apps outside the Marketplace) resumes where it
        stopped instead of starting again and never getting past its first page.
        """
        oldest, latest = (attempt - LOOKBACK).timestamp(), (attempt + POST_WINDOW + LOOKBACK).timestamp()
        while True:
            oldest, latest = self._searched.get(delivery_id, (oldest, latest))
            args: dict[str, Any] = {
                "channel": channel,
                "oldest": f"{oldest:.6f}",
                "latest": f"{latest:.6f}",
                "include_all_metadata": True,
                "limit": PAGE,
            }
            if thread_ts:
                answer = self.call("conversations_replies", ts=thread_ts, **args)
            else:
                answer = self.call("conversations_history", **args)
            messages = answer.get("messages") or []
            for message in messages:
                meta = message.get("metadata") or {}
                payload = meta.get("event_payload") or {}
                # ``outbox_id``: messages posted before deliveries had their own table carry that name.
                if meta.get("event_type") == METADATA_EVENT and delivery_id in (
                    payload.get("delivery_id"),
                    payload.get("outbox_id"),
                ):
                    self._searched.pop(delivery_id, None)
                    return str(message["ts"])
            stamps = [float(m["ts"]) for m in messages if not thread_ts or m.get("ts") != thread_ts]
            if not answer.get("has_more") or not stamps:
                self._searched.pop(delivery_id, None)
                return None
            # History runs newest first: the next page ends where this one did. Replies run oldest
            # first (after the parent): the next page starts where this one ended.
            self._searched[delivery_id] = (oldest, min(stamps)) if not thread_ts else (max(stamps), latest)

    # -- uploads ----------------------------------------------------------------------------------
    def send_upload(self, row: Delivery, out: Outgoing, upload: Upload) -> Sent:
        """Share a file once. Look before re-sending means: an earlier attempt whose answer was lost
        may have shared the file, so the channel is searched for a message carrying a file of this
        delivery's own name, back to the first attempt. An attempt that died before completing the
        upload leaves only an unshared file nobody sees (Slack discards it); uploading again is right.
        """
        channel = self._conversation(out.channel)
        if row.attempts > 1 and row.first_attempt_at is not None:
            found = self.find_uploaded(upload.filename, channel, row.first_attempt_at, out.thread_ts)
            if found:
                log.info("delivery %d: its file is already in the channel; not uploading again", row.id)
                return Sent(channel, found, recovered=True)
        extra: dict[str, Any] = {"thread_ts": out.thread_ts} if out.thread_ts else {}
        comment = str(out.payload.get("text") or "")
        if comment:
            extra["initial_comment"] = comment
        try:
            answer = self.call(
                "files_upload_v2",
                channel=channel,
                content=upload.content,
                filename=upload.filename,
                title=upload.title,
                alt_txt=upload.alt_txt,
                **extra,
            )
        except SlackRequestError as exc:  # the bytes were refused by the upload URL
            raise RetryLater(5.0, f"upload failed: {exc}") from None
        except Undeliverable as exc:
            if out.refused_upload is None:
                raise
            log.warning("delivery %d: Slack refused the upload (%s); posting why instead", row.id, exc)
            note = self.call(
                "chat_postMessage",
                channel=channel,
                thread_ts=out.thread_ts,
                **fit_message(out.refused_upload(str(exc))),
            )
            return Sent(channel, str(note["ts"]))
        return Sent(channel, str((answer.get("file") or {}).get("id") or answer["files"][0]["id"]))

    def find_uploaded(
        self, filename: str, channel: str, first_attempt: datetime, thread_ts: str | None = None
    ) -> str | None:
        """The id of a file named ``filename`` shared in ``channel`` (or in the thread of ``thread_ts``)
        since ``first_attempt``, page by page."""
        oldest = first_attempt - LOOKBACK
        cursor: str | None = None
        while True:
            args: dict[str, Any] = {"channel": channel, "oldest": f"{oldest.timestamp():.6f}", "limit": 200}
            if cursor:
                args["cursor"] = cursor
            if thread_ts:
                answer = self.call("conversations_replies", ts=thread_ts, **args)
            else:
                answer = self.call("conversations_history", **args)
            for message in answer.get("messages") or []:
                for shared in message.get("files") or []:
                    if shared.get("name") == filename:
                        return str(shared["id"])
            cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor or not answer.get("has_more", True):
                return None
