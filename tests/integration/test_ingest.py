"""Ingest on real databases: nothing lost, nothing doubled, retweets and replies attach."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select, update

from bot.intake.ingest import Ingestor, IngestPolicy, Outcome
from bot.intake.posts import Post
from bot.store.engine import make_sessionmaker
from bot.store.enums import Kind
from bot.store.models import AuditEvent, Complaint, Delivery
from bot.store.models import Post as PostRow
from bot.triage.classify import Triage

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
POLICY = IngestPolicy("C0COMPLAIN", "C0KUDOS", frozenset({"1000"}), frozenset({"acmehelp"}))


@pytest.fixture(scope="module")
def triage() -> Triage:
    return Triage()


@pytest.fixture
def ingestor(triage: Triage) -> Ingestor:
    return Ingestor(triage, POLICY)


def post(pid: str, text: str = "@AcmeHelp still waiting for my refund", author: str = "42", **kw) -> Post:
    values = dict(
        source="x",
        id=pid,
        text=text,
        author_id=author,
        author_handle=f"user{author}",
        created_at=AT,
        followers=100,
        conversation_id=pid,
    )
    values.update(kw)
    return Post(**values)


def count(engine: Engine, model, *where) -> int:
    with make_sessionmaker(engine)() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def test_new_complaint_is_stored_with_event_and_card_in_one_go(migrated: Engine, ingestor: Ingestor):
    [result] = ingestor.ingest_batch(make_sessionmaker(migrated), [post("1")], at=AT)
    assert result.outcome is Outcome.CREATED
    assert result.kind is Kind.COMPLAINT
    with make_sessionmaker(migrated)() as s:
        c = s.get(Complaint, result.complaint_id)
        assert (c.source, c.external_id, c.status, c.kind) == ("x", "1", "new", "complaint")
        assert c.priority > 30
        assert "waiting" in c.triage_signals
        events = s.scalars(select(AuditEvent).where(AuditEvent.complaint_id == c.id)).all()
        assert [e.action for e in events] == ["ingested"]
        [card] = s.scalars(select(Delivery).where(Delivery.complaint_id == c.id)).all()
        assert (card.kind, card.key, card.channel, card.status) == (
            "post_card",
            f"card:{c.id}",
            "C0COMPLAIN",
            "pending",
        )


def test_exact_duplicates_are_dropped_within_and_across_batches(migrated: Engine, ingestor: Ingestor):
    sessions = make_sessionmaker(migrated)
    first = ingestor.ingest_batch(sessions, [post("1"), post("1")], at=AT)
    second = ingestor.ingest_batch(sessions, [post("1")], at=AT)
    assert [r.outcome for r in first + second] == [Outcome.CREATED, Outcome.DUPLICATE, Outcome.DUPLICATE]
    assert count(migrated, Complaint) == 1
    assert count(migrated, Delivery) == 1


def test_brand_posts_are_set_aside(migrated: Engine, ingestor: Ingestor):
    sessions = make_sessionmaker(migrated)
    results = ingestor.ingest_batch(
        sessions,
        [
            post("1", "so sorry, we are fixing it", author="1000"),
            post("2", "refund is broken", author="7", author_handle="AcmeHelp"),
        ],
        at=AT,
    )
    assert [r.outcome for r in results] == [Outcome.OWN, Outcome.OWN]
    assert count(migrated, Complaint) == 0
    assert count(migrated, PostRow, PostRow.role == "own") == 2


def test_retweet_of_known_complaint_amplifies_without_new_card(migrated: Engine, ingestor: Ingestor):
    sessions = make_sessionmaker(migrated)
    [created] = ingestor.ingest_batch(sessions, [post("1")], at=AT)
    with sessions() as s:
        before = s.get(Complaint, created.complaint_id).priority
    # The card was posted meanwhile.
    with sessions() as s, s.begin():
        s.execute(update(Delivery).values(status="sent", remote_id="1.1"))
        s.execute(update(Complaint).values(slack_channel="C0COMPLAIN", slack_ts="1.1"))
    results = ingestor.ingest_batch(
        sessions,
        [
            post(f"rt{i}", "RT @user42: still waiting", author=str(500 + i), retweet_of="1", followers=200_000)
            for i in range(3)
        ],
        at=AT,
    )
    assert [r.outcome for r in results] == [Outcome.AMPLIFIED] * 3
    assert {r.complaint_id for r in results} == {created.complaint_id}
    with sessions() as s:
        c = s.get(Complaint, created.complaint_id)
        assert (c.amplification_count, c.amplification_reach) == (3, 600_000)
        assert c.priority > before
        rows = s.scalars(select(Delivery).order_by(Delivery.id)).all()
        assert [(r.kind, r.status) for r in rows] == [("post_card", "sent"), ("update_card", "pending")]
    assert count(migrated, Complaint) == 1


def test_retweet_reply_and_repeat_in_the_same_batch(migrated: Engine, ingestor: Ingestor):
    sessions = make_sessionmaker(migrated)
    results = ingestor.ingest_batch(
        sessions,
        [
            post("1"),
            post("2", "RT: still waiting", author="77", retweet_of="1", followers=1000),
            post("3", "@AcmeHelp hello?? anyone there", conversation_id="1", in_reply_to_id="1"),
            post("4", "@AcmeHelp my app is broken too", author="99", conversation_id="1", in_reply_to_id="1"),
        ],
        at=AT,
    )
    assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.AMPLIFIED, Outcome.REPLY, Outcome.CREATED]
    cid = results[0].complaint_id
    assert results[1].complaint_id == results[2].complaint_id == cid
    with sessions() as s:
        c = s.get(Complaint, cid)
        assert (c.amplification_count, c.amplification_reach, c.reply_count) == (1, 1000, 1)
        kinds = s.scalars(select(Delivery.kind).where(Delivery.complaint_id == cid).order_by(Delivery.id)).all()
        assert kinds == ["post_card", "thread_reply"]  # card not posted yet: no separate refresh
        actions = s.scalars(select(AuditEvent.action).where(AuditEvent.complaint_id == cid)).all()
        assert sorted(actions) == ["amplified", "customer_reply", "ingested"]


def test_reply_to_a_resolved_complaint_opens_a_new_one_with_repeat_contact(migrated: Engine, ingestor: Ingestor):
    sessions = make_sessionmaker(migrated)
    [first] = ingestor.ingest_batch(sessions, [post("1")], at=AT)
    with sessions() as s, s.begin():
        s.execute(update(Complaint).values(status="resolved"))
    [again] = ingestor.ingest_batch(
        sessions,
        [post("2", "@AcmeHelp still not refunded, third time asking", conversation_id="1", in_reply_to_id="1")],
        at=AT,
    )
    assert again.outcome is Outcome.CREATED
    with sessions() as s:
        assert s.get(Complaint, again.complaint_id).repeat_contact == 1
        assert s.get(Complaint, again.complaint_id).priority > s.get(Complaint, first.complaint_id).priority


def test_praise_goes_to_kudos_only_when_configured(migrated: Engine, triage: Triage):
    sessions = make_sessionmaker(migrated)
    text = "@AcmeHelp thank you so much, Sam was amazing today!"
    [with_kudos] = Ingestor(triage, POLICY).ingest_batch(sessions, [post("1", text)], at=AT)
    no_kudos = IngestPolicy("C0COMPLAIN")
    [without] = Ingestor(triage, no_kudos).ingest_batch(sessions, [post("2", text, author="8")], at=AT)
    assert with_kudos.kind is without.kind is Kind.PRAISE
    with sessions() as s:
        rows = s.execute(select(Delivery.kind, Delivery.channel, Delivery.complaint_id)).all()
    assert rows == [("kudos", "C0KUDOS", with_kudos.complaint_id)]


def test_other_posts_are_stored_without_a_card(migrated: Engine, ingestor: Ingestor):
    chatter = "@AcmeHelp watching the match with my brother tonight"  # no ask, no complaint, no praise
    [r] = ingestor.ingest_batch(make_sessionmaker(migrated), [post("1", chatter)], at=AT)
    assert (r.outcome, r.kind) == (Outcome.CREATED, Kind.OTHER)
    assert count(migrated, Delivery) == 0
    assert count(migrated, Complaint) == 1


@pytest.mark.postgres
def test_two_workers_ingesting_the_same_posts_store_each_once(pg_url: str, triage: Triage):
    """PostgreSQL only: SQLite's BEGIN IMMEDIATE serialises the two transactions, so the race this
    test is about (both see the posts as new, one loses on the unique key) cannot happen there."""
    from bot.store import migrate
    from bot.store.engine import make_engine

    migrated = make_engine(pg_url)
    migrate.upgrade(migrated)
    sessions = make_sessionmaker(migrated)
    posts = [post(str(i), f"@AcmeHelp still waiting for refund {i}", author=str(i)) for i in range(40)]
    barrier = threading.Barrier(2)
    outcomes: list[list[Outcome]] = []

    def run():
        barrier.wait()
        outcomes.append([r.outcome for r in Ingestor(triage, POLICY).ingest_batch(sessions, posts, at=AT)])

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 2
    created = sum(o.count(Outcome.CREATED) for o in outcomes)
    assert created == 40
    assert count(migrated, Complaint) == 40
    assert count(migrated, Delivery) == 40
    migrated.dispose()


def test_an_edit_in_the_batch_moves_the_fold_key_with_the_words(migrated: Engine):
    """Found by review: copies of the old words still folded into the edited card, and copies of the
    new words got a card of their own."""
    sessions = make_sessionmaker(migrated)
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

    def post(pid: str, author: str, text: str, edit_of: tuple[str, ...] = ()) -> Post:
        return Post("x", pid, text, author, f"user{author}", at, edit_of=edit_of)

    old, new = "@AcmeHelp the app crashed again at checkout", "@AcmeHelp charged twice for order 77 and no reply"
    batch = [post("1", "1", old), post("2", "1", new, ("1",)), post("3", "2", old), post("4", "3", new)]
    Ingestor(Triage(), IngestPolicy("C0COMPLAIN")).ingest_batch(sessions, batch, at=at)
    with sessions() as s:
        rows = {c.external_id: c for c in s.scalars(select(Complaint))}
    assert rows["1"].text == new
    assert rows["4"].duplicate_of == rows["1"].id  # the new words fold into the edited card
    assert rows["3"].duplicate_of is None  # the old words are another customer's own card
