"""Time zones written next to a time: "3pm PST", "15:00 CET", "10am Pacific", "6pm London time",
"Friday 10:00 Europe/Paris".

Why a region's wall clock and not a fixed offset: a support desk that writes "3pm PST" in July means
three in the afternoon in California, not 14:00 PDT — so PST, PDT and PT all read as
America/Los_Angeles, and the confirmation shows the time in both zones so the agent sees what was
saved. GMT and UTC are fixed (UTC). Abbreviations that name different places (IST: India, Ireland,
Israel; CST: US Central, China) are never picked silently: each place is a reading to choose from.

A zone counts only beside a time it qualifies, and the short ones only in capitals — "et" is French
for "and", "ist" German for "is".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from zoneinfo import ZoneInfo, available_timezones

ABBREVIATIONS: dict[str, tuple[str, ...]] = {
    "PST": ("America/Los_Angeles",),
    "PDT": ("America/Los_Angeles",),
    "PT": ("America/Los_Angeles",),
    "MST": ("America/Denver",),
    "MDT": ("America/Denver",),
    "MT": ("America/Denver",),
    "CST": ("America/Chicago", "Asia/Shanghai"),
    "CDT": ("America/Chicago",),
    "CT": ("America/Chicago",),
    "EST": ("America/New_York",),
    "EDT": ("America/New_York",),
    "ET": ("America/New_York",),
    "AKST": ("America/Anchorage",),
    "AKDT": ("America/Anchorage",),
    "HST": ("Pacific/Honolulu",),
    "BRT": ("America/Sao_Paulo",),
    "ART": ("America/Argentina/Buenos_Aires",),
    "GMT": ("UTC",),
    "UTC": ("UTC",),
    "BST": ("Europe/London",),
    "WET": ("Europe/Lisbon",),
    "WEST": ("Europe/Lisbon",),
    "CET": ("Europe/Paris",),
    "CEST": ("Europe/Paris",),
    "MEZ": ("Europe/Berlin",),
    "MESZ": ("Europe/Berlin",),
    "EET": ("Europe/Athens",),
    "EEST": ("Europe/Athens",),
    "MSK": ("Europe/Moscow",),
    "SAST": ("Africa/Johannesburg",),
    "IST": ("Asia/Kolkata", "Europe/Dublin", "Asia/Jerusalem"),
    "PKT": ("Asia/Karachi",),
    "WIB": ("Asia/Jakarta",),
    "SGT": ("Asia/Singapore",),
    "HKT": ("Asia/Hong_Kong",),
    "PHT": ("Asia/Manila",),
    "KST": ("Asia/Seoul",),
    "JST": ("Asia/Tokyo",),
    "AWST": ("Australia/Perth",),
    "ACST": ("Australia/Adelaide",),
    "ACDT": ("Australia/Adelaide",),
    "AEST": ("Australia/Sydney",),
    "AEDT": ("Australia/Sydney",),
    "NZST": ("Pacific/Auckland",),
    "NZDT": ("Pacific/Auckland",),
}
"""Each abbreviation's place(s); more than one: the reader asks which."""

_LOWER_OK = frozenset(a for a in ABBREVIATIONS if len(a) >= 3) - {"EST", "IST", "ART", "WET", "MEZ"}
"""Abbreviations also read in lower case (typed quickly: "3pm pst"); not those that are words in the
languages the desk reads (French "est", German "ist"), and never the two-letter ones."""

WORDS: dict[str, str] = {
    "pacific": "America/Los_Angeles",
    "mountain": "America/Denver",
    "central": "America/Chicago",
    "eastern": "America/New_York",
    "uk": "Europe/London",
    "british": "Europe/London",
    "irish": "Europe/Dublin",
    "india": "Asia/Kolkata",
    "indian": "Asia/Kolkata",
}
"""Words that name a zone before "time" or alone beside a clock ("10am Pacific", "UK time")."""

PLACES: dict[str, str] = {
    "Asia/Kolkata": "India",
    "Europe/Dublin": "Ireland",
    "Asia/Jerusalem": "Israel",
    "America/Chicago": "US Central",
    "Asia/Shanghai": "China",
}
"""How a question names the places an ambiguous abbreviation may mean."""

