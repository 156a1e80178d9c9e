"""Contract tests (#27): payloads shaped as each platform's own documentation shows them (kept in
``tests/data/contracts/``, each naming its source) go through the stand-in, the real client library
(tweepy, atproto, Mastodon.py) and the real poller into ingest, and what is stored is what the docs
say the payload means — the whole long post, the link behind a shortened one, the picture's alt
text, the retweet's original author, the server's time when a client's is wrong."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select

from bot.common.clock import FakeClock
from bot.intake.inbox import Inbox, InboxDrain
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.source import SourceContext
from bot.networks.bluesky.client import BlueskySession
from bot.networks.bluesky.source import BlueskyPoller
from bot.networks.mastodon.source import MastodonPoller
from bot.networks.mastodon.source import make_client as masto_client
from bot.networks.x.source import XPoller
from bot.networks.x.source import make_client as x_client
from bot.store.engine import make_sessionmaker
from bot.store.models import Complaint
from bot.store.models import Post as PostRow
from bot.triage.classify import Triage
from tests.support.bluesky_api import BlueskyStandIn
from tests.support.mastodon_api import MastodonStandIn
from tests.support.pipeline import Drained
from tests.support.x_api import XStandIn

FIXTURES = Path(__file__).parent.parent / "data" / "contracts"
NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def fixture(name: str) -> dict[str, Any]:
    data = json.loads((FIXTURES / name).read_text())
    assert data["doc"], "every fixture names the documentation it follows"
    return data


@pytest.fixture(scope="module")
def triage() -> Triage:
    return Triage()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


def context(engine: Engine, clock: FakeClock) -> SourceContext:
    sessions = make_sessionmaker(engine)
    return SourceContext(sessions, Inbox(sessions, clock), clock, "C0COMPLAIN")


def drain(ctx: SourceContext, triage: Triage, brand_ids: frozenset[str], handles: frozenset[str]) -> InboxDrain:
    return InboxDrain(ctx.sessions, Ingestor(triage, IngestPolicy("C0COMPLAIN", None, brand_ids, handles)), ctx.clock)


def assert_stored(ctx: SourceContext, expected: list[dict[str, Any]]) -> None:
    with ctx.sessions() as s:
        rows = {c.external_id: c for c in s.scalars(select(Complaint))}
    assert sorted(rows) == sorted(e["external_id"] for e in expected)
    for want in expected:
        row = rows[want["external_id"]]
        for key, value in want.items():
            if key == "text_ends":
                assert row.text.endswith(value), row.text
            elif key == "posted_at":
                assert row.posted_at == datetime.fromisoformat(value)
            else:
                assert getattr(row, key) == value, (key, getattr(row, key))


@pytest.fixture
def x(clock: FakeClock) -> Iterator[XStandIn]:
    with XStandIn() as stand_in:
        stand_in.now = lambda: clock.now().timestamp()
        stand_in.add_user("1000", "AcmeHelp")
        yield stand_in


def test_x_mentions_as_the_docs_show_them(migrated, clock, triage, x):
    """Edits (``edit_history_tweet_ids``), a long post's ``note_tweet``, a retweet whose original
    comes only in ``includes.tweets``, HTML-escaped text and a partial ``errors`` list in one page."""
    data = fixture("x_mentions.json")
    ctx = context(migrated, clock)
    x.canned.append((data["path"], data["response"]))
    poller = XPoller(ctx, x_client(x.token, x.base_url), mode="mentions", user_id="1000")
    Drained(poller, drain(ctx, triage, frozenset({"1000"}), frozenset({"acmehelp"}))).step()
    assert_stored(ctx, data["stored"])
    with ctx.sessions() as s:
        assert dict(s.execute(select(PostRow.external_id, PostRow.role)).all()) == data["posts"]


@pytest.fixture
def bsky(clock: FakeClock) -> Iterator[BlueskyStandIn]:
    with BlueskyStandIn() as stand_in:
        stand_in.now = lambda: clock.now().timestamp()
        stand_in.add_account("did:plc:acmebrandacmebrandacmebr", "acme.bsky.social", password="abcd-efgh-ijkl-mnop")
        yield stand_in


def test_bluesky_notifications_as_the_lexicons_define_them(migrated, clock, triage, bsky):
    """A link facet behind shortened text, a quote with media and no text, a createdAt a year ahead."""
    data = fixture("bluesky_notifications.json")
    ctx = context(migrated, clock)
    bsky.canned[data["nsid"]] = data["response"]
    session = BlueskySession(
        "acme.bsky.social", "abcd-efgh-ijkl-mnop", service_url=bsky.base_url, clock=clock, timeout=5
    )
    poller = BlueskyPoller(ctx, session)
    Drained(poller, drain(ctx, triage, frozenset({"did:plc:acmebrandacmebrandacmebr"}), frozenset())).step()
    assert_stored(ctx, data["stored"])


@pytest.fixture
def masto(clock: FakeClock) -> Iterator[MastodonStandIn]:
    with MastodonStandIn() as stand_in:
        stand_in.now = lambda: clock.now().timestamp()
        stand_in.add_account("acmehelp", brand=True)
        yield stand_in


def test_mastodon_notifications_as_the_docs_show_them(migrated, clock, triage, masto):
    """A 4.5 ``quote`` notification, HTML entities, a direct mention behind a content warning whose
    words are a picture's description."""
    data = fixture("mastodon_notifications.json")
    ctx = context(migrated, clock)
    masto.canned[data["path"]] = data["response"]
    client, last = masto_client(masto.base_url, masto.token, timeout=5)
    poller = MastodonPoller(ctx, client, last, instance_url="https://social.example")
    Drained(poller, drain(ctx, triage, frozenset({masto.brand_id}), frozenset({"acmehelp"}))).step()
    assert_stored(ctx, data["stored"])
