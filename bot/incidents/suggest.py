"""Suggesting an incident for a card the grouping left out: "this may be part of incident #7".

Grouping (``detect``) must be sure: a post it takes never gets its own card, and an ordinary
complaint taken by mistake is answered with an outage's text. On wordings nobody tuned it on it
leaves a fifth of an outage's customers on ordinary cards. A sentence embedding (``semantic``)
finds most of those, but not all surely enough to act alone — so between ``MARGIN`` and
``JOIN_MARGIN`` it asks: the card gets a line and two buttons, **Add to incident #7**
(``membership.add_to_incident``, as ``/complaints move`` does) and **Not part of it**. Both are kept
with who and when; a dismissed suggestion never comes back. From ``JOIN_MARGIN`` on (session 28) the
post joins by itself (``join``: the same path, the bot as the actor, the margin in the thread line
with the command that takes it out again, ``membership.take_out``). Each post is judged ``SETTLE``
after it came in, so that a second outage's first customers meet their own incident.

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
from typing import TYPE_CHECKING

from sqlalchemy import func, or_, select, true
from sqlalchemy.orm import Session, sessionmaker

from bot.common.clock import Clock
from bot.common.errors import Conflict, DomainError, NotFound
from bot.desk.forget import FORGOTTEN
from bot.history import events
from bot.history.events import SYSTEM, EventKind
from bot.incidents import membership, semantic
from bot.incidents.detect import KINDS, OPEN, redraw_own_card
from bot.store import dialect
from bot.store.engine import transaction
from bot.store.enums import Kind, Status
from bot.store.models import Complaint, Incident, IncidentSuggestion, IncidentUpdate

if TYPE_CHECKING:
    import numpy as np

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
SETTLE = timedelta(minutes=10)
"""A post is judged this long after it came in, not at once: a second outage's first customers arrive
while only the first one's incident is open, and read nearer to it than to an ordinary day (on the
held-out sets, up to seven minutes before their own incident opened). Judged at once they joined the
wrong incident — and, members of it, never reached their own: the payment outage's recall fell
0.86 → 0.77 on the eleventh set. By then the second incident is open (or the grouping took them)."""
CANDIDATES_LIMIT = 500
"""Per incident and tick: a storm's misses come a few a minute."""
JOIN_MARGIN = 0.06
"""From here on a left-out post joins the incident by itself. Chosen on sets 10–13 of
``bench/incidents.py --history 7`` (ten days): at 0.06, 210 left-out customers nearest their own
outage, 6 nearest the other one and 4 of 7,000 ordinary complaints; at 0.03, 213 / 11 / 9 — so
between the two a person is asked, and above, a person can still take it out."""
CACHE_LIMIT = 20_000
CARDED = [Kind.COMPLAINT.value, Kind.QUESTION.value]
"""The kinds that have a card to ask on (``other`` posts are stored, not carded: they are asked
about in ``/complaints skipped``)."""


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
        join_margin: float = JOIN_MARGIN,
        every: float = 30.0,
    ) -> None:
        self.sessions = sessions
        self.clock = clock
        self.window = window
        self.embedder = embedder or semantic.Embedder()
        self.margin = margin
        self.join_margin = join_margin
        self.every = every
        self._vectors: dict[int, np.ndarray] = {}
        self._seen: dict[int, int] = {}
        """Per open incident, the newest complaint id judged against it: each is judged once."""
        self._references: dict[int, list[int]] = {}
        self._texts: dict[int, int] = {}
        """The hash of the text each vector was made from: a vector outlives no change of its text."""
        self._checked: datetime | None = None
        self.off: str | None = None
        """Why suggestions are off (the model would not load), said once in the log."""

    def step(self) -> float:
        self.tick()
        return self.every

    def tick(self) -> int:
        """Judge the cards left out of each open incident; the suggestions made. The database is read
        in one short session and written in one transaction per offer; the model runs between, with
        no session open (on SQLite an open session holds the write lock ingest and clicks need)."""
        if self.off is not None:
            return 0
        with self.sessions() as session:
            incidents = [
                (i.id, i.first_post_at, i.latest_post_at)
                for i in session.scalars(select(Incident).where(Incident.status == "open").order_by(Incident.id))
            ]
            for gone in set(self._seen) - {i for i, _, _ in incidents}:
                self._seen.pop(gone, None)
                self._references.pop(gone, None)
            if not incidents:
                self._vectors.clear()  # nothing to judge against: keep no one's words, however derived
                self._texts.clear()
                return 0
            self._drop_changed(session)
            plans = [self._plan(session, *incident) for incident in incidents]
            wanted = {cid for plan in plans if plan for ids in plan[1:] for cid in ids}
            if len(self._vectors) + len(wanted) > CACHE_LIMIT:  # keep what this tick and the references use
                keep = wanted | {cid for ids in self._references.values() for cid in ids}
                self._vectors = {cid: v for cid, v in self._vectors.items() if cid in keep}
                self._texts = {cid: h for cid, h in self._texts.items() if cid in keep}
            missing = sorted(wanted - set(self._vectors))
            texts = dict(session.execute(select(Complaint.id, Complaint.text).where(Complaint.id.in_(missing))).all())
        try:
            self.embedder.load()
            self._embed([(cid, texts.get(cid, "")) for cid in missing])
        except semantic.Unavailable as e:
            self.off = str(e)
            log.warning("incident suggestions are off: %s", e)
            return 0
        margins: dict[int, dict[int, float]] = {}
        for plan in plans:
            if plan is None:
                continue
            incident_id, reference, members, candidates = plan
            centroid = self._stack(members).mean(axis=0)
            scores = semantic.margin(self._stack(candidates), centroid, self._stack(reference))
            for cid, score in zip(candidates, scores, strict=True):
                margins.setdefault(cid, {})[incident_id] = float(score)
        made = 0
        for cid, by_incident in sorted(margins.items()):
            incident_id, score = max(by_incident.items(), key=lambda kv: (kv[1], -kv[0]))
            if score >= self.join_margin:
                with transaction(self.sessions) as session:
                    joined = join(session, cid, incident_id, score, at=self.clock.now())
                if joined:
                    made += 1
                    continue
            if score >= self.margin:
                with transaction(self.sessions) as session:
                    made += offer(session, cid, incident_id, score, at=self.clock.now())
        for plan in plans:  # judged (and offered) only now: a tick that failed above judges them again
            if plan is not None and plan[3]:
                self._seen[plan[0]] = max(plan[3])
        return made

    def _plan(
        self, session: Session, incident_id: int, first: datetime, latest: datetime
    ) -> tuple[int, list[int], list[int], list[int]] | None:
        """What one incident needs judged: its reference, its members and its new candidates (ids)."""
        reference = self._reference(session, incident_id, first)
        if len(reference) < REFERENCE_MIN:
            return None
        seen = self._seen.get(incident_id, 0)
        # Judged in id order, and only below the first post that has not settled: ids and arrival times
        # need not agree (two ingest workers), and ``_seen`` must never pass a post not judged yet.
        unsettled = session.scalar(
            select(func.min(Complaint.id)).where(Complaint.id > seen, Complaint.created_at > self.clock.now() - SETTLE)
        )
        candidates = list(
            session.scalars(
                select(Complaint.id)
                .where(
                    Complaint.id > seen,
                    Complaint.id < unsettled if unsettled is not None else true(),
                    Complaint.incident_id.is_(None),
                    Complaint.duplicate_of.is_(None),  # its card stands for it (Add takes it along)
                    Complaint.kind.in_(KINDS),  # "other" too: it is offered in /complaints skipped
                    Complaint.status.in_(OPEN),
                    Complaint.posted_at >= first - self.window,
                    Complaint.posted_at <= latest + self.window,
                )
                .order_by(Complaint.id)
                .limit(CANDIDATES_LIMIT)
            )
        )
        if not candidates:
            return None
        members = list(
            session.scalars(
                select(Complaint.id)
                .where(Complaint.incident_id == incident_id, Complaint.duplicate_of.is_(None))
                .order_by(Complaint.id.desc())
                .limit(MEMBERS_LIMIT)
            )
        )
        return incident_id, reference, members, candidates

    def _reference(self, session: Session, incident_id: int, first: datetime) -> list[int]:
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
        if len(ids) >= REFERENCE_MIN:  # a thin week may fill up while the incident is open
            self._references[incident_id] = ids
        return ids

    def _embed(self, items: list[tuple[int, str]]) -> None:
        if not items:
            return
        vectors = self.embedder.embed([text for _, text in items])
        self._vectors.update(zip((cid for cid, _ in items), vectors, strict=True))
        self._texts.update((cid, hash(text)) for cid, text in items)

    def _drop_changed(self, session: Session) -> None:
        """Forget the vectors of texts changed since they were made: an edited post is judged on its
        new words, and a customer forgotten (``data forget`` replaces their text) leaves this
        worker's memory at the next tick too, not when the incident closes. Reads the posts changed
        since the last tick (an edit moves ``updated_at``) and the forgotten ones among those held."""
        now = self.clock.now()
        since, self._checked = self._checked, now
        if not self._vectors:
            return
        held = min(self._vectors)
        changed = select(Complaint.id, Complaint.text).where(
            Complaint.id >= held,
            Complaint.text == FORGOTTEN
            if since is None
            else or_(Complaint.text == FORGOTTEN, Complaint.updated_at >= since),
        )
        for cid, text in session.execute(changed):
            if cid in self._vectors and self._texts.get(cid) != hash(text):
                del self._vectors[cid]
                self._texts.pop(cid, None)

    def _stack(self, ids: list[int]) -> np.ndarray:
        import numpy as np  # the renderer imports this module for ``open_offer``: numpy only where it runs

        if not ids:
            return np.zeros((0, 384), dtype=np.float32)
        return np.stack([self._vectors[cid] for cid in ids])


