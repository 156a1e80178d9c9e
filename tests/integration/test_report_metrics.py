"""The lead's numbers from a known history, checked one by one on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import Engine

from bot.reports import metrics
from bot.reports.metrics import Unit
from bot.store.engine import make_sessionmaker
from tests.support.report_history import ALICE, BOB, CAROL, NOW, build


@pytest.fixture
def history(migrated: Engine) -> tuple[Engine, dict[str, int]]:
    return migrated, build(make_sessionmaker(migrated))


def weeks(engine: Engine, count: int = 2, start: date = date(2026, 3, 2), person: str | None = None) -> metrics.Report:
    with make_sessionmaker(engine)() as s:
        spans = metrics.periods(start, count, Unit.WEEK, "UTC")
        return metrics.compute(s, spans, unit=Unit.WEEK, tz="UTC", now=NOW, person=person)


def test_team_numbers_per_week(history):
    engine, _ = history
    report = weeks(engine)
    assert [p.label for p in report.periods] == ["2026-W10", "2026-W11"]
    w1, w2 = report.team
    assert w1.complaints_in == 5
    assert w2.complaints_in == 1
    # first responses: c1 600 s, c2 1800 s, c3 3600 s (claims) and c6 3600 s (a public reply)
    assert w1.first_responses == 4
    assert (w1.first_response_median_s, w1.first_response_p90_s) == pytest.approx((2700, 3600), abs=0.01)
    assert w1.claimed == 3
    assert (w1.claim_median_s, w1.claim_p90_s) == pytest.approx((1800, 3600), abs=0.01)
    # first resolves: c1 after 9 h, c2 after 24 h; Carol's second resolve of c2 is not a first
    assert w1.resolved == 2
    assert w2.resolved == 0
    assert (w1.resolve_median_s, w1.resolve_p90_s) == pytest.approx((59400, 86400), abs=0.01)
    assert w1.reopened == 1
    assert w2.reopened == 0
    assert (w1.promises_made, w2.promises_made) == (5, 1)
    assert (w1.rescheduled, w1.rescheduled_promises) == (2, 1)
    # outcomes: p1, p3 on time; p2 late; p6 broken; p4 broke in week 1 but was kept late in week 2
    assert (w1.kept_on_time, w1.kept_late, w1.broken) == (2, 1, 1)
    assert w1.kept_rate == pytest.approx(0.5)
    assert (w2.kept_on_time, w2.kept_late, w2.broken) == (0, 1, 0)
    assert w2.kept_rate == 0.0
    assert w2.first_responses == 1
    assert w2.first_response_median_s == pytest.approx(300, abs=0.01)


def test_per_person_and_network(history):
    engine, ids = history
    report = weeks(engine)
    people, networks = report.of("person"), report.of("network")
    alice, bob = people[ALICE][0], people[BOB][0]
    assert alice.first_responses == 3
    assert (alice.first_response_median_s, alice.first_response_p90_s) == pytest.approx((3600, 3600), abs=0.01)
    assert alice.claimed == 2
    assert alice.claim_median_s == pytest.approx(2100, abs=0.01)
    assert alice.resolved == 1
    assert alice.resolve_median_s == pytest.approx(32400, abs=0.01)
    assert (alice.promises_made, alice.kept_on_time, alice.kept_late, alice.broken) == (3, 2, 0, 1)
    assert (alice.rescheduled, alice.rescheduled_promises) == (2, 1)
    assert alice.kept_rate == pytest.approx(2 / 3)
    # the reopen (by Carol) counts against Bob, who had resolved it
    assert (bob.claimed, bob.resolved, bob.reopened, bob.promises_made, bob.kept_late) == (1, 1, 1, 2, 1)
    assert bob.kept_rate == 0.0
    assert people[CAROL][0] == metrics.Metrics()
    assert people[CAROL][1].claimed == 1
    assert people[BOB][1].kept_late == 1  # p4, kept late in week 2
    x, sky = networks["x"][0], networks["bluesky"][0]
    assert (x.complaints_in, sky.complaints_in) == (3, 2)
    assert (x.first_response_median_s, x.first_response_p90_s) == pytest.approx((1200, 1800), abs=0.01)
    assert (sky.first_response_median_s, sky.first_responses) == (pytest.approx(3600, abs=0.01), 2)
    assert (x.kept_on_time, x.kept_late, x.broken, sky.kept_on_time, sky.broken) == (1, 1, 0, 1, 1)
    assert networks["x"][1].complaints_in == 1
    # oldest promise still owed now: p6 (broken, never kept)
    assert report.oldest_open[("team", "")].promise_id == ids["p6"]
    assert report.oldest_open[("person", ALICE)].promise_id == ids["p6"]
    assert ("person", BOB) not in report.oldest_open
    assert ("network", "x") not in report.oldest_open


def test_one_person(history):
    engine, ids = history
    report = weeks(engine, count=1, person=BOB)
    assert set(report.of("person")) == {BOB}
    assert report.of("person")[BOB][0].reopened == 1
    assert report.team[0].first_responses == 4  # the team's numbers are whole
    assert report.oldest_open[("team", "")].promise_id == ids["p6"]
    assert ("person", ALICE) not in report.oldest_open


def test_per_day(history):
    engine, _ = history
    with make_sessionmaker(engine)() as s:
        spans = metrics.periods(date(2026, 3, 2), 7, Unit.DAY, "UTC")
        report = metrics.compute(s, spans, unit=Unit.DAY, tz="UTC", now=NOW)
        assert metrics.daily_complaints(s, spans) == [2, 2, 1, 0, 0, 0, 0]
    days = report.team
    assert [d.complaints_in for d in days] == [2, 2, 1, 0, 0, 0, 0]
    assert [d.claimed for d in days] == [2, 1, 0, 0, 0, 0, 0]
    assert (days[0].kept_on_time, days[0].kept_late, days[3].kept_on_time, days[4].broken) == (1, 1, 1, 1)
    assert days[1].resolved == 1
    assert days[2].reopened == 1
    assert [d.rescheduled for d in days] == [0, 1, 1, 0, 0, 0, 0]


def test_team_time_zone_moves_the_day_boundary(history):
    engine, _ = history
    with make_sessionmaker(engine)() as s:
        # In Tokyo (UTC+9) c3 and c4, stored 08:00 UTC on the 3rd, arrive at 17:00 local the 3rd, and c1
        # and c2 (09:00/10:00 UTC on the 2nd) at 18:00/19:00 local on the 2nd; c6 (12:00 UTC 4th) 21:00 4th.
        spans = metrics.periods(date(2026, 3, 2), 3, Unit.DAY, "Asia/Tokyo")
        assert metrics.daily_complaints(s, spans) == [2, 2, 1]
        # In Honolulu (UTC-10) c1 (09:00 UTC on the 2nd) arrives at 23:00 on the 1st, c2 (10:00 UTC)
        # exactly at midnight, so on the 2nd, with c3 and c4 (22:00 on the 2nd); c6 is 02:00 on the 4th.
        spans = metrics.periods(date(2026, 3, 1), 3, Unit.DAY, "Pacific/Honolulu")
        assert metrics.daily_complaints(s, spans) == [1, 3, 0]


def test_percentiles_are_nearest_rank():
    assert metrics.percentile([5, 1, 3, 2, 4, 6, 7, 8, 9, 10], 0.9) == 9
    assert metrics.percentile([1], 0.9) == 1
    assert metrics.percentile([], 0.9) is None
    assert metrics.median([4, 1, 3]) == 3
    assert metrics.median([1, 2, 3, 4]) == 2.5


def test_one_week_alone_counts_as_within_a_longer_report(history):
    """A week reported alone gives the same numbers as inside a two-week report: a first that happened
    in the week before is still not a first (Carol's second resolve of c2, the week-2 claims), and a
    promise whose last outcome came in the week after is still not counted in this one (p4, broken in
    week 1 and kept late in week 2). The report reads only its own period's events, so these are
    exactly the cases its probes outside the period must get right."""
    engine, _ = history
    both = weeks(engine, count=2)
    first, second = weeks(engine, count=1), weeks(engine, count=1, start=date(2026, 3, 9))
    for key, rows in both.groups.items():
        assert first.groups.get(key, [metrics.Metrics()])[0] == rows[0], key
        assert second.groups.get(key, [metrics.Metrics()])[0] == rows[1], key
    assert (second.team[0].resolved, first.team[0].broken) == (0, 1)
