"""County bulletins (通报): daily (一天一通报) and half-monthly (半月一通报).

A bulletin covers a period ending on its date: the day itself (daily), or the 1st–15th or
16th–end of the month up to its date (half-monthly). It counts new, closed, newly overdue and
rebounded problems in the period, against the period before; ranks every township with
:func:`gis.ledger.scorecard.township_scorecard` (the wall's numbers); and names the point, unit and
person of every red-warning problem (点名通报). The half-monthly bulletin also lists the summons
(约谈) and accountability (问责) held in its span, per township, naming unit and person, counted by
:mod:`gis.ledger.summons` as the assessment counts them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any, Literal

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.geo.sql import as_geojson_sql
from gis.ledger.counts import closed_in_period_sql
from gis.ledger.deadlines import days_overdue_sql, overdue_sql
from gis.ledger.query import end_of_day, list_problems, problem_properties_sql
from gis.ledger.scorecard import TownshipScore, township_scorecard
from gis.ledger.summons import held_counts, held_records
from gis.reports.county import start_of_day
from gis.reports.periods import (
    ReportDate,
    daily_number,
    half_month,
    half_month_number,
    issue_label,
    span_days,
)
from gis.reports.rows import ProblemRow

BulletinKind = Literal["daily", "half_monthly"]
KINDS: dict[str, tuple[str, str]] = {
    "daily": ("环保督察整改工作日通报", "Daily bulletin"),
    "half_monthly": ("环保督察整改工作半月通报", "Half-monthly bulletin"),
}
LIST_LIMIT = 2000


@dataclass(frozen=True)
class PeriodCounts:
    """What happened in a period."""

    new: int
    closed: int
    newly_overdue: int
    rebounded: int


@dataclass
class Bulletin:
    """A numbered county bulletin, ready for a template."""

    kind: str
    title_zh: str
    title_en: str
    year: int
    number: int
    report_date: ReportDate
    start: date
    end: date
    period_end: date
    previous_start: date
    previous_end: date
    counts: PeriodCounts
    previous: PeriodCounts
    totals: dict[str, int]
    ranking: list[TownshipScore]
    red_list: list[ProblemRow]
    newly_overdue: list[ProblemRow]
    rebounded: list[ProblemRow]
    # half-monthly: summons and accountability held in the span, per township (约谈、问责)
    summons: list[dict[str, Any]] = field(default_factory=list)

    @property
    def held(self) -> dict[str, int]:
        """How many summons and accountability the span's records count."""
        return {
            k: sum(g[k] for g in self.summons) for k in ("summons", "accountability")
        }

    @property
    def label(self) -> str:
        """〔2026〕第N期."""
        return issue_label(self.year, self.number)

    @property
    def day(self) -> date:
        """The bulletin's date."""
        return self.report_date.day

    @property
    def partial(self) -> bool:
        """True when the period has not ended on the bulletin's date."""
        return self.end < self.period_end


def bulletin_period(kind: str, day: date) -> tuple[date, date, date, int]:
    """Start, end (the bulletin's date), nominal period end and issue number."""
    if kind == "daily":
        return day, day, day, daily_number(day)
    if kind == "half_monthly":
        start, stop = half_month(day)
        return start, day, stop, half_month_number(day)
    raise ValueError("bulletin kind must be daily or half_monthly")


def county_bulletin(session: Session, kind: str, *, report_date: ReportDate) -> Bulletin:
    """Assemble the ``daily`` or ``half_monthly`` bulletin on ``report_date``."""
    start, end, period_end, number = bulletin_period(kind, report_date.day)
    if kind == "daily":
        prev_start = prev_end = start - timedelta(days=1)
    else:
        prev_start, prev_end = half_month(start - timedelta(days=1))
    previous_date = ReportDate(day=prev_end, as_of=prev_end)
    counts = period_counts(session, start, end, report_date)
    previous = period_counts(session, prev_start, prev_end, previous_date)
    query = report_date.query()
    scores = township_scorecard(session, today=end, period_start=start, query=query)
    ranking = sorted(scores, key=lambda s: s.rank)
    red = list_problems(
        session,
        today=end,
        query=report_date.query(warnings=("red",), sort="days_overdue", descending=True),
        limit=LIST_LIMIT,
        geometry=True,
    )
    totals = {
        "townships": len(scores),
        "total": sum(s.total for s in scores),
        "open": sum(s.open for s in scores),
        "overdue": sum(s.overdue for s in scores),
        "rebounded": sum(s.rebounded for s in scores),
        "closed": sum(s.closed for s in scores),
        "red": red.number_matched,
    }
    title_zh, title_en = KINDS[kind]
    return Bulletin(
        kind=kind,
        title_zh=title_zh,
        title_en=title_en,
        year=end.year,
        number=number,
        report_date=report_date,
        start=start,
        end=end,
        period_end=period_end,
        previous_start=prev_start,
        previous_end=prev_end,
        counts=counts,
        previous=previous,
        totals=totals,
        ranking=ranking,
        red_list=[ProblemRow.from_item(i) for i in red.items],
        newly_overdue=newly_overdue(session, start, end, report_date),
        rebounded=rebounded_in(session, start, end, report_date),
        summons=summons_held(session, start, end) if kind == "half_monthly" else [],
    )


