"""Finding incidents as posts are ingested: in the ingest batch's transaction, after its complaints
are written and before anything is committed — so a storm ingested at once gives one incident card
and no member cards, and a crash leaves either both the complaints and their incident or neither.

Per batch:
1. each new complaint is matched against the open incidents' word counts; one that matches joins;
2. the rest, with the recent complaints not in any incident (by the posts' own times, so a catch-up
   after downtime is seen as the spike it was), are grouped into topics (``topics.group``);
3. a topic with a new complaint in it becomes an incident when ``min_authors`` distinct customers
   posted on it within ``window`` — and, once four weeks of history exist, at least ``baseline``
   times what that hour of the week usually brings on the topic (a Monday-morning rush about
   deliveries is not an outage).

Joining an incident: the member's card, if not posted yet, is never posted (closed, with the
reason); rows waiting for it go to the incident's card; a card already posted gets a line saying
which incident it is part of. The incident's card is carried by one member's card row (the anchor),
so every existing path — claims, promises and their nags, thread lines — reaches it unchanged.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot import outbox
from bot.history import events
from bot.history.events import EventKind
from bot.incidents import topics
from bot.outbox.kinds import DeliveryKind
from bot.store.bulk import insert_rows
from bot.store.engine import autoflush
from bot.store.enums import OPEN_STATUSES, DeliveryStatus, Kind
from bot.store.models import AuditEvent, Complaint, Delivery, Incident

log = logging.getLogger(__name__)

OPEN = [s.value for s in OPEN_STATUSES]
KINDS = [Kind.COMPLAINT.value, Kind.QUESTION.value, Kind.OTHER.value]
""""Is your login down?" is a question to triage, "the sign-in page just spins" nothing it can name:
on an outage's topic both are its customers all the same. Praise never is."""
CANDIDATE_LIMIT = 5000
"""At most this many recent complaints are grouped per batch (a storm's first hour fits)."""
HISTORY_WEEKS = 4
CARD_UPDATE_SECONDS = 20.0
"""The incident card is re-drawn at most this often while members pour in (Slack's edit lane is
shared with every other card in the channel)."""
INCIDENT_PRIORITY = 100


@dataclass(frozen=True)
class IncidentPolicy:
    """When a topic becomes an incident (``INCIDENT_*`` settings)."""

    min_authors: int = 15
    window: timedelta = timedelta(minutes=30)
    baseline_factor: float = 4.0
    join: float = topics.JOIN
    enabled: bool = True


@dataclass
class _Member:
    id: int
    source: str
    author: str
    followers: int
    posted_at: datetime
    words: frozenset[str]
    duplicate_of: int | None
    slack_ts: str | None
    slack_channel: str | None
    created_now: bool


_COLUMNS = (
    Complaint.id,
    Complaint.source,
    Complaint.author_id,
    Complaint.author_followers,
    Complaint.amplification_reach,
    Complaint.posted_at,
    Complaint.text,
    Complaint.duplicate_of,
    Complaint.slack_ts,
    Complaint.slack_channel,
)


