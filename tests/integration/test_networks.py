"""Several networks at once: a card says where a post is, links only to that network, and the same
handle or the same words on two networks are two customers (folding, history); reposts and boosts
amplify like retweets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, select

from bot import networks
from bot.common.clock import FakeClock
from bot.config import Secret, Settings
from bot.intake.ingest import Ingestor, IngestPolicy, Outcome
from bot.intake.posts import Post, post_from_record
from bot.networks import links
from bot.networks.mastodon.settings import MastodonSettings
from bot.networks.webhook.settings import WebhookSettings
from bot.reports import status
from bot.slack.deps import CommandDeps
from bot.slack.listeners import complaints_command as commands
from bot.slack.views.blocks import build_card, card_state
from bot.store.engine import make_sessionmaker
from bot.store.models import Complaint
from bot.triage.classify import Triage

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TEXT = "@AcmeHelp my order 5512 never arrived and support is ignoring me"
POLICY = IngestPolicy("C0COMPLAIN", None)


@pytest.fixture(scope="module")
def ingestor() -> Ingestor:
    return Ingestor(Triage(), POLICY)


@pytest.fixture(autouse=True)
def _link_hosts():
    saved = dict(links.LINK_HOSTS)
    yield
    links.LINK_HOSTS.clear()
    links.LINK_HOSTS.update(saved)


def post(source: str, pid: str, *, author: str = "7", handle: str = "jo", text: str = TEXT, **kw) -> Post:
    values = dict(
        source=source, id=pid, text=text, author_id=author, author_handle=handle, created_at=AT, followers=100
    )
    values.update(kw)
    return Post(**values)


def text_of(card: dict) -> str:
    import json

    return json.dumps(card["blocks"], ensure_ascii=False).replace("\\n", "\n")


def test_the_same_words_fold_on_one_network_but_not_across_networks(migrated: Engine, ingestor: Ingestor):
    sessions = make_sessionmaker(migrated)
    results = ingestor.ingest_batch(
        sessions,
        [
            post("x", "1", author="a1", handle="ann"),
            post("bluesky", "b1", author="did:plc:b1", handle="bob.bsky.social"),
            post("x", "2", author="a2", handle="cat"),
            post("bluesky", "b2", author="did:plc:b2", handle="dan.bsky.social"),
        ],
        at=AT,
    )
    assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.CREATED, Outcome.FOLDED, Outcome.FOLDED]
    with sessions() as s:
        rows = {c.external_id: c for c in s.scalars(select(Complaint))}
    assert rows["2"].duplicate_of == rows["1"].id
    assert rows["b2"].duplicate_of == rows["b1"].id
    # and across batches too (the primary is looked up in the database)
    [later] = ingestor.ingest_batch(sessions, [post("mastodon", "m1", author="m1", handle="eve")], at=AT)
    assert later.outcome is Outcome.CREATED


def test_reposts_and_boosts_amplify_only_on_their_own_network(migrated: Engine, ingestor: Ingestor):
    sessions = make_sessionmaker(migrated)
    [bsky] = ingestor.ingest_batch(sessions, [post("bluesky", "at://did:plc:jo/app.bsky.feed.post/1")], at=AT)
    with sessions() as s:
        before = s.get(Complaint, bsky.complaint_id).priority
    record = {
        "id": "did:plc:z/repost/9",
        "text": "reposted",
        "author_id": "did:plc:z",
        "author_handle": "z.bsky.social",
        "created_at": "2026-03-02T08:59:00Z",
        "followers": 250_000,
        "retweet_of": "at://did:plc:jo/app.bsky.feed.post/1",
    }
    repost = post_from_record(record, default_source="bluesky", now=AT)
    boost_elsewhere = post_from_record({**record, "id": "77"}, default_source="mastodon", now=AT)
    results = ingestor.ingest_batch(sessions, [repost, boost_elsewhere], at=AT)
    assert results[0].outcome is Outcome.AMPLIFIED
    assert results[1].outcome is not Outcome.AMPLIFIED  # an id on another network is another post
    with sessions() as s:
        c = s.get(Complaint, bsky.complaint_id)
        assert (c.amplification_count, c.amplification_reach) == (1, 250_000)
        assert c.priority > before


def test_history_is_per_network_identity(migrated: Engine, ingestor: Ingestor):
    sessions = make_sessionmaker(migrated)
    ingestor.ingest_batch(
        sessions,
        [
            post("x", "1", author="42", handle="jo", text="@AcmeHelp refund still missing, third week"),
            post("x", "2", author="42", handle="jo", text="@AcmeHelp app crashes on login every time"),
            post("bluesky", "b1", author="did:plc:jo", handle="jo", text="@acme.com parcel arrived broken"),
        ],
        at=AT,
    )
    with sessions() as s:
        groups = status.customer_histories(s, "@JO")
        assert [[c.external_id for c in g] for g in groups] == [["2", "1"], ["b1"]]
        assert [[c.external_id for c in g] for g in status.customer_histories(s, "jo", "bluesky")] == [["b1"]]
    deps = CommandDeps(sessions, FakeClock(AT), timedelta(hours=6))
    both = commands.find(deps, "U1", "@jo", AT)
    assert "@jo is 2 different customers (one per network)" in both
    assert ":bird: X @jo: 2 earlier post(s)" in both
    assert ":butterfly: Bluesky @jo: 1 earlier post(s)" in both
    one = commands.find(deps, "U1", "bluesky:@jo", AT)
    assert "X @jo" not in one
    assert "parcel arrived broken" in one
    assert "No earlier complaints from @jo on Mastodon." == commands.find(deps, "U1", "@jo mastodon", AT)


def card(source: str, url: str | None) -> str:
    c = Complaint(
        id=5, kind="complaint", status="new", priority=50, text="broken", author_name=None, author_handle="jo",
        author_followers=3, url=url, posted_at=AT, owner_id=None, claimed_at=None, escalation_tier=None,
        escalation_reason=None, escalated_by=None, resolution_note=None, resolved_by=None, resolved_at=None,
        customer_confirmed=False, amplification_count=0, amplification_reach=0, duplicate_count=0, reply_count=0,
        repeat_contact=0, source=source,
    )  # fmt: skip
    return text_of(build_card(card_state(c), AT))


def test_the_card_names_the_network_and_links_only_to_its_hosts():
    shown = card("bluesky", "https://bsky.app/profile/jo.bsky.social/post/3k")
    assert ":butterfly: Bluesky" in shown
    assert "<https://bsky.app/profile/jo.bsky.social/post/3k|view post>" in shown
    crafted = card("bluesky", "https://x.com/jo/status/1")
    assert "<https://x.com" not in crafted
    assert "`https://x.com/jo/status/1`" in crafted
    assert ":bird: X" in card("x", "https://x.com/jo/status/1")
    assert "<https://x.com/jo/status/1|view post>" in card("x", "https://x.com/jo/status/1")


def test_mastodon_and_webhook_link_hosts_come_from_the_settings():
    settings = Settings(
        networks=networks.settings_with(
            webhook=WebhookSettings(
                secrets=(("facebook", Secret("0123456789abcdef0123")),),
                link_hosts=(("facebook", ("facebook.com",)),),
            ),
            mastodon=MastodonSettings(base_url="https://mastodon.example:8443"),
        )
    )
    assert "<https://" not in card("mastodon", "https://mastodon.example/@jo/1")
    networks.register_link_hosts(settings)
    assert "<https://mastodon.example/@jo/1|view post>" in card("mastodon", "https://mastodon.example/@jo/1")
    assert "<https://mastodon.social" not in card("mastodon", "https://mastodon.social/@jo/1")
    assert "<https://www.facebook.com/acme/posts/1|view post>" in card(
        "facebook", "https://www.facebook.com/acme/posts/1"
    )
    assert ":blue_book: Facebook" in card("facebook", None)
    assert "<https://evil.example" not in card("facebook", "https://evil.example/facebook.com")


def test_an_unknown_source_name_is_shown_inert():
    shown = card("<!channel>", None)
    assert "<!channel>" not in shown
    assert ":globe_with_meridians: &lt;!channel&gt;" in shown
