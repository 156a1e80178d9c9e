# ruff: noqa: F811 (the fixtures imported from test_incidents are the tests' parameters)
"""Incident mode where a review found it failing, each case as the review wrote it (adapted): every
one of these failed on the code before its fix.

- a template starting with {handle}: X's duplicate rule ignores the @mentions in front;
- a post joining while Resolve incident runs (PostgreSQL): it waits, then sees it resolved;
- an update whose last row is withdrawn (the customer forgotten) still reaches its end line;
- two workers sending the last two replies at once (PostgreSQL): one of them says it is done;
- a template in Japanese fits the form's metadata;
- a promise on a member's own card is closed, and the card re-drawn, when the incident is resolved;
- a display name like "@elonmusk" never reaches the brand's public reply;
- two workers taking turns at ingest still find the incident.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select, text, update

from bot.desk import forget
from bot.incidents import broadcast
from bot.intake.posts import Post
from bot.runtime import build_ingestor
from bot.slack.ids import Action, Field
from bot.slack.views import incident_blocks
from bot.slack.views.fit import fit_view
from bot.store.engine import transaction
from bot.store.models import Complaint, Delivery, Incident, IncidentUpdate, Promise
from tests.e2e.test_incidents import (  # noqa: F401  (fixtures)
    ALICE,
    START,
    desk,
    post,
    preview,
    small_incident,
    storm,
    x,
)
from tests.support.harness import COMPLAINTS


# F1: a template starting with {handle} gives texts that differ only in the leading @mention,
# which X (and the repo's own X stand-in) treats as duplicates: every customer but the first is refused.
def test_handle_first_template_is_distinct_on_x(desk, x):
    incident = small_incident(desk, x)
    desk.submit(ALICE, preview(desk, ALICE, incident.id, "{handle} logins work again, sorry!"), {})
    for _ in range(60):
        desk.deliver()
        desk.clock.advance(timedelta(seconds=30))
    with desk.app.sessions() as s:
        [upd] = s.scalars(select(IncidentUpdate)).all()
        rows = s.scalars(select(Delivery).where(Delivery.key.like(f"incident:{upd.id}:%"))).all()
    bad = [(r.status, r.last_error) for r in rows if r.status != "sent"]
    assert not bad, f"{len(bad)} of {len(rows)} not sent: {bad[:2]}"


def _someone_waits_on_a_lock(desk) -> bool:
    with desk.app.engine.connect() as conn:
        return bool(conn.execute(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")).scalar())


def _until(condition, timeout: float = 10.0) -> bool:
    """A condition awaited (bounded), not a fixed sleep: the other transaction's state is observed."""
    done = threading.Event()
    for _ in range(int(timeout / 0.02)):
        if condition():
            return True
        done.wait(0.02)
    return False


# F2 (PostgreSQL): Resolve incident racing a new post joining it. The ingest reads the incident as
# open (no lock), the resolve commits, the ingest commits: the new member is open, in a resolved
# incident, its own card closed ("part of incident #N") — no card, no reply, never resolved.
def test_post_joining_while_resolve_commits_is_not_stranded(desk, x, db_url):
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite serialises writers")
    desk.clock.set(START + timedelta(minutes=25))
    desk.ingestor.ingest_batch(desk.app.sessions, storm(desk, x, 20, unrelated=0), at=desk.clock.now())
    desk.deliver()
    with desk.app.sessions() as s:
        [incident] = s.scalars(select(Incident)).all()
    resolved, release = threading.Event(), threading.Event()

    def resolve():
        with transaction(desk.app.sessions) as s:
            broadcast.send(
                s,
                incident.id,
                "{name}, logins work again",
                kind="resolve",
                user_id=ALICE,
                key="v1:resolve",
                tz="UTC",
                at=desk.clock.now(),
                answerable=frozenset({"x"}),
                brand_handles={"x": "AcmeHelp"},
            )
            resolved.set()
            release.wait(10)

    b = threading.Thread(target=resolve)
    b.start()
    assert resolved.wait(10)
    late = post(
        x,
        "99999",
        "88888",
        "@AcmeHelp login down for me too, cannot log in to my account, error again",
        desk.clock.now(),
    )
    errors = []

    def ingest():
        try:
            with transaction(desk.app.sessions) as s:
                desk.ingestor.ingest_in(s, [late], at=desk.clock.now())
        except Exception as exc:
            errors.append(exc)

    a = threading.Thread(target=ingest)
    a.start()
    # Let the resolve commit only once the ingest is waiting for it (it must not overtake it).
    assert _until(lambda: _someone_waits_on_a_lock(desk)), "the ingest never waited for the resolve"
    release.set()
    b.join()
    a.join()
    assert not errors, errors
    with desk.app.sessions() as s:
        c = s.scalars(select(Complaint).where(Complaint.external_id == "99999")).one()
        inc = s.get(Incident, incident.id)
        card = s.scalars(select(Delivery).where(Delivery.key == f"card:{c.id}")).one_or_none()
        assert not (inc.status == "resolved" and c.incident_id == inc.id and c.status != "resolved"), (
            f"stranded: complaint {c.id} is {c.status} in resolved incident #{inc.id}; "
            f"its card row: {card and (card.status, card.last_error)}"
        )


