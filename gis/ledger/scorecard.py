"""The township scorecard (排名): the numbers every map, bulletin and report shows per township.

Rates: overdue rate = overdue ÷ open; closure rate = closed ÷ all; rebound rate = problems that
ever rebounded ÷ problems ever closed. Rank 1 is the best: fewest overdue (by rate, then count),
then highest closure rate, then fewest rebounded. Can be read "as of" a past day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.ledger.deadlines import days_overdue_sql, open_sql, overdue_sql
from gis.ledger.query import ProblemQuery, end_of_day


@dataclass
class TownshipScore:
    """One township's row of the scorecard."""

    code: str
    name: str
    total: int
    open: int
    overdue: int
    rebounded: int
    closed: int
    closed_in_period: int
    overdue_rate: float
    closure_rate: float
    rebound_rate: float
    days_overdue_total: int
    days_overdue_max: int
    rank: int = 0


def township_scorecard(
    session: Session,
    *,
    today: date,
    period_start: date | None = None,
    query: ProblemQuery | None = None,
) -> list[TownshipScore]:
    """Per-township counts, rates and rank, on ``today`` (or ``query.as_of``)."""
    query = query or ProblemQuery()
    day = query.as_of or today
    clause, params = query.where("p")
    source, source_params = query.source()
    start = period_start or day.replace(day=1)
    sql = f"""
        SELECT t.code, t.name,
            count(p.id) AS total,
            count(p.id) FILTER (WHERE {open_sql('p')}) AS open,
            count(p.id) FILTER (WHERE {overdue_sql("p")}) AS overdue,
            count(p.id) FILTER (WHERE p.status = 'rebounded') AS rebounded,
            count(p.id) FILTER (WHERE p.status = 'closed') AS closed,
            count(p.id) FILTER (WHERE p.status = 'closed' AND p.closed_at >= :start_ts
                                AND p.closed_at < :end_ts) AS closed_in_period,
            count(p.id) FILTER (WHERE p.rebound_count > 0) AS ever_rebounded,
            count(p.id) FILTER (WHERE p.status = 'closed' OR p.rebound_count > 0) AS ever_closed,
            COALESCE(sum(GREATEST({days_overdue_sql("p")}, 0))
                     FILTER (WHERE {overdue_sql("p")}), 0) AS days_total,
            COALESCE(max({days_overdue_sql("p")}) FILTER (WHERE {overdue_sql("p")}), 0) AS days_max
        FROM townships t
        LEFT JOIN {source} ON p.township_code = t.code AND {clause}
        GROUP BY t.code, t.name
        ORDER BY t.code
    """
    rows = (
        session.execute(
            text(sql),
            {
                "today": day,
                "start_ts": end_of_day(start) - timedelta(days=1),
                "end_ts": end_of_day(day),
                **params,
                **source_params,
            },
        )
        .mappings()
        .all()
    )
    scores = []
    for r in rows:
        scores.append(
            TownshipScore(
                code=r["code"],
                name=r["name"],
                total=r["total"],
                open=r["open"],
                overdue=r["overdue"],
                rebounded=r["rebounded"],
                closed=r["closed"],
                closed_in_period=r["closed_in_period"],
                overdue_rate=_rate(r["overdue"], r["open"]),
                closure_rate=_rate(r["closed"], r["total"]),
                rebound_rate=_rate(r["ever_rebounded"], r["ever_closed"]),
                days_overdue_total=int(r["days_total"]),
                days_overdue_max=int(r["days_max"]),
            )
        )
    ordered = sorted(
        scores, key=lambda s: (s.overdue_rate, s.overdue, -s.closure_rate, s.rebounded, s.code)
    )
    for position, score in enumerate(ordered, start=1):
        score.rank = position
    return scores


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0

