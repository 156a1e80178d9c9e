"""Why triage read a post the way it did: ``followthrough triage explain TEXT``.

A lead who sees "my order is late" go uncarded must be able to ask why, in words: the kind, the
score against the threshold (or the model's probability against its own), the language, each cue
that fired with the words it matched, and — when the team's labels trained a model — the labelled
posts nearest to this one, which are what the model learnt from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.triage.classify import Triage


@dataclass(frozen=True)
class Fired:
    group: str
    weight: float
    matched: str


@dataclass(frozen=True)
class Neighbour:
    similarity: float
    text: str
    label: str


@dataclass(frozen=True)
class Explanation:
    kind: str
    score: float
    threshold: float
    probability: float | None
    model_threshold: float | None
    language: str
    readable: bool
    compound: float
    signals: tuple[str, ...]
    fired: tuple[Fired, ...]
    nearest: tuple[Neighbour, ...]


def fired_cues(triage: Triage, text: str, lang: str | None = None) -> list[Fired]:
    """Every cue of the post's language that matches, with the words it matched (the slow way, one
    pattern at a time: this is for a person reading, not for the hot path)."""
    analysis = triage.analyse(text, lang)
    cue_set = triage.cue_sets.get(analysis.language)
    if cue_set is None:
        return []
    out = []
    for group in cue_set.index.groups:
        for cue in group.cues:
            match = cue.pattern.search(analysis.folded)
            if match:
                out.append(Fired(group.name, group.weight, match.group(0).strip()))
    return out


def nearest(text: str, labelled: Sequence[tuple[str, str]], k: int = 3) -> list[Neighbour]:
    """The ``k`` labelled posts closest to ``text`` by TF-IDF cosine (words and word pairs)."""
    if not labelled:
        return []
    from sklearn.feature_extraction.text import TfidfVectorizer  # loaded when a person asks, not at start

    texts = [t for t, _ in labelled]
    vectoriser = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1)
    matrix = vectoriser.fit_transform([*texts, text])
    scores = (matrix[:-1] @ matrix[-1].T).toarray().ravel()
    order = sorted(range(len(texts)), key=lambda i: -scores[i])[:k]
    return [Neighbour(round(float(scores[i]), 3), texts[i], labelled[i][1]) for i in order if scores[i] > 0]


def explain(
    triage: Triage, text: str, lang: str | None = None, labelled: Sequence[tuple[str, str]] = ()
) -> Explanation:
    verdict = triage.classify(text, lang)
    analysis = triage.analyse(text, lang)
    model = triage.model
    return Explanation(
        kind=verdict.kind.value,
        score=verdict.score,
        threshold=triage.thresholds.complaint,
        probability=verdict.probability,
        model_threshold=model.threshold if model is not None else None,
        language=verdict.language or analysis.language,
        readable=analysis.readable,
        compound=analysis.compound,
        signals=verdict.signals,
        fired=tuple(fired_cues(triage, text, lang)),
        nearest=tuple(nearest(text, labelled)) if model is not None else (),
    )


def render(e: Explanation) -> list[str]:
    lines = [f"kind: {e.kind}"]
    if e.probability is not None and e.model_threshold is not None:
        side = "at or above" if e.probability >= e.model_threshold else "below"
        lines.append(
            f"complaint probability {e.probability:.3f}, {side} the model's threshold {e.model_threshold:.3f} "
            f"(the rules' score {e.score:+.2f} is its prior)"
        )
    else:
        side = "at or above" if e.score >= e.threshold else "below"
        lines.append(f"score {e.score:+.2f}, {side} the complaint threshold {e.threshold:+.2f} (rules only)")
    lines.append(f"language: {e.language}" + ("" if e.readable else " — no cues for it: carded for a person to read"))
    lines.append(f"tone (VADER compound): {e.compound:+.3f}")
    lines.append("signals: " + (", ".join(e.signals) if e.signals else "none"))
    if e.fired:
        lines.append("cues that fired:")
        lines += [f"  {f.group} ({f.weight:+.2f}): “{f.matched}”" for f in e.fired]
    else:
        lines.append("cues that fired: none")
    if e.nearest:
        lines.append("nearest labelled posts (what the model learnt from):")
        lines += [f"  {n.similarity:.2f} {n.label}: “{n.text[:120]}”" for n in e.nearest]
    return lines
