"""``data forget`` over a whole history, Slack included, on SQLite and PostgreSQL.

Jo (handle ``jo``: two letters, and a word) and Émilie (``ÉmilieD``: not ASCII) complain; the team
escalates with Jo's number in the note, promises a call-back, replies from the card and on X,
resolves with a note, a nag and a daily reminder go out; another customer quotes ``@jo`` and the
number, a third writes "Jo from the shop" and "@joanna", and "nobody answers". Everything is
delivered to the Slack stand-in by the real worker. After ``forget`` (and the worker again) no
table, no JSON payload and no Slack message holds the handle, the account id, the phone number or
the e-mail address, and the other customers' rows differ only in the part that quoted Jo.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import JSON, Engine, String, Text, select

import bot.networks  # noqa: F401  (registers the networks' reach: replies from the card on X)
from bot.app import make_slack_client
from bot.common.clock import FakeClock
from bot.config import Secret, Settings
from bot.delivery.slack_transport import SlackTransport
from bot.delivery.worker import Deliverer
from bot.desk import complaints, replies
from bot.desk import forget as forget_mod
from bot.desk.forget import forget
from bot.history.event_kinds import EventKind
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.posts import Post
from bot.jobs.scheduler import Scheduler
from bot.outbox.kinds import DeliveryKind
from bot.promises import lifecycle as promises
from bot.store.engine import make_sessionmaker
from bot.store.models import AuditEvent, Base, Complaint, Delivery
from bot.store.models import Post as PostRow
from bot.triage.classify import Triage
from tests.support.slack_api import Fault, SlackStandIn

COMPLAIN, KUDOS, ESCALATE = "C0COMPLAIN", "C0KUDOS", "C0ESCALATE"
AGENT = "U0AGENT01"
BRAND_ID = "1000"
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
POLICY = IngestPolicy(COMPLAIN, KUDOS, frozenset({BRAND_ID}), frozenset({"acmehelp"}))

JO_ID, EMILIE_ID = "7319046628", "7319046629"
PHONE = "+44 7700 900123"
EMAIL = "emilie.d@example.fr"
MARIA_TEXT = f"@AcmeHelp @jo is right, {PHONE} never gets a callback and nobody answers the phone. Useless!"
MARIA_AFTER = "@AcmeHelp [forgotten] is right, [forgotten] never gets a callback and nobody answers the phone. Useless!"
SAM_TEXT = "@AcmeHelp Jo from the shop told @joanna the refund failed again, this is a disgrace"


def _post(pid: str, text: str, author: str, handle: str, name: str, **kw: Any) -> Post:
    values: dict[str, Any] = dict(
        source="x",
        id=pid,
        text=text,
        author_id=author,
        author_handle=handle,
        author_name=name,
        created_at=START,
        followers=120,
        conversation_id=pid,
        url=f"https://x.com/{handle}/status/{pid}",
        lang="en",
    )
    values.update(kw)
    return Post(**values)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def slack(clock: FakeClock) -> Iterator[SlackStandIn]:
    with SlackStandIn(rate_limit_per_channel=1.0) as stand_in:
        stand_in.clock = lambda: clock.now().timestamp()
        stand_in.wall = lambda: clock.now().timestamp()
        stand_in.add_user(AGENT, "Alex Agent", tz="Europe/London", channels=(COMPLAIN,))
        yield stand_in


def deliver(engine: Engine, slack: SlackStandIn, clock: FakeClock) -> None:
    """The real worker, until nothing is pending; the clock moves by what it asks to wait."""
    settings = Settings(slack_bot_token=Secret(slack.state.token), slack_api_url=slack.base_url)
    sessions = make_sessionmaker(engine)
    worker = Deliverer(sessions, clock, [SlackTransport(make_slack_client(settings), sessions, clock)])
    for _ in range(2000):
        if worker.step() > 0 and not worker.due():
            later = worker.next_due_in()
            if later is None:
                return
            clock.advance(seconds=max(later, 0.001))
    raise AssertionError("delivery did not go idle")


def history(engine: Engine, slack: SlackStandIn, clock: FakeClock) -> dict[str, int]:
    sessions = make_sessionmaker(engine)
    ingestor = Ingestor(Triage(), POLICY)

    def ingest(*posts: Post) -> list[Any]:
        return ingestor.ingest_batch(sessions, list(posts), at=clock.now())

    jo, emilie, maria, sam = (
        r.complaint_id
        for r in ingest(
            _post(
                "1901", f"@AcmeHelp my router is dead for a week, call me on {PHONE} please", JO_ID, "jo", "Jo Bloggs"
            ),
            _post(
                "1902", f"@AcmeHelp colis perdu, still no refund, write to {EMAIL}", EMILIE_ID, "ÉmilieD", "Émilie D"
            ),
            _post("1903", MARIA_TEXT, "5550001", "maria_g", "Maria G"),
            _post("1904", SAM_TEXT, "5550002", "sam_other", "Sam Other"),
        )
    )
    deliver(engine, slack, clock)
    clock.advance(minutes=5)
    now = clock.now()
    with sessions.begin() as s:
        complaints.claim(s, jo, user_id=AGENT, at=now)
        complaints.escalate(
            s, jo, user_id=AGENT, tier="Tier 2", reason=f"Jo Bloggs wants a call on {PHONE}", at=now, channel=ESCALATE
        )
        promises.create(
            s, jo, owner_id=AGENT, text=f"call {PHONE} back", due_at=now + timedelta(hours=1), created_by=AGENT, at=now
        )
        replies.request_reply(
            s, jo, text=f"@jo sorry! We will ring {PHONE} today", user_id=AGENT, tz="Europe/London", key="v1", at=now
        )
        complaints.resolve(
            s, emilie, user_id=AGENT, note=f"refunded, told ÉmilieD at {EMAIL}", customer_confirmed=False, at=now
        )
    with sessions.begin() as s:  # the reply went out on X (what the X transport's worker does)
        row = s.scalars(select(Delivery).where(Delivery.kind == DeliveryKind.REPLY.value)).one()
        row.status, row.remote_id = "sent", "1990001"
        replies.after_sent(s, row, "1990001", at=now, brand=replies.Brand({"x": "acmehelp"}, {"x": BRAND_ID}))
    clock.advance(minutes=1)
    ingest(  # Jo answers in the thread; the brand answers on X itself
        _post(
            "1905",
            f"@AcmeHelp still nothing, {PHONE} is my mobile",
            JO_ID,
            "jo",
            "Jo Bloggs",
            in_reply_to_id="1990001",
            conversation_id="1901",
        ),
        _post(
            "1906",
            "@jo we will call you back by 5pm today",
            BRAND_ID,
            "acmehelp",
            "Acme",
            in_reply_to_id="1905",
            conversation_id="1901",
        ),
    )
    deliver(engine, slack, clock)
    clock.advance(hours=2)  # the promise is overdue: a nag; and the daily reminder lists it
    settings = Settings(
        slack_bot_token=Secret(slack.state.token),
        slack_complaints_channel=COMPLAIN,
        slack_escalation_channel=ESCALATE,
        digest_time=time(9, 0),
        team_timezone="Europe/London",
    )
    Scheduler(sessions, settings, clock, tz_of=lambda _u: "Europe/London").tick()
    deliver(engine, slack, clock)
    return {"jo": jo, "emilie": emilie, "maria": maria, "sam": sam}


def _traces(*, handle: str, author_id: str, extra: list[str]) -> list[re.Pattern[str]]:
    return [
        re.compile(rf"(?<![\w@.-])@?{re.escape(handle)}(?![\w-]|[.@]\w)", re.IGNORECASE),
        re.compile(rf"(?<!\d){author_id}(?!\d)"),
        *(re.compile(e, re.IGNORECASE) for e in extra),
    ]


JO = _traces(handle="jo", author_id=JO_ID, extra=[r"7700\D{0,3}900\D{0,3}123", "Jo Bloggs"])
EMILIE = _traces(handle="émilied", author_id=EMILIE_ID, extra=[re.escape(EMAIL), "Émilie D"])


UNSWEPT = {name: set(rule.unswept) for name, rule in forget_mod.RULES.items()}
"""Sources' positions, left alone on purpose (read before any test changes the rules)."""