def summons_held(session: Session, start: date, end: date) -> list[dict[str, Any]]:
    """Summons and accountability held in ``start``..``end``, per township (most first): the
    counts of :func:`gis.ledger.summons.held_counts` and each record naming unit and person."""
    items = held_records(session, scope=None, start=start, end=end)
    groups = held_counts(items, "township_code")
    for g in groups:
        g["records"] = sorted(
            (i for i in items if (i["township_code"] or "") == g["township_code"]),
            key=lambda i: (i["held_on"], i["id"]),
        )
    return groups


def _params(start: date, end: date, report_date: ReportDate) -> tuple[str, str, dict]:
    query = report_date.query()
    clause, params = query.where("p")
    source, source_params = query.source()
    return (
        source,
        clause,
        {
            "today": end,
            "t0": start_of_day(start),
            "t1": end_of_day(end),
            "span": span_days(start, end),
            **params,
            **source_params,
        },
    )


REBOUND_EVENT = "e.action = 'rebound'"


def _newly_overdue_sql() -> str:
    return f"{overdue_sql('p')} AND {days_overdue_sql('p')} <= :span"


def period_counts(
    session: Session, start: date, end: date, report_date: ReportDate
) -> PeriodCounts:
    """New, closed, newly overdue (still overdue at the end) and rebounded in ``start``–``end``.

    ``closed`` is :data:`gis.ledger.counts` ``closed_in_period``: problems closed in the period,
    each once, even if rebounded since."""
    source, clause, params = _params(start, end, report_date)
    sql = f"""
        SELECT
          (SELECT count(*) FROM {source}
            WHERE p.reported_at >= :t0 AND p.reported_at < :t1 AND {clause}) AS new,
          (SELECT count(*) FROM {source}
            WHERE {closed_in_period_sql("p", ":t0", ":t1")} AND {clause}) AS closed,
          (SELECT count(*) FROM {source} WHERE {_newly_overdue_sql()} AND {clause})
            AS newly_overdue,
          (SELECT count(*) FROM events e JOIN {source} ON p.id = e.problem_id
            WHERE e.at >= :t0 AND e.at < :t1 AND {REBOUND_EVENT} AND {clause}) AS rebounded
    """
    r = session.execute(text(sql), params).one()
    return PeriodCounts(int(r.new), int(r.closed), int(r.newly_overdue), int(r.rebounded))


def _rows(session: Session, sql: str, params: dict) -> list[ProblemRow]:
    out = []
    for r in session.execute(text(sql), params):
        item = dict(r.props)
        item["geometry"] = r.geometry
        out.append(ProblemRow.from_item(item))
    return out


def newly_overdue(
    session: Session, start: date, end: date, report_date: ReportDate
) -> list[ProblemRow]:
    """Problems that became overdue in the period and still are at its end."""
    source, clause, params = _params(start, end, report_date)
    sql = f"""
        SELECT {problem_properties_sql("p")} AS props, {as_geojson_sql("p.geom")} AS geometry
        FROM {source} LEFT JOIN townships t ON t.code = p.township_code
        WHERE {_newly_overdue_sql()} AND {clause}
        ORDER BY p.township_code, p.code LIMIT {LIST_LIMIT}
    """
    return _rows(session, sql, params)


def rebounded_in(
    session: Session, start: date, end: date, report_date: ReportDate
) -> list[ProblemRow]:
    """Problems marked rebounded during the period (one row per problem)."""
    source, clause, params = _params(start, end, report_date)
    sql = f"""
        SELECT {problem_properties_sql("p")} AS props, {as_geojson_sql("p.geom")} AS geometry
        FROM {source} LEFT JOIN townships t ON t.code = p.township_code
        WHERE EXISTS (SELECT 1 FROM events e WHERE e.problem_id = p.id
                      AND e.at >= :t0 AND e.at < :t1 AND {REBOUND_EVENT})
          AND {clause}
        ORDER BY p.township_code, p.code LIMIT {LIST_LIMIT}
    """
    return _rows(session, sql, params)
