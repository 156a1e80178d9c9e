"""The JSON columns' serializer on SQLite writes exactly what ``json.dumps`` writes.

Stored JSON is compared, grepped and exported as text, so "faster" may not mean "different": every
shape ingest and the rest of the bot store, and every way ``json.dumps`` refuses a value, must come
out the same, from any thread, and a refusal must not leave anything behind for the next call.
"""

from __future__ import annotations

import json
import math
import threading
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.store.types import json_dumps

VALUES: list[Any] = [
    {},
    [],
    "",
    "plain",
    'café ☕ 🙃 \u200b \ud800 \x00 "quoted" \\ back',
    0,
    -12,
    10**30,
    1.5,
    -0.0,
    1e300,
    math.inf,
    -math.inf,
    True,
    False,
    None,
    ["refund", "waiting"],
    {"kind": "complaint", "score": 3.856, "signals": ["negative tone", "money"]},
    {"source": "x", "post_id": "108"},
    {1: "int key", 2.5: "float key", False: "bool key", None: "none key"},
    ("a", "tuple"),
    {"nested": [{"deep": [1, [2, [3, {"x": None}]]]}]},
    {"id": "1", "text": "@AcmeHelp still waiting", "followers": 77, "retweet_of": None},
]


@pytest.mark.parametrize("value", VALUES, ids=range(len(VALUES)))
def test_same_text_as_json_dumps(value: Any) -> None:
    assert json_dumps(value) == json.dumps(value)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(), children, max_size=5),
    max_leaves=20,
)


@given(json_values)
def test_same_text_as_json_dumps_for_any_json_value(value: Any) -> None:
    assert json_dumps(value) == json.dumps(value)


def test_refusals_are_the_same_and_leave_nothing_behind() -> None:
    for bad in ({"when": object()}, [1, {2, 3}], {("tuple", "key"): 1}):
        with pytest.raises(TypeError) as ours:
            json_dumps(bad)
        with pytest.raises(TypeError) as theirs:
            json.dumps(bad)
        assert str(ours.value) == str(theirs.value)
    loop: list[Any] = ["a"]
    loop.append(loop)
    with pytest.raises(ValueError, match="Circular reference detected"):
        json_dumps(loop)
    shared = ["s"]
    assert json_dumps({"a": shared, "b": shared}) == '{"a": ["s"], "b": ["s"]}'  # seen twice is no cycle
    # A failure half-way leaves the containers it was inside marked as "being encoded" unless the
    # marks are cleared; the same (now fixed) value must then encode, not be called a cycle.
    outer = {"a": shared, "b": [shared, object()]}
    with pytest.raises(TypeError):
        json_dumps(outer)
    outer["b"].pop()
    assert json_dumps(outer) == '{"a": ["s"], "b": [["s"]]}'


def test_threads_encoding_the_same_value_at_once_do_not_see_cycles() -> None:
    value = {"signals": ["a", "b"], "nested": [{"x": list(range(50))}] * 20}
    expected = json.dumps(value)
    results: list[str] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(300):
                results.append(json_dumps(value))
        except BaseException as exc:  # collected, asserted below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert results == [expected] * 1200
