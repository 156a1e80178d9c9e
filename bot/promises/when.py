"""Finding "when" in free text the way a support desk means it: the pieces (a day, a clock time, a part
of the day, an end of day/week/month, a duration) and how they combine into one deadline.

A due time is the moment the promise becomes late, so a part of the day means its end: "tomorrow
morning" is 12:00, "this afternoon" the end of the working day, "first thing" 10:00. Pieces are found
anywhere in the text with their spans, so ``/promise`` can split "when" from "what" and reply reading
can find the time inside a sentence. When the words leave a choice open (a passed time, a date that
only works one way round, a bare number that might belong to the promise) the result carries the
one or two readings and a question instead of a silent pick.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.promises import languages, zones

WEEKDAY_NAMES = [
    ("monday", "mon"),
    ("tuesday", "tues", "tue"),
    ("wednesday", "weds", "wed"),
    ("thursday", "thurs", "thur", "thu"),
    ("friday", "fri"),
    ("saturday", "sat"),
    ("sunday", "sun"),
]
WEEKDAYS = {name: i for i, names in enumerate(WEEKDAY_NAMES) for name in names}
MONTHS = {
    name: i + 1
    for i, names in enumerate(
        [
            ("january", "jan"),
            ("february", "feb"),
            ("march", "mar"),
            ("april", "apr"),
            ("may",),
            ("june", "jun"),
            ("july", "jul"),
            ("august", "aug"),
            ("september", "sept", "sep"),
            ("october", "oct"),
            ("november", "nov"),
            ("december", "dec"),
        ]
    )
    for name in names
}
NUMBER_WORDS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "fourteen": 14,
    "twenty": 20,
    "thirty": 30,
    "twenty-four": 24,
    "twenty four": 24,
    "forty-eight": 48,
    "forty eight": 48,
    "seventy-two": 72,
    "seventy two": 72,
    "a couple of": 2,
    "couple of": 2,
    "a couple": 2,
    "half an": 0.5,
}
MORNING_END = time(12, 0)
FIRST_THING = time(10, 0)
LUNCHTIME = time(13, 0)
EVENING = time(20, 0)
TONIGHT = time(21, 0)
LAST_MINUTE = time(23, 59)

_WD = "|".join(sorted(WEEKDAYS, key=len, reverse=True))
_MON = "|".join(sorted(MONTHS, key=len, reverse=True))
_NUMW = "|".join(re.escape(w) for w in sorted(NUMBER_WORDS, key=len, reverse=True))
_NUM = rf"(?:\d+(?:\.\d+)?|{_NUMW})"
_UNIT = (
    r"(?:(?:working|business|work)[ -]days?|weekdays?|minutes?|mins?|hours?|hrs?|h|days?|weeks?|wks?|fortnights?|"
    r"months?)"
)
_LEAD = (
    r"(?:within(?:\s+the(?:\s+next)?)?|in(?:\s+the\s+next)?|over\s+the\s+next|in\s+under|under|less\s+than|"
    r"up\s+to|takes?(?:\s+up\s+to)?|allow(?:\s+up\s+to)?|in\s+about|in\s+around|no\s+more\s+than|"
    r"max(?:imum)?(?:\s+of)?|next)"
)
_MER = r"(?:a\.?m\.?|p\.?m\.?)(?![a-z])"

_P_DURATION = re.compile(
    rf"(?<![\w£$€.])(?:(?P<lead>{_LEAD})\s+)?(?P<n1>{_NUM})(?:\s*(?:-|to|or)\s*(?P<n2>{_NUM}))?"
    rf"\s*(?P<unit>{_UNIT})(?![\w'])"
)
_P_HOUR = re.compile(r"(?<![\w£$€])(?:within|in|under)\s+(?:the\s+next|the|an?|next)\s+(?P<unit>hour)\b")
_P_EOD = re.compile(
    r"\b(?:eod|cob|eop|e\.o\.d\.?|close\s+of\s+(?:business|play)|end\s+of\s+(?:the\s+)?(?:working\s+|business\s+)?"
    r"(?:day|play|business(?:\s+day)?)|the\s+end\s+of\s+today|later\s+today|close\s+of\s+day)\b"
)
_P_EOW = re.compile(
    r"\b(?:eow|end\s+of\s+(?:the\s+|this\s+)?(?P<next>next\s+)?(?:working\s+)?week|"
    r"(?P<this>later\s+this|this)\s+week)\b"
)
_P_EOM = re.compile(r"\b(?:eom|end\s+of\s+(?:the\s+|this\s+)?(?P<next>next\s+)?month)\b")
_P_NEXT_WEEK = re.compile(r"\b(?:(?P<early>early\s+)?next\s+week|(?:the\s+)?start\s+of\s+next\s+week)\b")
_P_NEXT_MONTH = re.compile(r"\b(?:next|the\s+coming)\s+month\b")
_P_ORDINAL = re.compile(r"\bthe\s+(?P<d>\d{1,2})(?:st|nd|rd|th)(?:\s+of\s+(?:(?P<next>next)|this)\s+month)?(?![\w])")
_P_DAY = re.compile(
    rf"\b(?:(?P<rel>today|tonight|tomorrow|tmrw|tmr|tmw|tomoz|2moro|2morrow|(?:the\s+)?day\s+after\s+tomorrow)|"
    rf"(?:(?:this|next|on|coming|this\s+coming)\s+)?(?P<wd>{_WD})(?:day)?\.?)(?![a-z])"
)
_P_DATE_NAMED = re.compile(
    rf"\b(?:(?P<d1>\d{{1,2}})(?:st|nd|rd|th)?(?:\s+of)?\s+(?P<m1>{_MON})\.?|(?P<m2>{_MON})\.?\s+(?P<d2>\d{{1,2}})"
    rf"(?:st|nd|rd|th)?(?!\s*(?:{_MER}|[:.]\d)))(?:,?\s+(?P<y>20\d\d))?(?![\w])"
)
_P_DATE_ISO = re.compile(r"\b(?P<y>20\d\d)-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b")
_P_DATE_NUM = re.compile(r"(?<![\w/£$€.])(?P<a>\d{1,2})/(?P<b>\d{1,2})(?:/(?P<y>(?:20)?\d\d))?(?![\w/])")
_T = r"(?P<Nh>\d{1,2})(?:[:.](?P<Nm>\d{2}))?\s*(?P<Nx>" + _MER + ")?"
_P_WINDOW = re.compile(
    r"(?<![\w£$€.])(?:between\s+)?"
    + _T.replace("N", "a")
    + r"\s*(?:-|–|to|and|until|till)\s*"
    + _T.replace("N", "b")
    + r"(?![\w%])"
)
_P_CLOCK_MER = re.compile(rf"(?<![\w£$€.])(?P<h>\d{{1,2}})(?:[:.](?P<m>\d{{2}}))?\s*(?P<x>{_MER})")
_P_CLOCK_24 = re.compile(r"(?<![\w£$€./:])(?P<h>\d{1,2})[:.](?P<m>\d{2})(?![\d%:/]|\.\d|\s*(?:%|gb|mb|kg))")
_P_CLOCK_AT = re.compile(
    rf"\b(?:at|by|before|around|@)\s+(?P<h>\d{{1,2}})(?![\w%:/]|\.\d|,\d|\s*(?:{_UNIT}|{_MER})\b|\s+(?:{_MON}|of)\b)"
)
_P_CLOCK_HRS = re.compile(r"(?<![\w£$€.])(?P<h>[01]\d|2[0-3])(?P<m>[0-5]\d)\s*(?:hrs|hours|h)\b")
_P_NAMED_TIME = re.compile(r"\b(?P<w>noon|midday|midnight|lunch\s*time|lunch)\b")
_P_PART = re.compile(
    r"\b(?P<w>first\s+thing(?:\s+in\s+the\s+morning)?|(?:the\s+|this\s+|in\s+the\s+)?morning|"
    r"(?:the\s+|this\s+|in\s+the\s+)?afternoon|(?:the\s+|this\s+|in\s+the\s+)?evening|"
    r"(?:start|beginning)\s+of\s+(?:the\s+)?day)\b"
)
_P_DAY_AMPM = re.compile(rf"\b(?:today|tomorrow|tmrw|tmr|{_WD})\s+(?P<x>am|pm)\b")
_P_PAST = re.compile(r"\b(?:(?P<q>half|quarter)\s+(?P<dir>past|to)\s+|(?P<uk>half)\s+)(?P<h>\d{1,2})(?![\w:.])")
_P_VAGUE = re.compile(r"\b(?:asap|as\s+soon\s+as\s+(?:possible|we\s+can|i\s+can)|shortly|soon|in\s+due\s+course)\b")


@dataclass(frozen=True)
class Piece:
    kind: str  # duration | eod | eow | eom | nextweek | day | date | window | clock | part | zone
    start: int
    end: int
    value: object
    weak: bool = False  # a bare number that might be part of the promise instead


@dataclass
class Due:
    """What one stretch of text says about when."""

    due: datetime | None  # local, aware
    ask: str | None = None
    readings: tuple[datetime, ...] = ()
    error: str | None = None
    span: tuple[int, int] = (0, 0)
    notes: list[str] = field(default_factory=list)
    zone: tuple[str, str] | None = None
    """(as written, IANA name) when the text named the zone its time is in ("PST")."""
    labels: tuple[str, ...] = ()
    """What tells each reading apart when that is not the time alone (the places a zone may mean)."""


def normalise(text: str) -> str:
    """Lower-case with every character keeping its place, so spans found here index the original."""
    out = []
    for ch in text:
        low = ch.lower()
        if len(low) != 1:
            low = ch
        if low in "–—‒−":
            low = "-"
        elif low in "’‘`´":
            low = "'"
        elif low in "\u00a0\u202f\t\n\r":
            low = " "
        out.append(low)
    return "".join(out)


def _number(word: str) -> float | None:
    word = " ".join(word.split())
    if word in NUMBER_WORDS:
        return float(NUMBER_WORDS[word])
    try:
        return float(word)
    except ValueError:
        return None


def _clock(h: str, m: str | None, x: str | None, *, bare_rule: bool = True) -> time | None:
    hour, minute = int(h), int(m or 0)
    if minute > 59:
        return None
    if x:
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if x.startswith("p") else 0)
    elif bare_rule and len(h) == 1 and 1 <= hour <= 6:
        hour += 12  # "at 3" on a support desk means 3 in the afternoon
    if hour > 23:
        return None
    return time(hour, minute)


def _duration(text: str, m: re.Match[str]) -> Piece | None:
    n1 = _number(m.group("n1"))
    n2 = _number(m.group("n2")) if m.group("n2") else None
    unit = m.group("unit")
    if n1 is None or (m.group("n2") and n2 is None):
        return None
    if unit == "h" and not m.group("n1")[-1].isdigit():
        return None
    if unit.startswith("h") and re.fullmatch(r"[01]\d[0-5]\d|2[0-3][0-5]\d", m.group("n1")):
        return None  # "1700hrs" is a time of day
    bare = not m.group("lead")
    return Piece("duration", m.start(), m.end(), (max(n1, n2 or 0), unit), weak=bare)


def _day(text: str, m: re.Match[str]) -> Piece | None:
    rel = m.group("rel")
    if rel:
        word = rel.split()[-1] if "after" not in rel else "after"
        return Piece("day", m.start(), m.end(), ("rel", word))
    wd = m.group("wd")
    if wd == "sat" and _sat_verb(text, m.start("wd")):
        return None
    return Piece("day", m.start(), m.end(), ("wd", WEEKDAYS[wd]))


def _named_date(text: str, m: re.Match[str]) -> Piece | None:
    d = int(m["d1"] or m["d2"])
    mon = MONTHS[m["m1"] or m["m2"]]
    if m["m2"] == "may" and not m["d2"]:
        return None
    return Piece("date", m.start(), m.end(), ("named", int(m["y"]) if m["y"] else None, mon, d))


def _numeric_date(text: str, m: re.Match[str]) -> Piece:
    y = m["y"]
    year = (int(y) + (2000 if len(y) == 2 else 0)) if y else None
    return Piece("date", m.start(), m.end(), ("num", year, int(m["a"]), int(m["b"])))


def _window(text: str, m: re.Match[str]) -> Piece | None:
    if not (m["ax"] or m["bx"] or m["am"] or m["bm"] or text[m.start() : m.start() + 7] == "between"):
        return None
    a = _clock(m["ah"], m["am"], m["ax"] or m["bx"], bare_rule=False)
    b = _clock(m["bh"], m["bm"], m["bx"] or ("pm" if a and m["ax"] is None and int(m["bh"]) < int(m["ah"]) else None))
    if b is None and m["bx"] is None:
        b = _clock(m["bh"], m["bm"], None)
    if b is None:
        return None
    return Piece("window", m.start(), m.end(), b)


def _clock_piece(*, bare_rule: bool = True) -> Callable[[str, re.Match[str]], Piece | None]:
    """A clock time from the match's hour, minutes and am/pm groups (those the pattern has)."""

    def read(text: str, m: re.Match[str]) -> Piece | None:
        groups = m.groupdict()
        c = _clock(m["h"], groups.get("m"), groups.get("x"), bare_rule=bare_rule)
        return Piece("clock", m.start(), m.end(), c) if c else None

    return read


