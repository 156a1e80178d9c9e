"""``followthrough export``: stable columns, the date window in team time, CSV and JSON lines."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from bot.cli import main
from bot.reports import export
from bot.store.db import make_sessionmaker
from tests.support.report_history import ALICE, build


@pytest.fixture
def history(migrated: Engine, db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> dict[str, int]:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("TEAM_TIMEZONE", "UTC")
    monkeypatch.chdir(tmp_path)  # no stray .env is read
    return build(make_sessionmaker(migrated))


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(["--env-file", "none.env", "export", *args])
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
