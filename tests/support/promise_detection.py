"""Scoring promise detection against the labelled brand replies (tests/data/brand_replies.jsonl):
shared by the bench (which prints the figures) and the test (which holds the targets)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.promises.commitments import find_commitments

DATA = Path(__file__).resolve().parents[1] / "data" / "brand_replies.jsonl"
HOLDOUT = DATA.with_name("brand_replies_holdout.jsonl")


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    due_right: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def due_share(self) -> float:
        """Of the replies that are promises and were found, the share with the expected due time."""
        return self.due_right / self.tp if self.tp else 0.0


def rows(path: Path = DATA) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def score(data: list[dict]) -> Score:
    s = Score()
    for row in data:
        now = datetime.fromisoformat(row["now"].replace("Z", "+00:00"))
        found = find_commitments(row["text"], now=now, tz=row["tz"], locale=row.get("locale", "en-GB"))
        if row["promise"] and found:
            s.tp += 1
            zone = ZoneInfo(row["tz"])
            got = [c.due.astimezone(zone).strftime("%Y-%m-%d %H:%M") if c.due else None for c in found]
            if row["due"] in got:
                s.due_right += 1
            else:
                s.misses.append(f"due {got} != {row['due']}: {row['text']}")
        elif row["promise"]:
            s.fn += 1
            s.misses.append(f"missed: {row['text']}")
        elif found:
            s.fp += 1
            s.misses.append(f"not a promise: {row['text']}")
        else:
            s.tn += 1
    return s
