"""Ingest's fast storage stores exactly what the ordinary SQLAlchemy path stores, on both engines.

On SQLite, ingest hands the driver ready rows (``bot.store.bulk``) instead of letting SQLAlchemy
process every value; the scenario (``tests/support/ingest_scenario.py``: every rule of ingest, two
pages, two networks) is run both ways and every table compared as the database holds it. PostgreSQL
keeps SQLAlchemy's executemany; there the same scenario must read back the same rows as on SQLite.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event

from bot.store import bulk, migrate
from bot.store.engine import make_engine
from bot.store.models import AuditEvent, Complaint, Delivery, InboxItem
from tests.support import ingest_scenario


def _engine(url: str) -> Engine:
    engine = make_engine(url)
    migrate.upgrade(engine)
    return engine


@pytest.fixture
def sqlite_engines(tmp_path: Path) -> Iterator[tuple[Engine, Engine]]:
    fast, plain = _engine(f"sqlite:///{tmp_path / 'fast.db'}"), _engine(f"sqlite:///{tmp_path / 'plain.db'}")
    yield fast, plain
    fast.dispose()
    plain.dispose()


def _driver_level_inserts(engine: Engine) -> Counter[str]:
    """INSERTs that reached the driver without a compiled SQLAlchemy statement, per table."""
    seen: Counter[str] = Counter()

    @event.listens_for(engine, "before_cursor_execute")
    def _count(_conn: Any, _cursor: Any, statement: str, _params: Any, context: Any, _many: bool) -> None:
        if statement.startswith("INSERT INTO") and context is not None and context.compiled is None:
            seen[statement.split()[2]] += 1

    return seen


def _column(table: Any, rows: list[tuple[Any, ...]], name: str) -> list[Any]:
    index = [c.name for c in table.c].index(name)
    return [row[index] for row in rows]


def _assert_every_rule_ran(stored: dict[str, list[tuple[Any, ...]]]) -> None:
    """The comparison is only as good as the scenario: check it reached every branch it claims to."""
    complaints, deliveries = stored["complaints"], stored["deliveries"]
    kinds = Counter(_column(Complaint.__table__, complaints, "kind"))
    assert {"complaint", "question", "praise", "other"} <= set(kinds)
    assert sum(d is not None for d in _column(Complaint.__table__, complaints, "duplicate_of")) == 2, (
        "two copies folded"
    )
    assert max(_column(Complaint.__table__, complaints, "amplification_count")) == 3
    assert max(_column(Complaint.__table__, complaints, "repeat_contact")) == 1
    actions = Counter(_column(AuditEvent.__table__, stored["audit_events"], "action"))
    for action in ("ingested", "folded", "amplified", "customer_reply", "follow_up", "reopen", "public_reply"):
        assert actions[action] >= 1, action
    delivery_kinds = Counter(_column(Delivery.__table__, deliveries, "kind"))
    assert (delivery_kinds["post_card"], delivery_kinds["kudos"]) == (8, 2)
    assert (delivery_kinds["thread_reply"], delivery_kinds["update_card"]) == (3, 1)
    assert _column(InboxItem.__table__, stored["inbox"], "status") == ["skipped", "skipped"]
    assert len(stored["source_cursors"]) == 2
    assert len(stored["posts"]) == 22


def test_fast_inserts_store_byte_for_byte_what_sqlalchemy_stores(
    sqlite_engines: tuple[Engine, Engine], monkeypatch: pytest.MonkeyPatch
) -> None:
    fast, plain = sqlite_engines
    fast_inserts, plain_inserts = _driver_level_inserts(fast), _driver_level_inserts(plain)
    ingest_scenario.run(fast)
    monkeypatch.setattr(bulk, "FAST", False)
    ingest_scenario.run(plain)

    assert set(fast_inserts) == {"inbox", "complaints", "posts", "audit_events", "deliveries"}
    assert not plain_inserts, "the reference run must go through SQLAlchemy's own executemany"
    stored = ingest_scenario.stored(fast, raw=True)
    _assert_every_rule_ran(stored)
    reference = ingest_scenario.stored(plain, raw=True)
    for table, rows in reference.items():
        assert stored[table] == rows, table
    # The raw values are the engine's own text: timestamps as SQLAlchemy formats them, JSON as text.
    [record] = _column(InboxItem.__table__, stored["inbox"], "record")[:1]
    assert json.loads(record)["id"] == "111"


@pytest.mark.postgres
def test_postgres_stores_what_sqlite_stores(pg_url: str, tmp_path: Path) -> None:
    lite, pg = _engine(f"sqlite:///{tmp_path / 'lite.db'}"), _engine(pg_url)
    try:
        ingest_scenario.run(lite)
        ingest_scenario.run(pg)
        expected = ingest_scenario.stored(lite, raw=False)
        _assert_every_rule_ran(expected)
        got = ingest_scenario.stored(pg, raw=False)
        # Inbox rows are deleted once ingested, and SQLite hands a deleted last rowid out again where
        # PostgreSQL's sequence does not: the skipped rows' ids differ, nothing else may.
        for rows in (expected, got):
            rows["inbox"] = [row[1:] for row in rows["inbox"]]
        for table, rows in expected.items():
            assert got[table] == rows, table
    finally:
        lite.dispose()
        pg.dispose()
