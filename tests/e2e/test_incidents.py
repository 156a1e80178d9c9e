"""Incident mode end to end: the real app behind waitress getting signed requests, the Slack stand-in,
the X stand-in (strict OAuth 1.0a, X's write limits and duplicate rule, the unsummoned-reply 403),
an injected clock.

A 300-customer login outage ingested at once, with ordinary complaints among it → one incident
card, no member card, the ordinary complaints carded → Claim and Promise on the incident card →
Resolve incident, previewed with three customers' texts → one reply per customer on X, every text
distinct, paced within 200 per 15 minutes, progress in the incident's thread, every member resolved
— with the worker killed mid-send (the post made, nothing recorded) and started again: none doubled.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select, update

from bot import networks
from bot.config import Secret
from bot.delivery.worker import LEASE
from bot.incidents import membership, semantic, suggest
from bot.incidents.suggest import Suggester
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.posts import Post
from bot.networks.x.settings import XSettings
from bot.outbox.transport import Sent
from bot.runtime import build_deliverer
from bot.slack.ids import Action, Field
from bot.store.models import AuditEvent, Complaint, Delivery, Incident, IncidentSuggestion, IncidentUpdate, Promise
from bot.triage.classify import Triage
from tests.support.harness import COMPLAINTS, OUTSIDER, TEAM, Desk
from tests.support.incident_storm import BACKGROUND, BACKGROUND_FOURTH, BACKGROUND_FRESH, LOGIN, PAYMENT
from tests.support.x_api import XStandIn

ALICE, BOB, _ = TEAM
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def x() -> Iterator[XStandIn]:
    with XStandIn() as stand_in:
        yield stand_in


@pytest.fixture
def desk(db_url: str, x: XStandIn) -> Iterator[Desk]:
    keys = x.set_brand("99", "AcmeHelp")
    d = Desk(
        db_url,
        networks=networks.settings_with(
            x=XSettings(
                api_url=x.base_url,
                brand_handle="AcmeHelp",
                user_id="99",
                api_key=Secret(keys["X_API_KEY"]),
                api_secret=Secret(keys["X_API_SECRET"]),
                access_token=Secret(keys["X_ACCESS_TOKEN"]),
                access_token_secret=Secret(keys["X_ACCESS_TOKEN_SECRET"]),
            )
        ),
    )
    x.now = lambda: d.clock.now().timestamp()
    yield d
    d.close()


def storm(desk: Desk, x: XStandIn, customers: int, *, seed: int = 3, unrelated: int = 12) -> list[Post]:
    """``customers`` customers on the login outage within 20 minutes, in varied words (a few do not
    mention the brand: found by search), and ``unrelated`` ordinary complaints among them."""
    rng = random.Random(seed)
    posts = []
    for n in range(customers):
        mention = "" if n % 50 == 7 else "@AcmeHelp "
        text = mention + rng.choice(LOGIN)
        posts.append(post(x, f"{9000 + n}", f"{50000 + n}", text, START + timedelta(seconds=rng.uniform(0, 1200))))
    for n in range(unrelated):
        text = "@AcmeHelp " + BACKGROUND[n % len(BACKGROUND)].format(n=n + 3, item="lamp", city="York", month="May")
        posts.append(post(x, f"{8000 + n}", f"{60000 + n}", text, START + timedelta(seconds=rng.uniform(0, 1200))))
    rng.shuffle(posts)
    return posts


def post(x: XStandIn, post_id: str, author: str, text: str, at: datetime) -> Post:
    """X's ids are numbers; 5xxxx are the outage's customers, 6xxxx the ordinary complaints'."""
    x.add_user(author, f"{author}_h")
    x.add_tweet(post_id, text, author)
    return Post(
        source="x",
        id=post_id,
        text=text,
        author_id=author,
        author_handle=f"{author}_h",
        author_name=f"Name{author} Surname",
        created_at=at,
        followers=100,
    )


def top_level(desk: Desk) -> list[dict]:
    return [m for m in desk.slack.channel_messages(COMPLAINTS) if not m.get("thread_ts") or m["thread_ts"] == m["ts"]]


def incident_card(desk: Desk, anchor: int) -> dict:
    return desk.card(anchor)


def small_incident(desk: Desk, x: XStandIn) -> Incident:
    """Twenty customers on the login outage, ingested at once at START + 25 min: one incident."""
    desk.clock.set(START + timedelta(minutes=25))
    desk.ingestor.ingest_batch(desk.app.sessions, storm(desk, x, 20, unrelated=0), at=desk.clock.now())
    desk.deliver()
    with desk.app.sessions() as s:
        [incident] = s.scalars(select(Incident)).all()
    return incident


def preview(desk: Desk, user: str, incident_id: int, words: str, action: Action = Action.INCIDENT_UPDATE) -> dict:
    """Open Post update (or Resolve incident) as ``user``, write ``words`` and press Preview: the
    confirm step's view — with the form's id, as Slack keeps a view's id through
    ``response_action: update``."""
    opened = len(desk.slack.state.views)
    desk.click(user, action, str(incident_id))
    form = desk.opened_view(opened + 1)
    _, raw, _ = desk.submit(user, form, {Field.INCIDENT_TEMPLATE: {"value": words}})
    return json.loads(raw)["view"] | {"id": form["id"]}


def buttons(message: dict) -> dict[str, dict]:
    return {
        e["text"]["text"]: e for b in message["blocks"] for e in b.get("elements") or [] if e.get("type") == "button"
    }


class Killed(BaseException):
    """What a SIGKILL leaves: the process gone between the network's answer and our commit."""


class DiesAfterPosting:
    """The X transport, killed right after X took some posts — before anything was recorded."""

    def __init__(self, real: object, kill_after: set[int]) -> None:
        self.real = real
        self.name = "x"
        self.kill_after = kill_after
        self.calls = 0

    def send(self, row: Delivery, complaint: Complaint | None, card: Complaint | None) -> Sent:
        sent = self.real.send(row, complaint, card)  # type: ignore[attr-defined]
        self.calls += 1
        if self.calls in self.kill_after:
            raise Killed
        return sent


def run_worker_with_kills(desk: Desk, kills: list[int], until: datetime) -> int:
    """Deliver until ``until`` on the injected clock; the worker dies after the ``kills``-th posts
    of each life and a new one starts (after the lease of the row it died on ran out)."""
    deaths = 0
    worker = build_deliverer(desk.app, unpaced=True)
    plan = list(kills)
    x_transport = worker.transports["x"]
    worker.transports["x"] = DiesAfterPosting(x_transport, {plan.pop(0)} if plan else set())  # type: ignore[assignment]
    while desk.clock.now() < until:
        try:
            worker.drain()
        except Killed:
            deaths += 1
            desk.clock.advance(LEASE + timedelta(seconds=1))
            worker = build_deliverer(desk.app, unpaced=True)  # a new process: nothing kept in memory
            x_transport = worker.transports["x"]
            worker.transports["x"] = DiesAfterPosting(x_transport, {plan.pop(0)} if plan else set())  # type: ignore[assignment]
            continue
        desk.clock.advance(timedelta(seconds=5))
    return deaths


