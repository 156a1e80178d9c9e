"""The Slack transport: renders each delivery kind from stored state and sends it exactly once.

Renderers are registered per kind (``@renders``); each turns a stored row plus the current state of
its complaint into one ``Outgoing`` message, so what Slack shows is always rebuilt from the database,
never patched. Sending:

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
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.delivery.errors import RetryLater, Undeliverable
from bot.delivery.kinds import DeliveryKind, Transport
from bot.delivery.transport import Sent
from bot.domain import replies, reports
from bot.domain.clock import Clock
from bot.slack import blocks
from bot.slack.ids import METADATA_EVENT
from bot.store.models import Complaint, Delivery, Promise
from bot.store.models import Post as PostRow

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
        "user_not_found",
        "cannot_dm_bot",
        "user_disabled",
    }
)
LOOKBACK = timedelta(minutes=5)
"""How far before a row's first attempt the channel is searched (clock skew between us and Slack)."""


@dataclass(frozen=True)
class Outgoing:
    channel: str
    """A channel id, or a person's user id for a DM."""
    payload: dict[str, Any]
    thread_ts: str | None = None
    update_ts: str | None = None
    """Edit this message (``chat.update``) instead of posting a new one."""


class RenderContext:
    """What renderers may read: the database (current state) and Slack (permalinks), and the time."""

    def __init__(self, sessions: sessionmaker[Session], clock: Clock, call: Callable[..., Any]) -> None:
        self.sessions = sessions
        self.clock = clock
        self._call = call
        self.reply_sources: frozenset[str] = frozenset()
        """Networks the brand can reply on from the card (their write keys are set)."""

    def now(self) -> datetime:
        return self.clock.now()

    def card(self, complaint: Complaint) -> blocks.CardState:
        with self.sessions() as session:
            promises = reports.open_promises_on(session, complaint.id)
            first = replies.first_response_seconds(session, complaint.id)
        state = blocks.card_state(complaint, promises)
        return dataclasses.replace(
            state, first_response_seconds=first, can_reply=complaint.source in self.reply_sources
        )

    def permalink(self, channel: str | None, ts: str | None) -> str | None:
        if not channel or not ts:
            return None
        try:
            return self._call("chat_getPermalink", channel=channel, message_ts=ts).get("permalink")
        except (SlackApiError, RetryLater, Undeliverable):
            return None  # a link is a nicety (the card may have been deleted); the message goes without it


Renderer = Callable[[RenderContext, Delivery, Complaint | None, Complaint | None], Outgoing]
RENDERERS: dict[DeliveryKind, Renderer] = {}


def renders(*kinds: DeliveryKind) -> Callable[[Renderer], Renderer]:
    def register(renderer: Renderer) -> Renderer:
        for kind in kinds:
            if kind in RENDERERS:
                raise ValueError(f"{kind} has two renderers")
            RENDERERS[kind] = renderer
        return renderer

    return register


def _need(value: Any, what: str) -> Any:
    if value is None:
        raise ValueError(f"missing {what}")
    return value


@renders(DeliveryKind.CARD)
def _card(ctx: RenderContext, row: Delivery, complaint: Complaint | None, _card: Complaint | None) -> Outgoing:
    complaint = _need(complaint, "complaint")
    return Outgoing(_need(row.channel, "channel"), blocks.build_card(ctx.card(complaint), ctx.now()))


@renders(DeliveryKind.CARD_UPDATE)
def _card_update(ctx: RenderContext, row: Delivery, _complaint: Complaint | None, card: Complaint | None) -> Outgoing:
    card = _need(card, "card")
    return Outgoing(
        _need(card.slack_channel, "card channel"),
        blocks.build_card(ctx.card(card), ctx.now()),
        update_ts=_need(card.slack_ts, "card ts"),
    )


@renders(DeliveryKind.CUSTOMER_REPLY)
def _customer_reply(ctx: RenderContext, row: Delivery, complaint: Complaint | None, card: Complaint | None) -> Outgoing:
    complaint, card = _need(complaint, "complaint"), _need(card, "card")
    with ctx.sessions() as session:
        post = session.execute(
            select(PostRow).where(
                PostRow.source == row.payload.get("source"), PostRow.external_id == row.payload.get("post_id")
            )
        ).scalar_one()
    folded_from = complaint.id if complaint.id != card.id else None
    return Outgoing(
        _need(card.slack_channel, "card channel"),
        blocks.build_customer_reply(post.author_handle, post.text, source=post.source, folded_from=folded_from),
        thread_ts=card.slack_ts,
    )


@renders(DeliveryKind.NOTE)
def _note(ctx: RenderContext, row: Delivery, _complaint: Complaint | None, card: Complaint | None) -> Outgoing:
    card = _need(card, "card")
    return Outgoing(
        _need(card.slack_channel, "card channel"),
        blocks.build_note(":lock: _internal_ · " + blocks.format_note(row.payload)),
        thread_ts=card.slack_ts,
    )


@renders(DeliveryKind.KUDOS)
def _kudos(ctx: RenderContext, row: Delivery, complaint: Complaint | None, _card: Complaint | None) -> Outgoing:
    return Outgoing(_need(row.channel, "channel"), blocks.build_kudos(blocks.card_state(_need(complaint, "complaint"))))


