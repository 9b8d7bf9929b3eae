"""Working days on the Chinese official calendar (法定节假日 and 调休 make-up workdays).

Three sources, in order of authority:

1. a year's official schedule that an admin loaded (``lookback calendar load FILE``, stored in
   ``official_calendar``): the State Council's notice for that year, holidays and make-up
   workdays; days of a loaded year that the file does not list follow the week;
2. ``chinese-calendar``, for the years it was published with;
3. for later years, the statutory holidays from ``holidays`` (China) and weekends as rest days —
   such answers are *provisional* (:func:`is_provisional`) until the year is loaded, and every
   surface that shows a working-day deadline says so.

The functions take an :class:`OfficialCalendar` (``load_calendar(session)``); without one they
use only the packages, as before any year was loaded.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import chinese_calendar
import holidays
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from gis.config import get_settings
from gis.db.models import Complaint, OfficialDay
from gis.errors import LookbackError


@dataclass(frozen=True)
class OfficialCalendar:
    """The years an admin loaded and their listed days (``True``: a make-up workday)."""

    years: frozenset[int] = frozenset()
    days: Mapping[date, bool] = field(default_factory=dict)


NO_CALENDAR = OfficialCalendar()


@lru_cache(maxsize=64)
def _statutory(year: int) -> frozenset[date]:
    return frozenset(holidays.China(years=year).keys())


def _published(day: date) -> bool | None:
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        return None


def is_provisional(day: date, calendar: OfficialCalendar = NO_CALENDAR) -> bool:
    """True when ``day``'s year is neither loaded nor covered by the published calendar."""
    return day.year not in calendar.years and _published(day) is None


def is_workday(day: date, calendar: OfficialCalendar = NO_CALENDAR) -> bool:
    """Whether government offices work on ``day``."""
    if day.year in calendar.years:
        return calendar.days.get(day, day.weekday() < 5)
    published = _published(day)
    if published is not None:
        return published
    return day.weekday() < 5 and day not in _statutory(day.year)


def add_workdays(start: date, days: int, calendar: OfficialCalendar = NO_CALENDAR) -> date:
    """The date ``days`` working days after ``start`` (``start`` itself not counted)."""
    if days < 0:
        raise ValueError("days must not be negative")
    current, left = start, days
    while left:
        current += timedelta(days=1)
        if is_workday(current, calendar):
            left -= 1
    return current


def workdays_between(
    start: date, end: date, calendar: OfficialCalendar = NO_CALENDAR
) -> int:
    """Working days after ``start`` up to and including ``end`` (negative when end < start)."""
    if end < start:
        return -workdays_between(end, start, calendar)
    return sum(
        is_workday(start + timedelta(days=i), calendar) for i in range(1, (end - start).days + 1)
    )


def load_calendar(session: Session) -> OfficialCalendar:
    """The official schedules loaded so far."""
    rows = session.execute(select(OfficialDay.day, OfficialDay.year, OfficialDay.workday)).all()
    return OfficialCalendar(frozenset(r.year for r in rows), {r.day: r.workday for r in rows})


# -- loading a year's schedule -------------------------------------------------------------------

HOLIDAY_WORDS = {"休", "放假", "假", "holiday", "off", "rest"}
WORKDAY_WORDS = {"班", "上班", "调休上班", "补班", "workday", "work"}