def _past(text: str, m: re.Match[str]) -> Piece | None:
    c = _clock(m["h"], None, None)
    if c is None:
        return None
    minutes = c.hour * 60 + (30 if m["uk"] or m["q"] == "half" else 15 if m["dir"] == "past" else -15)
    if not 0 <= minutes < 24 * 60:
        return None
    return Piece("clock", m.start(), m.end(), time(minutes // 60, minutes % 60))


def _named_time(text: str, m: re.Match[str]) -> Piece:
    c = {"noon": MORNING_END, "midday": MORNING_END, "midnight": LAST_MINUTE}.get(m["w"], LUNCHTIME)
    return Piece("clock", m.start(), m.end(), c)


def _part(text: str, m: re.Match[str]) -> Piece:
    first = m["w"].startswith("first") or m["w"].startswith(("start", "beginning"))
    return Piece("part", m.start(), m.end(), "first" if first else m["w"].split()[-1])


READERS: tuple[tuple[re.Pattern[str], Callable[[str, re.Match[str]], Piece | None]], ...] = (
    (_P_DURATION, _duration),
    (_P_HOUR, lambda _t, m: Piece("duration", m.start(), m.end(), (1.0, "hour"))),
    (_P_EOD, lambda _t, m: Piece("eod", m.start(), m.end(), None)),
    (_P_EOW, lambda _t, m: Piece("eow", m.start(), m.end(), 1 if m.group("next") else 0)),
    (_P_EOM, lambda _t, m: Piece("eom", m.start(), m.end(), 1 if m.group("next") else 0)),
    (_P_NEXT_WEEK, lambda _t, m: Piece("nextweek", m.start(), m.end(), "early" if m["early"] else None)),
    (_P_NEXT_MONTH, lambda _t, m: Piece("eom", m.start(), m.end(), 1)),
    (
        _P_ORDINAL,
        lambda _t, m: Piece("date", m.start(), m.end(), ("ordinal", None, 1 if m["next"] else 0, int(m["d"]))),
    ),
    (_P_DAY, _day),
    (_P_DATE_ISO, lambda _t, m: Piece("date", m.start(), m.end(), ("iso", int(m["y"]), int(m["m"]), int(m["d"])))),
    (_P_DATE_NAMED, _named_date),
    (_P_DATE_NUM, _numeric_date),
    (_P_WINDOW, _window),
    (_P_CLOCK_MER, _clock_piece()),
    (_P_CLOCK_24, _clock_piece()),
    (_P_CLOCK_HRS, _clock_piece(bare_rule=False)),
    (_P_CLOCK_AT, _clock_piece()),
    (_P_DAY_AMPM, lambda _t, m: Piece("part", m.start("x"), m.end("x"), "morning" if m["x"] == "am" else "afternoon")),
    (_P_PAST, _past),
    (_P_NAMED_TIME, _named_time),
    (_P_PART, _part),
)
"""Each time-ish pattern and what a match of it means (None: not a time after all). The order is the
order pieces of equal length and start are preferred in."""


_ZONE_GAP = re.compile(r"^[\s,(]*(?:(?:at|on|by|in|tomorrow|today|tonight)[\s,(]*)?$")


def _zones(raw: str, others: list[Piece]) -> list[Piece]:
    """Zones written right after a time they qualify ("3pm PST", "Friday 10:00 Europe/Paris",
    "noon tomorrow (Eastern)") or right before one ("PST 3pm"); a zone word anywhere else is not one."""
    norm = normalise(raw)
    out: list[Piece] = []
    for z in zones.find(raw):
        if any(p.start < z.end and z.start < p.end for p in others):
            continue
        before = [p for p in others if p.end <= z.start]
        after = [p for p in others if p.start >= z.end]
        near = (before and _ZONE_GAP.match(norm[before[-1].end : z.start])) or (
            after and re.fullmatch(r"[\s,)]*", norm[z.end : after[0].start])
        )
        if near:
            out.append(Piece("zone", z.start, z.end, (z.said, z.names)))
    return out


def _foreign(norm: str, lang: str) -> list[Piece]:
    """``lang``'s time words as pieces (``languages``); a clock's value becomes a time of day."""
    out = []
    for f in languages.time_words(norm, lang):
        value = time(*f.value) if f.kind == "clock" else f.value  # type: ignore[misc]
        out.append(Piece(f.kind, f.start, f.end, value))
    return out


def pieces(text: str, lang: str | None = None) -> list[Piece]:
    """Every time-ish piece in ``text``, longest first where two overlap. Pass the text as written:
    the spans index it, and a zone's abbreviation counts only in capitals ("ET" is not French "et").
    ``lang`` (es, fr, de, pt) adds that language's words, preferred where they cover the same text
    ("10h" is ten o'clock in French, ten hours in English)."""
    raw, text = text, normalise(text)
    found = _foreign(text, lang) if lang and lang != "en" else []
    found += [p for pattern, read in READERS for m in pattern.finditer(text) if (p := read(text, m)) is not None]
    # "tonight" is a day and a part at once
    found.sort(key=lambda p: (p.start, -(p.end - p.start)))
    kept: list[Piece] = []
    for p in sorted(found, key=lambda p: (-(p.end - p.start), p.start)):
        if any(p.start < k.end and k.start < p.end for k in kept):
            continue
        kept.append(p)
    kept.sort(key=lambda p: p.start)
    if kept:
        kept = sorted(kept + _zones(raw, kept), key=lambda p: p.start)
    return kept


def _day_of(p: Piece, today: date) -> date:
    kind, v = p.value  # type: ignore[misc]
    if kind == "rel":
        return today + timedelta(days={"today": 0, "tonight": 0, "after": 2}.get(str(v), 1))
    return today + timedelta(days=(int(v) - today.weekday()) % 7 or 7)


def _sat_verb(text: str, at: int) -> bool:
    """ "sat" as in "it sat in the depot" is not Saturday."""
    before = text[max(0, at - 12) : at]
    return bool(re.search(r"\b(?:it|has|have|had|they|just|been)\s+$", before))


def vague(text: str) -> bool:
    return bool(_P_VAGUE.search(normalise(text)))


@dataclass(frozen=True)
class Calendar:
    """The working week: Monday to Friday minus the configured holidays."""

    workday_end: time = time(17, 0)
    holidays: frozenset[date] = frozenset()

    def working(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def add_working_days(self, day: date, n: int) -> date:
        while n > 0:
            day += timedelta(days=1)
            if self.working(day):
                n -= 1
        return day

    def next_working(self, day: date) -> date:
        while not self.working(day):
            day += timedelta(days=1)
        return day

    def last_working_on_or_before(self, day: date) -> date:
        while not self.working(day):
            day -= timedelta(days=1)
        return day


def _at(day: date, clock: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=zone)


def _add_months(day: date, n: int) -> date:
    month = day.month - 1 + n
    year = day.year + month // 12
    month = month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _dates(value: tuple, today: date, locale: str | None) -> tuple[list[date], str | None]:
    """The candidate dates for a written date, best first, and a question when it is unclear."""
    form = value[0]
    if form == "iso":
        _, y, m, d = value
        try:
            return [date(y, m, d)], None
        except ValueError:
            return [], f"{y}-{m:02d}-{d:02d} is not a date."
    if form == "named":
        _, y, m, d = value
        return _roll(y, m, d, today), None
    if form == "ordinal":  # "on the 5th": this month's if it is still ahead, else next month's
        _, _, ahead, d = value
        for n in (ahead,) if ahead else (0, 1):
            month = _add_months(today.replace(day=1), n)
            if d <= calendar.monthrange(month.year, month.month)[1] and (n or d >= today.day):
                return [month.replace(day=d)], None
        return [], f"the {d}th is not a day of that month."
    _, y, a, b = value
    us = bool(locale) and locale.lower().replace("_", "-") in ("en-us", "es-us", "en-ph", "en-ca-us")
    order = [(a, b), (b, a)] if us else [(b, a), (a, b)]  # (month, day)
    options: list[date] = []
    for m, d in order:
        for cand in _roll(y, m, d, today):
            if cand not in options:
                options.append(cand)
    if not options:
        return [], f"{a}/{b} is not a date either way round."
    first_ok = bool(_roll(y, order[0][0], order[0][1], today))
    if not first_ok:
        shown = "month/day" if us else "day/month"
        return options[:1], f"{a}/{b} is not a date read as {shown}; did you mean {options[0]:%-d %b}?"
    if not locale and len(options) == 2:
        return options, f"{a}/{b} could be {options[0]:%-d %b} or {options[1]:%-d %b} — which?"
    return options[:1], None


def _roll(y: int | None, m: int, d: int, today: date) -> list[date]:
    years = [y] if y else [today.year, today.year + 1]
    for year in years:
        try:
            cand = date(year, m, d)
        except ValueError:
            continue
        if y or cand >= today:
            return [cand]
    return []


def resolve(found: list[Piece], *, now: datetime, zone: ZoneInfo, cal: Calendar, locale: str | None = None) -> Due:
    """Combine the pieces of one stretch of text into a deadline in ``zone`` — or in the zone the text
    names ("3pm PST"), read as that place's wall clock; a zone that names several places (IST) gives
    one reading per place and a question."""
    named = [p for p in found if p.kind == "zone"]
    rest = [p for p in found if p.kind != "zone"]
    if not named:
        return _resolve_in(rest, now=now, zone=zone, cal=cal, locale=locale)
    said, names = named[0].value  # type: ignore[misc]
    span = (min(p.start for p in found), max(p.end for p in found))
    results = [(name, _resolve_in(rest, now=now, zone=ZoneInfo(name), cal=cal, locale=locale)) for name in names]
    first_name, first = results[0]
    first.span = span
    first.zone = (str(said), first_name)
    if len(results) == 1 or first.due is None:
        return first
    readings = tuple(r.due for _, r in results if r.due is not None)
    places = tuple(zones.place(name, r.due) for name, r in results if r.due is not None)
    return Due(
        first.due,
        ask=f"{said} could mean {', '.join(places[:-1])} or {places[-1]} — which?",
        readings=readings,
        span=span,
        zone=first.zone,
        labels=places,
    )


def _resolve_in(found: list[Piece], *, now: datetime, zone: ZoneInfo, cal: Calendar, locale: str | None) -> Due:
    local = now.astimezone(zone)
    today = local.date()
    span = (min(p.start for p in found), max(p.end for p in found)) if found else (0, 0)
    durations = [p for p in found if p.kind == "duration"]
    strong = [p for p in durations if not p.weak]
    others = [p for p in found if p.kind != "duration"]
    if durations and (strong or not others):
        n, unit = (strong or durations)[0].value  # type: ignore[misc]
        return Due(_after(local, float(n), str(unit), cal, zone), span=span)
    day: date | None = None
    dates = [p for p in found if p.kind == "date"]
    days = [p for p in found if p.kind == "day"]
    clocks = [p for p in found if p.kind in ("clock", "window")]
    parts = [p for p in found if p.kind == "part"]
    anchors = [p for p in found if p.kind in ("eod", "eow", "eom", "nextweek")]
    ask: str | None = None
    alt_days: list[date] = []
    if dates:
        options, ask = _dates(dates[0].value, today, locale)  # type: ignore[arg-type]
        if not options:
            return Due(None, error=ask or "That is not a date.", span=span)
        day, alt_days = options[0], options[1:]
    elif days:
        days = sorted(days, key=lambda p: _day_of(p, today), reverse=True)  # all of it done: the latest day
        kind, v = days[0].value  # type: ignore[misc]
        if kind == "rel":
            day = today + timedelta(days={"today": 0, "tonight": 0, "after": 2}.get(v, 1))
            if v == "tonight" and not clocks and not parts:
                return _finish(Due(_at(day, TONIGHT, zone), span=span), local, cal, zone)
        else:
            ahead = (int(v) - today.weekday()) % 7 or 7
            day = today + timedelta(days=ahead)
    clock: time | None = clocks[0].value if clocks else None  # type: ignore[assignment]
    if clock is None and parts:
        part = parts[0].value
        if part == "first":
            clock = FIRST_THING
            if day is None:
                day = cal.next_working(today + timedelta(days=1)) if local.time() >= FIRST_THING else today
        else:
            clock = {"morning": MORNING_END, "afternoon": cal.workday_end, "evening": EVENING}[str(part)]
    if anchors:
        a = anchors[0]
        if a.kind == "eod":
            clock = clock or cal.workday_end
        elif a.kind == "nextweek":
            day = today + timedelta(days=7 - today.weekday())
            clock = clock or cal.workday_end
            if a.value == "early":  # "early next week" is Monday or Tuesday: asked, never picked
                tuesday = day + timedelta(days=1)
                return Due(
                    _at(day, clock, zone),
                    ask="“Early next week”: Monday or Tuesday?",
                    readings=(_at(day, clock, zone), _at(tuesday, clock, zone)),
                    span=span,
                )
        elif a.kind == "eow":
            friday = today + timedelta(days=(4 - today.weekday()) % 7)
            if a.value or (today.weekday() > 4):
                friday = friday + timedelta(days=7) if a.value and today.weekday() <= 4 else friday
            day = cal.last_working_on_or_before(friday) if cal.last_working_on_or_before(friday) >= today else friday
            clock = clock or cal.workday_end
        elif a.kind == "eom":
            base = _add_months(today.replace(day=1), int(a.value or 0))  # type: ignore[call-overload]
            last = base.replace(day=calendar.monthrange(base.year, base.month)[1])
            day = cal.last_working_on_or_before(last)
            clock = clock or cal.workday_end
    if day is None and clock is None:
        return Due(None, span=span)
    weak_clock = bool(clocks) and clocks[0].weak
    if day is None:
        due = _at(today, clock, zone)  # type: ignore[arg-type]
        if due <= local:
            later = _at(today + timedelta(days=1), clock, zone)  # type: ignore[arg-type]
            if anchors and anchors[0].kind == "eod":
                tonight = _at(today, LAST_MINUTE, zone)
                return Due(
                    tonight,
                    ask=f"It is already past {clock:%H:%M} your time: tonight, or tomorrow at {clock:%H:%M}?",
                    readings=(tonight, later),
                    span=span,
                )
            return Due(
                later,
                ask=f"{clock:%H:%M} today has passed: did you mean tomorrow at {clock:%H:%M}?",
                readings=(later,),
                span=span,
            )
        return Due(due, span=span)
    due = _at(day, clock or cal.workday_end, zone)
    result = Due(due, ask=ask, span=span)
    if ask:
        result.readings = tuple(_at(d, clock or cal.workday_end, zone) for d in [day, *alt_days])
    if weak_clock and not ask:
        result.notes.append("weak")
    return _finish(result, local, cal, zone)


def _finish(result: Due, local: datetime, cal: Calendar, zone: ZoneInfo) -> Due:
    if result.due is not None and result.due <= local and not result.ask:
        result.error = f"{result.due:%a %-d %b %H:%M} has passed"
    return result


def _after(local: datetime, n: float, unit: str, cal: Calendar, zone: ZoneInfo) -> datetime:
    u = unit.replace("-", " ")
    if u.startswith(("working", "business", "work ", "weekday")):
        return _at(cal.add_working_days(local.date(), max(1, round(n))), cal.workday_end, zone)
    if u.startswith("min"):
        return local + timedelta(minutes=n)
    if u.startswith("h"):
        return local + timedelta(hours=n)
    if u.startswith("day"):
        return _at(local.date() + timedelta(days=round(n)), cal.workday_end, zone)
    if u.startswith("w"):
        return _at(local.date() + timedelta(weeks=n), cal.workday_end, zone)
    if u.startswith("fortnight"):
        return _at(local.date() + timedelta(weeks=2 * n), cal.workday_end, zone)
    if u.startswith("month"):
        return _at(_add_months(local.date(), round(n)), cal.workday_end, zone)
    raise ValueError(unit)
