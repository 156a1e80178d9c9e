"""Tables, in SQLAlchemy 2.x typed style.

Shaped now for everything the roadmap needs (ingest, cards, promises, nags, digest) so later work
adds behaviour rather than rewriting storage. Every timestamp is a ``UTCDateTime``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from bot.store.enums import DeliveryStatus, InboxStatus, JobStatus, Kind, PostRole, PromiseStatus, Status
from bot.store.types import UTCDateTime

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def _in(column: str, values: Any) -> str:
    return f"{column} IN ({', '.join(repr(str(v)) for v in values)})"


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}  # noqa: RUF012 - SQLAlchemy reads it as a class attribute


class Complaint(Base):
    """One customer case. Its ``id`` is the public reference shown as ``#N`` in Slack."""

    __tablename__ = "complaints"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_complaints_source_external_id"),
        CheckConstraint(_in("status", Status), name="status"),
        CheckConstraint(_in("kind", Kind), name="kind"),
        Index("ix_complaints_status_priority", "status", "priority"),
        Index("ix_complaints_author", "source", "author_id"),
        Index("ix_complaints_conversation", "source", "conversation_id"),
        Index("ix_complaints_owner", "owner_id"),
        Index("ix_complaints_text_key_created", "text_key", "created_at"),
        # Covering for the report's "complaints in" (kind and network by arrival) and the export's window.
        Index("ix_complaints_created_kind_source", "created_at", "kind", "source"),
        # Incident detection reads the recent complaints by the customers' own post times.
        Index("ix_complaints_posted_kind", "posted_at", "kind"),
        Index("ix_complaints_incident", "incident_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(64))
    author_id: Mapped[str] = mapped_column(String(64))
    author_handle: Mapped[str] = mapped_column(String(320))
    author_name: Mapped[str | None] = mapped_column(String(640))
    author_followers: Mapped[int] = mapped_column(BigInteger, default=0)
    author_verified: Mapped[bool] = mapped_column(Boolean, default=False)
    text: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(String(2048))
    posted_at: Mapped[datetime]
    lang: Mapped[str | None] = mapped_column(String(35))
    conversation_id: Mapped[str | None] = mapped_column(String(64))

    sentiment_compound: Mapped[float] = mapped_column(Float, default=0.0)
    sentiment_pos: Mapped[float] = mapped_column(Float, default=0.0)
    sentiment_neg: Mapped[float] = mapped_column(Float, default=0.0)
    sentiment_neu: Mapped[float] = mapped_column(Float, default=0.0)
    kind: Mapped[str] = mapped_column(String(16))
    triage_score: Mapped[float] = mapped_column(Float, default=0.0)
    triage_signals: Mapped[list[str]] = mapped_column(JSON, default=list)
    human_label: Mapped[str | None] = mapped_column(String(16))
    priority: Mapped[int] = mapped_column(Integer, default=0)

    status: Mapped[str] = mapped_column(String(16), default=Status.NEW.value)
    owner_id: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None]
    escalation_tier: Mapped[str | None] = mapped_column(String(64))
    escalation_reason: Mapped[str | None] = mapped_column(Text)
    resolution_note: Mapped[str | None] = mapped_column(Text)
    customer_confirmed: Mapped[bool] = mapped_column(Boolean, default=False)
    resolved_at: Mapped[datetime | None]

    slack_channel: Mapped[str | None] = mapped_column(String(32))
    slack_ts: Mapped[str | None] = mapped_column(String(32))
    amplification_count: Mapped[int] = mapped_column(Integer, default=0)
    amplification_reach: Mapped[int] = mapped_column(BigInteger, default=0)
    reply_count: Mapped[int] = mapped_column(Integer, default=0)
    repeat_contact: Mapped[int] = mapped_column(Integer, default=0)
    # Near-duplicates (same text after normalisation) collapse into one card during a storm.
    text_key: Mapped[str | None] = mapped_column(String(32))
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("complaints.id", ondelete="SET NULL"))
    duplicate_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    escalated_by: Mapped[str | None] = mapped_column(String(32))
    resolved_by: Mapped[str | None] = mapped_column(String(32))
    edited_at: Mapped[datetime | None]
    """When the customer last edited the post (X): the card shows the latest text, marked edited."""
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id", ondelete="SET NULL"))
    """The incident this complaint is part of (one outage, many customers): it is handled there."""

    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    @property
    def ref(self) -> str:
        return f"#{self.id}"


