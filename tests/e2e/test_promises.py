"""Promises end to end: recorded from the card and /promise, nagged up the ladder, kept from the DM,
the daily reminder once a day, /complaints and App Home — against the Slack stand-in, clock injected."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.promises import lifecycle as promise_service
from bot.slack.ids import Action, Field, View
from bot.store.engine import transaction
from bot.store.models import AuditEvent, Delivery, Interaction, JobRun, Promise
from tests.support.harness import COMPLAINTS, ESCALATION, OUTSIDER, TEAM, Desk

ALICE, BOB, CAROL = TEAM  # Alice and Carol work in London, Bob in New York (set below)


@pytest.fixture
def desk(db_url: str) -> Iterator[Desk]:
    d = Desk(db_url)
    d.slack.state.users[BOB].tz = "America/New_York"
    yield d
    d.close()


def promise(desk: Desk, cid: int, owner: str = ALICE, hours: float = 2, text: str = "call back") -> int:
    with transaction(desk.app.sessions) as s:
        p = promise_service.create(
            s,
            cid,
            owner_id=owner,
            text=text,
            due_at=desk.clock.now() + timedelta(hours=hours),
            created_by=owner,
            at=desk.clock.now(),
        )
        return p.id


def nags(desk: Desk) -> list[tuple[str, str]]:
    with desk.app.sessions() as s:
        return list(
            s.execute(
                select(Delivery.kind, Delivery.key)
                .where(Delivery.kind.like("nag_%"), Delivery.status != "closed")  # closed: dropped unsent
                .order_by(Delivery.id)
            ).all()
        )


def at(desk: Desk, **delta: float) -> None:
    desk.clock.set(datetime(2026, 3, 2, 9, 0, tzinfo=UTC) + timedelta(**delta))  # Monday 09:00 UTC = London


def body_text(raw: bytes) -> str:
    return json.loads(raw)["text"]


# -- the ladder ------------------------------------------------------------------------------------------


def test_the_ladder_walks_each_step_exactly_once(desk: Desk):
    cid = desk.complaint()
    pid = promise(desk, cid, hours=2)  # due Monday 11:00 London
    sched = desk.scheduler()
    expected = []
    for hours, kind in [
        (1, None),
        (2, "nag_dm"),
        (2.5, None),
        (3, "nag_thread"),
        (4, None),
        (6, "nag_channel"),
        (20, None),
        (26, "nag_escalate"),
        (60, None),
    ]:
        at(desk, hours=hours)
        sched.tick()
        sched.tick()  # a second tick at the same moment sends nothing more
        if kind:
            expected.append(kind)
        assert [k for k, _ in nags(desk)] == expected, hours
    desk.deliver()
    dm = desk.slack.channel_messages("D0ALICE01")
    assert len(dm) == 1
    assert {e["action_id"] for e in dm[0]["blocks"][1]["elements"]} == {
        Action.PROMISE_KEPT,
        Action.PROMISE_RESCHEDULE,
        Action.PROMISE_CANCEL,
    }
    thread = [json.dumps(m["blocks"], ensure_ascii=False) for m in desk.thread_of(cid)]
    assert any(f"<@{ALICE}> the promise “call back” was due" in t for t in thread)
    channel_nags = [
        m
        for m in desk.slack.channel_messages(COMPLAINTS)
        if not m.get("thread_ts") and ":warning: Overdue promise" in json.dumps(m.get("blocks", []))
    ]
    assert len(channel_nags) == 1
    [broken] = desk.slack.channel_messages(ESCALATION)
    assert "<!subteam^S0TIER002>" in broken["blocks"][0]["text"]["text"]
    assert "now marked broken" in broken["blocks"][0]["text"]["text"]
    with desk.app.sessions() as s:
        assert s.get(Promise, pid).status == "broken"
    assert len({key for _, key in nags(desk)}) == 4


def test_quiet_hours_defer_to_the_next_working_hour_and_keep_the_spacing(desk: Desk):
    cid = desk.complaint()
    at(desk, hours=10)  # Monday 19:00 London
    promise(desk, cid, owner=ALICE, hours=0.5)  # due 19:30
    sched = desk.scheduler()
    at(desk, hours=10.5)
    sched.tick()
    assert [k for k, _ in nags(desk)] == ["nag_dm"]
    at(desk, hours=11.5)  # 20:30: quiet
    sched.tick()
    assert [k for k, _ in nags(desk)] == ["nag_dm"]
    with desk.app.sessions() as s:
        assert s.scalars(select(Promise.next_nag_at)).one() == datetime(2026, 3, 3, 8, 0, tzinfo=UTC)
    at(desk, hours=23)  # Tuesday 08:00 London
    sched.tick()
    assert [k for k, _ in nags(desk)] == ["nag_dm", "nag_thread"]
    with desk.app.sessions() as s:  # the channel step keeps its 3 h distance from the thread step
        assert s.scalars(select(Promise.next_nag_at)).one() == datetime(2026, 3, 3, 11, 0, tzinfo=UTC)


def test_quiet_hours_are_the_owners_own(desk: Desk):
    cid = desk.complaint()
    at(desk, hours=12)  # 21:00 London = 16:00 New York
    promise(desk, cid, owner=BOB, hours=0.25)
    promise(desk, cid, owner=ALICE, hours=0.25)
    at(desk, hours=12.5)
    desk.scheduler().tick()
    with desk.app.sessions() as s:
        sent_to = s.scalars(select(Delivery.channel).where(Delivery.kind == "nag_dm")).all()
    assert sent_to == [BOB]


def test_kept_from_the_dm_stops_the_ladder_at_once(desk: Desk):
    cid = desk.complaint()
    pid = promise(desk, cid, hours=1)
    sched = desk.scheduler()
    at(desk, hours=1)
    sched.tick()
    desk.deliver()  # the DM reaches the owner
    at(desk, hours=2)
    sched.tick()  # the thread nag is queued, not yet delivered
    assert desk.click(ALICE, Action.PROMISE_KEPT, str(pid))[0] == 200
    answer = desk.responses()[0]
    assert answer["replace_original"] is True
    assert "kept" in answer["text"]
    for hours in (6, 30, 80):
        at(desk, hours=hours)
        sched.tick()
    assert [k for k, _ in nags(desk)] == ["nag_dm"]  # the undelivered thread nag was dropped
    with desk.app.sessions() as s:
        kept = s.scalars(select(AuditEvent).where(AuditEvent.action == "promise_kept")).one()
        assert (kept.actor, kept.details["on_time"]) == (ALICE, False)


def test_cancel_and_a_second_click(desk: Desk):
    cid = desk.complaint()
    pid = promise(desk, cid)
    desk.click(BOB, Action.PROMISE_CANCEL, str(pid), key="a")
    desk.click(ALICE, Action.PROMISE_KEPT, str(pid), key="b")
    assert "cancelled" in desk.responses("a")[0]["text"]
    assert desk.responses("b")[0]["text"] == "That promise is already cancelled."


def test_reschedule_asks_for_a_new_time_and_a_reason_and_counts(desk: Desk):
    cid = desk.complaint()
    pid = promise(desk, cid, hours=1)
    at(desk, hours=1)
    desk.scheduler().tick()
    desk.deliver()
    desk.click(ALICE, Action.PROMISE_RESCHEDULE, str(pid))
    modal = desk.opened_view()
    assert modal["callback_id"] == View.RESCHEDULE
    status, raw, _ = desk.submit(ALICE, modal, {Field.WHEN: {"value": "whenever"}, Field.REASON: {"value": "x"}})
    assert status == 200
    assert "couldn't read" in json.loads(raw)["errors"][Field.WHEN]
    _status, raw, _ = desk.submit(ALICE, modal, {Field.WHEN: {"value": "tomorrow 10am"}, Field.REASON: {"value": " "}})
    assert "Say why" in json.loads(raw)["errors"][Field.REASON]
    desk.submit(ALICE, modal, {Field.WHEN: {"value": "tomorrow 10am"}, Field.REASON: {"value": "courier delayed"}})
    with desk.app.sessions() as s:
        p = s.get(Promise, pid)
        assert (p.due_at, p.reschedule_count, p.ladder_step, p.status) == (
            datetime(2026, 3, 3, 10, 0, tzinfo=UTC),
            1,
            0,
            "open",
        )
        moved = s.scalars(select(AuditEvent).where(AuditEvent.action == "promise_rescheduled")).one()
        assert moved.note == "courier delayed"
    at(desk, hours=25)  # the new due time: the ladder starts again
    desk.scheduler().tick()
    assert [k for k, _ in nags(desk)] == ["nag_dm", "nag_dm"]


def test_a_restarted_worker_continues_mid_ladder(desk: Desk):
    cid = desk.complaint()
    promise(desk, cid, hours=1)
    at(desk, hours=1)
    desk.scheduler().tick()
    at(desk, hours=2)
    desk.scheduler().tick()  # a new process: nothing in memory
    desk.scheduler().tick()
    assert [k for k, _ in nags(desk)] == ["nag_dm", "nag_thread"]


# -- recording promises ------------------------------------------------------------------------------------


def test_promise_from_the_card_reads_the_time_in_the_owners_zone(desk: Desk):
    cid = desk.complaint()
    desk.click(ALICE, Action.PROMISE, str(cid))
    modal = desk.opened_view()
    assert modal["callback_id"] == View.PROMISE
    owner = next(b for b in modal["blocks"] if b["block_id"] == Field.OWNER)
    assert owner["element"]["initial_user"] == ALICE
    values = {
        Field.WHAT: {"value": "send the replacement"},
        Field.WHEN: {"value": "friday"},
        Field.OWNER: {"selected_user": BOB},
    }
    assert desk.submit(ALICE, modal, values)[0] == 200
    desk.deliver()
    with desk.app.sessions() as s:
        p = s.scalars(select(Promise)).one()
    assert (p.owner_id, p.text, p.created_by) == (BOB, "send the replacement", ALICE)
    assert p.due_at == datetime(2026, 3, 6, 22, 0, tzinfo=UTC)  # Friday 17:00 in New York
    card = json.dumps(desk.card(cid)["blocks"])
    assert "*Promises*" in card
    assert "send the replacement" in card
    assert any("recorded a promise" in m["text"] for m in desk.thread_of(cid))


def test_promise_form_rejections(desk: Desk):
    cid = desk.complaint()
    desk.click(ALICE, Action.PROMISE, str(cid))
    modal = desk.opened_view()
    cases = [
        ({Field.WHAT: {"value": "x"}, Field.OWNER: {"selected_user": ALICE}}, Field.WHEN, "Say when"),
        (
            {Field.WHAT: {"value": "x"}, Field.WHEN: {"value": "whenever"}, Field.OWNER: {"selected_user": ALICE}},
            Field.WHEN,
            "tomorrow 3pm",
        ),
        (
            {
                Field.WHAT: {"value": "x"},
                Field.WHEN_PICKED: {"selected_date_time": 1_600_000_000},
                Field.OWNER: {"selected_user": ALICE},
            },
            Field.WHEN,
            "has passed",
        ),
        (
            {Field.WHAT: {"value": "x"}, Field.WHEN: {"value": "tomorrow"}, Field.OWNER: {"selected_user": OUTSIDER}},
            Field.OWNER,
            "support team",
        ),
        (
            {Field.WHAT: {"value": "  "}, Field.WHEN: {"value": "tomorrow"}, Field.OWNER: {"selected_user": ALICE}},
            Field.WHAT,
            "Say what was promised",
        ),
    ]
    for values, field, message in cases:
        status, raw, _ = desk.submit(ALICE, modal, values)
        assert status == 200
        assert message in json.loads(raw)["errors"][field], (values, raw)
    with desk.app.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Promise)) == 0


def test_slash_promise_records_and_every_rejection_explains(desk: Desk):
    cid = desk.complaint()
    status, raw, _ = desk.command(ALICE, "/promise", f"#{cid} tomorrow 3pm call back about the refund")
    assert status == 200
    assert f"Promise recorded on #{cid}: “call back about the refund”" in body_text(raw)
    with desk.app.sessions() as s:
        p = s.scalars(select(Promise)).one()
        assert (p.due_at, p.owner_id) == (datetime(2026, 3, 3, 15, 0, tzinfo=UTC), ALICE)
    resolved = desk.complaint("@AcmeHelp my parcel never came")
    with desk.app.sessions() as s, s.begin():
        s.execute(Promise.__table__.update().values(status="kept"))
        from bot.store.models import Complaint

        s.execute(Complaint.__table__.update().where(Complaint.id == resolved).values(status="resolved"))
    cases = [
        ("tomorrow 3pm call back", "I need a complaint number first"),
        (f"#{cid} whenever call back", "couldn't find when"),
        (f"#{cid} 9am call back", "has passed"),
        (f"#{cid} 2028-01-01 call back", "more than a year"),
        (f"#{cid} tomorrow 3pm", "Say what was promised"),
        ("#999999 tomorrow call back", "There is no complaint #999999"),
        (f"#{resolved} tomorrow call back", "is resolved: reopen it"),
        ("", "I need a complaint number first"),
    ]
    for text, expected in cases:
        status, raw, _ = desk.command(ALICE, "/promise", text)
        assert status == 200
        assert expected in body_text(raw), (text, body_text(raw))
        assert json.loads(raw)["response_type"] == "ephemeral"
    assert "Only the support team" in body_text(desk.command(OUTSIDER, "/promise", f"#{cid} tomorrow call")[1])
    with desk.app.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Promise)) == 1
        commands = s.scalar(select(func.count()).select_from(Interaction).where(Interaction.name == "/promise"))
    assert commands == len(cases) + 2


# -- status ---------------------------------------------------------------------------------------------------


def test_complaints_command(desk: Desk):
    cid = desk.complaint(author_name="Dana")
    other = desk.complaint("@AcmeHelp app broken again")
    desk.click(ALICE, Action.CLAIM, str(cid))
    promise(desk, cid, owner=ALICE, hours=1, text="refund <!here> by transfer")
    desk.click(BOB, Action.RESOLVE, str(other))
    desk.submit(BOB, desk.opened_view(), {Field.NOTE: {"value": "fixed in 4.2"}})
    at(desk, hours=3)
    status = body_text(desk.command(ALICE, "/complaints", "status")[1])
    assert "new 0 · claimed 1 · escalated 0 · resolved 1" in status
    assert "1 overdue promise(s)" in status
    mine = body_text(desk.command(ALICE, "/complaints", "mine")[1])
    assert f"#{cid} @cust1" in mine
    assert "refund &lt;!here&gt; by transfer" in mine
    assert "2 h overdue" in mine
    overdue = body_text(desk.command(BOB, "/complaints", "late")[1])
    assert f"<@{ALICE}>" in overdue
    found = body_text(desk.command(BOB, "/complaints", "find @cust2")[1])
    assert "resolved: fixed in 4.2" in found
    assert "No earlier complaints from @nobody" in body_text(desk.command(BOB, "/complaints", "find @nobody")[1])
    helped = body_text(desk.command(BOB, "/complaints", "")[1])
    for sub in ("status", "mine", "overdue", "find @handle", "help"):
        assert f"/complaints {sub}" in helped
    unknown = body_text(desk.command(BOB, "/complaints", "frobnicate")[1])
    assert unknown.startswith("I don't know `frobnicate`")
    assert "/complaints status" in unknown


def test_app_home_shows_my_promises_overdue_first(desk: Desk):
    cid = desk.complaint()
    desk.click(ALICE, Action.CLAIM, str(cid))
    promise(desk, cid, hours=5, text="later one")
    promise(desk, cid, hours=1, text="earlier one")
    at(desk, hours=2)
    assert desk.event({"type": "app_home_opened", "user": ALICE, "tab": "home", "channel": "D0ALICE01"})[0] == 200
    desk.slack.wait_for(lambda: ALICE in desk.slack.state.home_views)
    text = json.dumps(desk.slack.state.home_views[ALICE])
    assert text.index("earlier one") < text.index("later one")
    assert "Your claims (1)" in text
    assert ":red_circle:" in text


# -- the daily reminder ------------------------------------------------------------------------------------------


def test_daily_reminder_once_per_local_date_even_after_downtime(desk: Desk):
    cid = desk.complaint()
    desk.complaint("@AcmeHelp another one, still waiting")
    promise(desk, cid, owner=ALICE, hours=-0.0 + 0.1, text="call back")
    promise(desk, cid, owner=BOB, hours=0.2, text="send voucher")
    promise(desk, cid, owner=ALICE, hours=30, text="tomorrow thing")
    at(desk, hours=-1)  # Monday 08:00: before DIGEST_TIME (09:00 UTC)
    assert desk.scheduler().tick()[1] is False
    at(desk, hours=5)  # the bot was down at 09:00; back at 14:00 the same day
    assert desk.scheduler().tick()[1] is True
    assert desk.scheduler().tick()[1] is False
    desk.deliver()
    [digest] = [m for m in desk.slack.channel_messages(COMPLAINTS) if m["text"].startswith("Daily reminder")]
    text = json.dumps(digest["blocks"])
    assert "2 overdue promise(s)" in text
    assert f"<@{ALICE}>" in text
    assert f"<@{BOB}>" in text
    assert "slack.test/archives" in text  # each links to its card
    assert "Unclaimed: 2" in text
    at(desk, hours=24)  # Tuesday 09:00
    assert desk.scheduler().tick()[1] is True
    with desk.app.sessions() as s:
        digests = select(JobRun.key).where(JobRun.kind == "digest").order_by(JobRun.key)
        assert s.scalars(digests).all() == ["2026-03-02", "2026-03-03"]


def test_daily_reminder_says_so_in_one_line_when_nothing_is_overdue(desk: Desk):
    desk.complaint()  # at 09:00, the reminder time: the desk has something to remind of
    desk.scheduler().tick()
    desk.deliver()
    [digest] = [m for m in desk.slack.channel_messages(COMPLAINTS) if m["text"].startswith("Daily reminder")]
    sections = [b["text"]["text"] for b in digest["blocks"] if b["type"] == "section"]
    assert sections[0] == ":white_check_mark: Nothing is overdue."


def test_an_empty_desk_gets_no_reminder_until_the_first_reminder_time_after_its_first_complaint(desk: Desk):
    """A new install used to greet the team with "Nothing is overdue" before it had seen a post."""
    scheduler = desk.scheduler()
    at(desk, hours=0)  # Monday 09:00, the reminder time, and the desk is empty
    assert scheduler.tick()[1] is False
    at(desk, hours=1)
    desk.complaint()  # the first complaint, at 10:00: today's reminder time has passed
    at(desk, hours=3)
    assert scheduler.tick()[1] is False
    at(desk, hours=23, minutes=59)  # Tuesday 08:59
    assert scheduler.tick()[1] is False
    at(desk, hours=24)  # Tuesday 09:00: the first reminder
    assert scheduler.tick()[1] is True
    with desk.app.sessions() as s:
        assert s.scalars(select(JobRun.key).where(JobRun.kind == "digest")).all() == ["2026-03-03"]


def test_resolve_marking_promises_kept_drops_their_queued_reminders(desk: Desk):
    """Resolve's "mark them kept" goes through the one promise close path: the reminder already
    queued for the owner must not go out for a promise that is kept (it used to)."""
    cid = desk.complaint()
    desk.click(ALICE, Action.CLAIM, str(cid))
    promise(desk, cid, hours=1)
    at(desk, hours=1)
    desk.scheduler().tick()  # the DM with Kept / Reschedule / Cancel is queued, not delivered yet
    assert [k for k, _ in nags(desk)] == ["nag_dm"]
    desk.click(ALICE, Action.RESOLVE, str(cid))
    desk.submit(
        ALICE,
        desk.opened_view(),
        {
            Field.NOTE: {"type": "plain_text_input", "value": "Called back, all sorted"},
            Field.CLOSE_PROMISES: {"type": "radio_buttons", "selected_option": {"value": "kept"}},
        },
    )
    desk.deliver()
    assert nags(desk) == []
    assert desk.slack.channel_messages("D0ALICE01") == []
    with desk.app.sessions() as s:
        kept = s.scalars(select(AuditEvent).where(AuditEvent.action == "promise_kept")).one()
    assert kept.details["why"] == "resolved"


def test_a_long_daily_reminder_stays_within_what_slack_accepts(desk: Desk):
    """20 owners with 15 overdue promises each: 60,000 characters in one message, which Slack refuses
    (msg_blocks_too_long) — once the reminder then never went out. It must go out, and say where the
    rest is."""
    owners = [f"U0OWNER{i:03d}" for i in range(20)]
    for owner in owners:
        desk.slack.add_user(owner, owner.lower(), channels=(COMPLAINTS,))
    desk.app.access.refresh()  # the team list is refreshed off the request path
    cids = [desk.complaint(f"@AcmeHelp order {i} never came, still waiting", post_card=False) for i in range(20)]
    desk.deliver()
    for n, owner in enumerate(owners):
        for k in range(15):
            promise(desk, cids[n], owner=owner, hours=0.1, text=f"call back about the refund and the voucher {k} " * 2)
    at(desk, hours=5)
    desk.scheduler().digest(desk.clock.now())
    desk.deliver()
    [digest] = [m for m in desk.slack.channel_messages(COMPLAINTS) if m["text"].startswith("Daily reminder")]
    text = json.dumps(digest["blocks"])
    assert "300 overdue promise(s)" in text
    assert "/complaints overdue` lists them all" in text
    with desk.app.sessions() as s:
        assert s.scalar(select(Delivery.status).where(Delivery.kind == "digest")) == "sent"
