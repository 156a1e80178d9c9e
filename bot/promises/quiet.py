"""Quiet hours: when nobody is nagged, in the person's own time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DEFAULT_START_OF_DAY = time(8, 0)


@dataclass(frozen=True)
class QuietHours:
    """When nobody should be nagged: a daily window (may wrap midnight) and optionally weekends."""

    start: time | None
    end: time | None
    weekends: bool

    @property
    def enabled(self) -> bool:
        return self.start is not None or self.weekends


def _in_window(clock: time, quiet: QuietHours) -> bool:
    if quiet.start is None or quiet.end is None:
        return False
    if quiet.start > quiet.end:  # wraps midnight: 20:00-08:00
        return clock >= quiet.start or clock < quiet.end
    return quiet.start <= clock < quiet.end


def next_allowed(when: datetime, quiet: QuietHours, tz: str) -> datetime | None:
    """None if ``when`` is outside quiet hours in ``tz``; else the first allowed moment after it (UTC-aware).

    Deferred nags land at the end of the quiet window (the next working hour), on a weekday if
    weekends are quiet. Times are built as local wall-clock times, so a DST change in between is
    handled by the zone rules, not by adding hours.
    """
    if not quiet.enabled:
        return None
    zone = ZoneInfo(tz)
    local = when.astimezone(zone)
    start_of_day = quiet.end or DEFAULT_START_OF_DAY
    moved = False
    for _ in range(14):
        if quiet.weekends and local.weekday() >= 5:
            days = 7 - local.weekday()
            local = datetime.combine(local.date() + timedelta(days=days), start_of_day, tzinfo=zone)
            moved = True
            continue
        if _in_window(local.time(), quiet):
            assert quiet.start is not None
            assert quiet.end is not None
            day = local.date() if local.time() < quiet.end else local.date() + timedelta(days=1)
            local = datetime.combine(day, quiet.end, tzinfo=zone)
            moved = True
            continue
        break
    return local.astimezone(when.tzinfo) if moved else None