def test_a_storm_is_one_incident_and_resolving_it_answers_every_customer_once(desk: Desk, x: XStandIn, db_url: str):
    # The 300 customers on SQLite; 120 on PostgreSQL, where the same paths cost three times
    # the time (CI's ten minutes).
    n = 300 if db_url.startswith("sqlite") else 120
    reachable = n - sum(1 for i in range(n) if i % 50 == 7)
    desk.clock.set(START + timedelta(minutes=25))
    posts = storm(desk, x, n)
    desk.ingestor.ingest_batch(desk.app.sessions, posts, at=desk.clock.now())
    desk.deliver()

    with desk.app.sessions() as s:
        [incident] = s.scalars(select(Incident)).all()
        members = s.scalars(select(Complaint).where(Complaint.incident_id == incident.id)).all()
        ordinary = s.scalars(select(Complaint).where(Complaint.incident_id.is_(None))).all()
    absorbed = [m.text for m in members if m.author_id.startswith("6")]
    assert incident.customers == n, absorbed
    assert len(members) == n
    assert len(ordinary) == 12, "no ordinary complaint is absorbed"
    assert "login" in incident.title
    assert incident.threshold_post_at < incident.latest_post_at  # detected on the posts' own times

    cards = top_level(desk)
    texts = [json.dumps(m["blocks"]) for m in cards]
    assert sum("Incident #" in t for t in texts) == 1, "one incident card"
    carded = [c for c in ordinary if c.kind in ("complaint", "question")]
    assert len(carded) >= 9
    assert sum("Complaint #" in t or "Question #" in t for t in texts) == len(carded), (
        "every ordinary complaint carded, no member carded"
    )
    card = incident_card(desk, incident.anchor_id)
    shown = json.dumps(card["blocks"])
    assert f"{n} customers" in shown
    assert "login" in shown
    assert set(buttons(card)) >= {"Claim", "Promise", "Post update", "Resolve incident"}

    # Claim and Promise: the incident has one owner and one promise with the usual ladder.
    desk.click(ALICE, Action.CLAIM, buttons(card)["Claim"]["value"])
    desk.deliver()
    assert "Claimed" in json.dumps(incident_card(desk, incident.anchor_id)["blocks"])

    # Resolve incident: write, preview three customers' texts, send.
    opened = len(desk.slack.state.views)
    desk.click(ALICE, Action.INCIDENT_RESOLVE, str(incident.id))
    form = desk.opened_view(opened + 1)
    template = "{name}, logins work again — sorry for the trouble this morning."
    status, raw, _ = desk.submit(ALICE, form, {Field.INCIDENT_TEMPLATE: {"value": template}})
    assert status == 200
    answer = json.loads(raw)
    assert answer["response_action"] == "update"
    confirm = answer["view"]
    preview = json.dumps(confirm["blocks"])
    assert preview.count("logins work again") == 3, "three rendered examples"
    assert "{name}" not in preview
    assert "cannot be from here" in preview  # the posts that do not mention the brand
    sent_at = desk.clock.now()
    status, raw, _ = desk.submit(ALICE, confirm, {})
    assert status == 200
    assert raw in (b"", b"{}"), raw
    desk.submit(ALICE, confirm, {})  # Send pressed twice: nothing more

    with desk.app.sessions() as s:
        [update] = s.scalars(select(IncidentUpdate)).all()
        rows = s.scalars(select(Delivery).where(Delivery.key.like(f"incident:{update.id}:%"))).all()
        unresolved = s.scalar(
            select(func.count())
            .select_from(Complaint)
            .where(Complaint.incident_id == incident.id, Complaint.status != "resolved")
        )
    assert unresolved == 0, "every member resolved with the incident"
    assert len(update.unreachable) == n - reachable  # the posts that do not mention the brand
    assert len(rows) == reachable == update.customers
    assert max(r.available_at for r in rows) - sent_at < timedelta(minutes=23)

    deaths = run_worker_with_kills(desk, [7, 40, 30], until=sent_at + timedelta(minutes=30))
    assert deaths == 3

    replies = [t for t in x.state.tweets if t.get("author_id") == "99"]
    by_target = Counter(next(r["id"] for r in t["referenced_tweets"] if r["type"] == "replied_to") for t in replies)
    assert len(replies) == reachable, "each reachable customer answered"
    assert all(n == 1 for n in by_target.values()), "none answered twice across the kills"
    words = [t["text"].split(" ", 1)[1] for t in replies]
    assert len(set(words)) == len(words), "no two texts the same on X"
    # Within X's windows: never more than 200 in any 15 minutes.
    times = sorted(x._posted_at)
    assert all(sum(1 for u in times if t - 900 < u <= t) <= 200 for t in times)

    thread = [
        json.dumps(m["blocks"]) for m in desk.slack.thread(COMPLAINTS, incident_card(desk, incident.anchor_id)["ts"])
    ]
    assert any(f"Sending the resolution to *{reachable}* customers" in t for t in thread)
    assert any("cannot be answered from here" in t for t in thread)
    assert any(f"*100 of {reachable}*" in t for t in thread), "progress while it goes"
    assert any(f"{reachable} of {reachable}" in t for t in thread), "and at the end"
    assert not any("replied (on X)" in t for t in thread), "no line per reply"
    assert "Incident resolved" in json.dumps(incident_card(desk, incident.anchor_id)["blocks"])


def test_a_member_card_posted_before_detection_points_to_the_incident_and_its_replies_go_there(desk: Desk, x: XStandIn):
    desk.clock.set(START + timedelta(minutes=25))
    early = [
        post(x, f"{7000 + n}", f"{70000 + n}", f"@AcmeHelp {text}", START + timedelta(minutes=n))
        for n, text in enumerate(
            [
                "can't log in to the app, keeps saying error",
                "login is broken again?? been trying for ages",
                "unable to sign in on my phone or laptop",
                "your login server is down, fix it",
                "login error every single time I try",
            ]
        )
    ]
    desk.ingestor.ingest_batch(desk.app.sessions, early, at=desk.clock.now())
    desk.deliver()
    assert len(top_level(desk)) == 5, "five customers are five cards until there are fifteen"
    rest = storm(desk, x, 40, unrelated=0)
    desk.ingestor.ingest_batch(desk.app.sessions, rest, at=desk.clock.now())
    desk.deliver()
    with desk.app.sessions() as s:
        [incident] = s.scalars(select(Incident)).all()
        first = s.scalars(select(Complaint).where(Complaint.external_id == early[0].id)).one()
        outside = s.scalars(select(Complaint.text).where(Complaint.incident_id.is_(None))).all()
        early_members = s.scalar(
            select(func.count())
            .select_from(Complaint)
            .where(Complaint.incident_id == incident.id, Complaint.external_id.in_([p.id for p in early]))
        )
    assert early_members == 5, "the cards posted before it was found are part of it"
    assert incident.customers >= 43, outside
    assert len(top_level(desk)) == 6 + len(outside), "one incident card more, and cards for what it left out"
    assert "part of *incident #" in json.dumps(desk.card(first.id)["blocks"])
    # The early customer writes again: the line goes to the incident's thread, not their old card.
    again = Post(
        source="x",
        id="77777",
        text="@AcmeHelp still can't log in!!",
        author_id=first.author_id,
        author_handle=first.author_handle,
        created_at=desk.clock.now(),
        conversation_id=first.conversation_id,
        in_reply_to_id=first.external_id,
    )
    desk.ingestor.ingest_batch(desk.app.sessions, [again], at=desk.clock.now())
    desk.deliver()
    anchor_ts = incident_card(desk, incident.anchor_id)["ts"]
    assert any("still can" in json.dumps(m["blocks"]) for m in desk.slack.thread(COMPLAINTS, anchor_ts))
    assert not desk.slack.thread(COMPLAINTS, desk.card(first.id)["ts"])[1:]


def test_an_incident_promise_is_nagged_like_any_promise(desk: Desk, x: XStandIn):
    desk.clock.set(START + timedelta(minutes=25))
    desk.ingestor.ingest_batch(desk.app.sessions, storm(desk, x, 20, unrelated=0), at=desk.clock.now())
    desk.deliver()
    with desk.app.sessions() as s:
        [incident] = s.scalars(select(Incident)).all()
    anchor = str(incident.anchor_id)
    desk.click(ALICE, Action.CLAIM, anchor)
    opened = len(desk.slack.state.views)
    desk.click(ALICE, Action.PROMISE, anchor)
    view = desk.opened_view(opened + 1)
    status, raw, _ = desk.submit(
        ALICE, view, {Field.WHAT: {"value": "update everyone"}, Field.WHEN: {"value": "in 1 hour"}}
    )
    assert status == 200, raw
    with desk.app.sessions() as s:
        [promise] = s.scalars(select(Promise)).all()
    assert promise.complaint_id == incident.anchor_id
    assert promise.owner_id == ALICE
    desk.deliver()
    desk.clock.set(promise.due_at + timedelta(minutes=1))
    desk.scheduler().tick()
    desk.deliver()
    dms = [m for channel, ms in desk.slack.state.messages.items() if channel.startswith("D") for m in ms]
    assert any("update everyone" in json.dumps(m) for m in dms), "the owner is nagged"


