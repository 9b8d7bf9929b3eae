"""Overdue (逾期) and the four-colour warning (四色预警), derived in SQL.

Every list, map, layer and report asks PostGIS through these fragments, so there is one
definition. Deadlines are local dates (``Asia/Shanghai`` by default): a problem due today is not
overdue until the day is over. ``today`` is always passed in, so the clock can be fixed.

The effective due date is the earliest of the problem's ``deadline`` and the due date of its
current milestone (阶段性目标: the earliest one neither met nor superseded by a rebound); a
long-term problem (长期坚持) without a deadline is due when its current milestone is. A problem
whose closure application was made on time keeps its due date, but its clock stops on the day
of the application while the office checks it (or while its public notice runs): the wait is
the office's, so it neither turns overdue nor changes colour — a blue warning stays blue, no
warning appears; sent back, its clock runs again from its deadline.
"""

from __future__ import annotations

from datetime import date, datetime

from gis.config import WarningThresholds, get_settings, get_warning_thresholds


def local_today(now: datetime | None = None) -> date:
    """Today's date in the configured time zone."""
    zone = get_settings().zone
    return (now.astimezone(zone) if now else datetime.now(zone)).date()


def _least_due_sql(alias: str, today: str) -> str:
    """The earliest of the deadline and the current milestone's due date on ``today``.

    A milestone is current on ``today`` unless it was met or superseded on or before it, or
    added after it (its ``milestone_added`` event), so a ledger read as of a past day keeps the
    milestones that were open then and only those (live, ``met_on``, ``superseded_on`` and
    the events never lie after today)."""
    day = f"CAST({today} AS date)"
    tz = _zone_name().replace("'", "")
    return (
        f"LEAST({alias}.deadline, (SELECT min(m.due_date) FROM milestones m "
        f"WHERE m.problem_id = {alias}.id AND (m.met_on IS NULL OR m.met_on > {day})"
        f" AND (m.superseded_on IS NULL OR m.superseded_on > {day})"
        f" AND NOT EXISTS (SELECT 1 FROM events e WHERE e.problem_id = {alias}.id"
        f" AND e.action = 'milestone_added' AND (e.after->'milestone'->>'id')::int = m.id"
        f" AND (e.at AT TIME ZONE '{tz}')::date > {day})))"
    )


def _zone_name() -> str:
    """The configured zone for SQL built at import time (sort keys, OGC queryables). A bad
    setting is not raised here: the start-up check names it and stops before anything is served."""
    try:
        return get_settings().timezone
    except Exception:  # noqa: BLE001 - a ValidationError, or an unknown zone
        return "Asia/Shanghai"


def _waiting_since_sql(alias: str) -> str:
    """The local day of the pending closure application (or the public notice it started)."""
    tz = _zone_name().replace("'", "")
    return (
        f"(SELECT max((c.applied_at AT TIME ZONE '{tz}')::date) FROM closures c"
        f" WHERE c.problem_id = {alias}.id AND c.outcome IN ('pending', 'in_notice'))"
    )


def waiting_sql(alias: str = "p", today: str = ":today") -> str:
    """SQL boolean: the problem waits for the office's check (待核查) after applying for closure
    on time — its clock stops on the day of the application: the wait for verification or for
    a public notice is the office's, not the township's, so while it lasts the problem is
    neither more overdue nor warned differently than on that day."""
    return (
        f"({alias}.status = 'awaiting_verification' AND {_waiting_since_sql(alias)}"
        f" <= COALESCE({_least_due_sql(alias, today)}, 'infinity'::date))"
    )


def clock_day_sql(alias: str = "p", today: str = ":today") -> str:
    """SQL date: the day the problem's clock reads — ``today``, or the day of an on-time
    closure application while the office checks it (:func:`waiting_sql`)."""
    return (
        f"(CASE WHEN {waiting_sql(alias, today)} THEN {_waiting_since_sql(alias)}"
        f" ELSE CAST({today} AS date) END)"
    )


def due_date_sql(alias: str = "p", today: str = ":today") -> str:
    """SQL expression: the effective due date of problem ``alias`` on ``today``."""
    return _least_due_sql(alias, today)


def days_overdue_sql(alias: str = "p", today: str = ":today") -> str:
    """SQL expression: whole days past the due date on the problem's clock (negative: days
    left; NULL: no deadline). The clock stops while an on-time application waits
    (:func:`clock_day_sql`), so the count neither grows nor falls during the office's check."""
    return f"({clock_day_sql(alias, today)} - ({due_date_sql(alias, today)}))"


def open_sql(alias: str = "p") -> str:
    """SQL boolean: the problem is open (any status but closed, 未销号)."""
    return f"({alias}.status <> 'closed')"


def rebounded_sql(alias: str = "p") -> str:
    """SQL boolean: rebounded (反弹) and not closed again — status ``rebounded``, or reopened
    for rectification after a rebound (a look-back finding rebounds and reopens at once)."""
    return f"({open_sql(alias)} AND {alias}.rebound_count > 0)"


def overdue_sql(alias: str = "p", today: str = ":today") -> str:
    """SQL boolean: open and the due date is before ``today``."""
    return f"({open_sql(alias)} AND COALESCE({days_overdue_sql(alias, today)} > 0, false))"


def warning_sql(
    alias: str = "p", today: str = ":today", thresholds: WarningThresholds | None = None
) -> str:
    """SQL text: the warning colour (none, blue, yellow, orange, red) under ``thresholds``."""
    t = thresholds or get_warning_thresholds()
    d = days_overdue_sql(alias, today)
    return (
        f"(CASE WHEN {alias}.status = 'closed' OR {d} IS NULL THEN 'none' "
        f"WHEN {d} >= {t.red_days_overdue} THEN 'red' "
        f"WHEN {d} >= {t.orange_days_overdue} THEN 'orange' "
        f"WHEN {d} >= {t.yellow_days_overdue} THEN 'yellow' "
        f"WHEN -{d} BETWEEN 0 AND {t.blue_days_left} THEN 'blue' "
        f"ELSE 'none' END)"
    )


def complaint_overdue_sql(alias: str = "c", today: str = ":today") -> str:
    """SQL boolean: a complaint without feedback past its feedback deadline."""
    return f"({alias}.feedback_at IS NULL AND {alias}.feedback_due < CAST({today} AS date))"