def offer(session: Session, complaint_id: int, incident_id: int, score: float, *, at: datetime) -> int:
    """Store one suggestion (once, whichever worker gets there first) and re-draw its card."""
    # Locked as Resolve and Not an incident lock it: an offer lands before a close (which then
    # withdraws it) or sees the incident closed.
    incident = session.execute(select(Incident).where(Incident.id == incident_id).with_for_update()).scalar()
    complaint = session.get(Complaint, complaint_id)
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
    if complaint.kind in CARDED:
        # Always, posted or not: a card being posted right now was drawn without the line; the
        # re-draw waits until the card has its ts (the worker holds rows whose card is not out yet).
        # A post with no card ("other") is offered in /complaints skipped, and on its card if Card it.
        redraw_own_card(
            session, complaint_id, complaint.slack_channel, key=f"suggest:{complaint_id}:{incident_id}", at=at
        )
    return 1


def join(session: Session, complaint_id: int, incident_id: int, score: float, *, at: datetime) -> bool:
    """Make a left-out post a member by its meaning (``JOIN_MARGIN``), as a person's Add would. True if it
    joined; False leaves it to be offered — where a person is owed the choice: they said it is not
    part of an incident (this one or another: detection keeps off it too), someone owns the card (they
    may have answered it already), or the incident's customers were sent an update it would miss."""
    # The incident first, as Add, take-out, detection and Not part of it lock it; then the decisions.
    session.execute(select(Incident.id).where(Incident.id == incident_id).with_for_update())
    said_no = session.scalars(
        select(IncidentSuggestion.id)
        .where(IncidentSuggestion.complaint_id == complaint_id, IncidentSuggestion.status == "dismissed")
        .with_for_update()
    ).first()
    complaint = session.get(Complaint, complaint_id)
    updated = session.scalar(select(IncidentUpdate.id).where(IncidentUpdate.incident_id == incident_id).limit(1))
    if said_no is not None or complaint is None or complaint.status != Status.NEW.value or updated is not None:
        return False
    try:
        membership.add_to_incident(
            session,
            complaint_id,
            incident_id,
            user_id=SYSTEM,
            at=at,
            note=f"by its meaning (margin {score:.3f}); if it is not part of it: "
            f"/complaints move #{complaint_id} out of incident {incident_id}",
        )
    except (Conflict, NotFound, DomainError):
        return False  # closed, gone, folded, not a complaint: the offer path says whatever applies
    membership.decide(session, complaint_id, incident_id, "added", user_id=SYSTEM, at=at)
    return True