def test_not_an_incident_gives_every_customer_their_card_and_the_topic_stays_ungrouped_today(desk: Desk, x: XStandIn):
    desk.clock.set(START + timedelta(minutes=25))
    desk.ingestor.ingest_batch(desk.app.sessions, storm(desk, x, 20, unrelated=0), at=desk.clock.now())
    desk.deliver()
    with desk.app.sessions() as s:
        [incident] = s.scalars(select(Incident)).all()
    card = incident_card(desk, incident.anchor_id)
    release = buttons(card)["Not an incident"]
    assert "confirm" in release, "Slack asks before the click is sent"
    status, _, _ = desk.click(BOB, Action.INCIDENT_RELEASE, release["value"])
    assert status == 200
    desk.deliver()
    with desk.app.sessions() as s:
        released = s.get(Incident, incident.id)
        members = s.scalars(select(Complaint).where(Complaint.external_id.like("9%"))).all()
    assert released.status == "released"
    assert released.resolved_by == BOB
    assert all(c.incident_id is None for c in members)
    carded = [c for c in members if c.kind in ("complaint", "question") and c.duplicate_of is None]
    assert carded, "the storm had complaints of its own"
    assert all(c.slack_ts for c in carded), "every customer's card is posted"
    texts = [json.dumps(m["blocks"]) for m in top_level(desk)]
    assert not any("Incident #" in t for t in texts), "the incident card is its own complaint's card again"
    thread = [json.dumps(m["blocks"]) for m in desk.slack.thread(COMPLAINTS, card["ts"])]
    assert any("not an incident" in t for t in thread)
    # More posts on the topic today open no incident again.
    more = [
        post(x, f"{9500 + n}", f"{59500 + n}", f"@AcmeHelp {LOGIN[n % len(LOGIN)]}", START + timedelta(minutes=30))
        for n in range(20)
    ]
    desk.ingestor.ingest_batch(desk.app.sessions, more, at=desk.clock.now())
    with desk.app.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Incident).where(Incident.status == "open")) == 0


def test_not_an_incident_is_refused_once_its_customers_were_told_it_is_one(desk: Desk, x: XStandIn):
    incident = small_incident(desk, x)
    desk.submit(ALICE, preview(desk, ALICE, incident.id, "{name}, we are on it."), {})
    desk.deliver()
    assert "Not an incident" not in buttons(incident_card(desk, incident.anchor_id))
    desk.click(ALICE, Action.INCIDENT_RELEASE, str(incident.id), key="release")
    [answer] = desk.responses("release")
    assert "resolve it instead" in json.dumps(answer)
    with desk.app.sessions() as s:
        assert s.get(Incident, incident.id).status == "open"


def test_a_colleagues_update_sent_while_one_was_being_written_refuses_the_second(desk: Desk, x: XStandIn):
    """Alice and Bob both open Post update and preview it; Alice sends. Bob's Send would give every
    customer a second reply: it is refused, saying when and by whom, and nothing is stored. Bob
    previewing again (having read hers) can send another."""
    incident = small_incident(desk, x)
    alice = preview(desk, ALICE, incident.id, "{name}, we are on it.")
    bob = preview(desk, BOB, incident.id, "{name}, fix coming within the hour.")
    desk.submit(ALICE, alice, {})
    _, raw, _ = desk.submit(BOB, bob, {})
    refused = json.dumps(json.loads(raw))
    assert "Not sent" in refused
    assert "two replies" in refused
    assert f"<@{ALICE}>" in refused
    with desk.app.sessions() as s:
        assert [u.sent_by for u in s.scalars(select(IncidentUpdate))] == [ALICE]
    desk.clock.advance(timedelta(minutes=2))
    desk.submit(BOB, preview(desk, BOB, incident.id, "{name}, fix coming within the hour."), {})
    with desk.app.sessions() as s:
        assert [u.sent_by for u in s.scalars(select(IncidentUpdate).order_by(IncidentUpdate.id))] == [ALICE, BOB]


def test_a_customer_whose_follow_up_lacks_the_mention_is_answered_on_the_post_that_has_it(desk: Desk, x: XStandIn):
    """X takes an API reply only to a post that mentions the brand. A customer who wrote "@AcmeHelp
    login down" and then, later, "still broken for me" is answered on the first post — not listed
    as someone the team must answer by hand. One who never mentioned the brand still is."""
    desk.clock.set(START + timedelta(minutes=25))
    posts = storm(desk, x, 20, unrelated=0)
    first = next(p for p in posts if p.text.startswith("@AcmeHelp"))
    follow_up = post(x, "9900", first.author_id, "login still broken for me, same error", START + timedelta(minutes=24))
    desk.ingestor.ingest_batch(desk.app.sessions, [*posts, follow_up], at=desk.clock.now())
    desk.deliver()
    with desk.app.sessions() as s:
        [incident] = s.scalars(select(Incident)).all()
        members = set(s.scalars(select(Complaint.external_id).where(Complaint.incident_id == incident.id)))
    assert {first.id, "9900"} <= members, "the follow-up is part of the incident too"
    desk.submit(ALICE, preview(desk, ALICE, incident.id, "{name}, fixed now. Sorry!", Action.INCIDENT_RESOLVE), {})
    with desk.app.sessions() as s:
        [update] = s.scalars(select(IncidentUpdate)).all()
    assert first.author_handle not in {u["handle"] for u in update.unreachable}
    run_worker_with_kills(desk, [], until=desk.clock.now() + timedelta(minutes=5))
    replies = [t for t in x.state.tweets if t.get("author_id") == "99"]
    targets = [next(r["id"] for r in t["referenced_tweets"] if r["type"] == "replied_to") for t in replies]
    assert first.id in targets
    assert "9900" not in targets
    assert len(targets) == len(set(targets)) == update.customers


