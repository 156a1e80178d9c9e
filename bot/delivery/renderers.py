"""Slack renderers: one per delivery kind, each turning a stored row and the current state of its
complaint into one message (``Outgoing``).

What Slack shows is always rebuilt from the database, never patched: a renderer reads the row and
whatever it needs now (the card's state, a permalink) through ``RenderContext``. Kinds register with
``@renders``; a test insists every Slack kind has one. The transport (``bot.delivery.slack_transport``) sends.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from sqlalchemy import func, select
from sqlalchemy.exc import NoResultFound
from sqlalchemy.orm import Session, sessionmaker

from bot.common.clock import Clock
from bot.desk import replies
from bot.incidents import suggest
from bot.outbox.kinds import DeliveryKind
from bot.outbox.send_errors import RetryLater, Undeliverable
from bot.reports import status, weekly
from bot.slack.views import blocks, incident_blocks, reply_blocks
from bot.store.models import CommitmentLabel, Complaint, Delivery, Incident, IncidentUpdate, Promise
from bot.store.models import Post as PostRow


@dataclass(frozen=True)
class Outgoing:
    channel: str
    """A channel id, or a person's user id for a DM."""
    payload: dict[str, Any]
    thread_ts: str | None = None
    update_ts: str | None = None
    """Edit this message (``chat.update``) instead of posting a new one."""
    upload: Upload | None = None
    """Share a file with ``payload["text"]`` as its comment (``files_upload_v2``) instead of posting."""
    delete_ts: str | None = None
    """Delete this message (``chat.delete``): nothing is posted."""
    refused_upload: Callable[[str], dict[str, Any]] | None = None
    """When Slack refuses the upload for good (no ``files:write``, not in the channel): the message
    to post in its place, given Slack's reason — the file is lost, the reader is told why."""


@dataclass(frozen=True)
class Upload:
    filename: str
    """Unique per delivery: how a retry finds the file if an earlier attempt shared it."""
    content: bytes
    title: str
    alt_txt: str


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
            promises = status.open_promises_on(session, complaint.id)
            first = replies.first_response_seconds(session, complaint.id)
        state = blocks.card_state(complaint, promises)
        return dataclasses.replace(
            state, first_response_seconds=first, can_reply=complaint.source in self.reply_sources
        )

    def incident(self, complaint: Complaint) -> incident_blocks.IncidentView | None:
        """The incident whose card ``complaint``'s card row carries (it is the anchor), else None."""
        if complaint.incident_id is None:
            return None
        with self.sessions() as session:
            incident = session.get(Incident, complaint.incident_id)
            if incident is None or incident.anchor_id != complaint.id:
                return None
            samples = session.execute(
                select(Complaint.author_handle, Complaint.source, Complaint.text)
                .where(Complaint.incident_id == incident.id)
                .order_by((Complaint.author_followers + Complaint.amplification_reach).desc(), Complaint.id)
                .limit(3)
            ).all()
            latest = session.scalar(
                select(IncidentUpdate)
                .where(IncidentUpdate.incident_id == incident.id)
                .order_by(IncidentUpdate.id.desc())
                .limit(1)
            )
            progress = None
            if latest is not None:
                counts = dict(
                    session.execute(
                        select(Delivery.status, func.count())
                        .where(Delivery.incident_update == latest.id)
                        .group_by(Delivery.status)
                    ).all()
                )
                progress = incident_blocks.progress_text(
                    {
                        "kind": latest.kind,
                        "total": latest.customers,
                        "sent": counts.get("sent", 0),
                        "failed": counts.get("dead", 0) + counts.get("set_aside", 0),
                        "done": latest.customers - counts.get("pending", 0),
                        "finish_by": latest.finish_by.isoformat() if latest.finish_by else None,
                    }
                )
            view = incident_blocks.IncidentView(
                id=incident.id,
                status=incident.status,
                title=incident.title,
                customers=incident.customers,
                posts=incident.posts,
                reach=incident.reach,
                networks=tuple(incident.networks or ()),
                first_post_at=incident.first_post_at,
                latest_post_at=incident.latest_post_at,
                detected_at=incident.detected_at,
                samples=tuple(incident_blocks.Sample(h, src, t) for h, src, t in samples),
                progress=progress,
                resolution=incident.resolution,
                resolved_by=incident.resolved_by,
                resolved_at=incident.resolved_at,
                updates=1 if latest is not None else 0,
            )
        # After the session: every session on SQLite holds the write lock, and ``card`` opens its own.
        return dataclasses.replace(view, anchor=self.card(complaint))

    def suggestion(self, complaint: Complaint) -> suggest.Offer | None:
        """The incident a card the grouping left out may belong to (a person decides on the card)."""
        if complaint.incident_id is not None:
            return None
        with self.sessions() as session:
            return suggest.open_offer(session, complaint)

    def incident_card_link(self, complaint: Complaint) -> str | None:
        """For a member whose own card was posted before its incident was found: the incident card's link."""
        with self.sessions() as session:
            incident = session.get(Incident, complaint.incident_id) if complaint.incident_id else None
            anchor = session.get(Complaint, incident.anchor_id) if incident else None
            where = (anchor.slack_channel, anchor.slack_ts) if anchor else (None, None)
        return self.permalink(*where)

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