# F3: an incident update's progress never reaches its end line when one of its reply rows is closed
# rather than sent or failed — e.g. the customer forgotten (`followthrough data forget`) while the update
# is still going out: `after_reply` counts only sent + dead + set_aside against `customers`, and a closed
# row never calls it. The card says "N of M answered, the rest by …" forever.
def test_update_reaches_done_after_a_customer_is_forgotten(desk, x):
    desk.clock.set(START + timedelta(minutes=25))
    desk.ingestor.ingest_batch(desk.app.sessions, storm(desk, x, 20, unrelated=0), at=desk.clock.now())
    desk.deliver()
    with desk.app.sessions() as s:
        [incident] = s.scalars(select(Incident)).all()
    with transaction(desk.app.sessions) as s:
        upd = broadcast.send(
            s,
            incident.id,
            "{name}, logins work again",
            kind="update",
            user_id=ALICE,
            key="v1:update",
            tz="UTC",
            at=desk.clock.now(),
            answerable=frozenset({"x"}),
            brand_handles={"x": "AcmeHelp"},
        )
        uid = upd.id
    with transaction(desk.app.sessions) as s:
        row = s.scalars(
            select(Delivery).where(Delivery.key.like(f"incident:{uid}:%")).order_by(Delivery.id.desc())
        ).first()
        handle = row.payload["customer"]
        forget.forget(s, "x", handle, at=desk.clock.now())
    for _ in range(40):
        desk.deliver()
        desk.clock.advance(timedelta(seconds=30))
    with desk.app.sessions() as s:
        statuses = sorted(r.status for r in s.scalars(select(Delivery).where(Delivery.incident_update == uid)))
    assert statuses.count("closed") == 1, statuses  # the forgotten customer's reply withdrawn
    card = desk.card(incident.anchor_id)
    thread = [json.dumps(m["blocks"]) for m in desk.slack.thread(COMPLAINTS, card["ts"])]
    assert any("Update sent" in t for t in thread), "no end line"
    assert "the rest by" not in json.dumps(card["blocks"]), "card still says the update is going out"


# F4 (PostgreSQL): two workers finish the last two replies of an update at the same time (e.g. the last
# X reply and the last Bluesky reply, two lanes). Each counts, in its own READ COMMITTED transaction, only
# its own row as sent: both see total-1, neither writes the "done" line. Mimics the worker's
# transaction: mark the row sent, then broadcast.after_reply, then commit.
def test_v2_done_line_written_when_last_two_finish_together(desk, x, db_url):
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite serialises writers")
    desk.clock.set(START + timedelta(minutes=25))
    desk.ingestor.ingest_batch(desk.app.sessions, storm(desk, x, 20, unrelated=0), at=desk.clock.now())
    with desk.app.sessions() as s:
        [incident] = s.scalars(select(Incident)).all()
    with transaction(desk.app.sessions) as s:
        uid = broadcast.send(
            s,
            incident.id,
            "{name}, logins work again",
            kind="update",
            user_id=ALICE,
            key="v1:update",
            tz="UTC",
            at=desk.clock.now(),
            answerable=frozenset({"x"}),
            brand_handles={"x": "AcmeHelp"},
        ).id
    with transaction(desk.app.sessions) as s:
        ids = s.scalars(select(Delivery.id).where(Delivery.key.like(f"incident:{uid}:%")).order_by(Delivery.id)).all()
        s.execute(update(Delivery).where(Delivery.id.in_(ids[:-2])).values(status="sent", sent_at=desk.clock.now()))
    barrier = threading.Barrier(2)

    def worker(row_id):
        with transaction(desk.app.sessions) as s:
            s.execute(update(Delivery).where(Delivery.id == row_id).values(status="sent", sent_at=desk.clock.now()))
            barrier.wait(10)  # both rows marked sent, neither committed: then each counts
            row = s.get(Delivery, row_id)
            broadcast.after_reply(s, row, at=desk.clock.now())

    threads = [threading.Thread(target=worker, args=(i,)) for i in ids[-2:]]
    [t.start() for t in threads]
    [t.join() for t in threads]
    with desk.app.sessions() as s:
        done = s.scalar(select(Delivery.id).where(Delivery.key == f"incident-done:{uid}"))
    assert done is not None, "no incident-done line: progress never reaches the end"


