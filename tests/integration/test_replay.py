"""Replay files, followed like ``tail -F``: good lines ingested, bad ones logged with their line
number and reason; rotation, truncation and over-long lines handled; a restart resumes."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from bot.common.clock import FakeClock
from bot.intake.inbox import Inbox, InboxDrain
from bot.intake.ingest import Ingestor, IngestPolicy
from bot.intake.source import SourceContext
from bot.networks.replay.source import MAX_LINE, ReplaySource
from bot.store.engine import make_sessionmaker
from bot.store.models import Complaint, InboxItem, SourceCursor
from bot.store.models import Post as PostRow
from bot.triage.classify import Triage
from tests.support.pipeline import Drained


def line(pid: str, text: str = "@AcmeHelp still waiting for my refund", **extra) -> bytes:
    record = {
        "id": pid,
        "text": text,
        "author_id": extra.pop("author_id", pid),
        "author_handle": "cust",
        "created_at": "2026-03-01T12:00:00Z",
        **extra,
    }
    return json.dumps(record).encode() + b"\n"


@pytest.fixture
def ctx(migrated: Engine) -> SourceContext:
    clock = FakeClock(datetime(2026, 3, 2, tzinfo=UTC))
    sessions = make_sessionmaker(migrated)
    return SourceContext(sessions, Inbox(sessions, clock), clock, "C0X")


@pytest.fixture
def replay(ctx: SourceContext):
    drain = InboxDrain(ctx.sessions, Ingestor(Triage(), IngestPolicy("C0COMPLAIN")), ctx.clock)

    def make(path: Path) -> Drained:
        return Drained(ReplaySource(ctx, path), drain)

    return make


def stored(ctx: SourceContext) -> list[str]:
    with ctx.sessions() as s:
        return list(s.scalars(select(PostRow.external_id).order_by(PostRow.id)))


def malformed(ctx: SourceContext, source: Drained) -> int:
    with ctx.sessions() as s:
        return s.get(SourceCursor, source.name).malformed


def test_good_and_bad_lines(ctx: SourceContext, replay, tmp_path: Path, caplog):
    path = tmp_path / "posts.jsonl"
    path.write_bytes(
        line("1")
        + b"{not json\n"
        + b'{"id": "2", "text": "caf\xe9 bad bytes", "author_id": "1", "author_handle": "a", '
        + b'"created_at": "2026-03-01"}\n'
        + line("3", "")
        + json.dumps({"text": "no id", "author_id": "1", "author_handle": "a", "created_at": "2026-03-01"}).encode()
        + b"\n"
        + line("4", "x" * 100_000)
        + line("5", "@AcmeHelp thanks!", followers="lots")
        + b"\n"
        + b'["a", "list"]\n'
        + line("6", "@AcmeHelp my order never arrived", source="zendesk", unknown={"ignored": True})
    )
    source = replay(path)
    with caplog.at_level(logging.WARNING):
        assert source.step() == source.idle_seconds
    assert stored(ctx) == ["1", "6"]
    assert malformed(ctx, source) == 7
    messages = [r.message for r in caplog.records]
    for n, reason in [
        (2, "not JSON"),
        (3, "not valid UTF-8"),
        (4, "empty text"),
        (5, "missing id"),
        (6, "100000 characters"),
        (7, "followers"),
        (9, "JSON object"),
    ]:
        assert any(f"line {n} skipped: " in m and reason in m for m in messages), (n, reason, messages)
    with ctx.sessions() as s:
        assert s.scalar(select(Complaint.source).where(Complaint.external_id == "6")) == "zendesk"
        kept = s.scalars(select(InboxItem).where(InboxItem.status == "skipped")).all()
    assert len(kept) == 5  # the raw records that parsed as JSON but could not be ingested stay, with why
    assert all(row.error for row in kept)


def test_values_no_column_can_hold_are_refused_and_the_source_goes_on(ctx: SourceContext, replay, tmp_path: Path):
    """Each of these once wedged the replay source for ever (the cursor never moved, malformed=0)."""
    path = tmp_path / "posts.jsonl"
    path.write_bytes(
        line("1", created_at="9999-12-31T23:00:00-05:00")
        + line("2", followers=10**20)
        + line("3", created_at="1999-01-01T00:00:00Z")
        + line("4", "@AcmeHelp my refund is still missing", author_handle="h" * 60, author_name="n" * 500)
        + line("5", "@AcmeHelp the app keeps crashing", lang="x" * 40)
    )
    source = replay(path)
    source.step()
    assert stored(ctx) == ["4"]
    assert malformed(ctx, source) == 4  # a 40-character language tag is refused (BCP 47: 35 at most)
    with ctx.sessions() as s:
        handle, name = s.execute(
            select(Complaint.author_handle, Complaint.author_name).where(Complaint.external_id == "4")
        ).one()
        assert (len(handle), len(name)) == (60, 500)  # whole: nothing is cut to fit
        assert s.scalar(select(func.count()).select_from(InboxItem).where(InboxItem.status == "pending")) == 0


def test_restart_resumes_after_the_last_line_read_and_waits_for_partial_lines(ctx: SourceContext, replay, tmp_path):
    path = tmp_path / "posts.jsonl"
    path.write_bytes(line("1") + line("2") + line("3")[:20])
    first = replay(path)
    first.step()
    assert stored(ctx) == ["1", "2"]
    reads = first.reads
    first.step()
    first.step()
    assert first.reads == reads  # the unfinished line is not read again while the file does not grow
    with path.open("ab") as f:
        f.write(line("3")[20:] + line("4"))
    restarted = replay(path)
    restarted.step()
    assert stored(ctx) == ["1", "2", "3", "4"]
    assert restarted.lines_read == 2  # lines 1–2 were not read again


def test_large_files_are_read_in_batches(ctx: SourceContext, replay, tmp_path: Path):
    path = tmp_path / "posts.jsonl"
    path.write_bytes(b"".join(line(str(i), f"@AcmeHelp still waiting, order {i}") for i in range(450)))
    source = replay(path)
    delays = [source.step() for _ in range(4)]
    assert delays == [0.0, 0.0, source.idle_seconds, source.idle_seconds]
    with ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(PostRow)) == 450


def test_a_line_over_a_megabyte_is_skipped_with_its_number(ctx: SourceContext, replay, tmp_path: Path, caplog):
    path = tmp_path / "posts.jsonl"
    huge = b'{"id": "2", "text": "' + b"a" * (MAX_LINE + 10) + b'"}\n'
    path.write_bytes(line("1") + huge + line("3"))
    source = replay(path)
    with caplog.at_level(logging.WARNING):
        source.step()
    assert stored(ctx) == ["1", "3"]
    assert any("line 2 skipped" in r.message and "longer than" in r.message for r in caplog.records)


def test_rotation_and_truncation_are_noticed(ctx: SourceContext, replay, tmp_path: Path, caplog):
    path = tmp_path / "posts.jsonl"
    path.write_bytes(line("1") + line("2"))
    source = replay(path)
    source.step()
    with path.open("ab") as f:  # written just before the rotation: must still be read
        f.write(line("3"))
    os.rename(path, tmp_path / "posts.jsonl.1")
    path.write_bytes(line("10"))  # a new file at the same path, shorter than our offset
    with caplog.at_level(logging.WARNING):
        for _ in range(4):
            source.step()
    assert stored(ctx) == ["1", "2", "3", "10"]
    assert "rotated" in caplog.text
    path.write_bytes(line("20"))  # truncated and rewritten in place
    for _ in range(2):
        source.step()
    assert stored(ctx)[-1] == "20"
    assert "truncated" in caplog.text


def test_several_replay_files_run_side_by_side(ctx: SourceContext, replay, tmp_path: Path):
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_bytes(line("1") + line("2"))
    b.write_bytes(line("1", source="helpdesk") + line("7"))
    first, second = replay(a), replay(b)
    first.step()
    second.step()
    assert first.name != second.name
    with ctx.sessions() as s:
        posts = set(s.execute(select(PostRow.source, PostRow.external_id)).all())
    assert posts == {("replay", "1"), ("replay", "2"), ("helpdesk", "1"), ("replay", "7")}


def test_a_line_nested_too_deep_or_with_nan_or_nul_is_skipped_and_its_neighbours_stored(
    ctx: SourceContext, replay, tmp_path: Path, caplog
):
    """Such a line once wedged the source: its neighbours were never stored, the batch retried for
    ever and `check` said no run had happened. Now it is skipped with its line number and reason."""
    deep = line("2")[:-2] + b', "extra": ' + b"[" * 976 + b"1" + b"]" * 976 + b"}\n"
    path = tmp_path / "posts.jsonl"
    path.write_bytes(
        line("1")
        + deep
        + line("3")[:-2] + b', "score": NaN}\n'
        + line("4", author_handle="jo\u0000")
        + line("5", "@AcmeHelp still no refund", note="a\u0000b")
        + line("6", "@AcmeHelp my parcel is lost")
    )  # fmt: skip
    source = replay(path)
    with caplog.at_level(logging.WARNING):
        source.step()
    assert stored(ctx) == ["1", "6"]
    assert malformed(ctx, source) == 4
    messages = " ".join(r.message for r in caplog.records)
    for n, reason in [(2, "nested more than"), (3, "NaN"), (4, "NUL"), (5, "NUL")]:
        assert f"line {n} skipped: " in messages, n
        assert reason in messages, reason
