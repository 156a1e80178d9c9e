"""Scoring promise detection against the labelled brand replies (tests/data/brand_replies.jsonl):
shared by the bench (which prints the figures) and the test (which holds the targets)."""

from __future__ import annotations

import json
import re
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


HOLDOUT_21 = DATA.with_name("brand_replies_holdout_21.jsonl")
"""Replies written for issue #21 before its rules were changed: several promises in one reply, time
zones, other languages, fortnights and ordinals. Each row lists its promises (``due_utc``, the words
the promise's text must keep, and ``ask`` when the reading must be a question)."""

_ZONE_WORD = re.compile(
    r"\b(?:PST|PDT|PT|EST|EDT|ET|CST|CDT|CT|MST|MDT|MT|CET|CEST|BST|GMT|UTC|IST|AEST|AEDT|JST|Pacific|Eastern|"
    r"Central|Mountain|[A-Z][a-z]+/[A-Z][A-Za-z_]+|London time|Sydney time|UK time)\b"
)


@dataclass
class MultiScore:
    expected: int = 0
    found: int = 0
    detected: int = 0
    due_right: int = 0
    clean: int = 0
    misses: list[str] = field(default_factory=list)

    @property
    def precision(self) -> float:
        return self.detected / self.found if self.found else 0.0

    @property
    def recall(self) -> float:
        return self.detected / self.expected if self.expected else 0.0

    @property
    def due_share(self) -> float:
        return self.due_right / self.detected if self.detected else 0.0

    @property
    def clean_share(self) -> float:
        return self.clean / self.detected if self.detected else 0.0


def score_promises(data: list[dict]) -> MultiScore:
    """Each expected promise is found when a commitment's text keeps its words; its due time is right
    when it is the expected minute (UTC) without a question, or a question where one is expected; its
    text is clean when it holds no time zone and no stitched "and and"."""
    s = MultiScore()
    for row in data:
        now = datetime.fromisoformat(row["now"].replace("Z", "+00:00"))
        found = find_commitments(row["text"], now=now, tz=row["tz"], locale=row.get("locale") or None)
        s.expected += len(row["promises"])
        s.found += len(found)
        left = list(found)
        for want in row["promises"]:
            says = [w.casefold() for w in want["says"]]
            match = next((c for c in left if all(w in c.text.casefold() for w in says)), None)
            if match is None:
                s.misses.append(f"missed {says}: {row['text']} -> {[c.text for c in found]}")
                continue
            left.remove(match)
            s.detected += 1
            if want.get("ask"):
                ok = match.ask is not None
            else:
                expected = datetime.fromisoformat(want["due_utc"].replace("Z", "+00:00"))
                ok = match.ask is None and match.due == expected
            if ok:
                s.due_right += 1
            else:
                got = match.due.strftime("%Y-%m-%dT%H:%MZ") if match.due else None
                s.misses.append(f"due {got} ask={match.ask!r} != {want.get('due_utc')}: {row['text']}")
            if " and and " in f" {match.text} " or _ZONE_WORD.search(match.text):
                s.misses.append(f"text {match.text!r}: {row['text']}")
            else:
                s.clean += 1
        for extra in left:
            s.misses.append(f"not a promise {extra.text!r}: {row['text']}")
    return s
