"""Reading "when" the way a support desk means it, in the promise owner's time zone.

The pieces and how they combine live in ``when.py``; this module is what ``/promise`` and the forms
use: a whole text read as a due time (``DueParser.parse``), or "when" split from "what"
(``DueParser.read``), with a question and the one or two readings whenever the words leave a choice.
Refused, with a reason: unreadable text, a time in the past, more than a year ahead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.common.errors import DomainError
from bot.promises import languages
from bot.promises.when import Calendar, Piece, normalise, pieces, resolve

EXAMPLES = (
    "`tomorrow 3pm`, `friday`, `eod`, `in 2 hours`, `24h`, `within 2 working days`, `end of week`, "
    "`first thing tomorrow`, `March 5 10am`, `2026-03-05 14:00`"
)
MAX_AHEAD = timedelta(days=366)
_GAP = re.compile(
    r"^[\s,;:]*(?:(?:at|on|by|before|the|of|in|latest|at\s+the\s+latest|no\s+later\s+than|-|@|for|until|due|from|"
    # the same little words in Spanish, French, German and Portuguese ("el viernes", "am Freitag")
    r"el|la|le|los|les|am|um|den|dem|bis|vor|à|às|a|as|o|de|del|des|du|do|da|antes|avant|hasta|até|pour|para)"
    r"[\s,;:]*)*$"
)
_LEAD_WORDS = re.compile(r"^[\s,;:]*(?:(?:by|on|at|before|due|no\s+later\s+than|until|for)\s+)*")
_BARE_NUMBER = re.compile(r"^[\s,]*(\d{1,2})(?=\s+[a-z])")
_UNIT_AFTER = re.compile(r"^\s*(?:h|hrs?|hours?|mins?|minutes?|days?|weeks?|am|pm|a\.m|p\.m|o'?clock|:)\b")


class BadDueTime(DomainError):
    """Carries a message that says why and gives examples."""


@dataclass(frozen=True)
class Option:
    due: datetime  # aware UTC
    what: str
    label: str = ""
    """What sets this reading apart when the time alone does not (the place a zone may mean)."""


@dataclass(frozen=True)
class Reading:
    """How a ``/promise`` argument reads: one option when clear; with ``ask``, the one or two readings to offer."""

    options: tuple[Option, ...] = ()
    ask: str | None = None
    error: str | None = None
    span: tuple[int, int] = (0, 0)
    zone: tuple[str, str] | None = None
    """(as written, IANA name) when the text named a zone ("3pm PST"): the confirmation shows both."""

    @property
    def due(self) -> datetime | None:
        return self.options[0].due if self.options and not self.ask and not self.error else None

    @property
    def what(self) -> str:
        return self.options[0].what if self.options else ""


@dataclass(frozen=True)
class DueParser:
    workday_end: time = time(17, 0)
    holidays: frozenset[date] = field(default_factory=frozenset)

    @property
    def calendar(self) -> Calendar:
        return Calendar(self.workday_end, self.holidays)

    def parse(self, text: str, *, now: datetime, tz: str, locale: str | None = None) -> datetime:
        """The whole of ``text`` as a due time (forms, rescheduling): an aware UTC datetime or BadDueTime,
        whose message asks the question when the words leave a choice."""
        if not text.strip():
            raise BadDueTime(f"Say when, e.g. {EXAMPLES}.")
        norm = normalise(text)
        chain = _chain(pieces(text, _language(text, locale)), norm)
        if not chain or norm[chain[-1].end :].strip(" .,!") or not _GAP.match(norm[: chain[0].start]):
            raise BadDueTime(f"I couldn't read “{text.strip()[:60]}” as a time. Try {EXAMPLES}.")
        due = self._due(chain, text, now=now, tz=tz, locale=locale)
        if due.ask:
            raise BadDueTime(due.ask)
        return due.options[0].due

    def read(self, text: str, *, now: datetime, tz: str, locale: str | None = None) -> Reading:
        """``tomorrow 3pm call back`` → when and what. The leading run of time words is "when" (or, failing
        that, the trailing run); the rest is what was promised."""
        norm = normalise(text)
        if not norm.strip():
            return Reading(error=f"Say when, e.g. {EXAMPLES}.")
        found = pieces(text, _language(text, locale))
        chain = _chain(found, norm)
        lead = bool(chain) and bool(_GAP.match(norm[: chain[0].start]))
        if not lead:
            tail = _tail_chain(found, norm)
            if not tail:
                return Reading(error=f"I couldn't find when in “{text.strip()[:80]}”. Start with the time: {EXAMPLES}.")
            what = text[: tail[0].start].strip(" ,;:-")
            what = re.sub(r"\s+(?:by|on|at|before|until|due|for|in|within)$", "", what, flags=re.IGNORECASE)
            return self._reading(tail, text, what, now=now, tz=tz, locale=locale)
        rest = text[chain[-1].end :]
        what = rest.strip(" ,;:-")
        reading = self._reading(chain, text, what, now=now, tz=tz, locale=locale)
        bare = _BARE_NUMBER.match(normalise(rest))
        kinds = {p.kind for p in chain}
        if (
            reading.error is None
            and not reading.ask
            and bare
            and not _UNIT_AFTER.match(normalise(rest)[bare.end() :])
            and not kinds & {"clock", "window", "duration", "part"}
            and 1 <= int(bare.group(1)) <= 12
        ):
            hour = int(bare.group(1))
            clock = time(hour + 12 if hour <= 6 else hour, 0)
            local_day = reading.options[0].due.astimezone(ZoneInfo(tz)).date()
            at_hour = datetime.combine(local_day, clock, tzinfo=ZoneInfo(tz)).astimezone(UTC)
            rest_after = rest[bare.end() :].strip(" ,;:-")
            options = [Option(reading.options[0].due, what)]
            if at_hour > now:
                options.insert(0, Option(at_hour, rest_after))
            if len(options) == 2:
                return Reading(
                    tuple(options),
                    ask=f"Is “{bare.group(1)}” the time ({clock:%H:%M}) or part of the promise?",
                    span=reading.span,
                )
        return reading

    def _reading(
        self, chain: list[Piece], text: str, what: str, *, now: datetime, tz: str, locale: str | None
    ) -> Reading:
        try:
            due = self._due(chain, text, now=now, tz=tz, locale=locale)
        except BadDueTime as exc:
            return Reading(error=str(exc), span=(chain[0].start, chain[-1].end))
        options = tuple(Option(o.due, what, o.label) for o in due.options)
        if not what:
            return Reading(
                options, error="Say what was promised after the time, e.g. `/promise #42 tomorrow 3pm call back`."
            )
        return Reading(options, ask=due.ask, span=(chain[0].start, chain[-1].end), zone=due.zone)

    def _due(self, chain: list[Piece], text: str, *, now: datetime, tz: str, locale: str | None) -> Reading:
        zone = ZoneInfo(tz)
        got = resolve(chain, now=now, zone=zone, cal=self.calendar, locale=locale)
        said = text[chain[0].start : chain[-1].end].strip()[:60]
        if got.error or got.due is None:
            if got.error and "has passed" in got.error:
                where = got.zone[0] if got.zone else tz
                raise BadDueTime(f"“{said}” is {got.error} ({where}). Try {EXAMPLES}.")
            raise BadDueTime(got.error or f"I couldn't read “{said}” as a time. Try {EXAMPLES}.")
        readings = got.readings or (got.due,)
        labels = got.labels or ("",) * len(readings)
        kept = [(r.astimezone(UTC), label) for r, label in zip(readings, labels, strict=False) if r > now]
        if not kept:
            raise BadDueTime(f"“{said}” has passed. Try {EXAMPLES}.")
        if kept[0][0] - now > MAX_AHEAD:
            raise BadDueTime("That is more than a year ahead; promise something nearer.")
        return Reading(tuple(Option(u, "", label) for u, label in kept), ask=got.ask, zone=got.zone)


def _language(text: str, locale: str | None) -> str | None:
    """Which language's time words to read as well as English's: the text's, else the writer's."""
    lang = languages.language_of(text, locale)
    return lang if lang in languages.CODES else None


def _chain(found: list[Piece], norm: str) -> list[Piece]:
    """The pieces from the start of the text, joined only by little words (at, on, by, the…)."""
    if not found or not _GAP.match(norm[: found[0].start]):
        return []
    chain = [found[0]]
    for p in found[1:]:
        if _GAP.match(norm[chain[-1].end : p.start]):
            chain.append(p)
        else:
            break
    return chain


def _tail_chain(found: list[Piece], norm: str) -> list[Piece]:
    if not found or norm[found[-1].end :].strip(" .,!;:"):
        return []
    chain = [found[-1]]
    for p in reversed(found[:-1]):
        if _GAP.match(norm[p.end : chain[0].start]):
            chain.insert(0, p)
        else:
            break
    return chain


def split_when_what(text: str, parser: DueParser, *, now: datetime, tz: str) -> tuple[datetime, str]:
    """For ``/promise #42 tomorrow 3pm call back about the refund``: when and what, or BadDueTime."""
    reading = parser.read(text, now=now, tz=tz)
    if reading.error:
        raise BadDueTime(reading.error)
    if reading.ask:
        raise BadDueTime(reading.ask)
    return reading.options[0].due, reading.what


