"""Triage learns from the desk's own labels.

Out of the box triage is the cue rules (``triage.py``). Every label a person gives — a click on a
card, a file of labelled posts — is stored (``triage_labels``); ``train`` fits a model on them and
stores it (``triage_models``) as plain JSON. ``current_model`` loads the newest for ``Triage``.

The model is a logistic regression over TF-IDF word and character n-grams plus what the rules saw
(the cue score, VADER's scores, whether there was a complaint fact, sarcasm, an ask). scikit-learn
fits it — it is the reference implementation of both, with the sparse solvers that make training on
thousands of posts take seconds — but prediction does not use it: the fitted vocabulary, idf weights
and coefficients are exported to JSON and applied here with plain Python. So a stored model is data,
not code (no pickle: loading one cannot run anything), it does not depend on the scikit-learn version
that trained it, and scoring a post is a few dictionary look-ups.

Its say grows with the labels behind it: the model's probability is blended with the rules' as
``n / (n + BLEND_K)``, so a hundred labels nudge the rules and thousands mostly replace them. The
decision threshold is chosen on cross-validated predictions so that complaint recall stays at
``TARGET_RECALL`` or above: a missed complaint costs a customer, a false one costs a click.
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from itertools import chain, count, pairwise, repeat
from operator import itemgetter, mul
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.history.labels import label_kind
from bot.store.enums import Kind
from bot.store.models import TriageLabel, TriageModel
from bot.triage.classify import DEFAULT_RECALL_TARGET, Analysis, Triage, fold

FORMAT = "followthrough-triage-lr/1"
MIN_LABELS = 40
MIN_PER_CLASS = 10
BLEND_K = 150
"""Labels at which the model and the rules have an equal say."""
TARGET_RECALL = DEFAULT_RECALL_TARGET
"""Complaint recall the model's threshold keeps on cross-validated labels (when the labels allow
it), unless TRIAGE_RECALL_TARGET says otherwise: the same default as the rules' (0.80)."""
FOLDS = 5
WORD_NGRAMS = (1, 2)  # ``LoadedModel.decision`` reads words and pairs of words: change both together
CHAR_NGRAMS = (2, 5)
MAX_CHAR_FEATURES = 60_000
C = 1.0
"""Inverse regularisation strength. With ``CHAR_WEIGHT``, chosen by cross-validation on the public
complaints data without its final split (20 random splits, a fifth held out, 500 labels or all of
the rest): macro-F1 0.820 / 0.834 at 500 / all labels against 0.810 / 0.821 at C=2 with the
character block at full weight (docs/reliability.md#triage)."""
CHAR_WEIGHT = 0.5
"""The character n-gram block's scale in training: its many correlated columns regularised harder
than the words'. Folded into the stored coefficients, so a stored model is scored as before."""

_TOKEN = re.compile(r"[^\W_]+(?:'[^\W_]+)?|[!?]+|[^\w\s]", re.UNICODE)
_SPACES = re.compile(r"\s+")
_TRUE = {"1", "true", "yes", "y", "t", "complaint"}
_FALSE = {"0", "false", "no", "n", "f", "not_complaint", "not complaint"}
DENSE = ("score", "compound", "pos", "neg", "neu", "facts", "sarcasm", "ask", "readable", "link", "mention")


class LabelFileError(ValueError):
    """A labels file that cannot be used; ``problems`` are (line, reason) for rows that were bad."""

    def __init__(self, message: str, problems: Sequence[tuple[int, str]] = ()) -> None:
        super().__init__(message)
        self.problems = list(problems)


class NotEnoughLabels(ValueError):
    """Too few labels (or too few of one class) to fit anything better than the rules."""


@dataclass(frozen=True)
class LabelRow:
    text: str
    is_complaint: bool
    kind: str


@dataclass(frozen=True)
class Metrics:
    count: int
    accuracy: float
    macro_f1: float
    precision: float
    recall: float

    def line(self) -> str:
        return f"macro_f1={self.macro_f1:.3f} recall={self.recall:.3f} precision={self.precision:.3f}"


@dataclass(frozen=True)
class ModelReport:
    version: int
    label_count: int
    threshold: float
    target_recall: float
    weight: float
    cross_validated: Metrics
    rules_only: Metrics
    seconds: float


# --- labels ----------------------------------------------------------------------------------


