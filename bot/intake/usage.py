"""A network's paid API use, counted as it happens: how many reads and posts this month, and what they
cost at the prices of the day. Networks count (they know their prices); ``check`` and the weekly
report read the totals without knowing any price.

Counted in its own short transaction, right after the call: X bills a read whether or not we then
store the posts, so the count must not be rolled back with a failed write.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.store import dialect
from bot.store.models import ApiUsage

_T = ApiUsage.__table__


def month_of(at: datetime) -> str:
    return at.strftime("%Y-%m")


def add(sessions: sessionmaker[Session], network: str, counts: dict[str, tuple[int, float]], *, at: datetime) -> None:
    """Add ``counts`` (item → (how many, US dollars each)) to this month's totals, in a transaction of
    their own; zeros are skipped."""
    if any(n > 0 for n, _ in counts.values()):
        with sessions() as session, session.begin():
            add_in(session, network, counts, at=at)


def add_in(session: Session, network: str, counts: dict[str, tuple[int, float]], *, at: datetime) -> None:
    """``add`` inside the caller's transaction (the X stream counts with the posts it stores, so a
    count never costs the stream a write of its own)."""
    for item, (n, price) in counts.items():
        if n <= 0:
            continue
        row = {
            "network": network,
            "month": month_of(at),
            "item": item,
            "count": n,
            "cost_micros": round(n * price * 1_000_000),
            "updated_at": at,
        }
        statement = dialect.insert(session, _T).values(**row)
        session.execute(
            statement.on_conflict_do_update(
                index_elements=["network", "month", "item"],
                set_={
                    "count": _T.c.count + statement.excluded.count,
                    "cost_micros": _T.c.cost_micros + statement.excluded.cost_micros,
                    "updated_at": statement.excluded.updated_at,
                },
            )
        )


@dataclass(frozen=True)
class Usage:
    item: str
    count: int
    cost: float
    """US dollars."""


def this_month(session: Session, network: str, at: datetime) -> list[Usage]:
    rows = session.execute(
        select(_T.c.item, _T.c.count, _T.c.cost_micros)
        .where(_T.c.network == network, _T.c.month == month_of(at))
        .order_by(_T.c.item)
    )
    return [Usage(item, int(count), cost / 1_000_000) for item, count, cost in rows]


def networks_billed(session: Session, at: datetime) -> list[str]:
    return list(
        session.scalars(select(_T.c.network).where(_T.c.month == month_of(at)).distinct().order_by(_T.c.network))
    )
