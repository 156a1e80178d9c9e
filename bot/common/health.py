"""One line of health: what ``check`` prints for each dependency, and the reason an error gives."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    warn: bool = False
    """Works, but not as a team would expect (a broken promise reaching nobody): said, exit still 0."""

    def line(self) -> str:
        mark = "FAILED" if not self.ok else "WARN  " if self.warn else "ok    "
        return f"{mark} {self.name}: {self.detail}"


def short_reason(exc: BaseException) -> str:
    """The first line of what went wrong (a driver error's own message, not SQLAlchemy's wrapper)."""
    text = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return (text[0] if text else type(exc).__name__)[:300]
