"""Shared fixtures: real databases (a SQLite file, and PostgreSQL when TEST_DATABASE_URL is set).

PostgreSQL tests skip with a visible reason when TEST_DATABASE_URL is unset, so the README's test
command passes on any machine; CI passes ``--require-postgres`` (or REQUIRE_POSTGRES=1), which turns
that skip into a failure, so a broken CI set-up cannot hide behind skips.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import Engine, create_engine, text

import bot.networks  # noqa: F401  (fills the desk's table of networks, as the app's composition root does)
from bot.store.engine import make_engine

PG_SKIP_REASON = "TEST_DATABASE_URL is not set: PostgreSQL tests skipped (see README, 'Testing on PostgreSQL')"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-postgres",
        action="store_true",
        default=os.environ.get("REQUIRE_POSTGRES") == "1",
        help="fail, instead of skipping, tests that need PostgreSQL when TEST_DATABASE_URL is unset",
    )
    parser.addoption(
        "--require-browser",
        action="store_true",
        default=os.environ.get("REQUIRE_BROWSER") == "1",
        help="fail, instead of skipping, the browser tests when Chromium or its driver is not installed",
    )


LONGEST_FIRST = (
    "tests/reliability/test_crash.py",
    "tests/reliability/test_failover.py",
    "tests/e2e/test_docs.py",
    "tests/reliability/test_any_order.py::test_a_kill_9",
    "tests/reliability/test_catch_up.py",
    "tests/reliability/test_wedge.py",
    "tests/reliability/test_incident_kill.py",
    "tests/e2e/test_incidents.py::test_a_storm_is_one_incident",
    "tests/e2e/test_hostile_requests.py::test_button_values_of_every_shape",
)
"""Tests that take 10–100 s each (real processes killed and restarted): run first, so the workers
share them and end together, instead of one worker running a 90-second test while the others
wait (it was a third of the suite's time on two cores)."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    items.sort(key=lambda item: not item.nodeid.startswith(LONGEST_FIRST))  # stable: order kept otherwise


def _pg_base_url(config: pytest.Config) -> str:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url:
        if config.getoption("--require-postgres"):
            pytest.fail("PostgreSQL is required (--require-postgres) but TEST_DATABASE_URL is not set")
        pytest.skip(PG_SKIP_REASON)
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


@pytest.fixture
def pg_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A PostgreSQL URL whose search_path is a fresh schema, dropped afterwards: isolation per test."""
    base = _pg_base_url(request.config)
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as exc:
        admin.dispose()
        if request.config.getoption("--require-postgres"):
            pytest.fail(f"PostgreSQL at TEST_DATABASE_URL is unreachable: {exc}")
        pytest.skip(f"PostgreSQL at TEST_DATABASE_URL is unreachable: {exc}")
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options={quote(f'-csearch_path={schema}')}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'followthrough.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest) -> str:
    """Runs the test once on a SQLite file and once on PostgreSQL."""
    if request.param == "sqlite":
        return request.getfixturevalue("sqlite_url")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def migrated(engine: Engine) -> Engine:
    from bot.store import migrate

    migrate.upgrade(engine)
    return engine
