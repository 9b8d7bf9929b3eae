"""The vocabulary of counts: each set of problems is named once, with its SQL and its labels.

Every surface that shows a number — the API's scorecard, the wall's panel and ranking, the
township wall, the reports and bulletins, the exports — counts with these sets and labels them
with these words, so the same label always means the same set:

========================  ==============  ===========================================
name                      label           set
========================  ==============  ===========================================
``total``                 全部 All         every problem the query selects
``open``                  未销号 Open       not closed (every status but ``closed``)
``overdue``               逾期 Overdue      open and past its due date
``on_time``               未逾期 On time     open and not past its due date
``rebounded``             反弹 Rebounded    open and rebounded since its last closure
``closed``                已销号 Closed     status ``closed``
``closed_in_period``      本期销号          closed (销号) within the period
========================  ==============  ===========================================

``rebounded`` is not the status alone: a look-back that finds a problem again rebounds and
reopens it at once (``rebounded → rectifying``), and the office's reopen is a clerical step, so
a problem stays rebounded until it is closed again. Every rebound path (a look-back finding, a
confirmed suspected rebound, the office's rebound action) adds exactly one.

``closed_in_period`` is a flow, not a state: the problems with a closure event (an approval,
the end of a public notice, a historic import) whose closure moment lies in the period, each
counted once, whatever happened to them afterwards. A problem closed and then rebounded within
the period was closed in it (and its rebound is counted as a rebound in the period): a
bulletin's or report's "closed this period" does not shrink when a closed problem later
rebounds. The bulletins, the reports' headlines and monthly trend, and the scorecard all count
it with this one predicate.

``open = overdue + on_time`` and ``total = open + closed`` hold by construction. The map's
classes (:data:`gis.ledger.query.MAP_CLASSES`) are a colouring, not a count: a rebounded problem
that is also overdue is drawn as rebounded but counted in both ``rebounded`` and ``overdue``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.ledger.deadlines import open_sql, overdue_sql, rebounded_sql
from gis.ledger.query import ProblemQuery, end_of_day


def closure_event_sql(alias: str = "e") -> str:
    """An event that closed its problem (approval, end of public notice, a historic import)."""
    return f"({alias}.after ? 'closed_at' AND {alias}.after->>'closed_at' IS NOT NULL)"


def closure_moment_sql(alias: str = "e") -> str:
    """When a closure event's problem was closed: the closure's own time, which for a closure
    imported from a historic ledger is the sheet's 销号时间, not the moment of the import."""
    return f"CAST({alias}.after->>'closed_at' AS timestamptz)"


@dataclass(frozen=True)
class CountSet:
    """One named set of problems."""

    name: str
    zh: str
    en: str

    def sql(self, alias: str = "p") -> str:
        """SQL boolean: problem ``alias`` belongs to this set (``:today``, ``:start_ts``...)."""
        return _PREDICATES[self.name](alias)


_PREDICATES = {
    "total": lambda a: "TRUE",
    "open": open_sql,
    "overdue": overdue_sql,
    "on_time": lambda a: f"({open_sql(a)} AND NOT {overdue_sql(a)})",
    "rebounded": rebounded_sql,
    "closed": lambda a: f"({a}.status = 'closed')",
    "closed_in_period": lambda a: closed_in_period_sql(a),
}


def closed_in_period_sql(alias: str = "p", start: str = ":start_ts", end: str = ":end_ts") -> str:
    """SQL boolean: problem ``alias`` was closed (a closure event) between ``start`` (included)
    and ``end`` (excluded), whatever its status now."""
    moment = closure_moment_sql("ce")
    return (
        f"EXISTS (SELECT 1 FROM events ce WHERE ce.problem_id = {alias}.id"
        f" AND {closure_event_sql('ce')} AND {moment} >= {start} AND {moment} < {end})"
    )

COUNT_SETS: tuple[CountSet, ...] = (
    CountSet("total", "全部", "All"),
    CountSet("open", "未销号", "Open"),
    CountSet("overdue", "逾期", "Overdue"),
    CountSet("on_time", "未逾期", "On time"),
    CountSet("rebounded", "反弹", "Rebounded"),
    CountSet("closed", "已销号", "Closed"),
    CountSet("closed_in_period", "本期销号", "Closed this period"),
)
BY_NAME = {c.name: c for c in COUNT_SETS}


def label(name: str, lang: str = "zh") -> str:
    """The label of a count set in ``lang`` (``zh`` or ``en``)."""
    c = BY_NAME[name]
    return c.zh if lang == "zh" else c.en


def count_columns_sql(alias: str = "p") -> str:
    """``count(alias.id) FILTER (WHERE …) AS name`` for every set, for a SELECT list."""
    return ",\n".join(
        f"count({alias}.id) FILTER (WHERE {c.sql(alias)}) AS {c.name}" for c in COUNT_SETS
    )


def period_params(day: date, period_start: date | None) -> dict:
    """The bound parameters of ``closed_in_period``: from ``period_start`` (default: the first
    of ``day``'s month) to the end of ``day``, in the configured time zone."""
    start = period_start or day.replace(day=1)
    return {"start_ts": end_of_day(start) - timedelta(days=1), "end_ts": end_of_day(day)}


def ledger_counts(
    session: Session,
    *,
    today: date,
    query: ProblemQuery | None = None,
    period_start: date | None = None,
) -> dict[str, int]:
    """Every count set over the problems ``query`` selects (scope included), on ``today`` or
    ``query.as_of``."""
    query = query or ProblemQuery()
    day = query.as_of or today
    clause, params = query.where("p")
    source, source_params = query.source()
    row = (
        session.execute(
            text(f"SELECT {count_columns_sql('p')} FROM {source} WHERE {clause}"),
            {"today": day, **period_params(day, period_start), **params, **source_params},
        )
        .mappings()
        .one()
    )
    return {c.name: int(row[c.name]) for c in COUNT_SETS}
