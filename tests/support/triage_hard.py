"""The hard English cases of #26 (``tests/data/triage_hard_en.jsonl``), written before the rules were
changed for them: praise naming the person who solved the problem, praise with problem words in it,
sarcasm, negation (both ways) and questions (plain, and complaints asked as questions).

A case is right when triage's kind is the labelled one — except that for a complaint asked as a
question, and for praise, only what reaches the team matters: a complaint must be carded as a
complaint, praise must reach #kudos (never a complaint card).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path

from bot.triage.classify import Triage

CASES = Path(__file__).resolve().parents[1] / "data" / "triage_hard_en.jsonl"


def cases() -> list[dict[str, str]]:
    return [json.loads(line) for line in CASES.read_text().splitlines() if line.strip()]


def score(triage: Triage) -> tuple[dict[str, float], list[tuple[str, str, str]]]:
    """Accuracy per category, and the wrong ones as (category, wanted, got: text)."""
    right: dict[str, int] = defaultdict(int)
    total: dict[str, int] = defaultdict(int)
    wrong = []
    for case in cases():
        got = triage.classify(case["text"]).kind.value
        total[case["category"]] += 1
        if got == case["kind"]:
            right[case["category"]] += 1
        else:
            wrong.append((case["category"], case["kind"], f"{got}: {case['text']}"))
    return {c: right[c] / total[c] for c in total}, wrong
