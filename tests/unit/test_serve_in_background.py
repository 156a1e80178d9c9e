"""A waitress server closed from another thread ends its loop with EBADF (or a negative descriptor)
from select(): that is shutting down, and must not print a traceback (``followthrough demo`` did,
one run in a few, failing CI). Any other error still surfaces."""

from __future__ import annotations

import errno
import threading
from typing import Any

import pytest

from bot.web import serve_in_background


class Closing:
    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def run(self) -> None:
        raise self.exc


@pytest.mark.parametrize(
    "exc",
    [OSError(errno.EBADF, "Bad file descriptor"), ValueError("file descriptor cannot be a negative integer (-1)")],
)
def test_the_loop_ending_at_close_is_quiet(exc: BaseException, monkeypatch: pytest.MonkeyPatch):
    seen: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", seen.append)
    serve_in_background(Closing(exc)).join(5)
    assert seen == []


def test_any_other_error_still_surfaces(monkeypatch: pytest.MonkeyPatch):
    seen: list[Any] = []
    monkeypatch.setattr(threading, "excepthook", seen.append)
    serve_in_background(Closing(OSError(errno.EADDRINUSE, "in use"))).join(5)
    assert [type(s.exc_value) for s in seen] == [OSError]
