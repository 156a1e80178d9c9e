"""The vocabulary of the domain: states and kinds, shared by the store and the services.

Plain string enums so they read the same in the database, in logs and in Slack payloads.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """What triage decided a post is."""

    COMPLAINT = "complaint"
    PRAISE = "praise"
    OTHER = "other"
    QUESTION = "question"


class Status(StrEnum):
    """Where a complaint is in its life. Transitions are conditional updates (see complaints.py)."""

    NEW = "new"
    CLAIMED = "claimed"
    ESCALATED = "escalated"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


OPEN_STATUSES = (Status.NEW, Status.CLAIMED, Status.ESCALATED)


class PromiseStatus(StrEnum):
    OPEN = "open"
    KEPT = "kept"
    BROKEN = "broken"
    CANCELLED = "cancelled"


class PostRole(StrEnum):
    """How an ingested post relates to the complaints: it opened one, joined one, or was set aside."""

    ORIGINAL = "original"
    REPLY = "reply"
    RETWEET = "retweet"
    OWN = "own"


class DeliveryStatus(StrEnum):
    """Where a delivery stands. Only ``pending`` rows are ever picked up."""

    PENDING = "pending"
    SENT = "sent"
    DEAD = "dead"
    """The receiving service refused it for good (channel gone, token revoked) or it kept failing."""
    SET_ASIDE = "set_aside"
    """Our own code failed on it (a bug): retrying cannot help, so it waits for a person and a fix."""
    CLOSED = "closed"
    """Not needed any more: its card can never be posted, or what it announced was undone."""


class InboxStatus(StrEnum):
    PENDING = "pending"
    SKIPPED = "skipped"
    """The record could not be ingested (malformed, out of bounds); kept with its reason."""


class JobStatus(StrEnum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
