"""The worker as ``run`` builds it, with Bluesky and Mastodon configured: their sources read, their
posts become cards in Slack, and a reply typed on a card goes out through the network's transport."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bot import networks, outbox
from bot.app import create_app
from bot.common.clock import FakeClock
from bot.config import Secret, Settings
from bot.intake.inbox import InboxDrain
from bot.networks.bluesky.settings import BlueskySettings
from bot.networks.mastodon.settings import MastodonSettings
from bot.outbox.kinds import DeliveryKind
from bot.runtime import build_deliverer, build_ingestor, build_sources
from bot.store import migrate
from bot.store.models import Complaint
from tests.support.bluesky_api import BlueskyStandIn
from tests.support.mastodon_api import MastodonStandIn
from tests.support.slack_api import SlackStandIn

BRAND = "did:plc:acmebrandacmebrandacmebr"
ANN = "did:plc:annannannannannannannanna"


def test_configured_networks_are_read_carded_and_answered(tmp_path: Path):
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    with SlackStandIn() as slack, BlueskyStandIn() as bsky, MastodonStandIn() as masto:
        bsky.now = masto.now = lambda: clock.now().timestamp()
        bsky.add_account(BRAND, "acme.bsky.social", password="abcd-efgh-ijkl-mnop")
        bsky.add_account(ANN, "ann.bsky.social", followers=50)
        masto.add_account("acmehelp", brand=True)
        tom = masto.add_account("tom", followers=70)
        sky_post = bsky.add_post(ANN, "@acme.bsky.social my parcel never arrived, furious")
        toot = masto.add_status(tom, "<p>@acmehelp refund missing for two weeks</p>", visibility="direct")
        settings = Settings(
            slack_bot_token=Secret(slack.state.token),
            slack_api_url=slack.base_url,
            slack_complaints_channel="C0COMPLAIN",
            slack_escalation_channel="C0ESCALATE",
            networks=networks.settings_with(
                bluesky=BlueskySettings(
                    handle="acme.bsky.social",
                    app_password=Secret("abcd-efgh-ijkl-mnop"),
                    service_url=bsky.base_url,
                ),
                mastodon=MastodonSettings(base_url=masto.base_url, access_token=Secret(masto.token)),
            ),
            database_url=f"sqlite:///{tmp_path / 'ft.db'}",
        )
        app = create_app(settings, clock=clock, listener=False)
        migrate.upgrade(app.engine)
        tasks, _ = build_sources(app)
        assert sorted(t.name for t in tasks) == ["bluesky:notifications", "mastodon:notifications"]
        for task in tasks:
            assert task.step() == 60
        ingestor = build_ingestor(app)
        assert "acme.bsky.social" in ingestor.policy.brand_handles
        InboxDrain(app.sessions, ingestor, clock).drain()
        deliverer = build_deliverer(app, unpaced=True)
        assert set(deliverer.transports) == {"slack", "bluesky", "mastodon"}
        deliverer.drain()
        cards = slack.channel_messages("C0COMPLAIN")
        assert len(cards) == 2
        assert any("my parcel never arrived" in str(c) for c in cards)
        assert any("refund missing for two weeks" in str(c) for c in cards)

        with app.sessions() as s, s.begin():
            for complaint in s.scalars(select(Complaint)):
                outbox.enqueue(
                    s,
                    DeliveryKind.REPLY,
                    key=f"reply:{complaint.id}:1",
                    at=clock.now(),
                    channel=complaint.source,
                    complaint_id=complaint.id,
                    payload={"text": "So sorry — sorted today.", "by": "U0ALICE01"},
                )
        deliverer.drain()
        [sky_reply] = bsky.state.created
        assert sky_reply["record"]["reply"]["parent"]["uri"] == sky_post
        [toot_reply] = masto.statuses_by(masto.brand_id)
        assert (toot_reply["in_reply_to_id"], toot_reply["visibility"]) == (toot, "direct")
        app.engine.dispose()