def test_a_customer_the_grouping_missed_is_added_by_hand_and_hears_the_resolution(desk: Desk, x: XStandIn):
    """``/complaints move #42 incident 7``: a customer who only told the symptom keeps an ordinary card;
    one command makes them a member — their card says so, the incident's numbers count them, the
    thread says who added them — and the resolution reaches them like everyone else."""
    incident = small_incident(desk, x)
    desk.clock.set(START + timedelta(minutes=26))
    symptom = "@AcmeHelp the page says something unexpected happened whenever I open my details"
    missed = post(x, "9990", "99900", symptom, desk.clock.now())
    desk.ingestor.ingest_batch(desk.app.sessions, [missed], at=desk.clock.now())
    desk.deliver()
    with desk.app.sessions() as s:
        c = s.scalars(select(Complaint).where(Complaint.external_id == "9990")).one()
        before = s.get(Incident, incident.id)
    assert c.incident_id is None, "the grouping cannot read a symptom (the case this is for)"
    assert "part of *incident #" not in json.dumps(desk.card(c.id)["blocks"])
    hint = json.dumps(incident_card(desk, incident.anchor_id)["blocks"])
    assert f"/complaints move #N incident {incident.id}" in hint, "the incident card says how"

    status, raw, _ = desk.command(BOB, "/complaints", f"move #{c.id} incident #{incident.id}")
    assert status == 200
    assert f"#{c.id} is part of incident #{incident.id} now" in json.loads(raw)["text"]
    desk.deliver()
    with desk.app.sessions() as s:
        after = s.get(Incident, incident.id)
        joined = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "incident_joined", AuditEvent.complaint_id == c.id)
        ).one()
        assert s.get(Complaint, c.id).incident_id == incident.id
    assert (after.customers, after.posts) == (before.customers + 1, before.posts + 1)
    assert after.reach == before.reach + 100
    assert after.latest_post_at == missed.created_at
    assert (joined.actor, joined.at) == (BOB, desk.clock.now())
    assert "part of *incident #" in json.dumps(desk.card(c.id)["blocks"]), "its own card points to the incident"
    card = incident_card(desk, incident.anchor_id)
    assert f"*{before.customers + 1} customers*" in json.dumps(card["blocks"])
    thread = [json.dumps(m["blocks"]) for m in desk.slack.thread(COMPLAINTS, card["ts"])]
    assert any(f"added #{c.id}" in t and "99900_h" in t and BOB in t for t in thread)

    # Said twice: nothing more. A post that is not there, an incident that is not there: one clear line.
    _, again, _ = desk.command(BOB, "/complaints", f"move #{c.id} incident {incident.id}")
    assert "already" in json.loads(again)["text"]
    _, wrong, _ = desk.command(BOB, "/complaints", f"move #{c.id} incident {incident.id + 5}")
    assert f"no incident #{incident.id + 5}" in json.dumps(json.loads(wrong))
    with desk.app.sessions() as s:
        assert s.get(Incident, incident.id).customers == before.customers + 1

    desk.submit(ALICE, preview(desk, ALICE, incident.id, "{name}, logins work again.", Action.INCIDENT_RESOLVE), {})
    run_worker_with_kills(desk, [], until=desk.clock.now() + timedelta(minutes=5))
    answered = {
        next(r["id"] for r in t["referenced_tweets"] if r["type"] == "replied_to")
        for t in x.state.tweets
        if t.get("author_id") == "99"
    }
    assert "9990" in answered, "the customer added by hand hears the resolution"
    with desk.app.sessions() as s:
        assert s.get(Complaint, c.id).status == "resolved"
    # Resolved: nobody more can be added to it.
    later = post(x, "9991", "99901", "@AcmeHelp my details page is blank since this morning", desk.clock.now())
    desk.ingestor.ingest_batch(desk.app.sessions, [later], at=desk.clock.now())
    with desk.app.sessions() as s:
        late = s.scalars(select(Complaint).where(Complaint.external_id == "9991")).one()
    _, refused, _ = desk.command(BOB, "/complaints", f"move #{late.id} incident {incident.id}")
    assert "is resolved" in json.dumps(json.loads(refused))


def test_a_customer_added_before_their_card_went_out_never_gets_one(desk: Desk, x: XStandIn):
    """Slack slow, the card still waiting: added to the incident, the card is never posted (the
    incident's stands for them) and the incident's card counts them."""
    incident = small_incident(desk, x)
    desk.clock.set(START + timedelta(minutes=26))
    symptom = "@AcmeHelp my details page only says 'unexpected problem' since this morning"
    desk.ingestor.ingest_batch(
        desk.app.sessions, [post(x, "9992", "99902", symptom, desk.clock.now())], at=desk.clock.now()
    )
    with desk.app.sessions() as s:
        c = s.scalars(select(Complaint).where(Complaint.external_id == "9992")).one()
    assert c.incident_id is None
    cards_before = len(top_level(desk))
    _, raw, _ = desk.command(ALICE, "/complaints", f"move #{c.id} incident {incident.id}")
    assert "is part of incident" in json.loads(raw)["text"]
    desk.deliver()
    with desk.app.sessions() as s:
        card_row = s.scalars(select(Delivery).where(Delivery.key == f"card:{c.id}")).one()
        assert s.get(Incident, incident.id).customers == incident.customers + 1
    assert card_row.status == "closed"
    assert card_row.last_error == f"part of incident #{incident.id}"
    assert len(top_level(desk)) == cards_before, "no card of its own"
    assert f"*{incident.customers + 1} customers*" in json.dumps(incident_card(desk, incident.anchor_id)["blocks"])


EMBEDDER = semantic.Embedder()
"""One model for the tests below (it takes half a second to load)."""
ASK_ONLY = 1.0
"""The suggestion tests: a post as near as the symptom would join by itself (``JOIN_MARGIN``); these
test the question asked below that."""
SYMPTOM = "@AcmeHelp the page says something unexpected happened whenever I open my details"
"""A login outage's customer who tells only the symptom: no word the grouping knows, close in meaning."""


def a_week_before(desk: Desk, x: XStandIn) -> None:
    """Ordinary complaints three days before: what an ordinary day sounds like (suggestions need it)."""
    at = START - timedelta(days=3)
    desk.clock.set(at)
    wordings = [
        w.format(n=n + 3, item=item, city="York", month="May")
        for n, w in enumerate(BACKGROUND + BACKGROUND_FRESH + BACKGROUND_FOURTH)
        for item in ("lamp", "kettle")
    ]
    week = [post(x, f"{7000 + n}", f"{70000 + n}", "@AcmeHelp " + w, at) for n, w in enumerate(wordings)]
    desk.ingestor.ingest_batch(desk.app.sessions, week, at=at)
    desk.deliver()


def symptom_card_posted(desk: Desk, x: XStandIn, post_id: str) -> tuple[Incident, int]:
    """A week of history, a small login incident, then a customer telling only the symptom, carded."""
    a_week_before(desk, x)
    incident = small_incident(desk, x)
    desk.clock.set(START + timedelta(minutes=27))
    symptom = post(x, post_id, f"9{post_id}", SYMPTOM, desk.clock.now())
    desk.ingestor.ingest_batch(desk.app.sessions, [symptom], at=desk.clock.now())
    desk.deliver()
    settle(desk)
    with desk.app.sessions() as s:
        return incident, s.scalars(select(Complaint.id).where(Complaint.external_id == post_id)).one()


def settle(desk: Desk) -> None:
    """Past ``suggest.SETTLE``: what came in so far can be judged (a second outage's incident has had
    the time to open)."""
    desk.clock.advance(suggest.SETTLE)


def suggestion_buttons(message: dict) -> dict[str, dict]:
    return {k: v for k, v in buttons(message).items() if v["action_id"].startswith("ft_incident_suggest")}


