"""Which background loops a worker process runs, built from the assembled app."""

from __future__ import annotations

from pathlib import Path

from bot.app import Followthrough
from bot.worker import Task


def build_tasks(app: Followthrough, *, replay: Path | None = None) -> list[Task]:
    """The worker's loops. Sources, the Slack poster and the scheduler each add one."""
    tasks: list[Task] = []
    return tasks
