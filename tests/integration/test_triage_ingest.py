"""The hard set through real ingest (SQLite file and PostgreSQL): what reaches a card, what reaches
kudos. Sarcasm never goes to kudos, every question gets a card, complaints in the five languages
triage reads and posts in languages it cannot read all get cards, praise naming staff goes to kudos."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.posts import Post
from bot.store.engine import make_sessionmaker
from bot.store.models import Complaint, Delivery
from bot.triage.classify import Triage
from tests.unit.test_triage_hard import QUESTIONS, READABLE, SARCASM

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STAFF_PRAISE = [
    "@AcmeAir thank you so much, Sam at the gate was amazing today!",
    "@AcmeTel Maria was fantastic, best support I've had. thank you!",
]
UNREADABLE = [
    "@ANA 荷物がまだ届きません。どうなっていますか",
    "@Ozon где мой заказ",
    "@ANA 機内に猫を連れて行けますか？",
]


def test_the_hard_set_through_ingest(migrated: Engine):
    sessions = make_sessionmaker(migrated)
    texts = [*SARCASM, *QUESTIONS, *(t for _, t in READABLE), *UNREADABLE, *STAFF_PRAISE]
    posts = [
        Post(source="x", id=str(i), text=t, author_id=str(i), author_handle=f"c{i}", created_at=AT)
        for i, t in enumerate(texts)
    ]
    results = Ingestor(Triage(), IngestPolicy("C0COMPLAIN", "C0KUDOS")).ingest_batch(sessions, posts, at=AT)
    assert len(results) == len(texts)
    with sessions() as s:
        kinds = dict(s.execute(select(Complaint.text, Complaint.kind)).all())
        delivered = {
            text: kind
            for text, kind in s.execute(
                select(Complaint.text, Delivery.kind).join(Delivery, Delivery.complaint_id == Complaint.id)
            )
        }
    for text in SARCASM:
        assert delivered.get(text) == "post_card", (text, kinds[text])
    for text in QUESTIONS:
        assert delivered.get(text) == "post_card", (text, kinds[text])
    for _, text in READABLE:
        assert (kinds[text], delivered.get(text)) == ("complaint", "post_card"), text
    for text in UNREADABLE:
        assert delivered.get(text) == "post_card", (text, kinds[text])
    assert kinds[UNREADABLE[-1]] == "question"
    for text in STAFF_PRAISE:
        assert (kinds[text], delivered.get(text)) == ("praise", "kudos"), text
