"""Errors the domain raises on purpose. Each carries a message fit to show a support agent."""

from __future__ import annotations


class DomainError(Exception):
    """An expected refusal: shown to the user as a friendly message, never logged as a crash.

    ``field`` names the input it is about ("reason", "when" …), so a form shows the message under
    that input: listeners map the name to their form, instead of reading the message for clues."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class NotFound(DomainError):
    """The complaint or promise named does not exist (a mistyped #N, a stale button)."""


class Conflict(DomainError):
    """The thing changed under us (e.g. someone else claimed first)."""

    def __init__(self, message: str, *, current_status: str | None = None, owner_id: str | None = None) -> None:
        super().__init__(message)
        self.current_status = current_status
        self.owner_id = owner_id
