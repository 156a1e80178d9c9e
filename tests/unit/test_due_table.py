"""What agents really type after ``/promise #42``: the measured table (issue 12 §4). Each row is the text,
and the due time (local wall time in London) and promise text expected — or the readings offered when the
bot must ask, or the reason it refuses. Now is Tuesday 24 November 2026, 10:00 in London."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.promises.due import DueParser, say_due

NOW = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
LONDON = "Europe/London"
P = DueParser()

TABLE = [
    # the failures named in the issue
    ("tomorrow 11.30 call back", "2026-11-25 11:30", "call back"),
    ("24h send the label", "2026-11-25 10:00", "send the label"),
    ("2 hours check the courier", "2026-11-24 12:00", "check the courier"),
    ("EOD tomorrow email the voucher", "2026-11-25 17:00", "email the voucher"),
    ("tomorrow EOD email the voucher", "2026-11-25 17:00", "email the voucher"),
    ("end of day call back", "2026-11-24 17:00", "call back"),
    ("within 2 working days refund", "2026-11-26 17:00", "refund"),
    ("end of week update", "2026-11-27 17:00", "update"),
    ("first thing tomorrow ring her", "2026-11-25 10:00", "ring her"),
    ("within 24 hours email", "2026-11-25 10:00", "email"),
    # dots, colons, am/pm
    ("tomorrow 9.15 call", "2026-11-25 09:15", "call"),
    ("tomorrow 14:30 call", "2026-11-25 14:30", "call"),
    ("tomorrow 3pm call back about the refund", "2026-11-25 15:00", "call back about the refund"),
    ("tomorrow 3 pm call back", "2026-11-25 15:00", "call back"),
    ("tomorrow 3p.m. call back", "2026-11-25 15:00", "call back"),
    ("tomorrow at 2 call", "2026-11-25 14:00", "call"),
    ("tomorrow at 9 call", "2026-11-25 09:00", "call"),
    ("tomorrow @ 4pm call", "2026-11-25 16:00", "call"),
    ("4pm call her", "2026-11-24 16:00", "call her"),
    ("16:00 call her", "2026-11-24 16:00", "call her"),
    ("by 4.45pm send it", "2026-11-24 16:45", "send it"),
    ("at 2.30 ring", "2026-11-24 14:30", "ring"),
    ("noon send the code", "2026-11-24 12:00", "send the code"),
    ("midday send the code", "2026-11-24 12:00", "send the code"),
    ("by midnight send the code", "2026-11-24 23:59", "send the code"),
    ("1700hrs callback", "2026-11-24 17:00", "callback"),
    # bare durations and "within"
    ("24 hours chase DHL", "2026-11-25 10:00", "chase DHL"),
    ("48h refund", "2026-11-26 10:00", "refund"),
    ("30 mins call", "2026-11-24 10:30", "call"),
    ("30min call", "2026-11-24 10:30", "call"),
    ("in 2 hours check the courier", "2026-11-24 12:00", "check the courier"),
    ("in 30 minutes call", "2026-11-24 10:30", "call"),
    ("in an hour call", "2026-11-24 11:00", "call"),
    ("in half an hour call", "2026-11-24 10:30", "call"),
    ("within the hour call", "2026-11-24 11:00", "call"),
    ("within an hour call", "2026-11-24 11:00", "call"),
    ("within 2 hrs call", "2026-11-24 12:00", "call"),
    ("in 3 days follow up", "2026-11-27 17:00", "follow up"),
    ("within 2 days follow up", "2026-11-26 17:00", "follow up"),
    ("within a week send replacement", "2026-12-01 17:00", "send replacement"),
    ("in 2 weeks check in", "2026-12-08 17:00", "check in"),
    ("within 5 working days refund", "2026-12-01 17:00", "refund"),
    ("within 3 business days refund", "2026-11-27 17:00", "refund"),
    ("5-7 working days refund", "2026-12-03 17:00", "refund"),
    ("within 5–7 working days refund", "2026-12-03 17:00", "refund"),
    ("2 working days refund", "2026-11-26 17:00", "refund"),
    ("in a couple of hours call", "2026-11-24 12:00", "call"),
    ("within two days email", "2026-11-26 17:00", "email"),
    # end of day / week / month
    ("eod send the form", "2026-11-24 17:00", "send the form"),
    ("EOD send the form", "2026-11-24 17:00", "send the form"),
    ("cob send the form", "2026-11-24 17:00", "send the form"),
    ("close of business send the form", "2026-11-24 17:00", "send the form"),
    ("end of play send the form", "2026-11-24 17:00", "send the form"),
    ("by end of day send the form", "2026-11-24 17:00", "send the form"),
    ("end of the week update", "2026-11-27 17:00", "update"),
    ("eow update", "2026-11-27 17:00", "update"),
    ("end of next week update", "2026-12-04 17:00", "update"),
    ("end of month invoice", "2026-11-30 17:00", "invoice"),
    ("end of next month invoice", "2026-12-31 17:00", "invoice"),
    ("friday eod update", "2026-11-27 17:00", "update"),
    ("eod friday update", "2026-11-27 17:00", "update"),
    # days and parts of the day
    ("today call back", "2026-11-24 17:00", "call back"),
    ("tomorrow call back", "2026-11-25 17:00", "call back"),
    ("tmrw call back", "2026-11-25 17:00", "call back"),
    ("friday send the replacement", "2026-11-27 17:00", "send the replacement"),
    ("fri send the replacement", "2026-11-27 17:00", "send the replacement"),
    ("on thursday send it", "2026-11-26 17:00", "send it"),
    ("tuesday call", "2026-12-01 17:00", "call"),  # a weekday name is never today
    ("next tuesday 3pm call", "2026-12-01 15:00", "call"),
    ("monday 10am call", "2026-11-30 10:00", "call"),
    ("mon 10:30 call", "2026-11-30 10:30", "call"),
    ("next week follow up", "2026-11-30 17:00", "follow up"),
    ("day after tomorrow call", "2026-11-26 17:00", "call"),
    ("tomorrow morning call", "2026-11-25 12:00", "call"),
    ("tomorrow afternoon call", "2026-11-25 17:00", "call"),
    ("tomorrow evening call", "2026-11-25 20:00", "call"),
    ("this afternoon call", "2026-11-24 17:00", "call"),
    ("this evening call", "2026-11-24 20:00", "call"),
    ("tonight email the invoice", "2026-11-24 21:00", "email the invoice"),
    ("later today call", "2026-11-24 17:00", "call"),
    ("first thing monday call", "2026-11-30 10:00", "call"),
    ("first thing call the depot", "2026-11-25 10:00", "call the depot"),
    ("thursday between 8am and 1pm engineer visit", "2026-11-26 13:00", "engineer visit"),
    ("thursday 8-1pm engineer visit", "2026-11-26 13:00", "engineer visit"),
    ("wed am call", "2026-11-25 12:00", "call"),
    ("tomorrow pm call", "2026-11-25 17:00", "call"),
    ("tomorrow half 3 call", "2026-11-25 15:30", "call"),  # British: half past three
    ("quarter past 2 call", "2026-11-24 14:15", "call"),
    ("5pm tmrw call", "2026-11-25 17:00", "call"),
    ("by 10 tomorrow call", "2026-11-25 10:00", "call"),
    ("noon tomorrow call", "2026-11-25 12:00", "call"),
    ("this week call", "2026-11-27 17:00", "call"),
    # dates
    ("25 nov call", "2026-11-25 17:00", "call"),
    ("25th November call", "2026-11-25 17:00", "call"),
    ("Dec 3 call", "2026-12-03 17:00", "call"),
    ("December 3rd 2pm call", "2026-12-03 14:00", "call"),
    ("2026-12-03 14:00 call", "2026-12-03 14:00", "call"),
    ("3/12 call", "2026-12-03 17:00", "call"),  # en-GB: 3 December
    ("3/12/2026 call", "2026-12-03 17:00", "call"),
    ("5 jan send", "2027-01-05 17:00", "send"),  # a date passed this year is next year's
    # the time at the end
    ("call back tomorrow 3pm", "2026-11-25 15:00", "call back"),
    ("send the voucher by friday", "2026-11-27 17:00", "send the voucher"),
    ("chase finance within 2 working days", "2026-11-26 17:00", "chase finance"),
]

ASKS = [
    # a number that could be the time or part of the promise
    (
        "tomorrow 2 vouchers to send",
        [("2026-11-25 14:00", "vouchers to send"), ("2026-11-25 17:00", "2 vouchers to send")],
    ),
    (
        "friday 3 boxes to collect",
        [("2026-11-27 15:00", "boxes to collect"), ("2026-11-27 17:00", "3 boxes to collect")],
    ),
    # a time already passed today
    ("9am call", [("2026-11-25 09:00", "call")]),
    ("9.30 call", [("2026-11-25 09:30", "call")]),
    # an impossible date read the locale's way round
    ("12/25 send the gift", [("2026-12-25 17:00", "send the gift")]),
]

REFUSED = [
    ("call back soon", "couldn't find when"),
    ("asap call", "couldn't find when"),
    ("25.12 call", "couldn't find when"),  # a dotted date is not guessed at
    ("tomorrow 3pm", "Say what was promised"),
    ("2025-01-01 call", "has passed"),
    ("2028-01-01 call", "more than a year"),
    ("31/02 call", "not a date"),
    ("", "Say when"),
]


def shown(due: datetime) -> str:
    return due.astimezone(ZoneInfo(LONDON)).strftime("%Y-%m-%d %H:%M")


def test_the_table_is_big_enough():
    assert len(TABLE) + len(ASKS) + len(REFUSED) >= 80


@pytest.mark.parametrize(("text", "due", "what"), TABLE)
def test_reads_as_meant(text, due, what):
    reading = P.read(text, now=NOW, tz=LONDON, locale="en-GB")
    assert reading.error is None, reading.error
    assert reading.ask is None, reading.ask
    assert (shown(reading.due), reading.what) == (due, what)


@pytest.mark.parametrize(("text", "options"), ASKS)
def test_unclear_words_are_asked_about(text, options):
    reading = P.read(text, now=NOW, tz=LONDON, locale="en-GB")
    assert reading.ask
    assert reading.due is None
    assert [(shown(o.due), o.what) for o in reading.options] == options


@pytest.mark.parametrize(("text", "reason"), REFUSED)
def test_refusals_say_why(text, reason):
    reading = P.read(text, now=NOW, tz=LONDON, locale="en-GB")
    assert reading.error
    assert reason in reading.error


def test_day_month_order_follows_the_locale():
    us = P.read("3/12 call", now=NOW, tz=LONDON, locale="en-US")
    assert shown(us.due) == "2027-03-12 17:00"
    us_ask = P.read("25/12 call", now=NOW, tz=LONDON, locale="en-US")  # impossible as month/day
    assert us_ask.ask
    assert [shown(o.due) for o in us_ask.options] == ["2026-12-25 17:00"]
    unknown = P.read("3/12 call", now=NOW, tz=LONDON, locale=None)  # no locale: both readings offered
    assert unknown.ask
    assert [shown(o.due) for o in unknown.options] == ["2026-12-03 17:00", "2027-03-12 17:00"]


def test_end_of_day_after_hours_asks():
    late = datetime(2026, 11, 24, 18, 30, tzinfo=UTC)
    reading = P.read("eod send it", now=late, tz=LONDON)
    assert reading.ask
    assert [shown(o.due) for o in reading.options] == ["2026-11-24 23:59", "2026-11-25 17:00"]


def test_working_days_skip_weekends_and_holidays():
    friday = datetime(2026, 12, 24, 10, 0, tzinfo=UTC)  # Thursday 24 Dec
    plain = DueParser()
    holidays = DueParser(holidays=frozenset({date(2026, 12, 25), date(2026, 12, 28)}))
    assert shown(plain.read("within 2 working days refund", now=friday, tz=LONDON).due) == "2026-12-28 17:00"
    assert shown(holidays.read("within 2 working days refund", now=friday, tz=LONDON).due) == "2026-12-30 17:00"


def test_confirmation_says_the_time_in_words():
    due = P.read("tomorrow call", now=NOW, tz=LONDON).due
    assert say_due(due, now=NOW, tz=LONDON) == "Wed 25 Nov, 17:00 your time — tomorrow"
    soon = P.read("in 2 hours call", now=NOW, tz=LONDON).due
    assert say_due(soon, now=NOW, tz=LONDON) == "Tue 24 Nov, 12:00 your time — today, in 2 h"
