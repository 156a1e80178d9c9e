"""What the worker asks of a transport: send one stored row, say where it went, or raise why not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.store.models import Complaint, Delivery


@dataclass(frozen=True)
class Sent:
    channel: str
    """Where it went (a Slack channel or DM conversation, a network's thread)."""
    remote_id: str
    """The service's id for it (a Slack ``ts``, a post id)."""
    recovered: bool = False
    """Found already sent by an earlier attempt whose answer was lost (or whose process died): what
    it shows was drawn then, from the state then — the worker brings a card up to date."""


class DeliveryTransport(Protocol):
    name: str
    """``slack``, or the network it answers on (``Network.name``): rows name their transport."""

    def send(self, row: Delivery, complaint: Complaint | None, card: Complaint | None) -> Sent:
        """Render ``row`` from current state and send it once; raise ``RetryLater`` or ``Undeliverable``
        for the service's failures. ``card`` is the complaint whose card the row threads under."""
        ...