def test_a_card_the_grouping_left_out_is_suggested_and_one_click_adds_it(desk: Desk, x: XStandIn):
    """A customer who tells only the symptom keeps an ordinary card; the sentence model reads it as
    the outage and the card asks (never decides). One click from the team adds it, with the customer
    whose same words were folded into it; a second click says so; an outsider's click changes nothing.
    An ordinary complaint that uses the outage's words ("logged in to check my refund") is not asked about."""
    a_week_before(desk, x)
    incident = small_incident(desk, x)
    desk.clock.set(START + timedelta(minutes=26))
    at = desk.clock.now()
    missed = post(x, "9993", "99903", SYMPTOM, at)
    same_words = post(x, "9994", "99904", SYMPTOM, at)
    ordinary = post(x, "9995", "99905", "@AcmeHelp I logged in to check my refund and it still isn't there", at)
    desk.ingestor.ingest_batch(desk.app.sessions, [missed, same_words, ordinary], at=at)
    with desk.app.sessions() as s:
        ids = dict(s.execute(select(Complaint.external_id, Complaint.id).where(Complaint.external_id >= "9993")).all())
        assert s.get(Complaint, ids["9994"]).duplicate_of == ids["9993"], "the same words fold (the case this is for)"
        assert all(s.get(Complaint, ids[e]).incident_id is None for e in ids), "the grouping left them out"
    suggester = Suggester(desk.app.sessions, desk.clock, embedder=EMBEDDER, join_margin=ASK_ONLY)
    assert suggester.tick() == 0, "nothing judged the moment it came in"
    settle(desk)
    made = suggester.tick()
    with desk.app.sessions() as s:
        asked = set(s.scalars(select(IncidentSuggestion.complaint_id)))
    # (The storm's own "sign in button does nothing. outage?" was left out by the grouping too: asked.)
    assert ids["9993"] in asked, "the symptom reads like the outage"
    assert ids["9995"] not in asked, "an ordinary complaint in the outage's words is not asked about"
    assert ids["9994"] not in asked, "a folded copy has no card to ask on: its card's question stands for it"
    assert made == len(asked)
    desk.deliver()  # not posted before: the card goes out with the question on it

    card = desk.card(ids["9993"])
    text = json.dumps(card["blocks"])
    assert f"This may be part of *incident #{incident.id}*" in text
    offered = suggestion_buttons(card)
    assert set(offered) == {f"Add to incident #{incident.id}", "Not part of it"}
    assert not suggestion_buttons(desk.card(ids["9995"])), "an ordinary complaint is not asked about"
    with desk.app.sessions() as s:
        event = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "incident_suggested", AuditEvent.complaint_id == ids["9993"])
        ).one()
    assert (event.actor, event.details["incident"]) == ("followthrough", incident.id)

    add = offered[f"Add to incident #{incident.id}"]
    assert desk.click(OUTSIDER, add["action_id"], add["value"], key="out")[0] == 200
    assert "Only the support team" in desk.responses("out")[0]["text"]
    assert desk.get(ids["9993"]).incident_id is None

    assert desk.click(BOB, add["action_id"], add["value"])[0] == 200
    assert "and the post folded into it are part of incident" in desk.responses()[0]["text"]
    desk.deliver()
    with desk.app.sessions() as s:
        row = s.scalars(select(IncidentSuggestion).where(IncidentSuggestion.complaint_id == ids["9993"])).one()
        members = {s.get(Complaint, ids[e]).incident_id for e in ("9993", "9994")}
        after = s.get(Incident, incident.id)
        joined = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "incident_joined", AuditEvent.actor == BOB)
        ).all()
    assert (row.status, row.decided_by, row.decided_at) == ("added", BOB, desk.clock.now())
    assert members == {incident.id}, "the customer whose same words were folded in goes too"
    assert after.customers == incident.customers + 2
    assert {j.complaint_id for j in joined} == {ids["9993"], ids["9994"]}
    card = desk.card(ids["9993"])
    assert "part of *incident #" in json.dumps(card["blocks"])
    assert not suggestion_buttons(card)

    assert desk.click(BOB, add["action_id"], add["value"], key="again")[0] == 200
    assert "already" in desk.responses("again")[0]["text"]
    assert suggester.tick() == 0
    with desk.app.sessions() as s:
        assert s.scalar(select(func.count()).select_from(IncidentSuggestion)) == len(asked)


def test_not_part_of_it_takes_the_question_off_and_it_is_never_asked_again(desk: Desk, x: XStandIn):
    """A card already in the channel gets the question by a re-draw; Not part of it takes it off,
    kept with who and when, and no restart asks again; the old Add button then refuses."""
    incident, cid = symptom_card_posted(desk, x, "9996")
    assert not suggestion_buttons(desk.card(cid))
    assert Suggester(desk.app.sessions, desk.clock, embedder=EMBEDDER, join_margin=ASK_ONLY).tick() >= 1
    desk.deliver()
    offered = suggestion_buttons(desk.card(cid))
    assert set(offered) == {f"Add to incident #{incident.id}", "Not part of it"}, "the posted card is re-drawn"

    desk.clock.advance(timedelta(minutes=1))
    no = offered["Not part of it"]
    assert desk.click(ALICE, no["action_id"], no["value"])[0] == 200
    assert "stays on its own card" in desk.responses()[0]["text"]
    desk.deliver()
    assert not suggestion_buttons(desk.card(cid)), "the question is taken off the card"
    assert "This may be part of" not in json.dumps(desk.card(cid)["blocks"])
    with desk.app.sessions() as s:
        row = s.scalars(select(IncidentSuggestion).where(IncidentSuggestion.complaint_id == cid)).one()
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "incident_suggestion_dismissed")).one()
    assert (row.status, row.decided_by, row.decided_at) == ("dismissed", ALICE, desk.clock.now())
    assert (event.actor, event.complaint_id, event.at) == (ALICE, cid, desk.clock.now())

    assert Suggester(desk.app.sessions, desk.clock, embedder=EMBEDDER, join_margin=ASK_ONLY).tick() == 0, (
        "a restart does not ask again"
    )
    add = offered[f"Add to incident #{incident.id}"]
    assert desk.click(BOB, add["action_id"], add["value"], key="late")[0] == 200
    assert "is not part of incident" in json.dumps(desk.responses("late")[0])
    assert desk.get(cid).incident_id is None


def test_the_question_goes_when_the_incident_closes(desk: Desk, x: XStandIn):
    """Not an incident (or Resolve): a card asked whether it belongs there is re-drawn without the
    question — no button left that can only be refused."""
    incident, cid = symptom_card_posted(desk, x, "9997")
    Suggester(desk.app.sessions, desk.clock, embedder=EMBEDDER, join_margin=ASK_ONLY).tick()
    desk.deliver()
    assert suggestion_buttons(desk.card(cid))
    assert desk.click(ALICE, Action.INCIDENT_RELEASE, str(incident.id))[0] == 200
    desk.deliver()
    assert not suggestion_buttons(desk.card(cid))
    assert "This may be part of" not in json.dumps(desk.card(cid)["blocks"])


def two_incidents(desk: Desk, x: XStandIn, *, seed: int, first_id: int, first_author: int) -> tuple[Incident, Incident]:
    """The small login incident, then twenty customers of a payment outage: a second incident (the
    stand-in for one outage the grouping split in two)."""
    incident = small_incident(desk, x)
    desk.clock.set(START + timedelta(minutes=40))
    rng = random.Random(seed)
    paying = [
        post(
            x,
            f"{first_id + n}",
            f"{first_author + n}",
            "@AcmeHelp " + rng.choice(PAYMENT),
            desk.clock.now() - timedelta(minutes=n),
        )
        for n in range(20)
    ]
    desk.ingestor.ingest_batch(desk.app.sessions, paying, at=desk.clock.now())
    desk.deliver()
    with desk.app.sessions() as s:
        return incident, s.scalars(select(Incident).where(Incident.id != incident.id)).one()


def test_one_outage_split_in_two_is_merged_into_one_and_its_words_join_it_from_then_on(desk: Desk, x: XStandIn):
    """``/complaints move incident 8 into 7``: every customer of #8 becomes #7's, #8's card becomes its
    customer's card saying "part of incident #7", #7 counts them and a thread line says who merged,
    #8 leaves the open list — and a later post in #8's words joins #7. Said again: "already"."""
    incident, other = two_incidents(desk, x, seed=5, first_id=9500, first_author=55000)
    with desk.app.sessions() as s:
        its = set(s.scalars(select(Complaint.id).where(Complaint.incident_id == other.id)))
    assert other.status == "open"
    assert len(its) >= 15

    status, raw, _ = desk.command(BOB, "/complaints", f"move incident {other.id} into {incident.id}")
    assert status == 200
    assert f"Incident #{other.id} is part of incident #{incident.id} now" in json.loads(raw)["text"]
    desk.deliver()
    with desk.app.sessions() as s:
        kept, merged = s.get(Incident, incident.id), s.get(Incident, other.id)
        moved = set(s.scalars(select(Complaint.incident_id).where(Complaint.id.in_(its))))
        event = s.scalars(select(AuditEvent).where(AuditEvent.action == "incident_merged")).one()
    assert moved == {incident.id}
    assert (merged.status, merged.merged_into, merged.resolved_by) == ("released", incident.id, BOB)
    assert kept.customers == incident.customers + other.customers
    assert (event.actor, event.complaint_id, event.at) == (BOB, incident.anchor_id, desk.clock.now())
    card = incident_card(desk, incident.anchor_id)
    assert f"*{kept.customers} customers*" in json.dumps(card["blocks"])
    thread = [json.dumps(m["blocks"]) for m in desk.slack.thread(COMPLAINTS, card["ts"])]
    assert any(f"merged incident #{other.id} into this one" in t and BOB in t for t in thread)
    old_card = json.dumps(desk.card(other.anchor_id)["blocks"])
    assert f"part of *incident #{incident.id}*" in old_card, "#8's card is its customer's card now"
    assert "Resolve incident" not in old_card

    _, again, _ = desk.command(BOB, "/complaints", f"move incident {other.id} into {incident.id}")
    assert "already" in json.loads(again)["text"]
    _, back, _ = desk.command(BOB, "/complaints", f"move incident {incident.id} into {other.id}")
    assert f"Incident #{other.id} is released" in json.dumps(json.loads(back))
    _, itself, _ = desk.command(BOB, "/complaints", f"move incident {incident.id} into {incident.id}")
    assert "is itself" in json.dumps(json.loads(itself))

    desk.clock.advance(timedelta(minutes=2))
    later = post(x, "9599", "55999", "@AcmeHelp " + PAYMENT[0], desk.clock.now())
    desk.ingestor.ingest_batch(desk.app.sessions, [later], at=desk.clock.now())
    with desk.app.sessions() as s:
        assert s.scalars(select(Complaint.incident_id).where(Complaint.external_id == "9599")).one() == incident.id
        assert s.scalar(select(func.count()).select_from(Incident)) == 2, "no new incident in #8's words"


