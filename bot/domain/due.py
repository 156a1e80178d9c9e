"""Reading "when" the way a support desk means it, in the promise owner's time zone.

- a day without a time means the end of that working day (``WORKDAY_END``, default 17:00);
- "eod" / "end of day" / "today" is today at that hour; "tomorrow" is tomorrow at that hour;
- a weekday name is the next such day (never today); "next week" is next Monday;
- "in 2 hours", "in 30 minutes", "in 3 days" count from now;
- anything else ("March 5 2pm", "2026-03-05 14:00", "5/3") goes to dateparser, English only.
Refused, with a reason: unparseable text, a time in the past, more than a year ahead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.domain.errors import DomainError

EXAMPLES = "`tomorrow 3pm`, `friday`, `eod`, `in 2 hours`, `next week`, `March 5 10am`, `2026-03-05 14:00`"
WEEKDAYS = {
    name: i
    for i, names in enumerate(
        [
            ("monday", "mon"),
            ("tuesday", "tue", "tues"),
            ("wednesday", "wed"),
            ("thursday", "thu", "thur", "thurs"),
            ("friday", "fri"),
            ("saturday", "sat"),
            ("sunday", "sun"),
        ]
    )
    for name in names
}
_TIME = re.compile(r"^(?:at\s+)?(\d{1,2})(?::(\d{2}))?\s*(am|pm)?$|^(noon|midday|midnight)$")
_RELATIVE = re.compile(
    r"^in\s+(an?|\d+(?:\.\d+)?)\s+(s(?:ec(?:ond)?s?)?|min(?:ute)?s?|h(?:ou)?rs?|hours?|days?|weeks?)$"
)
_HAS_TIME = re.compile(r"\d{1,2}:\d{2}|\d\s*(am|pm)\b|\b(noon|midday|midnight)\b", re.IGNORECASE)
MAX_AHEAD = timedelta(days=366)


class BadDueTime(DomainError):
    """Carries a message that says why and gives examples."""


@dataclass(frozen=True)
class DueParser:
    workday_end: time = time(17, 0)

    def parse(self, text: str, *, now: datetime, tz: str) -> datetime:
        """``text`` read in ``tz`` relative to ``now``; returns an aware UTC datetime or raises BadDueTime."""
        zone = ZoneInfo(tz)
        local_now = now.astimezone(zone)
        cleaned = " ".join(text.strip().lower().replace(",", " ").split())
        if not cleaned:
            raise BadDueTime(f"Say when, e.g. {EXAMPLES}.")
        when = self._ours(cleaned, local_now, zone) or self._dateparser(cleaned, local_now, tz)
        if when is None:
            raise BadDueTime(f"I couldn't read “{text.strip()[:60]}” as a time. Try {EXAMPLES}.")
        when = when.astimezone(UTC)
        if when <= now:
            shown = when.astimezone(zone).strftime("%a %d %b %H:%M")
            raise BadDueTime(f"“{text.strip()[:60]}” is {shown} ({tz}), which has passed. Try {EXAMPLES}.")
        if when - now > MAX_AHEAD:
            raise BadDueTime("That is more than a year ahead; promise something nearer.")
        return when

    def _at(self, day: date, clock: time, zone: ZoneInfo) -> datetime:
        return datetime.combine(day, clock, tzinfo=zone)

    def _ours(self, text: str, now: datetime, zone: ZoneInfo) -> datetime | None:
        m = _RELATIVE.match(text)
        if m:
            amount = 1.0 if m.group(1) in ("a", "an") else float(m.group(1))
            unit = m.group(2)[0]
            delta = {
                "s": timedelta(seconds=amount),
                "m": timedelta(minutes=amount),
                "h": timedelta(hours=amount),
                "d": timedelta(days=amount),
                "w": timedelta(weeks=amount),
            }[unit]
            return now + delta
        words = text.split()
        day_word, rest = words[0], " ".join(words[1:])
        if text in ("eod", "end of day", "end of the day", "today", "cob", "close of business"):
            return self._at(now.date(), self.workday_end, zone)
        if text in ("next week",):
            monday = now.date() + timedelta(days=7 - now.weekday())
            return self._at(monday, self.workday_end, zone)
        day: date | None = None
        if day_word in ("today", "tonight"):
            day = now.date()
        elif day_word in ("tomorrow", "tmrw", "tmr"):
            day = now.date() + timedelta(days=1)
        elif day_word in WEEKDAYS or (day_word == "next" and rest.split()[:1] and rest.split()[0] in WEEKDAYS):
            if day_word == "next":
                day_word, rest = rest.split()[0], " ".join(rest.split()[1:])
            ahead = (WEEKDAYS[day_word] - now.weekday()) % 7 or 7
            day = now.date() + timedelta(days=ahead)
        if day is None:
            clock = _read_time(text)
            return self._at(now.date(), clock, zone) if clock else None
        if not rest or rest in ("eod", "end of day"):
            return self._at(day, self.workday_end, zone)
        if rest == "morning":
            return self._at(day, time(9, 0), zone)
        if rest == "afternoon":
            return self._at(day, time(14, 0), zone)
        clock = _read_time(rest)
        return self._at(day, clock, zone) if clock else None

    def _dateparser(self, text: str, now: datetime, tz: str) -> datetime | None:
        import dateparser

        parsed = dateparser.parse(
            text,
            languages=["en"],  # detection across every language takes seconds on unreadable text
            settings={
                "PREFER_DATES_FROM": "future",
                "RELATIVE_BASE": now.replace(tzinfo=None),
                "TIMEZONE": tz,
                "RETURN_AS_TIMEZONE_AWARE": True,
                "DATE_ORDER": "DMY",
            },
        )
        if parsed is None:
            return None
        if not _HAS_TIME.search(text):
            parsed = datetime.combine(parsed.date(), self.workday_end, tzinfo=ZoneInfo(tz))
        return parsed


def _read_time(text: str) -> time | None:
    m = _TIME.match(text.strip())
    if not m:
        return None
    if m.group(4):
        return time(0, 0) if m.group(4) == "midnight" else time(12, 0)
    hour, minute, meridiem = int(m.group(1)), int(m.group(2) or 0), m.group(3)
    if minute > 59:
        return None
    if meridiem:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if meridiem == "pm" else 0)
    elif m.group(2) is None and hour < 7:
        hour += 12  # "at 3" on a support desk means 3 in the afternoon
    return time(hour, minute) if hour < 24 else None


def split_when_what(text: str, parser: DueParser, *, now: datetime, tz: str) -> tuple[datetime, str]:
    """For ``/promise #42 tomorrow 3pm call back about the refund``: the longest leading run of
    words that reads as a time is the due time; the rest is what was promised."""
    words = text.split()
    for n in range(min(6, len(words)), 0, -1):
        head = " ".join(words[:n])
        try:
            when = parser.parse(head, now=now, tz=tz)
        except BadDueTime as exc:
            if "has passed" in str(exc) or "year ahead" in str(exc):
                raise
            continue
        what = " ".join(words[n:]).strip()
        if not what:
            raise BadDueTime("Say what was promised after the time, e.g. `/promise #42 tomorrow 3pm call back`.")
        return when, what
    raise BadDueTime(f"I couldn't find when in “{' '.join(words[:6])[:80]}”. Start with the time: {EXAMPLES}.")