def in_tables(engine: Engine, traces: list[re.Pattern[str]]) -> list[str]:
    found = []
    with engine.connect() as conn:
        for name, table in sorted(Base.metadata.tables.items()):
            unswept = UNSWEPT[name]
            columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON) and c.name not in unswept]
            for row in conn.execute(select(*columns)).all():
                for column, value in zip(columns, row, strict=True):
                    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                    # in their own rows the handle may stand bare; "jo" also stands in "Jo from the shop"
                    hits = [t.pattern for t in traces if value is not None and t.search(text)]
                    if name in ("complaints", "posts") and column.name == "text" and "Jo from the shop" in text:
                        hits = [h for h in hits if h != traces[0].pattern]
                    found += [f"{name}.{column.name}: {h} in {text[:100]!r}" for h in hits]
    return found


def in_slack(slack: SlackStandIn, traces: list[re.Pattern[str]]) -> list[str]:
    found = []
    for channel, messages in slack.state.messages.items():
        for m in messages:
            shown = json.dumps({"text": m.get("text"), "blocks": m.get("blocks")}, ensure_ascii=False)
            shown = shown.replace("Jo from the shop", "")  # Sam's words about someone else
            found += [f"{channel} {m['ts']}: {t.pattern}" for t in traces if t.search(shown)]
    return found


