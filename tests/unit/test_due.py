"""Due times read with support-desk sense, in the owner's time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.promises.due import BadDueTime, DueParser, split_when_what

# Wednesday 4 March 2026, 10:00 in New York (15:00 UTC). US DST starts Sunday 8 March.
NOW = datetime(2026, 3, 4, 15, 0, tzinfo=UTC)
NY = "America/New_York"
P = DueParser()


def local(text: str, tz: str = NY) -> str:
    from zoneinfo import ZoneInfo

    return P.parse(text, now=NOW, tz=tz).astimezone(ZoneInfo(tz)).strftime("%a %Y-%m-%d %H:%M %Z")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("eod", "Wed 2026-03-04 17:00 EST"),
        ("end of day", "Wed 2026-03-04 17:00 EST"),
        ("tomorrow", "Thu 2026-03-05 17:00 EST"),
        ("tomorrow 3pm", "Thu 2026-03-05 15:00 EST"),
        ("Tomorrow at 9:30am", None),
        ("friday", "Fri 2026-03-06 17:00 EST"),
        ("wed", "Wed 2026-03-11 17:00 EDT"),  # the next Wednesday, after the DST change
        ("monday 10am", "Mon 2026-03-09 10:00 EDT"),
        ("next tuesday 3pm", "Tue 2026-03-10 15:00 EDT"),
        ("next week", "Mon 2026-03-09 17:00 EDT"),
        ("in 2 hours", "Wed 2026-03-04 12:00 EST"),
        ("in 30 minutes", "Wed 2026-03-04 10:30 EST"),
        ("in an hour", "Wed 2026-03-04 11:00 EST"),
        ("4pm", "Wed 2026-03-04 16:00 EST"),
        ("March 5 2pm", "Thu 2026-03-05 14:00 EST"),
        ("2026-03-12 14:00", "Thu 2026-03-12 14:00 EDT"),
        ("12 March", "Thu 2026-03-12 17:00 EDT"),
        ("tomorrow morning", "Thu 2026-03-05 12:00 EST"),  # a due time is the end of the morning
    ],
)
def test_support_desk_readings(text, expected):
    if expected is None:
        assert local(text) == "Thu 2026-03-05 09:30 EST"
    else:
        assert local(text) == expected


def test_same_words_in_another_time_zone():
    assert local("tomorrow 3pm", "Europe/London") == "Thu 2026-03-05 15:00 GMT"
    assert local("eod", "Asia/Tokyo") == "Thu 2026-03-05 17:00 JST"  # already Thursday 00:00 in Tokyo


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("whenever", "couldn't read"),
        ("", "Say when"),
        ("9am", "has passed"),
        ("2025-01-01", "has passed"),
        ("2028-01-01", "more than a year"),
        ("blorp 77", "couldn't read"),
    ],
)
def test_rejections_say_why_and_give_examples(text, reason):
    with pytest.raises(BadDueTime, match=reason) as info:
        P.parse(text, now=NOW, tz=NY)
    if reason == "couldn't read" or text == "2025-01-01":
        assert "tomorrow 3pm" in str(info.value)
    if text == "9am":  # a clock time already passed today is asked about, with the reading offered
        assert "did you mean tomorrow at 09:00" in str(info.value)


@pytest.mark.parametrize(
    ("text", "when", "what"),
    [
        ("tomorrow 3pm call back about the refund", "Thu 2026-03-05 15:00 EST", "call back about the refund"),
        ("friday send the replacement", "Fri 2026-03-06 17:00 EST", "send the replacement"),
        ("in 2 hours check the courier", "Wed 2026-03-04 12:00 EST", "check the courier"),
        ("eod email the voucher", "Wed 2026-03-04 17:00 EST", "email the voucher"),
        ("next week follow up", "Mon 2026-03-09 17:00 EDT", "follow up"),
    ],
)
def test_split_when_and_what(text, when, what):
    from zoneinfo import ZoneInfo

    due, promised = split_when_what(text, P, now=NOW, tz=NY)
    assert due.astimezone(ZoneInfo(NY)).strftime("%a %Y-%m-%d %H:%M %Z") == when
    assert promised == what


def test_split_needs_both_parts():
    with pytest.raises(BadDueTime, match="Say what was promised"):
        split_when_what("tomorrow 3pm", P, now=NOW, tz=NY)
    with pytest.raises(BadDueTime, match="couldn't find when"):
        split_when_what("call back soon", P, now=NOW, tz=NY)


class TestQuietHours:
    from bot.config import parse_quiet_hours as _parse

    Q = _parse("20:00-08:00,weekends")

    @staticmethod
    def shown(value, tz):
        from zoneinfo import ZoneInfo

        return None if value is None else value.astimezone(ZoneInfo(tz)).strftime("%a %H:%M")

    @pytest.mark.parametrize(
        ("utc", "tz", "expected"),
        [
            (datetime(2026, 3, 4, 15, 0, tzinfo=UTC), NY, None),  # Wed 10:00 in New York: fine
            (datetime(2026, 3, 5, 2, 0, tzinfo=UTC), NY, "Thu 08:00"),  # Wed 21:00 NY → Thu 08:00
            (datetime(2026, 3, 5, 2, 0, tzinfo=UTC), "Asia/Tokyo", None),  # Thu 11:00 in Tokyo
            (datetime(2026, 3, 6, 23, 0, tzinfo=UTC), "Europe/London", "Mon 08:00"),  # Fri 23:00 → Monday
            (datetime(2026, 3, 7, 12, 0, tzinfo=UTC), NY, "Mon 08:00"),  # Saturday → Monday
            (datetime(2026, 3, 5, 12, 30, tzinfo=UTC), NY, "Thu 08:00"),  # 07:30 NY → 08:00
        ],
    )
    def test_quiet_windows(self, utc, tz, expected):
        from bot.promises.quiet import next_allowed

        assert self.shown(next_allowed(utc, self.Q, tz), tz) == expected

    def test_dst_change_keeps_local_wall_time(self):
        from bot.promises.quiet import next_allowed

        # Saturday 7 March 2026 22:00 EST; clocks go forward on Sunday: Monday 08:00 is EDT (12:00 UTC).
        result = next_allowed(datetime(2026, 3, 8, 3, 0, tzinfo=UTC), self.Q, NY)
        assert result == datetime(2026, 3, 9, 12, 0, tzinfo=UTC)
        # The same moment in London (no change that weekend): Monday 08:00 GMT.
        assert next_allowed(datetime(2026, 3, 8, 3, 0, tzinfo=UTC), self.Q, "Europe/London") == datetime(
            2026, 3, 9, 8, 0, tzinfo=UTC
        )

    def test_off(self):
        from bot.config import parse_quiet_hours
        from bot.promises.quiet import next_allowed

        assert next_allowed(datetime(2026, 3, 7, 12, 0, tzinfo=UTC), parse_quiet_hours("off"), NY) is None