class Post(Base):
    """Every post ever ingested, once: the ledger that makes ingest idempotent.

    A complaint is opened by one post; replies and retweets attach to it; the brand's own posts are
    kept as ``own`` so they are recognised (and skipped) when seen again.
    """

    __tablename__ = "posts"
    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_posts_source_external_id"),
        CheckConstraint(_in("role", PostRole), name="role"),
        Index("ix_posts_complaint", "complaint_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(64))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))
    author_id: Mapped[str] = mapped_column(String(64))
    author_handle: Mapped[str] = mapped_column(String(320))
    text: Mapped[str] = mapped_column(Text)
    posted_at: Mapped[datetime]
    created_at: Mapped[datetime]


class AuditEvent(Base):
    """Who did what, when, from which state to which: every click, command and transition."""

    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_complaint", "complaint_id", "at"),
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_promise", "promise_id", "at"),
        Index("ix_audit_events_action_at", "action", "at", "complaint_id", "actor"),
        Index("ix_audit_events_complaint_action", "complaint_id", "action", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"))
    promise_id: Mapped[int | None] = mapped_column(ForeignKey("promises.id", ondelete="CASCADE"))
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(64))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime]


class Promise(Base):
    """A follow-up the team told a customer it would do, by when, and how the nag ladder stands."""

    __tablename__ = "promises"
    __table_args__ = (
        CheckConstraint(_in("status", PromiseStatus), name="status"),
        # The overdue scan reads only open promises by their next nag time: a partial index keeps its
        # cost flat however many kept and closed promises pile up.
        Index(
            "ix_promises_open_next_nag",
            "next_nag_at",
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index("ix_promises_complaint", "complaint_id"),
        Index("ix_promises_owner_status", "owner_id", "status"),
        Index("ix_promises_status_created", "status", "created_at"),
        Index("ix_promises_status_owner_created", "status", "owner_id", "created_at"),
        # The export chooses promises by when they were made (``--since``/``--until``).
        Index("ix_promises_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"))
    owner_id: Mapped[str] = mapped_column(String(32))
    text: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=PromiseStatus.OPEN.value)
    reschedule_count: Mapped[int] = mapped_column(Integer, default=0)
    ladder_step: Mapped[int] = mapped_column(Integer, default=0)
    last_nagged_at: Mapped[datetime | None]
    next_nag_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    closed_by: Mapped[str | None] = mapped_column(String(32))


class Incident(Base):
    """One outage many customers post about: handled once (one card, one owner, one promise), and
    every customer in it answered. Its card is carried by one member complaint's card row (the
    ``anchor``), so claims, promises, nags and thread lines reach it as they reach any card."""

    __tablename__ = "incidents"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'resolved', 'released')", name="status"),
        Index("ix_incidents_status", "status", "detected_at"),
        Index("ix_incidents_detected", "detected_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    status: Mapped[str] = mapped_column(String(16), default="open")
    anchor_id: Mapped[int] = mapped_column(Integer)
    """The member complaint whose card row carries the incident's card (``card:<anchor>``)."""
    title: Mapped[str] = mapped_column(String(200))
    """The topic in a few words: its most telling terms."""
    profile: Mapped[dict[str, int]] = mapped_column(JSON, default=dict)
    """The topic's most used words and how many posts used each: new posts are matched against it."""
    profile_size: Mapped[int] = mapped_column(Integer, default=0)
    customers: Mapped[int] = mapped_column(Integer, default=0)
    posts: Mapped[int] = mapped_column(Integer, default=0)
    reach: Mapped[int] = mapped_column(BigInteger, default=0)
    networks: Mapped[list[str]] = mapped_column(JSON, default=list)
    first_post_at: Mapped[datetime]
    latest_post_at: Mapped[datetime]
    threshold_post_at: Mapped[datetime]
    """The post time of the post with which the topic crossed the threshold."""
    detected_at: Mapped[datetime]
    owner_id: Mapped[str | None] = mapped_column(String(32))
    claimed_at: Mapped[datetime | None]
    first_update_at: Mapped[datetime | None]
    """When the first public update to the customers went out (the report's time to first update)."""
    resolved_at: Mapped[datetime | None]
    resolved_by: Mapped[str | None] = mapped_column(String(32))
    resolution: Mapped[str | None] = mapped_column(Text)
    merged_into: Mapped[int | None] = mapped_column(Integer)
    """Set when a person merged this incident into another (its status is then ``released``): the
    grouping had split one outage in two."""
    updated_at: Mapped[datetime]

    @property
    def ref(self) -> str:
        return f"incident #{self.id}"


class IncidentUpdate(Base):
    """One public update (or the resolution) sent to every customer of an incident: the template as
    written, who sent it, and how the sending stands. Each customer's reply is its own delivery row
    (``incident:<update>:<complaint>``), so each is sent exactly once, paced within the network's
    limits."""

    __tablename__ = "incident_updates"
    __table_args__ = (
        CheckConstraint("kind IN ('update', 'resolve')", name="kind"),
        UniqueConstraint("key", name="uq_incident_updates_key"),
        Index("ix_incident_updates_incident", "incident_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(128))
    """The form submission's id: the same form sent twice adds nothing."""
    kind: Mapped[str] = mapped_column(String(16))
    template: Mapped[str] = mapped_column(Text)
    sent_by: Mapped[str] = mapped_column(String(32))
    customers: Mapped[int] = mapped_column(Integer, default=0)
    """Customers it is being sent to."""
    unreachable: Mapped[list[dict[str, str]]] = mapped_column(JSON, default=list)
    """Customers it cannot reach from here, with why (X: their post does not mention the brand)."""
    finish_by: Mapped[datetime | None]
    """When the last reply is planned to go, within the networks' write limits."""
    created_at: Mapped[datetime]


class IncidentSuggestion(Base):
    """A card the grouping left out that reads like an open incident (``bot/incidents/suggest.py``):
    its card offers Add to incident / Not part of it, and what a person decided is kept with who and
    when — a dismissed one is never offered again."""

    __tablename__ = "incident_suggestions"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'added', 'dismissed')", name="status"),
        UniqueConstraint("complaint_id", "incident_id", name="uq_incident_suggestions_pair"),
        Index("ix_incident_suggestions_incident", "incident_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"))
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column(Float)
    """How much nearer the post is to the incident than to the ordinary complaints most like it."""
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(32))
    decided_at: Mapped[datetime | None]


