"""Replies to customers on Bluesky and Mastodon, through the delivery worker, against the stand-ins.

Each reply is a stored delivery row sent by the real worker; the faults that matter are the ones
that tempt a double post: a lost answer (the network did it, we never heard), then a retry.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from bot import outbox
from bot.common.clock import FakeClock
from bot.delivery.worker import Deliverer
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.posts import Post
from bot.networks.bluesky.client import BlueskySession
from bot.networks.bluesky.reply import BlueskyTransport, graphemes, reply_rkey, too_long
from bot.networks.mastodon.reply import MastodonTransport, counted_length
from bot.networks.mastodon.source import make_client
from bot.outbox.kinds import DeliveryKind
from bot.store.engine import make_sessionmaker
from bot.store.models import Complaint, Delivery
from bot.triage.classify import Triage
from tests.support.bluesky_api import BlueskyStandIn, BskyFault
from tests.support.mastodon_api import MastodonStandIn, MastoFault

BRAND = "did:plc:acmebrandacmebrandacmebr"
ANN = "did:plc:annannannannannannannanna"
PASSWORD = "abcd-efgh-ijkl-mnop"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def sessions(migrated: Engine):
    return make_sessionmaker(migrated)


def store(
    sessions,
    clock: FakeClock,
    source: str,
    post_id: str,
    *,
    conversation: str | None = None,
    author: tuple[str, str] = ("a1", "ann"),
) -> int:
    post = Post(
        source=source,
        id=post_id,
        text="@acme my parcel never arrived and nobody answers",
        author_id=author[0],
        author_handle=author[1],
        created_at=clock.now(),
        conversation_id=conversation or post_id,
        lang="en",
    )
    Ingestor(Triage(), IngestPolicy("C0COMPLAIN")).ingest_batch(sessions, [post], at=clock.now())
    with sessions() as s:
        return s.scalars(select(Complaint.id).where(Complaint.external_id == post_id)).one()


def request_reply(sessions, clock: FakeClock, complaint_id: int, source: str, text: str, n: int = 1) -> None:
    with sessions() as s, s.begin():
        outbox.enqueue(
            s,
            DeliveryKind.REPLY,
            key=f"reply:{complaint_id}:{n}",
            at=clock.now(),
            channel=source,
            complaint_id=complaint_id,
            payload={"text": text, "by": "U0ALICE01"},
        )


def run(deliverer: Deliverer, clock: FakeClock, rounds: int = 20) -> None:
    """Deliver, moving the clock past each retry's wait, until nothing is pending."""
    for _ in range(rounds):
        deliverer.drain()
        wait = deliverer.next_due_in()
        if wait is None:
            return
        clock.advance(seconds=wait + 1)


def rows(sessions) -> list[Delivery]:
    with sessions() as s:
        return list(s.scalars(select(Delivery).where(Delivery.kind == DeliveryKind.REPLY.value)))


# -- Bluesky ---------------------------------------------------------------------------------------
@pytest.fixture
def bsky(clock: FakeClock) -> Iterator[BlueskyStandIn]:
    with BlueskyStandIn() as stand_in:
        stand_in.now = lambda: clock.now().timestamp()
        stand_in.add_account(BRAND, "acme.bsky.social", password=PASSWORD)
        stand_in.add_account(ANN, "ann.bsky.social")
        yield stand_in


@pytest.fixture
def bsky_deliverer(bsky, sessions, clock) -> Deliverer:
    session = BlueskySession("acme.bsky.social", PASSWORD, service_url=bsky.base_url, clock=clock, timeout=5)
    return Deliverer(sessions, clock, [BlueskyTransport(session, clock)], post_rate=math.inf)


def _id(uri: str) -> str:
    did, _, rkey = uri[5:].partition("/app.bsky.feed.post/")
    return f"{did}/{rkey}"