# F5: the confirm step carries the template in private_metadata as json.dumps (ensure_ascii=True):
# a non-ASCII template that is valid for the networks (Mastodon takes 500 characters) becomes \\uXXXX
# escapes, 6 characters each, past Slack's 3,000: fit_view raises Unfittable and Preview fails.
def test_a_japanese_template_can_be_previewed():
    template = broadcast.check_template(("{name}様、" + "ログインの不具合は解消しました。" * 40)[:500])
    assert len(template) <= 500
    view = incident_blocks.confirm_modal(1, "update", template, [("a", template)], 1, 0, {"mastodon": START})
    fit_view(view)


# F7: a member whose card was posted before the incident was found, with a promise on it: Resolve
# incident resolves the member in bulk but leaves its promise open (nags go on for a resolved
# complaint) and never re-draws its card (it still shows its old state and buttons).
def test_resolving_an_incident_settles_a_member_with_its_own_card(desk, x):
    desk.clock.set(START + timedelta(minutes=25))
    early = [
        post(x, f"{7000 + n}", f"{70000 + n}", f"@AcmeHelp {t}", START + timedelta(minutes=n))
        for n, t in enumerate(
            [
                "can't log in to the app, keeps saying error",
                "login is broken again?? been trying for ages",
                "unable to sign in on my phone or laptop",
            ]
        )
    ]
    desk.ingestor.ingest_batch(desk.app.sessions, early, at=desk.clock.now())
    desk.deliver()
    with desk.app.sessions() as s:
        first = s.scalars(select(Complaint).where(Complaint.external_id == early[0].id)).one()
    desk.click(ALICE, Action.CLAIM, str(first.id))
    opened = len(desk.slack.state.views)
    desk.click(ALICE, Action.PROMISE, str(first.id))
    desk.submit(
        ALICE,
        desk.opened_view(opened + 1),
        {Field.WHAT: {"value": "check your account"}, Field.WHEN: {"value": "in 3 hours"}},
    )
    desk.ingestor.ingest_batch(desk.app.sessions, storm(desk, x, 40, unrelated=0), at=desk.clock.now())
    desk.deliver()
    with desk.app.sessions() as s:
        [incident] = s.scalars(select(Incident)).all()
        assert s.get(Complaint, first.id).incident_id == incident.id
    desk.submit(ALICE, preview(desk, ALICE, incident.id, "{name}, fixed", Action.INCIDENT_RESOLVE), {})
    desk.deliver()
    with desk.app.sessions() as s:
        member = s.get(Complaint, first.id)
        [promise] = s.scalars(select(Promise).where(Promise.complaint_id == first.id)).all()
    card = json.dumps(desk.card(first.id)["blocks"])
    assert member.status == "resolved"
    assert promise.status != "open", "the member's promise stays open (and nagged) after the incident is resolved"
    assert "resolved" in card.lower(), "the member's posted card still shows it open"


# F8: {name} is the first word of the customer's display name, put verbatim into a public post made
# as the brand. A display name such as "@victim@mastodon.social" (Mastodon), "@elonmusk" (X) or a link
# makes the brand's account mention/notify a third party or post a link, to every such customer.
def test_display_name_cannot_mention_anyone(desk, x):
    desk.clock.set(START + timedelta(minutes=25))
    posts = storm(desk, x, 20, unrelated=0)
    p = posts[0]
    posts[0] = Post(
        source=p.source,
        id=p.id,
        text=p.text,
        author_id=p.author_id,
        author_handle=p.author_handle,
        author_name="@elonmusk https://evil.example",
        created_at=p.created_at,
        followers=1,
    )
    desk.ingestor.ingest_batch(desk.app.sessions, posts, at=desk.clock.now())
    with desk.app.sessions() as s:
        [incident] = s.scalars(select(Incident)).all()
        planned, _ = broadcast.plan(
            s,
            incident.id,
            "Hi {name}, logins work again",
            at=desk.clock.now(),
            answerable=frozenset({"x"}),
            brand_handles={"x": "AcmeHelp"},
        )
    texts = [pl.text for pl in planned]
    bad = [t for t in texts if re.search(r"@\w", t)]
    assert not bad, bad


# F9: each worker process has its own Detector, whose index of recent complaints is only loaded once
# (and again only when a batch reaches back before it); on PostgreSQL several workers drain the inbox,
# taking turns batch by batch (a per-transaction advisory lock). Alternating batches, each worker sees
# half of a storm: 24 customers on one outage (min_authors 15) give no incident; one worker alone
# opens one. Simulated with two Ingestor objects on one database.
def test_two_workers_taking_turns_still_find_the_incident(desk, x):
    desk.clock.set(START + timedelta(minutes=25))
    posts = sorted(storm(desk, x, 24, unrelated=0), key=lambda p: p.created_at)
    workers = [build_ingestor(desk.app), build_ingestor(desk.app)]
    for n, p in enumerate(posts):
        workers[n % 2].ingest_batch(desk.app.sessions, [p], at=desk.clock.now())
    with desk.app.sessions() as s:
        assert s.scalar(select(func.count()).select_from(Incident)) == 1, "no incident: each worker saw half"
