"""Incidents read back: the ``/complaints incidents`` list and the weekly report's incident numbers.

Read-only, plain values out; the Slack layer renders them. ``bot.incidents`` finds incidents and
answers their customers; this module only reads what it stored, in a few queries whatever the
number of incidents, so the command answers within Slack's three seconds during a storm too.

The weekly numbers follow the rest of the report (``bot.reports.metrics``): each is counted in the
period its own moment falls in — an incident in the week it was detected, its first public update
in the week that update reached a customer, its resolve in the week it was resolved — so a week's
numbers do not change when it is reported again later.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from bot.reports.metrics import Period, median
from bot.store.enums import DeliveryStatus
from bot.store.models import Complaint, Delivery, Incident, IncidentUpdate

RECENT = timedelta(days=14)
"""Resolved incidents stay on the list this long: two weekly reviews' worth."""
LISTED = 30
"""At most this many incidents of each status are read for the list: more than one command answer
can show (about fifteen), so the rest only need counting."""


@dataclass(frozen=True)
class Progress:
    """How the latest update (or the resolution) to an incident's customers stands."""

    kind: str
    """``update`` or ``resolve``."""
    sent: int
    total: int
    """Customers it is being sent to (those who can be answered from here)."""
    unreachable: int
    """Customers it could not be sent to from here (no reply keys for their network, an X post
    that does not mention the brand, forgotten): the team answers them on their network."""


@dataclass(frozen=True)
class IncidentLine:
    id: int
    status: str
    title: str
    customers: int
    posts: int
    networks: tuple[str, ...]
    detected_at: datetime
    anchor_id: int
    """The complaint whose card carries the incident's card: ``#anchor`` is how a person names it
    in other commands (``/promise #42 …``)."""
    owner_id: str | None
    resolved_at: datetime | None
    resolved_by: str | None
    latest: Progress | None
    """None until the first update is sent."""


@dataclass(frozen=True)
class Listing:
    open: list[IncidentLine] = field(default_factory=list)
    resolved: list[IncidentLine] = field(default_factory=list)
    """Resolved in the last ``RECENT``, most recently resolved first."""
    open_total: int = 0
    resolved_total: int = 0
    """All of them, including any beyond ``LISTED``."""
    recent: timedelta = RECENT
    """How far back resolved incidents are listed."""

    @property
    def unread(self) -> int:
        """Incidents counted but not read (beyond ``LISTED``)."""
        return self.open_total - len(self.open) + self.resolved_total - len(self.resolved)


# The incident's owner is its anchor complaint's: the incident card's Claim claims the anchor, and
# a hand-over or an unclaim moves it there. ``incidents.owner_id`` is only a copy taken at the first
# update, used when the anchor is gone.
_OWNER = case((Complaint.id.is_(None), Incident.owner_id), else_=Complaint.owner_id)
_COLUMNS = (
    Incident.id,
    Incident.status,
    Incident.title,
    Incident.customers,
    Incident.posts,
    Incident.networks,
    Incident.detected_at,
    Incident.anchor_id,
    _OWNER.label("owner_id"),
    Incident.resolved_at,
    Incident.resolved_by,
)


def listing(session: Session, now: datetime, *, recent: timedelta = RECENT, limit: int = LISTED) -> Listing:
    """Open incidents, newest first, then those resolved since ``now - recent``, latest first; each
    with its latest update's progress."""
    since = now - recent
    base = select(*_COLUMNS).outerjoin(Complaint, Complaint.id == Incident.anchor_id)
    open_rows = session.execute(
        base.where(Incident.status == "open").order_by(Incident.detected_at.desc(), Incident.id.desc()).limit(limit)
    ).all()
    resolved_rows = session.execute(
        base.where(Incident.status == "resolved", Incident.resolved_at >= since)
        .order_by(Incident.resolved_at.desc(), Incident.id.desc())
        .limit(limit)
    ).all()
    open_total = session.scalar(select(func.count()).select_from(Incident).where(Incident.status == "open")) or 0
    resolved_total = (
        session.scalar(
            select(func.count())
            .select_from(Incident)
            .where(Incident.status == "resolved", Incident.resolved_at >= since)
        )
        or 0
    )
    progress = _latest_progress(session, [r.id for r in [*open_rows, *resolved_rows]])
    return Listing(
        open=[_line(r, progress.get(r.id)) for r in open_rows],
        resolved=[_line(r, progress.get(r.id)) for r in resolved_rows],
        open_total=open_total,
        resolved_total=resolved_total,
        recent=recent,
    )


def _line(r: Any, latest: Progress | None) -> IncidentLine:
    """``r``: a row of ``_COLUMNS``."""
    return IncidentLine(
        id=r.id,
        status=r.status,
        title=r.title,
        customers=int(r.customers or 0),
        posts=int(r.posts or 0),
        networks=tuple(r.networks if isinstance(r.networks, list) else ()),
        detected_at=r.detected_at,
        anchor_id=r.anchor_id,
        owner_id=r.owner_id,
        resolved_at=r.resolved_at,
        resolved_by=r.resolved_by,
        latest=latest,
    )


