"""The sentence model behind incident suggestions, run for real (the shipped tokenizer and the int8
model from its package): what it places near what, and the margin rule as properties."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.common.clock import FakeClock
from bot.incidents import semantic
from bot.incidents.suggest import Suggester
from bot.store import migrate
from bot.store.engine import make_engine, make_sessionmaker
from bot.store.models import Incident

EMBEDDER = semantic.Embedder()
OUTAGE = [
    "@AcmeHelp can't log in to the app, keeps saying error",
    "@AcmeHelp login page just spins forever",
    "@AcmeHelp why won't it let me into my account this morning",
    "@AcmeHelp the 2FA code never arrives so I'm locked out",
]
ORDINARY = [
    "@AcmeHelp my parcel is three days late",
    "@AcmeHelp refund for the kettle still not on my card",
    "@AcmeHelp the staff in the York store were rude",
    "@AcmeHelp the lamp I bought arrived broken",
    "@AcmeHelp stop sending me marketing emails",
    "@AcmeHelp still waiting on my refund, it's been two weeks",
    "@AcmeHelp where is my refund for the jacket I sent back?",
    "@AcmeHelp my account says delivered but nothing came",
    "@AcmeHelp charged for delivery twice on one order",
    "@AcmeHelp the app crashes when I open the store finder",
]


def test_vectors_are_unit_length_and_the_same_whatever_else_is_in_the_batch():
    alone = EMBEDDER.embed([OUTAGE[0]])[0]
    among = EMBEDDER.embed([*ORDINARY, OUTAGE[0], "a much longer post " * 20])[len(ORDINARY)]
    assert np.isclose(np.linalg.norm(alone), 1.0, atol=1e-5)
    assert float(alone @ among) > 0.9999, "padding to the batch's longest changes nothing"
    assert EMBEDDER.embed([]).shape == (0, 384)


def test_a_symptom_told_in_other_words_is_nearer_the_outage_than_ordinary_complaints():
    """What the grouping cannot read and the model can: no shared word, the same meaning."""
    symptom, refund = EMBEDDER.embed(
        [
            "@AcmeHelp the page says something unexpected happened whenever I open my details",
            "@AcmeHelp I logged in to check my refund and it still isn't there",
        ]
    )
    centroid = EMBEDDER.embed(OUTAGE).mean(axis=0)
    reference = EMBEDDER.embed(ORDINARY)
    near, far = semantic.margin(np.stack([symptom, refund]), centroid, reference, k=3)
    assert near > 0.0 > far


vectors = st.lists(
    st.lists(st.floats(-1, 1, allow_nan=False), min_size=8, max_size=8).filter(lambda v: any(abs(x) > 1e-3 for x in v)),
    min_size=1,
    max_size=6,
).map(lambda rows: np.array([np.array(r) / np.linalg.norm(r) for r in rows], dtype=np.float32))


@settings(max_examples=60, deadline=None)
@given(candidates=vectors, centroid=vectors, reference=vectors.filter(lambda r: len(r) >= 3))
def test_a_twin_in_the_ordinary_complaints_never_raises_a_posts_margin(candidates, centroid, reference):
    """Metamorphic: once there are k ordinary complaints, adding more can only raise the mean of the
    k best, so lower the margin (a post with an ordinary twin is an ordinary post); with none, the
    margin is the cosine with the centroid."""
    c = centroid.mean(axis=0)
    before = semantic.margin(candidates, c, reference, k=3)
    after = semantic.margin(candidates, c, np.vstack([reference, candidates]), k=3)
    assert np.all(after <= before + 1e-5)
    bare = semantic.margin(candidates, c, np.zeros((0, 8), dtype=np.float32))
    assert np.allclose(bare, candidates @ (c / np.linalg.norm(c)), atol=1e-5)


def test_a_model_that_will_not_load_turns_suggestions_off_with_one_line(tmp_path: Path, caplog):
    """A damaged model file: the loop says why once, then does nothing more; the desk runs on."""
    bad = tmp_path / "model.onnx"
    bad.write_bytes(b"not a model")
    engine = make_engine(f"sqlite:///{tmp_path / 'db.sqlite'}")
    migrate.upgrade(engine)
    sessions = make_sessionmaker(engine)
    at = datetime(2026, 3, 2, tzinfo=UTC)
    with sessions() as s, s.begin():
        s.add(
            Incident(
                anchor_id=1,
                title="login",
                first_post_at=at,
                latest_post_at=at,
                threshold_post_at=at,
                detected_at=at,
                updated_at=at,
            )
        )
    suggester = Suggester(sessions, FakeClock(at), embedder=semantic.Embedder(bad))
    with caplog.at_level(logging.WARNING, logger="bot.incidents.suggest"):
        assert suggester.tick() == 0
        assert suggester.tick() == 0
    engine.dispose()
    said = [r.getMessage() for r in caplog.records]
    assert len(said) == 1, said
    assert said[0].startswith("incident suggestions are off: the sentence model would not load from")
    assert "Traceback" not in said[0]
