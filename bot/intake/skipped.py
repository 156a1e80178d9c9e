"""What triage kept off the board, and what a person does about it.

Triage will always miss some complaints. A post it did not card is still stored (kind ``other`` or
``praise``), so nothing is lost; this module lets the team see the last day of them and put one
right: ``card_it`` gives it a card through the normal delivery path, ``praise_it`` sends it to the
kudos channel, ``move`` changes a carded post's kind. Each is a conditional update (two people
clicking "Card it" at once give one card), writes a typed event, and stores a label for triage.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from bot import outbox
from bot.common.errors import DomainError, NotFound
from bot.desk.complaints import changed
from bot.history import events, labels
from bot.history.events import EventKind
from bot.intake.posts import text_key
from bot.outbox.kinds import DeliveryKind
from bot.store.enums import OPEN_STATUSES, Kind, Status
from bot.store.models import Complaint
from bot.triage.classify import priority

WINDOW = timedelta(hours=24)
SKIPPED_KINDS = (Kind.OTHER.value, Kind.PRAISE.value)
"""The kinds that get no card. Folded copies are on a card (their primary's), so they are not here."""
CARDED_KINDS = (Kind.COMPLAINT.value, Kind.QUESTION.value)
MOVABLE = (Kind.COMPLAINT, Kind.QUESTION, Kind.PRAISE)


@dataclass(frozen=True)
class SkippedPost:
    complaint_id: int
    text: str
    author_handle: str
    source: str
    kind: str
    signals: tuple[str, ...]
    posted_at: datetime
    url: str | None
    lang: str | None

    @property
    def reason(self) -> str:
        """Why triage kept it off the board, in the words of what it saw."""
        seen = [s for s in self.signals if s not in ("positive tone", "negative tone")][:4]
        tone = [s for s in self.signals if s in ("positive tone", "negative tone")]
        if self.kind == Kind.PRAISE.value:
            why = "read as praise (sent to kudos when a kudos channel is set)"
        elif any("spam" in s for s in self.signals):
            why = "read as spam"
        elif not self.signals:
            why = "no complaint, question or praise cue"
        else:
            why = "below the complaint threshold"
        found = ", ".join(seen + tone)
        return f"{why}: {found}" if found else why


def _window(session: Session, now: datetime) -> list[object]:
    return [
        Complaint.kind.in_(SKIPPED_KINDS),
        Complaint.duplicate_of.is_(None),
        Complaint.incident_id.is_(None),  # an outage's customer: the incident's card stands for them
        Complaint.created_at >= now - WINDOW,
        Complaint.created_at <= now,
    ]


def recent(session: Session, now: datetime, *, limit: int = 20) -> tuple[list[SkippedPost], int]:
    """The last 24 h of posts that got no card and nobody has looked at yet, newest first (at most
    ``limit``), and how many there are in all."""
    where = [*_window(session, now), Complaint.human_label.is_(None)]
    total = int(session.scalar(select(func.count()).select_from(Complaint).where(*where)) or 0)
    rows = session.scalars(
        select(Complaint).where(*where).order_by(Complaint.posted_at.desc(), Complaint.id.desc()).limit(limit)
    ).all()
    return [
        SkippedPost(
            c.id, c.text, c.author_handle, c.source, c.kind, tuple(c.triage_signals or ()), c.posted_at, c.url, c.lang
        )
        for c in rows
    ], total


def count(session: Session, now: datetime) -> int:
    """How many posts got no card in the last 24 h (the daily reminder says so)."""
    return int(session.scalar(select(func.count()).select_from(Complaint).where(*_window(session, now))) or 0)


def card_it(
    session: Session, complaint_id: int, *, user_id: str, at: datetime, channel: str, kind: Kind = Kind.COMPLAINT
) -> bool:
    """Give a skipped post a card (as ``kind``: complaint or question). True if this call did; False
    if it already has one — however often "Card it" is clicked, one card."""
    if kind not in (Kind.COMPLAINT, Kind.QUESTION):
        raise DomainError("A card is for a complaint or a question.")
    c = session.get(Complaint, complaint_id)
    if c is None:
        raise NotFound(f"There is no post #{complaint_id}.")
    if c.duplicate_of is not None:
        return False  # a folded copy is on its primary's card already
    score = max(c.triage_score, 1.0) if kind is Kind.COMPLAINT else c.triage_score
    rank = priority(
        kind.value,
        score,
        followers=c.author_followers,
        amplification_reach=c.amplification_reach,
        amplification_count=c.amplification_count,
        repeat_contact=c.repeat_contact,
        verified=c.author_verified,
    )
    previous = c.kind
    result = session.execute(
        update(Complaint)
        .where(Complaint.id == complaint_id, Complaint.kind.in_(SKIPPED_KINDS), Complaint.duplicate_of.is_(None))
        .values(
            kind=kind.value,
            human_label=kind.value,
            priority=rank,
            status=Status.NEW.value,
            text_key=text_key(c.text) if kind is Kind.COMPLAINT else None,
            updated_at=at,
        )
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False  # someone carded it a moment ago (or it was never skipped)
    events.record(
        session,
        EventKind.CARDED,
        complaint_id=complaint_id,
        actor=user_id,
        from_status=c.status,
        to_status=Status.NEW.value,
        at=at,
        details=events.Reclassified(previous, kind.value),
    )
    outbox.enqueue(
        session, DeliveryKind.CARD, key=outbox.card_key(complaint_id), at=at, channel=channel,
        complaint_id=complaint_id, priority=rank,
    )  # fmt: skip
    labels.label_post(session, complaint_id, kind, "card_it", at)
    return True


def praise_it(session: Session, complaint_id: int, *, user_id: str, at: datetime, kudos_channel: str | None) -> bool:
    """Send a skipped post to the kudos channel (once, whatever the clicks) and label it praise.
    True if this call marked it."""
    c = session.get(Complaint, complaint_id)
    if c is None:
        raise NotFound(f"There is no post #{complaint_id}.")
    previous = c.kind
    result = session.execute(
        update(Complaint)
        .where(Complaint.id == complaint_id, Complaint.kind.in_(SKIPPED_KINDS), Complaint.human_label.is_(None))
        .values(kind=Kind.PRAISE.value, human_label=Kind.PRAISE.value, updated_at=at)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        return False
    events.record(
        session,
        EventKind.RECLASSIFIED,
        complaint_id=complaint_id,
        actor=user_id,
        at=at,
        details=events.Reclassified(previous, Kind.PRAISE.value),
    )
    if kudos_channel:
        # The key is the one ingest uses: a post ingest already sent to kudos is not sent twice.
        outbox.enqueue(
            session, DeliveryKind.KUDOS, key=f"kudos:{complaint_id}", at=at, channel=kudos_channel,
            complaint_id=complaint_id,
        )  # fmt: skip
    labels.label_post(session, complaint_id, Kind.PRAISE, "praise", at)
    return True


def move(
    session: Session,
    complaint_id: int,
    to: Kind,
    *,
    user_id: str,
    at: datetime,
    channel: str,
    kudos_channel: str | None,
) -> str:
    """Move a post between complaint, question and praise; returns what happened, in a sentence.

    A skipped post moved to complaint or question gets a card (``card_it``); a carded one changes
    kind on its card (re-rendered, a line in its thread); a card moved to praise leaves the board
    (dismissed, as praise) and goes to kudos. Each move is a label."""
    if to not in MOVABLE:
        raise DomainError("Move it to complaint, question or praise.")
    c = session.get(Complaint, complaint_id)
    if c is None:
        raise NotFound(f"There is no post #{complaint_id}.")
    if c.kind == to.value:
        labels.label_post(session, complaint_id, to, "move", at)
        return f"#{complaint_id} is already a {to.value}; noted."
    if c.kind in SKIPPED_KINDS:
        if to is Kind.PRAISE:
            praise_it(session, complaint_id, user_id=user_id, at=at, kudos_channel=kudos_channel)
            return f"#{complaint_id} is praise now" + (" and goes to kudos." if kudos_channel else ".")
        card_it(session, complaint_id, user_id=user_id, at=at, channel=channel, kind=to)
        return f"#{complaint_id} gets a {to.value} card."
    if c.duplicate_of is not None:
        raise DomainError(f"#{complaint_id} is folded into #{c.duplicate_of}: move that card instead.")
    values: dict[str, object] = {"kind": to.value, "human_label": to.value}
    if to is Kind.PRAISE:
        changed(
            session, complaint_id, allowed_from=[Status.NEW], to=Status.DISMISSED, actor=user_id,
            kind=EventKind.RECLASSIFIED, at=at, values={**values, "resolved_by": user_id, "resolved_at": at},
            details=events.Reclassified(c.kind, to.value),
        )  # fmt: skip
        if kudos_channel:
            outbox.enqueue(
                session, DeliveryKind.KUDOS, key=f"kudos:{complaint_id}", at=at, channel=kudos_channel,
                complaint_id=complaint_id,
            )  # fmt: skip
        labels.label_post(session, complaint_id, to, "move", at)
        return f"#{complaint_id} is praise now: off the board" + (", to kudos." if kudos_channel else ".")
    changed(
        session, complaint_id, allowed_from=list(OPEN_STATUSES), to=None, actor=user_id,
        kind=EventKind.RECLASSIFIED, at=at, values=values, details=events.Reclassified(c.kind, to.value),
    )  # fmt: skip
    labels.label_post(session, complaint_id, to, "move", at)
    return f"#{complaint_id} is a {to.value} now."
