"""The webhook as a source among others: selected by SOURCES, watched for silence (one alert per
quiet spell), and built beside replay files and the other networks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from bot import networks
from bot.app import create_app
from bot.common.clock import FakeClock
from bot.config import Secret, Settings
from bot.intake.inbox import Inbox, RawPost
from bot.intake.source import SourceContext
from bot.networks.webhook.quiet import QuietWatch
from bot.networks.webhook.settings import WebhookSettings
from bot.outbox.kinds import DeliveryKind
from bot.runtime import build_sources
from bot.store.engine import make_sessionmaker
from bot.store.models import Delivery

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def alerts(sessions) -> list[str]:
    with sessions() as s:
        rows = s.scalars(select(Delivery).where(Delivery.kind == DeliveryKind.ALERT.value).order_by(Delivery.id))
        return [r.key for r in rows]


def test_a_quiet_webhook_source_alerts_once_per_quiet_spell(migrated: Engine):
    sessions = make_sessionmaker(migrated)
    clock = FakeClock(AT)
    ctx = SourceContext(sessions, Inbox(sessions, clock), clock, "C0ALERTS", timedelta(hours=6))
    watch = QuietWatch(ctx, ("facebook", "email"))
    watch.step()
    assert alerts(sessions) == []
    clock.advance(timedelta(hours=5))
    ctx.inbox.write("webhook:email", [RawPost("r0", {"id": "1"})], cursor=None)  # email keeps receiving
    clock.advance(timedelta(hours=2))
    watch.step()
    watch.step()
    assert alerts(sessions) == ["alert:quiet:webhook:facebook:1"]
    ctx.inbox.write("webhook:facebook", [RawPost("r0", {"id": "2"})], cursor=None)
    watch.step()  # posts again: the alert is cleared
    clock.advance(timedelta(hours=7))
    watch.step()
    assert alerts(sessions) == [
        "alert:quiet:webhook:facebook:1",
        "alert:quiet:webhook:facebook:2",
        "alert:quiet:webhook:email:1",
    ]


def test_sources_run_side_by_side_and_sources_picks_them(migrated: Engine, tmp_path):
    replay = tmp_path / "posts.jsonl"
    replay.write_text("")
    base = dict(
        slack_complaints_channel="C0COMPLAIN",
        slack_escalation_channel="C0ESCALATE",
        database_url="sqlite://",
        networks=networks.settings_with(
            webhook=WebhookSettings(secrets=(("facebook", Secret("0123456789abcdef0123")),))
        ),
    )
    app = create_app(Settings(**base), clock=FakeClock(AT), engine=migrated, listener=False)
    tasks, _ = build_sources(app, replays=[replay, tmp_path / "other.jsonl"])
    names = [t.name for t in tasks]
    assert len([n for n in names if n.startswith("replay:")]) == 2
    assert "webhook-quiet" in names
    app = create_app(Settings(**base, sources=("x",)), clock=FakeClock(AT), engine=migrated, listener=False)
    tasks, _ = build_sources(app, replays=[replay])
    assert [t.name for t in tasks if not t.name.startswith("replay:")] == []  # x named, but no token: not read
