"""Replies to customers posted exactly once under X's faults (429 with x-rate-limit-reset, 500, a lost
answer, a dropped connection, and faults on the look-up that follows a lost answer).

    python bench/reply_faults.py [REPLIES] [ROUNDS]      (default 40 replies, 3 seeds)

Each seed runs the scenario in tests/support/reply_faults.py on a fresh SQLite file: the real delivery
worker and tweepy against the X stand-in (X's duplicate-content refusal switched off, so a double post
would show as two replies), clock injected. Prints what X holds at the end: doubled, lost, wrong post.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import warnings
from pathlib import Path

import _repo  # noqa: F401  (puts the checkout on sys.path for tests.support)

from tests.support.reply_faults import run


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    seeds = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    logging.disable(logging.WARNING)
    warnings.simplefilter("ignore")
    totals = {"replies": 0, "posted": 0, "doubled": 0, "lost": 0, "wrong_post": 0, "dead": 0, "lookups": 0}
    faults: dict[str, int] = {}
    for seed in range(seeds):
        with tempfile.TemporaryDirectory() as tmp:
            out = run(f"sqlite:///{Path(tmp) / 'bench.db'}", n, seed=seed)
        for key in totals:
            totals[key] += getattr(out, key)
        for kind, count in out.faults.items():
            faults[kind] = faults.get(kind, 0) + count
        print(
            f"seed {seed}: {out.replies} replies, {sum(out.faults.values())} faults, posted {out.posted}, "
            f"doubled {out.doubled}, lost {out.lost}, wrong post {out.wrong_post}, not sent {out.dead}, "
            f"{out.rounds} rounds, {out.seconds:.1f}s"
        )
    print("faults injected: " + ", ".join(f"{k} {v}" for k, v in sorted(faults.items())))
    print(
        f"TOTAL {totals['replies']} replies: posted {totals['posted']}, doubled {totals['doubled']}, "
        f"lost {totals['lost']}, wrong post {totals['wrong_post']}, not sent {totals['dead']}, "
        f"look-ups after lost answers {totals['lookups']}"
    )


if __name__ == "__main__":
    main()