def test_a_bluesky_reply_carries_root_and_parent_refs(bsky, sessions, clock, bsky_deliverer):
    root = bsky.add_post(ANN, "@acme.bsky.social my parcel never arrived")
    brand = bsky.add_post(BRAND, "Sorry! Which order?", reply_to=root, notify=None)
    parent = bsky.add_post(ANN, "order 12345, still nothing", reply_to=brand)
    complaint = store(sessions, clock, "bluesky", _id(parent), conversation=_id(root))
    request_reply(sessions, clock, complaint, "bluesky", "We have re-sent it today 📦 — tracking by DM.")
    run(bsky_deliverer, clock)
    [made] = bsky.state.created
    reply = made["record"]["reply"]
    assert (reply["parent"]["uri"], reply["parent"]["cid"]) == (parent, bsky.state.records[parent]["cid"])
    assert (reply["root"]["uri"], reply["root"]["cid"]) == (root, bsky.state.records[root]["cid"])
    assert made["record"]["text"] == "We have re-sent it today 📦 — tracking by DM."
    assert made["record"]["$type"] == "app.bsky.feed.post"
    [row] = rows(sessions)
    assert row.status == "sent"
    assert row.remote_id == _id(made["uri"])


def test_a_lost_answer_then_a_retry_posts_the_bluesky_reply_once(bsky, sessions, clock, bsky_deliverer):
    post = bsky.add_post(ANN, "@acme.bsky.social refund please")
    complaint = store(sessions, clock, "bluesky", _id(post))
    request_reply(sessions, clock, complaint, "bluesky", "Refund sent, 3-5 days.")
    bsky.inject(BskyFault(200, nsid="com.atproto.repo.createRecord", lost=True))
    run(bsky_deliverer, clock)
    assert len(bsky.state.created) == 1
    assert len(bsky.posts_by(BRAND)) == 1
    [row] = rows(sessions)
    assert (row.status, row.attempts) == ("sent", 2)


def test_a_bluesky_retry_that_posts_anyway_is_refused_and_counted_as_sent(bsky, sessions, clock):
    """A second worker whose look-up raced the first: the PDS refuses the taken key; still one post."""
    post = bsky.add_post(ANN, "@acme.bsky.social refund please")
    complaint = store(sessions, clock, "bluesky", _id(post))
    request_reply(sessions, clock, complaint, "bluesky", "Refund sent.")
    session = BlueskySession("acme.bsky.social", PASSWORD, service_url=bsky.base_url, clock=clock, timeout=5)
    transport = BlueskyTransport(session, clock)
    [row] = rows(sessions)
    first = transport.send(row, _complaint(sessions, complaint), None)
    second = transport.send(row, _complaint(sessions, complaint), None)  # attempts still 0: no look-up first
    assert first == second
    assert len(bsky.posts_by(BRAND)) == 1
    assert len(bsky.calls("com.atproto.repo.createRecord")) == 2


