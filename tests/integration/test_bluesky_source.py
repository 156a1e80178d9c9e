"""The Bluesky source through the real atproto SDK, against a local XRPC stand-in."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime

import httpx
import pytest
from atproto_client import exceptions as at_errors
from sqlalchemy import Engine, func, select

from bot.common.clock import FakeClock
from bot.intake import state
from bot.intake.inbox import Inbox, InboxDrain
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.source import SourceContext
from bot.networks.bluesky.client import BlueskySession
from bot.networks.bluesky.source import CREDENTIAL_RETRY_SECONDS, BlueskyPoller
from bot.store.engine import make_sessionmaker
from bot.store.models import Complaint, Delivery
from bot.store.models import Post as PostRow
from bot.triage.classify import Triage
from tests.support.bluesky_api import BlueskyStandIn, BskyFault
from tests.support.pipeline import Drained

BRAND = "did:plc:acmebrandacmebrandacmebr"
HANDLE = "acme.bsky.social"
PASSWORD = "abcd-efgh-ijkl-mnop"
ANN = "did:plc:annannannannannannannanna"
BOB = "did:plc:bobbobbobbobbobbobbobbobb"


@pytest.fixture(scope="module")
def triage() -> Triage:
    return Triage()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def bsky(clock: FakeClock) -> Iterator[BlueskyStandIn]:
    with BlueskyStandIn() as stand_in:
        stand_in.now = lambda: clock.now().timestamp()
        stand_in.add_account(BRAND, HANDLE, name="Acme Help", followers=50_000, password=PASSWORD)
        stand_in.add_account(ANN, "ann.bsky.social", name="Ann Example", followers=1200)
        stand_in.add_account(BOB, "bob.example.com", followers=300)
        yield stand_in


@pytest.fixture
def ctx(migrated: Engine, clock: FakeClock) -> SourceContext:
    sessions = make_sessionmaker(migrated)
    return SourceContext(sessions, Inbox(sessions, clock), clock, "C0COMPLAIN")


@pytest.fixture
def drain(ctx: SourceContext, triage: Triage) -> InboxDrain:
    policy = IngestPolicy("C0COMPLAIN", None, frozenset({BRAND}), frozenset({HANDLE}))
    return InboxDrain(ctx.sessions, Ingestor(triage, policy), ctx.clock)


@pytest.fixture
def poller(ctx, bsky, drain):
    def make(password: str = PASSWORD, **kwargs) -> Drained:
        session = BlueskySession(HANDLE, password, service_url=bsky.base_url, clock=ctx.clock, timeout=5)
        return Drained(BlueskyPoller(ctx, session, poll_seconds=60, **kwargs), drain)

    return make


def total(ctx: SourceContext, model, *where) -> int:
    with ctx.sessions() as s:
        return s.scalar(select(func.count()).select_from(model).where(*where))


def alerts(ctx: SourceContext) -> list[str]:
    with ctx.sessions() as s:
        return [p["text"] for p in s.scalars(select(Delivery.payload).where(Delivery.kind == "alert"))]


def test_mentions_become_complaints_with_profile_url_and_a_durable_cursor(ctx, bsky, clock, poller):
    uri = bsky.add_post(ANN, "@acme.bsky.social my parcel never arrived and nobody answers", langs=["en"])
    source = poller()
    assert source.step() == 60
    with ctx.sessions() as s:
        c = s.scalars(select(Complaint)).one()
    rkey = uri.rsplit("/", 1)[1]
    assert c.source == "bluesky"
    assert c.external_id == f"{ANN}/{rkey}"
    assert c.url == f"https://bsky.app/profile/ann.bsky.social/post/{rkey}"
    assert (c.author_handle, c.author_name, c.author_followers) == ("ann.bsky.social", "Ann Example", 1200)
    assert c.conversation_id == c.external_id
    assert c.lang == "en"
    assert state.read_cursor(ctx.sessions, "bluesky:notifications") == f"2026-03-02T09:00:00+00:00|{uri}"

    clock.advance(minutes=5)
    bsky.add_post(BOB, "@acme.bsky.social refund still missing, third week", created_at="2026-03-02T09:04:00Z")
    restarted = poller()  # a new process: only the stored cursor
    restarted.step()
    restarted.step()
    assert total(ctx, Complaint) == 2
    assert total(ctx, PostRow) == 2
    assert bsky.calls("com.atproto.server.createSession")
    assert len(bsky.calls("com.atproto.server.createSession")) == 2


def test_replies_attach_to_the_thread_root_reposts_amplify_and_likes_are_ignored(ctx, bsky, clock, poller):
    complaint = bsky.add_post(ANN, "@acme.bsky.social the app deletes my photos, furious")
    source = poller()
    source.step()
    clock.advance(minutes=1)
    brand_reply = bsky.add_post(BRAND, "So sorry Ann, we are on it", reply_to=complaint, notify=None)
    clock.advance(minutes=1)
    bsky.add_post(ANN, "still broken after the update", reply_to=brand_reply, notify="reply")
    bsky.add_repost(BOB, complaint)  # the stand-in notifies the brand for the demo; the reason is what counts
    bsky.add_like(BOB, complaint)
    source.step()
    with ctx.sessions() as s:
        c = s.scalars(select(Complaint)).one()
        roles = sorted(s.scalars(select(PostRow.role)).all())
    assert (c.reply_count, c.amplification_count, c.amplification_reach) == (1, 1, 300)
    assert roles == ["original", "reply", "retweet"]


def test_first_run_reads_one_page_then_follows_pages_back_to_the_cursor(ctx, bsky, clock, poller):
    for i in range(70):
        clock.advance(seconds=1)
        bsky.add_post(ANN if i % 2 else BOB, f"@acme.bsky.social order {i} never arrived")
    source = poller(page_size=50)
    source.step()
    assert total(ctx, PostRow) == 50  # the newest page only, not the account's history
    for i in range(120):
        clock.advance(seconds=1)
        bsky.add_post(ANN, f"@acme.bsky.social still waiting on refund {i}")
    source.step()
    assert total(ctx, PostRow) == 170
    cursors = [q.get("cursor") for q in bsky.calls("app.bsky.notification.listNotifications")]
    assert cursors[:2] == [None, None]
    assert len(cursors) == 4  # pages of 50 back to the stored cursor, each behind the page before
    assert cursors[2] > cursors[3]  # timestamp cursors, as the AppView's, newest first


def test_a_mention_behind_two_thousand_likes_is_read_not_skipped(ctx, bsky, clock, poller):
    """The AppView reads a page, then filters it by ``reasons`` (refilling at most ten times): behind
    a burst of likes it answers ``notifications: []`` with a cursor while the mention is still
    there. The poll used to stop at the empty page and move its cursor past the mention."""
    source = poller(page_size=50)
    bsky.add_post(ANN, "@acme.bsky.social first post, hello")
    source.step()
    clock.advance(seconds=1)
    mention = bsky.add_post(BOB, "@acme.bsky.social my order never arrived and nobody answers")
    target = bsky.add_post(BRAND, "Our new product is out!", notify=None)
    for _ in range(2000):
        clock.advance(milliseconds=10)
        bsky.add_like(ANN, target)
    source.step()
    pages = bsky.calls("app.bsky.notification.listNotifications")
    assert bsky.empty_pages  # the AppView's empty page with a cursor did happen
    with ctx.sessions() as s:
        stored = s.scalars(select(PostRow.external_id)).all()
    assert mention.split("/")[2] + "/" + mention.rsplit("/", 1)[1] in stored
    assert len(pages) >= 4
    assert alerts(ctx) == []


def test_priority_notifications_on_the_brand_account_hide_no_customer(ctx, bsky, clock, poller):
    """With "priority notifications" on, the AppView lists only accounts the brand follows unless
    asked ``priority=false``: a customer it does not follow would never reach the desk."""
    bsky.state.priority_notifications = True
    bsky.state.follows = {ANN}
    bsky.add_post(BOB, "@acme.bsky.social refund missing for a month, a stranger to you")
    poller().step()
    assert total(ctx, Complaint) == 1
    assert all(q.get("priority") == "false" for q in bsky.calls("app.bsky.notification.listNotifications"))


def test_a_repeated_page_after_a_reconnect_doubles_nothing(ctx, bsky, clock, poller):
    for i in range(60):
        clock.advance(seconds=1)
        bsky.add_post(ANN, f"@acme.bsky.social broken order {i}")
    source = poller(page_size=25)
    source.step()
    for i in range(40):
        clock.advance(seconds=1)
        bsky.add_post(BOB, f"@acme.bsky.social refund {i} missing")
    bsky.inject(BskyFault(0, nsid="app.bsky.notification.listNotifications"))
    with pytest.raises((at_errors.NetworkError, httpx.TransportError)):
        source.step()  # dropped: the worker's back-off retries; nothing stored, cursor unmoved
    bsky.repeat_next_page = True  # the server answers the first page of the new connection twice
    source.step()
    source.step()
    assert total(ctx, PostRow) == 25 + 40
    assert total(ctx, Complaint) == 25 + 40


def test_rate_limit_waits_until_ratelimit_reset_and_loses_nothing(ctx, bsky, poller):
    bsky.add_post(ANN, "@acme.bsky.social still waiting for my refund")
    bsky.inject(BskyFault(429, nsid="app.bsky.notification.listNotifications", reset_in=42))
    source = poller()
    assert source.step() == pytest.approx(43, abs=1)
    assert total(ctx, PostRow) == 0
    assert source.step() == 60
    assert total(ctx, PostRow) == 1


def test_server_errors_raise_to_the_worker_backoff_with_the_cursor_unmoved(ctx, bsky, poller):
    bsky.add_post(ANN, "@acme.bsky.social still waiting for my refund")
    bsky.inject(BskyFault(502, nsid="app.bsky.actor.getProfiles"))
    bsky.inject(BskyFault(500, nsid="app.bsky.notification.listNotifications"))
    source = poller()
    with pytest.raises(at_errors.AtProtocolError):
        source.step()
    with pytest.raises(at_errors.AtProtocolError):
        source.step()
    assert state.read_cursor(ctx.sessions, "bluesky:notifications") is None
    source.step()
    assert total(ctx, PostRow) == 1


def test_an_expired_access_token_is_refreshed_without_logging_in_again(ctx, bsky, clock, poller):
    source = poller()
    source.step()
    bsky.expire_tokens()  # the server says ExpiredToken before our clock does
    bsky.add_post(ANN, "@acme.bsky.social my card was charged twice")
    source.step()
    clock.advance(hours=3)  # past the token's exp: the SDK refreshes by our clock
    bsky.add_post(BOB, "@acme.bsky.social refund please")
    source.step()
    assert total(ctx, PostRow) == 2
    assert len(bsky.calls("com.atproto.server.createSession")) == 1
    assert len(bsky.calls("com.atproto.server.refreshSession")) == 2
    assert alerts(ctx) == []


def test_a_revoked_app_password_alerts_once_and_recovers(ctx, bsky, clock, poller, caplog):
    source = poller()
    source.step()
    bsky.revoke_password(BRAND)
    with caplog.at_level(logging.WARNING):
        assert source.step() == CREDENTIAL_RETRY_SECONDS
        assert source.step() == CREDENTIAL_RETRY_SECONDS
        assert poller().step() == CREDENTIAL_RETRY_SECONDS  # a restart does not alert again
    [alert] = alerts(ctx)
    assert "BLUESKY_APP_PASSWORD" in alert
    assert PASSWORD not in caplog.text
    assert sum("source stopped" in r.message for r in caplog.records) == 1

    bsky.state.accounts[BRAND]["password"] = "wxyz-wxyz-wxyz-wxyz"  # a new app password, configured
    bsky.add_post(ANN, "@acme.bsky.social hello? still no refund")
    fixed = poller(password="wxyz-wxyz-wxyz-wxyz")
    fixed.step()
    assert total(ctx, PostRow) == 1
    bsky.revoke_password(BRAND)
    fixed.step()  # a new incident alerts again
    assert len(alerts(ctx)) == 2


def test_malformed_notifications_are_skipped_with_their_reason(ctx, bsky, poller, caplog):
    bsky.add_post(ANN, "@acme.bsky.social fine post about a broken order")
    bsky.add_post(BOB, "   ")
    bsky.state.notifications.append({"uri": "at://x/y/z", "reason": "mention", "indexedAt": "2026-03-02T09:00:00Z"})
    with caplog.at_level(logging.WARNING):
        poller().step()
    assert total(ctx, PostRow) == 1
    text = caplog.text
    assert "empty text" in text
    assert "not a post URI" in text


def test_a_page_that_repeats_itself_in_paging_stops_the_poll_without_a_false_alarm(ctx, bsky, clock, poller):
    bsky.add_post(ANN, "@acme.bsky.social first")
    source = poller(page_size=5)
    source.step()
    for i in range(12):
        clock.advance(seconds=1)
        bsky.add_post(BOB, f"@acme.bsky.social order {i} lost")
    real = bsky._list_notifications

    def stuck(query, reasons):  # a broken server: every page answers with the same page and cursor
        return real({k: v for k, v in query.items() if k != "cursor"}, reasons)

    bsky._list_notifications = stuck
    source.step()
    assert len(bsky.calls("app.bsky.notification.listNotifications")) == 3  # first run, then two pages
    assert alerts(ctx) == []
    bsky._list_notifications = real
    source.step()
    assert total(ctx, PostRow) == 13


def test_a_quiet_bluesky_source_is_reported_once(ctx, bsky, clock, poller, caplog):
    bsky.add_post(ANN, "@acme.bsky.social still waiting", created_at="2026-03-02T08:59:00Z")
    source = poller()
    source.step()
    clock.advance(hours=7)
    with caplog.at_level(logging.WARNING):
        source.step()
        source.step()
    assert sum("no posts for" in r.message for r in caplog.records) == 1
    with ctx.sessions() as s:
        [status] = state.source_statuses(s, now=clock.now(), silence=ctx.silence)
    assert status.name == "bluesky:notifications"
    assert status.quiet


# Records shaped as the lexicons define them (bluesky-social/atproto: lexicons/app/bsky/feed/post.json,
# richtext/facet.json, embed/images.json, embed/recordWithMedia.json, embed/video.json): facets index
# UTF-8 bytes; an image's ``alt`` is required (it may be ""); a client shortens a long link's text.
ORDER_LINK = "https://shop.acme.example/orders/5521-ZX?tab=tracking"
SHORT_TEXT = "@acme.bsky.social my order shop.acme.example/orders/55... says délivré but nothing came"


def _byte_range(text: str, part: str) -> dict:
    start = len(text[: text.index(part)].encode())
    return {"byteStart": start, "byteEnd": start + len(part.encode())}


IMAGE_BLOB = {"$type": "blob", "ref": {"$link": "bafkreib"}, "mimeType": "image/jpeg", "size": 1000}


def test_a_shortened_link_is_stored_whole_from_its_facet(ctx, bsky, poller):
    facet = {
        "index": _byte_range(SHORT_TEXT, "shop.acme.example/orders/55..."),
        "features": [{"$type": "app.bsky.richtext.facet#link", "uri": ORDER_LINK}],
    }
    bsky.add_post(ANN, SHORT_TEXT, facets=[facet])
    poller().step()
    with ctx.sessions() as s:
        text = s.scalars(select(Complaint.text)).one()
    assert text == f"@acme.bsky.social my order {ORDER_LINK} says délivré but nothing came"


def test_posts_that_are_pictures_keep_what_the_pictures_show(ctx, bsky, poller):
    """Empty text with an images embed, or a quote with media, used to be "(a post with media and no
    text)" — or dropped as empty; the alt text is the complaint."""
    bsky.add_post(
        ANN,
        "",
        embed={
            "$type": "app.bsky.embed.images",
            "images": [
                {"alt": "Error 500 at checkout, card charged twice", "image": IMAGE_BLOB},
                {"alt": "", "image": IMAGE_BLOB},
            ],
        },
    )
    quoted = bsky.add_post(BOB, "acme outage again", notify=None)
    bsky.add_post(
        BOB,
        "",
        embed={
            "$type": "app.bsky.embed.recordWithMedia",
            "record": {"$type": "app.bsky.embed.record", "record": {"uri": quoted, "cid": "bafyreic"}},
            "media": {"$type": "app.bsky.embed.video", "video": IMAGE_BLOB, "alt": "app stuck on the login screen"},
        },
        notify="quote",
    )
    poller().step()
    with ctx.sessions() as s:
        texts = dict(s.execute(select(Complaint.author_id, Complaint.text)).all())
    assert texts[ANN] == "[image: Error 500 at checkout, card charged twice]\n[image]"
    assert texts[BOB] == "[video: app stuck on the login screen]"


