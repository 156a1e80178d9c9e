"""X sources through tweepy's real code path, against a local stand-in for X's API v2."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, select

from bot.common.clock import FakeClock
from bot.intake import state
from bot.intake.inbox import Inbox, InboxDrain
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.source import SourceContext
from bot.networks.x.source import CREDENTIAL_RETRY_SECONDS, XPoller, XStream, make_client
from bot.slack.views.blocks import build_card, card_state
from bot.store.engine import make_sessionmaker
from bot.store.models import Complaint, Delivery, SourceCursor
from bot.store.models import Post as PostRow
from bot.triage.classify import Triage
from tests.support.pipeline import Drained
from tests.support.x_api import StreamPlan, XFault, XStandIn

BRAND = "1000"


@pytest.fixture(scope="module")
def triage() -> Triage:
    return Triage()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def x(clock: FakeClock) -> Iterator[XStandIn]:
    with XStandIn() as stand_in:
        stand_in.now = lambda: clock.now().timestamp()
        stand_in.add_user(BRAND, "AcmeHelp", followers=50_000)
        for i in range(1, 6):
            stand_in.add_user(str(i), f"customer{i}", followers=100 * i)
        yield stand_in


@pytest.fixture
def ctx(migrated: Engine, clock: FakeClock) -> SourceContext:
    sessions = make_sessionmaker(migrated)
    return SourceContext(sessions, Inbox(sessions, clock), clock, "C0COMPLAIN")


@pytest.fixture
def drain(ctx: SourceContext, triage: Triage) -> InboxDrain:
    policy = IngestPolicy("C0COMPLAIN", None, frozenset({BRAND}), frozenset({"acmehelp"}))
    return InboxDrain(ctx.sessions, Ingestor(triage, policy), ctx.clock)


@pytest.fixture
def mentions(drain: InboxDrain):
    def make(ctx: SourceContext, x: XStandIn) -> Drained:
        client = make_client(x.token, x.base_url)
        return Drained(XPoller(ctx, client, mode="mentions", user_id=BRAND, poll_seconds=60), drain)

    return make


def total(ctx: SourceContext, model, *where) -> int:
    with ctx.sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def alerts(ctx: SourceContext) -> list[str]:
    with ctx.sessions() as s:
        return [p["text"] for p in s.scalars(select(Delivery.payload).where(Delivery.kind == "alert"))]


def test_restart_resumes_from_stored_since_id_without_repeats(ctx, x, mentions, drain):
    for i in range(1, 6):
        x.add_tweet(str(100 + i), f"@AcmeHelp still waiting for my refund, order {i}", str(i))
    assert mentions(ctx, x).step() == 60
    assert total(ctx, Complaint) == 5
    assert state.read_cursor(ctx.sessions, "x:mentions") == "105"

    for i in range(6, 9):
        x.add_tweet(str(100 + i), f"@AcmeHelp my app is broken again #{i}", "2")
    restarted = mentions(ctx, x)  # a new process: nothing in memory
    restarted.step()
    last = [q for m, p, q in x.requests if p.endswith("/mentions")][-1]
    assert last["since_id"] == "105"
    assert total(ctx, Complaint) == 8
    assert total(ctx, PostRow) == 8
    restarted.step()
    assert total(ctx, Complaint) == 8


def test_pages_are_followed_and_the_first_pages_newest_id_becomes_the_cursor(ctx, x, mentions, drain):
    x.add_tweet("100", "@AcmeHelp first", "1")
    poller = mentions(ctx, x)
    poller.step()
    for i in range(250):
        x.add_tweet(str(1000 + i), f"@AcmeHelp still no refund {i}", str(1 + i % 5))
    poller.step()
    assert total(ctx, PostRow) == 251
    assert state.read_cursor(ctx.sessions, "x:mentions") == "1249"
    tokens = [q.get("pagination_token") for m, p, q in x.requests if p.endswith("/mentions")]
    assert tokens == [None, None, "100", "200"]


def test_first_run_reads_only_the_newest_page(ctx, x, mentions, drain):
    for i in range(150):
        x.add_tweet(str(1000 + i), f"@AcmeHelp hello {i}", "1")
    mentions(ctx, x).step()
    assert total(ctx, PostRow) == 100
    assert state.read_cursor(ctx.sessions, "x:mentions") == "1149"


def test_falling_behind_the_800_mention_horizon_is_said_loudly(ctx, x, caplog, mentions, drain):
    x.add_tweet("100", "@AcmeHelp first", "1")
    poller = mentions(ctx, x)
    poller.step()
    for i in range(900):
        x.add_tweet(str(1000 + i), f"@AcmeHelp ping {i}", "1")
    with caplog.at_level(logging.ERROR):
        poller.step()
    assert total(ctx, PostRow) == 801
    [alert] = alerts(ctx)
    assert "only the latest 800" in alert
    assert any("fell behind" in r.message for r in caplog.records)


def test_rate_limit_waits_until_reset_without_losing_anything(ctx, x, mentions, drain):
    x.add_tweet("101", "@AcmeHelp still waiting", "1")
    x.inject(XFault(429, path="/mentions", reset_in=42))
    poller = mentions(ctx, x)
    assert poller.step() == pytest.approx(43, abs=1)
    assert total(ctx, PostRow) == 0
    assert poller.step() == 60
    assert total(ctx, PostRow) == 1
    with ctx.sessions() as s:
        assert s.get(SourceCursor, "x:mentions").last_error is None


def test_bad_credentials_alert_once_across_retries_and_restarts(ctx, x, caplog, mentions, drain):
    x.inject(XFault(401, count=3, path="/mentions"))
    with caplog.at_level(logging.WARNING):
        assert mentions(ctx, x).step() == CREDENTIAL_RETRY_SECONDS
        assert mentions(ctx, x).step() == CREDENTIAL_RETRY_SECONDS
        assert mentions(ctx, x).step() == CREDENTIAL_RETRY_SECONDS
    assert len(alerts(ctx)) == 1
    assert "refused our credentials (HTTP 401)" in alerts(ctx)[0]
    assert sum("source stopped" in r.message for r in caplog.records) == 1
    assert x.token not in caplog.text

    x.add_tweet("101", "@AcmeHelp still waiting", "1")
    mentions(ctx, x).step()  # credentials fixed: resumes and clears the alert
    assert total(ctx, PostRow) == 1
    x.inject(XFault(403, path="/mentions"))
    mentions(ctx, x).step()  # a new incident alerts again
    assert len(alerts(ctx)) == 2


def test_retweets_replies_and_brand_posts_through_x_json(ctx, x, mentions, drain):
    x.add_tweet("101", "@AcmeHelp my parcel never arrived, nobody replies", "1")
    mentions(ctx, x).step()
    x.add_tweet(
        "102",
        "@customer1 so sorry! DM us your order number",
        BRAND,
        conversation_id="101",
        replied_to="101",
        mentions=BRAND,
    )
    x.add_tweet("103", "RT @customer1: @AcmeHelp my parcel never arrived, nobody replies", "2", retweeted="101")
    x.add_tweet("104", "@AcmeHelp done, sent it", "1", conversation_id="101", replied_to="102")
    mentions(ctx, x).step()
    assert total(ctx, Complaint) == 1
    with ctx.sessions() as s:
        c = s.scalars(select(Complaint)).one()
        assert (c.amplification_count, c.amplification_reach, c.reply_count) == (1, 200, 1)
        assert c.url == "https://x.com/customer1/status/101"
        assert c.author_followers == 100
        roles = dict(s.execute(select(PostRow.external_id, PostRow.role)).all())
    assert roles == {"101": "original", "102": "own", "103": "retweet", "104": "reply"}


def test_malformed_api_records_are_logged_and_skipped(ctx, x, caplog, mentions, drain):
    x.add_tweet(
        "101", "", "1", raw={"id": "101", "author_id": "1", "created_at": "2026-03-01T12:00:00Z"}, mentions=BRAND
    )
    x.add_tweet(
        "102",
        "x",
        "1",
        raw={"id": "102", "text": "@AcmeHelp " + "a" * 100_000, "author_id": "1", "created_at": "2026-03-01T12:00:00Z"},
    )
    x.add_tweet(
        "103", "x", "1", raw={"id": "103", "text": "@AcmeHelp ok", "author_id": "1", "created_at": "not a time"}
    )
    x.add_tweet("104", "@AcmeHelp still waiting on my refund", "1")
    poller = mentions(ctx, x)
    with caplog.at_level(logging.WARNING):
        poller.step()
    assert total(ctx, PostRow) == 1
    assert state.read_cursor(ctx.sessions, "x:mentions") == "104"
    with ctx.sessions() as s:
        assert s.get(SourceCursor, "x:mentions").malformed == 3
    messages = " ".join(r.message for r in caplog.records)
    assert "post 101 skipped: missing text" in messages
    assert "post 102 skipped: text is" in messages
    assert "post 103 skipped: created_at" in messages


def test_recent_search_keeps_the_same_cursor_discipline(ctx, x, mentions, drain):
    x.add_tweet("101", "acme broke my phone again", "1")
    x.add_tweet("102", "unrelated", "2")
    search = Drained(
        XPoller(ctx, make_client(x.token, x.base_url), mode="search", query="acme", poll_seconds=30), drain
    )
    assert search.step() == 30
    x.add_tweet("103", "acme refund still missing", "3")
    search.step()
    assert [q.get("since_id") for m, p, q in x.requests if p.endswith("/recent")] == [None, "101"]
    assert total(ctx, PostRow) == 2


def test_stream_syncs_rules_reconnects_and_drops_repeats(ctx, x, mentions, drain):
    x.state.rules = [{"id": "9", "value": "old rule"}, {"id": "8", "value": "@AcmeHelp"}]
    x.stream_plan = StreamPlan(per_connection=3, repeat=2)
    for i in range(7):
        x.queue_stream(x.add_tweet(str(200 + i), f"@AcmeHelp still waiting for a refund #{i}", str(1 + i % 5)))
    stream = Drained(XStream(ctx, x.token, ("@AcmeHelp", "acme refund"), api_url=x.base_url), drain)
    delays = [stream.step() for _ in range(4)]
    assert {r["value"] for r in x.state.rules} == {"@AcmeHelp", "acme refund"}
    assert x.state.connections == 4
    assert total(ctx, PostRow) == 7
    assert stream.repeats_dropped >= 4
    assert all(d > 0 for d in delays)
    assert delays[1] >= delays[0]  # quick drops back off


def test_stream_401_alerts_once(ctx, x, mentions, drain):
    x.state.rules = [{"id": "1", "value": "@AcmeHelp"}]
    x.inject(XFault(401, count=2, path="/search/stream"))
    stream = XStream(ctx, x.token, ("@AcmeHelp",), api_url=x.base_url)
    assert stream.step() == CREDENTIAL_RETRY_SECONDS
    assert stream.step() == CREDENTIAL_RETRY_SECONDS
    assert len(alerts(ctx)) == 1


def test_quiet_source_is_reported(ctx, x, clock, caplog, mentions, drain):
    x.add_tweet("101", "@AcmeHelp still waiting", "1", created_at="2026-03-02T08:59:00.000Z")
    poller = mentions(ctx, x)
    poller.step()
    clock.advance(hours=7)
    with caplog.at_level(logging.WARNING):
        poller.step()
        poller.step()
    assert sum("no posts for" in r.message for r in caplog.records) == 1
    with ctx.sessions() as s:
        [status] = state.source_statuses(s, now=clock.now(), silence=ctx.silence)
    assert status.quiet
    assert "QUIET" in status.line()


def test_server_errors_raise_to_the_worker_backoff_and_lose_nothing(ctx, x, mentions, drain):
    import tweepy

    x.add_tweet("101", "@AcmeHelp still waiting", "1")
    x.inject(XFault(503, path="/mentions"))
    poller = mentions(ctx, x)
    with pytest.raises(tweepy.TwitterServerError):
        poller.step()  # the worker's loop logs it and retries with back-off (tests/unit/test_worker.py)
    assert state.read_cursor(ctx.sessions, "x:mentions") is None
    poller.step()
    assert total(ctx, PostRow) == 1


def test_post_text_is_unescaped_exactly_once_and_escaped_once_for_slack(ctx, x, mentions, drain):
    """X sends ``Q&amp;A &lt;3``; the customer wrote ``Q&A <3``, and wrote ``&amp;`` literally in the
    second post. Stored as written; a card must show ``Q&A``, not ``Q&amp;A``."""
    from bot.slack.views import blocks

    x.add_tweet("101", "@AcmeHelp your Q&A page says <3 days> & still no refund", "1")
    x.add_tweet("102", "@AcmeHelp I typed &amp; on purpose, still no refund", "2")
    mentions(ctx, x).step()
    with ctx.sessions() as s:
        texts = dict(s.execute(select(Complaint.external_id, Complaint.text)).all())
        card = blocks.build_card(
            blocks.card_state(s.scalars(select(Complaint).where(Complaint.external_id == "101")).one()), ctx.clock.now()
        )
    assert texts == {
        "101": "@AcmeHelp your Q&A page says <3 days> & still no refund",
        "102": "@AcmeHelp I typed &amp; on purpose, still no refund",
    }
    assert "Q&amp;A page says &lt;3 days&gt; &amp; still" in str(card["blocks"])
    assert "&amp;amp;" not in str(card["blocks"])


@contextmanager
def refusing_writes(engine: Engine) -> Iterator[tuple[Engine, Callable[[], None]]]:
    """An engine for the bot and a way to make the database refuse its writes until ``allow()``.

    SQLite: another connection holds the write lock (the bot's engine gives up after 50 ms).
    PostgreSQL: the bot connects as its own role, and INSERT on the inbox is revoked from it.
    """
    from sqlalchemy import text

    from bot.store.engine import make_engine

    if engine.dialect.name == "sqlite":
        blocker = engine.raw_connection()
        blocker.execute("BEGIN IMMEDIATE")
        bot_engine = make_engine(str(engine.url), busy_timeout_ms=50)
        try:
            yield bot_engine, blocker.rollback
        finally:
            blocker.close()
            bot_engine.dispose()
        return
    role = f"ft_{uuid.uuid4().hex[:10]}"
    schema = engine.url.query["options"].split("search_path=")[1]
    with engine.begin() as conn:
        conn.execute(text(f'CREATE ROLE "{role}" LOGIN'))
        conn.execute(text(f'GRANT USAGE ON SCHEMA "{schema}" TO "{role}"'))
        conn.execute(text(f'GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA "{schema}" TO "{role}"'))
        conn.execute(text(f'GRANT USAGE ON ALL SEQUENCES IN SCHEMA "{schema}" TO "{role}"'))
        conn.execute(text(f'REVOKE INSERT ON inbox FROM "{role}"'))

    def allow() -> None:
        with engine.begin() as conn:
            conn.execute(text(f'GRANT INSERT ON inbox TO "{role}"'))

    bot_engine = make_engine(str(engine.url.set(username=role)).replace("***", ""))
    try:
        yield bot_engine, allow
    finally:
        bot_engine.dispose()
        with engine.begin() as conn:
            conn.execute(text(f'DROP OWNED BY "{role}"'))
            conn.execute(text(f'DROP ROLE "{role}"'))


def test_a_stream_post_survives_the_database_refusing_writes(migrated, x, clock, triage, caplog):
    """The database refuses writes while the stream delivers posts (X sends each post once). Nothing
    may be lost: posts wait in memory and are stored, once each, when the database takes writes."""
    x.state.rules = [{"id": "1", "value": "@AcmeHelp"}]
    x.stream_plan = StreamPlan(per_connection=6, repeat=0)
    for i in range(6):
        x.queue_stream(x.add_tweet(str(300 + i), f"@AcmeHelp parcel {i} is lost and nobody answers", str(1 + i % 5)))
    with refusing_writes(migrated) as (engine, allow):
        sessions = make_sessionmaker(engine)
        ctx = SourceContext(sessions, Inbox(sessions, clock), clock, "C0COMPLAIN")
        drain = InboxDrain(sessions, Ingestor(triage, IngestPolicy("C0COMPLAIN")), clock)
        stream = XStream(ctx, x.token, ("@AcmeHelp",), api_url=x.base_url)
        with caplog.at_level(logging.WARNING):
            stream.step()  # one connection: six posts arrive, none can be written
        assert len(stream.unsaved) == 6
        assert "keeping them in memory" in caplog.text
        allow()
        clock.advance(seconds=3)
        x.stream_plan = StreamPlan(per_connection=0, repeat=0)
        stream.step()  # the next connection first writes what it kept
        drain.drain()
        assert stream.unsaved == []
        with sessions() as s:
            ids = s.scalars(select(PostRow.external_id).order_by(PostRow.external_id)).all()
        assert ids == [str(300 + i) for i in range(6)]


def test_a_post_over_280_characters_is_stored_whole_from_note_tweet(ctx, x, mentions, drain):
    """X cuts ``text`` at 280 characters; the whole post is only in ``note_tweet``, sent when asked
    for (docs.x.com, "Post object"). "…or I will file a chargeback" used to be lost."""
    long = (
        "@AcmeHelp I have written to you four times about order 5521. The parcel was marked delivered but "
        "nothing arrived, your chat bot closes the conversation, and the phone line hangs up after twenty "
        "minutes. I want the refund today, or I will file a chargeback with my bank and tell everyone I know."
    )
    assert len(long) > 280
    x.add_tweet("101", long, "1")
    mentions(ctx, x).step()
    with ctx.sessions() as s:
        assert s.scalars(select(Complaint.text)).one() == long
    asked = [q for _m, p, q in x.requests if p.endswith("/mentions")][-1]
    assert "note_tweet" in asked["tweet.fields"].split(",")


def test_the_stand_in_sends_only_the_fields_asked_for(x):
    """As X does: ``id``, ``text`` and ``edit_history_tweet_ids`` by default; a long post cut."""
    x.add_tweet("101", "@AcmeHelp " + "x" * 400, "1")
    client = make_client(x.token, x.base_url)
    bare = client.get_users_mentions(BRAND)["data"][0]
    assert set(bare) == {"id", "text", "edit_history_tweet_ids"}
    assert len(bare["text"]) == 280
    full = client.get_users_mentions(BRAND, tweet_fields=["note_tweet", "author_id"])["data"][0]
    assert full["note_tweet"]["text"].endswith("x" * 100)
    assert full["author_id"] == "1"


def test_a_usage_capped_429_alerts_once_and_probes_every_15_minutes(ctx, x, caplog, mentions, drain):
    """Credits spent: X answers 429 with the usage-capped problem type. Waiting for a rate-limit reset
    would repeat the refusal silently for ever; one alert says what to do, the poller probes slowly."""
    from bot.networks.x.client import USAGE_CAP_PROBE_SECONDS

    x.add_tweet("101", "@AcmeHelp still waiting for my refund", "1")
    x.inject(XFault(429, count=3, path="/mentions", mode="usage-capped"))
    with caplog.at_level(logging.WARNING):
        for _ in range(3):
            assert mentions(ctx, x).step() == USAGE_CAP_PROBE_SECONDS
    [alert] = alerts(ctx)
    assert "usage cap is reached (Monthly)" in alert
    assert "console.x.com" in alert
    with ctx.sessions() as s:
        assert "X usage cap reached" in (s.get(SourceCursor, "x:mentions").last_error or "")
    assert mentions(ctx, x).step() == 60  # credits added: read again, nothing lost
    assert total(ctx, PostRow) == 1
    assert any("usage cap reset or credits added" in r.message for r in caplog.records)


def _card_refreshes(ctx: SourceContext, cid: int) -> int:
    with ctx.sessions() as s:
        wanted = (Delivery.kind == "update_card", Delivery.complaint_id == cid)
        return s.scalar(select(func.count()).select_from(Delivery).where(*wanted))


def _card_posted(ctx: SourceContext, cid: int) -> None:
    """As the Slack worker leaves a card it has posted (so changes to it ask for a refresh)."""
    with ctx.sessions() as s, s.begin():
        s.execute(
            Delivery.__table__.update()
            .where(Delivery.kind == "post_card", Delivery.complaint_id == cid)
            .values(status="sent", remote_channel="C0COMPLAIN", remote_id="1.000100")
        )
        s.execute(
            Complaint.__table__.update()
            .where(Complaint.id == cid)
            .values(slack_channel="C0COMPLAIN", slack_ts="1.000100")
        )


def test_an_edit_updates_the_complaint_and_its_card_instead_of_filing_another(ctx, x, mentions, drain):
    """docs.x.com, "Edit Posts": an edit is a new post (a new id) whose ``edit_history_tweet_ids``
    lists every version. It used to become a second complaint while the card kept the first words."""
    x.add_tweet("101", "@AcmeHelp my parcel never arrived", "1")
    poller = mentions(ctx, x)
    poller.step()
    with ctx.sessions() as s:
        cid = s.scalars(select(Complaint.id)).one()
    _card_posted(ctx, cid)
    first_edit = x.edit_tweet("101", "@AcmeHelp my parcel never arrived and nobody answers the phone")
    poller.step()
    x.edit_tweet(first_edit["id"], "@AcmeHelp my parcel never arrived, order 5521, nobody answers the phone")
    poller.step()
    with ctx.sessions() as s:
        [c] = s.scalars(select(Complaint)).all()
        assert c.id == cid
        assert c.text == "@AcmeHelp my parcel never arrived, order 5521, nobody answers the phone"
        assert c.edited_at is not None
        assert c.reply_count == 0
        roles = dict(s.execute(select(PostRow.external_id, PostRow.role)).all())
    assert sorted(roles.values()) == ["original", "original", "original"]  # every version is the post
    assert _card_refreshes(ctx, cid) == 1  # one pending refresh, re-armed by the second edit
    card = json.dumps(build_card(card_state(c), ctx.clock.now()))
    assert "order 5521" in card
    assert "edited" in card


def test_an_edit_of_a_post_never_stored_is_ingested_as_the_post(ctx, x, mentions, drain):
    x.add_tweet("90", "@AcmeHelp hello", "2")
    poller = mentions(ctx, x)
    poller.step()  # the cursor is now 90
    x.add_tweet("101", "@AcmeHelp typo", "1")
    x.edit_tweet("101", "@AcmeHelp my refund never came")  # edited before we polled: only the edit is listed
    poller.step()
    with ctx.sessions() as s:
        texts = set(s.scalars(select(Complaint.text)))
    assert texts == {"@AcmeHelp hello", "@AcmeHelp my refund never came"}


def test_a_retweet_of_a_post_never_stored_files_the_original_authors_complaint(ctx, x, mentions, drain):
    """X includes the original and its author (``expansions=referenced_tweets.id,…author_id``):
    the complaint is customer1's, with customer2's retweet as amplification — not a complaint under
    customer2 reading "RT @customer1: …"."""
    x.add_tweet("50", "@AcmeHelp you charged me twice and nobody answers", "1")
    x.add_tweet("90", "@AcmeHelp hello", "3")
    poller = mentions(ctx, x)
    poller.step()  # first run: the newest page; the cursor passes 50 (as a restart after downtime would)
    with ctx.sessions() as s:
        s.execute(Complaint.__table__.delete())
        s.execute(PostRow.__table__.delete())
        s.commit()
    x.add_tweet("103", "RT @customer1: @AcmeHelp you charged me twice and nobody answers", "2", retweeted="50")
    poller.step()
    with ctx.sessions() as s:
        [c] = s.scalars(select(Complaint)).all()
        assert (c.author_handle, c.external_id) == ("customer1", "50")
        assert c.text == "@AcmeHelp you charged me twice and nobody answers"
        assert (c.amplification_count, c.amplification_reach) == (1, 200)
        roles = dict(s.execute(select(PostRow.external_id, PostRow.role)).all())
    assert roles == {"50": "original", "103": "retweet"}


def test_a_retweet_of_the_brands_own_post_is_set_aside(ctx, x, mentions, drain):
    x.add_tweet("90", "We are back up: sorry for the outage this morning", BRAND)
    x.add_tweet("91", "@AcmeHelp hi", "3")
    poller = mentions(ctx, x)
    poller.step()
    x.add_tweet("103", "RT @AcmeHelp: We are back up: sorry for the outage this morning", "2", retweeted="90")
    poller.step()
    with ctx.sessions() as s:
        handles = set(s.scalars(select(Complaint.author_handle)))
        roles = dict(s.execute(select(PostRow.external_id, PostRow.role)).all())
    assert "customer2" not in handles
    assert (roles["90"], roles["103"]) == ("own", "retweet")


def test_the_stream_files_a_retweets_original_too(ctx, x, drain):
    x.add_tweet("50", "@AcmeHelp you charged me twice and nobody answers", "1")
    x.queue_stream(x.add_tweet("103", "RT @customer1: @AcmeHelp you charged me twice", "2", retweeted="50"))
    x.stream_plan = StreamPlan(per_connection=5, repeat=0)
    stream = Drained(XStream(ctx, x.token, ("@AcmeHelp",), api_url=x.base_url), drain)
    stream.step()
    with ctx.sessions() as s:
        [c] = s.scalars(select(Complaint)).all()
    assert (c.author_handle, c.amplification_count) == ("customer1", 1)


def _counted(ctx: SourceContext) -> dict[str, int]:
    from bot.intake import usage

    with ctx.sessions() as s:
        return {u.item: u.count for u in usage.this_month(s, "x", ctx.clock.now())}


def test_reads_are_counted_as_x_bills_them_bearer_or_owned(ctx, x, mentions, drain):
    """X bills each post read (the included ones too) and each user: $0.005 a post with the bearer
    token, $0.001 for the brand's own mentions read with its user-context keys. The bot's count must
    match what the stand-in bills, call for call."""
    from bot.networks.x.reply import make_user_client
    from bot.networks.x.usage import month_line

    for i in range(1, 4):
        x.add_tweet(str(100 + i), f"@AcmeHelp no refund yet #{i}", str(i))
    x.add_tweet("104", "RT @customer1: @AcmeHelp no refund yet #1", "4", retweeted="101")
    mentions(ctx, x).step()
    assert _counted(ctx) == {"post_read": x.billed["post_read"], "user_read": x.billed["user_read"]}
    assert x.billed["post_read"] == 5  # four posts and the retweet's original, included
    assert x.billed["post_read_owned"] == 0

    keys = x.set_brand(BRAND, "AcmeHelp")
    user_client = make_user_client(
        keys["X_API_KEY"], keys["X_API_SECRET"], keys["X_ACCESS_TOKEN"], keys["X_ACCESS_TOKEN_SECRET"], x.base_url
    )
    user_client.return_type = dict
    owned = Drained(XPoller(ctx, user_client, mode="mentions", user_id=BRAND, poll_seconds=60, user_auth=True), drain)
    for i in range(5, 8):
        x.add_tweet(str(100 + i), f"@AcmeHelp still broken #{i}", "2")
    assert owned.step() == 60
    assert x.oauth_refusals == []
    assert x.billed["post_read_owned"] == 3
    assert _counted(ctx)["post_read_owned"] == 3
    assert total(ctx, PostRow) == 7
    with ctx.sessions() as s:
        line = month_line(s, ctx.clock.now())
    # 5 × $0.005 + 3 × $0.001 + users at $0.010
    users = x.billed["user_read"]
    assert "owned post reads 3 ($0.00)" in line
    assert "X API this month: post reads 5 ($0.03)" in line
    assert f"user reads {users} (${users * 0.010:,.2f})" in line
    assert f"${5 * 0.005 + 3 * 0.001 + users * 0.010:,.2f} at April 2026 prices" in line


def test_with_the_reply_keys_set_mentions_are_read_as_the_brand(ctx, x, drain):
    """The wiring: the four reply keys set → the mentions poller reads with them (owned reads);
    without them, with the bearer token."""
    from bot.config import Secret, Settings
    from bot.networks import settings_with
    from bot.networks.x import wiring
    from bot.networks.x.settings import XSettings

    keys = x.set_brand(BRAND, "AcmeHelp")
    x.add_tweet("101", "@AcmeHelp my refund never came", "1")
    mentions_seen = XPoller(ctx, make_client(x.token, x.base_url), mode="mentions", user_id=BRAND)
    Drained(mentions_seen, drain).step()  # the cursor is set: each poll below reads one new post
    bearer_only = XSettings(bearer_token=Secret(x.token), api_url=x.base_url, user_id=BRAND, brand_handle="AcmeHelp")
    with_keys = XSettings(
        bearer_token=Secret(x.token),
        api_url=x.base_url,
        user_id=BRAND,
        brand_handle="AcmeHelp",
        api_key=Secret(keys["X_API_KEY"]),
        api_secret=Secret(keys["X_API_SECRET"]),
        access_token=Secret(keys["X_ACCESS_TOKEN"]),
        access_token_secret=Secret(keys["X_ACCESS_TOKEN_SECRET"]),
    )
    for n, (section, item) in enumerate(((bearer_only, "post_read"), (with_keys, "post_read_owned"))):
        x.add_tweet(str(200 + n), f"@AcmeHelp still waiting #{n}", "2")
        before = dict(x.billed)
        [task] = wiring.sources(Settings(networks=settings_with(x=section)), ctx).tasks
        task.step()
        assert x.billed[item] == before[item] + 1
    assert x.oauth_refusals == []


def test_praise_edited_into_a_complaint_gets_a_card(ctx, x, mentions, drain):
    """Found by review: the edit kept the first version's kind, so the complaint had no card."""
    x.add_tweet("101", "@AcmeHelp love you guys, thanks!", "1")
    poller = mentions(ctx, x)
    poller.step()
    x.edit_tweet("101", "@AcmeHelp my order never arrived and nobody answers, this is a disgrace")
    poller.step()
    with ctx.sessions() as s:
        kinds = sorted(s.scalars(select(Complaint.kind)))
        cards = s.scalar(select(func.count()).select_from(Delivery).where(Delivery.kind == "post_card"))
    assert kinds == ["complaint", "praise"]
    assert cards == 1


def test_a_second_edit_of_a_post_first_seen_edited_updates_the_same_card(ctx, x, mentions, drain):
    """Found by review: the edit history's first id was never stored (edited before we polled), so a
    later edit looked only for it and filed a second complaint."""
    x.add_tweet("90", "@AcmeHelp hi", "3")
    poller = mentions(ctx, x)
    poller.step()
    x.add_tweet("101", "@AcmeHelp typo", "1")
    first = x.edit_tweet("101", "@AcmeHelp my refund never came")
    poller.step()  # only the edit is listed
    x.edit_tweet(first["id"], "@AcmeHelp my refund never came, order 5521")
    poller.step()
    with ctx.sessions() as s:
        texts = sorted(s.scalars(select(Complaint.text)))
    assert texts == ["@AcmeHelp hi", "@AcmeHelp my refund never came, order 5521"]


def test_a_retweet_of_the_brands_reply_does_not_amplify_the_complaint(ctx, x, mentions, drain):
    """Found by review: the brand's reply is stored with the complaint it answers, so its retweet
    counted as the customer's reach."""
    x.add_tweet("101", "@AcmeHelp my parcel never arrived", "1")
    poller = mentions(ctx, x)
    poller.step()
    x.add_tweet(
        "102", "@customer1 So sorry, refund sent", BRAND, conversation_id="101", replied_to="101", mentions=BRAND
    )
    poller.step()
    x.add_tweet("103", "RT @AcmeHelp: @customer1 So sorry, refund sent", "5", retweeted="102", mentions=BRAND)
    poller.step()
    with ctx.sessions() as s:
        c = s.scalars(select(Complaint)).one()
    assert (c.amplification_count, c.amplification_reach) == (0, 0)


def test_the_stream_counts_what_x_bills_with_the_posts_it_stores(ctx, x, drain):
    """Found by review: counting each stream message in a transaction of its own made the stream
    wait on the database (X drops slow readers). Counts are now written with the posts."""
    x.stream_plan = StreamPlan(per_connection=3, repeat=1)
    for i in range(5):
        x.queue_stream(x.add_tweet(str(300 + i), f"@AcmeHelp outage again #{i}", str(1 + i % 5)))
    stream = Drained(XStream(ctx, x.token, ("@AcmeHelp",), api_url=x.base_url), drain)
    for _ in range(3):
        stream.step()
    assert total(ctx, PostRow) == 5
    counted, pending = _counted(ctx), stream.unbilled  # a repeat dropped last waits for the next post stored
    assert {k: counted.get(k, 0) + pending.get(k, 0) for k in ("post_read", "user_read")} == {
        "post_read": x.billed["post_read"],
        "user_read": x.billed["user_read"],
    }
    assert x.billed["post_read"] >= 6  # repeats after a reconnect are billed, and counted, too
