"""The worker: background loops (sources, Slack poster, scheduler) in one process.

Each loop is a named ``Task`` that does one unit of work per call and says how long to wait before
the next. A loop that raises is logged and retried after a back-off; it never takes the others down.
Stopping is cooperative through one ``threading.Event``, so SIGTERM from the platform drains cleanly.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

log = logging.getLogger(__name__)


@dataclass
class Task:
    name: str
    step: Callable[[], float]
    """Do one round of work; return seconds to wait before the next round."""
    error_backoff: float = 5.0
    max_backoff: float = 300.0
    stop: Callable[[], None] | None = None
    """Interrupt a step that blocks (a stream connection) when the worker shuts down."""


def run_task(task: Task, stop: threading.Event) -> None:
    failures = 0
    while not stop.is_set():
        try:
            delay = task.step()
            failures = 0
        except Exception:
            failures += 1
            delay = min(task.max_backoff, task.error_backoff * 2 ** (failures - 1))
            log.exception("%s failed (%d in a row); retrying in %.0fs", task.name, failures, delay)
        stop.wait(max(0.0, delay))


class Worker:
    def __init__(self, tasks: list[Task]) -> None:
        self.tasks = tasks
        self.stop = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for task in self.tasks:
            thread = threading.Thread(target=run_task, args=(task, self.stop), name=task.name, daemon=True)
            thread.start()
            self.threads.append(thread)
        log.info("worker started: %s", ", ".join(t.name for t in self.tasks) or "no tasks")

    def shutdown(self, timeout: float = 10.0) -> None:
        self.stop.set()
        for task in self.tasks:
            if task.stop is not None:
                task.stop()
        for thread in self.threads:
            thread.join(timeout)
