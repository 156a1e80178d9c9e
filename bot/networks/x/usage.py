"""What X has cost this month, in words: the reads the sources counted as they read (``api_usage``),
and the replies the card sent (the reply deliveries), at the prices in ``prices.py``."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.intake import usage
from bot.networks.x.prices import PRICES, PRICES_AS_OF, WORDS
from bot.outbox.kinds import DeliveryKind
from bot.store.models import Delivery

NETWORK = "x"
_LINK = re.compile(r"https?://", re.IGNORECASE)


def month_start(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)


def this_month(session: Session, at: datetime) -> list[usage.Usage]:
    """Reads as counted, then the replies X accepted this month (a reply with a link costs more)."""
    lines = usage.this_month(session, NETWORK, at)
    texts = session.scalars(
        select(Delivery.payload).where(
            Delivery.kind == DeliveryKind.REPLY.value,
            Delivery.transport == NETWORK,
            Delivery.status == "sent",
            Delivery.sent_at >= month_start(at),
        )
    ).all()
    with_link = sum(1 for p in texts if _LINK.search(str((p or {}).get("text") or "")))
    plain = len(texts) - with_link
    for item, n in (("post_create", plain), ("post_create_link", with_link)):
        if n:
            lines.append(usage.Usage(item, n, n * PRICES[item]))
    return lines


def month_line(session: Session, at: datetime) -> str | None:
    lines = this_month(session, at)
    if not lines:
        return None
    micros = [round(u.cost * 1_000_000) for u in lines]  # whole millionths add up exactly
    parts = ", ".join(
        f"{WORDS.get(u.item, u.item)} {u.count:,} ({dollars(m)})" for u, m in zip(lines, micros, strict=True)
    )
    return f"X API this month: {parts} — {dollars(sum(micros))} at {PRICES_AS_OF} prices"


def dollars(micros: int) -> str:
    """Cents, rounded half up as a bill would ($0.015 is $0.02)."""
    cents = (Decimal(micros) / 1_000_000).quantize(Decimal("0.01"), ROUND_HALF_UP)
    return f"${cents:,}"


def usage_line(session: Any, at: datetime) -> str | None:
    """``Network.usage``: the weekly report's line."""
    return month_line(session, at)