def need(value: Any, what: str) -> Any:
    if value is None:
        raise ValueError(f"missing {what}")
    return value


def _card_blocks(ctx: RenderContext, complaint: Complaint) -> dict[str, Any]:
    """A complaint's card — or, when its card row carries an incident, the incident's card; a card
    posted before its incident was found says which incident it is part of."""
    incident = ctx.incident(complaint)
    if incident is not None:
        return incident_blocks.build_incident_card(incident, ctx.now())
    payload = blocks.build_card(ctx.card(complaint), ctx.now())
    if complaint.incident_id is not None:
        line = incident_blocks.member_line(complaint.incident_id, ctx.incident_card_link(complaint))
        payload["blocks"].insert(2, {"type": "context", "elements": [{"type": "mrkdwn", "text": line}]})
    elif (offer := ctx.suggestion(complaint)) is not None:
        payload["blocks"][2:2] = incident_blocks.suggestion_blocks(complaint.id, offer.incident_id, offer.title)
    return payload


@renders(DeliveryKind.CARD)
def _card(ctx: RenderContext, row: Delivery, complaint: Complaint | None, _card: Complaint | None) -> Outgoing:
    complaint = need(complaint, "complaint")
    return Outgoing(need(row.channel, "channel"), _card_blocks(ctx, complaint))


@renders(DeliveryKind.INCIDENT_LINE)
def _incident_line(ctx: RenderContext, row: Delivery, _complaint: Complaint | None, card: Complaint | None) -> Outgoing:
    card = need(card, "card")
    return Outgoing(
        need(card.slack_channel, "card channel"),
        incident_blocks.build_incident_line(row.payload),
        thread_ts=card.slack_ts,
    )


@renders(DeliveryKind.CARD_UPDATE)
def _card_update(ctx: RenderContext, row: Delivery, _complaint: Complaint | None, card: Complaint | None) -> Outgoing:
    card = need(card, "card")
    return Outgoing(
        need(card.slack_channel, "card channel"),
        _card_blocks(ctx, card),
        update_ts=need(card.slack_ts, "card ts"),
    )


@renders(DeliveryKind.CUSTOMER_REPLY)
def _customer_reply(ctx: RenderContext, row: Delivery, complaint: Complaint | None, card: Complaint | None) -> Outgoing:
    complaint, card = need(complaint, "complaint"), need(card, "card")
    with ctx.sessions() as session:
        post = session.execute(
            select(PostRow).where(
                PostRow.source == row.payload.get("source"), PostRow.external_id == row.payload.get("post_id")
            )
        ).scalar_one()
    folded_from = complaint.id if complaint.id != card.id else None
    return Outgoing(
        need(card.slack_channel, "card channel"),
        blocks.build_customer_reply(post.author_handle, post.text, source=post.source, folded_from=folded_from),
        thread_ts=card.slack_ts,
    )


