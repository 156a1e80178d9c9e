"""Every bench script still imports as ``python bench/NAME.py`` runs it.

Why: the benches run by hand, not in CI, so a moved module broke ``bench/storm.py`` for a whole
session without any test noticing (it imported ``tests.support`` without putting the checkout on the
path). Importing each in a fresh interpreter, with only ``bench/`` on the path as the command line
has it, catches that in a second; running them is for people (they take minutes).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"
SCRIPTS = sorted(p.stem for p in BENCH.glob("*.py") if not p.stem.startswith("_"))


def test_the_benches_are_found():
    assert {"storm", "crash", "structure", "triage"} <= set(SCRIPTS)


@pytest.mark.parametrize("name", SCRIPTS)
def test_a_bench_imports_as_its_command_runs_it(name: str, tmp_path: Path):
    code = f"import sys; sys.path[0] = {str(BENCH)!r}; import {name}"
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
