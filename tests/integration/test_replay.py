"""Replay files: good lines ingested, bad lines logged with line number and reason, restart resumes."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import Engine, func, select

from bot.domain.clock import FakeClock
from bot.domain.ingest import Ingestor, IngestPolicy
from bot.domain.triage import Triage
from bot.sources.replay import ReplaySource
from bot.sources.x import SourceContext
from bot.store.db import make_sessionmaker
from bot.store.models import Complaint
from bot.store.models import Post as PostRow


def line(pid: str, text: str = "@AcmeHelp still waiting for my refund", **extra) -> bytes:
    record = {
        "id": pid,
        "text": text,
        "author_id": "42",
        "author_handle": "cust",
        "created_at": "2026-03-01T12:00:00Z",
        **extra,
    }
    return json.dumps(record).encode() + b"\n"


@pytest.fixture
def ctx(migrated: Engine) -> SourceContext:
    clock = FakeClock(datetime(2026, 3, 2, tzinfo=UTC))
    return SourceContext(make_sessionmaker(migrated), Ingestor(Triage(), IngestPolicy("C0COMPLAIN")), clock, "C0X")


def stored(ctx: SourceContext) -> list[str]:
    with ctx.sessions() as s:
        return list(s.scalars(select(PostRow.external_id).order_by(PostRow.id)))


def test_good_and_bad_lines(ctx: SourceContext, tmp_path: Path, caplog):
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
    source = ReplaySource(ctx, path)
    with caplog.at_level(logging.WARNING):
        assert source.step() == source.idle_seconds
    assert stored(ctx) == ["1", "6"]
    assert source.malformed == 7
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


def test_restart_resumes_after_the_last_line_read_and_waits_for_partial_lines(ctx: SourceContext, tmp_path: Path):
    path = tmp_path / "posts.jsonl"
    path.write_bytes(line("1") + line("2") + line("3")[:20])
    ReplaySource(ctx, path).step()
    assert stored(ctx) == ["1", "2"]
    with path.open("ab") as f:
        f.write(line("3")[20:] + line("4"))
    restarted = ReplaySource(ctx, path)
    restarted.step()
    assert stored(ctx) == ["1", "2", "3", "4"]
    assert restarted.lines_read == 2  # lines 1–2 were not read again


def test_large_files_are_read_in_batches(ctx: SourceContext, tmp_path: Path):
    path = tmp_path / "posts.jsonl"
    path.write_bytes(b"".join(line(str(i), author_id=str(i)) for i in range(450)))
    source = ReplaySource(ctx, path)
    delays = [source.step() for _ in range(4)]
    assert delays == [0.0, 0.0, source.idle_seconds, source.idle_seconds]
    with ctx.sessions() as s:
        assert s.scalar(select(func.count()).select_from(PostRow)) == 450