class ComplaintFacts(Base):
    """When a complaint first got an answer, a claim and a resolve, and from whom: the lead's report
    reads these few narrow rows by time instead of ranking every event of a week (see
    ``bot/history/facts.py``, which keeps them in step with the events in the same transaction)."""

    __tablename__ = "complaint_facts"
    __table_args__ = (
        Index("ix_complaint_facts_response", "first_response_at", "first_response_by", "source", "first_response_s"),
        Index("ix_complaint_facts_claim", "first_claim_at", "first_claim_by", "source", "first_claim_s"),
        Index("ix_complaint_facts_resolve", "first_resolve_at", "first_resolve_by", "source", "first_resolve_s"),
    )

    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"), primary_key=True)
    source: Mapped[str] = mapped_column(String(32))
    waiting_since: Mapped[datetime]
    """When the customer started waiting: the post's time, or when it was stored if that was earlier."""
    first_response_at: Mapped[datetime | None]
    first_response_by: Mapped[str | None] = mapped_column(String(64))
    first_response_s: Mapped[float | None] = mapped_column(Float)
    first_claim_at: Mapped[datetime | None]
    first_claim_by: Mapped[str | None] = mapped_column(String(64))
    first_claim_s: Mapped[float | None] = mapped_column(Float)
    first_resolve_at: Mapped[datetime | None]
    first_resolve_by: Mapped[str | None] = mapped_column(String(64))
    first_resolve_s: Mapped[float | None] = mapped_column(Float)