class Detector:
    """Keeps the words of complaints it has read (texts do not change but by an edit, which is rare
    and only moves a post between topics at the margin), so a storm's batches do not re-read them."""

    def __init__(self, policy: IncidentPolicy) -> None:
        self.policy = policy
        self._words: dict[int, frozenset[str]] = {}

    def words(self, complaint_id: int, text: str) -> frozenset[str]:
        found = self._words.get(complaint_id)
        if found is None:
            if len(self._words) > 50_000:
                self._words.clear()
            found = self._words[complaint_id] = topics.terms(text)
        return found

    def _members(self, session: Session, where: Sequence[Any], created: set[int]) -> list[_Member]:
        rows = session.execute(select(*_COLUMNS).where(*where).order_by(Complaint.posted_at, Complaint.id)).all()
        return [
            _Member(
                r.id,
                r.source,
                r.author_id,
                int(r.author_followers or 0) + int(r.amplification_reach or 0),
                r.posted_at,
                self.words(r.id, r.text),
                r.duplicate_of,
                r.slack_ts,
                r.slack_channel,
                r.id in created,
            )
            for r in rows
        ]

    def detect(self, session: Session, created: Sequence[int], *, at: datetime) -> list[int]:
        """Group this batch's new complaints (``created``) into incidents; the incidents touched."""
        if not self.policy.enabled or not created:
            return []
        autoflush(session)
        new = self._members(
            session,
            [Complaint.id.in_(list(created)), Complaint.kind.in_(KINDS), Complaint.incident_id.is_(None)],
            set(created),
        )
        if not new:
            return []
        touched: dict[int, list[_Member]] = {}
        incidents = session.scalars(select(Incident).where(Incident.status == "open").order_by(Incident.id)).all()
        profiles = {i.id: topics.Profile.of(i.profile, i.profile_size) for i in incidents}
        rest = []
        for member in new:
            scores = [(profiles[i.id].similarity(member.words), -i.id) for i in incidents]
            best = max(scores, default=(0.0, 0))
            if best[0] >= self.policy.join and profiles[-best[1]].fits(member.words, self.policy.join):
                touched.setdefault(-best[1], []).append(member)
                profiles[-best[1]].add(member.words)
            else:
                rest.append(member)
        by_id = {i.id: i for i in incidents}
        for incident_id, members in touched.items():
            self._join(session, by_id[incident_id], members, profiles[incident_id], at=at)
        if rest:
            for incident_id in self._new_incidents(session, rest, at=at):
                touched.setdefault(incident_id, [])
        return sorted(touched)

    # -- new incidents -------------------------------------------------------------------------------
    def _new_incidents(self, session: Session, new: list[_Member], *, at: datetime) -> list[int]:
        window = self.policy.window
        since = min(m.posted_at for m in new) - window
        until = max(m.posted_at for m in new) + window
        ids = {m.id for m in new}
        recent = self._members(
            session,
            [
                Complaint.posted_at >= since,
                Complaint.posted_at <= until,
                Complaint.kind.in_(KINDS),
                Complaint.status.in_(OPEN),
                Complaint.incident_id.is_(None),
                Complaint.id.not_in(list(ids)),
            ],
            set(),
        )[-CANDIDATE_LIMIT:]
        everyone = {m.id: m for m in [*recent, *new]}
        items = [topics.Item(m.id, f"{m.source}:{m.author}", m.posted_at, m.words) for m in everyone.values()]
        grouped = topics.group(items, join=self.policy.join)
        background = topics.Profile()
        for topic in grouped:
            if len({i.author for i in topic.items}) < self.policy.min_authors:
                for item in topic.items:
                    background.add(item.words)
        opened = []
        for topic in grouped:
            if not any(item.key in ids for item in topic.items):
                continue
            authors, _ = topic.authors_within(window)
            if authors < self.policy.min_authors:
                continue
            threshold = topic.threshold_item(window, self.policy.min_authors)
            assert threshold is not None
            if not self._above_usual(session, topic, threshold.at):
                continue
            members = [everyone[item.key] for item in topic.items]
            opened.append(self._open(session, members, topic, background, threshold.at, at=at))
        return opened

    def _above_usual(self, session: Session, topic: topics.Topic, when: datetime) -> bool:
        """Once four weeks of history exist: the topic's count within the window must be at least
        ``baseline_factor`` times its average count in the same window of the week, those weeks."""
        window = self.policy.window
        oldest = session.scalar(select(func.min(Complaint.posted_at)))
        if oldest is None or oldest > when - timedelta(weeks=HISTORY_WEEKS):
            return True
        usual = 0
        for weeks in range(1, HISTORY_WEEKS + 1):
            end = when - timedelta(weeks=weeks)
            rows = session.execute(
                select(Complaint.id, Complaint.text).where(
                    Complaint.posted_at > end - window, Complaint.posted_at <= end, Complaint.kind.in_(KINDS)
                )
            ).all()
            usual += sum(1 for r in rows if topic.profile.similarity(self.words(r.id, r.text)) >= self.policy.join)
        now_count = sum(1 for i in topic.items if when - window <= i.at <= when)
        return now_count >= self.policy.baseline_factor * (usual / HISTORY_WEEKS)

    def _open(
        self,
        session: Session,
        members: list[_Member],
        topic: topics.Topic,
        background: topics.Profile,
        threshold_at: datetime,
        *,
        at: datetime,
    ) -> int:
        anchor = self._anchor(session, members)
        incident = Incident(
            status="open",
            anchor_id=anchor.id,
            title=", ".join(topic.profile.telling(background)) or "(no common words)",
            profile=topic.profile.top(),
            profile_size=topic.profile.size,
            customers=0,
            posts=0,
            reach=0,
            networks=[],
            first_post_at=min(m.posted_at for m in members),
            latest_post_at=max(m.posted_at for m in members),
            threshold_post_at=threshold_at,
            detected_at=at,
            updated_at=at,
        )
        session.add(incident)
        session.flush()
        # The anchor's card row becomes the incident's card: posted first, whatever else waits.
        card = outbox.card_key(anchor.id)
        found = session.execute(
            update(Delivery)
            .where(Delivery.key == card, Delivery.status == DeliveryStatus.PENDING.value, Delivery.attempts == 0)
            .values(payload={"incident": incident.id}, priority=INCIDENT_PRIORITY)
            .execution_options(synchronize_session=False)
        ).rowcount  # type: ignore[attr-defined]
        if not found:
            channel = session.scalar(
                select(Delivery.channel).where(Delivery.kind == DeliveryKind.CARD.value).order_by(Delivery.id.desc())
            )
            outbox.insert_row(
                session,
                outbox.row(
                    DeliveryKind.CARD,
                    key=card,
                    at=at,
                    lane=outbox.lane_for(DeliveryKind.CARD, channel or "none"),
                    channel=channel,
                    complaint_id=anchor.id,
                    payload={"incident": incident.id},
                    priority=INCIDENT_PRIORITY,
                ),
            )
        events.record(
            session,
            EventKind.INCIDENT_OPENED,
            actor=events.SYSTEM,
            at=at,
            complaint_id=anchor.id,
            note=incident.title,
            details=events.IncidentEvent(incident.id, len({(m.source, m.author) for m in members}), len(members)),
        )
        log.warning(
            "incident #%d opened: %s (%d customers)", incident.id, incident.title, len({m.author for m in members})
        )
        self._join(session, incident, members, topic.profile, at=at, opening=True)
        return incident.id

    @staticmethod
    def _anchor(session: Session, members: list[_Member]) -> _Member:
        """The member whose card row will carry the incident's card: one of this batch with no card
        posted and its own card row never tried (the newest), else the newest of this batch."""
        fresh = [m for m in members if m.created_now and m.slack_ts is None]
        for member in sorted(fresh, key=lambda m: (m.posted_at, m.id), reverse=True):
            if member.duplicate_of is None:
                return member
        chosen = max(fresh or members, key=lambda m: (m.posted_at, m.id))
        if chosen.duplicate_of is not None:
            # A folded copy carries the card now: it is no longer counted on the card it was folded into.
            session.execute(
                update(Complaint)
                .where(Complaint.id == chosen.duplicate_of, Complaint.duplicate_count > 0)
                .values(duplicate_count=Complaint.duplicate_count - 1)
            )
            session.execute(update(Complaint).where(Complaint.id == chosen.id).values(duplicate_of=None))
            chosen.duplicate_of = None
        return chosen

    # -- members -----------------------------------------------------------------------------------
    def _join(
        self,
        session: Session,
        incident: Incident,
        members: list[_Member],
        profile: topics.Profile,
        *,
        at: datetime,
        opening: bool = False,
    ) -> None:
        ids = [m.id for m in members]
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            session.execute(
                update(Complaint)
                .where(Complaint.id.in_(chunk))
                .values(incident_id=incident.id, updated_at=at)
                .execution_options(synchronize_session=False)
            )
            others = [cid for cid in chunk if cid != incident.anchor_id]
            # Their cards, not out yet, never will be: the incident's card stands for them all.
            session.execute(
                update(Delivery)
                .where(
                    Delivery.key.in_([outbox.card_key(cid) for cid in others]),
                    Delivery.status == DeliveryStatus.PENDING.value,
                    Delivery.attempts == 0,
                )
                .values(status=DeliveryStatus.CLOSED.value, last_error=f"part of incident #{incident.id}")
                .execution_options(synchronize_session=False)
            )
            unposted = [m.id for m in members if m.id in set(others) and m.slack_ts is None]
            # What waited for those cards (a customer's reply in the same batch) goes under the incident's.
            session.execute(
                update(Delivery)
                .where(Delivery.card_of.in_(unposted), Delivery.status == DeliveryStatus.PENDING.value)
                .values(card_of=incident.anchor_id)
                .execution_options(synchronize_session=False)
            )
        posted = [m for m in members if m.slack_ts is not None and m.id != incident.anchor_id]
        for member in posted:
            # Its card, already in the channel, says which incident it is part of (once).
            outbox.insert_row(
                session,
                outbox.row(
                    DeliveryKind.CARD_UPDATE,
                    key=f"incident-line:{member.id}",
                    at=at,
                    lane=outbox.lane_for(DeliveryKind.CARD_UPDATE, member.slack_channel or "none"),
                    complaint_id=member.id,
                    card_of=member.id,
                    priority=10,
                ),
            )
        insert_rows(
            session,
            AuditEvent.__table__,
            [
                events.row(
                    EventKind.INCIDENT_JOINED,
                    actor=events.SYSTEM,
                    at=at,
                    complaint_id=m.id,
                    details=events.IncidentEvent(incident.id),
                )
                for m in members
            ],
        )
        self._recount(session, incident, profile, at=at, first=opening)

    @staticmethod
    def _recount(session: Session, incident: Incident, profile: topics.Profile, *, at: datetime, first: bool) -> None:
        """The card's numbers from the members as stored, and the card re-drawn (not too often)."""
        row = session.execute(
            select(
                func.count(),
                func.min(Complaint.posted_at),
                func.max(Complaint.posted_at),
                func.sum(Complaint.author_followers + Complaint.amplification_reach),
            ).where(Complaint.incident_id == incident.id)
        ).one()
        customers = session.execute(
            select(Complaint.source, Complaint.author_id).where(Complaint.incident_id == incident.id).distinct()
        ).all()
        incident.posts = int(row[0])
        incident.first_post_at = row[1] or incident.first_post_at
        incident.latest_post_at = row[2] or incident.latest_post_at
        incident.reach = int(row[3] or 0)
        incident.customers = len(customers)
        incident.networks = sorted(Counter(source for source, _ in customers))
        incident.profile = profile.top()
        incident.profile_size = profile.size
        incident.updated_at = at
        session.flush()
        if first:
            return
        anchor = incident.anchor_id
        target = outbox.card_target(session, anchor)
        outbox.request_card_refreshes(session, {anchor: INCIDENT_PRIORITY}, at=at, targets={anchor: target})
        last = session.execute(
            select(Delivery.sent_at).where(
                Delivery.key == f"update:{anchor}", Delivery.status == DeliveryStatus.PENDING.value
            )
        ).scalar()
        if last is not None and last + timedelta(seconds=CARD_UPDATE_SECONDS) > at:
            session.execute(
                update(Delivery)
                .where(Delivery.key == f"update:{anchor}", Delivery.status == DeliveryStatus.PENDING.value)
                .values(available_at=last + timedelta(seconds=CARD_UPDATE_SECONDS))
                .execution_options(synchronize_session=False)
            )
