"""How an outage's posts find their incident as it grows, through real ingest on both engines: the
rules the bench's misses taught (``bench/incidents.py --misses``), each with a check that fails
without it. A day of ordinary complaints comes first, so that detection knows what is said every
day (its background)."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.posts import Post
from bot.store.engine import make_sessionmaker
from bot.store.models import Complaint, Incident
from bot.triage.classify import Triage
from tests.support.incident_storm import BACKGROUND

DAY = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
OUTAGE = DAY + timedelta(hours=10)
POLL = timedelta(seconds=30)

LOGIN_WORDS = ["can't log in, error 503", "login failing again", "log in page errors out", "login down?"]
KICKED_OUT = ["it keeps kicking me out of my account", "kicked out of my account every few seconds"]
PAYMENT = ["payment failed at checkout", "checkout payment error every time", "payment not going through"]


def _post(author: str, text: str, at: datetime) -> Post:
    return Post(source="x", id=f"{author}-{at.timestamp():.0f}", text="@AcmeHelp " + text, author_id=author,
                author_handle=author, created_at=at)  # fmt: skip


def _day_before(rng: random.Random) -> list[Post]:
    """Two hundred ordinary complaints over the eight hours before the outage."""
    return [
        _post(f"bg{n}", rng.choice(BACKGROUND).format(n=rng.randint(2, 30), item="lamp", city="York", month="May"),
              DAY + timedelta(hours=2, minutes=rng.uniform(0, 470)))
        for n in range(200)
    ]  # fmt: skip


PARCEL = "I logged in to track my parcel and it is still {n} days late"
"""Logging in mentioned, a parcel meant: every day's complaint, never a login outage's."""


def _parcels_before() -> list[Post]:
    """Ten parcel complaints in the morning before the outage, so that detection knows them as
    ordinary."""
    return [_post(f"parcelpast{n}", PARCEL.format(n=n + 2), OUTAGE - timedelta(hours=7, minutes=n * 9))
            for n in range(10)]  # fmt: skip


def _customers(prefix: str, texts: list[str], count: int, start: datetime, minutes: float, seed: int) -> list[Post]:
    rng = random.Random(seed)
    return [_post(f"{prefix}{n}", rng.choice(texts), start + timedelta(minutes=rng.uniform(0, minutes)))
            for n in range(count)]  # fmt: skip


def _ingest(sessions: sessionmaker[Session], posts: list[Post], *, polls: bool) -> Ingestor:
    """Posts in post-time order, one batch per 30 s poll (``polls``) or the storm's all at once."""
    ingestor = Ingestor(Triage(), IngestPolicy("C0"))
    ordered = sorted(posts, key=lambda p: p.created_at)
    hours: dict[datetime, list[Post]] = {}
    for p in ordered:
        if p.created_at < OUTAGE:
            hours.setdefault(p.created_at.replace(minute=0, second=0, microsecond=0), []).append(p)
    for hour, batch in sorted(hours.items()):  # the day polled as it went, an hour a batch here
        ingestor.ingest_batch(sessions, batch, at=hour + timedelta(hours=1))
    rest = [p for p in ordered if p.created_at >= OUTAGE]
    if not polls:
        ingestor.ingest_batch(sessions, rest, at=max(p.created_at for p in rest) + POLL)
        return ingestor
    batches: dict[datetime, list[Post]] = {}
    for p in rest:
        batches.setdefault(OUTAGE + POLL * ((p.created_at - OUTAGE) // POLL + 1), []).append(p)
    for at, batch in sorted(batches.items()):
        ingestor.ingest_batch(sessions, batch, at=at)
    return ingestor


def _members(sessions: sessionmaker[Session]) -> dict[int, set[str]]:
    with sessions() as s:
        rows = s.execute(select(Complaint.incident_id, Complaint.author_id).where(Complaint.incident_id.is_not(None)))
        out: dict[int, set[str]] = {}
        for incident, author in rows:
            out.setdefault(incident, set()).add(author)
        return out


@pytest.mark.parametrize("polls", [True, False], ids=["a-batch-per-poll", "all-at-once"])
def test_one_outage_told_in_words_that_share_nothing_is_one_incident_and_a_later_one_is_another(
    migrated: Engine, polls: bool
):
    """ "Can't log in" and "kicked out of my account" share no word; both began at ten: one outage.
    A payment outage beginning forty minutes later is a second incident — whatever the batches."""
    sessions = make_sessionmaker(migrated)
    rng = random.Random(5)
    posts = [
        *_day_before(rng),
        *_customers("login", LOGIN_WORDS, 25, OUTAGE, 12, 1),
        *_customers("kicked", KICKED_OUT, 20, OUTAGE + timedelta(minutes=2), 12, 2),
        *_customers("pay", PAYMENT, 20, OUTAGE + timedelta(minutes=40), 10, 3),
    ]
    _ingest(sessions, posts, polls=polls)
    groups = sorted(_members(sessions).values(), key=len, reverse=True)
    assert len(groups) == 2, [sorted(g)[:3] for g in groups]
    assert {a[:5] for a in groups[0]} == {"login", "kicke"}
    assert len(groups[0]) == 45
    assert {a[:3] for a in groups[1]} == {"pay"}
    assert len(groups[1]) == 20


def test_an_outage_arriving_a_few_posts_a_poll_keeps_its_words_up_to_date(migrated: Engine):
    """Each batch matched against the stored words and its own posts: with two posts a poll, the
    stored words were the first fifteen customers' for good. They are rewritten as it grows."""
    sessions = make_sessionmaker(migrated)
    rng = random.Random(6)
    posts = [*_day_before(rng)]
    posts += [_post(f"c{n}", rng.choice(LOGIN_WORDS), OUTAGE + POLL * (n // 2)) for n in range(80)]
    _ingest(sessions, posts, polls=True)
    with sessions() as s:
        [incident] = s.scalars(select(Incident)).all()
    assert incident.posts == 80
    assert incident.profile_size >= 80 / 1.1, "rewritten from every member at each tenth of growth"


def test_posts_about_something_else_do_not_vouch_for_each_other(migrated: Engine):
    """Two customers who signed in to find their bill wrong, posting as a login outage begins: each
    would make "bill" a word of the outage's for the other. Neither is part of it."""
    sessions = make_sessionmaker(migrated)
    rng = random.Random(7)
    bill = "signed in to check my bill and it's wrong again"
    posts = [*_day_before(rng), *_customers("login", LOGIN_WORDS, 30, OUTAGE, 10, 4)]
    posts += [_post(f"billpast{n}", bill, OUTAGE - timedelta(hours=6, minutes=n * 20)) for n in range(8)]
    posts += [_post("bill1", bill, OUTAGE + timedelta(minutes=1)), _post("bill2", bill, OUTAGE + timedelta(minutes=2))]
    _ingest(sessions, posts, polls=False)
    [members] = _members(sessions).values()
    assert {"bill1", "bill2"}.isdisjoint(members)
    assert len(members) == 30


def test_a_wording_too_small_to_be_an_incident_joins_the_outage_it_is_part_of_and_a_parcel_does_not(
    migrated: Engine,
):
    """Eight customers say "card declined at checkout" during a payment outage told mostly as
    "payment failed at checkout": part of it. Six who logged in to track a late parcel during a
    login outage are not part of that one: their other words are every day's."""
    sessions = make_sessionmaker(migrated)
    rng = random.Random(8)
    posts = [*_day_before(rng), *_parcels_before()]
    posts += _customers("pay", PAYMENT, 20, OUTAGE, 10, 5)
    posts += _customers("card", ["card declined at checkout but the card is fine"], 8, OUTAGE + timedelta(minutes=6),
                        8, 6)  # fmt: skip
    posts += _customers("login", LOGIN_WORDS, 20, OUTAGE + timedelta(minutes=45), 10, 7)
    posts += [_post(f"parcel{n}", PARCEL.format(n=n + 3), OUTAGE + timedelta(minutes=47 + n)) for n in range(6)]
    _ingest(sessions, posts, polls=True)
    groups = {min(a[:4] for a in g): g for g in _members(sessions).values()}
    assert {a for a in groups["card"] if a.startswith("card")} == {f"card{n}" for n in range(8)}
    assert not any(a.startswith("parcel") for g in groups.values() for a in g)


def test_an_everyday_subject_crossing_the_threshold_at_the_same_time_is_not_merged_into_an_outage(migrated: Engine):
    """A busy morning of "still waiting for my refund" — a quarter of every day's complaints —
    crosses the threshold as a login outage told as "kicked out of my account" begins: two
    incidents, not one. Only news (words the last week's ordinary complaints use far less) is merged
    by its start time."""
    sessions = make_sessionmaker(migrated)
    rng = random.Random(9)
    refund = "still waiting for my refund, nobody answers"
    posts = [*_day_before(rng)]
    posts += [_post(f"refundpast{n}", refund, DAY + timedelta(hours=2, minutes=n * 5)) for n in range(70)]
    posts += _customers("refund", [refund], 20, OUTAGE, 12, 10)
    posts += _customers("kicked", KICKED_OUT, 20, OUTAGE + timedelta(minutes=1), 12, 11)
    _ingest(sessions, posts, polls=True)
    groups = sorted(({a.rstrip("0123456789") for a in g} for g in _members(sessions).values()), key=sorted)
    assert groups == [{"kicked"}, {"refund"}]


IN_THEIR_OWN_WORDS = [
    "it won't let me in since the update this morning on my pixel, tried wifi and data",
    "locked out of my account right when I need the receipts for my tax return",
    "the two-factor code never shows up on my phone, waited ten minutes twice",
    "session expired pops up every few seconds on the tablet and the laptop",
    "keeps saying my details are wrong, they are definitely right, saved in my manager",
    "cant get into my acct on chrome, firefox or the ipad, same spinning wheel",
]


def test_customers_who_state_the_failure_in_their_own_words_join_the_outage(migrated: Engine):
    """Twenty customers say "can't log in"; six more say it their own way in a dozen words that share
    none with them ("the two-factor code never shows up on my phone"). Stating the failure is what
    places them (``topics.STATED``): with their words alone, most are too far from the outage's."""
    sessions = make_sessionmaker(migrated)
    rng = random.Random(12)
    posts = [*_day_before(rng), *_parcels_before()]
    posts += _customers("login", LOGIN_WORDS, 20, OUTAGE, 10, 13)
    posts += [
        _post(f"own{n}", text, OUTAGE + timedelta(minutes=3 + 2 * n)) for n, text in enumerate(IN_THEIR_OWN_WORDS)
    ]
    posts += [_post(f"parcel{n}", PARCEL.format(n=n + 3), OUTAGE + timedelta(minutes=4 + n)) for n in range(4)]
    _ingest(sessions, posts, polls=True)
    [members] = _members(sessions).values()
    assert {a for a in members if a.startswith("own")} == {f"own{n}" for n in range(len(IN_THEIR_OWN_WORDS))}
    assert not any(a.startswith("parcel") for a in members)
