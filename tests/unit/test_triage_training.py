"""Training cuts each cross-validation fold's vocabulary from n-gram counts made once, and solves
liblinear's dual problem: the vocabularies, weights and matrices are scikit-learn's own, and the
model is the same problem's solution."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from bot.triage import learning
from bot.triage.classify import Triage
from tests.unit.test_triage_fast_model import posts
from tests.unit.test_triage_learning import synthetic


@pytest.fixture(scope="module")
def triage() -> Triage:
    return Triage()


def _docs(triage: Triage, texts: list[str]) -> tuple[list[list[str]], list[list[str]]]:
    folded = [learning.model_text(triage.analyse(t)) for t in texts]
    return [learning.word_features(t) for t in folded], [learning.char_features(t) for t in folded]


@pytest.mark.parametrize(
    ("block", "options"),
    [
        ("word", {"min_df": 2, "max_features": None, "sublinear_tf": True, "norm": "l2"}),
        ("char", {"min_df": 2, "max_features": None, "sublinear_tf": False, "norm": None}),
        # Fewer columns than terms used twice: the most frequent are kept, ties broken as scikit-learn does.
        ("char", {"min_df": 2, "max_features": 300, "sublinear_tf": False, "norm": None}),
        ("word", {"min_df": 3, "max_features": 40, "sublinear_tf": True, "norm": "l2"}),
    ],
)
def test_a_fold_is_cut_as_tfidf_vectorizer_fits_it(triage: Triage, block: str, options: dict):
    texts = [r.text for r in synthetic(160)] + posts(240)
    words, chars = _docs(triage, texts)
    docs = words if block == "word" else chars
    terms = learning._Terms(docs)
    rows = np.array([i for i in range(len(docs)) if i % 5 != 2])  # a fold: four fifths of the posts
    fitted, matrix = terms.block(rows, **options)

    theirs = TfidfVectorizer(analyzer=lambda d: d, dtype=np.float64, **options)
    expected = theirs.fit_transform([docs[i] for i in rows]).tocsr()
    assert fitted.terms == sorted(theirs.vocabulary_, key=theirs.vocabulary_.__getitem__)
    assert np.array_equal(fitted.idf_, theirs.idf_)
    ours = matrix.tocsr()
    ours.sort_indices()
    expected.sort_indices()
    assert np.array_equal(ours.indptr, expected.indptr)
    assert np.array_equal(ours.indices, expected.indices)
    # Equal but for the order an l2 norm sums a row in: within a unit in the last place.
    assert np.allclose(ours.data, expected.data, rtol=1e-15, atol=0)

    held_out = np.array([i for i in range(len(docs)) if i % 5 == 2])
    cut = terms.weigh(held_out, fitted).tocsr()
    transformed = theirs.transform([docs[i] for i in held_out]).tocsr()
    cut.sort_indices()
    transformed.sort_indices()
    assert np.array_equal(cut.indices, transformed.indices)
    assert np.allclose(cut.toarray(), transformed.toarray(), rtol=1e-15, atol=0)
    assert len(fitted.terms) == options["max_features"] if options["max_features"] else len(fitted.terms) > 30


def test_the_dual_solution_is_the_primal_one(triage: Triage):
    """liblinear's dual solver fits the same regularised problem: solved tightly, both give the same
    model (to the solvers' tolerance), and the dual does at its default tolerance."""
    rows = synthetic(240, seed=4)
    analyses = [triage.analyse(r.text) for r in rows]
    truth = [r.is_complaint for r in rows]
    x, *_ = learning._fit_matrix(learning._Features.of(analyses))
    fitted = learning.fit(analyses, truth)
    primal = LogisticRegression(C=learning.C, class_weight="balanced", solver="liblinear", tol=1e-10, max_iter=10_000)
    primal.fit(x, [int(t) for t in truth])
    ours = fitted.classifier.decision_function(x)
    assert np.abs(ours - primal.decision_function(x)).max() < 1e-2
    assert ((ours > 0) == (primal.decision_function(x) > 0)).all()
    assert np.abs(ours).max() > 0.5  # a model that says something


def test_held_out_folds_are_scored_as_the_exported_model_scores_them(triage: Triage):
    rows = synthetic(200, seed=6)
    analyses = [triage.analyse(r.text) for r in rows]
    truth = [r.is_complaint for r in rows]
    features = learning._Features.of(analyses)
    train, test = [i for i in range(200) if i % 5], list(range(0, 200, 5))
    fitted = learning.fit([analyses[i] for i in train], [truth[i] for i in train], features.take(train))
    theirs = fitted.classifier.predict_proba(learning._held_out_matrix(features.take(test), fitted))[:, 1]
    model = fitted.loaded()
    ours = [model.complaint_probability(analyses[i]) for i in test]
    assert np.abs(np.array(ours) - theirs).max() < 1e-9
    assert min(ours) < 0.5 < max(ours)