def others(engine: Engine, ids: dict[str, int]) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = conn.execute(select(Complaint).where(Complaint.id.in_([ids["maria"], ids["sam"]]))).mappings().all()
        posts = conn.execute(select(PostRow).where(PostRow.author_id.in_(["5550001", "5550002"]))).mappings().all()
    return {
        "complaints": sorted(map(dict, rows), key=lambda r: r["id"]),
        "posts": sorted(map(dict, posts), key=lambda r: r["id"]),
    }


def test_forgetting_reaches_every_table_and_every_slack_message(
    migrated: Engine, slack: SlackStandIn, clock: FakeClock
):
    ids = history(migrated, slack, clock)
    kinds = {
        m.get("metadata", {}).get("event_payload", {}).get("delivery_id")
        for ms in slack.state.messages.values()
        for m in ms
    }
    assert len(kinds) >= 10
    # before: the scans can fail — Jo is everywhere, in the database and in Slack
    assert len(in_tables(migrated, JO)) > 15
    assert len(in_slack(slack, JO)) >= 6
    assert in_tables(migrated, EMILIE)
    assert in_slack(slack, EMILIE)
    before = others(migrated, ids)

    sessions = make_sessionmaker(migrated)
    with sessions.begin() as s:
        report = forget(s, "x", "@JO", at=clock.now())
    assert report.customer.author_ids == {JO_ID}
    modes = {m.mode.value for m in report.slack_messages}
    assert modes == {"delete", "edit"}
    deliver(migrated, slack, clock)

    assert in_tables(migrated, JO) == []
    assert in_slack(slack, JO) == []
    after = others(migrated, ids)
    # Maria's rows lose exactly the part that quoted Jo; Sam's ("Jo from the shop", "@joanna") nothing
    assert after["complaints"][0]["text"] == MARIA_AFTER
    refreshed = {"text_key": None, "updated_at": None}  # the card's re-render is asked for: bookkeeping
    assert after["complaints"][0] | {"text": MARIA_TEXT} | refreshed == before["complaints"][0] | refreshed
    assert after["complaints"][1] == before["complaints"][1]
    assert [p["text"] for p in after["posts"]] == [MARIA_AFTER, SAM_TEXT]
    assert any("nobody answers" in json.dumps(m.get("blocks")) for m in slack.channel_messages(COMPLAIN))
    # Émilie is still there: forgetting Jo touched nobody else
    assert in_tables(migrated, EMILIE)
    assert in_slack(slack, EMILIE)

    with sessions.begin() as s:  # the handle typed in another case, on an engine whose lower() is ASCII-only
        report = forget(s, "x", "@émilied", at=clock.now())
    assert report.customer.author_ids == {EMILIE_ID}
    deliver(migrated, slack, clock)
    assert in_tables(migrated, EMILIE) == []
    assert in_slack(slack, EMILIE) == []

    with sessions() as s:  # each forget is on record, with counts and nothing of theirs
        done = s.scalars(select(AuditEvent).where(AuditEvent.action == EventKind.FORGOTTEN.value)).all()
        assert [e.details["source"] for e in done] == ["x", "x"]
        assert done[0].details["slack_messages"] >= 6


