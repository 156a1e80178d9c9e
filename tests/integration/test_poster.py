"""The outbox poster against the local Slack stand-in: order, rate, retries, exactly once, storms."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from bot.app import make_slack_client
from bot.config import Secret, Settings
from bot.devtools.slack_api import Fault, SlackStandIn
from bot.domain.clock import FakeClock
from bot.domain.ingest import Ingestor, IngestPolicy
from bot.domain.posts import Post
from bot.domain.triage import Triage
from bot.slack.ids import METADATA_EVENT
from bot.slack.poster import LEASE, Poster
from bot.sources import state
from bot.store.db import make_sessionmaker
from bot.store.models import Complaint, Outbox

CHANNEL = "C0COMPLAIN"


class Mono:
    """A monotonic clock for the token bucket and the stand-in's rate limit, moved by the test."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def mono() -> Mono:
    return Mono()


@pytest.fixture
def slack(mono: Mono, clock: FakeClock) -> Iterator[SlackStandIn]:
    with SlackStandIn(rate_limit_per_channel=1.0) as stand_in:
        stand_in.clock = mono
        stand_in.wall = lambda: clock.now().timestamp()
        yield stand_in


@pytest.fixture
def poster(migrated: Engine, slack: SlackStandIn, clock: FakeClock, mono: Mono) -> Poster:
    settings = Settings(slack_bot_token=Secret(slack.state.token), slack_api_url=slack.base_url)
    return Poster(make_sessionmaker(migrated), make_slack_client(settings), clock, monotonic=mono)


@pytest.fixture
def ingest(migrated: Engine, clock: FakeClock):
    ingestor = Ingestor(Triage(), IngestPolicy(CHANNEL, "C0KUDOS"))

    def run(*posts: Post):
        return ingestor.ingest_batch(make_sessionmaker(migrated), list(posts), at=clock.now())

    return run


def post(pid: str, text: str | None = None, followers: int = 10, **kw) -> Post:
    text = text or f"@AcmeHelp still waiting for my refund for order {pid}"
    return Post(
        source="x",
        id=pid,
        text=text,
        author_id=pid,
        author_handle=f"c{pid}",
        created_at=datetime(2026, 3, 2, 8, 0, tzinfo=UTC),
        followers=followers,
        **kw,
    )


def run_until_idle(poster: Poster, mono: Mono, clock: FakeClock, limit: int = 200) -> None:
    """Step the poster, moving both clocks by whatever it asks to wait: no real sleeping."""
    for _ in range(limit):
        wait = poster.step()
        if wait >= poster.idle_seconds and not poster._due():
            later = poster.next_due_in()
            if later is None:
                return
            wait = max(wait, later)
        mono.t += wait
        clock.advance(seconds=wait)
    raise AssertionError("poster did not go idle")


def test_cards_go_out_in_priority_order_with_metadata(poster, ingest, slack, mono, clock, migrated):
    ingest(post("1", followers=5), post("2", followers=2_000_000), post("3", followers=900))
    run_until_idle(poster, mono, clock)
    messages = slack.channel_messages(CHANNEL)
    assert [m["text"].split(" from @")[1].split(":")[0] for m in messages] == ["c2", "c3", "c1"]
    assert all(m["metadata"]["event_type"] == METADATA_EVENT for m in messages)
    with make_sessionmaker(migrated)() as s:
        stored = {c.external_id: c.slack_ts for c in s.scalars(select(Complaint))}
    assert stored == {m["text"].split(" from @c")[1].split(":")[0]: m["ts"] for m in messages}


def test_never_faster_than_one_post_per_second_per_channel(poster, ingest, slack, mono, clock):
    ingest(*(post(str(i), f"@AcmeHelp still waiting for refund number {i}") for i in range(5)))
    run_until_idle(poster, mono, clock)
    posts = slack.calls_to("chat.postMessage")
    assert len(posts) == 5
    gaps = [b.at - a.at for a, b in itertools.pairwise(posts)]
    assert min(gaps) >= 1.0
    assert not [c for c in slack.calls if c.status == 429]


def test_429_waits_for_retry_after_and_never_sooner(poster, ingest, slack, mono, clock, migrated):
    ingest(post("1"))
    slack.inject(Fault("429", method="chat.postMessage", retry_after=7))
    assert poster.step() == 0.0  # tried, got 429
    attempts_at = [c.at for c in slack.calls if c.method == "chat.postMessage"]
    for _ in range(6):
        mono.t += 1
        clock.advance(seconds=1)
        poster.step()
    assert len([c for c in slack.calls if c.method == "chat.postMessage"]) == 1  # nothing before 7 s
    run_until_idle(poster, mono, clock)
    calls = [c for c in slack.calls if c.method == "chat.postMessage"]
    assert [c.status for c in calls] == [429, 200]
    assert calls[1].at - attempts_at[0] >= 7
    assert len(slack.channel_messages(CHANNEL)) == 1


def test_5xx_and_dropped_connections_are_retried(poster, ingest, slack, mono, clock):
    ingest(post("1"))
    slack.inject(Fault("500", method="chat.postMessage"))
    slack.inject(Fault("drop", method="chat.postMessage"))
    run_until_idle(poster, mono, clock)
    assert len(slack.channel_messages(CHANNEL)) == 1
    assert poster.retries == 2


