"""The worker: background loops (sources, Slack poster, scheduler) in one process.

Each loop is a named ``Task`` that does one unit of work per call and says how long to wait before
the next. A loop that raises is logged and retried after a back-off; it never takes the others down.
Stopping is cooperative through one ``threading.Event``, so SIGTERM from the platform drains cleanly.
"""

from __future__ import annotations

import logging
import threading
import time
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
        except Exception as exc:
            if stop.is_set():  # interrupted by the shutdown (its stream or file closed under it)
                log.info("%s: step interrupted by the shutdown (%s)", task.name, type(exc).__name__)
                break
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

    def shutdown(self, timeout: float = 10.0, *, monotonic: Callable[[], float] = time.monotonic) -> list[str]:
        """Ask every loop to stop and wait for them all — ``timeout`` in all, not per loop: a
        platform kills a process that has not stopped some seconds after SIGTERM (Heroku: 30), and
        five loops waited on one after the other could take five times as long. Returns the names
        of the loops still running when time was up (logged; they are daemon threads and die
        with the process, their work left unacknowledged for the next start)."""
        self.stop.set()
        for task in self.tasks:
            if task.stop is not None:
                try:
                    task.stop()
                except Exception:
                    log.exception("%s: could not be interrupted", task.name)
        deadline = monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - monotonic()))
        stuck = [thread.name for thread in self.threads if thread.is_alive()]
        if stuck:
            log.warning("still running %.0fs after the stop: %s; leaving them", timeout, ", ".join(stuck))
        return stuck


class Leased:
    """A task only one worker on the database may run at a time (reading a source: two readers
    would pay for every post twice, and X allows one stream connection).

    A step runs only while this worker holds the lease; without it the task stands by and asks
    again. The lease is renewed at a step's start once a third of its life has passed (not on every
    step: a replay source steps every second), and while a step runs — a stream connection can last
    hours — one heartbeat thread renews it; if that fails (the database is gone, or another worker
    took over after we stalled) the step is interrupted. A worker killed outright stops renewing,
    and another takes the task over when the lease expires.
    """

    def __init__(
        self,
        task: Task,
        *,
        hold: Callable[[], bool],
        release: Callable[[], None],
        ttl_seconds: float,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.task = task
        self.hold = hold
        self.release = release
        self.ttl = ttl_seconds
        self.monotonic = monotonic
        self.held = False
        self._renewed_at = float("-inf")
        self._in_step = threading.Event()
        self._closed = threading.Event()
        self._beat: threading.Thread | None = None

    def as_task(self) -> Task:
        return Task(
            self.task.name,
            self.step,
            error_backoff=self.task.error_backoff,
            max_backoff=self.task.max_backoff,
            stop=self.stop,
        )

    def _renew(self) -> bool:
        kept = self.hold()
        if kept:
            self._renewed_at = self.monotonic()
        return kept

    def _renew_or_keep(self) -> bool:
        """Renew; if the database cannot be asked, a worker that holds the lease goes on — nobody can
        take it over meanwhile, and a stream that stopped now would lose what X sends (once)."""
        try:
            return self._renew()
        except Exception:
            log.warning("%s: could not renew the lease (database unavailable); carrying on", self.task.name)
            return self.held

    def step(self) -> float:
        fresh = self.held and self.monotonic() - self._renewed_at < self.ttl / 3
        if not fresh and not self._renew_or_keep():
            if self.held:
                log.warning("%s: another worker holds it now; standing by", self.task.name)
            self.held = False
            return self.ttl / 3
        if not self.held:
            log.info("%s: this worker runs it", self.task.name)
        self.held = True
        if self._beat is None:
            self._beat = threading.Thread(target=self._heartbeat, name=f"{self.task.name}-lease", daemon=True)
            self._beat.start()
        self._in_step.set()
        try:
            return self.task.step()
        finally:
            self._in_step.clear()

    def _heartbeat(self) -> None:
        while not self._closed.wait(self.ttl / 3):
            if not self._in_step.is_set():
                continue
            kept = self._renew_or_keep()
            if not kept and self._in_step.is_set():
                log.warning("%s: lost the lease mid-step; interrupting it", self.task.name)
                self.held = False
                if self.task.stop is not None:
                    self.task.stop()

    def stop(self) -> None:
        self._closed.set()
        if self.task.stop is not None:
            self.task.stop()
        if self.held:
            try:
                self.release()
            except Exception:
                log.exception("%s: could not release the lease", self.task.name)
