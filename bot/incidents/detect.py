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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import String, bindparam, func, or_, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from bot import outbox
from bot.history import events
from bot.history.events import EventKind
from bot.incidents import topics
from bot.outbox.kinds import DeliveryKind
from bot.store import dialect
from bot.store.bulk import insert_rows
from bot.store.engine import autoflush
from bot.store.enums import OPEN_STATUSES, DeliveryStatus, Kind
from bot.store.models import AuditEvent, Complaint, Delivery, Incident, IncidentSuggestion
from bot.store.types import UTCDateTime

log = logging.getLogger(__name__)

OPEN = [s.value for s in OPEN_STATUSES]
KINDS = [Kind.COMPLAINT.value, Kind.QUESTION.value, Kind.OTHER.value]
""""Is your login down?" is a question to triage, "the sign-in page just spins" nothing it can name:
on an outage's topic both are its customers all the same. Praise never is."""
CANDIDATE_LIMIT = 5000
"""At most this many recent complaints are grouped per batch (a storm's first hour fits)."""
OVERLAP = 0.6
"""A topic crossing the threshold while an open incident's posts already say most of what it says
("card declined at checkout" beside "payment failed at checkout") is that incident, told anew —
not a second one. Two outages on two subjects share a few words ("error", "fail"), not most."""
SHARED = 0.5
ONSET = timedelta(minutes=10)
"""A burst crossing the threshold that began within this of an open incident's is that incident
(``Detector._began_with``)."""
JOIN_AUTHORS = 1 / 3
"""A topic an open incident mostly says joins it from a third of the customers a new incident
needs: "card declined at checkout" told by 14 customers during a payment outage told mostly as
"payment error" is that outage, not 14 ordinary complaints."""
LIFT = 5.0
"""A word most posts of an incident and of a new topic use makes them one when both use it this
many times more often than ordinary complaints do."""
RELEASED_FOR = timedelta(days=1)
"""After Not an incident, the same topic opens no incident for this long (``release.py``)."""
PROFILE_REWRITE = 1.1
HISTORY_WEEKS = 4
BACKGROUND_DAYS = timedelta(days=7)
BACKGROUND_LIMIT = 20_000
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


NOT_DECIDED_OUT = ~(
    select(IncidentSuggestion.id)
    .where(
        or_(IncidentSuggestion.complaint_id == Complaint.id, IncidentSuggestion.complaint_id == Complaint.duplicate_of),
        IncidentSuggestion.status == "dismissed",
    )
    .exists()
)
"""A post a person said is not part of an incident (Not part of it, or taken out of one) is never
grouped again, nor a post folded into it: the sweep would otherwise draw it back in behind their back."""
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


_C = Complaint.__table__.c
_D = Delivery.__table__.c
_PENDING = DeliveryStatus.PENDING.value
# Built once, run as executemany over every member a batch adds to any incident (CLOSE_CARD and
# REPOINT_THREAD also for the one a person adds: bot.incidents.membership).
_SET_ONE = (
    update(Complaint.__table__)
    .where(_C.id == bindparam("cid"))
    .values(incident_id=bindparam("incident"), updated_at=bindparam("at", type_=UTCDateTime()))
)
CLOSE_CARD = (
    update(Delivery.__table__)
    .where(_D.key == bindparam("card_key", type_=String()), _D.status == _PENDING, _D.attempts == 0)
    .values(status=DeliveryStatus.CLOSED.value, last_error=bindparam("why"))
)
REPOINT_THREAD = (
    update(Delivery.__table__)
    .where(_D.card_of == bindparam("cid"), _D.status == _PENDING)
    .values(card_of=bindparam("anchor"))
)
_KNOWN_AUTHORS = (
    select(_C.author_id)
    .where(
        _C.incident_id == bindparam("incident"),
        _C.source == bindparam("source", type_=String()),
        _C.author_id.in_(bindparam("authors", expanding=True)),
        _C.id.not_in(bindparam("ids", expanding=True)),
    )
    .distinct()
)
_LOCK_OPEN_INCIDENTS = (
    select(Incident.__table__.c.id).where(Incident.__table__.c.status == "open").order_by(Incident.__table__.c.id)
).with_for_update()
_MEMBER_TEXTS = select(_C.id, _C.text).where(_C.incident_id == bindparam("incident"))
_POSTED_CARD = select(_C.slack_channel).where(_C.id == bindparam("cid"), _C.slack_ts.is_not(None))
_REFRESH_SENT = select(_D.sent_at).where(_D.key == bindparam("key", type_=String()), _D.status == _PENDING)


