"""Reading settings from the environment, for ``bot.config`` and every network's own section.

Why in ``common``: each network package reads its own settings (``bot/networks/<name>/settings.py``)
and ``bot.config`` reads the rest, all into one list of problems so an operator fixing a deploy sees
every mistake at once; both need the same reader and the same rule for never quoting a secret.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

Fields = dict[str, Any]
"""Keyword arguments for a settings dataclass, gathered section by section."""


_SECRET_NAME = re.compile(r"TOKEN|SECRET|PASSWORD|KEY", re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z0-9_-]+")


def _entropy(text: str) -> float:
    counts = Counter(text)
    return -sum(n / len(text) * math.log2(n / len(text)) for n in counts.values())


def _looks_like_token(word: str) -> bool:
    """Slack's prefixes, or a long random string: those mix letters and digits, words joined by _ do not."""
    if word.lower().startswith(("xox", "xapp-")):
        return True
    mixed = any(c.isdigit() for c in word) and any(c.isalpha() for c in word)
    return len(word) >= 20 and mixed and _entropy(word) >= 3.0


def may_be_secret(name: str, value: str) -> bool:
    """Whether a value must not be echoed: a secret pasted into the wrong setting is still a secret.

    Checked word by word, because list-like settings (tiers, ladder) quote fragments of the value.
    """
    return bool(_SECRET_NAME.search(name)) or any(_looks_like_token(w) for w in _WORD.findall(value))


def masked(value: str) -> str:
    return value[:4] + "…"


def shown_value(name: str, value: str) -> str:
    """How a problem message quotes a setting's value: enough to recognise it, never a whole secret."""
    return repr(masked(value) if may_be_secret(name, value) else value)


class Reader:
    """Collects problems instead of raising on the first one."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []

    def raw(self, name: str) -> str | None:
        value = self.env.get(name)
        if value is None:
            return None
        value = value.strip()
        return value or None

    def require(self, name: str, why: str) -> str | None:
        value = self.raw(name)
        if value is None:
            self.problems.append(f"{name} is not set ({why})")
        return value

    def integer(self, name: str, default: int, minimum: int, maximum: int) -> int:
        return int(self._bounded(name, default, minimum, maximum, int, "a whole number"))

    def number(self, name: str, default: float, minimum: float, maximum: float) -> float:
        return self._bounded(name, default, minimum, maximum, float, "a number")

    def _bounded(
        self, name: str, default: float, minimum: float, maximum: float, parse: Callable[[str], float], noun: str
    ) -> float:
        """A number within bounds; unset, unreadable or out of range: the default (and a problem)."""
        value = self.raw(name)
        if value is None:
            return default
        try:
            number = parse(value)
        except ValueError:
            self.problems.append(f"{name}={shown_value(name, value)} is not {noun}")
            return default
        if not minimum <= number <= maximum:
            self.problems.append(
                f"{name}={self._range_quote(name, value, number)} must be between {minimum} and {maximum}"
            )
            return default
        return number

    @staticmethod
    def _range_quote(name: str, value: str, number: float) -> str:
        # The parsed number reads better ("1000.0"), unless the text it came from looks like a secret.
        return shown_value(name, value) if may_be_secret(name, value) else str(number)

    def url(self, name: str) -> str | None:
        value = self.raw(name)
        if value is None:
            return None
        if not re.match(r"^https?://[^/\s]+", value):
            self.problems.append(f"{name}={shown_value(name, value)} is not an http(s) URL")
            return None
        return value

    def pattern(self, name: str, value: str | None, regex: re.Pattern[str], hint: str) -> str | None:
        if value is not None and not regex.match(value):
            self.problems.append(f"{name}={shown_value(name, value)} {hint}")
            return None
        return value

    def refused(self, name: str, value: str, exc: ValueError, expected: str, example: str = "") -> None:
        """Report a value a parser refused, without letting the parser's quote of it show a secret.

        The parsers' reasons quote fragments of the value (altered, e.g. lower-cased), so a value
        that may be secret gets a plain line about the whole value instead.
        """
        if may_be_secret(name, value):
            self.problems.append(f"{name}={shown_value(name, value)} is not {expected}{example}")
        else:
            self.problems.append(f"{name}: {exc}{example}")
