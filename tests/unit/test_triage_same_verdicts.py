"""The fast paths of triage (VADER computed in one pass, the cue index reading whole phrases, the
model's per-word cache) give exactly the verdicts and scores triage gave before them.

The reference is ``tests/support/triage_reference.py``: triage as it was, written the plain way
(vaderSentiment itself, every cue searched). Verdicts are compared whole — kind, score, VADER's four
numbers, signals in order, language, the blended probability — with ``==``, not within a tolerance.
The posts: the hard sets of the other tests, made-up posts stitched from every cue's phrases and the
words VADER's rules turn on, property-based mixtures, and the measurement data set when it is there.
"""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from vaderSentiment import vaderSentiment as vader

from bot.triage import learning
from bot.triage.classify import _ASCII_WORD, _SHOUT, _WORD, Sentiment, Triage, fold, required_literals
from bot.triage.learning import LoadedModel
from tests.inert import CORPUS
from tests.support.triage_reference import ReferenceTriage
from tests.unit.test_triage_fast_model import posts
from tests.unit.test_triage_hard import QUESTIONS, READABLE, SARCASM
from tests.unit.test_triage_learning import synthetic

TRIAGE = Triage()
VADER = vader.SentimentIntensityAnalyzer()
SENTIMENT = Sentiment()

# The words VADER's rules turn on: negations, boosters and dampeners, "but", "least", "kind of", its
# idioms, capitals, and emoji it describes.
VADER_WORDS = [
    *vader.NEGATE, *vader.BOOSTER_DICT, "no", "or", "nor", "least", "at", "very", "kind", "of", "sort", "just",
    "enough", "but", "BUT", "never", "so", "this", "without", "doubt", "the", "shit", "bomb", "bad", "ass", "bus",
    "stop", "yeah", "right", "kiss", "death", "to", "die", "for", "beating", "heart", "GOOD", "Great", "AWFUL",
    "love", "hate", ":)", ":(", "😀", "😡", "🙄", "👏", "!!!", "??", "?!",
]  # fmt: skip
DECOR = ["@AcmeAir", "@Bob_99", "https://t.co/x1Y", "www.acme.com/help", "pic.twitter.com/abc", "&amp;", "&lt;3",
         "don’t", "“quoted”", "café", "todavía", "Straße", "WORST", "!!", "?", "¿", "#fail", "3 hours", "2nd time",
         "🙃", "😍", "ℌELP", "𝐀𝐁𝐂 ok", "", "  "]  # fmt: skip


def cue_phrases() -> list[str]:
    """Strings every cue's expression needs ("still waiting", "thanks for", "🙄"…), from every
    language: stitched together they make posts that match cues, and nearly match others."""
    out: set[str] = set()
    for cue_set in TRIAGE.cue_sets.values():
        for group in cue_set.index.groups:
            for cue in group.cues:
                for part in required_literals(cue.pattern.pattern) or []:
                    out.update(part)
    return sorted(out)


PHRASES = cue_phrases()


def made_up(n: int, seed: int) -> list[str]:
    rnd = random.Random(seed)
    pools = [PHRASES, PHRASES, VADER_WORDS, DECOR, [*SARCASM, *QUESTIONS, *(t for _, t in READABLE)]]
    out = []
    for _ in range(n):
        words = [rnd.choice(rnd.choice(pools)) for _ in range(rnd.randint(1, 9))]
        text = " ".join(words)
        if rnd.random() < 0.2:
            text = text.upper() if rnd.random() < 0.5 else text.capitalize()
        out.append(text)
    return out


HARD = [*SARCASM, *QUESTIONS, *(t for _, t in READABLE), *CORPUS, *(r.text for r in synthetic(200)), *posts(300)]
MADE_UP = made_up(1500, seed=5)
REFERENCE = ReferenceTriage(TRIAGE)


@pytest.fixture(scope="module")
def model() -> LoadedModel:
    rows = synthetic(300, seed=9)
    fitted = learning.fit([TRIAGE.analyse(r.text) for r in rows], [r.is_complaint for r in rows])
    return LoadedModel(1, 300, 0.5, fitted.params)


def assert_same(triage: Triage, reference: ReferenceTriage, texts: list[str], lang: str | None = None) -> None:
    differ = [t for t in texts if triage.classify(t, lang) != reference.classify(t, lang)]
    assert not differ, f"{len(differ)} of {len(texts)} differ, e.g. {differ[:3]}"


def test_the_rules_decide_as_before():
    assert_same(TRIAGE, REFERENCE, HARD + MADE_UP)


def test_the_analysis_a_model_reads_is_as_before():
    for text in HARD + MADE_UP[:500]:
        a, b = TRIAGE.analyse(text), REFERENCE.analyse(text)
        assert {k: getattr(a, k) for k in b} == b, text


