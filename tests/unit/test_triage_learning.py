"""The learned model without a database: its JSON export predicts what scikit-learn predicts, the
threshold keeps recall, label files are read all or nothing."""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from bot.store.enums import Kind
from bot.triage import learning
from bot.triage.classify import Sentiment, Triage
from bot.triage.learning import LabelFileError, LabelRow, LoadedModel, NotEnoughLabels

ITEMS = ["order", "parcel", "refund", "router", "phone", "booking", "card", "bill", "app", "flight"]
PROBLEMS = [
    "still hasn't arrived",
    "is broken again",
    "was charged twice",
    "keeps crashing",
    "never turned up",
    "doesn't work at all",
    "got cancelled without any notice",
    "is missing the charger",
]
OKAY = [
    "thanks for the quick help with my {item}",
    "do you sell a case for the {item}",
    "loving the new {item} design",
    "what time does the store open for {item} pickups",
    "my {item} came early, great stuff",
    "is the {item} available in blue",
]


def synthetic(n: int, seed: int = 3) -> list[LabelRow]:
    """Labelled posts made up for tests: half complaints, half not, with some noise words."""
    rnd = random.Random(seed)
    rows: list[LabelRow] = []
    for i in range(n):
        item = rnd.choice(ITEMS)
        if i % 2:
            text = (
                f"@Acme my {item} {rnd.choice(PROBLEMS)}, {rnd.choice(['day 3', 'ugh', 'pls', 'hello?', 'seriously'])}"
            )
            rows.append(LabelRow(f"{text} #{i}", True, "complaint"))
        else:
            rows.append(LabelRow(f"@Acme {rnd.choice(OKAY).format(item=item)} #{i}", False, "not_complaint"))
    return rows


@pytest.fixture(scope="module")
def triage() -> Triage:
    return Triage()


@pytest.fixture(scope="module")
def fitted(triage: Triage) -> learning.Fitted:
    rows = synthetic(160)
    return learning.fit([triage.analyse(r.text) for r in rows], [r.is_complaint for r in rows])


HELD_OUT = [
    "@Acme my router is broken again, third time this month",
    "@Acme thank you, the new phone is lovely",
    "@Acme où est mon colis ?",
    "@Acme 🙄 refund please",
    "@Acme",
    "zzzz qqqq unseen words only",
]


def test_the_exported_model_predicts_what_scikit_learn_predicts(triage: Triage, fitted: learning.Fitted):
    analyses = [triage.analyse(t) for t in [*HELD_OUT, *(r.text for r in synthetic(40, seed=9))]]
    ours = [fitted.loaded().complaint_probability(a) for a in analyses]
    theirs = fitted.sklearn_probability(analyses)
    assert max(abs(a - b) for a, b in zip(ours, theirs, strict=True)) < 1e-9
    assert min(theirs) < 0.5 < max(theirs)  # it learned something, or equality would prove little


def test_the_export_is_plain_json_and_survives_a_round_trip(triage: Triage, fitted: learning.Fitted):
    text = json.dumps(fitted.params)
    assert "pickle" not in text

    def plain(value: object) -> bool:
        if isinstance(value, dict):
            return all(isinstance(k, str) and plain(v) for k, v in value.items())
        if isinstance(value, list):
            return all(plain(v) for v in value)
        return value is None or type(value) in (str, int, float, bool)

    assert plain(fitted.params)
    again = LoadedModel(1, 160, 0.5, json.loads(text))
    for t in HELD_OUT:
        a = triage.analyse(t)
        assert again.complaint_probability(a) == pytest.approx(fitted.loaded().complaint_probability(a), abs=1e-12)


def test_a_model_in_an_unknown_format_is_refused(fitted: learning.Fitted):
    with pytest.raises(ValueError, match="format"):
        LoadedModel(1, 10, 0.5, {**fitted.params, "format": "pickle"})


def test_a_model_decides_when_blended_and_its_weight_grows_with_labels(triage: Triage, fitted: learning.Fitted):
    assert learning.blend_weight(0) == 0.0
    assert learning.blend_weight(100) < learning.blend_weight(1000) < learning.blend_weight(10000) < 1.0
    model = fitted.loaded(threshold=0.5)
    with_model = triage.with_model(model)
    verdict = with_model.classify("@Acme my booking got cancelled without any notice")
    assert verdict.probability is not None
    assert verdict.kind is Kind.COMPLAINT
    assert triage.classify("@Acme my booking got cancelled without any notice").probability is None
    assert with_model.thresholds is triage.thresholds
    assert triage.model is None


def test_a_confident_model_can_overrule_the_rules(triage: Triage, fitted: learning.Fitted):
    text = "@Acme my bill is missing the charger, day 3"
    always = LoadedModel(1, 10**9, 0.0, fitted.params)
    never = LoadedModel(1, 10**9, 1.01, fitted.params)
    assert triage.with_model(always).classify(text).kind is Kind.COMPLAINT
    assert triage.with_model(never).classify(text).kind is not Kind.COMPLAINT


def test_unreadable_posts_need_a_look_whatever_the_model_says(triage: Triage, fitted: learning.Fitted):
    never = LoadedModel(1, 10**9, 1.01, fitted.params)
    verdict = triage.with_model(never).classify("@ANA 荷物がまだ届きません")
    assert verdict.needs_look
    assert verdict.kind is Kind.COMPLAINT