def test_a_post_dated_ahead_by_its_client_is_kept_at_the_servers_time(ctx, bsky, clock, poller):
    """``createdAt`` is what the client declares; one dated next year used to be refused as "more than
    a day ahead" and lost. The AppView's ``indexedAt`` is used instead; a sane createdAt is kept."""
    bsky.add_post(ANN, "@acme.bsky.social refund please", created_at="2027-01-01T00:00:00.000Z")
    bsky.add_post(BOB, "@acme.bsky.social still broken", created_at="2026-03-02T08:45:00.000Z")
    bsky.add_post(BOB, "@acme.bsky.social and again", created_at="not a time")
    poller().step()
    with ctx.sessions() as s:
        posted = dict(s.execute(select(Complaint.text, Complaint.posted_at)).all())
    assert posted["@acme.bsky.social refund please"] == clock.now()
    assert posted["@acme.bsky.social still broken"] == datetime(2026, 3, 2, 8, 45, tzinfo=UTC)
    assert posted["@acme.bsky.social and again"] == clock.now()


def test_a_repeated_or_overlapping_link_facet_is_applied_once():
    """Found by review: the same facet twice rewrote the already rewritten bytes ("…order/1m/order/1")."""
    from bot.networks.bluesky.source import expand_links

    text = "see acme.com/ord... now"
    start = len(text[: text.index("acme")].encode())
    facet = {
        "index": {"byteStart": start, "byteEnd": start + len("acme.com/ord...")},
        "features": [{"$type": "app.bsky.richtext.facet#link", "uri": "https://acme.com/order/1"}],
    }
    overlapping = {**facet, "index": {"byteStart": start + 2, "byteEnd": start + 17}}
    assert expand_links(text, [facet, facet]) == "see https://acme.com/order/1 now"
    assert expand_links(text, [facet, overlapping]).count("https://") == 1
