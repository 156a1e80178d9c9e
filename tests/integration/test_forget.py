"""``data forget``: after it, nothing of the customer's is left in ANY table, on SQLite and PostgreSQL.

The customer is stored the way the bot stores people: posts through ingest (a complaint, a reply, a
second complaint, a repost of someone else's), the team's work on the card (claim, escalate with a
reason, a promise, resolve with a note), a triage label, raw records left in the inbox, a daily
reminder and an alert that name them. Then every text and JSON column of every table in the schema
is read back and searched for their handle, id, name, post ids and words.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import JSON, Column, Engine, Integer, String, Table, Text, func, select, update

from bot import outbox
from bot.cli import main
from bot.desk import complaints
from bot.desk import forget as forget_mod
from bot.desk.forget import MissingRule, Rule, forget, missing_rules, uncovered_columns
from bot.history import labels
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.posts import Post
from bot.outbox.kinds import DeliveryKind
from bot.promises import lifecycle as promises
from bot.store.engine import make_sessionmaker
from bot.store.models import (
    Base,
    Complaint,
    Delivery,
    InboxItem,
    Promise,
    SourceAlert,
    SourceCursor,
)
from bot.store.models import Post as PostRow
from bot.triage.classify import Triage

AT = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
POLICY = IngestPolicy("C0COMPLAIN", "C0KUDOS", frozenset({"1000"}), frozenset({"acmehelp"}))
HANDLE = "ForgetMe_Jo"
AUTHOR = "9900112233"
NAME = "Jo Forgetful"
THEIR_TEXTS = [
    "@AcmeHelp my parcel never arrived, still waiting since Monday, order zx-4471",
    "@AcmeHelp still nothing on zx-4471, this is the third time I ask",
    "@AcmeHelp charged twice for order qq-9182 and nobody answers",
]
THEIR_POST_IDS = ["770011", "770012", "770013", "770014"]
OTHER_TEXT = "@AcmeHelp my invoice is wrong again, third email this week"


def post(pid: str, text: str, author: str = AUTHOR, handle: str = HANDLE, **kw: Any) -> Post:
    values: dict[str, Any] = dict(
        source="x",
        id=pid,
        text=text,
        author_id=author,
        author_handle=handle,
        author_name=NAME if author == AUTHOR else "Sam Other",
        created_at=AT,
        followers=100,
        conversation_id=pid,
        url=f"https://x.com/{handle}/status/{pid}",
    )
    values.update(kw)
    return Post(**values)


def seed(engine: Engine) -> dict[str, int]:
    sessions = make_sessionmaker(engine)
    ingestor = Ingestor(Triage(), POLICY)
    other = ingestor.ingest_batch(sessions, [post("880001", OTHER_TEXT, author="5550001", handle="sam_other")], at=AT)
    theirs = ingestor.ingest_batch(
        sessions,
        [
            post(THEIR_POST_IDS[0], THEIR_TEXTS[0]),
            post(THEIR_POST_IDS[2], THEIR_TEXTS[2], conversation_id=THEIR_POST_IDS[2]),
        ],
        at=AT,
    )
    later = AT + timedelta(minutes=5)
    ingestor.ingest_batch(
        sessions,
        [
            post(THEIR_POST_IDS[1], THEIR_TEXTS[1], conversation_id=THEIR_POST_IDS[0], in_reply_to_id="770011"),
            post(THEIR_POST_IDS[3], f"RT @sam_other: {OTHER_TEXT}", retweet_of="880001"),
        ],
        at=later,
    )
    first, second = theirs[0].complaint_id, theirs[1].complaint_id
    assert first
    assert second
    assert other[0].complaint_id
    with sessions.begin() as s:  # the cards went out
        for cid in (first, second):
            s.execute(
                update(Complaint).where(Complaint.id == cid).values(slack_channel="C0COMPLAIN", slack_ts=f"17400.{cid}")
            )
        complaints.claim(s, first, user_id="U0AGENT", at=later)
        complaints.escalate(
            s,
            first,
            user_id="U0AGENT",
            tier="Tier 2",
            reason=f"{NAME} (@{HANDLE}) says order zx-4471 is lost",
            at=later,
            channel="C0ESCALATE",
        )
        promises.create(
            s,
            first,
            owner_id="U0AGENT",
            text=f"call @{HANDLE} back about zx-4471",
            due_at=later + timedelta(days=1),
            created_by="U0AGENT",
            at=later,
        )
        complaints.resolve(
            s,
            second,
            user_id="U0AGENT",
            note=f"refunded {NAME}, told @{HANDLE} by DM",
            customer_confirmed=True,
            at=later,
        )
        labels.record_label(s, THEIR_TEXTS[2], "complaint", "card", later, complaint_id=second)
        labels.record_label(s, THEIR_TEXTS[0], "complaint", "import", later)
        s.add(
            InboxItem(
                stream="x:mentions",
                record={
                    "id": "770099",
                    "text": "@AcmeHelp hello?? zx-4471",
                    "author_id": AUTHOR,
                    "author_handle": f"@{HANDLE}",
                    "created_at": "not a time",
                    "source": "x",
                },
                status="skipped",
                error="bad created_at",
                received_at=later,
            )
        )
        s.add(
            InboxItem(
                stream="x:mentions",
                record={
                    "id": "880099",
                    "text": "someone else entirely",
                    "author_id": "5550001",
                    "author_handle": "sam_other",
                    "created_at": "not a time",
                    "source": "x",
                },
                status="skipped",
                error="bad created_at",
                received_at=later,
            )
        )
        outbox.enqueue(
            s,
            DeliveryKind.DIGEST,
            key="digest:2026-03-02",
            channel="C0COMPLAIN",
            at=later,
            payload={"overdue": [{"ref": f"#{first}", "customer": f"@{HANDLE}", "text": THEIR_TEXTS[0]}]},
        )
        s.add(SourceAlert(key="note:x", incident=1, text=f"posts from @{HANDLE} look automated", updated_at=later))
        # X's since_id may be their post's id: a position, left alone, or the source would re-read or skip
        s.add(SourceCursor(name="x:mentions", cursor=THEIR_POST_IDS[3], updated_at=later))
        # Everything went to Slack; the customer's reply line quoted them: forget lists it for deletion there.
        s.execute(update(Delivery).values(status="sent"))
        s.execute(
            update(Delivery)
            .where(Delivery.kind == DeliveryKind.CUSTOMER_REPLY.value)
            .values(status="sent", remote_channel="C0COMPLAIN", remote_id="1740000000.000200")
        )
    return {"first": first, "second": second, "other": other[0].complaint_id}


def needles() -> list[str]:
    return [HANDLE.lower(), AUTHOR, NAME.lower(), *THEIR_POST_IDS, "770099", *(t.lower() for t in THEIR_TEXTS)]


def leftovers(engine: Engine) -> list[str]:
    """Every text and JSON value of every table that still holds something of theirs."""
    found = []
    with engine.connect() as conn:
        for name, table in sorted(Base.metadata.tables.items()):
            unswept = forget_mod.RULES[name].unswept
            columns = [c for c in table.columns if isinstance(c.type, String | Text | JSON) and c.name not in unswept]
            for row in conn.execute(select(*columns)).all():
                for column, value in zip(columns, row, strict=True):
                    if value is None:
                        continue
                    flat = (value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)).lower()
                    found += [f"{name}.{column.name}: {n!r} in {flat[:120]!r}" for n in needles() if n in flat]
    return found


def dump(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    with engine.connect() as conn:
        return {
            name: sorted(map(tuple, conn.execute(select(table)).all()), key=repr)
            for name, table in Base.metadata.tables.items()
        }


def test_every_table_has_a_rule_and_every_personal_looking_column_is_named():
    assert missing_rules() == []
    assert uncovered_columns() == []


def test_a_new_table_with_author_columns_is_caught(migrated: Engine):
    table = Table(
        "zz_replies_sent", Base.metadata, Column("id", Integer, primary_key=True), Column("author_handle", String(64))
    )
    try:
        assert missing_rules() == ["zz_replies_sent"]
        with make_sessionmaker(migrated)() as s, pytest.raises(MissingRule, match="zz_replies_sent"):
            forget(s, "x", HANDLE, at=AT)
        forget_mod.RULES["zz_replies_sent"] = Rule(forget_mod.Action.ANONYMISE, rows=lambda c: table.c.id < 0)
        assert uncovered_columns() == ["zz_replies_sent.author_handle"]
    finally:
        forget_mod.RULES.pop("zz_replies_sent", None)
        Base.metadata.remove(table)


def test_nothing_of_theirs_remains_in_any_table(migrated: Engine):
    ids = seed(migrated)
    assert len(leftovers(migrated)) > 20  # the scan finds them before: it can fail
    sessions = make_sessionmaker(migrated)
    with sessions() as s:
        before = {m.__tablename__: s.scalar(select(func.count()).select_from(m)) for m in (Complaint, Promise)}
        other_text = s.get(Complaint, ids["other"]).text

    with sessions.begin() as s:
        report = forget(s, "x", "@forgetme_jo", at=AT + timedelta(hours=1))

    assert leftovers(migrated) == []
    assert report.customer.author_ids == {AUTHOR}
    assert [(m.channel, m.ts, m.mode.value) for m in report.slack_messages] == [
        ("C0COMPLAIN", "1740000000.000200", "delete")
    ]
    with sessions() as s:
        # counts kept: the complaints and the promise are still there, anonymised
        assert {m.__tablename__: s.scalar(select(func.count()).select_from(m)) for m in (Complaint, Promise)} == before
        first = s.get(Complaint, ids["first"])
        assert (first.status, first.owner_id, first.author_handle, first.text) == (
            "escalated",
            "U0AGENT",
            "forgotten",
            "[forgotten]",
        )
        assert s.get(Complaint, ids["second"]).status == "resolved"
        assert s.scalar(select(func.count()).select_from(PostRow).where(PostRow.author_id == AUTHOR)) == 0
        # someone else's complaint is untouched, and their raw record stays
        assert s.get(Complaint, ids["other"]).text == other_text
        assert s.scalar(select(func.count()).select_from(InboxItem)) == 1
        assert s.get(SourceCursor, "x:mentions").cursor == THEIR_POST_IDS[3]
        # the card in Slack is asked to re-render without them
        assert s.scalar(select(Delivery.status).where(Delivery.key == f"update:{ids['first']}")) == "pending"


def test_dry_run_changes_nothing_and_says_per_table_what_would_go(migrated: Engine, capsys, tmp_path, monkeypatch):
    if migrated.dialect.name != "sqlite":
        pytest.skip("the CLI path is the same on both engines; the forgetting itself is tested on both above")
    seed(migrated)
    before = dump(migrated)
    url = migrated.url.render_as_string(hide_password=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", url)

    assert main(["data", "forget", f"@{HANDLE}", "--source", "x", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "posts: 4 row(s) deleted" in out
    assert "complaints: 2 row(s) anonymised" in out
    assert "inbox: 1 row(s) deleted" in out
    assert "1 message(s) would be deleted and 0 edited by the running bot" in out
    assert "delete C0COMPLAIN 1740000000.000200 thread_reply" in out
    assert "Dry run: nothing changed." in out
    assert dump(migrated) == before

    # no terminal to confirm on, no --yes: refused, nothing changed
    assert main(["data", "forget", f"@{HANDLE}", "--source", "x"]) == 2
    assert "Add --yes" in capsys.readouterr().out
    assert dump(migrated) == before

    assert main(["data", "forget", f"@{HANDLE}", "--source", "x", "--yes"]) == 0
    assert "Forgotten: @forgetme_jo on x" in capsys.readouterr().out
    assert leftovers(migrated) == []
    # asking again finds nobody
    assert main(["data", "forget", f"@{HANDLE}", "--source", "x", "--dry-run"]) == 1
    capsys.readouterr()
    # a network nothing is stored from and that is not configured: refused with the ones that are
    assert main(["data", "forget", f"@{HANDLE}", "--source", "facebok", "--dry-run"]) == 2
    assert "Unknown source 'facebok': the sources configured or with stored posts are x" in capsys.readouterr().err
