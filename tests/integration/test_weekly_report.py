"""The weekly report: queued once on Monday at REPORT_TIME, posted once as a message with the numbers,
then its PNG chart uploaded into that message's thread through the Slack stand-in's files_upload_v2
flow — also when an answer is lost. A refused upload leaves the numbers and a note saying why; a
report channel that refuses the app sends the report to the complaints channel, saying why."""

from __future__ import annotations

import struct
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, case, select

from bot.app import make_slack_client
from bot.common.clock import FakeClock
from bot.config import Secret, Settings, parse_quiet_hours
from bot.delivery.slack_transport import SlackTransport
from bot.delivery.worker import Deliverer
from bot.devtools.slack_api import MANIFEST_SCOPES
from bot.jobs.scheduler import Scheduler
from bot.store.engine import make_sessionmaker
from bot.store.models import Delivery, JobRun
from tests.support.report_history import build
from tests.support.slack_api import Fault, SlackStandIn

REPORT_CHANNEL = "C0REPORTS"
MONDAY = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)  # the Monday after the history's second week


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(MONDAY - timedelta(minutes=1))


def stand_in(clock: FakeClock, scopes: frozenset[str] = MANIFEST_SCOPES) -> SlackStandIn:
    slack = SlackStandIn(scopes=scopes).start()
    slack.clock = lambda: clock.now().timestamp()
    slack.wall = lambda: clock.now().timestamp()
    return slack


@pytest.fixture
def slack(clock: FakeClock) -> Iterator[SlackStandIn]:
    server = stand_in(clock)
    yield server
    server.stop()


def settings(slack: SlackStandIn) -> Settings:
    return Settings(
        slack_bot_token=Secret(slack.state.token),
        slack_api_url=slack.base_url,
        slack_complaints_channel="C0COMPLAIN",
        slack_escalation_channel="C0ESCALATE",
        slack_report_channel=REPORT_CHANNEL,
        nag_quiet_hours=parse_quiet_hours("off"),
    )


def scheduler(engine: Engine, slack: SlackStandIn, clock: FakeClock) -> Scheduler:
    return Scheduler(make_sessionmaker(engine), settings(slack), clock, lambda _user: "UTC")


def deliver(engine: Engine, slack: SlackStandIn, clock: FakeClock) -> None:
    sessions = make_sessionmaker(engine)
    worker = Deliverer(sessions, clock, [SlackTransport(make_slack_client(settings(slack)), sessions, clock)])
    for _ in range(50):
        if worker.step() > 0 and not worker.due():
            wait = worker.next_due_in()
            if wait is None:
                return
            clock.advance(seconds=max(wait, 0.001))


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_monday_at_report_time_once_then_uploaded_as_text_and_png(migrated, slack, clock):
    build(make_sessionmaker(migrated))
    first, second = scheduler(migrated, slack, clock), scheduler(migrated, slack, clock)
    assert first.weekly_report(clock.now()) is False  # 08:59: not yet
    clock.advance(minutes=1)
    assert first.weekly_report(clock.now()) is True
    assert second.weekly_report(clock.now()) is False  # another worker: already queued
    clock.advance(hours=5)
    first.tick()
    with make_sessionmaker(migrated)() as s:
        assert s.scalars(select(JobRun.key).where(JobRun.kind == "weekly_report")).all() == ["2026-03-16"]
        [row] = s.scalars(select(Delivery).where(Delivery.kind == "report")).all()
        assert row.channel == REPORT_CHANNEL
        assert row.payload["period"] == "2026-W11"
    deliver(migrated, slack, clock)
    [numbers] = [m for m in slack.channel_messages(REPORT_CHANNEL) if not m.get("thread_ts")]
    [(message, data)] = slack.uploaded(REPORT_CHANNEL)
    assert message["thread_ts"] == numbers["ts"]  # the chart is added to the numbers' message
    width, height = png_size(data)
    assert (width, height) == (800, 900)
    assert 20_000 < len(data) < 1_000_000
    assert message["files"][0]["mimetype"] == "image/png"
    assert message["files"][0]["alt_txt"].startswith("Chart for 2026-W11")
    text = numbers["text"]
    # week 2 of the history: p4 kept late, nothing on time; the week before kept 50%
    assert "Promises kept on time: 0%* ↓ (worse than 50%)" in text
    assert "Complaints in: 1 (before: 5)" in text
    assert "First response: median 5 min" in text
    assert len(slack.calls_to("files.getUploadURLExternal")) == 1
    with make_sessionmaker(migrated)() as s:
        assert s.scalars(select(Delivery.status).where(Delivery.kind == "report")).one() == "sent"
        assert s.scalars(select(Delivery.status).where(Delivery.kind == "report_chart")).one() == "sent"


def test_not_before_monday_report_time_and_caught_up_later_that_week(migrated, slack, clock):
    build(make_sessionmaker(migrated))
    sched = scheduler(migrated, slack, clock)
    clock.set(datetime(2026, 3, 15, 23, 0, tzinfo=UTC))  # Sunday night: that week's report is caught up
    assert sched.weekly_report(clock.now()) is True
    clock.set(datetime(2026, 3, 16, 8, 59, tzinfo=UTC))  # Monday before REPORT_TIME: nothing due
    assert sched.weekly_report(clock.now()) is False
    clock.set(datetime(2026, 3, 17, 14, 0, tzinfo=UTC))  # the worker was down on Monday: sent on Tuesday
    assert sched.weekly_report(clock.now()) is True
    assert sched.weekly_report(clock.now()) is False
    with make_sessionmaker(migrated)() as s:
        keys = s.scalars(select(JobRun.key).where(JobRun.kind == "weekly_report").order_by(JobRun.key)).all()
    assert keys == ["2026-03-09", "2026-03-16"]


