"""Two transactions asking for the same card's first refresh at once (a click and a /promise on the
same complaint): neither may fail. On PostgreSQL the second insert waits on the first's unique key."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select, text

from bot import outbox
from bot.store import migrate
from bot.store.engine import make_engine, make_sessionmaker
from bot.store.models import Complaint, Delivery

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.mark.postgres
def test_concurrent_first_refreshes_of_one_card_both_succeed(pg_url: str):
    engine = make_engine(pg_url)
    try:
        migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        with sessions() as s, s.begin():
            c = Complaint(
                source="x",
                external_id="1",
                author_id="1",
                author_handle="c",
                text="t",
                posted_at=T0,
                kind="complaint",
                status="new",
                slack_channel="C1",
                slack_ts="1.1",
                created_at=T0,
                updated_at=T0,
            )
            s.add(c)
            s.flush()
            cid = c.id
        first = sessions()
        first.begin()
        outbox.request_card_refresh(first, cid, at=T0)  # inserted, not yet committed
        first.flush()
        errors: list[BaseException] = []

        def second() -> None:
            try:
                with sessions() as s, s.begin():
                    outbox.request_card_refresh(s, cid, at=T0)
            except BaseException as exc:  # the test asserts on it
                errors.append(exc)

        thread = threading.Thread(target=second)
        thread.start()
        deadline = time.monotonic() + 10
        with engine.connect() as probe:  # wait until the second transaction is blocked on the first's key
            while time.monotonic() < deadline:
                waiting = probe.execute(
                    text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND state = 'active'")
                ).scalar_one()
                if waiting or not thread.is_alive():
                    break
                time.sleep(0.01)
        first.commit()
        first.close()
        thread.join(10)
        assert errors == []
        with sessions() as s:
            assert s.scalar(select(func.count()).select_from(Delivery).where(Delivery.key == f"update:{cid}")) == 1
    finally:
        engine.dispose()