def say_due(due: datetime, *, now: datetime, tz: str, typed: tuple[str, str] | None = None) -> str:
    """ "Wed 25 Nov, 17:00 your time — tomorrow": the confirmation always says the due time in words.

    ``typed``: the zone the time was written in ("PST", its IANA name), when it is not the reader's:
    "Tue 24 Nov 15:00 PST — Tue 24 Nov, 23:00 your time — today, in 13 h", so a wrong zone shows."""
    zone = ZoneInfo(tz)
    local, today = due.astimezone(zone), now.astimezone(zone).date()
    there = ""
    if typed is not None and ZoneInfo(typed[1]).utcoffset(due) != zone.utcoffset(due):
        at = due.astimezone(ZoneInfo(typed[1]))
        there = f"{at:%a} {at.day} {at:%b} {at:%H:%M} {typed[0]} — "
    days = (local.date() - today).days
    if days == 0:
        left = due - now
        hours = left.total_seconds() / 3600
        rel = f"in {round(left.total_seconds() / 60)} min" if hours < 1 else f"today, in {hours:.0f} h"
        if hours >= 1 and abs(hours - round(hours)) > 0.25:
            rel = f"today, in {hours:.1f} h"
    elif days == 1:
        rel = "tomorrow"
    elif days < 7:
        rel = f"in {days} days ({local:%A})"
    else:
        rel = f"in {days} days"
    return f"{there}{local:%a} {local.day} {local:%b}, {local:%H:%M} your time — {rel}"


def parse_holidays(text: str) -> frozenset[date]:
    """``2026-12-25,2026-12-26``: days that are not working days (skipped by "within 2 working days")."""
    days = set()
    for part in (p.strip() for p in text.replace(";", ",").split(",")):
        if not part:
            continue
        try:
            days.add(date.fromisoformat(part))
        except ValueError:
            raise ValueError(f"{part!r} is not a date like 2026-12-25") from None
    return frozenset(days)