def test_rules_and_model_decide_as_before(model: LoadedModel):
    with_model, reference = TRIAGE.with_model(model), ReferenceTriage(TRIAGE, model)
    assert_same(with_model, reference, HARD + MADE_UP[:600])
    for text in HARD + MADE_UP[:300]:  # the verdict shows the probability rounded: compare it unrounded too
        a, b = TRIAGE.analyse(text), reference.analyse(text)
        if a.readable:
            assert model.decision(a) == reference.decision(b), text
            assert with_model.blend(a) == reference.probability(b), text
    assert len({with_model.classify(t).probability for t in HARD}) > 50  # the model has its say


@pytest.mark.parametrize("lang", ["fr", "pt-BR", "und", "ja", "it"])
def test_x_language_codes_decide_as_before(lang: str):
    assert_same(TRIAGE, REFERENCE, HARD[:120] + MADE_UP[:200], lang)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(PHRASES + VADER_WORDS + DECOR), min_size=0, max_size=8).map(" ".join))
def test_mixtures_decide_as_before(text: str):
    assert TRIAGE.classify(text) == REFERENCE.classify(text)


def test_words_of_ascii_text_are_read_as_unicode_words():
    """Language detection reads ASCII posts with an ASCII pattern: it must find the same words —
    folded text can hold capitals ("ℌ" and "𝐀" have no lower case, and fold to "H" and "A")."""
    rnd = random.Random(3)
    texts = [fold("ℌello 𝐀BC don't"), *(fold(t) for t in HARD + MADE_UP)]
    texts += ["".join(chr(rnd.randrange(128)) for _ in range(rnd.randint(0, 30))) for _ in range(20_000)]
    ascii_texts = [t for t in texts if t.isascii()]
    assert [_ASCII_WORD.findall(t) for t in ascii_texts] == [_WORD.findall(t) for t in ascii_texts]
    assert "Hello" in _ASCII_WORD.findall(texts[0])


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.sampled_from("ABCDEFGHIJ abc_1ÉéŁ!.'\n"), max_size=30))
def test_shouting_is_counted_as_before(text: str):
    """Words of four capitals or more, found by a pattern that starts with a capital."""
    assert _SHOUT.findall(text) == re.findall(r"\b[A-Z]{4,}\b", text)


def test_sentiment_is_vader_to_the_last_bit():
    """The one-pass VADER against vaderSentiment itself, on posts built from every rule's words,
    lexicon words with punctuation and capitals, emoji, and spaces of all kinds."""
    rnd = random.Random(1)
    lexicon = sorted(VADER.lexicon)
    emoji = sorted(e for e in VADER.emojis if len(e) == 1)
    odd = ["refund", "café", "İİ", "ßig", "x", "a", "?", "!!", "...", "😀😀", "ok", "lol", "n't"]

    def word() -> str:
        r = rnd.random()
        w = rnd.choice(lexicon if r < 0.35 else VADER_WORDS if r < 0.75 else emoji if r < 0.8 else odd)
        c = rnd.random()
        w = w.upper() if c < 0.15 else w.capitalize() if c < 0.2 else w
        p = rnd.random()
        if p < 0.1:
            return w + rnd.choice(["!", "?", "!!!", ".", ",", "?!"])
        return rnd.choice("('\"#@") + w if p < 0.15 else w

    texts = ["", " ", "x kiss of death", "x y z kiss of death", "a b c to die for", "never so good", "at least good",
             "not the least bit good", "no good", "no or bad", "kind of good", "It was good, but bad"]  # fmt: skip
    for _ in range(12_000):
        sep = rnd.choice([" ", " ", "  ", "\t", " \n", "\u00a0"])
        text = sep.join(word() for _ in range(rnd.randint(0, 14)))
        if rnd.random() < 0.1:
            text = rnd.choice(emoji).join(text.split(" ", 1))
        texts.append(text)
    differ = [t for t in texts if SENTIMENT.polarity_scores(t) != VADER.polarity_scores(t)]
    assert not differ, differ[:5]
    assert sum(SENTIMENT.polarity_scores(t)["compound"] != 0 for t in texts) > 6_000


def _data_set() -> Path | None:
    """The measurement data (``shared/data/complaints-dev.csv`` beside the checkout), if present:
    it is not in the repository."""
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "shared" / "data" / "complaints-dev.csv"
        if candidate.is_file():
            return candidate
    return None


@pytest.mark.skipif(_data_set() is None, reason="the measurement data set is not beside this checkout")
def test_the_data_set_decides_as_before():
    path = _data_set()
    assert path is not None
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    texts = [r["text"] for r in rows]
    assert all(SENTIMENT.polarity_scores(t) == VADER.polarity_scores(t) for t in texts)
    assert_same(TRIAGE, REFERENCE, texts)
    fitted = learning.fit([TRIAGE.analyse(t) for t in texts], [r["is_complaint"].strip() == "1" for r in rows])
    model = LoadedModel(1, len(rows), 0.5, fitted.params)
    assert_same(TRIAGE.with_model(model), ReferenceTriage(TRIAGE, model), texts)
