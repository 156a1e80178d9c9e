"""The signed webhook, driven over real HTTP into the real app (waitress), on a real database.

Each refusal must change nothing: no inbox row, no source row. 202 must mean "in the inbox".
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.common.clock import FakeClock
from bot.networks.webhook.server import MAX_BODY, sign
from bot.store.models import SourceCursor
from tests.support.webhook import SECRETS, WebhookServer, record

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def hook(db_url: str) -> Iterator[WebhookServer]:
    server = WebhookServer(db_url, clock=FakeClock(NOW), threads=4)
    yield server
    server.close()


def untouched(hook: WebhookServer) -> bool:
    with hook.app.sessions() as session:
        sources = session.scalar(select(func.count()).select_from(SourceCursor)) or 0
    return hook.inbox_rows() == 0 and sources == 0


def at(minutes: float) -> datetime:
    return NOW - timedelta(minutes=minutes)


def test_a_signed_batch_is_in_the_inbox_when_202_comes_back_and_becomes_cards(hook: WebhookServer):
    answer = hook.post("facebook", [record(1, at=at(5)), record(2, at=at(4))])
    assert answer.status == 202
    assert answer.body == {"accepted": 2, "duplicates": 0, "rejected": []}
    assert hook.inbox_rows() == 2  # durable before the answer, not after some later step
    hook.drain()
    complaints = hook.complaints("facebook")
    assert [c.external_id for c in complaints] == ["c1", "c2"]
    assert hook.stored("facebook") == 2
    assert hook.stored("x") == 0


def test_one_post_as_a_plain_object_is_accepted(hook: WebhookServer):
    assert hook.post("facebook", record(7, at=at(1))).status == 202
    hook.drain()
    assert hook.stored("facebook") == 1


def test_unsigned_and_badly_signed_requests_get_401_and_change_nothing(hook: WebhookServer):
    body = json.dumps([record(1, at=at(1))]).encode()
    ts = str(int(NOW.timestamp()))
    assert hook.post("facebook", body, signature="").status == 401
    assert hook.post("facebook", body, secret=SECRETS["helpdesk"]).status == 401  # another source's secret
    assert hook.post("facebook", body, secret="").status == 401
    other = sign(SECRETS["facebook"], ts, b"[]")
    assert hook.post("facebook", body, signature=other).status == 401  # signed a different body
    assert hook.post("facebook", body, signature=sign(SECRETS["facebook"], ts, body)[:-1]).status == 401
    assert hook.post("facebook", body, signature="v0=" + sign(SECRETS["facebook"], ts, body)[3:]).status == 401
    assert hook.post("facebook", body, timestamp="").status == 401
    assert hook.post("facebook", body, timestamp="soon").status == 401
    assert untouched(hook)


def test_the_timestamp_is_signed_so_changing_it_breaks_the_signature(hook: WebhookServer):
    body = json.dumps(record(1, at=at(1))).encode()
    ts = str(int(NOW.timestamp()))
    good = sign(SECRETS["facebook"], ts, body)
    assert hook.post("facebook", body, timestamp=str(int(ts) - 1), signature=good).status == 401
    assert untouched(hook)
    assert hook.post("facebook", body, timestamp=ts, signature=good).status == 202


@pytest.mark.parametrize("skew", [301, -301, 3600, -86400])
def test_requests_more_than_five_minutes_off_either_way_get_401(hook: WebhookServer, skew: int):
    ts = str(int(NOW.timestamp()) - skew)
    assert hook.post("facebook", [record(1, at=at(10))], timestamp=ts).status == 401
    assert untouched(hook)


@pytest.mark.parametrize("skew", [299, -299, 0])
def test_requests_within_five_minutes_are_taken(hook: WebhookServer, skew: int):
    ts = str(int(NOW.timestamp()) - skew)
    assert hook.post("facebook", [record(1, at=at(10))], timestamp=ts).status == 202


def test_a_body_over_1_mb_gets_413_and_changes_nothing(hook: WebhookServer):
    big = [record(i, at=at(1), text="x" * 20_000) for i in range(60)]
    body = json.dumps(big).encode()
    assert len(body) > MAX_BODY
    answer = hook.post("facebook", body)
    assert answer.status == 413
    assert untouched(hook)


def test_bad_records_are_reported_by_index_and_the_good_ones_kept(hook: WebhookServer):
    batch = [
        record(1, at=at(3)),
        {k: v for k, v in record(2, at=at(3)).items() if k != "text"},
        "not a post",
        record(4, at=at(3), source="x"),  # a webhook sender may not write as another source
        record(5, at=at(3), followers=-4),
        record(6, at=at(3), created_at="next tuesday"),
        record(7, at=at(3)),
    ]
    answer = hook.post("facebook", batch)
    assert answer.status == 202
    assert answer.body["accepted"] == 2
    reasons = {r["index"]: r["reason"] for r in answer.body["rejected"]}
    assert sorted(reasons) == [1, 2, 3, 4, 5]
    assert reasons[1] == "missing text"
    assert "JSON object" in reasons[2]
    assert "does not match" in reasons[3]
    assert "followers" in reasons[4]
    assert "ISO 8601" in reasons[5]
    hook.drain()
    assert [c.external_id for c in hook.complaints("facebook")] == ["c1", "c7"]
    assert hook.stored("x") == 0


def test_a_batch_with_no_good_record_gets_422_with_the_reasons(hook: WebhookServer):
    answer = hook.post("facebook", [{"id": "1"}, 42])
    assert answer.status == 422
    assert [r["index"] for r in answer.body["rejected"]] == [0, 1]
    assert hook.inbox_rows() == 0


@pytest.mark.parametrize("body", [b"not json", b"\xff\xfe", b"[]", b"42", b'"post"'])
def test_a_signed_body_that_is_not_posts_gets_400(hook: WebhookServer, body: bytes):
    assert hook.post("facebook", body).status == 400
    assert untouched(hook)


def test_retries_of_the_same_body_never_double_a_post_or_a_card(hook: WebhookServer):
    batch = [record(i, at=at(2)) for i in range(1, 6)]
    assert hook.post("facebook", batch).status == 202
    retried = hook.post("facebook", batch)  # the sender lost our answer and retried, before ingest
    assert retried.status == 202
    assert retried.body == {"accepted": 0, "duplicates": 5, "rejected": []}  # it counted 5 accepted
    assert hook.inbox_rows() == 5
    hook.drain()
    again = hook.post("facebook", batch)  # a late retry, after ingest
    assert again.status == 202
    assert again.body == {"accepted": 0, "duplicates": 5, "rejected": []}
    hook.drain()
    assert hook.stored("facebook") == 5
    assert len(hook.complaints("facebook")) == 5
    assert hook.inbox_rows() == 0


def test_the_same_id_twice_in_one_body_is_stored_once(hook: WebhookServer):
    answer = hook.post("facebook", [record(1, at=at(2)), record(1, at=at(2))])
    assert answer.body == {"accepted": 1, "duplicates": 1, "rejected": []}


def test_the_same_id_on_two_sources_is_two_posts(hook: WebhookServer):
    assert hook.post("facebook", [record(1, at=at(2))]).status == 202
    assert hook.post("helpdesk", [record(1, at=at(2))]).status == 202
    hook.drain()
    assert hook.stored("facebook") == 1
    assert hook.stored("helpdesk") == 1


@pytest.mark.parametrize("source", ["instagram", "Facebook", "x", "a" * 33, "face%2Fbook", "", "facebook/../x"])
def test_unknown_or_malformed_sources_get_the_same_401_as_a_wrong_signature(hook: WebhookServer, source: str):
    """A prober must not learn which sources exist: an unknown source is answered exactly as a
    configured one with a wrong signature (it was 404 against 401), after the same HMAC check."""
    answer = hook.post(source, [record(1, at=at(1))], secret=SECRETS["facebook"])
    wrong = hook.post("facebook", [record(1, at=at(1))], secret="not-the-secret-0123456789")
    assert (
        (answer.status, answer.body)
        == (wrong.status, wrong.body)
        == (401, {"error": "missing, wrong or stale signature"})
    )
    assert untouched(hook)


def test_only_post_is_allowed(hook: WebhookServer):
    assert hook.post("facebook", b"", method="GET").status == 405
    assert hook.post("facebook", b"", method="PUT").status == 405


def test_sources_without_webhook_turn_the_endpoint_off(db_url: str):
    server = WebhookServer(db_url, clock=FakeClock(NOW), threads=2, sources=("x",))
    try:
        assert server.post("facebook", [record(1, at=at(1))]).status == 401  # as if it were unknown
    finally:
        server.close()


def test_each_webhook_source_has_its_own_health_line(hook: WebhookServer):
    assert hook.post("facebook", [record(1, at=at(2))]).status == 202
    assert hook.post("helpdesk", [record(2, at=at(2))]).status == 202
    hook.drain()
    from bot.intake.state import source_statuses

    with hook.app.sessions() as session:
        lines = [s.line() for s in source_statuses(session, now=NOW, silence=timedelta(hours=6))]
    assert [line.split(":")[0] + ":" + line.split(":")[1] for line in lines] == [
        "webhook:facebook",
        "webhook:helpdesk",
    ]


def test_the_app_itself_refuses_over_1_mb_whatever_server_runs_it(hook: WebhookServer):
    """waitress refuses first in production; the WSGI app must not rely on it (another server,
    a proxy that strips the limit). Declared too large: the body is not even read."""
    import io

    from bot.web import make_wsgi_app

    app = make_wsgi_app(hook.app, slack_events=False)
    seen: list[str] = []

    class Unreadable(io.BytesIO):
        def read(self, *args: object) -> bytes:
            raise AssertionError("the body was read")

    environ = {
        "PATH_INFO": "/ingest/facebook",
        "REQUEST_METHOD": "POST",
        "CONTENT_LENGTH": str(MAX_BODY + 1),
        "wsgi.input": Unreadable(),
    }
    app(environ, lambda status, headers: seen.append(status))
    assert seen == ["413 Content Too Large"]
    assert untouched(hook)


def test_without_slack_events_the_server_takes_only_the_webhook_and_health(hook: WebhookServer):
    """Socket Mode: nothing signs /slack/events with a secret we hold, so it is not served at all."""
    conn = hook.connect()
    try:
        conn.request("POST", "/slack/events", body=b"{}", headers={"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        assert response.status == 404
        conn.request("GET", "/healthz")
        health = conn.getresponse()
        assert (health.status, json.loads(health.read())) == (200, {"ok": True})
    finally:
        conn.close()
