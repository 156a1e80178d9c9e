"""Secrets as values that never print themselves."""

from __future__ import annotations


class Secret:
    """A string that never shows itself in repr, str or logs.

    Tokens end up in tracebacks and debug logs through reprs of settings objects; wrapping them makes
    the safe thing the default. Call ``reveal()`` at the one place the real value is needed.
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')" if self._value else "Secret('')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)