def redraw_own_card(session: Session, complaint_id: int, channel: str | None, *, key: str, at: datetime) -> None:
    """Re-draw a member's own card (posted before its incident was found), once per ``key``: its
    lines go to the incident's card, so the usual refresh would re-draw that one instead."""
    outbox.insert_row(
        session,
        outbox.row(
            DeliveryKind.CARD_UPDATE,
            key=key,
            at=at,
            lane=outbox.lane_for(DeliveryKind.CARD_UPDATE, channel or "none"),
            complaint_id=complaint_id,
            card_of=complaint_id,
            priority=10,
        ),
    )


def withdraw_offers(session: Session, incident_id: int, *, at: datetime) -> None:
    """Cards whose question "part of incident #N?" is moot now the incident is closing: re-drawn
    without it (the renderer shows a suggestion only for an open incident), once each."""
    rows = session.execute(
        select(Complaint.id, Complaint.slack_channel)
        .join(IncidentSuggestion, IncidentSuggestion.complaint_id == Complaint.id)
        .where(
            IncidentSuggestion.incident_id == incident_id,
            IncidentSuggestion.status == "open",
            Complaint.incident_id.is_(None),
        )
    ).all()
    for cid, channel in rows:
        redraw_own_card(session, cid, channel, key=f"suggest-withdrawn:{cid}:{incident_id}", at=at)


def _stands_out(share: float, word: str, background: topics.Background) -> bool:
    """Whether posts using ``word`` in this ``share`` use it ``LIFT`` times more than ordinary ones."""
    return share >= LIFT * max(background.counts.get(word, 0), 1) / background.size


class _Recent:
    """The recent complaints in no incident, indexed by word, kept between batches.

    Regrouping every complaint of the window on each batch read thousands of rows a batch and
    halved ingest's speed; a batch's posts can only join topics that share a word with them. The
    index is loaded from the database when a batch reaches back past what it holds (a restart, a
    catch-up of old posts) and then kept up to date with each batch's posts; what it says is
    checked against the database before an incident is opened (``Detector._still_candidates``)."""

    def __init__(self) -> None:
        self.items: dict[int, _Member] = {}
        self.by_word: dict[str, set[int]] = {}
        self.since: datetime | None = None

    def add(self, member: _Member) -> None:
        self.items[member.id] = member
        for word in member.words:
            self.by_word.setdefault(word, set()).add(member.id)

    def remove(self, complaint_id: int) -> None:
        member = self.items.pop(complaint_id, None)
        if member is None:
            return
        for word in member.words:
            ids = self.by_word.get(word)
            if ids is not None:
                ids.discard(complaint_id)
                if not ids:
                    del self.by_word[word]

    def near(self, words: set[str], since: datetime, until: datetime) -> list[_Member]:
        ids: set[int] = set()
        for word in words:
            ids |= self.by_word.get(word, set())
        return [self.items[i] for i in ids if since <= self.items[i].posted_at <= until]

    def forget_before(self, bound: datetime) -> list[_Member]:
        """Drop what is older than ``bound``; return it (it becomes the background)."""
        gone = [m for m in self.items.values() if m.posted_at < bound]
        for member in gone:
            self.remove(member.id)
        self.since = max(self.since or bound, bound)
        return gone