def open_offer(session: Session, complaint: Complaint) -> Offer | None:
    """The suggestion a card shows: open, for an open incident, on a card in no incident."""
    if complaint.incident_id is not None or complaint.kind not in CARDED or complaint.status not in OPEN:
        return None  # resolved, moved to praise, or in an incident since: Add could only refuse
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


def open_offers(session: Session, complaint_ids: list[int]) -> dict[int, Offer]:
    """The open suggestions of several posts at once (``/complaints skipped`` lists them)."""
    rows = session.execute(
        select(IncidentSuggestion.complaint_id, Incident.id, Incident.title)
        .join(Incident, IncidentSuggestion.incident_id == Incident.id)
        .where(
            IncidentSuggestion.complaint_id.in_(complaint_ids),
            IncidentSuggestion.status == "open",
            Incident.status == "open",
        )
        .order_by(IncidentSuggestion.score)
    ).all()
    return {cid: Offer(incident_id, title) for cid, incident_id, title in rows}  # the best one last, so kept


def _who(user_id: str | None) -> str:
    """Who decided, as a reply names them: a person mentioned, the bot by name."""
    return "Followthrough (by the post's meaning)" if user_id == SYSTEM else f"<@{user_id}>"


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
    # The incident first, as detection, Resolve and a take-out lock it, then the suggestion's row.
    session.execute(select(Incident.id).where(Incident.id == incident_id).with_for_update())
    row = _suggestion(session, complaint_id, incident_id)
    if row.status == "dismissed":
        raise Conflict(
            f"{_who(row.decided_by)} said #{complaint_id} is not part of incident #{incident_id}. "
            f"If it is after all: `/complaints move #{complaint_id} incident {incident_id}`."
        )
    said = membership.add_to_incident(session, complaint_id, incident_id, user_id=user_id, at=at)
    if row.status == "open":
        row.status, row.decided_by, row.decided_at = "added", user_id, at
    return said


