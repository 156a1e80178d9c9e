"""Promise detection in brand replies: precision and recall of "is a promise", and the share of found
promises whose due time is right, on the labelled set tests/data/brand_replies.jsonl (165 replies) and
on tests/data/brand_replies_holdout.jsonl (40 replies written after the rules, first measured untuned),
and on tests/data/brand_replies_holdout_21.jsonl (47 replies, 46 promises, written for issue #21 before
its changes: several promises per reply, time zones, Spanish/French/German/Portuguese).

    python bench/promise_detection.py [-v]
"""

from __future__ import annotations

import sys
import time

import _repo  # noqa: F401 - puts the checkout on sys.path

from tests.support.promise_detection import DATA, HOLDOUT, HOLDOUT_21, rows, score, score_promises


def main() -> int:
    for path in (DATA, HOLDOUT):
        print(f"== {path.name}")
        report(rows(path))
    print(f"== {HOLDOUT_21.name} (each promise counted; zones, several per reply, five languages)")
    data = rows(HOLDOUT_21)
    s = score_promises(data)
    print(f"replies: {len(data)}  promises expected: {s.expected}  found: {s.found}")
    print(
        f"precision: {s.precision:.3f}  recall: {s.recall:.3f}  right due time: {s.due_share:.3f}  "
        f"clean text: {s.clean_share:.3f}"
    )
    if "-v" in sys.argv:
        for miss in s.misses:
            print("  " + miss)
    return 0


def report(data: list[dict]) -> None:
    started = time.perf_counter()
    s = score(data)
    took = time.perf_counter() - started
    promises = sum(1 for r in data if r["promise"])
    print(f"replies: {len(data)} ({promises} promises, {len(data) - promises} not)")
    print(f"precision: {s.precision:.3f}  recall: {s.recall:.3f}  right due time: {s.due_share:.3f}")
    print(f"tp={s.tp} fp={s.fp} fn={s.fn} tn={s.tn} due_right={s.due_right}  ({took / len(data) * 1000:.1f} ms/reply)")
    if "-v" in sys.argv:
        for miss in s.misses:
            print("  " + miss)


if __name__ == "__main__":
    raise SystemExit(main())
