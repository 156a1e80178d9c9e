"""One sender's poison never costs another sender a post (#22), on both engines.

A record no engine can store as it is — nested 976 deep, NaN, a NUL in its id or handle, a lone
surrogate — is refused alone, with its index and reason, and its good neighbours are stored and
carded ("accepted" means carded). Data the database itself refuses (a trigger here, standing in for
any constraint) fails only the request that carried it: the group commit writes each request again
on its own, so fifty other senders' requests are answered 202, never 5xx.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from bot.common.clock import FakeClock
from tests.support.webhook import WebhookServer, record

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MARK = "POISON-7f3a"


@pytest.fixture
def server(db_url: str):
    s = WebhookServer(db_url, clock=FakeClock(AT), threads=24)
    yield s
    s.close()


def test_a_bad_record_is_refused_alone_with_its_reason(server: WebhookServer):
    when = AT - timedelta(minutes=1)
    deep = json.dumps(record(2, at=when))[:-1] + ', "extra": ' + "[" * 40 + '"x"' + "]" * 40 + "}"
    parts = [
        json.dumps(record(1, at=when)),
        deep,  # a field nested 40 deep: the request is read, this record refused
        json.dumps({**record(3, at=when), "score": float("nan")}, allow_nan=True),  # NaN as a careless sender writes it
        json.dumps(record(4, at=when, id="c4\x00")),
        json.dumps(record(5, at=when, author_handle="jo\x00")),
        json.dumps(record(6, at=when, note="\ud800")),
        json.dumps(record(7, at=when)),
    ]
    raw = ("[" + ",".join(parts) + "]").encode()
    answer = server.post("facebook", raw)
    assert answer.status == 202, answer.body
    assert answer.body["accepted"] == 2
    reasons = {r["index"]: r["reason"] for r in answer.body["rejected"]}
    assert sorted(reasons) == [1, 2, 3, 4, 5]
    assert "nested more than" in reasons[1]
    assert "NaN" in reasons[2]
    assert "NUL" in reasons[3]
    assert "control character" in reasons[4] or "NUL" in reasons[4]
    assert "surrogate" in reasons[5]
    server.drain()
    assert sorted(c.external_id for c in server.complaints("facebook")) == ["c1", "c7"]  # accepted = carded


def test_a_body_nested_too_deep_is_a_400_not_a_traceback(server: WebhookServer):
    """976 deep parsed, then failed at commit with everyone's group (a 503 the sender retried for
    ever); 5,000 deep was a RecursionError and a 500. Both are one 400 now, with the reason."""
    for n in (976, 5000):
        good = json.dumps(record(1, at=AT - timedelta(minutes=1)))
        answer = server.post("facebook", f'[{good}, {{"x": {"[" * n}1{"]" * n}}}]'.encode())
        assert answer.status == 400
        assert "nested more than" in answer.body["error"]
    assert server.inbox_rows() == 0


def _refuse_marked_records(server: WebhookServer) -> None:
    """The database refuses any inbox row carrying MARK, as a constraint would (not an outage)."""
    with server.app.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.execute(
                text(
                    f"CREATE TRIGGER refuse_poison BEFORE INSERT ON inbox WHEN NEW.record LIKE '%{MARK}%' "
                    "BEGIN SELECT RAISE(ABORT, 'poison refused'); END"
                )
            )
        else:
            conn.execute(
                text(
                    "CREATE OR REPLACE FUNCTION refuse_poison() RETURNS trigger AS $$ BEGIN "
                    f"IF NEW.record::text LIKE '%{MARK}%' THEN "
                    "RAISE EXCEPTION 'poison refused' USING ERRCODE = 'check_violation'; END IF; "
                    "RETURN NEW; END $$ LANGUAGE plpgsql"
                )
            )
            conn.execute(
                text(
                    "CREATE TRIGGER refuse_poison BEFORE INSERT ON inbox FOR EACH ROW EXECUTE FUNCTION refuse_poison()"
                )
            )


@pytest.mark.timeout(120)
def test_fifty_senders_and_one_poisoner_every_good_post_stored_once_and_no_5xx(server: WebhookServer):
    _refuse_marked_records(server)
    when = AT - timedelta(minutes=1)
    senders, per_sender, per_request = 50, 4, 5
    answers: dict[int, list[int]] = {n: [] for n in range(senders)}
    refused: list[dict] = []
    start = threading.Barrier(senders)

    def send(n: int) -> None:
        start.wait()
        for r in range(per_sender):
            base = (n * per_sender + r) * per_request
            body = [record(base + k, at=when) for k in range(per_request)]
            if n == 0:  # the poisoner: every request carries one record the database refuses
                body[2] = record(base + 2, at=when, note=MARK)
            answer = server.post("facebook" if n % 2 else "helpdesk", body)
            answers[n].append(answer.status)
            if n == 0:
                refused.append(answer.body)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(senders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    good = [s for n in range(1, senders) for s in answers[n]]
    assert good == [202] * ((senders - 1) * per_sender), sorted(set(good))  # no 5xx to good senders
    assert answers[0] == [422] * per_sender  # the poisoner is told, once, which records and why
    assert all(len(b["rejected"]) == per_request for b in refused)
    assert all("could not be stored" in r["reason"] for b in refused for r in b["rejected"])
    server.drain()
    stored = {c.external_id for src in ("facebook", "helpdesk") for c in server.complaints(src)}
    expected = {f"c{(n * per_sender + r) * per_request + k}" for n in range(1, senders) for r in range(per_sender)
                for k in range(per_request)}  # fmt: skip
    assert stored == expected  # every good post once (complaints are unique per source and id)
