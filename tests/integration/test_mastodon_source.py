"""The Mastodon source through the real Mastodon.py, against a local stand-in instance."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from mastodon import errors as m_errors
from sqlalchemy import Engine, func, select

from bot.common.clock import FakeClock
from bot.intake import state
from bot.intake.inbox import Inbox, InboxDrain
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.source import SourceContext
from bot.networks.mastodon.source import CREDENTIAL_RETRY_SECONDS, MastodonPoller, make_client
from bot.store.engine import make_sessionmaker
from bot.store.models import Complaint, Delivery, InboxItem
from bot.store.models import Post as PostRow
from bot.triage.classify import Triage
from tests.support.mastodon_api import MastodonStandIn, MastoFault
from tests.support.pipeline import Drained


@pytest.fixture(scope="module")
def triage() -> Triage:
    return Triage()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def masto(clock: FakeClock) -> Iterator[MastodonStandIn]:
    with MastodonStandIn() as stand_in:
        stand_in.now = lambda: clock.now().timestamp()
        stand_in.add_account("acmehelp", name="Acme Help", followers=40_000, brand=True)
        yield stand_in


@pytest.fixture
def ctx(migrated: Engine, clock: FakeClock) -> SourceContext:
    sessions = make_sessionmaker(migrated)
    return SourceContext(sessions, Inbox(sessions, clock), clock, "C0COMPLAIN")


@pytest.fixture
def drain(ctx: SourceContext, triage: Triage, masto: MastodonStandIn) -> InboxDrain:
    policy = IngestPolicy("C0COMPLAIN", None, frozenset({masto.brand_id}), frozenset({"acmehelp"}))
    return InboxDrain(ctx.sessions, Ingestor(triage, policy), ctx.clock)


@pytest.fixture
def poller(ctx, masto, drain):
    def make(token: str | None = None, **kwargs) -> Drained:
        client, last = make_client(masto.base_url, token or masto.token, timeout=5)
        poller = MastodonPoller(ctx, client, last, poll_seconds=60, instance_url="https://home.example", **kwargs)
        return Drained(poller, drain)

    return make


def total(ctx: SourceContext, model, *where) -> int:
    with ctx.sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def alerts(ctx: SourceContext) -> list[str]:
    with ctx.sessions() as s:
        return [p["text"] for p in s.scalars(select(Delivery.payload).where(Delivery.kind == "alert"))]


def test_mentions_become_complaints_as_plain_text_with_visibility_kept(ctx, masto, clock, poller):
    ann = masto.add_account("ann", name="Ann", followers=900, remote="mastodon.example")
    html = (
        '<p><span class="h-card"><a href="https://social.example/@acmehelp" class="u-url mention">@<span>acmehelp'
        "</span></a></span> my order &amp; refund are &lt;still&gt; missing<br />third week now</p>"
        '<p>see <a href="https://example.com/orders/12345"><span class="invisible">https://</span>'
        '<span class="ellipsis">example.com/orders/1</span><span class="invisible">2345</span></a></p>'
    )
    status_id = masto.add_status(ann, html, visibility="direct")
    poller().step()
    with ctx.sessions() as s:
        c = s.scalars(select(Complaint)).one()
        [raw] = s.scalars(select(InboxItem.record)).all() or [None]
    assert c.text == (
        "@acmehelp my order & refund are <still> missing\nthird week now\n\nsee https://example.com/orders/12345"
    )
    assert (c.source, c.external_id, c.author_handle, c.author_followers) == (
        "mastodon",
        status_id,
        "ann@mastodon.example",
        900,
    )
    assert c.url == f"https://home.example/@ann@mastodon.example/{status_id}"  # the brand's instance's copy
    assert raw is None  # ingested: the inbox row is gone
    notes = masto.calls("/api/v1/notifications")
    assert notes[0]["types[]"] == ["mention", "reblog", "quote"]
    assert state.read_cursor(ctx.sessions, "mastodon:notifications") == masto.state.notifications[-1]["id"]


def test_visibility_is_on_the_stored_record(ctx, masto, drain):
    ann = masto.add_account("ann", followers=5)
    masto.add_status(ann, "<p>@acmehelp private complaint about my bill</p>", visibility="private")
    client, last = make_client(masto.base_url, masto.token, timeout=5)
    MastodonPoller(ctx, client, last).step()  # not drained: look at the raw record
    with ctx.sessions() as s:
        [record] = s.scalars(select(InboxItem.record)).all()
    assert record["visibility"] == "private"


def test_since_id_paging_replies_attach_to_the_root_and_visible_boosts_amplify(ctx, masto, clock, poller, drain):
    ann = masto.add_account("ann", followers=100)
    bob = masto.add_account("bob", followers=250)
    first = masto.add_status(ann, "<p>@acmehelp my parcel never arrived, nobody answers</p>")
    source = poller()
    source.step()
    reply = masto.add_status(masto.brand_id, "<p>@ann so sorry, DM us</p>", reply_to=first, notify=False)
    for i in range(45):
        clock.advance(seconds=1)
        masto.add_status(bob, f"<p>@acmehelp refund {i} still missing</p>")
    masto.add_status(ann, "<p>@acmehelp done, still nothing</p>", reply_to=reply)
    masto.add_boost(bob, reply)  # the brand's public reply boosted: amplification of the brand's post
    private = masto.add_status(masto.brand_id, "<p>followers only</p>", visibility="private", notify=False)
    masto.add_boost(bob, private)  # cannot be seen by others: ignored
    masto.add_favourite(bob, first)
    source.source.step()  # read, not yet ingested
    with ctx.sessions() as s:
        records = [r for r in s.scalars(select(InboxItem.record).order_by(InboxItem.id))]
    boosts = [r for r in records if r.get("retweet_of")]
    assert [(b["retweet_of"], b["followers"]) for b in boosts] == [(reply, 250)]
    since = [q.get("since_id") for q in masto.calls("/api/v1/notifications")]
    assert since[0] is None
    assert all(s == since[1] for s in since[1:])
    assert len(since) >= 3
    drain.drain()
    with ctx.sessions() as s:
        c = s.scalars(select(Complaint).where(Complaint.external_id == first)).one()
        assert c.reply_count == 1  # the reply to the brand's reply joined the thread's root
    assert total(ctx, PostRow, PostRow.author_handle == "bob", PostRow.text.like("@acmehelp refund%")) == 45


def test_a_repeated_page_and_a_dropped_connection_double_nothing(ctx, masto, clock, poller):
    ann = masto.add_account("ann", followers=100)
    masto.add_status(ann, "<p>@acmehelp first</p>")
    source = poller()
    source.step()
    for i in range(50):
        clock.advance(seconds=1)
        masto.add_status(ann, f"<p>@acmehelp order {i} broken</p>")
    masto.inject(MastoFault(0, path="/api/v1/notifications"))
    with pytest.raises(m_errors.MastodonNetworkError):
        source.step()
    masto.repeat_next_page = True
    source.step()
    source.step()
    assert total(ctx, PostRow) == 51


def test_rate_limit_waits_until_the_reset_time_and_loses_nothing(ctx, masto, poller):
    ann = masto.add_account("ann", followers=100)
    masto.add_status(ann, "<p>@acmehelp still waiting</p>")
    masto.inject(MastoFault(429, path="/api/v1/notifications", reset_in=42))
    source = poller()
    assert source.step() == pytest.approx(43, abs=1)
    assert total(ctx, PostRow) == 0
    assert source.step() == 60
    assert total(ctx, PostRow) == 1


def test_server_errors_raise_to_the_worker_backoff_with_the_cursor_unmoved(ctx, masto, poller):
    ann = masto.add_account("ann", followers=100)
    masto.add_status(ann, "<p>@acmehelp still waiting</p>")
    masto.inject(MastoFault(503, path="/api/v1/notifications"))
    source = poller()
    with pytest.raises(m_errors.MastodonServerError):
        source.step()
    assert state.read_cursor(ctx.sessions, "mastodon:notifications") is None
    source.step()
    assert total(ctx, PostRow) == 1


def test_a_refused_token_alerts_once_and_recovers(ctx, masto, poller, caplog):
    with caplog.at_level(logging.WARNING):
        assert poller(token="revoked").step() == CREDENTIAL_RETRY_SECONDS
        assert poller(token="revoked").step() == CREDENTIAL_RETRY_SECONDS
    [alert] = alerts(ctx)
    assert "MASTODON_ACCESS_TOKEN" in alert
    assert "HTTP 401" in alert
    assert "revoked" not in caplog.text.replace("was revoked", "")
    ann = masto.add_account("ann", followers=100)
    masto.add_status(ann, "<p>@acmehelp hello?</p>")
    poller().step()
    assert total(ctx, PostRow) == 1
    poller(token="revoked-again").step()
    assert len(alerts(ctx)) == 2


def test_mentions_the_notification_policy_filters_are_read_too(ctx, masto, clock, poller):
    """Mastodon 4.3 can file mentions from strangers, new accounts and private mentions away as
    "filtered" (listed only with include_filtered=true, or under notification requests): a
    first-time complainer used to vanish. Dropped ones never exist; `check` says so (below)."""
    masto.state.policy.update(for_not_following="filter", for_private_mentions="filter")
    known = masto.add_account("regular", name="Regular", followers=50)
    masto.state.following.add(known)
    stranger = masto.add_account("newbie", name="First Timer", followers=3)
    masto.add_status(known, "<p>@acmehelp my router is dead again</p>")
    hidden = masto.add_status(
        stranger, "<p>@acmehelp first time here and my refund never came</p>", visibility="direct"
    )
    assert [n.get("filtered") for n in masto.state.notifications] == [False, True]
    poller().step()
    with ctx.sessions() as s:
        ids = set(s.scalars(select(Complaint.external_id)))
    assert hidden in ids
    assert len(ids) == 2
    assert masto.calls("/api/v1/notifications")[0]["include_filtered"] == "true"


MENTION = (
    '<p><span class="h-card"><a href="https://social.example/@acmehelp" class="u-url mention">'
    "@<span>acmehelp</span></a></span></p>"
)


def test_a_post_that_is_only_a_picture_keeps_its_description(ctx, masto, poller):
    """A mention whose words are in the picture's alt text: it used to be stored as "@acmehelp"."""
    bo = masto.add_account("bo")
    masto.add_status(bo, MENTION, media=[("image", "Screenshot: your app says ERROR 500 at checkout, card charged")])
    masto.add_status(
        bo, MENTION + "<p>and this</p>", media=[("video", None), ("image", "  receipt  showing\nthe charge ")]
    )
    poller().step()
    with ctx.sessions() as s:
        texts = sorted(s.scalars(select(Complaint.text)))
    assert texts == [
        "@acmehelp\n\n[image: Screenshot: your app says ERROR 500 at checkout, card charged]",
        "@acmehelp\n\nand this\n\n[video]\n[image: receipt showing the charge]",
    ]


def test_a_quote_of_the_brands_post_is_read_as_a_mention(ctx, masto, poller):
    """Mastodon 4.5 notifies a quote as ``quote``, not ``mention``: asking only mentions and boosts
    missed "quoting your outage notice: still down here"."""
    brand_post = masto.add_status(masto.brand_id, "<p>All systems are back to normal.</p>", notify=False)
    cy = masto.add_account("cy", followers=300)
    masto.add_status(cy, "<p>No they are not, I still cannot log in, third day now</p>", quote_of=brand_post)
    poller().step()
    asked = masto.calls("/api/v1/notifications")[-1]
    assert "quote" in asked["types[]"]
    with ctx.sessions() as s:
        [c] = s.scalars(select(Complaint)).all()
    assert (c.author_handle, c.text) == ("cy", "No they are not, I still cannot log in, third day now")