@renders(DeliveryKind.NOTE)
def _note(ctx: RenderContext, row: Delivery, _complaint: Complaint | None, card: Complaint | None) -> Outgoing:
    card = need(card, "card")
    return Outgoing(
        need(card.slack_channel, "card channel"),
        blocks.build_note(":lock: _internal_ · " + blocks.format_note(row.payload)),
        thread_ts=card.slack_ts,
    )


@renders(DeliveryKind.KUDOS)
def _kudos(ctx: RenderContext, row: Delivery, complaint: Complaint | None, _card: Complaint | None) -> Outgoing:
    return Outgoing(need(row.channel, "channel"), blocks.build_kudos(blocks.card_state(need(complaint, "complaint"))))


@renders(DeliveryKind.ALERT)
def _alert(ctx: RenderContext, row: Delivery, _complaint: Complaint | None, _card: Complaint | None) -> Outgoing:
    return Outgoing(need(row.channel, "channel"), blocks.build_alert(str(row.payload["text"])))


def _own_card(ctx: RenderContext, complaint: Complaint) -> tuple[str | None, str | None]:
    """The channel and ts of the card carrying ``complaint`` (its own, or the one it was folded into)."""
    if complaint.slack_ts or not complaint.duplicate_of:
        return complaint.slack_channel, complaint.slack_ts
    with ctx.sessions() as session:
        primary = session.get(Complaint, complaint.duplicate_of)
        return (primary.slack_channel, primary.slack_ts) if primary else (None, None)


@renders(DeliveryKind.ESCALATION)
def _escalation(ctx: RenderContext, row: Delivery, complaint: Complaint | None, _card: Complaint | None) -> Outgoing:
    complaint = need(complaint, "complaint")
    permalink = ctx.permalink(*_own_card(ctx, complaint))
    notice = blocks.build_escalation_notice(
        blocks.card_state(complaint), str(row.payload.get("tier", "")), row.payload.get("contact"), permalink
    )
    return Outgoing(need(row.channel, "channel"), notice)


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
    return Outgoing(need(row.channel, "channel"), blocks.build_digest(report, permalinks, ctx.now()))


@renders(DeliveryKind.NAG_DM, DeliveryKind.NAG_THREAD, DeliveryKind.NAG_CHANNEL, DeliveryKind.NAG_ESCALATE)
def _nag(ctx: RenderContext, row: Delivery, complaint: Complaint | None, card: Complaint | None) -> Outgoing:
    complaint = need(complaint, "complaint")
    with ctx.sessions() as session:
        promise = need(session.get(Promise, row.promise_id), "promise")
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
        return Outgoing(need(channel, "card channel"), payload, thread_ts=need(ts, "card ts"))
    return Outgoing(need(row.channel, "channel"), payload)


@renders(DeliveryKind.HEADS_UP)
def _heads_up(ctx: RenderContext, row: Delivery, complaint: Complaint | None, _card: Complaint | None) -> Outgoing:
    complaint = need(complaint, "complaint")
    permalink = ctx.permalink(*_own_card(ctx, complaint))
    return Outgoing(need(row.channel, "channel"), blocks.build_heads_up(row.payload, complaint.id, permalink))


@renders(DeliveryKind.REPORT)
def _report(ctx: RenderContext, row: Delivery, _complaint: Complaint | None, _card: Complaint | None) -> Outgoing:
    """The numbers first, as a message anyone (and Slack search, and a screen reader) can read: a
    refused chart can never take them with it. The chart follows (``REPORT_CHART``)."""
    report = row.payload
    note = report.get("note")
    text = weekly.text(report)
    return Outgoing(need(row.channel, "channel"), {"text": f"{note}\n\n{text}" if note else text})


UPLOAD_REFUSALS = {
    "missing_scope": "the app lacks the files:write scope — reinstall it from slack-manifest.yml",
    "not_in_channel": "the app is not in this channel — /invite it",
    "channel_not_found": "the app cannot see this channel — /invite it",
}


