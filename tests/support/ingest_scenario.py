"""A representative stretch of ingest, through the production path, and everything it stored.

Two pages of raw records go through ``Inbox.write`` and ``InboxDrain`` (two streams, one of them
another network) with the rules' every branch: complaints, a question, praise, chatter, an exact
repeat, copies folded into a card of the same page and into a stored one (and the same words on
another network, not folded), retweets of a complaint of the same page, of a stored one whose card
is out and of a folded copy, replies in a complaint's conversation, the brand's own post and its
reply in a thread, a follow-up after Resolve, a repeat contact, and records that are malformed or
carry an over-long reference. ``stored`` reads back every table, so two runs can be compared
whole: what the bench measures is the same code storing the same rows.

Kept free of anything newer than the code it checks, so it also runs against an older tree.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update

from bot.common.clock import FakeClock
from bot.desk import complaints
from bot.intake.inbox import Inbox, InboxDrain, RawPost
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.store.engine import make_sessionmaker
from bot.store.models import Base, Complaint, Delivery
from bot.store.models import Post as PostRow
from bot.triage.classify import Triage

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
POLICY = IngestPolicy(
    "C0COMPLAIN", "C0KUDOS", frozenset({"1000"}), frozenset({"acmehelp"}), follow_up_days=7, team_timezone="UTC"
)
ORDER_LOST = "@AcmeHelp my order #4471 never arrived and nobody replies to my emails"
CHARGED_TWICE = "@AcmeHelp why was I charged twice for order 55?? this is ridiculous"
APP_CRASH = "@AcmeHelp the app keeps crashing when I try to pay. third time this week"


def _record(pid: str, text: str | None, author: str, minutes: int, **extra: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": pid,
        "author_id": author,
        "author_handle": extra.pop("handle", f"user{author}"),
        "created_at": (START - timedelta(minutes=minutes)).isoformat().replace("+00:00", "Z"),
        "followers": extra.pop("followers", 10 * int(author) if author.isdigit() else 0),
        "conversation_id": extra.pop("conversation_id", pid),
        **extra,
    }
    if text is not None:
        record["text"] = text
    return record


def _page(records: list[dict[str, Any]]) -> list[RawPost]:
    return [RawPost(f"record {i} (id {r.get('id')})", r) for i, r in enumerate(records)]


FIRST_PAGE = [
    _record("101", ORDER_LOST, "1", 50, lang="en", verified=True, author_name="Ann Lee", url="https://x.com/a/101"),
    _record("102", CHARGED_TWICE, "2", 49),
    _record("103", "@AcmeHelp do you ship to Canada?", "3", 48),
    _record("104", "@AcmeHelp thank you so much, great service from Sam today!", "4", 47),
    _record("105", "Just saw the new @AcmeHelp ad on tv", "5", 46),
    _record("106", "RT @user1: " + ORDER_LOST, "6", 45, retweet_of="101", conversation_id=None, followers=90_000),
    _record("102", "a repeat of 102 after a stream reconnect", "2", 49),
    _record("107", CHARGED_TWICE, "7", 44),
    _record("108", "@AcmeHelp still nothing, any update??", "1", 43, conversation_id="101", in_reply_to_id="101"),
    _record("109", "We are here to help, DM us any time", "1000", 42, handle="AcmeHelp"),
    _record(
        "110",
        "@user2 sorry about that, we will refund you by Friday",
        "1000",
        41,
        handle="AcmeHelp",
        conversation_id="102",
        in_reply_to_id="102",
    ),
    _record("111", None, "9", 40),
    _record("112", APP_CRASH, "12", 39, retweet_of="9" * 80, followers=12),
    _record("113", "@AcmeHelp cant log in to my account since monday, please help", "13", 38),
]

SECOND_PAGE = [
    _record("201", "RT @user1: " + ORDER_LOST, "21", 20, retweet_of="101", conversation_id=None, followers=5_000),
    _record("202", "RT @user1: " + ORDER_LOST, "22", 19, retweet_of="101", conversation_id=None, followers=700),
    _record("203", "RT @user7: " + CHARGED_TWICE, "23", 18, retweet_of="107", conversation_id=None, followers=40),
    _record("204", "@AcmeHelp hello?? still waiting on this", "1", 17, conversation_id="101", in_reply_to_id="108"),
    _record("205", "@AcmeHelp it's broken again, this is terrible", "12", 16),
    _record("206", CHARGED_TWICE, "26", 15),
    _record("101", "a repeat of 101", "1", 50),
    _record("104", "a repeat of 104", "4", 47),
    _record("207", "@AcmeHelp on hold for 45 minutes and then the call dropped. terrible service", "2", 14),
    _record("208", "RT @someone: great news", "28", 13, retweet_of="999999", conversation_id=None),
    _record("209", "@AcmeHelp love the new design, amazing work", "29", 12, followers=-5),
]

OTHER_NETWORK = [
    _record("m1", CHARGED_TWICE, "31", 10, source="mastodon"),
    _record("m2", "@AcmeHelp is the 40 model waterproof", "32", 9, source="mastodon"),
]


def run(engine: Engine) -> None:
    """Ingest the scenario into the migrated database behind ``engine``."""
    sessions = make_sessionmaker(engine)
    clock = FakeClock(START)
    inbox = Inbox(sessions, clock)
    drain = InboxDrain(sessions, Ingestor(Triage(), POLICY), clock)

    inbox.write("x:scenario", _page(FIRST_PAGE), cursor="113")
    drain.drain()

    clock.advance(minutes=5)
    with sessions() as s, s.begin():
        order_lost = s.scalar(select(PostRow.complaint_id).where(PostRow.external_id == "101"))
        crash = s.scalar(select(PostRow.complaint_id).where(PostRow.external_id == "112"))
        # The deliverer posted the first card meanwhile (its Slack side is not what is compared here).
        s.execute(update(Delivery).where(Delivery.key == f"card:{order_lost}").values(status="sent", remote_id="1.1"))
        s.execute(
            update(Complaint).where(Complaint.id == order_lost).values(slack_channel="C0COMPLAIN", slack_ts="1.1")
        )
        complaints.resolve(s, crash, user_id="U0ALICE01", note="app fixed", customer_confirmed=False, at=clock.now())

    clock.advance(minutes=5)
    inbox.write("x:scenario", _page(SECOND_PAGE), cursor="209")
    inbox.write("mastodon:scenario", _page(OTHER_NETWORK), cursor="m2")
    drain.drain()


def stored(engine: Engine, *, raw: bool) -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows in key order: as the database holds them (``raw``), or as read back."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    with engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            keys = list(table.primary_key.columns)
            if raw:
                order = ", ".join(f'"{c.name}"' for c in keys)
                result = conn.exec_driver_sql(f'SELECT * FROM "{table.name}" ORDER BY {order}')
            else:
                result = conn.execute(select(table).order_by(*keys))
            out[table.name] = [tuple(row) for row in result]
    return out
