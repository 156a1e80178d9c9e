"""Promises read the way people write them, in five languages, with and without a time zone, on a
winter and a summer day (#21).

The table is built from parts whose meaning is known — a day ("tomorrow", "el viernes"), a clock time
("3pm", "16h30"), a zone ("PST", "Europe/Paris", "London time") — and each row's expected due time is
computed from those parts with plain date arithmetic, never with the reader under test. Every row is
read twice: typed (``/promise … call back``) and inside a whole brand reply in its language. A row
whose time has already passed must be asked about or refused, never saved silently.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.promises.commitments import find_commitments
from bot.promises.due import DueParser

WINTER = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)  # Tuesday; London on GMT, California on PST
SUMMER = datetime(2026, 7, 14, 9, 0, tzinfo=UTC)  # Tuesday; London on BST, California on PDT
OWNER = "Europe/London"
P = DueParser()


@dataclass(frozen=True)
class Day:
    words: str
    offset: int | None = None  # days after today
    weekday: int | None = None  # the next such weekday after today


@dataclass(frozen=True)
class Clock:
    words: str
    at: time


ZONES: list[tuple[str, str]] = [
    ("PST", "America/Los_Angeles"),
    ("PT", "America/Los_Angeles"),
    ("Pacific", "America/Los_Angeles"),
    ("ET", "America/New_York"),
    ("EDT", "America/New_York"),
    ("CET", "Europe/Paris"),
    ("Europe/Paris", "Europe/Paris"),
    ("London time", "Europe/London"),
    ("Sydney time", "Australia/Sydney"),
    ("UTC", "UTC"),
    ("JST", "Asia/Tokyo"),
    ("AEST", "Australia/Sydney"),
]
AMBIGUOUS = ["IST", "CST"]

LANGUAGES = {
    "en": {
        "locale": "en-GB",
        "days": [Day("today", 0), Day("tomorrow", 1), Day("on Friday", weekday=4), Day("Monday", weekday=0)],
        "clocks": [
            Clock("3pm", time(15, 0)),
            Clock("at 10am", time(10, 0)),
            Clock("15:30", time(15, 30)),
            Clock("by 5pm", time(17, 0)),
            Clock("9.30am", time(9, 30)),
        ],
        "typed": "call back",
        "reply": "We'll call you back {when}.",
        "keeps": "call",
    },
    "es": {
        "locale": "es-ES",
        "days": [Day("hoy", 0), Day("mañana", 1), Day("el viernes", weekday=4)],
        "clocks": [Clock("a las 10", time(10, 0)), Clock("a las 16:30", time(16, 30)), Clock("a las 18", time(18, 0))],
        "typed": "llamar al cliente",
        "reply": "Te llamaremos {when}.",
        "keeps": "llamaremos",
    },
    "fr": {
        "locale": "fr-FR",
        "days": [Day("aujourd'hui", 0), Day("demain", 1), Day("vendredi", weekday=4)],
        "clocks": [Clock("à 10h", time(10, 0)), Clock("16h30", time(16, 30)), Clock("avant 18h", time(18, 0))],
        "typed": "rappeler le client",
        "reply": "Nous vous rappellerons {when}.",
        "keeps": "rappellerons",
    },
    "de": {
        "locale": "de-DE",
        "days": [Day("heute", 0), Day("morgen", 1), Day("am Freitag", weekday=4)],
        "clocks": [
            Clock("um 10 Uhr", time(10, 0)),
            Clock("um 16:30 Uhr", time(16, 30)),
            Clock("bis 18 Uhr", time(18, 0)),
        ],
        "typed": "Kunden zurückrufen",
        "reply": "Wir rufen Sie {when} zurück.",
        "keeps": "rufen",
    },
    "pt": {
        "locale": "pt-BR",
        "days": [Day("hoje", 0), Day("amanhã", 1), Day("sexta-feira", weekday=4)],
        "clocks": [Clock("às 10", time(10, 0)), Clock("às 16h30", time(16, 30)), Clock("às 18h", time(18, 0))],
        "typed": "ligar para o cliente",
        "reply": "Vamos ligar para você {when}.",
        "keeps": "ligar",
    },
}


def expected(now: datetime, day: Day, clock: Clock, zone: str) -> datetime:
    """The due time from the parts' meaning: that day, in that zone's calendar, at that wall clock."""
    local = now.astimezone(ZoneInfo(zone))
    if day.offset is not None:
        date = local.date() + timedelta(days=day.offset)
    else:
        date = local.date() + timedelta(days=(day.weekday - local.weekday()) % 7 or 7)  # type: ignore[operator]
    return datetime.combine(date, clock.at, tzinfo=ZoneInfo(zone)).astimezone(UTC)


@dataclass(frozen=True)
class Row:
    lang: str
    when: str
    now: datetime
    due: datetime | None  # None: must be asked about (or refused: the time has passed)

    def __str__(self) -> str:
        return f"{self.lang}:{self.when}@{self.now:%b}"


def rows() -> list[Row]:
    out = []
    for now in (WINTER, SUMMER):
        for lang, spec in LANGUAGES.items():
            zones = [(None, OWNER)] + (ZONES if lang == "en" else ZONES[5:8])
            for day in spec["days"]:
                for clock in spec["clocks"]:
                    for said, zone in zones:
                        due = expected(now, day, clock, zone)
                        due_or_ask = due if due > now else None
                        z = f" {said}" if said else ""
                        out.append(Row(lang, f"{day.words} {clock.words}{z}", now, due_or_ask))
                        if lang == "en" and said:
                            out.append(Row(lang, f"{clock.words}{z} {day.words}", now, due_or_ask))
            if lang == "en":
                for said in AMBIGUOUS:
                    out.append(Row(lang, f"tomorrow 2pm {said}", now, None))
    return out


ROWS = rows()


def test_the_table_has_hundreds_of_phrasings_in_five_languages_and_two_seasons():
    assert len(ROWS) >= 300
    assert {r.lang for r in ROWS} == set(LANGUAGES)
    assert {r.now for r in ROWS} == {WINTER, SUMMER}
    assert sum(1 for r in ROWS if r.due is None) >= 20  # passed times and ambiguous zones: asked


@pytest.mark.parametrize("row", ROWS, ids=str)
def test_a_typed_promise_reads_as_meant_and_keeps_no_time_words(row: Row):
    spec = LANGUAGES[row.lang]
    reading = P.read(f"{row.when} {spec['typed']}", now=row.now, tz=OWNER, locale=spec["locale"])
    if row.due is None:
        assert reading.ask or reading.error, (row, reading)
        return
    assert reading.error is None, (row, reading)
    assert reading.ask is None, (row, reading)
    assert reading.due == row.due, (str(row), reading.due, row.due)
    assert reading.what == spec["typed"]


@pytest.mark.parametrize("row", [r for r in ROWS if r.due is not None], ids=str)
def test_a_promise_in_a_brand_reply_reads_as_meant(row: Row):
    spec = LANGUAGES[row.lang]
    text = spec["reply"].format(when=row.when)
    [found] = find_commitments(text, now=row.now, tz=OWNER, locale=spec["locale"])
    assert (found.due, found.ask) == (row.due, None), text
    assert spec["keeps"] in found.text
    for said, _ in ZONES:
        assert f" {said}" not in f" {found.text}", found.text


PLAIN = [r for r in ROWS if r.lang == "en" and r.due is not None and not any(z in r.when for z, _ in ZONES)]


@settings(max_examples=300, deadline=None)
@given(row=st.sampled_from(PLAIN), zone=st.sampled_from(ZONES))
def test_a_phrase_with_a_zone_is_the_phrase_read_in_that_zone(row: Row, zone: tuple[str, str]):
    """Metamorphic: whatever "P" means to someone in zone Z, "P Z" means to anyone, anywhere."""
    said, name = zone
    in_zone = P.read(f"{row.when} call back", now=row.now, tz=name, locale="en-GB")
    with_zone = P.read(f"{row.when} {said} call back", now=row.now, tz=OWNER, locale="en-GB")
    assert (with_zone.due, with_zone.what, bool(with_zone.ask), bool(with_zone.error)) == (
        in_zone.due,
        in_zone.what,
        bool(in_zone.ask),
        bool(in_zone.error),
    )