def test_an_incident_whose_customers_were_sent_an_update_is_not_merged_away(desk: Desk, x: XStandIn):
    """They were told of #8 by number: it is resolved on its own (or #7 merged into it)."""
    incident, other = two_incidents(desk, x, seed=6, first_id=9600, first_author=56000)
    desk.submit(ALICE, preview(desk, ALICE, other.id, "{name}, we are on it."), {})
    _, raw, _ = desk.command(BOB, "/complaints", f"move incident {other.id} into {incident.id}")
    assert "were sent an update" in json.dumps(json.loads(raw))
    with desk.app.sessions() as s:
        assert s.get(Incident, other.id).status == "open"
        assert not s.scalars(
            select(Complaint).where(Complaint.incident_id == incident.id, Complaint.external_id.like("96%"))
        ).all()


def test_a_full_vector_cache_keeps_what_the_tick_needs(desk: Desk, x: XStandIn, monkeypatch: pytest.MonkeyPatch):
    """The Suggester's memory is bounded: past the bound it keeps the references and what this tick
    judges, and a second tick after it still asks about a new left-out card."""
    monkeypatch.setattr(suggest, "CACHE_LIMIT", 10)
    incident, first = symptom_card_posted(desk, x, "9981")
    suggester = Suggester(desk.app.sessions, desk.clock, embedder=EMBEDDER, join_margin=ASK_ONLY)
    assert suggester.tick() >= 1
    desk.clock.advance(timedelta(minutes=1))
    symptom = "@AcmeHelp my details page only says 'unexpected problem' since this morning"
    desk.ingestor.ingest_batch(
        desk.app.sessions, [post(x, "9982", "99982", symptom, desk.clock.now())], at=desk.clock.now()
    )
    settle(desk)
    assert suggester.tick() == 1
    with desk.app.sessions() as s:
        asked = set(
            s.scalars(select(IncidentSuggestion.complaint_id).where(IncidentSuggestion.incident_id == incident.id))
        )
        second = s.scalars(select(Complaint.id).where(Complaint.external_id == "9982")).one()
    assert {first, second} <= asked


def test_a_post_with_no_card_that_reads_like_the_incident_is_offered_in_the_skipped_list(desk: Desk, x: XStandIn):
    """Triage gave it no card ("other"), so no card can ask: ``/complaints skipped`` does, with Add to
    incident beside Card it; no re-draw is queued for a card that does not exist (it would wait for
    ever); once added, it leaves the list."""
    a_week_before(desk, x)
    incident = small_incident(desk, x)
    desk.clock.set(START + timedelta(minutes=27))
    quiet = post(
        x, "9983", "99983", "@AcmeHelp the app just shows a white screen where my account should be", desk.clock.now()
    )
    desk.ingestor.ingest_batch(desk.app.sessions, [quiet], at=desk.clock.now())
    with desk.app.sessions() as s:
        c = s.scalars(select(Complaint).where(Complaint.external_id == "9983")).one()
    assert (c.kind, c.incident_id) == ("other", None), "no card, not grouped (the case this is for)"
    settle(desk)
    assert Suggester(desk.app.sessions, desk.clock, embedder=EMBEDDER, join_margin=ASK_ONLY).tick() >= 1
    with desk.app.sessions() as s:
        assert (
            s.scalars(select(IncidentSuggestion.incident_id).where(IncidentSuggestion.complaint_id == c.id)).one()
            == incident.id
        )
        assert not s.scalars(select(Delivery).where(Delivery.card_of == c.id)).all(), "nothing waits for a card"

    _, raw, _ = desk.command(ALICE, "/complaints", "skipped")
    listed = json.loads(raw)
    text = json.dumps(listed["blocks"])
    assert f"reads like *incident #{incident.id}*" in text
    add = next(
        e
        for b in listed["blocks"]
        for e in b.get("elements") or []
        if e.get("action_id") == Action.INCIDENT_SUGGEST_ADD.value
    )
    assert add["value"] == f"{c.id}:{incident.id}"
    assert desk.click(ALICE, add["action_id"], add["value"])[0] == 200
    assert f"#{c.id} is part of incident #{incident.id} now" in desk.responses()[0]["text"]
    with desk.app.sessions() as s:
        assert s.get(Complaint, c.id).incident_id == incident.id
    _, again, _ = desk.command(ALICE, "/complaints", "skipped")
    assert f"#{c.id} " not in json.dumps(json.loads(again)), "handled by the incident: off the list"


def replied_to(x: XStandIn) -> Counter:
    """The brand's replies on X, by the post each answers."""
    return Counter(
        next(r["id"] for r in t["referenced_tweets"] if r["type"] == "replied_to")
        for t in x.state.tweets
        if t.get("author_id") == "99"
    )


