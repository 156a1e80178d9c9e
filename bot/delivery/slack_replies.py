"""Renderers for the customer side of the loop: brand replies in the thread, promises found in them."""

from __future__ import annotations

from bot.delivery.slack import Outgoing, RenderContext, _need, renders
from bot.outbox.kinds import DeliveryKind
from bot.slack import reply_blocks
from bot.store.models import CommitmentLabel, Complaint, Delivery


@renders(DeliveryKind.PUBLIC_REPLY_LINE)
def _public_reply(ctx: RenderContext, row: Delivery, _complaint: Complaint | None, card: Complaint | None) -> Outgoing:
    card = _need(card, "card")
    return Outgoing(
        _need(card.slack_channel, "card channel"), reply_blocks.public_reply_line(row.payload), thread_ts=card.slack_ts
    )


@renders(DeliveryKind.COMMITMENT)
def _commitment(ctx: RenderContext, row: Delivery, complaint: Complaint | None, card: Complaint | None) -> Outgoing:
    card = _need(card, "card")
    with ctx.sessions() as session:
        label = _need(session.get(CommitmentLabel, int(row.payload["label"])), "commitment")
        owner = None
        if label.promise_id:
            from bot.store.models import Promise

            promise = session.get(Promise, label.promise_id)
            owner = promise.owner_id if promise else None
        owner = owner or label.proposed_to or card.owner_id
        session.expunge(label)
    return Outgoing(
        _need(card.slack_channel, "card channel"),
        reply_blocks.commitment_line(label, owner, ctx.now()),
        thread_ts=card.slack_ts,
    )