def test_the_threshold_keeps_the_recall_it_targets():
    rnd = random.Random(1)
    truth = [rnd.random() < 0.4 for _ in range(500)]
    probability = [min(1.0, max(0.0, (0.65 if t else 0.35) + rnd.gauss(0, 0.2))) for t in truth]
    for target in (0.7, 0.8, 0.9):
        t = learning.choose_threshold(truth, probability, target)
        assert learning.metrics(truth, [p >= t for p in probability]).recall >= target
    # and among those, the best macro-F1: a brute-force search over every cut finds none better
    t = learning.choose_threshold(truth, probability, 0.8)
    chosen = learning.metrics(truth, [p >= t for p in probability]).macro_f1
    for cut in sorted(set(probability)):
        m = learning.metrics(truth, [p >= cut for p in probability])
        assert m.recall < 0.8 or m.macro_f1 <= chosen + 1e-12


def test_too_few_labels_fail_clearly(triage: Triage):
    with pytest.raises(NotEnoughLabels, match="need at least 40 labels"):
        learning.train_on(synthetic(20), triage)
    with pytest.raises(NotEnoughLabels, match="10 of them complaints"):
        learning.train_on([r for r in synthetic(200) if not r.is_complaint], triage)


def test_training_reports_cross_validated_figures(triage: Triage):
    model, threshold, cv, rules = learning.train_on(synthetic(120), triage)
    assert 0.0 < threshold < 1.0
    assert cv.count == rules.count == 120
    assert cv.recall >= learning.TARGET_RECALL
    assert model.label_count == 120


def test_evaluate_counts_complaints_only(triage: Triage):
    m = learning.evaluate(
        triage, [("@Acme still waiting for my refund", True), ("@Acme do you ship to Canada?", False)]
    )
    assert (m.count, m.accuracy, m.recall, m.precision, m.macro_f1) == (2, 1.0, 1.0, 1.0, 1.0)
    assert m.line() == "macro_f1=1.000 recall=1.000 precision=1.000"


# --- label files -----------------------------------------------------------------------------


def write(tmp_path: Path, content: str, name: str = "labels.csv") -> Path:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    return path


def test_a_labels_file_is_read_with_optional_kinds(tmp_path: Path):
    path = write(
        tmp_path,
        'text,is_complaint,kind\n"still no refund, day 9",1,complaint\ncan I bring my cat?,0,question\nnice,0,\n',
    )
    rows = learning.read_labels(path)
    assert rows == [
        LabelRow("still no refund, day 9", True, "complaint"),
        LabelRow("can I bring my cat?", False, "question"),
        LabelRow("nice", False, "not_complaint"),
    ]


def test_bad_rows_are_reported_with_their_line_and_reason(tmp_path: Path):
    path = write(tmp_path, "text,is_complaint,kind\nok,1,\n,1,\nfine,maybe,\nthanks,1,praise\nhi,0,grumpy\n")
    with pytest.raises(LabelFileError) as caught:
        learning.read_labels(path)
    problems = dict(caught.value.problems)
    assert set(problems) == {3, 4, 5, 6}
    assert "empty text" in problems[3]
    assert "maybe" in problems[4]
    assert "contradicts" in problems[5]
    assert "grumpy" in problems[6]
    assert "4 bad rows, nothing imported" in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "empty file"),
        ("text,label\nhi,1\n", "missing column is_complaint"),
        ('text,is_complaint\n"never closed,1\n', "not a readable CSV"),
        ("text,is_complaint\n", "no labelled rows"),
        ("text,is_complaint\nhi,1,extra\n", "more fields than columns"),
    ],
)
def test_unusable_files_say_why(tmp_path: Path, content: str, message: str):
    with pytest.raises(LabelFileError, match=message):
        learning.read_labels(write(tmp_path, content))


def test_a_missing_file_or_a_binary_one_says_so(tmp_path: Path):
    with pytest.raises(LabelFileError, match="no such file"):
        learning.read_labels(tmp_path / "nope.csv")
    binary = tmp_path / "b.csv"
    binary.write_bytes(b"text,is_complaint\n\xff\xfe,1\n")
    with pytest.raises(LabelFileError, match="not UTF-8"):
        learning.read_labels(binary)


def test_sentiment_fast_path_scores_exactly_as_vader():
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    ours, theirs = Sentiment(), SentimentIntensityAnalyzer()
    for text in [*HELD_OUT, "GREAT!!! but kind of awful :( not good", "  spaced  ", "", "I do not love it, but OK"]:
        assert ours.polarity_scores(text) == theirs.polarity_scores(text)


def test_tf_table_matches_the_formula():
    assert learning._TF[1] == 1.0
    assert learning._TF[7] == pytest.approx(1 + math.log(7))


def test_sentiment_shortcuts_score_exactly_as_vader_on_negations_boosters_and_buts():
    """The shortcuts (no lexicon word, words outside the lexicon, negations as a set) on thousands
    of made-up posts built from the words VADER's rules turn on."""
    import random

    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    ours, theirs = Sentiment(), SentimentIntensityAnalyzer()
    words = ["not", "never", "so", "this", "without", "doubt", "good", "bad", "great", "awful", "isn't", "don't",
             "no", "least", "at", "very", "kind", "of", "but", "LOVE", "hate", "ok", "the", "refund", "wasn't",
             "nor", "or", "sort", "😀", "!!!", "?", "GOOD", "Extremely"]  # fmt: skip
    rnd = random.Random(11)
    for _ in range(3000):
        text = " ".join(rnd.choice(words) for _ in range(rnd.randint(0, 12)))
        assert ours.polarity_scores(text) == theirs.polarity_scores(text), text