def _latest_progress(session: Session, incident_ids: list[int]) -> dict[int, Progress]:
    """Each incident's latest update and how many of its replies were sent: one query for the
    updates and one for the counts, however many incidents are listed (each customer's reply is a
    delivery naming its update in ``incident_update``, which an index serves)."""
    if not incident_ids:
        return {}
    newest = (
        select(func.max(IncidentUpdate.id))
        .where(IncidentUpdate.incident_id.in_(incident_ids))
        .group_by(IncidentUpdate.incident_id)
    )
    updates = session.execute(
        select(
            IncidentUpdate.id,
            IncidentUpdate.incident_id,
            IncidentUpdate.kind,
            IncidentUpdate.customers,
            IncidentUpdate.unreachable,
        ).where(IncidentUpdate.id.in_(newest))
    ).all()
    if not updates:
        return {}
    sent = dict(
        session.execute(
            select(Delivery.incident_update, func.count())
            .where(
                Delivery.incident_update.in_([u.id for u in updates]),
                Delivery.status == DeliveryStatus.SENT.value,
            )
            .group_by(Delivery.incident_update)
        ).all()
    )
    return {
        u.incident_id: Progress(
            kind=u.kind,
            sent=int(sent.get(u.id, 0)),
            total=int(u.customers or 0),
            unreachable=len(u.unreachable) if isinstance(u.unreachable, list) else 0,
        )
        for u in updates
    }


# -- the weekly report ------------------------------------------------------------------------------


@dataclass(frozen=True)
class WeekNumbers:
    """One period's incidents, each number counted in the period its own moment falls in."""

    detected: int = 0
    customers: int = 0
    """Customers of the incidents detected in the period."""
    detect_median_s: float | None = None
    """From the post with which the topic crossed the threshold to the incident's detection."""
    updated: int = 0
    """Incidents whose first public update reached a customer in the period."""
    first_update_median_s: float | None = None
    """From the incident's first post to its first public update reaching a customer."""
    resolved: int = 0
    resolve_median_s: float | None = None
    """From the incident's first post to its resolve."""

    def __bool__(self) -> bool:
        return bool(self.detected or self.updated or self.resolved)


def _seconds(pairs: list[tuple[datetime, datetime]]) -> list[float]:
    return [(end - start).total_seconds() for start, end in pairs]


def week_numbers(session: Session, period: Period) -> WeekNumbers:
    """The incident numbers of ``period`` (its start and end are the team's local midnights, in UTC).
    Incidents are rare, so their rows are read and the medians taken here."""

    def within(column: Any) -> list[Any]:
        return [column >= period.start, column < period.end]

    detected = session.execute(
        select(Incident.customers, Incident.threshold_post_at, Incident.detected_at).where(
            *within(Incident.detected_at),
            Incident.merged_into.is_(None),  # its customers count in the other
        )
    ).all()
    updated = session.execute(
        select(Incident.first_post_at, Incident.first_update_at).where(*within(Incident.first_update_at))
    ).all()
    resolved = session.execute(
        select(Incident.first_post_at, Incident.resolved_at).where(
            Incident.status == "resolved", *within(Incident.resolved_at)
        )
    ).all()
    return WeekNumbers(
        detected=len(detected),
        customers=sum(int(r.customers or 0) for r in detected),
        detect_median_s=median(_seconds([(r.threshold_post_at, r.detected_at) for r in detected])),
        updated=len(updated),
        first_update_median_s=median(_seconds([(r.first_post_at, r.first_update_at) for r in updated])),
        resolved=len(resolved),
        resolve_median_s=median(_seconds([(r.first_post_at, r.resolved_at) for r in resolved])),
    )


# --- one incident's members, the least like it first ------------------------------------------------

MEMBERS_READ = 2000
"""An incident's posts read to rank them (the issue's storm is 300; a bigger one is ranked on its
first 2,000, which is where grouping's mistakes are made: a storm's first posts meet a small topic)."""


@dataclass(frozen=True)
class MemberLine:
    complaint_id: int
    handle: str
    source: str
    text: str
    folded: int
    """Other customers' posts folded into this one (same words): they leave with it."""
    likeness: float
    """Cosine of its words with the incident's words: the lowest are the ones to check."""


@dataclass(frozen=True)
class Members:
    incident_id: int
    status: str
    title: str
    customers: int
    anchor_id: int | None
    merged_into: int | None
    listed: list[MemberLine]
    total: int
    """Its posts, not counting folded copies."""


def members_to_check(session: Session, incident_id: int, limit: int = 15) -> Members | None:
    """An incident's posts, the ones least like the incident first: where an ordinary complaint the
    grouping drew in would be ("I logged in to check my refund" among a login outage's three hundred),
    so the team can take it out (``/complaints move #42 out of incident 7``) before the incident's
    reply goes to a customer it does not fit. None if there is no such incident."""
    from bot.incidents import topics  # what grouping matched them on, to rank them the same way

    incident = session.get(Incident, incident_id)
    if incident is None:
        return None
    rows = session.execute(
        select(Complaint.id, Complaint.author_handle, Complaint.author_id, Complaint.source, Complaint.text)
        .where(Complaint.incident_id == incident_id, Complaint.duplicate_of.is_(None))
        .order_by(Complaint.id)
        .limit(MEMBERS_READ)
    ).all()
    folded = dict(
        session.execute(
            select(Complaint.duplicate_of, func.count())
            .where(Complaint.incident_id == incident_id, Complaint.duplicate_of.is_not(None))
            .group_by(Complaint.duplicate_of)
        ).all()
    )
    total = session.scalar(
        select(func.count()).where(Complaint.incident_id == incident_id, Complaint.duplicate_of.is_(None))
    )
    profile = topics.Profile.of(incident.profile or {}, incident.profile_size or 0)
    lines = [
        MemberLine(
            r.id,
            r.author_handle or r.author_id,
            r.source,
            r.text,
            int(folded.get(r.id, 0)),
            profile.similarity(topics.terms(r.text)),
        )
        for r in rows
        if r.id != incident.anchor_id  # the incident's own card: it cannot leave
    ]
    lines.sort(key=lambda m: (m.likeness, m.complaint_id))
    return Members(
        incident.id, incident.status, incident.title or "", incident.customers, incident.anchor_id,
        incident.merged_into, lines[:limit], int(total or 0),
    )  # fmt: skip
