"""Commitments in what the team said in public — a SMALL stand-in with the agreed interface.

h12a builds the real detector (bot/domain/commitments.py with this exact interface); at merge the
lead replaces this file with theirs. This version only finds "we'll/I'll … by|before|at <when>"
sentences and reads <when> with the existing ``DueParser``, enough for the reply path's tests
("We'll call you back by 5pm tomorrow").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time

from bot.domain.due import BadDueTime, DueParser

_PROMISE = re.compile(
    r"\b(?:we|i)(?:'ll|’ll| will)\s+(?P<what>[^.!?]*?)\s+(?:by|before|at)\s+(?P<when>[^.!?,;]+)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Commitment:
    text: str
    due: datetime | None
    """UTC; None when the words gave no time (``ask`` then says what to ask)."""
    ask: str | None
    span: tuple[int, int]
    readings: tuple[datetime, ...] = ()


def find_commitments(
    text: str,
    *,
    now: datetime,
    tz: str,
    locale: str = "en-GB",
    workday_end: time | None = None,
    holidays: frozenset[date] = frozenset(),
) -> list[Commitment]:
    parser = DueParser(workday_end=workday_end or time(17, 0))
    found = []
    for match in _PROMISE.finditer(text):
        what = " ".join(match.group("what").split())
        when = match.group("when").strip()
        try:
            due: datetime | None = parser.parse(when, now=now, tz=tz)
            ask = None
        except BadDueTime:
            due, ask = None, f"When is “{what}” due? I could not read “{when}”."
        found.append(Commitment(what, due, ask, match.span()))
    return found
