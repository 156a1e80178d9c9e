"""What a sentence model would add to learned triage, and what it would cost: the figures behind #26's
open choice (docs/reliability.md#triage).

    python bench/triage_contextual.py [CSV] [--splits 5] [--first 0]

The learning curve of ``bench/triage.py`` (the same random splits: a fifth held out, labels drawn from
the rest, trained with ``learning.train_on`` — its cross-validated threshold and blend — and scored on
the held-out fifth as ``Triage.classify`` blends the model with the rules), without the database,
twice: the model as shipped, and the same model given two more features — each post's cosine with
the centroids of the labelled complaints and non-complaints in all-MiniLM-L6-v2's sentence space
(``bot.incidents.semantic``; the centroids from each training part only). Then the sentence model's
speed on one core. Nothing here is shipped: it measures a choice.

The features are added by wrapping ``learning._fit_matrix`` and ``learning._held_out_matrix`` in this
process (and ``_Features.of`` made to hand out rows of one table of every post's features), so every
other step is the shipped code; the run "as shipped" reproduces ``bench/triage.py``'s curve.
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import statistics
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
from scipy.sparse import csr_matrix, hstack
from triage import DEFAULT

from bot.incidents.semantic import Embedder
from bot.triage import learning
from bot.triage.classify import Triage
from bot.triage.learning import LabelRow, _Features, blend_weight, model_text

SIZES = (200, 500, 1000, None)
HELD_OUT = 0.2


class Study:
    """One data set's posts, their analyses, n-gram features and sentence vectors, computed once."""

    def __init__(self, path: Path) -> None:
        with path.open(encoding="utf-8") as f:
            records = list(csv.DictReader(f))
        self.texts = [r["text"] for r in records]
        self.truth = [r["is_complaint"].strip() == "1" for r in records]
        self.triage = Triage()
        analyse = lru_cache(maxsize=None)(self.triage.analyse)
        self.triage.analyse = analyse  # type: ignore[method-assign]  # train_on re-analyses each label
        seen: dict[str, Any] = {}
        for text in self.texts:
            for variant in (text, text.strip()):  # held-out posts as posted; imported labels stripped
                a = analyse(variant)
                seen.setdefault(a.text, a)
        self.keys = list(seen)
        self.index = {k: i for i, k in enumerate(self.keys)}
        self.features = _Features.of([seen[k] for k in self.keys])
        started = time.process_time()
        self.vectors = Embedder().embed([model_text(seen[k]) for k in self.keys]).astype(np.float64)
        self.embed_seconds = time.process_time() - started
        self.labels = np.zeros(len(self.keys))
        self.contextual = False

    def rows_of(self, analyses: list[Any]) -> _Features:
        return self.features.take([self.index[a.text] for a in analyses])


STUDY: Study | None = None
_fit_matrix, _held_out_matrix = learning._fit_matrix, learning._held_out_matrix


def fit_matrix(features: _Features) -> Any:
    x, word, char, scaler = _fit_matrix(features)
    if STUDY is None or not STUDY.contextual:
        return x, word, char, scaler
    s = STUDY.vectors[features.rows]
    y = STUDY.labels[features.rows] > 0.5
    centroids = np.stack([s[y].mean(0), s[~y].mean(0)])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    cos = s @ centroids.T
    mean, sd = cos.mean(0), cos.std(0) + 1e-9
    scaler.contextual = (centroids, mean, sd)
    return hstack([x, csr_matrix((cos - mean) / sd)], format="csr"), word, char, scaler


def held_out_matrix(features: _Features, fitted: Any) -> Any:
    x = _held_out_matrix(features, fitted)
    if STUDY is None or not STUDY.contextual:
        return x
    centroids, mean, sd = fitted.scaler.contextual
    return hstack([x, csr_matrix((STUDY.vectors[features.rows] @ centroids.T - mean) / sd)], format="csr")


