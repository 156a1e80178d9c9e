"""Every kind of delivery, declared once: its transport and whether it needs a posted card.

Values are the strings stored in ``deliveries.kind``; renderers register themselves per kind in
their transport (see ``bot.delivery.slack_transport``), and a test insists every kind has one.
A reply to the customer is one kind whatever the network: the row's ``transport`` is the network's
name, and the networks' transports register under it (``bot.networks``), so adding a network adds
no kind here.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum

SLACK = "slack"
"""The transport of every kind but ``REPLY`` (whose rows name their network)."""


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
    """The lead's report: a message with the numbers. Once it is posted, its chart follows."""
    REPORT_CHART = "report_chart"
    """The report's chart, uploaded into the report message's thread (or a note saying why not)."""
    REPLY = "reply"
    """A public reply to the customer on their network, sent from the card (transport: the network)."""
    PUBLIC_REPLY_LINE = "public_reply_line"
    """The thread line for a brand reply seen on a network or sent from the card."""
    COMMITMENT = "commitment"
    """A promise found in a brand reply: tracked (with Change time / Not a promise) or proposed."""
    INCIDENT_LINE = "incident_line"
    """A line in an incident's thread: an update going out to its customers, how far it got."""
    FORGET_MESSAGE = "forget_message"
    """A message already in Slack that showed a forgotten customer: deleted, or re-rendered without them."""


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
    transport: str | None
    """Who sends it; None: the network named on each row (a reply)."""
    needs_card: bool
    """Threads under, or updates, the card of ``card_of``: it waits (in SQL) until that card is out."""
    band: Band = Band.THREAD
    updates: bool = False
    """Edits an existing message (its own, slower rate-limit lane) instead of posting a new one."""


SPECS: dict[DeliveryKind, KindSpec] = {
    DeliveryKind.CARD: KindSpec(SLACK, needs_card=False, band=Band.WAITED_ON),
    DeliveryKind.CARD_UPDATE: KindSpec(SLACK, needs_card=True, updates=True),
    DeliveryKind.CUSTOMER_REPLY: KindSpec(SLACK, needs_card=True),
    DeliveryKind.NOTE: KindSpec(SLACK, needs_card=True, band=Band.AUDIT),
    DeliveryKind.KUDOS: KindSpec(SLACK, needs_card=False),
    DeliveryKind.ALERT: KindSpec(SLACK, needs_card=False, band=Band.WAITED_ON),
    DeliveryKind.ESCALATION: KindSpec(SLACK, needs_card=False, band=Band.WAITED_ON),
    DeliveryKind.DIGEST: KindSpec(SLACK, needs_card=False),
    DeliveryKind.NAG_DM: KindSpec(SLACK, needs_card=False, band=Band.WAITED_ON),
    DeliveryKind.NAG_THREAD: KindSpec(SLACK, needs_card=True, band=Band.WAITED_ON),
    DeliveryKind.NAG_CHANNEL: KindSpec(SLACK, needs_card=False, band=Band.WAITED_ON),
    DeliveryKind.NAG_ESCALATE: KindSpec(SLACK, needs_card=False, band=Band.WAITED_ON),
    DeliveryKind.HEADS_UP: KindSpec(SLACK, needs_card=False, band=Band.AUDIT),
    DeliveryKind.REPORT: KindSpec(SLACK, needs_card=False),
    DeliveryKind.REPORT_CHART: KindSpec(SLACK, needs_card=False),
    # A reply goes to the customer, not under the card; the desk still points it at the card it was
    # written on (``card_of``), so it waits for a card being re-posted (``bot.desk.replies``).
    DeliveryKind.REPLY: KindSpec(None, needs_card=False, band=Band.WAITED_ON),
    DeliveryKind.PUBLIC_REPLY_LINE: KindSpec(SLACK, needs_card=True),
    DeliveryKind.COMMITMENT: KindSpec(SLACK, needs_card=True),
    DeliveryKind.FORGET_MESSAGE: KindSpec(SLACK, needs_card=False, band=Band.AUDIT, updates=True),
    DeliveryKind.INCIDENT_LINE: KindSpec(SLACK, needs_card=True),
}

NAG_KINDS: dict[str, DeliveryKind] = {
    "dm": DeliveryKind.NAG_DM,
    "thread": DeliveryKind.NAG_THREAD,
    "channel": DeliveryKind.NAG_CHANNEL,
    "escalate": DeliveryKind.NAG_ESCALATE,
}


def lane_for(kind: DeliveryKind, channel: str) -> str:
    """The rate-limit lane: posts to one channel share one, edits in it another."""
    return f"{'update' if SPECS[kind].updates else 'post'}:{channel}"
