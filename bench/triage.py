"""Measure triage against a labelled CSV: out of the box (raw VADER and our rules side by side), then
how it learns from labels.

    python bench/triage.py [CSV] [--quick]

``--quick``: two splits at 0 / 500 / 1,500 labels and no 5,000-label training (about 20 s), for
iterating; the figures in the README come from the full run.

CSV columns: tweet_id,text,is_complaint,domain (default: ../shared/data/complaints-dev.csv).

The learning curve is measured the way a desk would get there: for each of 5 random splits, a fifth
of the posts is held out; labels are drawn from the rest, imported through ``import_labels`` into a
fresh database, trained with ``train`` (which picks its threshold on cross-validated labels only)
and the stored model is loaded with ``current_model`` and scored on the held-out fifth.

The last line is ``macro_f1=<ours> recall=<ours> precision=<ours>`` for the out-of-the-box rules.
"""

from __future__ import annotations

import csv
import random
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.store import migrate
from bot.store.engine import make_engine, make_sessionmaker
from bot.triage import learning
from bot.triage.classify import Kind, Thresholds, Triage
from bot.triage.learning import LabelRow, Metrics

DEFAULT = next(
    (p / "shared" / "data" / "complaints-dev.csv" for p in Path(__file__).resolve().parents
     if (p / "shared" / "data" / "complaints-dev.csv").is_file()),
    Path(__file__).resolve().parents[1].parent / "shared" / "data" / "complaints-dev.csv",
)  # fmt: skip
"""The checkout's sibling ``shared/`` (found from a git worktree too)."""
SIZES = (0, 100, 200, 500, 1000, 1500, None)  # None: every label of the split's training part
SPLITS = 5
HELD_OUT = 0.2
AT = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


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


def speed(triage: Triage, texts: list[str]) -> float:
    """Posts per second of CPU time on one core, best of three passes (the first call loads the
    language model; other processes on the machine do not count against us)."""
    triage.classify(texts[0])
    best = float("inf")
    for _ in range(3):
        t0 = time.process_time()
        for text in texts:
            triage.classify(text)
        best = min(best, time.process_time() - t0)
    return len(texts) / best


def write_labels(path: Path, rows: list[LabelRow]) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "is_complaint"])
        for r in rows:
            w.writerow([r.text, int(r.is_complaint)])


def train_from_file(workdir: Path, name: str, rows: list[LabelRow], base: Triage) -> tuple[Triage, float]:
    """Import ``rows`` into a fresh SQLite database, train, and load the stored model."""
    engine = make_engine(f"sqlite:///{workdir / (name + '.db')}")
    try:
        migrate.upgrade(engine)
        sessions = make_sessionmaker(engine)
        labels = workdir / f"{name}.csv"
        write_labels(labels, rows)
        t0 = time.perf_counter()
        with sessions() as s, s.begin():
            learning.import_labels(s, labels, AT)
        with sessions() as s, s.begin():
            learning.train(s, AT, base)
        seconds = time.perf_counter() - t0
        with sessions() as s:
            return learning.load_triage(s, base), seconds
    finally:
        engine.dispose()


def perturbed(rows: list[LabelRow], n: int, seed: int = 7) -> list[LabelRow]:
    """``n`` labels from ``rows``: the originals, then copies with a word dropped or a common word
    added, so each is a distinct text (training dedupes identical ones)."""
    rnd = random.Random(seed)
    fillers = ["pls", "today", "now", "again", "really", "ok", "hi", "sir", "guys", "still", "thanks", "btw"]
    out = list(rows[:n])
    while len(out) < n:
        r = rows[len(out) % len(rows)]
        words = r.text.split()
        if len(words) > 3 and rnd.random() < 0.5:
            del words[rnd.randrange(len(words))]
        words.insert(rnd.randrange(len(words) + 1), rnd.choice(fillers))
        out.append(LabelRow(" ".join(words) + f" #{len(out)}", r.is_complaint, r.kind))
    return out


def learning_curve(
    rows: list[LabelRow], base: Triage, workdir: Path, splits: int = SPLITS, sizes: tuple[int | None, ...] = SIZES
) -> tuple[dict[str, list[Metrics]], Triage]:
    results: dict[str, list[Metrics]] = {}
    trained: Triage | None = None
    for split in range(splits):
        order = list(range(len(rows)))
        random.Random(split).shuffle(order)
        cut = int(len(rows) * HELD_OUT)
        held_out = [rows[i] for i in order[:cut]]
        pool = [rows[i] for i in order[cut:]]
        for size in sizes:
            label = "all" if size is None else str(size)
            take = pool if size is None else pool[:size]
            if not take:
                m = learning.evaluate(base, held_out)
            else:
                triage, _ = train_from_file(workdir, f"s{split}-{label}", take, base)
                m = learning.evaluate(triage, held_out)
                if size is None and trained is None:
                    trained = triage
            results.setdefault(label if size is not None else f"all ({len(take)})", []).append(m)
        print(f"  split {split + 1}/{splits} done", file=sys.stderr)
    assert trained is not None
    return results, trained


