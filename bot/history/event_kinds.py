"""What can happen to a complaint or a promise: each event's kind, and who the bot is when it acts.

Its own module so that the report's facts (``facts``), which fold events as they are recorded, can
read the kinds without importing the module that records them.
"""

from __future__ import annotations

from enum import StrEnum

SYSTEM = "followthrough"
"""The actor of what the bot does by itself (folding, nags, cascades)."""


class EventKind(StrEnum):
    # ingest
    INGESTED = "ingested"
    AMPLIFIED = "amplified"
    CUSTOMER_REPLY = "customer_reply"
    FOLDED = "folded"
    EDITED = "edited"
    """The customer edited the post the complaint was opened by (X): the card shows the new words."""
    # the card's life
    CLAIMED = "claim"
    UNCLAIMED = "unclaim"
    HANDED_OVER = "hand_over"
    ESCALATED = "escalate"
    RESOLVED = "resolve"
    DISMISSED = "dismiss"
    REOPENED = "reopen"
    # triage corrected by a person
    CARDED = "card_it"
    RECLASSIFIED = "reclassify"
    # promises
    PROMISE_MADE = "promise"
    PROMISE_KEPT = "promise_kept"
    PROMISE_CANCELLED = "promise_cancelled"
    PROMISE_BROKEN = "promise_broken"
    PROMISE_RESCHEDULED = "promise_rescheduled"
    NAG_SENT = "nag"
    # the customer side of the loop
    PUBLIC_REPLY = "public_reply"
    """A brand reply to the customer, seen on a network or sent from the card."""
    FOLLOW_UP = "follow_up"
    """The customer posted again after the complaint was resolved (within FOLLOW_UP_DAYS)."""
    # requests that changed nothing
    REFUSED = "refused"
    FAILED = "failed"
    # incidents: one outage, many customers
    INCIDENT_OPENED = "incident_opened"
    """A topic crossed the threshold: the incident was opened (on its anchor complaint)."""
    INCIDENT_JOINED = "incident_joined"
    """A complaint became part of an incident: it is handled there, and gets no card of its own."""
    INCIDENT_UPDATE = "incident_update"
    """A public update (or the resolution) was sent to every customer of an incident."""
    INCIDENT_CLAIMED = "incident_claim"
    INCIDENT_RESOLVED = "incident_resolve"
    INCIDENT_RELEASED = "incident_release"
    """A person said it was not an incident: its customers got their own cards back."""
    INCIDENT_SUGGESTED = "incident_suggested"
    """A card the grouping left out reads like an open incident: its card offers Add to incident."""
    INCIDENT_SUGGESTION_DISMISSED = "incident_suggestion_dismissed"
    """A person said a suggested card is not part of the incident: it is never offered again."""
    INCIDENT_MERGED = "incident_merged"
    """A person made an incident part of another (one outage split in two): on the one kept."""
    INCIDENT_LEFT = "incident_left"
    """A person took a post the grouping drew in out of its incident: its own card again, never regrouped."""
    # data protection
    FORGOTTEN = "forget"
    """A customer's data was forgotten (``data forget``): counts only, nothing of theirs."""
