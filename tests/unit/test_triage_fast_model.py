"""The model's fast scoring path (dictionaries folded per n-gram, a per-word cache of character
n-gram scores) gives the same scores and decisions as the plain sum and as scikit-learn itself."""

from __future__ import annotations

import math
import random

import pytest

from bot.triage import learning
from bot.triage.classify import Triage
from tests.unit.test_triage_learning import HELD_OUT, ITEMS, OKAY, PROBLEMS, synthetic


@pytest.fixture(scope="module")
def triage() -> Triage:
    return Triage()


def posts(n: int, seed: int = 11) -> list[str]:
    """A few hundred posts: the training sort, words repeated (tf above 1), words never seen, other
    languages, emoji, links and handles."""
    rnd = random.Random(seed)
    extra = ["again again", "refund refund refund!!", "zqxv", "très déçu", "🙄🙄", "https://t.co/x", "@Bob", "?!?"]
    out = list(HELD_OUT)
    while len(out) < n:
        item = rnd.choice(ITEMS)
        parts = [f"@Acme my {item}", rnd.choice(PROBLEMS), rnd.choice(OKAY).format(item=item), rnd.choice(extra)]
        rnd.shuffle(parts)
        out.append(" ".join(parts[: rnd.randint(1, 4)]) + ("" if rnd.random() < 0.5 else f" {item} {item}"))
    return out


def test_fast_scores_equal_the_plain_sum_and_scikit_learn(triage: Triage):
    rows = synthetic(200)
    fitted = learning.fit([triage.analyse(r.text) for r in rows], [r.is_complaint for r in rows])
    model = fitted.loaded(threshold=0.5)
    analyses = [triage.analyse(t) for t in posts(300)]
    cold = [model.decision(a) for a in analyses]
    warm = [model.decision(a) for a in analyses]  # the per-word cache filled
    plain = [model.reference_decision(a) for a in analyses]
    assert max(abs(a - b) for a, b in zip(cold, plain, strict=True)) < 1e-9
    assert cold == warm
    theirs = fitted.sklearn_probability(analyses)
    ours = [model.complaint_probability(a) for a in analyses]
    assert max(abs(a - b) for a, b in zip(ours, theirs, strict=True)) < 1e-9
    assert [p >= 0.5 for p in ours] == [p >= 0.5 for p in theirs]
    assert min(theirs) < 0.5 < max(theirs)
    assert any(abs(x) > 1e-3 for x in plain)
    assert len({round(x, 6) for x in plain}) > 50
    assert all(math.isfinite(x) for x in cold)


def test_classify_with_the_model_gives_the_reference_verdicts(triage: Triage):
    rows = synthetic(200)
    fitted = learning.fit([triage.analyse(r.text) for r in rows], [r.is_complaint for r in rows])
    model = fitted.loaded(threshold=0.5)
    with_model = triage.with_model(model)
    for text in posts(200, seed=5):
        a = triage.analyse(text)
        if not a.readable:
            continue
        prior = triage.cue_probability(a.score)
        z = model.reference_decision(a)
        expected = model.weight / (1.0 + math.exp(-z)) + (1.0 - model.weight) * prior
        verdict = with_model.classify(text)
        assert verdict.probability == pytest.approx(round(expected, 4), abs=1e-4)
        assert (verdict.kind.value == "complaint") == (expected >= 0.5) or abs(expected - 0.5) < 1e-9


def test_a_post_scores_the_same_when_the_word_cache_is_emptied_under_it(triage: Triage):
    """The per-word cache is emptied when it grows past its bound, possibly halfway through a post
    whose other words were cached: the post still scores as with a fresh cache."""
    rows = synthetic(120)
    fitted = learning.fit([triage.analyse(r.text) for r in rows], [r.is_complaint for r in rows])
    model, fresh = fitted.loaded(), fitted.loaded()
    seen, post = triage.analyse("@Acme my refund"), triage.analyse("@Acme my refund is broken again zqxv")
    model.decision(seen)  # "my" and "refund" cached
    model._pieces.update((f"filler{i}", (0.0, 0, [])) for i in range(200_001))
    assert model.decision(post) == fresh.decision(post)
    assert len(model._pieces) < 10  # emptied, then refilled with this post's words
