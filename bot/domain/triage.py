"""Triage: is a post a complaint, praise, or something else — and how urgent is it?

VADER is one signal, not the verdict: complaints are often neutral in tone ("still waiting for my
refund" scores 0.0). The score adds VADER's negativity to complaint cues (waiting, repeat contact,
money, things broken, dissatisfaction, requests for help) and subtracts praise and "all sorted"
cues. The cues live in ``cues.toml`` so a support lead can read and tune them without reading code.
No training: the rules are general customer-service language.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.domain.types import Kind

CUES_FILE = Path(__file__).with_name("cues.toml")
_MENTION = re.compile(r"@\w+")
_URL = re.compile(r"https?://\S+")
_SHOUT = re.compile(r"\b[A-Z]{4,}\b")
_ENTITIES = {"&amp;": "&", "&lt;": "<", "&gt;": ">", "&quot;": '"', "&#39;": "'"}


@dataclass(frozen=True)
class Cue:
    group: str
    weight: float
    pattern: re.Pattern[str]


@dataclass(frozen=True)
class CueGroup:
    """A group's patterns, and all of them in one expression: most posts match no pattern of most
    groups, and one search of the combined expression rules the whole group out."""

    name: str
    weight: float
    any_of: re.Pattern[str]
    cues: tuple[Cue, ...]


@dataclass(frozen=True)
class Verdict:
    kind: Kind
    score: float
    compound: float
    pos: float
    neg: float
    neu: float
    signals: tuple[str, ...]


@dataclass(frozen=True)
class Thresholds:
    complaint: float = 1.0
    praise: float = 0.5


def load_cues(path: Path = CUES_FILE) -> tuple[dict[str, Any], list[Cue]]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    cues = [
        Cue(entry["group"], float(entry["weight"]), re.compile(pattern))
        for entry in data["cue"]
        for pattern in entry["patterns"]
    ]
    return data, cues


def group_cues(cues: list[Cue]) -> list[CueGroup]:
    by_group: dict[tuple[str, float], list[Cue]] = {}
    for cue in cues:
        by_group.setdefault((cue.group, cue.weight), []).append(cue)
    return [
        CueGroup(name, weight, re.compile("|".join(f"(?:{c.pattern.pattern})" for c in members)), tuple(members))
        for (name, weight), members in by_group.items()
    ]


def _unescape(text: str) -> str:
    # X hands out HTML-escaped text (&amp;); cues and VADER should see what the customer typed.
    for entity, char in _ENTITIES.items():
        text = text.replace(entity, char)
    return text


class Triage:
    """Build once (it compiles the cues and loads VADER's lexicon), call ``classify`` per post."""

    def __init__(self, thresholds: Thresholds | None = None, cues_path: Path = CUES_FILE) -> None:
        self.thresholds = thresholds or Thresholds()
        config, self.cues = load_cues(cues_path)
        self.groups = group_cues(self.cues)
        self.sentiment_cfg = config["sentiment"]
        self.structure_cfg = config["structure"]
        self.analyzer = SentimentIntensityAnalyzer()

    def classify(self, text: str) -> Verdict:
        text = _unescape(text)
        body = _URL.sub(" ", text)
        plain = _MENTION.sub(" ", body).strip()
        vs = self.analyzer.polarity_scores(plain)
        compound = vs["compound"]
        score = 0.0
        signals: list[str] = []

        s = self.sentiment_cfg
        if compound <= s["negative_floor"]:
            score += s["negative_weight"] * -compound
            signals.append("negative tone")
        elif compound >= s["positive_floor"]:
            score += s["positive_weight"] * compound
            signals.append("positive tone")

        group_totals: dict[str, float] = {}
        lowered = plain.lower()  # cheaper than IGNORECASE on every one of the cues
        for group in self.groups:
            if not group.any_of.search(lowered):
                continue
            hits = 0
            for cue in group.cues:
                if cue.pattern.search(lowered):
                    hits += 1
                    if hits == 2:  # a group counts at most twice
                        break
            group_totals[group.name] = group_totals.get(group.name, 0.0) + hits * group.weight
        for group, total in group_totals.items():
            score += total
            signals.append(group)

        st = self.structure_cfg
        if body.lstrip().startswith("@") and "?" in plain:
            score += st["question_to_brand"]
            signals.append("question to brand")
        extra = max(0, plain.count("!") - 1) + max(0, plain.count("?") - 1) + len(_SHOUT.findall(plain))
        if extra:
            score += min(st["intensifier_cap"], st["intensifier"] * extra)
            signals.append("intensifiers")

        if score >= self.thresholds.complaint:
            kind = Kind.COMPLAINT
        elif compound >= self.thresholds.praise and (
            group_totals.get("praise", 0) < 0 or compound >= self.thresholds.praise + 0.2
        ):
            # Praise: clearly positive, and either says thanks/love/great or is very positive.
            kind = Kind.PRAISE
        else:
            kind = Kind.OTHER
        return Verdict(kind, round(score, 3), compound, vs["pos"], vs["neg"], vs["neu"], tuple(signals))


def priority(
    verdict_kind: str,
    score: float,
    *,
    followers: int,
    amplification_reach: int = 0,
    amplification_count: int = 0,
    repeat_contact: int = 0,
    verified: bool = False,
) -> int:
    """0–100: severity × reach, raised by repeat contact. Only complaints rank above 30.

    Reach is logarithmic: a customer with 1M followers is more urgent than one with 100, but not
    ten thousand times more. Repeat contact (the customer's earlier complaints) matters because the
    third complaint about the same thing is the one that becomes a thread.
    """
    if verdict_kind != Kind.COMPLAINT:
        return max(0, min(30, int(10 * math.log10(1 + followers))))
    severity = max(0.0, min(score, 6.0)) / 6.0
    reach = min(1.0, math.log10(1 + followers + amplification_reach + 50 * amplification_count) / 7.0)
    repeat = min(repeat_contact, 3) / 3.0
    value = 30 + 70 * (0.45 * severity + 0.35 * reach + 0.20 * repeat) + (3 if verified else 0)
    return max(31, min(100, round(value)))