class Detector:
    """Keeps the words of complaints it has read (texts do not change but by an edit, which is rare
    and only moves a post between topics at the margin), so a storm's batches do not re-read them."""

    def __init__(self, policy: IncidentPolicy, channel: str | None = None) -> None:
        self.policy = policy
        self.channel = channel
        """Where the incident's card goes when its anchor has no card row of its own to carry it."""
        self._words: dict[int, frozenset[str]] = {}
        self.recent = _Recent()
        self._latest: datetime | None = None
        self._anchor_cards: dict[int, outbox.CardTarget] = {}
        self._writes: dict[str, list[dict[str, Any]]] = {"set": [], "close": [], "repoint": [], "events": []}
        self._seen_max: int | None = None
        """The newest complaint id the index has seen: what another worker ingested since is read
        at the next batch (on PostgreSQL several workers take turns draining the inbox)."""
        self._grown: set[int] = set()
        """Incidents whose words were rewritten this batch: the recent posts left out are looked at
        again against them (``_sweep``)."""
        self.background: topics.Background | None = None
        """The words of the ordinary complaints of the last week, older than the recent window (read
        once, then joined by each complaint that leaves the window in no incident): what decides that
        "I logged in to track my parcel" is about a parcel. Never the recent posts: during a burst,
        the outage's own words would pass for everyday ones."""

    def _background(self, session: Session, before: datetime) -> topics.Background:
        if self.background is None:
            self.background = topics.Background()
            rows = session.execute(
                select(Complaint.id, Complaint.text)
                .where(
                    Complaint.posted_at >= before - BACKGROUND_DAYS,
                    Complaint.posted_at < before,
                    Complaint.kind.in_(KINDS),
                    Complaint.incident_id.is_(None),
                )
                .order_by(Complaint.id.desc())
                .limit(BACKGROUND_LIMIT)
            ).all()
            for cid, text in rows:
                self.background.add(self.words(cid, text))
        return self.background

    def words(self, complaint_id: int, text: str) -> frozenset[str]:
        found = self._words.get(complaint_id)
        if found is None:
            if len(self._words) > 50_000:
                self._words.clear()
            found = self._words[complaint_id] = topics.terms(text)
        return found

    def _member_of(self, row: dict[str, Any]) -> _Member:
        """A complaint ingest has just written, from its row's values."""
        return _Member(
            row["id"],
            row["source"],
            row["author_id"],
            int(row.get("author_followers") or 0),
            row["posted_at"],
            self.words(row["id"], row["text"]),
            row.get("duplicate_of"),
            None,
            None,
            True,
        )

    def _members(self, session: Session, where: Sequence[Any], created: set[int]) -> list[_Member]:
        rows = session.execute(select(*_COLUMNS).where(*where).order_by(Complaint.posted_at, Complaint.id)).all()
        return [
            _Member(
                r.id,
                r.source,
                r.author_id,
                int(r.author_followers or 0),
                r.posted_at,
                self.words(r.id, r.text),
                r.duplicate_of,
                r.slack_ts,
                r.slack_channel,
                r.id in created,
            )
            for r in rows
        ]

    def lock(self, session: Session) -> None:
        """Hold the open incidents until the ingest batch commits (PostgreSQL; SQLite's writers are
        serialised already). Taken first in the batch, before any complaint is locked, in the same
        order Resolve incident takes them: a post joining an incident while it is being resolved
        waits, then sees it resolved — instead of joining it after it closed, never to be answered.
        """
        if self.policy.enabled and dialect.is_postgres(session):
            session.execute(_LOCK_OPEN_INCIDENTS).all()

    def detect(self, session: Session, created: Sequence[int | dict[str, Any]], *, at: datetime) -> list[int]:
        """Group this batch's new complaints into incidents; the incidents touched. ``created``: their
        ids, or the rows ingest has just written (what is needed of them, without reading them back)."""
        if not self.policy.enabled or not created:
            return []
        autoflush(session)
        rows = [c for c in created if isinstance(c, dict)]
        if len(rows) == len(created):
            new = [self._member_of(row) for row in rows if row["kind"] in KINDS and row.get("incident_id") is None]
        else:
            ids = [c["id"] if isinstance(c, dict) else c for c in created]
            new = self._members(
                session,
                [Complaint.id.in_(ids), Complaint.kind.in_(KINDS), Complaint.incident_id.is_(None)],
                set(ids),
            )
        primaries = {m.duplicate_of for m in new if m.duplicate_of is not None}
        if primaries:
            # A post folded into one a person took out of an incident (or said is not part of one) is
            # that card's customer: it stays with the card rather than joining the outage on its own.
            out = set(
                session.scalars(
                    select(IncidentSuggestion.complaint_id).where(
                        IncidentSuggestion.complaint_id.in_(sorted(primaries)), IncidentSuggestion.status == "dismissed"
                    )
                )
            )
            new = [m for m in new if m.duplicate_of not in out]
        if not new:
            return []
        background = self._background(session, min(m.posted_at for m in new) - 2 * self.policy.window)
        touched: dict[int, list[_Member]] = {}
        incidents = session.scalars(select(Incident).where(Incident.status == "open").order_by(Incident.id)).all()
        profiles = {i.id: topics.Profile.of(i.profile, i.profile_size) for i in incidents}
        rest = []
        for member in new:
            scores = [(profiles[i.id].similarity(member.words), -i.id) for i in incidents]
            best = max(scores, default=(0.0, 0))
            if best[0] >= self.policy.join and profiles[-best[1]].fits(member.words, self.policy.join, background):
                touched.setdefault(-best[1], []).append(member)
                profiles[-best[1]].add(member.words)
            else:
                rest.append(member)
        by_id = {i.id: i for i in incidents}
        for incident_id, members in touched.items():
            self._join(session, by_id[incident_id], members, profiles[incident_id], at=at)
        self._flush_writes(session)
        joined: set[int] = set()
        if rest:
            for incident_id, ids in self._new_incidents(session, rest, by_id, profiles, at=at):
                touched.setdefault(incident_id, [])
                joined |= ids
        for member in rest:
            if member.id in joined:
                continue
            member.created_now = False
            self.recent.add(member)
        for incident_members in touched.values():
            for member in incident_members:
                self.recent.remove(member.id)
        for cid in joined:
            self.recent.remove(cid)
        if self._grown:
            self._sweep(session, at=at)
        latest = max(m.posted_at for m in new)
        self._latest = max(self._latest or latest, latest)
        if self.recent.since is not None and self.recent.since < self._latest - 4 * self.policy.window:
            for gone in self.recent.forget_before(self._latest - 2 * self.policy.window):
                background.add(gone.words)  # left the window in no incident: an ordinary complaint
        return sorted(touched)

    def _sweep(self, session: Session, *, at: datetime) -> None:
        """The recent posts in no incident, looked at again against incidents whose words were just
        rewritten. Without it a post is judged once, against the incident's words as they were then
        — a storm's first twenty posts say less than its three hundred — and a post from before the
        incident was found only with the batch that opened it."""
        grown, self._grown = sorted(self._grown), set()
        incidents = session.scalars(select(Incident).where(Incident.status == "open").order_by(Incident.id)).all()
        profiles = {i.id: topics.Profile.of(i.profile, i.profile_size) for i in incidents}
        by_id = {i.id: i for i in incidents}
        window = self.policy.window
        if self.recent.since is None:
            self._load(session, min(by_id[i].first_post_at for i in grown if i in by_id) - window)
        else:
            self._catch_up(session, set())
        claimed: dict[int, list[_Member]] = {}
        for incident_id in grown:
            incident = by_id.get(incident_id)
            if incident is None:
                continue
            profile = profiles[incident_id]
            floor = max(2, topics.COVER_SHARE * profile.size)
            words = {w for w, c in profile.counts.items() if c >= floor}
            since, until = incident.first_post_at - window, incident.latest_post_at + window
            for member in self.recent.near(words, since, until):
                best = max((profiles[i].similarity(member.words), -i) for i in profiles)
                if (
                    -best[1] == incident_id
                    and best[0] >= self.policy.join
                    and profile.fits(member.words, self.policy.join, self.background)
                ):
                    claimed.setdefault(incident_id, []).append(member)
        for incident_id, found in claimed.items():
            members = self._still_candidates(session, found, set())
            for member in members:
                profiles[incident_id].add(member.words)
            if members:
                self._join(session, by_id[incident_id], members, profiles[incident_id], at=at)
            for member in found:
                self.recent.remove(member.id)
        self._flush_writes(session)
        self._grown.clear()  # a sweep's own growth waits for the next batch's

    # -- new incidents -------------------------------------------------------------------------------
    def _new_incidents(
        self,
        session: Session,
        new: list[_Member],
        open_incidents: dict[int, Incident],
        profiles: dict[int, topics.Profile],
        *,
        at: datetime,
    ) -> list[tuple[int, set[int]]]:
        """Topics that crossed the threshold: each an incident — or, told in words an open incident
        shares (its core word, or counts pointing the same way), part of that one rather than a
        second incident for one outage. Returns (incident, member ids) for each."""
        window = self.policy.window
        since = min(m.posted_at for m in new) - window
        until = max(m.posted_at for m in new) + window
        ids = {m.id for m in new}
        if self.recent.since is None or since < self.recent.since:
            self._load(session, since)
        else:
            self._catch_up(session, ids)
        self._seen_max = max([self._seen_max or 0, *ids])
        words = {w for m in new for w in m.words}
        recent = [m for m in self.recent.near(words, since, until) if m.id not in ids]
        everyone = {m.id: m for m in [*recent, *new]}
        items = [topics.Item(m.id, f"{m.source}:{m.author}", m.posted_at, m.words) for m in everyone.values()]
        grouped = topics.group(items, join=self.policy.join, background=self.background)
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
                same = (
                    next((i for i, p in profiles.items() if self._part_of(p, topic.profile)), None)
                    if authors >= max(3, self.policy.min_authors * JOIN_AUTHORS)
                    else None
                )
                members = self._still_candidates(session, [everyone[i.key] for i in topic.items], ids) if same else []
                if same is not None and members:
                    for member in members:
                        profiles[same].add(member.words)
                    self._join(session, open_incidents[same], members, profiles[same], at=at)
                    self._flush_writes(session)
                    opened.append((same, {m.id for m in members}))
                continue
            threshold = topic.threshold_item(window, self.policy.min_authors)
            assert threshold is not None
            if not self._above_usual(session, topic, threshold.at):
                continue
            members = self._still_candidates(session, [everyone[item.key] for item in topic.items], ids)
            if len({(m.source, m.author) for m in members}) < self.policy.min_authors:
                continue
            same = next((i for i, p in profiles.items() if self._same_incident(p, topic.profile)), None)
            if same is None and self._novel(topic.profile):
                same = self._began_with(open_incidents, profiles, topic, threshold.at)
            if same is not None:
                for member in members:
                    profiles[same].add(member.words)
                self._join(session, open_incidents[same], members, profiles[same], at=at)
                self._flush_writes(session)
                opened.append((same, {m.id for m in members}))
                continue
            if self._released_like(session, topic.profile, at):
                continue  # a person said this topic was no incident: not again the same day
            incident_id = self._open(session, members, topic, background, threshold.at, at=at)
            opened.append((incident_id, {m.id for m in members}))
            # What crosses the threshold next in this batch may be this incident told another way.
            open_incidents[incident_id] = session.get_one(Incident, incident_id)
            profiles[incident_id] = topics.Profile.of(topic.profile.counts, topic.profile.size)
        return opened

    def _began_with(
        self,
        open_incidents: dict[int, Incident],
        profiles: dict[int, topics.Profile],
        topic: topics.Topic,
        threshold_at: datetime,
    ) -> int | None:
        """The open incident whose burst began within ``ONSET`` of this one's, if any (the nearest).
        One outage is told in words that share nothing — "can't log in", "it keeps kicking me out",
        "the password reset does nothing" — and each wording can cross the threshold on its own: a
        card per wording was the fifth set of wordings' result (nine incidents for two outages).
        Two bursts beginning together are one outage far more often than two; Not an incident
        undoes a wrong one."""
        window = self.policy.window
        began = min(i.at for i in topic.items if threshold_at - window <= i.at <= threshold_at)
        nearest: tuple[timedelta, int] | None = None
        for incident_id, incident in open_incidents.items():
            if not self._novel(profiles[incident_id]):
                continue  # an everyday subject's incident takes nothing by its hour alone
            onset = max(incident.first_post_at, incident.threshold_post_at - window)
            gap = abs(began - onset)
            if gap <= ONSET and (nearest is None or gap < nearest[0]):
                nearest = (gap, incident_id)
        return nearest[1] if nearest else None

    def _released_like(self, session: Session, topic: topics.Profile, at: datetime) -> bool:
        rows = session.execute(
            select(Incident.profile, Incident.profile_size).where(
                Incident.status == "released", Incident.resolved_at >= at - RELEASED_FOR
            )
        ).all()
        return any(self._same_incident(topics.Profile.of(p, n), topic) for p, n in rows)

    def _part_of(self, incident: topics.Profile, topic: topics.Profile) -> bool:
        """Whether a topic too small to be an incident is part of an open one: told in its words,
        and with no more than a share of words ordinary complaints use instead (``topics.COVER``)."""
        background = self.background
        if background is None or not background.size:
            return False
        return incident.foreign(topic, background) < topics.COVER and self._same_incident(incident, topic)

    def _novel(self, topic: topics.Profile) -> bool:
        """Whether a topic is news: the words most of its posts use are used ``LIFT`` times less by
        the ordinary complaints of the last week — as an outage's second wording is, and not the
        everyday subjects of a busy desk, which cross the threshold at the same hour every morning.
        Before any week of posts is known nothing is (a desk's first day merges nothing by hour)."""
        background = self.background
        if not background or not background.size or not topic.size:
            return False
        core = [w for w, c in topic.counts.items() if c >= SHARED * topic.size]
        return bool(core) and all(_stands_out(topic.counts[w] / topic.size, w, background) for w in core)

    def _same_incident(self, incident: topics.Profile, topic: topics.Profile) -> bool:
        """Whether a topic crossing the threshold is an open incident told anew: the same words, or
        a word most posts of both use that ordinary complaints do not ("payment" in "card declined,
        payment taken" and in "payment failed at the last step")."""
        if topics.same_topic(incident, topic) or topics.overlap(incident, topic) >= OVERLAP:
            return True
        shared = {w for w, c in incident.counts.items() if c >= SHARED * incident.size} & {
            w for w, c in topic.counts.items() if c >= SHARED * topic.size
        }
        background = self.background
        if background is None or not background.size:
            return bool(shared)
        # Told by most posts of both, and far more than by ordinary complaints: "payment" is in one
        # ordinary complaint in twelve ("paid for next day delivery") and in most of an outage's.
        return any(
            _stands_out(min(incident.counts[w] / incident.size, topic.counts[w] / topic.size), w, background)
            for w in shared
        )

    def _load(self, session: Session, since: datetime) -> None:
        """(Re)build the index from the database: open complaints in no incident, posted since ``since``."""
        self.recent = _Recent()
        rows = self._members(
            session,
            [
                Complaint.posted_at >= since,
                Complaint.kind.in_(KINDS),
                Complaint.status.in_(OPEN),
                Complaint.incident_id.is_(None),
                NOT_DECIDED_OUT,
            ],
            set(),
        )[-CANDIDATE_LIMIT:]
        for member in rows:
            self.recent.add(member)
        self.recent.since = since if len(rows) < CANDIDATE_LIMIT else rows[0].posted_at
        self._seen_max = session.scalar(select(func.max(Complaint.id))) or 0

    def _catch_up(self, session: Session, batch: set[int]) -> None:
        """Add what other workers ingested since this one last looked."""
        if self._seen_max is None or self.recent.since is None:
            return
        for member in self._members(
            session,
            [
                Complaint.id > self._seen_max,
                Complaint.id.not_in(sorted(batch)),
                Complaint.posted_at >= self.recent.since,
                Complaint.kind.in_(KINDS),
                Complaint.status.in_(OPEN),
                Complaint.incident_id.is_(None),
                NOT_DECIDED_OUT,
            ],
            set(),
        ):
            self.recent.add(member)
            self._seen_max = max(self._seen_max, member.id)

    def _still_candidates(self, session: Session, members: list[_Member], new: set[int]) -> list[_Member]:
        """The members the index proposes, as the database has them now (a card posted since they
        were indexed), and only those still open and in no incident (one may have been resolved,
        or its batch rolled back)."""
        ids = [m.id for m in members]
        fresh: list[_Member] = []
        for start in range(0, len(ids), 500):
            fresh += self._members(
                session,
                [
                    Complaint.id.in_(ids[start : start + 500]),
                    Complaint.status.in_(OPEN),
                    Complaint.incident_id.is_(None),
                    NOT_DECIDED_OUT,
                ],
                new,
            )
        found = {m.id for m in fresh}
        for m in members:
            if m.id not in found and m.id not in new:
                self.recent.remove(m.id)
        return sorted(fresh, key=lambda m: (m.posted_at, m.id))

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
            channel = self.channel or session.scalar(
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
        # Info, not a warning: the team hears of it from the incident's card; the log is for operators.
        log.info(
            "incident #%d opened: %s (%d customers)", incident.id, incident.title, len({m.author for m in members})
        )
        self._join(session, incident, members, topic.profile, at=at, opening=True)
        self._flush_writes(session)
        self._grown.add(incident.id)
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
        why = f"part of incident #{incident.id}"
        for m in members:
            self._writes["set"].append({"cid": m.id, "incident": incident.id, "at": at})
            if m.id != incident.anchor_id:
                # Its card, not out yet, never will be: the incident's card stands for them all.
                self._writes["close"].append({"card_key": outbox.card_key(m.id), "why": why})
                if m.slack_ts is None:
                    # What waited for that card (a reply in the same batch) goes under the incident's.
                    self._writes["repoint"].append({"cid": m.id, "anchor": incident.anchor_id})
        posted = [m for m in members if m.slack_ts is not None and m.id != incident.anchor_id]
        for member in posted:
            # Its card, already in the channel, says which incident it is part of (once).
            redraw_own_card(session, member.id, member.slack_channel, key=f"incident-line:{member.id}", at=at)
        self._writes["events"].extend(
            events.row(
                EventKind.INCIDENT_JOINED,
                actor=events.SYSTEM,
                at=at,
                complaint_id=m.id,
                details=events.IncidentEvent(incident.id),
            )
            for m in members
        )
        self._recount(session, incident, members, profile, at=at, first=opening)

    def _rebuild(self, session: Session, incident: Incident, members: list[_Member], profile: topics.Profile) -> None:
        """``profile`` made again from every member's words (in place: the caller matches the rest
        of its batch against it). This batch's members are not written yet; the others are."""
        batch = {m.id for m in members}
        fresh = topics.Profile()
        for cid, text in session.execute(_MEMBER_TEXTS, {"incident": incident.id}):
            if cid not in batch:
                fresh.add(self.words(cid, text))
        for m in members:
            fresh.add(m.words)
        profile.become(fresh)

    def _flush_writes(self, session: Session) -> None:
        """The members' rows, for every incident this batch touched, in one statement per kind:
        statements per incident per batch cost more than the rest of detection."""
        w = self._writes
        if w["set"]:
            session.execute(_SET_ONE, w["set"])
        if w["close"]:
            session.execute(CLOSE_CARD, w["close"])
        if w["repoint"]:
            session.execute(REPOINT_THREAD, w["repoint"])
        if w["events"]:
            insert_rows(session, AuditEvent.__table__, w["events"])
        self._writes = {"set": [], "close": [], "repoint": [], "events": []}

    def _recount(
        self,
        session: Session,
        incident: Incident,
        members: list[_Member],
        profile: topics.Profile,
        *,
        at: datetime,
        first: bool,
    ) -> None:
        """The card's numbers, counted on from the members that joined (a storm's incident grows by
        thousands, and counting all its members again on every batch cost more than the ingest),
        and the card re-drawn (not too often)."""
        authors: dict[str, set[str]] = {}
        for m in members:
            authors.setdefault(m.source, set()).add(m.author)
        known: set[tuple[str, str]] = set()
        ids = [m.id for m in members]
        for source, names in [] if first else authors.items():
            listed = sorted(names)
            for start in range(0, len(listed), 500):
                rows = session.execute(
                    _KNOWN_AUTHORS,
                    {"incident": incident.id, "source": source, "authors": listed[start : start + 500], "ids": ids},
                )
                known |= {(source, author) for (author,) in rows}
        # Reach is the customers' followers, each customer once (a second post, or a copy folded
        # into another's card, reaches the same people).
        followers: dict[tuple[str, str], int] = {}
        for m in members:
            key = (m.source, m.author)
            if key not in known:
                followers[key] = max(m.followers, followers.get(key, 0))
        values: dict[str, Any] = {
            "posts": (0 if first else incident.posts) + len(members),
            "customers": (0 if first else incident.customers) + len(followers),
            "reach": (0 if first else incident.reach) + sum(followers.values()),
            "first_post_at": min([incident.first_post_at, *(m.posted_at for m in members)]),
            "latest_post_at": max([incident.latest_post_at, *(m.posted_at for m in members)]),
            "updated_at": at,
        }
        if not set(authors) <= set(incident.networks or []):
            values["networks"] = sorted({*(incident.networks or []), *authors})
        if first or values["posts"] >= PROFILE_REWRITE * (incident.profile_size or 0):
            # The stored words are what the next batches match against: rewritten as the topic
            # grows by a tenth (a JSON column per batch of a storm cost as much as the rest) —
            # counted over every batch since the last rewrite, from all its members: each batch
            # matches against the stored words and its own posts only, so a storm arriving a few
            # posts a batch was matched against its first twenty posts for good.
            if not first:
                self._rebuild(session, incident, members, profile)
                self._grown.add(incident.id)
            values["profile"] = profile.top()
            values["profile_size"] = profile.size
            values["title"] = ", ".join(profile.telling(self.background)) or incident.title
        # One plain UPDATE, and the loaded object told the same, without a unit-of-work flush
        # (which cost more than the rest of a join).
        session.execute(update(Incident.__table__).where(Incident.__table__.c.id == incident.id).values(**values))
        for name, value in values.items():
            set_committed_value(incident, name, value)
        if first:
            return
        anchor = incident.anchor_id
        target = self._anchor_cards.get(anchor)
        if target is None:
            channel = session.execute(_POSTED_CARD, {"cid": anchor}).scalar()
            if channel is None:
                return  # not posted yet: it is drawn from the numbers as they are when it goes
            target = self._anchor_cards[anchor] = outbox.CardTarget(anchor, channel, DeliveryStatus.SENT.value)
        outbox.request_card_refreshes(session, {anchor: INCIDENT_PRIORITY}, at=at, targets={anchor: target})
        last = session.execute(_REFRESH_SENT, {"key": f"update:{anchor}"}).scalar()
        if last is not None and last + timedelta(seconds=CARD_UPDATE_SECONDS) > at:
            session.execute(
                update(Delivery)
                .where(Delivery.key == f"update:{anchor}", Delivery.status == DeliveryStatus.PENDING.value)
                .values(available_at=last + timedelta(seconds=CARD_UPDATE_SECONDS))
                .execution_options(synchronize_session=False)
            )
