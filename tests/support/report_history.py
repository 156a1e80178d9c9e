"""A known desk history for the lead's report, built through the domain services with a moved clock.

Used by the metrics test (which checks every number against it) and by the chart and weekly-report
tests. Week 1 is Monday 2026-03-02 to Sunday 2026-03-08 (UTC), week 2 starts 2026-03-09.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bot.desk import complaints
from bot.history import events
from bot.history.events import SYSTEM, EventKind
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.posts import Post
from bot.promises import lifecycle as promises
from bot.store.enums import Kind, PromiseStatus
from bot.triage.classify import Triage

ALICE, BOB, CAROL = "UALICE0001", "UBOB000001", "UCAROL0001"
WEEK1 = datetime(2026, 3, 2, tzinfo=UTC)
NOW = datetime(2026, 3, 11, 12, 0, tzinfo=UTC)
TEXTS = {
    "c1": "@AcmeHelp my order never arrived and nobody answers, terrible service",
    "c2": "@AcmeHelp you charged me twice, I want a refund now",
    "c3": "@AcmeHelp the app crashes every time I log in, useless",
    "c4": "@AcmeHelp still waiting for my refund after three weeks, awful",
    "c5": "@AcmeHelp the delivery driver broke my parcel, really angry",
    "c6": "@AcmeHelp your support line hung up on me twice, worst company",
}


def t(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


def build(sessions: sessionmaker[Session], triage: Triage | None = None) -> dict[str, int]:
    """The history; returns complaint ids by name (c1…c6) and promise ids (p1…p6)."""
    ingestor = Ingestor(triage or Triage(), IngestPolicy("C0COMPLAIN"))
    ids: dict[str, int] = {}

    def arrive(name: str, source: str, posted: datetime, stored: datetime) -> None:
        post = Post(
            source=source,
            id=name,
            text=TEXTS[name],
            author_id=f"a{name}",
            author_handle=f"customer_{name}",
            created_at=posted,
            conversation_id=name,
        )
        with sessions() as s, s.begin():
            result = ingestor.ingest(s, post, at=stored)
        assert result.kind is Kind.COMPLAINT, (name, result)
        assert result.complaint_id is not None
        ids[name] = result.complaint_id

    def act(fn, *args, **kwargs):
        with sessions() as s, s.begin():
            return fn(s, *args, **kwargs)

    def promise(name: str, key: str, owner: str, at: datetime, due: datetime) -> None:
        p = act(
            promises.create, ids[name], owner_id=owner, text=f"follow up {key}", due_at=due, created_by=owner, at=at
        )
        ids[key] = p.id

    # c1 (x): Alice claims after 10 min, keeps her promise on time, resolves after 9 h.
    arrive("c1", "x", t(2, 9), t(2, 9))
    act(complaints.claim, ids["c1"], user_id=ALICE, at=t(2, 9, 10))
    promise("c1", "p1", ALICE, t(2, 9, 20), t(3, 9))
    act(promises.close, ids["p1"], status=PromiseStatus.KEPT, user_id=ALICE, at=t(2, 17))
    act(complaints.resolve, ids["c1"], user_id=ALICE, note="sent again", customer_confirmed=True, at=t(2, 18))
    # c2 (x): Bob claims after 30 min, keeps late, resolves after a day; Carol reopens it and
    # resolves it again in week 2 (not a first resolve).
    arrive("c2", "x", t(2, 10), t(2, 10))
    act(complaints.claim, ids["c2"], user_id=BOB, at=t(2, 10, 30))
    promise("c2", "p2", BOB, t(2, 10, 35), t(2, 12))
    act(promises.close, ids["p2"], status=PromiseStatus.KEPT, user_id=BOB, at=t(2, 13))
    act(complaints.resolve, ids["c2"], user_id=BOB, note="refunded", customer_confirmed=False, at=t(3, 10))
    act(complaints.reopen, ids["c2"], user_id=CAROL, at=t(4, 9))
    act(complaints.resolve, ids["c2"], user_id=CAROL, note="refunded again", customer_confirmed=True, at=t(10, 8))
    # c3 (bluesky): Alice claims after 1 h; her promise moves twice, then is kept by its new time.
    arrive("c3", "bluesky", t(3, 8), t(3, 8))
    act(complaints.claim, ids["c3"], user_id=ALICE, at=t(3, 9))
    promise("c3", "p3", ALICE, t(3, 9, 5), t(4, 9))
    act(promises.reschedule, ids["p3"], user_id=ALICE, due_at=t(5, 9), reason="waiting on stock", at=t(3, 12))
    act(promises.reschedule, ids["p3"], user_id=ALICE, due_at=t(6, 9), reason="courier", at=t(4, 8))
    act(promises.close, ids["p3"], status=PromiseStatus.KEPT, user_id=ALICE, at=t(5, 15))
    # c4 (x): posted an hour before we stored it; never claimed; Bob's promise breaks (week 1) and
    # is kept late in week 2 — one outcome, kept late, in week 2.
    arrive("c4", "x", t(3, 7), t(3, 8))
    promise("c4", "p4", BOB, t(3, 8, 30), t(4, 10))
    act(promises.close, ids["p4"], status=PromiseStatus.BROKEN, user_id=SYSTEM, at=t(5, 10))
    act(promises.close, ids["p4"], status=PromiseStatus.KEPT, user_id=BOB, at=t(10, 11))
    # c6 (bluesky): answered in public by Alice after 1 h (a ``public_reply`` event), her promise
    # breaks and stays owed.
    arrive("c6", "bluesky", t(4, 12), t(4, 12))
    with sessions() as s, s.begin():
        events.record(
            s,
            EventKind.PUBLIC_REPLY,
            complaint_id=ids["c6"],
            actor=ALICE,
            at=t(4, 13),
            details=events.PublicReply(post="b1", source="bluesky", sent_by=ALICE, first=True, response_seconds=3600),
        )
    promise("c6", "p6", ALICE, t(4, 12, 5), t(5, 12))
    act(promises.close, ids["p6"], status=PromiseStatus.BROKEN, user_id=SYSTEM, at=t(6, 12))
    # c5 (x), week 2: Carol claims after 5 min; her promise is cancelled (no outcome).
    arrive("c5", "x", t(10, 9), t(10, 9))
    act(complaints.claim, ids["c5"], user_id=CAROL, at=t(10, 9, 5))
    promise("c5", "p5", CAROL, t(10, 9, 6), t(11, 9))
    act(promises.close, ids["p5"], status=PromiseStatus.CANCELLED, user_id=CAROL, at=t(10, 10))
    return ids
