"""Report dates and periods: months, half-months, "same day last month", bulletin numbers."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, timedelta

from gis.ledger.query import ProblemQuery


@dataclass(frozen=True)
class ReportDate:
    """The day a report speaks for, and whether the ledger is read live or as of that day."""

    day: date
    as_of: date | None = None

    @classmethod
    def for_request(cls, today: date, as_of: date | None) -> ReportDate:
        """``as_of`` (a past day, read from the events) or the live ledger on ``today``."""
        if as_of is not None and as_of > today:
            raise ValueError(f"as_of {as_of.isoformat()} is in the future (today is {today})")
        return cls(day=as_of, as_of=as_of) if as_of is not None else cls(day=today)

    def query(self, **filters: object) -> ProblemQuery:
        """A :class:`ProblemQuery` reading the ledger on this date, narrowed by ``filters``."""
        return ProblemQuery(as_of=self.as_of, **filters)  # type: ignore[arg-type]


def month_start(day: date) -> date:
    """The first day of ``day``'s month."""
    return day.replace(day=1)


def add_months(day: date, months: int) -> date:
    """``day`` moved by ``months`` calendar months, clamped to the last day of the month."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def month_end(day: date) -> date:
    """The last day of ``day``'s month."""
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def last_months(day: date, n: int = 12) -> list[date]:
    """First days of the ``n`` months ending with ``day``'s month, oldest first."""
    first = month_start(day)
    return [add_months(first, -k) for k in range(n - 1, -1, -1)]


def half_month(day: date) -> tuple[date, date]:
    """The half-month holding ``day``: the 1st–15th or the 16th–end of the month."""
    if day.day <= 15:
        return day.replace(day=1), day.replace(day=15)
    return day.replace(day=16), month_end(day)


def daily_number(day: date) -> int:
    """A daily bulletin's issue number: the day of the year."""
    return day.timetuple().tm_yday


def half_month_number(day: date) -> int:
    """A half-monthly bulletin's issue number: 1–24 through the year."""
    return (day.month - 1) * 2 + (1 if day.day <= 15 else 2)


def issue_label(year: int, number: int) -> str:
    """The bulletin number as printed: 〔2026〕第N期."""
    return f"〔{year}〕第{number}期"


def span_days(start: date, end: date) -> int:
    """Days from ``start`` to ``end``, both included."""
    return (end - start).days + 1


def previous_span(start: date, end: date) -> tuple[date, date]:
    """The span of equal length just before ``start``."""
    length = span_days(start, end)
    return start - timedelta(days=length), start - timedelta(days=1)
