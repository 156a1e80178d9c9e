"""A failing loop backs off exponentially and recovers; it never spins hot or takes the process down."""

from __future__ import annotations

import threading

from bot.common.tasks import Task, run_task


class RecordingStop(threading.Event):
    """Records how long the loop asked to wait, instead of waiting; stops after ``limit`` waits."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.waits: list[float] = []
        self.limit = limit

    def wait(self, timeout: float | None = None) -> bool:
        self.waits.append(timeout or 0.0)
        if len(self.waits) >= self.limit:
            self.set()
        return self.is_set()


def test_failures_back_off_exponentially_then_recover():
    outcomes = iter([ConnectionError("down")] * 5 + [7.0, ConnectionError("again"), 7.0])

    def step() -> float:
        outcome = next(outcomes)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    stop = RecordingStop(limit=8)
    run_task(Task("x", step, error_backoff=2.0, max_backoff=20.0), stop)
    assert stop.waits == [2.0, 4.0, 8.0, 16.0, 20.0, 7.0, 2.0, 7.0]


def test_a_leased_task_runs_only_while_its_lease_is_held():
    from bot.common.tasks import Leased

    held_by_other = [True]
    ran: list[str] = []
    task = Leased(
        Task("x:mentions", lambda: ran.append("step") or 60.0),
        hold=lambda: not held_by_other[0],
        release=lambda: ran.append("released"),
        ttl_seconds=30.0,
    ).as_task()
    assert task.step() == 10.0  # another worker reads this source: stand by, ask again soon
    assert ran == []
    held_by_other[0] = False  # its lease expired (it died)
    assert task.step() == 60.0
    assert ran == ["step"]
    task.stop()
    assert ran == ["step", "released"]  # a clean stop hands the source over at once


def test_a_step_that_loses_its_lease_is_interrupted():
    from bot.common.tasks import Leased

    stopped = threading.Event()
    holds = iter([True, False])  # granted for the step; then the heartbeat finds it gone

    def long_step() -> float:
        assert stopped.wait(10), "the heartbeat did not interrupt the step"
        return 0.0

    task = Leased(
        Task("x:stream", long_step, stop=stopped.set),
        hold=lambda: next(holds),
        release=lambda: None,
        ttl_seconds=0.03,
    ).as_task()
    assert task.step() == 0.0
    assert stopped.is_set()


def test_a_lease_that_cannot_be_renewed_because_the_database_is_down_does_not_stop_the_step():
    """The database refusing writes must not cut the X stream (X sends each post once, and the
    stream keeps them in memory meanwhile): only another worker holding the lease does."""
    from bot.common.tasks import Leased

    calls = {"n": 0}
    renewals_failed = threading.Event()

    def hold() -> bool:
        calls["n"] += 1
        if calls["n"] == 1:
            return True
        if calls["n"] >= 3:
            renewals_failed.set()
        raise ConnectionError("database unavailable")

    stopped = threading.Event()

    def long_step() -> float:
        assert renewals_failed.wait(10)
        return 0.0

    task = Leased(
        Task("x:stream", long_step, stop=stopped.set), hold=hold, release=lambda: None, ttl_seconds=0.03
    ).as_task()
    assert task.step() == 0.0
    assert not stopped.is_set()


def test_shutdown_waits_for_all_loops_together_and_names_the_stuck_ones():
    """A platform kills a process some seconds after SIGTERM: the wait is one limit for every loop,
    not one per loop (four stuck loops used to take four times the limit)."""
    import time

    from bot.common.tasks import Worker

    release = threading.Event()
    started = threading.Barrier(5)

    def stuck() -> float:
        started.wait()
        release.wait()  # a call that does not return (a network read without a timeout)
        return 1.0

    worker = Worker([Task(f"stuck-{n}", stuck) for n in range(4)] + [Task("quick", lambda: 0.01)])
    worker.start()
    try:
        started.wait()  # every stuck loop is inside its call
        began = time.monotonic()
        left = worker.shutdown(timeout=1.0)
        took = time.monotonic() - began
    finally:
        release.set()
    assert left == ["stuck-0", "stuck-1", "stuck-2", "stuck-3"]
    assert 0.9 <= took < 3.5  # one loop after another: 4 s or more


def test_a_step_interrupted_by_the_shutdown_is_not_logged_as_a_failure(caplog):
    stop = threading.Event()

    def step() -> float:
        stop.set()  # the shutdown closes the file under the step
        raise ValueError("seek of closed file")

    with caplog.at_level("INFO", logger="bot.common.tasks"):
        run_task(Task("replay:x", step), stop)
    assert [r.levelname for r in caplog.records] == ["INFO"]
    assert "interrupted by the shutdown" in caplog.text