def test_a_week_with_nothing_in_it_is_not_reported(migrated, slack, clock):
    build(make_sessionmaker(migrated))
    clock.set(datetime(2026, 3, 30, 9, 0, tzinfo=UTC))  # the week of 23 March was empty
    sched = scheduler(migrated, slack, clock)
    assert sched.weekly_report(clock.now()) is False
    assert sched.weekly_report(clock.now()) is False  # decided once: the job run is stored
    with make_sessionmaker(migrated)() as s:
        [run] = s.scalars(select(JobRun).where(JobRun.kind == "weekly_report")).all()
        assert run.details == {"skipped": "nothing happened that week"}
        assert s.scalars(select(Delivery).where(Delivery.kind == "report")).all() == []


def test_a_lost_answer_to_the_upload_is_found_not_uploaded_twice(migrated, slack, clock):
    build(make_sessionmaker(migrated))
    clock.set(MONDAY)
    assert scheduler(migrated, slack, clock).weekly_report(clock.now())
    slack.inject(Fault("lost", method="files.completeUploadExternal"))  # shared; we never hear back
    deliver(migrated, slack, clock)
    assert len(slack.uploaded(REPORT_CHANNEL)) == 1
    assert len(slack.calls_to("files.getUploadURLExternal")) == 1
    assert slack.calls_to("conversations.replies")  # looked for in the report's thread
    with make_sessionmaker(migrated)() as s:
        row = s.scalars(select(Delivery).where(Delivery.kind == "report_chart")).one()
        assert row.status == "sent"
        assert row.attempts == 2


def test_without_files_write_the_numbers_arrive_with_a_note_on_the_chart(migrated, clock):
    """An installation from before ``files:write``: Slack refuses the upload. The numbers are already
    in the channel, and the chart's place says why it is missing (it used to be lost silently)."""
    build(make_sessionmaker(migrated))
    slack = stand_in(clock, scopes=MANIFEST_SCOPES - {"files:write"})
    try:
        clock.set(MONDAY)
        assert scheduler(migrated, slack, clock).weekly_report(clock.now())
        deliver(migrated, slack, clock)
        assert slack.uploaded(REPORT_CHANNEL) == []
        [numbers, note] = slack.channel_messages(REPORT_CHANNEL)
        assert "Promises kept on time: 0%*" in numbers["text"]
        assert note["thread_ts"] == numbers["ts"]
        assert note["text"].startswith(":warning: The chart could not be attached: Slack said `missing_scope`")
        assert "files:write" in note["text"]
        with make_sessionmaker(migrated)() as s:
            statuses = dict(
                s.execute(select(Delivery.kind, Delivery.status).where(Delivery.kind.like("report%"))).all()
            )
        assert statuses == {"report": "sent", "report_chart": "sent"}
    finally:
        slack.stop()


def test_a_report_channel_the_app_is_not_in_sends_the_report_to_the_complaints_channel(migrated, slack, clock):
    """A private report channel nobody invited the app to: Slack answers ``channel_not_found``. The
    report goes to the complaints channel with a line saying why, its chart with it."""
    build(make_sessionmaker(migrated))
    slack.close_channel(REPORT_CHANNEL, private=True)
    clock.set(MONDAY)
    assert scheduler(migrated, slack, clock).weekly_report(clock.now())
    deliver(migrated, slack, clock)
    assert slack.channel_messages(REPORT_CHANNEL) == []
    [numbers] = [m for m in slack.channel_messages("C0COMPLAIN") if "report" in m["text"]]
    [(chart, _png)] = slack.uploaded("C0COMPLAIN")
    assert numbers["text"].startswith(f":warning: This report could not be posted in <#{REPORT_CHANNEL}>")
    assert "`channel_not_found`" in numbers["text"]
    assert "Promises kept on time: 0%*" in numbers["text"]
    assert chart["thread_ts"] == numbers["ts"]
    assert chart["files"][0]["mimetype"] == "image/png"


def test_the_report_shows_this_months_x_api_cost(migrated, slack, clock):
    """The reads the X sources counted and the replies X accepted this month, priced: the lead sees
    the bill coming. Replies with a link cost more; a reply that failed costs nothing."""
    from bot import outbox
    from bot.intake import usage
    from bot.networks.x.prices import priced
    from bot.outbox.kinds import DeliveryKind

    sessions = make_sessionmaker(migrated)
    build(sessions)
    usage.add(sessions, "x", priced(post_read_owned=1200, user_read=30), at=MONDAY - timedelta(days=2))
    usage.add(sessions, "x", priced(post_read=999), at=datetime(2026, 2, 27, tzinfo=UTC))  # last month
    with sessions() as s, s.begin():
        for n, text in enumerate(["Sorry, DM us", "See https://status.acme.example", "Hi (this one failed)"]):
            outbox.enqueue(
                s,
                DeliveryKind.REPLY,
                key=f"reply:test:{n}",
                at=MONDAY - timedelta(days=1),
                channel="x",
                payload={"text": text},
            )
        s.execute(
            Delivery.__table__.update()
            .where(Delivery.kind == "reply")
            .values(
                status=case((Delivery.key == "reply:test:2", "dead"), else_="sent"), sent_at=MONDAY - timedelta(days=1)
            )
        )
    clock.advance(minutes=1)
    first = scheduler(migrated, slack, clock)
    assert first.weekly_report(clock.now()) is True
    deliver(migrated, slack, clock)
    [numbers] = [m for m in slack.channel_messages(REPORT_CHANNEL) if not m.get("thread_ts")]
    assert (
        "X API this month: owned post reads 1,200 ($1.20), user reads 30 ($0.30), replies 1 ($0.02),"
        " replies with a link 1 ($0.20) — $1.72 at April 2026 prices"
    ) in numbers["text"]
