"""The report's facts are kept with the events, equal what the events say, and are derived for
events stored before they existed — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select, text

from bot.history import facts
from bot.store import migrate
from bot.store.engine import make_sessionmaker
from bot.store.models import ComplaintFacts, PromiseFacts
from tests.support.report_history import ALICE, BOB, CAROL, build, t


def snapshot(engine: Engine) -> tuple[list[tuple], list[tuple]]:
    with make_sessionmaker(engine)() as s:
        complaints = [tuple(r) for r in s.execute(select(ComplaintFacts).order_by(ComplaintFacts.complaint_id)).all()]
        complaint_rows = [
            (
                f.complaint_id,
                f.source,
                f.waiting_since,
                f.first_response_at,
                f.first_response_by,
                f.first_claim_at,
                f.first_claim_by,
                f.first_resolve_at,
                f.first_resolve_by,
                f.first_response_s,
                f.first_claim_s,
                f.first_resolve_s,
            )
            for (f,) in complaints
        ]
        promises = s.execute(select(PromiseFacts).order_by(PromiseFacts.promise_id)).scalars().all()
        promise_rows = [
            (p.promise_id, p.complaint_id, p.owner_id, p.source, p.made_at, p.outcome, p.outcome_at) for p in promises
        ]
    return complaint_rows, promise_rows


def test_facts_kept_with_the_events_are_what_the_events_say(migrated: Engine):
    ids = build(make_sessionmaker(migrated))
    kept = snapshot(migrated)
    complaints, promises = kept
    by_complaint = {row[0]: row for row in complaints}
    by_promise = {row[0]: row for row in promises}

    # c2: Bob claimed after 30 min and resolved first; Carol's later resolve is not a first
    c2 = by_complaint[ids["c2"]]
    assert (c2[4], c2[6], c2[8]) == (BOB, BOB, BOB)
    # c6: first answered by Alice's public reply an hour in; never claimed or resolved
    c6 = by_complaint[ids["c6"]]
    assert (c6[1], c6[3], c6[4], c6[5], c6[7]) == ("bluesky", t(4, 13), ALICE, None, None)
    assert c6[9:] == (3600, None, None)  # seconds waited, as written with the event
    # c4: never answered, claimed or resolved: no row (its promise has one)
    assert ids["c4"] not in by_complaint
    # p4 broke, then was kept late: one outcome, the last; p5 was cancelled: settled, no outcome
    assert by_promise[ids["p4"]][5:] == ("kept_late", t(10, 11))
    assert by_promise[ids["p4"]][2] == BOB
    assert by_promise[ids["p5"]][5:] == (None, t(10, 10))
    assert by_promise[ids["p5"]][2] == CAROL
    assert by_promise[ids["p6"]][5] == "broken"

    with migrated.begin() as conn:
        facts.rebuild(conn)
    assert snapshot(migrated) == kept


def test_a_bot_resolve_is_nobody_s_first_resolve(migrated: Engine):
    ids = build(make_sessionmaker(migrated))
    with make_sessionmaker(migrated)() as s, s.begin():
        facts.apply(s, "resolve", actor="followthrough", at=t(4, 9), complaint_id=ids["c3"], promise_id=None)
        assert s.get(ComplaintFacts, ids["c3"]).first_resolve_at is None
        facts.apply(s, "resolve", actor=CAROL, at=t(4, 10), complaint_id=ids["c3"], promise_id=None)
        assert s.get(ComplaintFacts, ids["c3"]).first_resolve_by == CAROL
        # an earlier first arriving later (a claim seen out of order) replaces it; a later one does not
        facts.apply(s, "claim", actor=BOB, at=t(1, 0), complaint_id=ids["c3"], promise_id=None)
        facts.apply(s, "claim", actor=ALICE, at=t(9, 0), complaint_id=ids["c3"], promise_id=None)
        row = s.get(ComplaintFacts, ids["c3"])
        assert (row.first_claim_by, row.first_claim_at, row.first_response_by) == (BOB, t(1, 0), BOB)


def test_the_migration_derives_facts_from_events_stored_before_it(engine: Engine):
    migrate.upgrade(engine, "0010")
    at = lambda day, hour: datetime(2026, 3, day, hour, tzinfo=UTC)  # noqa: E731
    ts = (lambda v: v.replace(tzinfo=None)) if engine.dialect.name == "sqlite" else (lambda v: v)
    on_time = "'{\"on_time\": true}'" if engine.dialect.name == "sqlite" else "CAST('{\"on_time\": true}' AS json)"
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO complaints (id, source, external_id, author_id, author_handle, author_followers,"
                " author_verified, text, posted_at, sentiment_compound, sentiment_pos, sentiment_neg, sentiment_neu,"
                " kind, triage_score, triage_signals, priority, status, customer_confirmed, amplification_count,"
                " amplification_reach, reply_count, repeat_contact, duplicate_count, created_at, updated_at)"
                " VALUES (7, 'x', 'p7', 'a7', 'someone', 1, false, 'late again', :posted, 0, 0, 0, 1, 'complaint',"
                " 1, '[]', 1, 'resolved', false, 0, 0, 0, 0, 0, :stored, :stored)"
            ),
            {"posted": ts(at(2, 8)), "stored": ts(at(2, 9))},
        )
        conn.execute(
            text(
                "INSERT INTO promises (id, complaint_id, owner_id, text, due_at, status, reschedule_count,"
                " ladder_step, created_by, created_at) VALUES (3, 7, :bob, 'call back', :due, 'kept', 0, 0, :bob,"
                " :made)"
            ),
            {"bob": BOB, "due": ts(at(3, 9)), "made": ts(at(2, 11))},
        )
        events = [
            (None, ALICE, "public_reply", "NULL", at(2, 10)),
            (None, BOB, "claim", "NULL", at(2, 10)),  # same time, recorded later: not the first response
            (None, "followthrough", "resolve", "NULL", at(2, 12)),
            (3, BOB, "promise", "NULL", at(2, 11)),
            (3, BOB, "promise_kept", on_time, at(3, 8)),
            (None, BOB, "resolve", "NULL", at(3, 9)),
        ]
        for promise_id, actor, action, details, when in events:
            conn.execute(
                text(
                    "INSERT INTO audit_events (complaint_id, promise_id, actor, action, details, at)"
                    f" VALUES (7, :pid, :actor, :action, {details}, :at)"
                ),
                {"pid": promise_id, "actor": actor, "action": action, "at": ts(when)},
            )
    migrate.upgrade(engine)
    complaints, promises = snapshot(engine)
    assert complaints == [(7, "x", at(2, 8), at(2, 10), ALICE, at(2, 10), BOB, at(3, 9), BOB, 7200, 7200, 90000)]
    assert promises == [(3, 7, BOB, "x", at(2, 11), "kept_on_time", at(3, 8))]
