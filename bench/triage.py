"""Measure triage against a labelled CSV: raw VADER and our triage side by side.

    python bench/triage.py [CSV]

CSV columns: tweet_id,text,is_complaint,domain (default: ../shared/data/complaints-dev.csv).
The last line is ``macro_f1=<ours>``.
"""

from __future__ import annotations

import csv
import sys
import time
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.domain.triage import Kind, Triage

DEFAULT = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "complaints-dev.csv"


def metrics(truth: list[bool], pred: list[bool]) -> dict[str, float]:
    tp = sum(t and p for t, p in zip(truth, pred, strict=True))
    fp = sum((not t) and p for t, p in zip(truth, pred, strict=True))
    fn = sum(t and not p for t, p in zip(truth, pred, strict=True))
    tn = sum((not t) and not p for t, p in zip(truth, pred, strict=True))

    def f1(a: int, b: int, c: int) -> float:
        precision = a / (a + b) if a + b else 0.0
        recall = a / (a + c) if a + c else 0.0
        return 2 * precision * recall / (precision + recall) if precision + recall else 0.0

    return {
        "accuracy": (tp + tn) / len(truth),
        "macro_f1": (f1(tp, fp, fn) + f1(tn, fn, fp)) / 2,
        "precision": tp / (tp + fp) if tp + fp else 0.0,
        "recall": tp / (tp + fn) if tp + fn else 0.0,
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
    }


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    truth = [r["is_complaint"].strip() == "1" for r in rows]
    vader = SentimentIntensityAnalyzer()
    triage = Triage()
    t0 = time.perf_counter()
    raw = [vader.polarity_scores(r["text"])["compound"] <= -0.05 for r in rows]
    t1 = time.perf_counter()
    ours = [triage.classify(r["text"]).kind is Kind.COMPLAINT for r in rows]
    t2 = time.perf_counter()
    a, b = metrics(truth, raw), metrics(truth, ours)
    print(f"{path.name}: {len(rows)} posts, {sum(truth)} complaints")
    print(f"{'':24}{'raw VADER':>12}{'our triage':>12}")
    for key in ("accuracy", "macro_f1", "precision", "recall"):
        label = key if key in ("accuracy", "macro_f1") else f"complaint {key}"
        print(f"{label:24}{a[key]:>12.3f}{b[key]:>12.3f}")
    print("confusion (rows: truth complaint / not; columns: predicted complaint / not)")
    for name, m in (("raw VADER", a), ("our triage", b)):
        print(f"  {name:12} complaint: {m['tp']:>5} {m['fn']:>5}   not: {m['fp']:>5} {m['tn']:>5}")
    print(f"speed: raw VADER {len(rows) / (t1 - t0):,.0f} posts/s, our triage {len(rows) / (t2 - t1):,.0f} posts/s")
    print(f"macro_f1={b['macro_f1']:.3f}")


if __name__ == "__main__":
    main()
