"""Handles compared the way people read them: Unicode case folding, invisible characters ignored.

``/complaints find @Émilie`` must find ``@ÉMILIE`` and ``@e\\u200bmilie`` (a zero-width space pasted
along with a handle) on SQLite and PostgreSQL alike. SQLite's ``lower()`` folds ASCII only, so the
same Python function is registered there as ``ft_fold``; PostgreSQL folds in SQL with
``lower(upper(…))``, with ß and final sigma folded by hand so the result matches Python's
``casefold`` for the letters handles use, after removing the same invisible characters.
PostgreSQL's case mapping follows the database's ``LC_CTYPE``: a database created with the plain
``C`` locale folds ASCII only.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.store.dialect import is_postgres

INVISIBLE = "\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff"
"""Soft hyphen, zero-width spaces and joiners, direction marks and overrides, word joiner, BOM."""
_INVISIBLE = re.compile(f"[{INVISIBLE}]")


def fold(text: str | None) -> str:
    """The comparison key of a handle: invisible characters removed, Unicode case-folded."""
    return _INVISIBLE.sub("", text or "").upper().lower().casefold()


def folded(column: Any, bind: Session | Connection) -> ColumnElement[str]:
    """``fold`` in SQL, in ``bind``'s dialect (``ft_fold`` on SQLite is registered by ``make_engine``)."""
    if not is_postgres(bind):
        return func.ft_fold(column)
    visible = func.regexp_replace(column, f"[{INVISIBLE}]", "", "g")
    # libc's per-letter mapping has no one-letter capital for ß nor folds final sigma: done by hand.
    return func.replace(func.translate(func.lower(func.upper(visible)), "ς", "σ"), "ß", "ss")


def register_sqlite(dbapi_conn: Any) -> None:
    dbapi_conn.create_function("ft_fold", 1, fold, deterministic=True)