@renders(DeliveryKind.ALERT)
def _alert(ctx: RenderContext, row: Delivery, _complaint: Complaint | None, _card: Complaint | None) -> Outgoing:
    return Outgoing(_need(row.channel, "channel"), blocks.build_alert(str(row.payload["text"])))


def _own_card(ctx: RenderContext, complaint: Complaint) -> tuple[str | None, str | None]:
    """The channel and ts of the card carrying ``complaint`` (its own, or the one it was folded into)."""
    if complaint.slack_ts or not complaint.duplicate_of:
        return complaint.slack_channel, complaint.slack_ts
    with ctx.sessions() as session:
        primary = session.get(Complaint, complaint.duplicate_of)
        return (primary.slack_channel, primary.slack_ts) if primary else (None, None)


@renders(DeliveryKind.ESCALATION)
def _escalation(ctx: RenderContext, row: Delivery, complaint: Complaint | None, _card: Complaint | None) -> Outgoing:
    complaint = _need(complaint, "complaint")
    permalink = ctx.permalink(*_own_card(ctx, complaint))
    notice = blocks.build_escalation_notice(
        blocks.card_state(complaint), str(row.payload.get("tier", "")), row.payload.get("contact"), permalink
    )
    return Outgoing(_need(row.channel, "channel"), notice)


@renders(DeliveryKind.DIGEST)
def _digest(ctx: RenderContext, row: Delivery, _complaint: Complaint | None, _card: Complaint | None) -> Outgoing:
    report = row.payload
    permalinks: dict[int, str] = {}
    for line in [*(report.get("overdue") or []), *(report.get("due_today") or [])][:60]:
        cid = int(line["complaint_id"])
        if cid not in permalinks and line.get("ts"):
            link = ctx.permalink(line.get("channel"), line.get("ts"))
            if link:
                permalinks[cid] = link
    return Outgoing(_need(row.channel, "channel"), blocks.build_digest(report, permalinks, ctx.now()))


@renders(DeliveryKind.NAG_DM, DeliveryKind.NAG_THREAD, DeliveryKind.NAG_CHANNEL, DeliveryKind.NAG_ESCALATE)
def _nag(ctx: RenderContext, row: Delivery, complaint: Complaint | None, card: Complaint | None) -> Outgoing:
    complaint = _need(complaint, "complaint")
    with ctx.sessions() as session:
        promise = _need(session.get(Promise, row.promise_id), "promise")
    view = blocks.PromiseView(
        promise.id, promise.owner_id, promise.text, promise.due_at, promise.status, promise.reschedule_count
    )
    rung = str(row.payload.get("kind"))
    channel, ts = (card.slack_channel, card.slack_ts) if card is not None else _own_card(ctx, complaint)
    permalink = None if rung == "thread" else ctx.permalink(channel, ts)
    payload = blocks.build_nag(
        rung, view, ctx.card(complaint), ctx.now(), contact=row.payload.get("contact"), permalink=permalink
    )
    if rung == "thread":
        return Outgoing(_need(channel, "card channel"), payload, thread_ts=_need(ts, "card ts"))
    return Outgoing(_need(row.channel, "channel"), payload)


class SlackTransport:
    name = Transport.SLACK

    def __init__(self, client: WebClient, sessions: sessionmaker[Session], clock: Clock) -> None:
        self.client = client
        self.sessions = sessions
        self.clock = clock
        self.context = RenderContext(sessions, clock, self.call)
        self._dm_channels: dict[str, str] = {}

    def send(self, row: Delivery, complaint: Complaint | None, card: Complaint | None) -> Sent:
        renderer = RENDERERS[DeliveryKind(row.kind)]
        out = renderer(self.context, row, complaint, card)
        if out.update_ts:
            self.call("chat_update", channel=out.channel, ts=out.update_ts, **out.payload)
            return Sent(out.channel, out.update_ts)
        channel = self._conversation(out.channel)
        if row.attempts > 1 and row.first_attempt_at is not None:
            found = self.find_posted(row.id, channel, out.thread_ts, row.first_attempt_at)
            if found:
                log.info("delivery %d: found in the channel after a lost answer; not posting again", row.id)
                return Sent(channel, found)
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
                raise RetryLater(retry, f"429 rate limited for {retry:.0f}s", pause_lane=True) from None
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

    def find_posted(self, delivery_id: int, channel: str, thread_ts: str | None, first_attempt: datetime) -> str | None:
        """Look for a message tagged with ``delivery_id``, page by page, back to its first attempt."""
        oldest = first_attempt - LOOKBACK
        cursor: str | None = None
        while True:
            args: dict[str, Any] = {
                "channel": channel,
                "oldest": f"{oldest.timestamp():.6f}",
                "include_all_metadata": True,
                "limit": 200,
            }
            if cursor:
                args["cursor"] = cursor
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
                    return str(message["ts"])
            cursor = (answer.get("response_metadata") or {}).get("next_cursor") or None
            if not cursor or not answer.get("has_more", True):
                return None
            if not thread_ts and messages and float(messages[-1]["ts"]) < oldest.timestamp():
                return None  # history runs newest first: this page is already older than the first attempt


from bot.delivery import slack_replies  # noqa: E402, F401  (registers the reply renderers)