def test_an_ordinary_complaint_drawn_in_is_listed_first_and_taken_out_gets_its_card_and_no_incident_reply(
    desk: Desk, x: XStandIn
):
    """``/complaints incidents 7`` lists #7's posts least like it first; ``/complaints move #42 out of
    incident 7`` gives the post its own card back (posted now if it never went out), the incident counts
    it no more, its thread says who, a reply of the incident queued for it is withdrawn — and the
    grouping, even restarted, never draws it in again."""
    incident = small_incident(desk, x)
    desk.clock.set(START + timedelta(minutes=26))
    refund = "@AcmeHelp I logged in to check my refund for the lamp and it still has not been processed"
    ordinary = post(x, "9980", "69980", refund, desk.clock.now())
    desk.ingestor.ingest_batch(desk.app.sessions, [ordinary], at=desk.clock.now())
    desk.deliver()
    with desk.app.sessions() as s:
        r = s.scalars(select(Complaint).where(Complaint.external_id == "9980")).one()
        members = s.scalars(
            select(Complaint)
            .where(Complaint.incident_id == incident.id, Complaint.id != incident.anchor_id)
            .order_by(Complaint.id)
        ).all()
    assert r.incident_id is None
    # A person's slip (or the grouping's): the refund complaint is in the login incident now.
    desk.command(BOB, "/complaints", f"move #{r.id} incident {incident.id}")
    desk.deliver()
    status, raw, _ = desk.command(ALICE, "/complaints", f"incidents {incident.id}")
    assert status == 200
    listing = json.loads(raw)["text"]
    first = listing.split("\n")[1]
    assert first.startswith(f"#{r.id} "), listing
    assert f"move #N out of incident {incident.id}" in listing
    assert f"#{incident.anchor_id} " not in listing, "the incident's own card cannot leave it"
    _, odd, _ = desk.command(ALICE, "/complaints", "incidents ²")
    assert json.loads(odd)["text"].startswith("Which incident?")

    # Out, by the post that had a card: the card comes back as its own.
    status, raw, _ = desk.command(BOB, "/complaints", f"move #{r.id} out of incident {incident.id}")
    assert status == 200
    assert f"#{r.id} is out of incident #{incident.id}" in json.loads(raw)["text"]
    desk.deliver()
    assert "part of *incident #" not in json.dumps(desk.card(r.id)["blocks"])
    # In again and out again: the card follows each time (each re-draw is its own).
    desk.command(BOB, "/complaints", f"move #{r.id} incident {incident.id}")
    desk.deliver()
    assert "part of *incident #" in json.dumps(desk.card(r.id)["blocks"])
    desk.command(BOB, "/complaints", f"move #{r.id} out of incident {incident.id}")
    desk.deliver()
    assert "part of *incident #" not in json.dumps(desk.card(r.id)["blocks"])

    # Out, a member that never had a card: its card goes now. Named as "#42 out" too.
    m = members[0]
    assert m.slack_ts is None
    cards_before = len(top_level(desk))
    status, raw, _ = desk.command(BOB, "/complaints", f"move #{m.id} out")
    assert f"#{m.id} is out of incident #{incident.id}" in json.loads(raw)["text"]
    desk.deliver()
    assert len(top_level(desk)) == cards_before + 1
    assert m.text.split("@AcmeHelp ")[-1][:20] in json.dumps(desk.card(m.id)["blocks"])
    with desk.app.sessions() as s:
        after = s.get(Incident, incident.id)
        left = s.scalars(select(AuditEvent).where(AuditEvent.action == "incident_left").order_by(AuditEvent.id)).all()
        kept = s.scalars(select(IncidentSuggestion).where(IncidentSuggestion.complaint_id == m.id)).one()
    assert after.customers == incident.customers - 1
    assert [(e.complaint_id, e.actor, e.at) for e in left] == [
        (r.id, BOB, desk.clock.now()),
        (r.id, BOB, desk.clock.now()),
        (m.id, BOB, desk.clock.now()),
    ]
    assert (kept.incident_id, kept.status, kept.decided_by) == (incident.id, "dismissed", BOB)
    card = incident_card(desk, incident.anchor_id)
    assert f"*{after.customers} customers*" in json.dumps(card["blocks"])
    thread = [json.dumps(t["blocks"]) for t in desk.slack.thread(COMPLAINTS, card["ts"])]
    assert any(f"took #{m.id}" in t and BOB in t for t in thread)

    # Refused in one line: twice, the incident's own post, the wrong incident.
    _, again, _ = desk.command(BOB, "/complaints", f"move #{m.id} out of incident {incident.id}")
    assert "is in no incident" in json.dumps(json.loads(again))
    _, anchor, _ = desk.command(BOB, "/complaints", f"move #{incident.anchor_id} out of incident {incident.id}")
    assert "cannot leave it" in json.dumps(json.loads(anchor))
    _, other, _ = desk.command(BOB, "/complaints", f"move #{members[1].id} out of incident {incident.id + 3}")
    assert f"not #{incident.id + 3}" in json.dumps(json.loads(other))

    # A worker restarted (its index read back from the database) and the outage going on: the
    # incident grows and is swept again; what a person took out stays out.
    desk.ingestor = Ingestor(Triage(), IngestPolicy(COMPLAINTS))
    desk.clock.advance(timedelta(minutes=1))
    rng = random.Random(11)
    more = [
        post(x, f"{9700 + n}", f"{57000 + n}", "@AcmeHelp " + rng.choice(LOGIN), desk.clock.now()) for n in range(6)
    ]
    twin = post(x, "9800", "59800", m.text, desk.clock.now())  # another customer, the same words as m
    desk.ingestor.ingest_batch(desk.app.sessions, [*more, twin], at=desk.clock.now())
    desk.deliver()
    with desk.app.sessions() as s:
        assert s.get(Complaint, m.id).incident_id is None
        assert s.get(Complaint, r.id).incident_id is None
        folded = s.scalars(select(Complaint).where(Complaint.external_id == "9800")).one()
        assert (folded.duplicate_of, folded.incident_id) == (m.id, None), "m's card stands for its twin"
        assert s.get(Incident, incident.id).customers > incident.customers - 1, "the outage's new posts joined"

    # An update goes out, paced; a member taken out before its reply left is not answered.
    desk.submit(ALICE, preview(desk, ALICE, incident.id, "{name}, we are on it."), {})
    with desk.app.sessions() as s:
        late = s.scalars(
            select(Delivery.complaint_id)
            .join(Complaint, Complaint.id == Delivery.complaint_id)
            .where(
                Delivery.incident_update.is_not(None),
                Complaint.duplicate_of.is_(None),
                Complaint.id != incident.anchor_id,
            )
            .order_by(Delivery.available_at.desc())
        ).first()
        copies = s.scalar(select(func.count()).where(Complaint.duplicate_of == late))
    with desk.app.sessions.begin() as s:  # its reply was tried once and waits to be retried (a 503)
        s.execute(
            update(Delivery)
            .where(Delivery.complaint_id == late, Delivery.incident_update.is_not(None))
            .values(attempts=1, last_error="503 from X, retried later")
        )
    _, raw, _ = desk.command(BOB, "/complaints", f"move #{late} out of incident {incident.id}")
    assert f"{1 + copies} queued incident repl" in json.loads(raw)["text"]
    run_worker_with_kills(desk, [], until=desk.clock.now() + timedelta(minutes=10))
    answered = replied_to(x)
    with desk.app.sessions() as s:
        out_posts = {s.get(Complaint, i).external_id for i in (m.id, r.id, late)}
        still = set(s.scalars(select(Complaint.external_id).where(Complaint.incident_id == incident.id)))
    assert not out_posts & set(answered), "no incident reply to a post taken out"
    assert all(answered[p] == 1 for p in answered)
    assert len(answered) >= len(still) - 2  # a post without the mention cannot be answered from here
    thread = [
        json.dumps(t["blocks"]) for t in desk.slack.thread(COMPLAINTS, incident_card(desk, incident.anchor_id)["ts"])
    ]
    assert any("Update sent" in t and f"{1 + copies} withdrawn" in t for t in thread), "the update says it is done"


def test_a_forgotten_customers_words_leave_the_suggestion_loops_memory_at_its_next_tick(desk: Desk, x: XStandIn):
    """``data forget`` scrubs the database; the worker's sentence vectors of that customer's post
    (derived from their words) go at the next tick, not when the incident closes. An edited post's
    vector is made again from its new words."""
    from bot.desk.forget import FORGOTTEN, forget

    _, cid = symptom_card_posted(desk, x, "9960")
    suggester = Suggester(desk.app.sessions, desk.clock, embedder=EMBEDDER, join_margin=ASK_ONLY)
    suggester.tick()
    assert cid in suggester._vectors, "the symptom was judged (the case this is for)"
    before = suggester._vectors[cid].copy()
    edited_id = max(i for i in suggester._vectors if i != cid)  # a post whose vector the loop holds
    with desk.app.sessions() as s:
        edited_text = s.get(Complaint, edited_id).text
    assert suggester._texts[edited_id] == hash(edited_text)
    # An edit (as ingest stores one: the text and updated_at) and a forget, between two ticks.
    desk.clock.advance(timedelta(seconds=30))
    with desk.app.sessions.begin() as s:
        row = s.get(Complaint, edited_id)
        row.text, row.updated_at = edited_text + " and now the app crashes too", desk.clock.now()
        forget(s, "x", "99960_h", at=desk.clock.now())
        assert s.get(Complaint, cid).text == FORGOTTEN
    suggester.tick()
    vector = suggester._vectors.get(cid)
    assert vector is None or not (vector == before).all(), "no vector of the forgotten words is kept"
    assert suggester._texts.get(edited_id) in (None, hash(edited_text + " and now the app crashes too"))