def test_a_handle_that_matches_nobody_changes_nothing(migrated: Engine, slack: SlackStandIn, clock: FakeClock):
    history(migrated, slack, clock)
    with make_sessionmaker(migrated).begin() as s:
        report = forget(s, "x", "@nobody", at=clock.now())
        assert not report.found
        assert (report.tables, report.slack_messages) == ([], [])
    with migrated.connect() as conn:
        texts = conn.execute(select(Complaint.text)).scalars().all()
    assert MARIA_TEXT in texts


@pytest.mark.parametrize(
    ("table", "column"),
    [("deliveries", "payload"), ("commitment_labels", "reply_text"), ("audit_events", "note"), ("posts", "text")],
)
def test_a_column_left_out_of_the_rules_is_caught(
    migrated: Engine, slack: SlackStandIn, clock: FakeClock, monkeypatch, table: str, column: str
):
    """Mutation check: the same history, with one column taken out of the forgetting (its rule, the
    rule's scrub and the sweep): the scan finds Jo there."""
    history(migrated, slack, clock)
    rule = forget_mod.RULES[table]
    mutated = forget_mod.Rule(
        forget_mod.Action.ANONYMISE if rule.action is forget_mod.Action.DELETE else rule.action,
        rows=rule.rows
        if rule.action is not forget_mod.Action.DELETE
        else (lambda c: Base.metadata.tables[table].c.id < 0),
        replace={k: v for k, v in rule.replace.items() if k != column},
        keeps=rule.keeps,
        unswept={**rule.unswept, column: "mutation"},
    )
    monkeypatch.setitem(forget_mod.RULES, table, mutated)
    real = forget_mod._text_columns
    monkeypatch.setattr(
        forget_mod, "_text_columns", lambda t: [c for c in real(t) if (t.name, c.name) != (table, column)]
    )
    with make_sessionmaker(migrated).begin() as s:
        forget(s, "x", "@jo", at=clock.now())
    left = in_tables(migrated, JO)
    assert any(line.startswith(f"{table}.{column}:") for line in left), left


def test_each_message_is_deleted_or_edited_once_through_lost_answers_and_rate_limits(
    migrated: Engine, slack: SlackStandIn, clock: FakeClock
):
    """Slack deleted the message but the answer was lost: the retry's ``message_not_found`` means done,
    not failed. An edit refused with 429 waits and goes. Forgetting again adds nothing."""
    history(migrated, slack, clock)
    sessions = make_sessionmaker(migrated)
    with sessions.begin() as s:
        report = forget(s, "x", "jo", at=clock.now())
    slack.inject(Fault("lost", method="chat.delete"))
    slack.inject(Fault("429", method="chat.update", retry_after=3))
    deliver(migrated, slack, clock)
    with sessions() as s:
        rows = s.scalars(select(Delivery).where(Delivery.kind == DeliveryKind.FORGET_MESSAGE.value)).all()
        assert len(rows) == len(report.slack_messages) >= 6
        assert {r.status for r in rows} == {"sent"}
    assert in_slack(slack, JO) == []
    deletes = len(slack.calls_to("chat.delete"))
    with sessions.begin() as s:
        again = forget(s, "x", "jo", at=clock.now())
    assert not again.found
    deliver(migrated, slack, clock)
    assert len(slack.calls_to("chat.delete")) == deletes