def test_a_lost_response_does_not_post_the_card_twice(poster, ingest, slack, mono, clock, migrated):
    ingest(post("1"))
    slack.inject(Fault("lost", method="chat.postMessage"))  # Slack posts it; we never hear back
    run_until_idle(poster, mono, clock)
    messages = slack.channel_messages(CHANNEL)
    assert len(messages) == 1
    assert slack.calls_to("conversations.history")
    with make_sessionmaker(migrated)() as s:
        assert s.scalars(select(Complaint.slack_ts)).one() == messages[0]["ts"]


def test_a_poster_that_died_holding_a_lease_is_replaced(poster, ingest, slack, mono, clock, migrated):
    ingest(post("1"))
    assert poster._lease(1, clock.now())  # ...and the process dies here, before sending
    assert poster.step() == poster.idle_seconds  # leased: nobody else sends it
    clock.advance(LEASE + timedelta(seconds=1))
    run_until_idle(poster, mono, clock)
    assert len(slack.channel_messages(CHANNEL)) == 1


def test_storm_of_near_duplicates_folds_into_one_card_highest_priority_first(
    poster, ingest, slack, mono, clock, migrated
):
    ingest(
        post("1", "@AcmeHelp the app is down AGAIN", followers=10),
        post("2", "RT @c1: @AcmeHelp the app is down again", followers=3_000_000),
        post("3", "@AcmeHelp The app is down again!!", followers=50),
        post("4", "@AcmeHelp my refund never arrived", followers=10),
    )
    run_until_idle(poster, mono, clock)
    cards = [m for m in slack.channel_messages(CHANNEL) if not m.get("thread_ts")]
    assert len(cards) == 2
    assert "@c2" in cards[0]["text"]  # the loudest voice went first
    with make_sessionmaker(migrated)() as s:
        primary = s.scalars(select(Complaint).where(Complaint.external_id == "2")).one()
        assert primary.duplicate_count == 2
        assert {c.duplicate_of for c in s.scalars(select(Complaint).where(Complaint.external_id.in_(["1", "3"])))} == {
            primary.id
        }
    updated = [c for c in slack.calls_to("chat.update") if "+2 similar" in str(c.args.get("blocks"))]
    assert updated


def test_customer_reply_goes_into_the_cards_thread_after_the_card(poster, ingest, slack, mono, clock):
    ingest(post("1", conversation_id="1"))
    reply = Post(
        source="x",
        id="2",
        text="@AcmeHelp any news? <!channel>",
        author_id="1",
        author_handle="c1",
        created_at=datetime(2026, 3, 2, 8, 5, tzinfo=UTC),
        conversation_id="1",
        in_reply_to_id="1",
    )
    ingest(reply)
    run_until_idle(poster, mono, clock)
    [card] = [m for m in slack.channel_messages(CHANNEL) if not m.get("thread_ts")]
    [threaded] = slack.thread(CHANNEL, card["ts"])
    assert "&lt;!channel&gt;" in threaded["text"]
    assert "<!channel>" not in str(threaded)


def test_undeliverable_rows_are_dead_and_logged(poster, ingest, slack, mono, clock, migrated, caplog):
    ingest(post("1"))
    with make_sessionmaker(migrated)() as s, s.begin():
        s.execute(Outbox.__table__.update().values(channel="C0GONE"))
    slack.state.messages.clear()
    original = slack._m_chat_postMessage
    slack._m_chat_postMessage = lambda args: {"ok": False, "error": "channel_not_found"}  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR):
        run_until_idle(poster, mono, clock)
    slack._m_chat_postMessage = original  # type: ignore[method-assign]
    with make_sessionmaker(migrated)() as s:
        assert s.scalars(select(Outbox.status)).one() == "dead"
    assert "channel_not_found" in caplog.text


def test_credential_alert_reaches_the_channel_once(poster, slack, mono, clock, migrated):
    sessions = make_sessionmaker(migrated)
    for _ in range(3):
        state.raise_alert_once(
            sessions, "x-credentials", "X refused <!here> our credentials", channel=CHANNEL, at=clock.now()
        )
    run_until_idle(poster, mono, clock)
    [alert] = slack.channel_messages(CHANNEL)
    assert "X refused" in alert["text"]


def test_a_dm_whose_answer_was_lost_is_found_not_sent_again(poster, ingest, slack, mono, clock, migrated):
    from bot.domain import promises as promise_service
    from bot.store.db import transaction

    ingest(post("1"))
    run_until_idle(poster, mono, clock)
    with transaction(make_sessionmaker(migrated)) as s:
        promise_service.create(
            s,
            1,
            owner_id="U0ALICE01",
            text="call back",
            due_at=clock.now() + timedelta(hours=1),
            created_by="U0ALICE01",
            at=clock.now(),
        )
        p = s.scalars(select(promise_service.Promise)).one()
        p.next_nag_at = clock.now()
        from bot.domain.outbox import enqueue

        enqueue(
            s,
            kind="nag_dm",
            at=clock.now(),
            dedupe_key="nag:1:0:0",
            channel="U0ALICE01",
            complaint_id=1,
            promise_id=p.id,
            payload={"step": 0, "kind": "dm"},
        )
    slack.inject(Fault("lost", method="chat.postMessage"))
    run_until_idle(poster, mono, clock)
    assert len(slack.channel_messages("D0ALICE01")) == 1
    assert slack.calls_to("conversations.open")