def read_labels(path: Path) -> list[LabelRow]:
    """The rows of a labels CSV (``text,is_complaint`` and optionally ``kind``), all or none: a file
    with bad rows raises ``LabelFileError`` listing each (line number and reason), so importing it
    twice after fixing it cannot leave half of it stored twice."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise LabelFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise LabelFileError(f"{path}: is a directory, not a CSV file") from None
    except OSError as exc:
        raise LabelFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        content = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise LabelFileError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    try:
        reader = csv.DictReader(io.StringIO(content, newline=""), strict=True)
        header = [h.strip() for h in (reader.fieldnames or [])]
        if not header:
            raise LabelFileError(f"{path}: empty file, expected a header with text,is_complaint")
        missing = [c for c in ("text", "is_complaint") if c not in header]
        if missing:
            raise LabelFileError(
                f"{path}: missing column {', '.join(missing)} (expected text,is_complaint and optionally kind; "
                f"found {','.join(header)[:120]})"
            )
        reader.fieldnames = header
        rows: list[LabelRow] = []
        problems: list[tuple[int, str]] = []
        for record in reader:
            line = reader.line_num
            try:
                rows.append(_row(record))
            except ValueError as exc:
                problems.append((line, str(exc)))
    except csv.Error as exc:
        raise LabelFileError(f"{path}: not a readable CSV file ({exc})") from None
    if problems:
        first = "; ".join(f"line {n}: {why}" for n, why in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        raise LabelFileError(f"{path}: {len(problems)} bad rows, nothing imported — {first}{more}", problems)
    if not rows:
        raise LabelFileError(f"{path}: no labelled rows")
    return rows


def _row(record: dict[str | Any, Any]) -> LabelRow:
    if None in record:
        raise ValueError("more fields than columns")
    text = (record.get("text") or "").strip()
    if not text:
        raise ValueError("empty text")
    flag = (record.get("is_complaint") or "").strip().lower()
    if flag in _TRUE:
        complaint = True
    elif flag in _FALSE:
        complaint = False
    else:
        raise ValueError(f"is_complaint must be 1 or 0 (got {flag!r})")
    kind = (record.get("kind") or "").strip()
    if kind:
        value, _ = label_kind(kind, complaint)
    else:
        value = Kind.COMPLAINT.value if complaint else "not_complaint"
    return LabelRow(text, complaint, value)


def import_labels(session: Session, path: Path, at: datetime) -> int:
    """Store every row of a labels CSV (see ``read_labels``); returns how many were stored."""
    rows = read_labels(path)
    source = f"import:{path.name}"[:64]
    session.add_all(
        TriageLabel(text=r.text, kind=r.kind, is_complaint=r.is_complaint, source=source, created_at=at) for r in rows
    )
    session.flush()
    return len(rows)


def labels(session: Session) -> list[LabelRow]:
    """Every label, one per text: when a post was labelled twice, the latest label wins (a person
    who corrects an imported label is right)."""
    latest: dict[str, LabelRow] = {}
    query = select(TriageLabel.text, TriageLabel.is_complaint, TriageLabel.kind).order_by(
        TriageLabel.created_at, TriageLabel.id
    )
    for text, complaint, kind in session.execute(query):
        latest[_SPACES.sub(" ", text.strip())] = LabelRow(text, bool(complaint), kind)
    return list(latest.values())


# --- features ------------------------------------------------------------------------------------


def model_text(analysis: Analysis) -> str:
    """What the n-grams are taken from: the folded text the cues read, links and handles removed (a
    handle names a customer or a brand, not what the post says; whether there were any is a dense
    feature)."""
    return analysis.folded or fold(analysis.plain)


def word_features(text: str) -> list[str]:
    tokens = _TOKEN.findall(text)
    grams = list(tokens)
    lo, hi = WORD_NGRAMS
    for n in range(max(2, lo), hi + 1):
        grams.extend(" ".join(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return grams if lo <= 1 else grams[len(tokens) :]


def char_features_of_word(word: str) -> list[str]:
    padded = f" {word} "
    lo, hi = CHAR_NGRAMS
    out: list[str] = []
    for n in range(lo, hi + 1):
        if n > len(padded):
            break
        out.extend(padded[i : i + n] for i in range(len(padded) - n + 1))
    return out


def char_features(text: str) -> list[str]:
    """Character n-grams within words, padded with a space either side (scikit-learn's ``char_wb``):
    they read misspellings, inflections and languages the word n-grams have not seen."""
    out: list[str] = []
    for word in text.split():
        out.extend(char_features_of_word(word))
    return out


def dense_features(a: Analysis) -> list[float]:
    return [
        a.score, a.compound, a.pos, a.neg, a.neu, float(a.facts), float(a.sarcasm), float(a.ask), float(a.readable),
        float("http" in a.text or "www." in a.text), float("@" in a.text),
    ]  # fmt: skip


# --- the model at run time ------------------------------------------------------------------


_TF = [0.0] + [1.0 + math.log(n) for n in range(1, 256)]


class _Block:
    """One TF-IDF block: a vocabulary (term → column), its idf weights and idf × coefficient, so a
    post's contribution is what scikit-learn computes (sublinear tf, l2 norm, dot product) in one
    pass over the post's distinct terms, without its objects. Plain lists and ``Counter``: for the
    hundred-odd terms of a post they beat numpy, whose per-call overhead is larger than the work."""

    def __init__(self, terms: Sequence[str], idf: Sequence[float], coef: Sequence[float]) -> None:
        if not len(terms) == len(idf) == len(coef):
            raise ValueError("model block: terms, idf and coefficients differ in length")
        self.index: dict[str, int] = {t: i for i, t in enumerate(terms)}
        if len(self.index) != len(terms):
            raise ValueError("model block: a term appears twice")
        self.idf = [float(v) for v in idf]
        self.idf2 = [v * v for v in self.idf]
        self.weighted = [float(i) * float(c) for i, c in zip(idf, coef, strict=True)]

    def score(self, columns: list[int]) -> float:
        """``columns``: the vocabulary columns of a post's terms, once per occurrence."""
        if not columns:
            return 0.0
        counts = Counter(columns)
        # Looked up and summed by itemgetter, map and sum, which run in C: a Python loop over a
        # post's couple of hundred character n-grams cost more than everything else in the model.
        pick = itemgetter(*counts) if len(counts) > 1 else (lambda seq: (seq[next(iter(counts))],))
        idf2, weighted = pick(self.idf2), pick(self.weighted)
        if len(counts) == len(columns):  # every term once: tf is 1 throughout
            norm2, dot = sum(idf2), sum(weighted)
        else:
            tf = [_TF[n] if n < 256 else 1.0 + math.log(n) for n in counts.values()]
            norm2 = sum(map(mul, map(mul, tf, tf), idf2))
            dot = sum(map(mul, tf, weighted))
        return dot / math.sqrt(norm2) if norm2 > 0.0 else 0.0


@dataclass
class LoadedModel:
    """A stored model, ready to score posts. ``weight`` is its share of the blend with the rules."""

    version: int
    label_count: int
    threshold: float
    params: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    weight: float = 0.0

    def __post_init__(self) -> None:
        p = self.params
        if p.get("format") != FORMAT:
            raise ValueError(f"unknown model format {p.get('format')!r} (this version reads {FORMAT})")
        self.word = _Block(p["word"]["terms"], p["word"]["idf"], p["word"]["coef"])
        char = p["char"]
        if not len(char["terms"]) == len(char["idf"]) == len(char["coef"]):
            raise ValueError("model block: terms, idf and coefficients differ in length")
        self.char_weights: dict[str, float] = {
            t: float(i) * float(c) for t, i, c in zip(char["terms"], char["idf"], char["coef"], strict=True)
        }
        dense = p["dense"]
        if list(dense["names"]) != list(DENSE):
            raise ValueError("model's dense features differ from this version's")
        self.dense = [
            (float(m), float(s), float(c)) for m, s, c in zip(dense["mean"], dense["scale"], dense["coef"], strict=True)
        ]
        self.intercept = float(p["intercept"])
        # coef × (x − mean) / scale, summed: the same as Σ x·(coef/scale) − Σ mean·coef/scale.
        self._dense_weights = [c / sc for _, sc, c in self.dense]
        self._dense_offset = sum(m * c / sc for m, sc, c in self.dense)
        self._pieces: dict[str, tuple[float, int, list[str]]] = {}
        """Per whitespace-separated piece of a post: its character n-grams' summed weight, their
        number, and its word tokens (no token spans whitespace, so a post's tokens are its pieces'
        tokens in order)."""
        # The word block folded into two dictionaries keyed by the n-gram itself (idf × coefficient,
        # and idf²): a post's terms are looked up once, with no column numbers in between.
        word = p["word"]
        self._word_weighted: dict[str, float] = dict(zip(word["terms"], self.word.weighted, strict=True))
        self._word_idf2: dict[str, float] = dict(zip(word["terms"], self.word.idf2, strict=True))
        self.weight = blend_weight(self.label_count) if not self.weight else self.weight

    def decision(self, a: Analysis) -> float:
        # The loops here run in C (filter, map, sum): a post is scored with a dictionary look-up per
        # word and pair of words, and each distinct word's character n-grams are cut and scored
        # once (``reference_decision`` is the same sum written out; a test holds them equal).
        text = a.folded or fold(a.plain)
        split = text.split()
        entries = list(map(self._pieces.get, split))
        if None in entries:  # pieces not seen yet (or since the cache was last emptied)
            entries = [self._cut(piece) if e is None else e for piece, e in zip(split, entries, strict=True)]
        if entries:
            char_scores, char_counts, token_lists = zip(*entries, strict=True)
            char = sum(char_scores) / math.sqrt(max(1, sum(char_counts)))
            tokens = list(chain.from_iterable(token_lists))
        else:
            char, tokens = 0.0, []
        weighted = self._word_weighted
        known = weighted.__contains__
        found = [*filter(known, tokens), *filter(known, map(" ".join, pairwise(tokens)))]
        if not found:
            words = 0.0
        elif len(set(found)) == len(found):  # every term once: tf is 1 throughout
            norm2 = sum(map(self._word_idf2.__getitem__, found))
            words = sum(map(weighted.__getitem__, found)) / math.sqrt(norm2) if norm2 > 0.0 else 0.0
        else:
            words = self._repeated(found)
        z = self.intercept + words + char
        return z + sum(map(mul, dense_features(a), self._dense_weights)) - self._dense_offset

    def _cut(self, piece: str) -> tuple[float, int, list[str]]:
        if len(self._pieces) > 200_000:
            self._pieces.clear()
        found = char_features_of_word(piece)
        entry = (sum(map(self.char_weights.get, found, repeat(0.0))), len(found), _TOKEN.findall(piece))
        self._pieces[piece] = entry
        return entry

    def _repeated(self, found: list[str]) -> float:
        """The word block's score when some term occurs more than once (sublinear tf)."""
        counts = Counter(found)
        if max(counts.values()) >= len(_TF):
            tf = [1.0 + math.log(n) for n in counts.values()]
        else:
            tf = list(map(_TF.__getitem__, counts.values()))
        norm2 = sum(map(mul, map(mul, tf, tf), map(self._word_idf2.__getitem__, counts)))
        dot = sum(map(mul, tf, map(self._word_weighted.__getitem__, counts)))
        return dot / math.sqrt(norm2) if norm2 > 0.0 else 0.0

    def reference_decision(self, a: Analysis) -> float:
        """``decision`` the plain way (the vocabulary's columns, ``_Block``, every character n-gram
        of the post looked up): what the fast path must equal."""
        text = model_text(a)
        index = self.word.index
        columns = [index[g] for g in word_features(text) if g in index]
        chars = char_features(text)
        char_score = sum(self.char_weights.get(g, 0.0) for g in chars)
        z = self.intercept + self.word.score(columns) + char_score / math.sqrt(max(1, len(chars)))
        dense = sum(x * w for x, w in zip(dense_features(a), self._dense_weights, strict=True))
        return z + dense - self._dense_offset

    def complaint_probability(self, analysis: Analysis) -> float:
        z = self.decision(analysis)
        if z >= 0:
            return 1.0 / (1.0 + math.exp(-z))
        e = math.exp(z)
        return e / (1.0 + e)


def blend_weight(label_count: int) -> float:
    return label_count / (label_count + BLEND_K) if label_count > 0 else 0.0


def current_model(session: Session) -> LoadedModel | None:
    """The newest stored model, or None (triage then runs on the rules alone)."""
    row = session.scalars(select(TriageModel).order_by(TriageModel.version.desc()).limit(1)).first()
    if row is None:
        return None
    return LoadedModel(row.version, row.label_count, row.threshold, row.params, row.metrics or {})


def load_triage(session: Session, base: Triage | None = None) -> Triage:
    """``base`` (or default rules) with the newest stored model, if there is one."""
    base = base or Triage()
    return base.with_model(current_model(session))


# --- training --------------------------------------------------------------------------------


@dataclass
class Fitted:
    """A fitted model: scikit-learn's objects (for tests and measurement) and their JSON export."""

    params: dict[str, Any]
    label_count: int
    word: TermBlock
    char: TermBlock
    scaler: Any
    classifier: Any

    def sklearn_probability(self, analyses: Sequence[Analysis]) -> list[float]:
        """The probabilities scikit-learn itself computes: the reference the exported model matches."""
        import numpy as np
        from scipy.sparse import csr_matrix, diags, hstack

        texts = [model_text(a) for a in analyses]
        chars = [char_features(t) for t in texts]
        xw = self.word.transform([word_features(t) for t in texts])
        xc = diags(_char_scale(np.array([len(c) for c in chars]))) @ self.char.transform(chars)
        xd = self.scaler.transform(np.array([dense_features(a) for a in analyses], dtype=np.float64))
        x = hstack([xw, xc, csr_matrix(xd)], format="csr")
        return [float(p) for p in self.classifier.predict_proba(x)[:, 1]]

    def loaded(self, threshold: float = 0.5) -> LoadedModel:
        return LoadedModel(0, self.label_count, threshold, self.params)


def _passthrough(doc: list[str]) -> list[str]:
    return doc


def _char_scale(counts: Any) -> Any:
    """Character n-grams are raw counts × idf, each post scaled by 1/√(its number of n-grams)
    instead of the l2 norm. The score is then a sum over the post's words of a per-word score, which
    run time caches per word — an l2 norm over a post's couple of hundred n-grams cost more than the
    rest of triage together, and measured no better."""
    import numpy as np

    return CHAR_WEIGHT / np.sqrt(np.maximum(1, np.asarray(counts, dtype=np.float64)))


@dataclass
class TermBlock:
    """One block of n-gram features as fitted: its terms in column order (their columns in the
    training run's ``_Terms``), and scikit-learn's TF-IDF weighting of them."""

    terms: list[str]
    columns: Any
    transformer: Any

    @property
    def idf_(self) -> Any:
        return self.transformer.idf_

    def transform(self, docs: Sequence[list[str]]) -> Any:
        """New posts' n-grams as the fitted block weighs them (scikit-learn counts and weighs)."""
        import numpy as np
        from sklearn.feature_extraction.text import CountVectorizer

        counter = CountVectorizer(analyzer=_passthrough, vocabulary=self.terms, dtype=np.float64)
        return self.transformer.transform(counter.transform(docs))


class _Terms:
    """Every n-gram of a training run's posts, counted once: a sparse matrix (post × n-gram, the
    columns in the n-grams' sorted order, as scikit-learn orders a vocabulary).

    Cross-validation fits six models on slices of the same posts; scikit-learn's vectorizers would
    count every n-gram of every slice again in Python, which took as long as fitting the models.
    Each slice's vocabulary and weights are cut from these counts instead, with scikit-learn's rules
    (``block``), so the matrices are the ones its ``TfidfVectorizer`` gives (a test holds them equal).
    """

    def __init__(self, docs: Sequence[list[str]]) -> None:
        import numpy as np
        from scipy.sparse import csr_matrix

        ids: defaultdict[str, int] = defaultdict(count().__next__)
        found = np.fromiter(map(ids.__getitem__, chain.from_iterable(docs)), dtype=np.int64)
        terms = list(ids)  # in the order of their ids
        order = sorted(range(len(terms)), key=terms.__getitem__)
        rank = np.empty(len(terms), dtype=np.int64)
        rank[order] = np.arange(len(terms))
        indptr = np.zeros(len(docs) + 1, dtype=np.int64)
        np.cumsum([len(d) for d in docs], out=indptr[1:])
        self.terms = [terms[i] for i in order]
        self.matrix = csr_matrix(
            (np.ones(len(found), dtype=np.float64), rank[found], indptr), shape=(len(docs), len(terms))
        )
        self.matrix.sum_duplicates()  # counts, columns sorted within each row

    def block(
        self, rows: Any, *, min_df: int, max_features: int | None, sublinear_tf: bool, norm: str | None
    ) -> tuple[TermBlock, Any]:
        """The block ``TfidfVectorizer(min_df=…, max_features=…, …)`` fits on the posts ``rows``, and
        its matrix for them."""
        import numpy as np
        from sklearn.feature_extraction.text import TfidfTransformer

        counts = self.matrix[rows]
        keep = np.bincount(counts.indices, minlength=counts.shape[1]) >= min_df
        if max_features is not None and keep.sum() > max_features:
            # scikit-learn's choice (CountVectorizer._limit_features): the most frequent, ties left
            # as its argsort leaves them on the same array.
            totals = np.asarray(counts.sum(axis=0)).ravel()
            chosen = np.flatnonzero(keep)[(-totals[keep]).argsort()[:max_features]]
            keep = np.zeros_like(keep)
            keep[chosen] = True
        columns = np.flatnonzero(keep)
        if not len(columns):
            raise NotEnoughLabels("no n-gram occurs in two labelled posts: label more posts")
        counts = counts[:, columns]
        transformer = TfidfTransformer(norm=norm, sublinear_tf=sublinear_tf).fit(counts)
        return TermBlock([self.terms[i] for i in columns], columns, transformer), transformer.transform(counts)

    def weigh(self, rows: Any, block: TermBlock) -> Any:
        """The posts ``rows`` (of this run) as ``block`` weighs them: its ``transform``, from the counts."""
        return block.transformer.transform(self.matrix[rows][:, block.columns])


@dataclass
class _Features:
    """Each post's n-grams and rule features, computed once per training run (cross-validation fits
    five models on slices of the same posts); ``rows``: the posts a slice stands for."""

    words: _Terms
    chars: _Terms
    dense: Any
    char_scale: Any
    rows: Any

    @classmethod
    def of(cls, analyses: Sequence[Analysis]) -> _Features:
        import numpy as np

        texts = [model_text(a) for a in analyses]
        cut: dict[str, list[str]] = {}

        def chars(text: str) -> list[str]:
            out: list[str] = []
            for word in text.split():
                grams = cut.get(word)
                if grams is None:
                    grams = cut[word] = char_features_of_word(word)
                out.extend(grams)
            return out

        char_docs = [chars(t) for t in texts]
        return cls(
            _Terms([word_features(t) for t in texts]),
            _Terms(char_docs),
            np.array([dense_features(a) for a in analyses], dtype=np.float64).reshape(len(analyses), len(DENSE)),
            _char_scale([len(c) for c in char_docs]),
            np.arange(len(analyses)),
        )

    def take(self, indices: Sequence[int]) -> _Features:
        import numpy as np

        return replace(self, rows=self.rows[np.asarray(indices, dtype=np.int64)])


def _fit_matrix(features: _Features) -> tuple[Any, TermBlock, TermBlock, Any]:
    from scipy.sparse import csr_matrix, diags, hstack
    from sklearn.preprocessing import StandardScaler

    rows = features.rows
    word, xw = features.words.block(rows, min_df=2, max_features=None, sublinear_tf=True, norm="l2")
    char, xc = features.chars.block(rows, min_df=2, max_features=MAX_CHAR_FEATURES, sublinear_tf=False, norm=None)
    scaler = StandardScaler()
    xd = scaler.fit_transform(features.dense[rows])
    return hstack([xw, diags(features.char_scale[rows]) @ xc, csr_matrix(xd)], format="csr"), word, char, scaler


def _held_out_matrix(features: _Features, fitted: Fitted) -> Any:
    from scipy.sparse import csr_matrix, diags, hstack

    rows = features.rows
    xw = features.words.weigh(rows, fitted.word)
    xc = diags(features.char_scale[rows]) @ features.chars.weigh(rows, fitted.char)
    return hstack([xw, xc, csr_matrix(fitted.scaler.transform(features.dense[rows]))], format="csr")


def fit(analyses: Sequence[Analysis], truth: Sequence[bool], features: _Features | None = None) -> Fitted:
    """``features``: the posts' features when the caller has them (cross-validation's slices)."""
    from sklearn.linear_model import LogisticRegression

    x, word, char, scaler = _fit_matrix(features or _Features.of(analyses))
    # The dual solver: the same regularised problem (liblinear's, the intercept penalised alike), for
    # many more features than posts the faster of its two solvers — 0.7 s instead of 1.5–2.7 s on 5,000
    # posts — and at its default tolerance nearer the optimum than the primal one at its own.
    classifier = LogisticRegression(
        C=C, class_weight="balanced", solver="liblinear", dual=True, max_iter=1000, random_state=0
    )
    classifier.fit(x, [int(t) for t in truth])
    coef = classifier.coef_[0]
    nw, nc = len(word.terms), len(char.terms)

    def block(fitted: TermBlock, offset: int, size: int, scale: float = 1.0) -> dict[str, list[Any]]:
        return {
            "terms": list(fitted.terms),
            "idf": [float(v) for v in fitted.idf_],
            "coef": [float(v) * scale for v in coef[offset : offset + size]],
        }

    params = {
        "format": FORMAT,
        "word": block(word, 0, nw),
        "char": block(char, nw, nc, CHAR_WEIGHT),  # scored at run time as 1/√n: the weight goes here
        "dense": {
            "names": list(DENSE),
            "mean": [float(v) for v in scaler.mean_],
            "scale": [float(v) for v in scaler.scale_],
            "coef": [float(v) for v in coef[nw + nc :]],
        },
        "intercept": float(classifier.intercept_[0]),
        "features": {
            "word_ngrams": list(WORD_NGRAMS),
            "char_ngrams": list(CHAR_NGRAMS),
            "C": C,
            "char_weight": CHAR_WEIGHT,
        },
    }
    return Fitted(params, len(truth), word, char, scaler, classifier)


def metrics(truth: Sequence[bool], predicted: Sequence[bool]) -> Metrics:
    tp = sum(t and p for t, p in zip(truth, predicted, strict=True))
    fp = sum(p and not t for t, p in zip(truth, predicted, strict=True))
    fn = sum(t and not p for t, p in zip(truth, predicted, strict=True))
    tn = len(truth) - tp - fp - fn

    def f1(a: int, b: int, c: int) -> float:
        return 2 * a / (2 * a + b + c) if a else 0.0

    return Metrics(
        count=len(truth),
        accuracy=(tp + tn) / len(truth) if truth else 0.0,
        macro_f1=(f1(tp, fp, fn) + f1(tn, fn, fp)) / 2,
        precision=tp / (tp + fp) if tp + fp else 0.0,
        recall=tp / (tp + fn) if tp + fn else 0.0,
    )


def choose_threshold(truth: Sequence[bool], probability: Sequence[float], target_recall: float) -> float:
    """The threshold with the best macro-F1 among those that keep complaint recall at the target; if
    none does, the one with the best recall-weighted F1 (F2) — with few labels, recall first.

    One sweep down the sorted probabilities: each distinct value is a candidate ("complaint when
    p ≥ value"), its counts running totals of the ones above it.
    """
    positives = sum(truth)
    total = len(truth)
    order = sorted(zip(probability, truth, strict=True), key=lambda pt: -pt[0])
    best: tuple[float, float] | None = None
    fallback: tuple[float, float] = (-1.0, 0.5)
    tp = fp = 0

    def f1(a: int, b: int, c: int) -> float:
        return 2 * a / (2 * a + b + c) if a else 0.0

    for i, (p, t) in enumerate(order):
        tp += t
        fp += not t
        if i + 1 < total and order[i + 1][0] == p:
            continue  # ties: a threshold takes all equal probabilities at once
        fn, tn = positives - tp, total - positives - fp
        recall = tp / positives if positives else 0.0
        precision = tp / (tp + fp) if tp + fp else 0.0
        macro = (f1(tp, fp, fn) + f1(tn, fn, fp)) / 2
        if recall >= target_recall and (best is None or macro > best[0]):
            best = (macro, p)
        f2 = 5 * precision * recall / (4 * precision + recall) if precision + recall else 0.0
        if f2 > fallback[0]:
            fallback = (f2, p)
    return float((best or fallback)[1])


def cross_validated(
    triage: Triage,
    analyses: Sequence[Analysis],
    truth: Sequence[bool],
    weight: float,
    folds: int = FOLDS,
    features: _Features | None = None,
) -> list[float]:
    """Each label's blended probability from a model that did not see it."""
    from sklearn.model_selection import StratifiedKFold

    k = max(2, min(folds, sum(truth), len(truth) - sum(truth)))
    out = [0.0] * len(truth)
    features = features or _Features.of(analyses)
    for train_idx, test_idx in StratifiedKFold(n_splits=k, shuffle=True, random_state=0).split(analyses, truth):
        fitted = fit([analyses[i] for i in train_idx], [truth[i] for i in train_idx], features.take(train_idx))
        # The held-out fold scored by scikit-learn on its matrix, cut from counts already made: the
        # probabilities the exported model gives (to 1e-12), without building its dictionaries.
        held_out = fitted.classifier.predict_proba(_held_out_matrix(features.take(test_idx), fitted))[:, 1]
        for i, p in zip(test_idx, held_out, strict=True):
            prior = triage.cue_probability(analyses[i].score)
            out[i] = weight * float(p) + (1 - weight) * prior
    return out


def train_on(
    rows: Sequence[LabelRow], triage: Triage | None = None, target_recall: float | None = None
) -> tuple[Fitted, float, Metrics, Metrics]:
    """Fit on ``rows``; returns the model, its threshold, and the cross-validated figures of the
    blend and of the rules alone on the same labels."""
    n, positives = len(rows), sum(r.is_complaint for r in rows)
    if n < MIN_LABELS or min(positives, n - positives) < MIN_PER_CLASS:
        raise NotEnoughLabels(
            f"need at least {MIN_LABELS} labels, {MIN_PER_CLASS} of them complaints and {MIN_PER_CLASS} not: "
            f"have {n} ({positives} complaints, {n - positives} not)"
        )
    triage = (triage or Triage()).with_model(None)
    analyses = [triage.analyse(r.text) for r in rows]
    truth = [r.is_complaint for r in rows]
    weight = blend_weight(n)
    features = _Features.of(analyses)
    probability = cross_validated(triage, analyses, truth, weight, features=features)
    threshold = choose_threshold(truth, probability, TARGET_RECALL if target_recall is None else target_recall)
    cv = metrics(truth, [p >= threshold for p in probability])
    rules = metrics(truth, [a.score >= triage.thresholds.complaint for a in analyses])
    return fit(analyses, truth, features), threshold, cv, rules


def train(
    session: Session, at: datetime, triage: Triage | None = None, target_recall: float | None = None
) -> ModelReport:
    """Fit a model on every stored label and store it as the next version (in the caller's
    transaction: the CLI's; the worker uses ``train_outside``)."""
    started = time.perf_counter()
    rows = labels(session)
    target = TARGET_RECALL if target_recall is None else target_recall
    fitted, threshold, cv, rules = train_on(rows, triage, target)
    return _store(session, at, rows, fitted, threshold, cv, rules, started, label_rows(session), target)


def evaluate(triage: Triage, rows: Iterable[LabelRow | tuple[str, bool]]) -> Metrics:
    """How ``triage`` (with its model, if any) does on labelled posts: complaint or not."""
    truth: list[bool] = []
    predicted: list[bool] = []
    for row in rows:
        text, complaint = (row.text, row.is_complaint) if isinstance(row, LabelRow) else row
        truth.append(bool(complaint))
        predicted.append(triage.classify(text).kind is Kind.COMPLAINT)
    if not truth:
        raise ValueError("nothing to evaluate: no labelled rows")
    return metrics(truth, predicted)


# --- what people decide on cards ------------------------------------------------------------------


# --- the model in use, and retraining -------------------------------------------------------------


class ModelReloader:
    """The triage ingest should use: the rules with the newest stored model.

    Looking is one indexed ``max(version)`` query, at most every ``interval`` seconds of the injected
    clock; the model is loaded (JSON parsed, a few dictionaries built) only when a newer version
    appears. So ingest picks up a retrained model within ``interval`` without a restart, and a batch
    pays nothing for it in between.
    """

    def __init__(self, base: Triage, interval: float = 30.0) -> None:
        self.base = base
        self.interval = interval
        self.version = 0
        self.triage = base
        self._checked: datetime | None = None

    def current(self, session: Session, now: datetime) -> Triage:
        if self._checked is not None and (now - self._checked).total_seconds() < self.interval:
            return self.triage
        self._checked = now
        newest = session.scalar(select(func.max(TriageModel.version))) or 0
        if newest != self.version:
            model = current_model(session)
            self.triage = self.base.with_model(model)
            self.version = model.version if model is not None else 0
        return self.triage


RETRAIN_EVERY = 100
"""New labels after which the worker retrains without waiting for the night."""


def label_rows(session: Session) -> int:
    """Every label row ever stored (each click counts, so "100 new labels" means 100 decisions)."""
    return int(session.scalar(select(func.count()).select_from(TriageLabel)) or 0)


def rows_at_last_training(session: Session) -> int:
    row = session.scalars(select(TriageModel).order_by(TriageModel.version.desc()).limit(1)).first()
    return int((row.metrics or {}).get("label_rows", 0)) if row is not None else 0


def train_outside(
    sessions: Any, at: datetime, triage: Triage | None = None, target_recall: float | None = None
) -> ModelReport:
    """``train`` for the worker: labels read in one short transaction, the fitting (seconds) done with
    no transaction open — on SQLite a transaction holds the write lock, and clicks must not wait on
    training — and the model stored in another short one."""
    started = time.perf_counter()
    with sessions() as session:
        rows = labels(session)
        total = label_rows(session)
    target = TARGET_RECALL if target_recall is None else target_recall
    fitted, threshold, cv, rules = train_on(rows, triage, target)
    with sessions() as session, session.begin():
        return _store(session, at, rows, fitted, threshold, cv, rules, started, total, target)


def _store(
    session: Session,
    at: datetime,
    rows: Sequence[LabelRow],
    fitted: Fitted,
    threshold: float,
    cv: Metrics,
    rules: Metrics,
    started: float,
    total_rows: int,
    target_recall: float = TARGET_RECALL,
) -> ModelReport:
    version = (session.scalar(select(func.max(TriageModel.version))) or 0) + 1
    seconds = time.perf_counter() - started
    session.add(
        TriageModel(
            version=version,
            created_at=at,
            label_count=len(rows),
            params=json.loads(json.dumps(fitted.params)),  # plain JSON, whatever numpy handed back
            metrics={
                "cross_validated": asdict(cv),
                "rules_only": asdict(rules),
                "target_recall": target_recall,
                "blend_weight": blend_weight(len(rows)),
                "folds": FOLDS,
                "label_rows": total_rows,
                "seconds": round(seconds, 2),
            },
            threshold=threshold,
        )
    )
    session.flush()
    return ModelReport(version, len(rows), threshold, target_recall, blend_weight(len(rows)), cv, rules, seconds)


@dataclass(frozen=True)
class Quality:
    """What ``/complaints triage`` shows: the model in use against the one before it."""

    labels_now: int
    by_kind: dict[str, int]
    version: int | None = None
    trained_at: datetime | None = None
    label_count: int = 0
    macro_f1: float | None = None
    recall: float | None = None
    precision: float | None = None
    rules_macro_f1: float | None = None
    threshold: float | None = None
    target_recall: float | None = None
    previous: dict[str, Any] | None = None
    """The previous model's version, label count, macro-F1, recall, threshold (None if none)."""


def quality(session: Session) -> Quality:
    by_kind = {k: int(n) for k, n in session.execute(select(TriageLabel.kind, func.count()).group_by(TriageLabel.kind))}
    models = list(session.scalars(select(TriageModel).order_by(TriageModel.version.desc()).limit(2)))
    if not models:
        return Quality(sum(by_kind.values()), by_kind)

    def figures(m: TriageModel) -> dict[str, Any]:
        cv = (m.metrics or {}).get("cross_validated") or {}
        return {
            "version": m.version,
            "label_count": m.label_count,
            "macro_f1": cv.get("macro_f1"),
            "recall": cv.get("recall"),
            "precision": cv.get("precision"),
            "threshold": m.threshold,
            "trained_at": m.created_at,
        }

    now = figures(models[0])
    rules = ((models[0].metrics or {}).get("rules_only") or {}).get("macro_f1")
    return Quality(
        labels_now=sum(by_kind.values()),
        by_kind=by_kind,
        version=now["version"],
        trained_at=now["trained_at"],
        label_count=now["label_count"],
        macro_f1=now["macro_f1"],
        recall=now["recall"],
        precision=now["precision"],
        rules_macro_f1=rules,
        threshold=now["threshold"],
        target_recall=(models[0].metrics or {}).get("target_recall"),
        previous=figures(models[1]) if len(models) > 1 else None,
    )