class PromiseFacts(Base):
    """When a promise was made and how it last settled (kept on time, kept late, broken; none when
    cancelled), with its owner and network: the report counts these by time without reading events."""

    __tablename__ = "promise_facts"
    __table_args__ = (
        Index("ix_promise_facts_made", "made_at", "owner_id", "source"),
        Index("ix_promise_facts_outcome", "outcome_at", "outcome", "owner_id", "source"),
    )

    promise_id: Mapped[int] = mapped_column(ForeignKey("promises.id", ondelete="CASCADE"), primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"))
    owner_id: Mapped[str] = mapped_column(String(32))
    source: Mapped[str] = mapped_column(String(32))
    made_at: Mapped[datetime]
    outcome: Mapped[str | None] = mapped_column(String(16))
    outcome_at: Mapped[datetime | None]


class SourceCursor(Base):
    """Where each source got to (X's ``since_id``, a replay file's position), so a restart neither
    repeats nor misses; moved in the same transaction as the raw posts it covers."""

    __tablename__ = "source_cursors"

    name: Mapped[str] = mapped_column(String(96), primary_key=True)
    cursor: Mapped[str | None] = mapped_column(String(160))
    last_post_at: Mapped[datetime | None]
    last_poll_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    malformed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    updated_at: Mapped[datetime]


class ApiUsage(Base):
    """What a network's paid API was asked for this month, and what it cost at the prices of the day
    it was counted (X bills per post read and per post made): ``check`` and the weekly report show it
    before the bill does."""

    __tablename__ = "api_usage"

    network: Mapped[str] = mapped_column(String(32), primary_key=True)
    month: Mapped[str] = mapped_column(String(7), primary_key=True)
    """UTC month, ``2026-04``."""
    item: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(BigInteger, default=0)
    cost_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    """US dollars × 10⁶: whole numbers add up exactly on both engines."""
    updated_at: Mapped[datetime]


class SourceAlert(Base):
    """A condition the team must hear about once (credentials refused, fell behind), however often it
    recurs until it clears. ``incident`` counts raisings, so each alert's delivery key is distinct
    and deterministic."""

    __tablename__ = "source_alerts"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    incident: Mapped[int] = mapped_column(Integer, default=0)
    raised_at: Mapped[datetime | None]
    cleared_at: Mapped[datetime | None]
    text: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime]


class BrandAccount(Base):
    """The brand's account id on a network, looked up once from its handle and remembered."""

    __tablename__ = "brand_accounts"

    network: Mapped[str] = mapped_column(String(16), primary_key=True)
    handle: Mapped[str] = mapped_column(String(320), primary_key=True)
    account_id: Mapped[str] = mapped_column(String(64))
    resolved_at: Mapped[datetime]


class InboxItem(Base):
    """A raw post exactly as a source read it, stored (with the source's cursor) before anything is
    decided about it. Ingest drains pending rows and deletes them; a record that cannot be ingested
    stays, ``skipped`` with its reason, for a person to look at."""

    __tablename__ = "inbox"
    __table_args__ = (
        CheckConstraint(_in("status", InboxStatus), name="status"),
        Index(
            "ix_inbox_pending",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    stream: Mapped[str] = mapped_column(String(96))
    position: Mapped[str | None] = mapped_column(String(96))
    record: Mapped[Any] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=InboxStatus.PENDING.value)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime]


class Delivery(Base):
    """Something that must be sent (a card, a thread line, a nag, a reply to a customer), written in
    the same transaction as the change behind it and sent later from stored state.

    ``key`` is deterministic (``card:42``, ``note:<event id>``, ``nag:17:0:2``), so a delivery is
    requested once however often the request is repeated. ``card_of`` says explicitly that the row
    needs a posted card (a thread line, a card refresh); rows whose card is not out yet are excluded
    in SQL, never skipped in Python. ``lane`` is the rate-limit lane (one channel's posts) shared by
    every worker through the ``lanes`` table.
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("key", name="uq_deliveries_key"),
        CheckConstraint(_in("status", DeliveryStatus), name="status"),
        Index(
            "ix_deliveries_pending",
            "priority",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index(
            "ix_deliveries_card_of_pending",
            "card_of",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
        Index("ix_deliveries_promise", "promise_id"),
        Index("ix_deliveries_incident_update", "incident_update", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    transport: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(160))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"))
    promise_id: Mapped[int | None] = mapped_column(ForeignKey("promises.id", ondelete="CASCADE"))
    card_of: Mapped[int | None] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"))
    channel: Mapped[str | None] = mapped_column(String(32))
    lane: Mapped[str] = mapped_column(String(80))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    priority: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default=DeliveryStatus.PENDING.value)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    available_at: Mapped[datetime]
    first_attempt_at: Mapped[datetime | None]
    remote_channel: Mapped[str | None] = mapped_column(String(32))
    remote_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    incident_update: Mapped[int | None] = mapped_column(Integer)
    """The incident update (``incident_updates.id``) this reply is one of: its progress is counted
    by it (an index, not a pattern on ``key`` that no index serves)."""


class Lane(Base):
    """When a rate-limit lane (one channel's posts, one channel's card updates) may be used next.

    Taking a turn is one conditional upsert, so every worker on the database shares Slack's
    one-message-a-second-per-channel budget, and a 429's Retry-After pauses the lane for all of them.
    """

    __tablename__ = "lanes"

    key: Mapped[str] = mapped_column(String(80), primary_key=True)
    next_at: Mapped[datetime]


class Lease(Base):
    """Work that one worker at a time must do (reading a source, draining the inbox), held for a
    short time and renewed; a worker that dies loses it when it expires and another takes over."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(96), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime]


