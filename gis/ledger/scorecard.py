"""The township scorecard (排名): the numbers every map, bulletin and report shows per township.

Rates: overdue rate = overdue ÷ open; closure rate = closed ÷ all; rebound rate = problems that
ever rebounded ÷ problems ever closed. Rank 1 is the best: fewest overdue (by rate, then count),
then highest closure rate, then fewest rebounded. Can be read "as of" a past day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.access.scope import Scope, in_scope
from gis.ledger.counts import count_columns_sql, period_params
from gis.ledger.deadlines import days_overdue_sql, overdue_sql
from gis.ledger.query import ProblemQuery


@dataclass
class TownshipScore:
    """One township's row of the scorecard."""

    code: str
    name: str
    total: int
    open: int
    overdue: int
    on_time: int
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
    scope: Scope = None,
) -> list[TownshipScore]:
    """Per-township counts, rates and rank, on ``today`` (or ``query.as_of``).

    The rank is always the county's: it is computed over every township, whoever asks, and
    ``scope`` (the caller's townships) only chooses which rows are returned. ``query`` must not
    carry a scope of its own, or the ranking would be computed over what the caller sees.
    """
    query = query or ProblemQuery()
    if query.scope is not None:
        raise ValueError("rank over the county: pass the caller's townships as scope=")
    day = query.as_of or today
    clause, params = query.where("p")
    source, source_params = query.source()
    sql = f"""
        SELECT t.code, t.name,
            {count_columns_sql("p")},
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
                **period_params(day, period_start),
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
                on_time=r["on_time"],
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
    return [s for s in scores if in_scope(scope, s.code)]


def _rate(part: int, whole: int) -> float:
    return round(part / whole, 4) if whole else 0.0