def test_a_bluesky_reply_links_its_mentions_and_links_with_facets(bsky, sessions, clock, bsky_deliverer):
    """Without facets "@ann.bsky.social" is plain text: Ann is not notified and the link is dead text.
    The customer's DID is known; another handle is resolved; an unknown one stays plain."""
    bsky.add_account("did:plc:carolcarolcarolcarolcaro", "carol.example.com")
    post = bsky.add_post(ANN, "@acme.bsky.social refund please")
    complaint = store(sessions, clock, "bluesky", _id(post), author=(ANN, "ann.bsky.social"))
    text = (
        "@ann.bsky.social sorry — @carol.example.com will call. Status: https://status.acme.example/x (@ghost.example)"
    )
    request_reply(sessions, clock, complaint, "bluesky", text)
    run(bsky_deliverer, clock)
    [made] = bsky.state.created
    data = made["record"]["text"].encode()
    shown = {
        data[f["index"]["byteStart"] : f["index"]["byteEnd"]].decode(): f["features"][0]
        for f in made["record"]["facets"]
    }
    assert shown == {
        "@ann.bsky.social": {"$type": "app.bsky.richtext.facet#mention", "did": ANN},
        "@carol.example.com": {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:carolcarolcarolcarolcaro"},
        "https://status.acme.example/x": {
            "$type": "app.bsky.richtext.facet#link",
            "uri": "https://status.acme.example/x",
        },
    }
    assert len(bsky.calls("com.atproto.identity.resolveHandle")) == 2  # carol and ghost; Ann is known


def test_a_bluesky_post_whose_author_closed_replies_is_not_answered_into_the_void(
    bsky, sessions, clock, bsky_deliverer
):
    """``viewer.replyDisabled``: the PDS would take the reply, the AppView would hide it and notify
    nobody — the row is undeliverable, saying why, and nothing is posted."""
    post = bsky.add_post(ANN, "@acme.bsky.social your service is a joke", reply_disabled=True)
    complaint = store(sessions, clock, "bluesky", _id(post), author=(ANN, "ann.bsky.social"))
    request_reply(sessions, clock, complaint, "bluesky", "Sorry Ann, we will look into it today.")
    run(bsky_deliverer, clock)
    [row] = rows(sessions)
    assert row.status == "dead"
    assert "limited who can reply" in (row.last_error or "")
    assert bsky.state.created == []
    assert bsky.state.hidden_replies == []


def _complaint(sessions, complaint_id: int) -> Complaint:
    with sessions() as s:
        c = s.get(Complaint, complaint_id)
        s.expunge(c)
        return c


def test_bluesky_length_is_counted_in_graphemes_and_an_overlong_reply_is_refused(bsky, sessions, clock, bsky_deliverer):
    family = "👩‍👩‍👧‍👦"
    assert graphemes(family * 300) == 300
    assert too_long(family * 300) is not None
    assert too_long("é" * 300) is None
    assert too_long("e\u0301" * 300) is None
    assert too_long("a" * 301) == "the reply is 301 characters; Bluesky allows 300"
    post = bsky.add_post(ANN, "@acme.bsky.social hello")
    complaint = store(sessions, clock, "bluesky", _id(post))
    request_reply(sessions, clock, complaint, "bluesky", "a" * 301)
    run(bsky_deliverer, clock)
    [row] = rows(sessions)
    assert row.status == "dead"
    assert "301 characters" in row.last_error
    assert bsky.state.created == []


def test_bluesky_reply_keys_are_valid_tids_stable_per_row_and_distinct_between_rows(sessions, clock):
    from atproto_client.models.string_formats import TID_RE

    with sessions() as s, s.begin():
        for n in (1, 2):
            outbox.enqueue(s, DeliveryKind.REPLY, key=f"reply:1:{n}", at=clock.now(), channel="bluesky")
    a, b = rows(sessions)
    assert reply_rkey(a) == reply_rkey(a)
    assert reply_rkey(a) != reply_rkey(b)
    assert all(TID_RE.match(reply_rkey(r)) for r in (a, b))


def test_a_bluesky_reply_survives_an_expired_token_and_a_rate_limit(bsky, sessions, clock, bsky_deliverer):
    post = bsky.add_post(ANN, "@acme.bsky.social refund please")
    complaint = store(sessions, clock, "bluesky", _id(post))
    request_reply(sessions, clock, complaint, "bluesky", "Refund sent.")
    assert bsky_deliverer.transports["bluesky"].session.did == BRAND  # logged in
    bsky.expire_tokens()
    bsky.inject(BskyFault(429, nsid="com.atproto.repo.createRecord", reset_in=120))
    run(bsky_deliverer, clock)
    assert len(bsky.posts_by(BRAND)) == 1
    assert len(bsky.calls("com.atproto.server.createSession")) == 1
    [row] = rows(sessions)
    assert row.status == "sent"


# -- Mastodon --------------------------------------------------------------------------------------
@pytest.fixture
def masto(clock: FakeClock) -> Iterator[MastodonStandIn]:
    with MastodonStandIn(max_characters=500) as stand_in:
        stand_in.now = lambda: clock.now().timestamp()
        stand_in.add_account("acmehelp", brand=True)
        yield stand_in


@pytest.fixture
def masto_deliverer(masto, sessions, clock) -> Deliverer:
    client, last = make_client(masto.base_url, masto.token, timeout=5)
    return Deliverer(sessions, clock, [MastodonTransport(client, last, clock)], post_rate=math.inf)


@pytest.mark.parametrize("visibility", ["direct", "private", "unlisted", "public"])
def test_a_mastodon_reply_keeps_the_mentions_visibility_and_mentions_the_author(
    masto, sessions, clock, masto_deliverer, visibility
):
    ann = masto.add_account("ann", remote="mastodon.example")
    status = masto.add_status(ann, "<p>@acmehelp my bill is wrong</p>", visibility=visibility)
    complaint = store(sessions, clock, "mastodon", status)
    request_reply(sessions, clock, complaint, "mastodon", "Fixed, sorry about that.")
    run(masto_deliverer, clock)
    [reply] = masto.statuses_by(masto.brand_id)
    assert reply["visibility"] == visibility
    assert reply["in_reply_to_id"] == status
    assert reply["text_sent"] == "@ann@mastodon.example Fixed, sorry about that."
    [row] = rows(sessions)
    assert row.status == "sent"
    assert row.remote_id == reply["id"]


def test_a_lost_answer_then_a_retry_posts_the_mastodon_reply_once(masto, sessions, clock, masto_deliverer):
    ann = masto.add_account("ann")
    status = masto.add_status(ann, "<p>@acmehelp refund?</p>", visibility="direct")
    complaint = store(sessions, clock, "mastodon", status)
    request_reply(sessions, clock, complaint, "mastodon", "Refund sent.")
    masto.inject(MastoFault(200, path="/api/v1/statuses", method="POST", lost=True))
    run(masto_deliverer, clock)
    assert len(masto.statuses_by(masto.brand_id)) == 1
    [row] = rows(sessions)
    assert (row.status, row.attempts) == ("sent", 2)


def test_the_idempotency_key_alone_stops_a_double_post(masto, sessions, clock):
    ann = masto.add_account("ann")
    status = masto.add_status(ann, "<p>@acmehelp refund?</p>")
    complaint = store(sessions, clock, "mastodon", status)
    request_reply(sessions, clock, complaint, "mastodon", "Refund sent.")
    client, last = make_client(masto.base_url, masto.token, timeout=5)
    transport = MastodonTransport(client, last, clock)
    [row] = rows(sessions)
    assert transport.send(row, _complaint(sessions, complaint), None) == transport.send(
        row, _complaint(sessions, complaint), None
    )
    assert len(masto.calls("/api/v1/statuses", "POST")) == 2
    assert len(masto.statuses_by(masto.brand_id)) == 1


def test_the_instance_limit_is_read_and_counted_the_mastodon_way(masto, sessions, clock, masto_deliverer):
    masto.max_characters = 60
    ann = masto.add_account("ann", remote="mastodon.example")
    first = masto.add_status(ann, "<p>@acmehelp hi</p>")
    second = masto.add_status(ann, "<p>@acmehelp hi again</p>")
    url = "https://example.com/" + "a" * 200
    ok = f"See {url} now"  # 4 + 23 + 4 = 31, plus "@ann " counted without the domain
    assert counted_length(f"@ann@mastodon.example {ok}") == 5 + 31
    c1, c2 = store(sessions, clock, "mastodon", first), store(sessions, clock, "mastodon", second)
    request_reply(sessions, clock, c1, "mastodon", ok)
    request_reply(sessions, clock, c2, "mastodon", "x" * 60)
    run(masto_deliverer, clock)
    by_complaint = {r.complaint_id: r for r in rows(sessions)}
    assert by_complaint[c1].status == "sent"
    assert by_complaint[c2].status == "dead"
    assert "allows 60" in by_complaint[c2].last_error
    assert len(masto.statuses_by(masto.brand_id)) == 1
    assert len(masto.calls("/api/v2/instance")) == 1


def test_mastodon_counts_grapheme_clusters_as_the_server_does(masto, sessions, clock, masto_deliverer):
    """StatusLengthValidator counts ``each_grapheme_cluster``: a family emoji is one character, not
    five code points. Counting code points refused a reply the server would take."""
    masto.max_characters = 60
    ann = masto.add_account("ann")
    fits, over = masto.add_status(ann, "<p>@acmehelp hi</p>"), masto.add_status(ann, "<p>@acmehelp hi again</p>")
    family = "\U0001f469\u200d\U0001f469\u200d\U0001f467"  # 👩‍👩‍👧: 5 code points, 1 grapheme
    assert counted_length("@ann " + family * 55) == 60
    assert MastodonStandIn.counted_length("@ann " + family * 56) == 61
    c1, c2 = store(sessions, clock, "mastodon", fits), store(sessions, clock, "mastodon", over)
    request_reply(sessions, clock, c1, "mastodon", family * 55)
    request_reply(sessions, clock, c2, "mastodon", family * 56)
    run(masto_deliverer, clock)
    by_complaint = {r.complaint_id: r for r in rows(sessions)}
    assert by_complaint[c1].status == "sent"
    assert by_complaint[c2].status == "dead"
    assert "61 characters" in by_complaint[c2].last_error


def test_a_mastodon_idempotency_key_is_kept_an_hour_and_the_thread_covers_later(masto, sessions, clock):
    """Mastodon keeps an Idempotency-Key for an hour: a retry later than that posts again unless the
    transport finds its reply in the thread first (it does)."""
    ann = masto.add_account("ann")
    status = masto.add_status(ann, "<p>@acmehelp refund?</p>")
    complaint = store(sessions, clock, "mastodon", status)
    request_reply(sessions, clock, complaint, "mastodon", "Refund sent.")
    client, last = make_client(masto.base_url, masto.token, timeout=5)
    transport = MastodonTransport(client, last, clock)
    [row] = rows(sessions)
    first = transport.send(row, _complaint(sessions, complaint), None)
    clock.advance(hours=2)
    row.attempts, row.first_attempt_at = 2, clock.now() - timedelta(hours=2)
    assert transport.send(row, _complaint(sessions, complaint), None) == first
    assert len(masto.statuses_by(masto.brand_id)) == 1


def test_mastodon_faults_retry_and_a_deleted_status_is_undeliverable(masto, sessions, clock, masto_deliverer):
    ann = masto.add_account("ann")
    kept = masto.add_status(ann, "<p>@acmehelp refund?</p>")
    gone = masto.add_status(ann, "<p>@acmehelp other</p>")
    c1, c2 = store(sessions, clock, "mastodon", kept), store(sessions, clock, "mastodon", gone)
    masto.state.statuses[gone]["deleted"] = True
    masto.inject(MastoFault(429, path="/api/v1/statuses", method="POST", reset_in=90))
    masto.inject(MastoFault(503, path="/api/v1/statuses", method="POST"))
    masto.inject(MastoFault(0, path="/api/v1/statuses", method="POST"))
    request_reply(sessions, clock, c1, "mastodon", "Refund sent.")
    request_reply(sessions, clock, c2, "mastodon", "Hello?")
    run(masto_deliverer, clock)
    by_complaint = {r.complaint_id: r for r in rows(sessions)}
    assert by_complaint[c1].status == "sent"
    assert by_complaint[c2].status == "dead"
    assert "gone" in by_complaint[c2].last_error
    assert len(masto.statuses_by(masto.brand_id)) == 1