_IANA = re.compile(r"\b[A-Za-z]+(?:/[A-Za-z_-]+){1,2}\b")
_ABBR = re.compile(r"(?<![\w/])(" + "|".join(sorted(ABBREVIATIONS, key=len, reverse=True)) + r")(?![\w/])")
_ABBR_ANY_CASE = re.compile(
    r"(?<![\w/])(" + "|".join(sorted(_LOWER_OK, key=len, reverse=True)) + r")(?![\w/])", re.IGNORECASE
)
_NAMED = re.compile(
    r"\(?\b(?:(?P<word>" + "|".join(WORDS) + r")(?:\s+time)?|(?P<city>[a-z]+(?:[ _-][a-z]+)?)\s+time)\b\)?",
    re.IGNORECASE,
)
_UTC_OFFSET = re.compile(r"(?<![\w+-])(?:utc|gmt)\s*(?P<sign>[+-])\s*(?P<h>\d{1,2})(?::?(?P<m>[0-5]\d))?(?!\d)", re.I)


@dataclass(frozen=True)
class ZoneMention:
    start: int
    end: int
    said: str
    """As written ("PST", "Europe/Paris", "London time")."""
    names: tuple[str, ...]
    """The IANA zone(s) it may mean; several: ask."""


@cache
def _by_lower() -> dict[str, str]:
    """IANA names by lower case, and each city ("london", "new york", "sao paulo") by its name."""
    found: dict[str, str] = {}
    for name in sorted(available_timezones()):
        if name.startswith(("Etc/", "SystemV/", "US/", "posix/", "right/")) or "/" not in name:
            continue
        found[name.lower()] = name
        city = name.rsplit("/", 1)[-1].lower().replace("_", " ")
        found.setdefault(f"city:{city}", name)
    return found


def find(text: str) -> list[ZoneMention]:
    """Every zone named in ``text`` (as written: the case of an abbreviation matters), in order."""
    found: list[ZoneMention] = []
    for m in _UTC_OFFSET.finditer(text):
        hours = int(m["h"]) + int(m["m"] or 0) / 60
        if hours <= 14:
            sign = -1 if m["sign"] == "-" else 1
            offset = sign * hours
            # Etc/GMT signs are inverted (Etc/GMT-5 is UTC+5); whole hours only have a zone name.
            if offset == int(offset):
                name = "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(int(offset))}"
                found.append(ZoneMention(m.start(), m.end(), m.group(0), (name,)))
    for m in _IANA.finditer(text):
        name = _by_lower().get(m.group(0).lower())
        if name:
            found.append(ZoneMention(m.start(), m.end(), m.group(0), (name,)))
    for m in _ABBR.finditer(text):
        found.append(ZoneMention(m.start(), m.end(), m.group(1), ABBREVIATIONS[m.group(1)]))
    for m in _ABBR_ANY_CASE.finditer(text):
        said = m.group(1).upper()
        if said != m.group(1):
            found.append(ZoneMention(m.start(), m.end(), said, ABBREVIATIONS[said]))
    for m in _NAMED.finditer(text):
        start = m.start()
        if m["word"]:
            name = WORDS[m["word"].lower()]
        else:
            # "am UK time", "at London time": a two-word match whose last word is the place
            name = ""
            words = m["city"].replace("-", " ").replace("_", " ").split()
            for k in range(len(words)):
                city = " ".join(words[k:]).lower()
                name = _by_lower().get("city:" + city, "") or WORDS.get(city, "")
                if name:
                    start = m.start("city") + m["city"].lower().rfind(words[k].lower())
                    break
        if name:
            found.append(ZoneMention(start, m.end(), text[start : m.end()].strip("()"), (name,)))
    found.sort(key=lambda z: (z.start, -(z.end - z.start)))
    kept: list[ZoneMention] = []
    for z in found:
        if not kept or z.start >= kept[-1].end:
            kept.append(z)
    return kept


def place(name: str, at: datetime) -> str:
    """ "India (UTC+5:30)": a place and its offset at that moment, for a question's buttons."""
    offset = at.astimezone(ZoneInfo(name)).utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    h, m = divmod(abs(minutes), 60)
    shown = f"UTC{sign}{h}" + (f":{m:02d}" if m else "")
    label = PLACES.get(name, name.rsplit("/", 1)[-1].replace("_", " "))
    return f"{label} ({shown})"