@renders(DeliveryKind.REPORT_CHART)
def _report_chart(ctx: RenderContext, row: Delivery, _c: Complaint | None, _card: Complaint | None) -> Outgoing:
    with ctx.sessions() as session:
        report = need(session.get(Delivery, int(row.payload["report"])), "the report's delivery")
        session.expunge(report)
    upload = Upload(
        filename=f"followthrough-report-{report.id}.png",
        content=weekly.chart_png(report.payload),
        title=str(report.payload["title"]),
        alt_txt=weekly.alt_text(report.payload),
    )

    def refused(reason: str) -> dict[str, Any]:
        why = UPLOAD_REFUSALS.get(reason, "")
        return {
            "text": f":warning: The chart could not be attached: Slack said `{reason}`"
            + (f" ({why})" if why else "")
            + ". The numbers are in the message above."
        }

    return Outgoing(
        need(row.channel, "channel"),
        {"text": ""},
        thread_ts=str(row.payload["thread_ts"]),
        upload=upload,
        refused_upload=refused,
    )


@renders(DeliveryKind.PUBLIC_REPLY_LINE)
def _public_reply(ctx: RenderContext, row: Delivery, _complaint: Complaint | None, card: Complaint | None) -> Outgoing:
    card = need(card, "card")
    return Outgoing(
        need(card.slack_channel, "card channel"), reply_blocks.public_reply_line(row.payload), thread_ts=card.slack_ts
    )


@renders(DeliveryKind.COMMITMENT)
def _commitment(ctx: RenderContext, row: Delivery, complaint: Complaint | None, card: Complaint | None) -> Outgoing:
    card = need(card, "card")
    with ctx.sessions() as session:
        label = need(session.get(CommitmentLabel, int(row.payload["label"])), "commitment")
        owner = None
        if label.promise_id:
            promise = session.get(Promise, label.promise_id)
            owner = promise.owner_id if promise else None
        owner = owner or label.proposed_to or card.owner_id
        session.expunge(label)
    return Outgoing(
        need(card.slack_channel, "card channel"),
        reply_blocks.commitment_line(label, owner, ctx.now()),
        thread_ts=card.slack_ts,
    )


FORGOTTEN_MESSAGE = {
    "text": "[forgotten]",
    "blocks": [
        {
            "type": "context",
            "elements": [{"type": "mrkdwn", "text": "_[forgotten] at a data-protection request_"}],
        }
    ],
}
"""What a message becomes when its own renderer cannot render it again without the customer."""


@renders(DeliveryKind.FORGET_MESSAGE)
def _forget_message(ctx: RenderContext, row: Delivery, _c: Complaint | None, _card: Complaint | None) -> Outgoing:
    """A message that showed a forgotten customer: deleted, or rendered again by its own renderer
    from the rows ``data forget`` scrubbed, and put in place of the old one."""
    channel, ts = str(row.payload["channel"]), str(row.payload["ts"])
    if row.payload.get("mode") == "delete":
        return Outgoing(channel, {}, delete_ts=ts)
    with ctx.sessions() as session:
        shown = session.get(Delivery, int(row.payload["delivery"]))
        complaint = session.get(Complaint, shown.complaint_id) if shown and shown.complaint_id else None
        card = session.get(Complaint, shown.card_of) if shown and shown.card_of else None
        session.expunge_all()
    try:
        shown = need(shown, "the message's delivery")
        again = RENDERERS[DeliveryKind(shown.kind)](ctx, shown, complaint, card)
    except (ValueError, KeyError, LookupError, NoResultFound):
        return Outgoing(channel, dict(FORGOTTEN_MESSAGE), update_ts=ts)
    if again.upload is not None or again.update_ts or again.delete_ts:
        return Outgoing(channel, dict(FORGOTTEN_MESSAGE), update_ts=ts)
    return Outgoing(channel, {"blocks": [], **again.payload}, update_ts=ts)