def test_a_left_out_post_that_plainly_reads_like_the_incident_joins_it_and_a_person_can_take_it_out_for_good(
    desk: Desk, x: XStandIn
):
    """From ``INCIDENT_JOIN_MARGIN`` on the loop does not ask: the post joins as a person's Add would —
    its card says so, the incident's thread says the bot did it and why — while an ordinary complaint
    in the outage's words stays out. Taken out by a person, it is neither joined nor asked about again."""
    _, cid = symptom_card_posted(desk, x, "9970")
    refund = post(
        x, "9971", "99971", "@AcmeHelp I logged in to check my refund and it still isn't there", desk.clock.now()
    )
    desk.ingestor.ingest_batch(desk.app.sessions, [refund], at=desk.clock.now())
    desk.deliver()
    settle(desk)
    with desk.app.sessions() as s:
        incident = s.scalars(select(Incident)).one()
        ordinary = s.scalars(select(Complaint.id).where(Complaint.external_id == "9971")).one()
    assert Suggester(desk.app.sessions, desk.clock, embedder=EMBEDDER).tick() >= 1
    desk.deliver()
    with desk.app.sessions() as s:
        assert s.get(Complaint, cid).incident_id == incident.id, "joined by its meaning"
        assert s.get(Complaint, ordinary).incident_id is None, "the refund complaint stays out"
        joined = s.scalars(
            select(AuditEvent).where(AuditEvent.action == "incident_joined", AuditEvent.complaint_id == cid)
        ).one()
        row = s.scalars(select(IncidentSuggestion).where(IncidentSuggestion.complaint_id == cid)).one()
        customers = s.get(Incident, incident.id).customers
    assert (joined.actor, joined.at) == ("followthrough", desk.clock.now())
    assert "by its meaning" in (joined.note or "")
    assert (row.status, row.decided_by) == ("added", "followthrough")
    assert "part of *incident #" in json.dumps(desk.card(cid)["blocks"])
    thread = [
        json.dumps(t["blocks"]) for t in desk.slack.thread(COMPLAINTS, incident_card(desk, incident.anchor_id)["ts"])
    ]
    line = next(t for t in thread if f"added #{cid}" in t)
    assert "Followthrough added" in line
    assert "<@followthrough>" not in line
    assert f"move #{cid} out of incident {incident.id}" in line, "the way back is on the line"

    _, raw, _ = desk.command(BOB, "/complaints", f"move #{cid} out of incident {incident.id}")
    assert f"#{cid} is out of incident #{incident.id}" in json.loads(raw)["text"]
    desk.clock.advance(timedelta(minutes=1))
    assert Suggester(desk.app.sessions, desk.clock, embedder=EMBEDDER).tick() == 0, "a person's word stands"
    desk.deliver()
    with desk.app.sessions() as s:
        assert s.get(Complaint, cid).incident_id is None
        assert s.get(Incident, incident.id).customers == customers - 1
        assert s.scalars(select(IncidentSuggestion.status).where(IncidentSuggestion.complaint_id == cid)).one() == (
            "dismissed"
        )
    assert not suggestion_buttons(desk.card(cid)), "and it is not asked about either"


def test_a_post_that_settles_after_a_later_numbered_one_is_still_judged(desk: Desk, x: XStandIn):
    """Two ingest workers: a post can be numbered before one that came in earlier. The loop judges in
    number order only below the first post not yet settled, so the earlier number is judged once it
    settles — not passed over for ever because a later number was judged first."""
    a_week_before(desk, x)
    incident = small_incident(desk, x)
    at = START + timedelta(minutes=27)
    desk.clock.set(at)
    late_arrival = post(x, "9990", "99990", SYMPTOM, at)
    early_arrival = post(x, "9991", "99991", "@AcmeHelp my details page only says 'unexpected problem'", at)
    # The first numbered came in 20 s after the second (its worker's batch began later).
    desk.ingestor.ingest_batch(desk.app.sessions, [late_arrival], at=at + timedelta(seconds=20))
    desk.ingestor.ingest_batch(desk.app.sessions, [early_arrival], at=at)
    with desk.app.sessions() as s:
        first, second = (
            s.scalars(select(Complaint.id).where(Complaint.external_id == e)).one() for e in ("9990", "9991")
        )
    assert first < second
    suggester = Suggester(desk.app.sessions, desk.clock, embedder=EMBEDDER, join_margin=ASK_ONLY)
    desk.clock.set(at + suggest.SETTLE + timedelta(seconds=10))  # the second has settled, the first not yet
    suggester.tick()
    desk.clock.set(at + suggest.SETTLE + timedelta(seconds=30))
    suggester.tick()
    with desk.app.sessions() as s:
        asked = set(
            s.scalars(select(IncidentSuggestion.complaint_id).where(IncidentSuggestion.incident_id == incident.id))
        )
    assert {first, second} <= asked


def test_the_loop_asks_instead_of_joining_where_a_person_is_owed_the_choice(desk: Desk, x: XStandIn):
    """Near enough to join, it still only asks when someone owns the card (they may have answered it
    already) and when the incident's customers were sent an update the post would miss."""
    a_week_before(desk, x)
    incident = small_incident(desk, x)
    desk.clock.set(START + timedelta(minutes=27))
    desk.ingestor.ingest_batch(
        desk.app.sessions, [post(x, "9960", "99960", SYMPTOM, desk.clock.now())], at=desk.clock.now()
    )
    desk.deliver()
    with desk.app.sessions() as s:
        cid = s.scalars(select(Complaint.id).where(Complaint.external_id == "9960")).one()
    assert desk.click(ALICE, Action.CLAIM, str(cid))[0] == 200
    settle(desk)
    Suggester(desk.app.sessions, desk.clock, embedder=EMBEDDER).tick()
    with desk.app.sessions() as s:
        assert s.get(Complaint, cid).incident_id is None, "Alice's card is not pulled in"
        row = s.scalars(select(IncidentSuggestion).where(IncidentSuggestion.complaint_id == cid)).one()
    assert row.status == "open", "it is asked about instead"

    desk.submit(ALICE, preview(desk, ALICE, incident.id, "{name}, we are on it."), {})
    text = "@AcmeHelp the page says something unexpected happened when I open my details"
    desk.ingestor.ingest_batch(
        desk.app.sessions, [post(x, "9961", "99961", text, desk.clock.now())], at=desk.clock.now()
    )
    settle(desk)
    Suggester(desk.app.sessions, desk.clock, embedder=EMBEDDER).tick()
    with desk.app.sessions() as s:
        c = s.scalars(select(Complaint).where(Complaint.external_id == "9961")).one()
        assert c.incident_id is None, "it would have missed the update: asked about instead"
        assert s.scalars(select(IncidentSuggestion.status).where(IncidentSuggestion.complaint_id == c.id)).one() == (
            "open"
        )


def test_a_post_a_person_said_is_not_part_of_one_incident_is_joined_to_no_other(desk: Desk, x: XStandIn):
    """Detection keeps off a post a person took out of (or said no to) any incident; so does the loop."""
    a_week_before(desk, x)
    login, payment = two_incidents(desk, x, seed=7, first_id=9700, first_author=57000)
    at = desk.clock.now()
    desk.ingestor.ingest_batch(
        desk.app.sessions,
        [post(x, "9962", "99962", SYMPTOM, at), post(x, "9963", "99963", SYMPTOM.replace("details", "account"), at)],
        at=at,
    )
    with desk.app.sessions() as s:
        said_no, control = (
            s.scalars(select(Complaint.id).where(Complaint.external_id == e)).one() for e in ("9962", "9963")
        )
    with desk.app.sessions.begin() as s:
        membership.decide(s, said_no, payment.id, "dismissed", user_id=BOB, at=at)
    with desk.app.sessions.begin() as s:
        assert not suggest.join(s, said_no, login.id, 0.5, at=at)
        assert suggest.join(s, control, login.id, 0.5, at=at), "the same join for a post nobody ruled on"
    with desk.app.sessions() as s:
        assert (s.get(Complaint, said_no).incident_id, s.get(Complaint, control).incident_id) == (None, login.id)
