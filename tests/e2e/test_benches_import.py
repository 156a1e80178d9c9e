"""Every bench script still imports as ``python bench/NAME.py`` runs it.

Why: the benches run by hand, not in CI, so a moved module broke ``bench/storm.py`` for a whole
session without any test noticing (it imported ``tests.support`` without putting the checkout on the
path). Importing each in a fresh interpreter, with only ``bench/`` on the path as the command line
has it, catches that in a second; running them is for people (they take minutes).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
SCRIPTS = sorted(p.stem for p in BENCH.glob("*.py") if not p.stem.startswith("_"))


def test_the_benches_are_found():
    assert {"storm", "crash", "structure", "triage"} <= set(SCRIPTS)


IMPORT_EACH = """
import json, sys, traceback
bench, names = sys.argv[1], sys.argv[2:]
path = [bench, *sys.path[1:]]
failed = {}
for name in names:
    # Each script starts as its command line starts it: only bench/ ahead of the installed packages,
    # and nothing the one before imported from the checkout (tests.*, the scripts, _repo) still loaded;
    # the installed bot package may stay, as it is importable from anywhere.
    sys.path[:] = path
    for loaded in [m for m in sys.modules if m.split(".")[0] in {"tests", "_repo", *names}]:
        del sys.modules[loaded]
    try:
        __import__(name)
    except BaseException:
        failed[name] = traceback.format_exc()[-2000:]
print(json.dumps(failed))
"""


def test_every_bench_imports_as_its_command_runs_it(tmp_path: Path):
    """One interpreter for all of them (a second each was a minute of CI): the path and the checkout's
    modules are reset before each import, so a script that forgets ``_repo`` still fails here."""
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH, str(BENCH), *SCRIPTS],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.splitlines()[-1]) == {}
