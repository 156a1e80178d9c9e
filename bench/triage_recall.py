"""The recall knob's numbers: for each ``TRIAGE_RECALL_TARGET``, the rules' complaint threshold, chosen
honestly — on four fifths of the labelled posts, then measured on the fifth it never saw (5 folds,
a fixed shuffle) — and the threshold chosen on all of them, which is what ships in
``bot/triage/cues.toml`` (``[recall] thresholds``).

    python bench/triage_recall.py [CSV]      (default: ../shared/data/complaints-dev.csv)

Only the threshold is chosen here; the cues themselves were written with this data in view, so the
held-out figures measure the threshold choice, not the cues (see the README).
"""

from __future__ import annotations

import csv
import random
import statistics
import sys
from pathlib import Path

import _repo  # noqa: F401

from bot.triage.classify import Triage
from bot.triage.learning import metrics

DEFAULT = next(
    (
        p / "shared" / "data" / "complaints-dev.csv"
        for p in Path(__file__).resolve().parents
        if (p / "shared" / "data" / "complaints-dev.csv").is_file()
    ),
    Path("complaints-dev.csv"),
)
TARGETS = (0.70, 0.75, 0.80, 0.85, 0.90)
CANDIDATES = [round(1.6 - 0.05 * i, 2) for i in range(45)]  # 1.60 down to -0.60


def choose(scores: list[tuple[float, bool]], truth: list[bool], target: float) -> float:
    """The highest threshold whose recall on these posts reaches ``target`` (fewest extra cards)."""
    for threshold in CANDIDATES:
        predicted = [s >= threshold or not readable for s, readable in scores]
        if metrics(truth, predicted).recall >= target:
            return threshold
    return CANDIDATES[-1]


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    rows = list(csv.DictReader(path.open(encoding="utf-8")))
    triage = Triage()
    scored = []
    for row in rows:
        a = triage.analyse(row["text"])
        scored.append(((a.score, a.readable), row["is_complaint"] == "1"))
    order = list(range(len(scored)))
    random.Random(26).shuffle(order)
    folds = [order[i::5] for i in range(5)]
    print(f"{path.name}: {len(rows)} posts, 5 folds; threshold chosen on 4, measured on the 5th")
    print("  target  held-out recall  precision  macro-F1   threshold (all posts)")
    shipped = []
    for target in TARGETS:
        held = []
        for k in range(5):
            train = [scored[i] for j, fold in enumerate(folds) if j != k for i in fold]
            test = [scored[i] for i in folds[k]]
            threshold = choose([s for s, _ in train], [t for _, t in train], target)
            held.append(metrics([t for _, t in test], [s >= threshold or not r for (s, r), _ in test]))
        full = choose([s for s, _ in scored], [t for _, t in scored], target)
        shipped.append((target, full))
        print(
            f"  {target:.2f}    {statistics.mean(m.recall for m in held):.3f}            "
            f"{statistics.mean(m.precision for m in held):.3f}      {statistics.mean(m.macro_f1 for m in held):.3f}"
            f"      {full:+.2f}"
        )
    print("ship: thresholds = [" + ", ".join(f"[{t:.2f}, {th:.2f}]" for t, th in shipped) + "]")


if __name__ == "__main__":
    main()
