"""``/complaints incidents``: the real app behind waitress answering a signed slash command, on SQLite
and PostgreSQL. The incidents are made the real way — storms of posts ingested and detected, the
incident card claimed with its button, updates and a resolution stored by ``bot.incidents.broadcast``
— and the worker's outcome for some replies is written as the worker writes it (status ``sent``).
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from bot.incidents import broadcast
from bot.intake.posts import Post
from bot.slack.ids import Action
from bot.slack.views.blocks import slack_date
from bot.store.models import Delivery, Incident, IncidentUpdate
from tests.support.harness import TEAM, Desk

ALICE, BOB, CAROL = TEAM
TAILS = ["", "!!", " seriously", " on my phone", " on android", " on the laptop", " since 9am", " for an hour"]
TAILS += [" #fail", " 😡", " help", " ugh", " fix it", " what is going on", " every time", " again and again"]
LOGIN = [f"can't log in to the app, error again{tail}" for tail in TAILS]
PAYMENT = [f"payment keeps failing at checkout, card declined{tail}" for tail in TAILS]
"""One outage each, in small variations (``tests/support/incident_storm.py`` has the many wordings a
big storm is told in; fifteen customers need one wording to be one topic at once)."""


@pytest.fixture
def desk(db_url: str) -> Iterator[Desk]:
    d = Desk(db_url)
    yield d
    d.close()


def storm(desk: Desk, wordings: list[str], customers: int, *, start: datetime, tag: str, unmentioned: int = 0) -> int:
    """``customers`` customers posting on one outage within 15 minutes, ingested at once: the
    incident it becomes. The first ``unmentioned`` do not mention the brand (X refuses an API reply
    to those: they cannot be answered from here)."""
    rng = random.Random(tag)
    posts = [
        Post(
            source="x",
            id=f"{tag}{n}",
            text=("" if n < unmentioned else "@AcmeHelp ") + wordings[n % len(wordings)],
            author_id=f"{tag}-author-{n}",
            author_handle=f"{tag}_customer{n}",
            author_name=f"Name{n} Surname",
            created_at=start + timedelta(seconds=rng.uniform(0, 900)),
        )
        for n in range(customers)
    ]
    desk.clock.set(start + timedelta(minutes=16))
    desk.ingestor.ingest_batch(desk.app.sessions, posts, at=desk.clock.now())
    with desk.app.sessions() as s:
        found = s.scalars(select(Incident.id).where(Incident.customers == customers)).all()
    assert len(found) == 1, "the storm is one incident"
    return found[0]


def send(desk: Desk, incident_id: int, kind: str, key: str) -> int:
    """An update (or the resolution) as the incident card's form stores it."""
    with desk.app.sessions() as s, s.begin():
        row = broadcast.send(
            s,
            incident_id,
            "{name}, we are on it: logins and payments are being fixed.",
            kind=kind,
            user_id=BOB,
            key=key,
            tz="UTC",
            at=desk.clock.now(),
            answerable=frozenset({"x"}),
            brand_handles={"x": "AcmeHelp"},
        )
        return row.id


def mark_sent(desk: Desk, update_id: int, count: int | None = None) -> None:
    """The worker's outcome for ``count`` of the update's replies (all when None)."""
    with desk.app.sessions() as s, s.begin():
        keys = sorted(s.scalars(select(Delivery.key).where(Delivery.key.like(f"incident:{update_id}:%"))))
        chosen = keys if count is None else keys[:count]
        s.execute(update(Delivery).where(Delivery.key.in_(chosen)).values(status="sent", sent_at=desk.clock.now()))


def answer(desk: Desk, text: str = "incidents") -> str:
    status, raw, _ = desk.command(ALICE, "/complaints", text)
    assert status == 200
    body = json.loads(raw)
    assert body["response_type"] == "ephemeral"
    return body["text"]


def test_open_incidents_first_then_the_last_fortnights_resolved_with_progress_owner_and_card(desk: Desk):
    assert answer(desk).startswith(":white_check_mark: No open incidents, and none resolved in the last 14 days.")
    assert "`/complaints incidents`" in answer(desk, "help")

    now = desk.clock.now()
    # A payment outage five days ago, resolved the next day; a login outage now, claimed, two updates.
    payment = storm(desk, PAYMENT, 15, start=now - timedelta(days=5), tag="pay")
    desk.clock.set(now - timedelta(days=4))
    send(desk, payment, "resolve", "form-pay")
    login = storm(desk, LOGIN, 16, start=now, tag="login", unmentioned=2)
    with desk.app.sessions() as s:
        incident = s.get(Incident, login)
        assert incident is not None
        anchor, detected = incident.anchor_id, incident.detected_at
    desk.deliver()
    assert desk.click(ALICE, Action.CLAIM, str(anchor))[0] == 200  # the incident card's Claim
    desk.clock.advance(timedelta(minutes=10))
    first = send(desk, login, "update", "form-1")
    mark_sent(desk, first)  # the first update went to everyone it could reach
    # Alice hands the incident to Carol from its card: the owner is its anchor's, wherever it went.
    assert desk.click(ALICE, Action.HAND_OVER, block_id=f"card_{anchor}", selected_user=CAROL)[0] == 200
    desk.clock.advance(timedelta(minutes=20))
    latest = send(desk, login, "update", "form-2")
    mark_sent(desk, latest, 5)
    # One resolved three weeks ago: off the list.
    with desk.app.sessions() as s, s.begin():
        old = Incident(
            status="resolved",
            anchor_id=anchor,
            title="old outage",
            customers=30,
            posts=30,
            networks=["x"],
            first_post_at=now - timedelta(days=22),
            latest_post_at=now - timedelta(days=22),
            threshold_post_at=now - timedelta(days=22),
            detected_at=now - timedelta(days=22),
            resolved_at=now - timedelta(days=21),
            updated_at=now - timedelta(days=21),
        )
        s.add(old)
        s.flush()
        old_id = old.id
        updates = s.scalars(select(IncidentUpdate).where(IncidentUpdate.incident_id == login)).all()
        assert [len(u.unreachable) for u in updates] == [2, 2]  # the two posts without the brand's name

    text = answer(desk)
    assert text.startswith("*Incidents*: 1 open · 1 resolved in the last 14 days")
    open_at, resolved_at = text.index(f"*Incident #{login}* (open)"), text.index(f"*Incident #{payment}* (resolved")
    assert open_at < resolved_at, "open incidents first"
    assert f"*Incident #{old_id}*" not in text
    login_line = text[open_at:resolved_at]
    assert "login" in login_line
    assert "*16 customers*, 16 posts" in login_line
    assert f"detected {slack_date(detected)}" in login_line
    assert f"owner <@{CAROL}>" in login_line
    assert f"card #{anchor}" in login_line
    # The latest update's progress: five of the fourteen it could reach; two it cannot.
    assert "update: 5 of 14 sent · :warning: 2 cannot be answered from here" in login_line
    payment_line = text[resolved_at:]
    assert f"resolved {slack_date(now - timedelta(days=4))} by <@{BOB}>" in payment_line
    assert "*15 customers*" in payment_line
    assert "resolution: 0 of 15 sent" in payment_line
    assert "cannot be answered" not in payment_line
