"""Running the real CLI as a subprocess, the way an operator or the platform does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.procs import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "SYSTEMROOT", "TMPDIR")}
    env.update(extra)
    return env


def cli(*args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", "--env-file", os.devnull, *args],
        env=env,
        cwd=cwd or ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


# Re-exported for the tests: one implementation, shared with the harnesses.
__all__ = ["ROOT", "base_env", "cli", "free_port", "wait_for_port"]