def main() -> None:
    args = [a for a in sys.argv[1:] if a != "--quick"]
    quick = "--quick" in sys.argv[1:]
    path = Path(args[0]) if args else DEFAULT
    with path.open(encoding="utf-8") as f:
        records = list(csv.DictReader(f))
    texts = [r["text"] for r in records]
    truth = [r["is_complaint"].strip() == "1" for r in records]
    vader = SentimentIntensityAnalyzer()
    triage = Triage()
    raw = [vader.polarity_scores(t)["compound"] <= -0.05 for t in texts]
    verdicts = [triage.classify(t) for t in texts]
    ours = [v.kind is Kind.COMPLAINT for v in verdicts]
    a, b = metrics(truth, raw), metrics(truth, ours)
    print(f"{path.name}: {len(records)} posts, {sum(truth)} complaints")
    print()
    print("Out of the box (no labels)")
    print(f"{'':24}{'raw VADER':>12}{'our triage':>12}")
    for key in ("accuracy", "macro_f1", "precision", "recall"):
        label = key if key in ("accuracy", "macro_f1") else f"complaint {key}"
        print(f"{label:24}{a[key]:>12.3f}{b[key]:>12.3f}")
    print("confusion (rows: truth complaint / not; columns: predicted complaint / not)")
    for name, m in (("raw VADER", a), ("our triage", b)):
        print(f"  {name:12} complaint: {m['tp']:>5} {m['fn']:>5}   not: {m['fp']:>5} {m['tn']:>5}")
    kinds = {k: sum(v.kind is k for v in verdicts) for k in Kind}
    print("kinds: " + ", ".join(f"{k.value} {n}" for k, n in kinds.items()))
    print("threshold   macro_f1  recall  precision   (TRIAGE_COMPLAINT_THRESHOLD; default 1.0)")
    for threshold in (0.6, 0.8, 1.0, 1.2, 1.4):
        t = Triage(Thresholds(complaint=threshold))
        m = metrics(truth, [t.classify(x).kind is Kind.COMPLAINT for x in texts])
        print(f"  {threshold:<9.1f}{m['macro_f1']:>9.3f}{m['recall']:>8.3f}{m['precision']:>11.3f}")
    started = time.perf_counter()
    rows = [LabelRow(t, c, "complaint" if c else "not_complaint") for t, c in zip(texts, truth, strict=True)]
    print()
    splits = 2 if quick else SPLITS
    print(f"Learning from labels: {splits} random splits, {HELD_OUT:.0%} held out, labels from the rest")
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        if quick:
            curve, trained = learning_curve(rows, triage, workdir, splits=2, sizes=(0, 500, 1500, None))
        else:
            curve, trained = learning_curve(rows, triage, workdir)
        print(f"{'labels':>12}  {'macro_f1 mean':>13} {'min':>6}  {'recall mean':>11} {'min':>6}  {'precision':>9}")
        for label, ms in curve.items():
            f1s, recalls = [m.macro_f1 for m in ms], [m.recall for m in ms]
            print(
                f"{label:>12}  {statistics.mean(f1s):>13.3f} {min(f1s):>6.3f}  {statistics.mean(recalls):>11.3f} "
                f"{min(recalls):>6.3f}  {statistics.mean(m.precision for m in ms):>9.3f}"
            )
        print(
            f"(curve measured in {time.perf_counter() - started:.0f} s; threshold targets recall "
            f">= {learning.TARGET_RECALL:.2f} on cross-validated labels, blend weight n/(n+{learning.BLEND_K}))"
        )
        model = trained.model
        print()
        print(
            f"speed: raw VADER {len(texts) / _vader_seconds(vader, texts):,.0f} posts/s, rules "
            f"{speed(triage, texts):,.0f} posts/s, rules + model ({getattr(model, 'label_count', 0)} labels) "
            f"{speed(trained, texts):,.0f} posts/s (one core)"
        )
        if not quick:
            big = perturbed(rows, 5000)
            _, seconds = train_from_file(workdir, "train-5000", big, triage)
            print(f"training on {len(big):,} labels (import + 5-fold cross-validation + fit + store): {seconds:.1f} s")
    print(f"macro_f1={b['macro_f1']:.3f} recall={b['recall']:.3f} precision={b['precision']:.3f}")


def _vader_seconds(vader: SentimentIntensityAnalyzer, texts: list[str]) -> float:
    t0 = time.process_time()
    for t in texts:
        vader.polarity_scores(t)
    return time.process_time() - t0


if __name__ == "__main__":
    main()