class Interaction(Base):
    """Every request a person made through Slack (a click, a form, a command), stored before it is
    acted on: who, when, what. ``key`` (the trigger or event id) makes a redelivered request a no-op."""

    __tablename__ = "interactions"
    __table_args__ = (
        UniqueConstraint("key", name="uq_interactions_key"),
        Index("ix_interactions_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str | None] = mapped_column(String(128))
    user_id: Mapped[str] = mapped_column(String(32))
    surface: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    ref: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[str | None] = mapped_column(String(300))
    at: Mapped[datetime]


class JobRun(Base):
    """Once-only work (one digest per team per local date) guarded by a unique (kind, key)."""

    __tablename__ = "job_runs"
    __table_args__ = (
        UniqueConstraint("kind", "key", name="uq_job_runs_kind_key"),
        CheckConstraint(_in("status", JobStatus), name="status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(64))
    key: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default=JobStatus.RUNNING.value)
    owner: Mapped[str | None] = mapped_column(String(128))
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class SlackUser(Base):
    """A cache of what Slack says about a person (time zone above all), refreshed when stale."""

    __tablename__ = "slack_users"

    user_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str | None] = mapped_column(String(128))
    tz: Mapped[str | None] = mapped_column(String(64))
    fetched_at: Mapped[datetime]


LABEL_KINDS = (*(k.value for k in Kind), "not_complaint")
"""What a label may say: one of triage's kinds, or just "not a complaint" (a dismissed card)."""


class TriageLabel(Base):
    """A person's verdict on a post (a click on a card, an imported file): what triage learns from.

    The text is stored, not only the complaint it came from, so labels survive the complaint being
    deleted and imported labels need no complaint at all.
    """

    __tablename__ = "triage_labels"
    __table_args__ = (
        CheckConstraint(_in("kind", LABEL_KINDS), name="kind"),
        Index("ix_triage_labels_complaint", "complaint_id"),
        Index("ix_triage_labels_created", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16))
    is_complaint: Mapped[bool] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(String(64))
    complaint_id: Mapped[int | None] = mapped_column(ForeignKey("complaints.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]


class TriageModel(Base):
    """A trained triage model, stored as plain JSON (vocabulary, idf, coefficients), never pickled:
    loading it runs no code, and it can be read and diffed like any other row. The newest version
    is the one in use."""

    __tablename__ = "triage_models"
    __table_args__ = (UniqueConstraint("version", name="uq_triage_models_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    label_count: Mapped[int] = mapped_column(Integer)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    threshold: Mapped[float] = mapped_column(Float)


class CommitmentLabel(Base):
    """A promise found in a brand reply, and what a person (or the one-hour rule) decided about it.

    One row per commitment found: proposed (seen on a network), tracked (a promise was recorded),
    or not a promise. Who decided and when are kept, with the reply's text, so detection can later
    learn from the team's decisions.
    """

    __tablename__ = "commitment_labels"
    __table_args__ = (
        UniqueConstraint("source", "post_id", "span_start", name="uq_commitment_labels_source"),
        Index("ix_commitment_labels_pending", "decision", "track_after"),
        Index("ix_commitment_labels_complaint", "complaint_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaints.id", ondelete="CASCADE"))
    source: Mapped[str] = mapped_column(String(32))
    post_id: Mapped[str] = mapped_column(String(64))
    span_start: Mapped[int] = mapped_column(Integer)
    origin: Mapped[str] = mapped_column(String(16))
    """``card`` (sent from the card: tracked at once) or ``seen`` (seen on the network: proposed)."""
    reply_text: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text)
    due_at: Mapped[datetime | None]
    ask: Mapped[str | None] = mapped_column(Text)
    decision: Mapped[str] = mapped_column(String(16))
    """proposed, tracked, auto_tracked, changed, not_a_promise."""
    decided_by: Mapped[str | None] = mapped_column(String(64))
    decided_at: Mapped[datetime | None]
    proposed_to: Mapped[str | None] = mapped_column(String(32))
    track_after: Mapped[datetime | None]
    promise_id: Mapped[int | None] = mapped_column(ForeignKey("promises.id", ondelete="SET NULL"))
    created_at: Mapped[datetime]