def curve(study: Study, *, contextual: bool, splits: int, first: int) -> dict[str, list[float]]:
    study.contextual = contextual
    pairs = zip(study.texts, study.truth, strict=True)
    rows = [LabelRow(t, c, "complaint" if c else "not_complaint") for t, c in pairs]
    out: dict[str, list[float]] = {}
    for split in range(first, first + splits):
        order = list(range(len(study.texts)))
        random.Random(split).shuffle(order)
        cut = int(len(order) * HELD_OUT)
        held, pool = order[:cut], order[cut:]
        for size in SIZES:
            take = pool if size is None else pool[:size]
            latest: dict[str, LabelRow] = {}  # as import_labels keeps them: one per text, the last label
            for i in take:
                text = rows[i].text.strip()
                latest[re.sub(r"\s+", " ", text)] = LabelRow(text, rows[i].is_complaint, rows[i].kind)
            labelled = list(latest.values())
            study.labels[:] = 0
            for r in labelled:
                study.labels[study.index[study.triage.analyse(r.text).text]] = float(r.is_complaint)
            fitted, threshold, _, _ = learning.train_on(labelled, study.triage)
            analyses = [study.triage.analyse(study.texts[i]) for i in held]
            p = fitted.classifier.predict_proba(held_out_matrix(study.rows_of(analyses), fitted))[:, 1]
            w = blend_weight(len(labelled))
            predicted = [
                (w * pm + (1 - w) * study.triage.cue_probability(a.score) >= threshold) if a.readable else not a.ask
                for a, pm in zip(analyses, p, strict=True)
            ]
            key = "all" if size is None else str(size)
            out.setdefault(key, []).append(learning.metrics([study.truth[i] for i in held], predicted).macro_f1)
    return out


def main(argv: list[str] | None = None) -> int:
    global STUDY
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("csv", nargs="?", type=Path, default=DEFAULT)
    parser.add_argument("--splits", type=int, default=5)
    parser.add_argument("--first", type=int, default=0, help="the first split's seed (bench/triage.py's are 0–4)")
    args = parser.parse_args(argv)
    if not args.csv.is_file():
        print(f"no labelled data at {args.csv}: pass the CSV (tweet_id,text,is_complaint,domain)")
        return 2
    STUDY = Study(args.csv)
    study = STUDY
    learning._fit_matrix = fit_matrix  # type: ignore[assignment]
    learning._held_out_matrix = held_out_matrix  # type: ignore[assignment]
    # A run's features are rows of the study's: the n-gram vocabularies are cut from the same counts
    # (``_Terms.block`` reads only the rows'), and the sentence vectors are found by the same rows.
    learning._Features.of = classmethod(lambda cls, analyses: study.rows_of(list(analyses)))  # type: ignore[assignment]
    last = args.first + args.splits - 1
    print(f"{len(STUDY.texts)} posts; splits {args.first}–{last}; macro-F1 on the held-out fifth")
    results = {}
    for contextual in (False, True):
        name = "with the sentence model's two cosines" if contextual else "as shipped (rules + n-gram model)"
        results[contextual] = curve(STUDY, contextual=contextual, splits=args.splits, first=args.first)
        cells = "  ".join(f"{k}: {statistics.mean(v):.3f} (min {min(v):.3f})" for k, v in results[contextual].items())
        print(f"  {name:40} {cells}")
    for k in results[True]:
        d = [a - b for a, b in zip(results[True][k], results[False][k], strict=True)]
        print(f"  gain at {k} labels: {statistics.mean(d):+.3f} ({sum(x > 0 for x in d)} of {len(d)} splits up)")
    rate = len(STUDY.keys) / STUDY.embed_seconds
    print(f"sentence model: {rate:,.0f} posts/s of CPU time, batched (the rules + n-gram model: bench/triage.py)")
    print(
        f"contextual_500={statistics.mean(results[True]['500']):.3f} "
        f"contextual_all={statistics.mean(results[True]['all']):.3f} posts_per_s={rate:.0f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