def dismiss(session: Session, complaint_id: int, incident_id: int, *, user_id: str, at: datetime) -> str:
    """Not part of it: the line goes, and this card is never offered to this incident again."""
    # The incident first, as Add and the loop's own join lock it: a click landing mid-join waits, then
    # sees the post joined (and is told how to take it out) instead of being overwritten after it.
    session.execute(select(Incident.id).where(Incident.id == incident_id).with_for_update())
    row = _suggestion(session, complaint_id, incident_id)
    if row.status == "dismissed":
        return f"{_who(row.decided_by)} said so already: #{complaint_id} stays on its own card."
    if row.status == "added":
        raise Conflict(
            f"#{complaint_id} was added to incident #{incident_id} by {_who(row.decided_by)}. If it is not part of it: "
            f"`/complaints move #{complaint_id} out of incident {incident_id}`."
        )
    complaint = session.get(Complaint, complaint_id)
    if complaint is not None and complaint.incident_id is not None:
        raise Conflict(
            f"#{complaint_id} is part of incident #{complaint.incident_id} already: it has no card of its own."
        )
    row.status, row.decided_by, row.decided_at = "dismissed", user_id, at
    events.record(
        session,
        EventKind.INCIDENT_SUGGESTION_DISMISSED,
        actor=user_id,
        at=at,
        complaint_id=complaint_id,
        details=events.IncidentEvent(incident_id),
    )
    if complaint is not None:
        redraw_own_card(
            session, complaint_id, complaint.slack_channel, key=f"suggest-dismissed:{complaint_id}:{incident_id}", at=at
        )
    return f"#{complaint_id} stays on its own card; incident #{incident_id} will not be suggested for it again."
