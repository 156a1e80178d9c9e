"""Every kind of delivery, declared once: its transport and whether it needs a posted card.

Values are the strings stored in ``deliveries.kind``; renderers register themselves per kind in
their transport (see ``bot.delivery.slack_transport``), and a test insists every kind has one.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum


class Transport(StrEnum):
    SLACK = "slack"
    X = "x"
    BLUESKY = "bluesky"
    MASTODON = "mastodon"


class DeliveryKind(StrEnum):
    CARD = "post_card"
    CARD_UPDATE = "update_card"
    CUSTOMER_REPLY = "thread_reply"
    NOTE = "note"
    KUDOS = "kudos"
    ALERT = "alert"
    ESCALATION = "escalation"
    DIGEST = "digest"
    NAG_DM = "nag_dm"
    NAG_THREAD = "nag_thread"
    NAG_CHANNEL = "nag_channel"
    NAG_ESCALATE = "nag_escalate"
    HEADS_UP = "heads_up"
    REPORT = "report"
    """The lead's report: headline numbers and a chart image (an upload, not a post)."""
    REPLY_BLUESKY = "reply_bluesky"
    REPLY_MASTODON = "reply_mastodon"
    REPLY_X = "reply_x"
    """A public reply to the customer on X, sent from the card (transport ``x``)."""
    PUBLIC_REPLY_LINE = "public_reply_line"
    """The thread line for a brand reply seen on a network or sent from the card."""
    COMMITMENT = "commitment"
    """A promise found in a brand reply: tracked (with Change time / Not a promise) or proposed."""


class Band(IntEnum):
    """Which rows go first on a shared lane, before the complaint's own priority is looked at.

    A channel's lane carries about one post a second, and two hundred clicks make two hundred audit
    lines: ordered by priority alone, a new customer's card waited behind every one of them. A row a
    person is waiting on (a new card, a nag, a reply to the customer) goes first; what a person reads
    in a thread next; audit lines (who claimed, heads-ups) last.
    """

    AUDIT = 0
    THREAD = 1
    WAITED_ON = 2


@dataclass(frozen=True)
class KindSpec:
    transport: Transport
    needs_card: bool
    """Threads under, or updates, the card of ``card_of``: it waits (in SQL) until that card is out."""
    band: Band = Band.THREAD
    updates: bool = False
    """Edits an existing message (its own, slower rate-limit lane) instead of posting a new one."""


SPECS: dict[DeliveryKind, KindSpec] = {
    DeliveryKind.CARD: KindSpec(Transport.SLACK, needs_card=False, band=Band.WAITED_ON),
    DeliveryKind.CARD_UPDATE: KindSpec(Transport.SLACK, needs_card=True, updates=True),
    DeliveryKind.CUSTOMER_REPLY: KindSpec(Transport.SLACK, needs_card=True),
    DeliveryKind.NOTE: KindSpec(Transport.SLACK, needs_card=True, band=Band.AUDIT),
    DeliveryKind.KUDOS: KindSpec(Transport.SLACK, needs_card=False),
    DeliveryKind.ALERT: KindSpec(Transport.SLACK, needs_card=False, band=Band.WAITED_ON),
    DeliveryKind.ESCALATION: KindSpec(Transport.SLACK, needs_card=False, band=Band.WAITED_ON),
    DeliveryKind.DIGEST: KindSpec(Transport.SLACK, needs_card=False),
    DeliveryKind.NAG_DM: KindSpec(Transport.SLACK, needs_card=False, band=Band.WAITED_ON),
    DeliveryKind.NAG_THREAD: KindSpec(Transport.SLACK, needs_card=True, band=Band.WAITED_ON),
    DeliveryKind.NAG_CHANNEL: KindSpec(Transport.SLACK, needs_card=False, band=Band.WAITED_ON),
    DeliveryKind.NAG_ESCALATE: KindSpec(Transport.SLACK, needs_card=False, band=Band.WAITED_ON),
    DeliveryKind.HEADS_UP: KindSpec(Transport.SLACK, needs_card=False, band=Band.AUDIT),
    DeliveryKind.REPORT: KindSpec(Transport.SLACK, needs_card=False),
    DeliveryKind.REPLY_X: KindSpec(Transport.X, needs_card=True, band=Band.WAITED_ON),
    DeliveryKind.REPLY_BLUESKY: KindSpec(Transport.BLUESKY, needs_card=False, band=Band.WAITED_ON),
    DeliveryKind.REPLY_MASTODON: KindSpec(Transport.MASTODON, needs_card=False, band=Band.WAITED_ON),
    DeliveryKind.PUBLIC_REPLY_LINE: KindSpec(Transport.SLACK, needs_card=True),
    DeliveryKind.COMMITMENT: KindSpec(Transport.SLACK, needs_card=True),
}

REPLY_KINDS: dict[str, DeliveryKind] = {
    "x": DeliveryKind.REPLY_X,
    "bluesky": DeliveryKind.REPLY_BLUESKY,
    "mastodon": DeliveryKind.REPLY_MASTODON,
}
"""A complaint's source name → the delivery kind that answers the customer there. What happens
after any of them is sent (post id and sender recorded, thread line, promises read) is generic:
see ``bot.desk.replies.after_sent``."""

NAG_KINDS: dict[str, DeliveryKind] = {
    "dm": DeliveryKind.NAG_DM,
    "thread": DeliveryKind.NAG_THREAD,
    "channel": DeliveryKind.NAG_CHANNEL,
    "escalate": DeliveryKind.NAG_ESCALATE,
}


def lane_for(kind: DeliveryKind, channel: str) -> str:
    """The rate-limit lane: posts to one channel share one, edits in it another."""
    return f"{'update' if SPECS[kind].updates else 'post'}:{channel}"
