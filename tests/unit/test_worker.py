"""A failing loop backs off exponentially and recovers; it never spins hot or takes the process down."""

from __future__ import annotations

import threading

from bot.worker import Task, run_task


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
