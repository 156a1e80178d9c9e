"""Suggesting an incident for a card the grouping left out: "this may be part of incident #7".

Grouping (``detect``) must be sure: a post it takes never gets its own card, and an ordinary
complaint taken by mistake is answered with an outage's text. On wordings nobody tuned it on it
leaves a fifth of an outage's customers on ordinary cards. A sentence embedding (``semantic``)
finds most of those, but not surely enough to act alone — so it asks: the card gets a line and
two buttons, **Add to incident #7** (``membership.add_to_incident``, as ``/complaints move`` does)
and **Not part of it**. Both are kept with who and when; a dismissed suggestion never comes back.

What counts as near: the post's cosine with the centroid of the incident's members, less the mean
of its ten best cosines with the desk's ordinary complaints (``semantic.margin``) — "I logged in
to check my refund" is near a login outage and nearer still to every day's refund complaints.
The ordinary complaints are those of the week before the incident's day: not the hours just before
it, which hold its first reports. ``MARGIN`` was chosen on wording sets 0–9 of
``bench/incidents.py`` and measured on sets 10–12 (docs/reliability.md#incidents).

Runs in the worker (never in ingest: a post costs ~7 ms here), after the cards it concerns are
stored; store first, then the card is re-drawn through the outbox, once per suggestion.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.common.clock import Clock
from bot.common.errors import Conflict, NotFound
from bot.history import events
from bot.history.events import SYSTEM, EventKind
from bot.incidents import membership, semantic
from bot.incidents.detect import KINDS, OPEN, redraw_own_card
from bot.store import dialect
from bot.store.engine import transaction
from bot.store.models import Complaint, Incident, IncidentSuggestion

log = logging.getLogger(__name__)

MARGIN = 0.03
"""Chosen on wording sets 2–9 of ``bench/incidents.py --history 7`` (0 and 1 leave nobody out): 287
of the 338 customers the grouping left out are offered to their own incident, none to the other
one, 39 of 12,410 ordinary complaints are asked about (0.31%); 0.08 offered 255 and asked about 19."""
REFERENCE = timedelta(days=7)
REFERENCE_GAP = timedelta(days=1)
REFERENCE_LIMIT = 1000
REFERENCE_MIN = 50
"""Below this many ordinary complaints (a desk's first week) nothing says what an ordinary day
sounds like: no suggestions rather than a guess at every card."""
MEMBERS_LIMIT = 500
CANDIDATES_LIMIT = 500
"""Per incident and tick: a storm's misses come a few a minute."""
CACHE_LIMIT = 20_000


@dataclass(frozen=True)
class Offer:
    """An open suggestion as a card shows it."""

    incident_id: int
    title: str


class Suggester:
    """The worker's loop. Keeps vectors in memory (texts do not change but by a rare edit) and which
    (card, incident) pairs it has judged, so a tick costs only the new posts."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        clock: Clock,
        *,
        window: timedelta = timedelta(minutes=30),
        embedder: semantic.Embedder | None = None,
        margin: float = MARGIN,
        every: float = 30.0,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.window = window
        self.embedder = embedder or semantic.Embedder()
        self.margin = margin
        self.every = every
        self._vectors: dict[int, np.ndarray] = {}
        self._judged: set[tuple[int, int]] = set()
        self._references: dict[int, np.ndarray] = {}
        self.off: str | None = None
        """Why suggestions are off (the model would not load), said once in the log."""

    def step(self) -> float:
        self.tick()
        return self.every

    def tick(self) -> int:
        """Judge the cards left out of each open incident; the suggestions made."""
        if self.off is not None:
            return 0
        with self.sessions() as session:
            incidents = [
                (i.id, i.first_post_at, i.latest_post_at)
                for i in session.scalars(select(Incident).where(Incident.status == "open").order_by(Incident.id))
            ]
            if not incidents:
                self._judged.clear()
                return 0
            try:
                self.embedder.load()
                found = self._judge(session, incidents)
            except semantic.Unavailable as e:
                self.off = str(e)
                log.warning("incident suggestions are off: %s", e)
                return 0
        made = 0
        for complaint_id, incident_id, score in found:
            with transaction(self.sessions) as session:
                made += offer(session, complaint_id, incident_id, score, at=self.clock.now())
        return made

    def _judge(self, session: Session, incidents: list[tuple[int, datetime, datetime]]) -> list[tuple[int, int, float]]:
        margins: dict[int, dict[int, float]] = {}
        for incident_id, first, latest in incidents:
            reference = self._reference(session, incident_id, first)
            if len(reference) < REFERENCE_MIN:
                continue
            candidates = [
                cid
                for cid in session.scalars(
                    select(Complaint.id)
                    .outerjoin(
                        IncidentSuggestion,
                        (IncidentSuggestion.complaint_id == Complaint.id)
                        & (IncidentSuggestion.incident_id == incident_id),
                    )
                    .where(
                        Complaint.incident_id.is_(None),
                        Complaint.duplicate_of.is_(None),
                        Complaint.kind.in_(KINDS),
                        Complaint.status.in_(OPEN),
                        Complaint.posted_at >= first - self.window,
                        Complaint.posted_at <= latest + self.window,
                        IncidentSuggestion.id.is_(None),
                    )
                    .order_by(Complaint.id)
                    .limit(CANDIDATES_LIMIT * 4)
                )
                if (cid, incident_id) not in self._judged
            ][:CANDIDATES_LIMIT]
            if not candidates:
                continue
            members = list(
                session.scalars(
                    select(Complaint.id)
                    .where(Complaint.incident_id == incident_id, Complaint.duplicate_of.is_(None))
                    .order_by(Complaint.id.desc())
                    .limit(MEMBERS_LIMIT)
                )
            )
            centroid = self._vectors_of(session, members).mean(axis=0)
            scores = semantic.margin(self._vectors_of(session, candidates), centroid, reference)
            for cid, score in zip(candidates, scores, strict=True):
                margins.setdefault(cid, {})[incident_id] = float(score)
                self._judged.add((cid, incident_id))
        found = []
        for cid, by_incident in margins.items():
            incident_id, score = max(by_incident.items(), key=lambda kv: (kv[1], -kv[0]))
            if score >= self.margin:
                found.append((cid, incident_id, score))
        return found

    def _reference(self, session: Session, incident_id: int, first: datetime) -> np.ndarray:
        """The week's ordinary complaints before the incident's day, read once per incident."""
        cached = self._references.get(incident_id)
        if cached is not None:
            return cached
        day_before = first - REFERENCE_GAP
        ids = list(
            session.scalars(
                select(Complaint.id)
                .where(
                    Complaint.posted_at >= day_before - REFERENCE,
                    Complaint.posted_at < day_before,
                    Complaint.kind.in_(KINDS),
                    Complaint.incident_id.is_(None),
                    Complaint.duplicate_of.is_(None),
                )
                .order_by(Complaint.id.desc())
                .limit(REFERENCE_LIMIT)
            )
        )
        vectors = self._vectors_of(session, ids)
        if len(ids) >= REFERENCE_MIN:  # a thin week may fill up while the incident is open
            self._references[incident_id] = vectors
        return vectors

    def _vectors_of(self, session: Session, ids: list[int]) -> np.ndarray:
        missing = [cid for cid in ids if cid not in self._vectors]
        if missing:
            texts = dict(session.execute(select(Complaint.id, Complaint.text).where(Complaint.id.in_(missing))).all())
            if len(self._vectors) + len(missing) > CACHE_LIMIT:
                self._vectors.clear()
                missing = ids
                texts = dict(session.execute(select(Complaint.id, Complaint.text).where(Complaint.id.in_(ids))).all())
            vectors = self.embedder.embed([texts.get(cid, "") for cid in missing])
            self._vectors.update(zip(missing, vectors, strict=True))
        if not ids:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self._vectors[cid] for cid in ids])


def offer(session: Session, complaint_id: int, incident_id: int, score: float, *, at: datetime) -> int:
    """Store one suggestion (once, whichever worker gets there first) and re-draw its card."""
    complaint = session.get(Complaint, complaint_id)
    incident = session.get(Incident, incident_id)
    if complaint is None or incident is None or incident.status != "open" or complaint.incident_id is not None:
        return 0
    stored = dialect.insert_new(
        session,
        IncidentSuggestion.__table__,
        {"complaint_id": complaint_id, "incident_id": incident_id, "score": score, "status": "open", "created_at": at},
        key=["complaint_id", "incident_id"],
    )
    if not stored:
        return 0
    events.record(
        session,
        EventKind.INCIDENT_SUGGESTED,
        actor=SYSTEM,
        at=at,
        complaint_id=complaint_id,
        note=f"margin {score:.3f}",
        details=events.IncidentEvent(incident_id, incident.customers, incident.posts),
    )
    if complaint.slack_ts is not None:  # not posted yet: the card goes out with the line
        redraw_own_card(
            session, complaint_id, complaint.slack_channel, key=f"suggest:{complaint_id}:{incident_id}", at=at
        )
    return 1


def open_offer(session: Session, complaint: Complaint) -> Offer | None:
    """The suggestion a card shows: open, for an open incident, on a card in no incident."""
    if complaint.incident_id is not None:
        return None
    row = session.execute(
        select(Incident.id, Incident.title)
        .join(IncidentSuggestion, IncidentSuggestion.incident_id == Incident.id)
        .where(
            IncidentSuggestion.complaint_id == complaint.id,
            IncidentSuggestion.status == "open",
            Incident.status == "open",
        )
        .order_by(IncidentSuggestion.score.desc())
        .limit(1)
    ).first()
    return Offer(row.id, row.title) if row else None


def _suggestion(session: Session, complaint_id: int, incident_id: int) -> IncidentSuggestion:
    row = session.execute(
        select(IncidentSuggestion)
        .where(IncidentSuggestion.complaint_id == complaint_id, IncidentSuggestion.incident_id == incident_id)
        .with_for_update()
    ).scalar()
    if row is None:
        raise NotFound(f"#{complaint_id} has no suggestion for incident #{incident_id}.")
    return row


def accept(session: Session, complaint_id: int, incident_id: int, *, user_id: str, at: datetime) -> str:
    """Add to incident: the same path as ``/complaints move``; the suggestion kept as decided."""
    row = _suggestion(session, complaint_id, incident_id)
    if row.status == "dismissed":
        raise Conflict(
            f"<@{row.decided_by}> said #{complaint_id} is not part of incident #{incident_id}. "
            f"If it is after all: `/complaints move #{complaint_id} incident {incident_id}`."
        )
    said = membership.add_to_incident(session, complaint_id, incident_id, user_id=user_id, at=at)
    if row.status == "open":
        row.status, row.decided_by, row.decided_at = "added", user_id, at
    return said


def dismiss(session: Session, complaint_id: int, incident_id: int, *, user_id: str, at: datetime) -> str:
    """Not part of it: the line goes, and this card is never offered to this incident again."""
    row = _suggestion(session, complaint_id, incident_id)
    if row.status == "dismissed":
        return f"<@{row.decided_by}> said so already: #{complaint_id} stays on its own card."
    if row.status == "added":
        raise Conflict(f"#{complaint_id} was added to incident #{incident_id} by <@{row.decided_by}>: it stays there.")
    row.status, row.decided_by, row.decided_at = "dismissed", user_id, at
    complaint = session.get(Complaint, complaint_id)
    events.record(
        session,
        EventKind.INCIDENT_SUGGESTION_DISMISSED,
        actor=user_id,
        at=at,
        complaint_id=complaint_id,
        details=events.IncidentEvent(incident_id),
    )
    if complaint is not None and complaint.slack_ts is not None:
        redraw_own_card(
            session, complaint_id, complaint.slack_channel, key=f"suggest-dismissed:{complaint_id}:{incident_id}", at=at
        )
    return f"#{complaint_id} stays on its own card; incident #{incident_id} will not be suggested for it again."