class CalendarFileError(LookbackError, ValueError):
    """A schedule file that cannot be loaded; ``problems`` lists each bad line."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems

    def details(self) -> dict:
        return {"problems": self.problems}


@dataclass(frozen=True)
class ScheduleDay:
    day: date
    workday: bool
    name: str


def _date(text: str) -> date:
    cleaned = re.sub(r"[年月/.]", "-", text.strip()).rstrip("日").strip()
    return date.fromisoformat("-".join(part.zfill(2) for part in cleaned.split("-")))


def parse_schedule(text: str) -> tuple[int, list[ScheduleDay]]:
    """Read a schedule: one line per day or range, ``date[~date],type[,name]``.

    ``type`` is 休 / 放假 / holiday for a day off and 班 / 调休上班 / workday for a make-up
    workday; dates as ``2027-02-06`` or ``2027年2月6日``; ``#`` starts a comment; a header line
    is allowed. Every day must lie in one year. Refused as a whole, naming each bad line.
    """
    days: dict[date, ScheduleDay] = {}
    problems: list[str] = []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in row]
        if not cells or not cells[0] or cells[0].startswith("#"):
            continue
        if number == 1 and cells[0].lower() in {"date", "日期"}:
            continue
        if len(cells) < 2:
            problems.append(f"第{number}行缺少类型 / line {number}: needs date,type")
            continue
        kind = cells[1].lower()
        if kind not in HOLIDAY_WORDS | WORKDAY_WORDS:
            problems.append(
                f"第{number}行类型“{cells[1]}”不是休或班 / line {number}: type {cells[1]!r} is "
                "neither a holiday (休) nor a make-up workday (班)"
            )
            continue
        parts = re.split(r"\s*(?:~|～|至|--)\s*", cells[0])
        try:
            start = _date(parts[0])
            end = _date(parts[1]) if len(parts) > 1 else start
        except ValueError:
            problems.append(f"第{number}行日期无法识别 / line {number}: bad date {cells[0]!r}")
            continue
        if end < start or (end - start).days > 31:
            problems.append(f"第{number}行日期范围不对 / line {number}: bad range {cells[0]!r}")
            continue
        name = cells[2] if len(cells) > 2 else ""
        for i in range((end - start).days + 1):
            day = start + timedelta(days=i)
            entry = ScheduleDay(day, kind in WORKDAY_WORDS, name)
            if day in days and days[day].workday != entry.workday:
                problems.append(
                    f"第{number}行与前面矛盾 / line {number}: {day.isoformat()} is listed both "
                    "as a holiday and as a workday"
                )
            days[day] = entry
    years = sorted({d.year for d in days})
    if not problems and not days:
        problems.append("文件中没有日期 / the file lists no days")
    if len(years) > 1:
        problems.append(
            "一个文件只能包含一个年份 / one file holds one year; found "
            + ", ".join(map(str, years))
        )
    if problems:
        raise CalendarFileError(problems)
    return years[0], sorted(days.values(), key=lambda d: d.day)


@dataclass(frozen=True)
class LoadResult:
    year: int
    holidays: int
    workdays: int
    complaints_recomputed: int


def load_schedule(
    session: Session,
    text: str,
    *,
    actor: str,
    source: str = "",
    dry_run: bool = False,
) -> LoadResult:
    """Load (or replace) one year's official schedule and recompute the working-day deadlines
    that depend on it: the feedback deadlines of complaints not yet answered."""
    year, days = parse_schedule(text)
    result_days = (sum(not d.workday for d in days), sum(d.workday for d in days))
    if dry_run:
        return LoadResult(year, *result_days, complaints_recomputed=0)
    session.execute(delete(OfficialDay).where(OfficialDay.year == year))
    now = datetime.now(UTC)
    session.add_all(
        OfficialDay(
            day=d.day, year=year, workday=d.workday, name=d.name, source=source,
            loaded_by=actor, loaded_at=now,
        )
        for d in days
    )
    session.flush()
    recomputed = recompute_feedback_deadlines(session, year)
    return LoadResult(year, *result_days, complaints_recomputed=recomputed)


def recompute_feedback_deadlines(session: Session, year: int) -> int:
    """Recompute the feedback deadline of every unanswered complaint whose deadline period
    touches ``year``; returns how many changed."""
    settings = get_settings()
    calendar = load_calendar(session)
    changed = 0
    pending = session.scalars(select(Complaint).where(Complaint.feedback_at.is_(None)))
    for complaint in pending:
        received = complaint.received_at.astimezone(settings.zone).date()
        if received.year != year and complaint.feedback_due.year != year:
            continue
        due = add_workdays(received, settings.complaint_feedback_days, calendar)
        if due != complaint.feedback_due:
            complaint.feedback_due = due
            changed += 1
    return changed
