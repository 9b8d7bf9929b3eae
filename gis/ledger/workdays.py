"""Working days on the Chinese official calendar (法定节假日 and 调休 make-up workdays).

Years the State Council has published come from ``chinese-calendar``, which knows both holidays
and make-up workdays. Later years are not announced yet: for them the statutory holidays come
from ``holidays`` (China) and weekends are rest days; such answers are *provisional* and
:func:`is_provisional` says so.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar
import holidays


@lru_cache(maxsize=64)
def _statutory(year: int) -> frozenset[date]:
    return frozenset(holidays.China(years=year).keys())


def is_provisional(day: date) -> bool:
    """True when ``day``'s year is not yet covered by the published official calendar."""
    try:
        chinese_calendar.is_workday(day)
    except NotImplementedError:
        return True
    return False


def is_workday(day: date) -> bool:
    """Whether government offices work on ``day``."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return day.weekday() < 5 and day not in _statutory(day.year)


def add_workdays(start: date, days: int) -> date:
    """The date ``days`` working days after ``start`` (``start`` itself not counted)."""
    if days < 0:
        raise ValueError("days must not be negative")
    current, left = start, days
    while left:
        current += timedelta(days=1)
        if is_workday(current):
            left -= 1
    return current


def workdays_between(start: date, end: date) -> int:
    """Working days after ``start`` up to and including ``end`` (negative when end < start)."""
    if end < start:
        return -workdays_between(end, start)
    return sum(is_workday(start + timedelta(days=i)) for i in range(1, (end - start).days + 1))
