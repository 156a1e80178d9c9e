"""``followthrough triage import-labels | train | eval`` as an operator types them: the real CLI,
a real SQLite file, no Slack or X settings at all."""

from __future__ import annotations

import csv
import re
from pathlib import Path

from tests.e2e.helpers import base_env, cli

COMPLAINTS = [
    "still waiting for my refund, {n} weeks now",
    "third time asking: where is order {n}?",
    "your app crashed again and I lost {n} photos",
    "charged twice for booking {n}, nobody answers",
    "flight {n} cancelled and no rebooking offered",
]
FINE = [
    "thanks for the quick help with order {n}!",
    "great service at store {n} today",
    "love the new menu, table {n} says hi",
    "what time do you open on day {n}?",
    "congrats on {n} years!",
]


def write_labels(path: Path, n: int) -> None:
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "is_complaint"])
        for i in range(n):
            w.writerow([COMPLAINTS[i % 5].format(n=i), 1])
            w.writerow([FINE[i % 5].format(n=i), 0])


def test_import_train_and_eval_need_only_a_database(tmp_path: Path):
    labels, env = tmp_path / "labels.csv", base_env(DATABASE_URL=f"sqlite:///{tmp_path / 'ft.db'}")
    write_labels(labels, 40)

    imported = cli("triage", "import-labels", str(labels), env=env, cwd=tmp_path)
    assert imported.returncode == 0, imported.stderr
    assert "imported 80 labels" in imported.stdout

    trained = cli("triage", "train", env=env, cwd=tmp_path, timeout=120)
    assert trained.returncode == 0, trained.stderr

    evaluated = cli("triage", "eval", str(labels), env=env, cwd=tmp_path, timeout=120)
    assert evaluated.returncode == 0, evaluated.stderr
    last = evaluated.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"macro_f1=[01]\.\d{3} recall=[01]\.\d{3} precision=[01]\.\d{3}", last), last


def test_a_bad_labels_file_is_one_line_and_stores_nothing(tmp_path: Path):
    bad, env = tmp_path / "bad.csv", base_env(DATABASE_URL=f"sqlite:///{tmp_path / 'ft.db'}")
    bad.write_text("words,label\nhello,1\n")
    result = cli("triage", "import-labels", str(bad), env=env, cwd=tmp_path)
    assert result.returncode == 1
    assert "missing column" in result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    too_few = cli("triage", "train", env=env, cwd=tmp_path)
    assert too_few.returncode == 1
    assert "have 0" in too_few.stdout + too_few.stderr
