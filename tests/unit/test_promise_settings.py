"""PROMISE_HOLIDAYS: days that are not working days, read once at start-up and refused clearly."""

from __future__ import annotations

from datetime import date

import pytest

from bot.config import SettingsError, load_settings
from tests.unit.test_config import GOOD


def test_holidays_are_read():
    s = load_settings({**GOOD, "PROMISE_HOLIDAYS": "2026-12-25, 2026-12-28"}, dotenv_path=None)
    assert s.promise_holidays == frozenset({date(2026, 12, 25), date(2026, 12, 28)})
    assert load_settings(GOOD, dotenv_path=None).promise_holidays == frozenset()


def test_a_bad_holiday_is_one_clear_problem():
    with pytest.raises(SettingsError) as info:
        load_settings({**GOOD, "PROMISE_HOLIDAYS": "2026-12-25,Christmas"}, dotenv_path=None)
    assert "PROMISE_HOLIDAYS" in info.value.render()
    assert "'Christmas' is not a date like 2026-12-25" in info.value.render()
