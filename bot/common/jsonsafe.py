"""JSON from outside, read so that one hostile document fails alone, with a reason, on every engine.

Why: Python's parser recurses, so ``[[[[…]]]]`` a thousand deep is a RecursionError (a 500 and a
traceback) — and a little less deep parses, then fails later when it is written back (the whole
group commit with it). PostgreSQL refuses NUL in text and NaN in JSON where SQLite takes both, so a
record that is "accepted" on one engine was skipped on the other. These rules are checked at the
edge — the webhook, ``/slack/events``, every source's records — the same everywhere.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

MAX_DEPTH = 64
"""Deeper than any request Slack or a sender has a reason to make (Block Kit state is about 10)."""
RECORD_DEPTH = 32
"""A post record is a few levels deep (a record, its author, a list of links)."""

_TOKENS = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]')


def depth(text: str) -> int:
    """How deep brackets nest in JSON text (strings skipped), without parsing it."""
    deepest = level = 0
    for m in _TOKENS.finditer(text):
        found = m.group(0)
        if found in "[{":
            level += 1
            deepest = max(deepest, level)
        elif found in "]}":
            level -= 1
    return deepest


def loads(text: str, *, max_depth: int = MAX_DEPTH) -> Any:
    """``json.loads`` that raises ValueError (never RecursionError) for text nested too deep."""
    if depth(text) > max_depth:
        raise ValueError(f"nested more than {max_depth} levels deep")
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError(f"nested more than {max_depth} levels deep") from None


def problem(record: Any, *, max_depth: int = RECORD_DEPTH, nul_ok: frozenset[str] = frozenset({"text"})) -> str | None:
    """Why a parsed record cannot be stored as it is on every engine, or None: nested too deep, a
    number that is not finite (NaN, Infinity), a NUL character in a key or a value, a lone surrogate.
    ``nul_ok``: top
    level keys whose value is cleaned later (a post's text loses its control characters)."""
    stack: list[tuple[Any, int, str | None]] = [(record, 1, None)]
    while stack:
        value, level, top = stack.pop()
        if isinstance(value, dict):
            if level > max_depth:
                return f"nested more than {max_depth} levels deep"
            for key, item in value.items():
                if isinstance(key, str) and "\x00" in key:
                    return "a field name contains a NUL character"
                stack.append((item, level + 1, key if level == 1 else top))
        elif isinstance(value, list):
            if level > max_depth:
                return f"nested more than {max_depth} levels deep"
            stack.extend((item, level + 1, top) for item in value)
        elif isinstance(value, float) and not math.isfinite(value):
            return f"{top or 'a field'} is {value} (JSON has no NaN or Infinity)"
        elif isinstance(value, str) and "\x00" in value and top not in nul_ok:
            return f"{top or 'a field'} contains a NUL character"
        elif isinstance(value, str) and not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:  # a lone surrogate ("\ud800"): PostgreSQL's JSON refuses it
                return f"{top or 'a field'} is not valid Unicode (lone surrogate)"
    return None
