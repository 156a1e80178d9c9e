"""Column types shared by the models."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime
from json.encoder import c_make_encoder, encode_basestring_ascii  # type: ignore[attr-defined]
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, whatever the engine.

    SQLite has no time zone type and hands back naive values; a naive datetime compared with an
    aware one raises at run time, and a naive one stored by mistake silently shifts by the server's
    offset. So: refuse naive values on the way in, store UTC (naive text on SQLite, timestamptz on
    PostgreSQL), and attach UTC on the way out.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected datetime, got {type(value).__name__}")
        if value.tzinfo is None:
            raise ValueError("naive datetime refused: pass a timezone-aware value")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class _Encoder(threading.local):
    """``json.dumps``'s C encoder with its default settings, built once per thread.

    ``json.dumps`` builds a new encoder for every call, which cost more than encoding the small
    values ingest stores (a post's signals, an event's details, an empty payload). The cycle check
    keeps its own table per thread, emptied again if an encoding fails half-way.
    """

    def __init__(self) -> None:
        self.markers: dict[int, Any] = {}
        self.encode = (
            c_make_encoder(
                self.markers, _DEFAULTS.default, encode_basestring_ascii, None, ": ", ", ", False, False, True
            )
            if c_make_encoder is not None
            else None
        )


_DEFAULTS = json.JSONEncoder()
_ENCODER = _Encoder()


def json_dumps(value: Any) -> str:
    """Exactly ``json.dumps(value)``, faster: the JSON columns' serializer on SQLite (``make_engine``)."""
    local = _ENCODER
    if local.encode is None or isinstance(value, str):
        return json.dumps(value)
    try:
        return "".join(local.encode(value, 0))
    except BaseException:
        local.markers.clear()
        raise
