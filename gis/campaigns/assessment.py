"""Assessment (一季一考核): scores per township and per responsible unit for any period, from rules
stored in the database, computed from the ledger's history as of the end of the period.

score = base + Σ (count of item × points of item), points signed (deductions negative):

==================  ======================================================================
item                what is counted (for the period ``start``..``end``)
==================  ======================================================================
``overdue_day``     days overdue at the end of ``end``, summed over problems overdue then
                    (the scorecard's ``days_overdue_total``, from the history as of ``end``)
``rebound``         rebounds (反弹) recorded in the period
``red_warning``     problems in red warning at the end of ``end``
``late_reply``      complaints and transferred cases due in the period (before ``end``)
                    whose feedback came after the due day or has not come
``closed_on_time``  problems closed in the period (``closed_in_period``) on or before their
                    deadline and still closed at the end (a closure that rebounded: no bonus)
``summons``         summons (约谈) held in the period
``accountability``  accountability (问责) held in the period
==================  ======================================================================

Everything is read as of the end of ``end`` (events, feedback times, records held by then), so a
past period gives the same scores whatever happened later.

A period the office has closed (:func:`close_period`, e.g. 2026年第三季度) has its results stored
(per township and per responsible unit: score, each item's count and points, rank, the rules used
and when): :func:`period_assessment` reads a closed period from the store and computes an open one,
and :func:`recompute_difference` sets the stored results beside a new computation from the
history (they differ only when the rules changed since the period was closed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from gis.access.scope import Scope, in_scope
from gis.campaigns.cases import CampaignConflict, CampaignError, check_year
from gis.config import get_settings
from gis.db.models import (
    ASSESSMENT_ITEMS,
    ASSESSMENT_SCORED,
    AssessmentPeriod,
    AssessmentResult,
    AssessmentRule,
)
from gis.ledger.counts import BY_NAME, period_params
from gis.ledger.deadlines import days_overdue_sql, overdue_sql, warning_sql
from gis.ledger.query import ProblemQuery
from gis.ledger.scorecard import township_scorecard
from gis.ledger.summons import held_counts, held_records

DEFAULT_RULES: dict[str, float] = {
    "base": 100.0,
    "overdue_day": -0.5,
    "rebound": -5.0,
    "red_warning": -3.0,
    "late_reply": -2.0,
    "closed_on_time": 1.0,
    "summons": -5.0,
    "accountability": -10.0,
}
ITEM_LABELS = {
    "overdue_day": ("逾期天数", "Overdue days"),
    "rebound": ("反弹", "Rebounds"),
    "red_warning": ("红色预警", "Red warnings"),
    "late_reply": ("反馈超期", "Late replies"),
    "closed_on_time": ("按期销号", "Closed on time"),
    "summons": ("约谈", "Summons"),
    "accountability": ("问责", "Accountability"),
}
COUNTED = tuple(i for i in ASSESSMENT_ITEMS if i != "base")
NO_UNIT = "（未明确责任单位）"


def load_rules(session: Session) -> dict[str, float]:
    """The points of every item: the stored rules over the defaults."""
    rules = dict(DEFAULT_RULES)
    for r in session.scalars(select(AssessmentRule)):
        rules[r.item] = r.points
    return rules


def set_rules(session: Session, points: dict[str, float], *, actor: str) -> dict[str, float]:
    """Store the points of some items (others keep theirs)."""
    for item, value in points.items():
        if item not in ASSESSMENT_ITEMS:
            raise CampaignError(
                f"未知考核项 {item} unknown item; one of: {', '.join(ASSESSMENT_ITEMS)}", "item"
            )
        if not isinstance(value, int | float) or not math.isfinite(value) or abs(value) > 1000:
            raise CampaignError(f"{item} 分值无效 points must be a number within ±1000", item)
        rule = session.get(AssessmentRule, item)
        if rule is None:
            session.add(AssessmentRule(item=item, points=float(value), updated_by=actor))
        else:
            rule.points, rule.updated_by = float(value), actor
    session.flush()
    return load_rules(session)


@dataclass
class ScoreRow:
    key: str  # township code or unit name
    name: str
    counts: dict[str, int]
    points: dict[str, float]
    score: float
    rank: int = 0

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Assessment:
    start: date
    end: date
    by: str
    rules: dict[str, float]
    rows: list[ScoreRow] = field(default_factory=list)
    # set when the results are a closed period's stored ones: name, closed_at, closed_by
    stored: dict[str, Any] | None = None

    def as_dict(self) -> dict[str, Any]:
        stored = None
        if self.stored is not None:
            stored = {**self.stored, "closed_at": self.stored["closed_at"].isoformat()}
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "by": self.by,
            "stored": stored,
            "rules": self.rules,
            "items": [
                {"item": i, "zh": ITEM_LABELS[i][0], "en": ITEM_LABELS[i][1]} for i in COUNTED
            ],
            "rows": [r.as_dict() for r in self.rows],
        }


def quarter(year: int, q: int) -> tuple[date, date]:
    """The first and last day of quarter ``q`` (1–4) of ``year``."""
    if q not in (1, 2, 3, 4):
        raise CampaignError("季度须为 1–4 the quarter is 1 to 4", "quarter")
    start = date(year, 3 * q - 2, 1)
    end = date(year + 1, 1, 1) if q == 4 else date(year, 3 * q + 1, 1)
    return start, date.fromordinal(end.toordinal() - 1)


def _grouped(session: Session, sql: str, params: dict[str, Any]) -> dict[str, int]:
    return {k: int(n) for k, n in session.execute(text(sql), params).all()}


def _counts(session: Session, start: date, end: date, by: str) -> dict[str, dict[str, int]]:
    """Per item, the count per group key (township code or unit) for the period."""
    query = ProblemQuery(as_of=end)
    source, source_params = query.source()
    unit = "NULLIF(p.responsible_unit, '')"
    key = "p.township_code" if by == "township" else unit
    zone = get_settings().timezone
    params: dict[str, Any] = {
        **source_params,
        **period_params(end, start),  # start_ts, end_ts: the period's first and last instant
        "today": end,
        "start": start,
        "end": end,
        "tz": zone,
    }
    out: dict[str, dict[str, int]] = {}
    out["overdue_day"] = _grouped(
        session,
        f"SELECT {key}, COALESCE(sum(GREATEST({days_overdue_sql('p')}, 0)), 0) FROM {source}"
        f" WHERE {overdue_sql('p')} GROUP BY 1",
        params,
    )
    out["red_warning"] = _grouped(
        session,
        f"SELECT {key}, count(*) FROM {source} WHERE {warning_sql('p')} = 'red' GROUP BY 1",
        params,
    )
    out["rebound"] = _grouped(
        session,
        f"SELECT {key}, count(*) FROM events e JOIN {source} ON p.id = e.problem_id"
        " WHERE e.action = 'rebound' AND e.at >= :start_ts AND e.at < :end_ts GROUP BY 1",
        params,
    )
    out["closed_on_time"] = _grouped(
        session,
        f"SELECT {key}, count(*) FROM {source} WHERE {BY_NAME['closed_in_period'].sql('p')}"
        " AND p.status = 'closed'"  # a closure that rebounded by the end earns no bonus
        " AND p.deadline IS NOT NULL AND (p.closed_at AT TIME ZONE :tz)::date <= p.deadline"
        " GROUP BY 1",
        params,
    )
    reply_key = (
        "c.township_code" if by == "township"
        else f"COALESCE(NULLIF(k.responsible_unit, ''), (SELECT {unit} FROM {source}"
        " WHERE p.id = c.problem_id))"
    )
    out["late_reply"] = _grouped(
        session,
        f"SELECT {reply_key}, count(*) FROM complaints c"
        " LEFT JOIN campaign_cases k ON k.complaint_id = c.id"
        " WHERE c.received_at < :end_ts AND c.feedback_due >= :start AND c.feedback_due <= :end"
        " AND (c.feedback_at IS NULL OR (c.feedback_at AT TIME ZONE :tz)::date > c.feedback_due)"
        " GROUP BY 1",
        params,
    )
    # the records' own count (gis.ledger.summons), as the records' list and the bulletins show
    held = held_counts(
        held_records(session, scope=None, start=start, end=end),
        "township_code" if by == "township" else "unit",
    )
    for kind in ("summons", "accountability"):
        out[kind] = {
            g["township_code" if by == "township" else "unit"]: g[kind] for g in held if g[kind]
        }
    return out


def _check_period(start: date, end: date, by: str) -> None:
    if by not in ASSESSMENT_SCORED:
        raise CampaignError("by 须为 township 或 unit by is township or unit", "by")
    check_year(start, "start")
    check_year(end, "end")
    if end < start:
        raise CampaignError("考核期结束早于开始 the period ends before it starts", "end")


def _visible(rows: list[ScoreRow], by: str, scope: Scope) -> list[ScoreRow]:
    """The rows a caller sees: their townships' rows; unit rows for county-wide callers."""
    if by == "township":
        return [r for r in rows if in_scope(scope, r.key)]
    return rows if scope is None else []


def assess(
    session: Session, start: date, end: date, *, by: str = "township", scope: Scope = None
) -> Assessment:
    """Scores of every township (or responsible unit) for ``start``..``end``, ranked (1 is
    best; ties share the order of the key), computed now from the history with the current
    rules. Ranks are the county's whoever asks; ``scope`` chooses the rows returned (units are
    shown to county-wide callers only)."""
    _check_period(start, end, by)
    rules = load_rules(session)
    return Assessment(start, end, by, rules, _visible(_ranked(session, start, end, by, rules),
                                                      by, scope))


def _ranked(
    session: Session, start: date, end: date, by: str, rules: dict[str, float]
) -> list[ScoreRow]:
    """Every township's (or unit's) scores for the period under ``rules``, ranked."""
    counts = _counts(session, start, end, by)
    if by == "township":
        names = {
            s.code: s.name
            for s in township_scorecard(session, today=end, query=ProblemQuery(as_of=end))
        }
    else:
        keys = {k for per in counts.values() for k in per}
        source, source_params = ProblemQuery(as_of=end).source()
        keys |= {
            u for (u,) in session.execute(
                text(f"SELECT DISTINCT NULLIF(p.responsible_unit, '') FROM {source}"),
                source_params,
            )
        }
        names = {k: k for k in keys if k}
    rows = []
    for key_, name in names.items():
        c = {item: counts[item].get(key_, 0) for item in COUNTED}
        pts = {item: round(c[item] * rules[item], 4) for item in COUNTED}
        rows.append(ScoreRow(key_, name, c, pts, round(rules["base"] + sum(pts.values()), 4)))
    rows.sort(key=lambda r: (-r.score, r.key))
    for i, r in enumerate(rows, start=1):
        r.rank = i
    return rows


# -- closed periods (考核期结算) -------------------------------------------------------------------

_QUARTER_NAMES = {1: "第一季度", 2: "第二季度", 3: "第三季度", 4: "第四季度"}


def period_name(start: date, end: date) -> str:
    """2026年第三季度 for a calendar quarter, else 2026-07-01至2026-08-15."""
    for q in (1, 2, 3, 4):
        if (start, end) == quarter(start.year, q):
            return f"{start.year}年{_QUARTER_NAMES[q]}"
    return f"{start.isoformat()}至{end.isoformat()}"


def stored_period(session: Session, start: date, end: date) -> AssessmentPeriod | None:
    """The closed period ``start``..``end``, or None while it is open."""
    return session.scalars(
        select(AssessmentPeriod).where(
            AssessmentPeriod.period_start == start, AssessmentPeriod.period_end == end
        )
    ).first()


def list_periods(session: Session) -> list[dict[str, Any]]:
    """The closed periods, latest first."""
    rows = session.scalars(
        select(AssessmentPeriod).order_by(AssessmentPeriod.period_end.desc())
    )
    return [period_dict(p) for p in rows]


def period_dict(p: AssessmentPeriod) -> dict[str, Any]:
    return {
        "name": p.name,
        "start": p.period_start.isoformat(),
        "end": p.period_end.isoformat(),
        "closed_at": p.closed_at.isoformat(),
        "closed_by": p.closed_by,
    }


def close_period(
    session: Session,
    start: date,
    end: date,
    *,
    actor: str,
    today: date,
    at: datetime | None = None,
) -> AssessmentPeriod:
    """Close the period: compute its results from the history with the current rules and
    store them, per township and per responsible unit (score, each item's count and points,
    rank), with the rules and the time. The period must have ended; it is closed once."""
    _check_period(start, end, "township")
    if end >= today:
        raise CampaignError(
            f"考核期至 {end.isoformat()} 尚未结束，结束后才能结算 the period has not ended yet "
            "(it can be closed from the day after its end)",
            "end",
        )
    if stored_period(session, start, end) is not None:
        raise CampaignConflict(
            f"{period_name(start, end)} 已结算 the period is closed already; its stored "
            "results stand"
        )
    rules = load_rules(session)
    period = AssessmentPeriod(
        name=period_name(start, end),
        period_start=start,
        period_end=end,
        rules=rules,
        closed_at=at or datetime.now(UTC),
        closed_by=actor,
    )
    for by in ASSESSMENT_SCORED:
        for r in _ranked(session, start, end, by, rules):
            period.results.append(
                AssessmentResult(
                    scored=by, key=r.key, name=r.name, rank=r.rank, score=r.score,
                    counts=r.counts, points=r.points,
                )
            )
    try:
        with session.begin_nested():  # closed meanwhile by someone else: the same refusal
            session.add(period)
            session.flush()
    except IntegrityError:
        raise CampaignConflict(
            f"{period_name(start, end)} 已结算 the period is closed already; its stored "
            "results stand"
        ) from None
    return period


def _stored_assessment(
    period: AssessmentPeriod, by: str, scope: Scope
) -> Assessment:
    rules = {**DEFAULT_RULES, **{k: float(v) for k, v in period.rules.items()}}
    rows = [
        ScoreRow(
            r.key, r.name,
            {item: int(r.counts.get(item, 0)) for item in COUNTED},
            {item: float(r.points.get(item, 0.0)) for item in COUNTED},
            r.score, r.rank,
        )
        for r in sorted(period.results, key=lambda r: (r.rank, r.key))
        if r.scored == by
    ]
    stored = {"name": period.name, "closed_at": period.closed_at, "closed_by": period.closed_by}
    return Assessment(
        period.period_start, period.period_end, by, rules, _visible(rows, by, scope), stored
    )


def period_assessment(
    session: Session, start: date, end: date, *, by: str = "township", scope: Scope = None
) -> Assessment:
    """The period's results as every surface shows them: a closed period's stored results (not
    recomputed; ``stored`` says when and by whom), else computed now from the history."""
    _check_period(start, end, by)
    period = stored_period(session, start, end)
    if period is None:
        return assess(session, start, end, by=by, scope=scope)
    return _stored_assessment(period, by, scope)


@dataclass
class Difference:
    """A closed period's stored results beside a new computation from the history."""

    stored: Assessment
    recomputed: Assessment
    rules: list[dict[str, Any]]  # items whose points changed since the period was closed
    rows: list[dict[str, Any]]  # per key and field: stored and recomputed values

    @property
    def same(self) -> bool:
        return not self.rules and not self.rows

    def as_dict(self) -> dict[str, Any]:
        return {"same": self.same, "rules": self.rules, "rows": self.rows}


def _field_label(name: str) -> tuple[str, str]:
    """得分 / 排名 / 逾期天数（项）/ 逾期天数（分）for a compared field."""
    if name == "score":
        return "得分", "Score"
    if name == "rank":
        return "排名", "Rank"
    item, _, part = name.partition(".")
    zh, en = ITEM_LABELS[item]
    return (f"{zh}（项）", f"{en} (count)") if part == "count" else (
        f"{zh}（分）", f"{en} (points)")


def recompute_difference(
    session: Session, start: date, end: date, *, by: str = "township", scope: Scope = None
) -> Difference | None:
    """For a closed period, its stored results against those computed now from the history
    (current rules): every rule changed and every score, rank, count or points that differs.
    None while the period is open (nothing is stored to compare)."""
    _check_period(start, end, by)
    period = stored_period(session, start, end)
    if period is None:
        return None
    old = _stored_assessment(period, by, scope)
    new = assess(session, start, end, by=by, scope=scope)
    rules = [
        {"item": item, "stored": old.rules[item], "recomputed": new.rules[item]}
        for item in ASSESSMENT_ITEMS
        if old.rules[item] != new.rules[item]
    ]
    before = {r.key: r for r in old.rows}
    after = {r.key: r for r in new.rows}
    rows: list[dict[str, Any]] = []
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        name = (a or b).name  # type: ignore[union-attr]
        if a is None or b is None:
            rows.append({"key": key, "name": name, "field": "row", "zh": "是否列入",
                         "en": "Listed", "stored": a is not None, "recomputed": b is not None})
            continue
        pairs: list[tuple[str, Any, Any]] = [("score", a.score, b.score), ("rank", a.rank, b.rank)]
        for item in COUNTED:
            pairs.append((f"{item}.count", a.counts[item], b.counts[item]))
            pairs.append((f"{item}.points", a.points[item], b.points[item]))
        rows += [
            {"key": key, "name": name, "field": f, **dict(zip(("zh", "en"), _field_label(f),
                                                             strict=True)),
             "stored": x, "recomputed": y}
            for f, x, y in pairs
            if x != y
        ]
    return Difference(old, new, rules, rows)


def stored_note(a: Assessment) -> str:
    """（已结算…）for a closed period's stored results, else empty."""
    if a.stored is None:
        return ""
    at = a.stored["closed_at"].astimezone(get_settings().zone)
    return (
        f"（{a.stored['name']}已于 {at:%Y-%m-%d %H:%M} 结算，为结算时保存的结果 "
        f"stored when the period was closed）"
    )


def assessment_xlsx(a: Assessment) -> bytes:
    """The assessment as a workbook: the ranking with the per-item breakdown, then the rules."""
    import io

    from openpyxl import Workbook
    from openpyxl.styles import Font

    wb = Workbook()
    ws = wb.active
    ws.title = "考核得分"
    who = "乡镇（街道）" if a.by == "township" else "责任单位"
    ws.append([f"{a.start.isoformat()} 至 {a.end.isoformat()} {who}考核得分{stored_note(a)}"])
    ws["A1"].font = Font(bold=True, size=14)
    header = ["排名", who]
    for item in COUNTED:
        header += [f"{ITEM_LABELS[item][0]}（项）", f"{ITEM_LABELS[item][0]}（分）"]
    ws.append([*header, "得分"])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for r in a.rows:
        values: list[Any] = [r.rank, r.name]
        for item in COUNTED:
            values += [r.counts[item], r.points[item]]
        ws.append([*values, r.score])
    rules = wb.create_sheet("考核规则")
    rules.append(["考核项", "item", "分值 points"])
    rules.append(["基础分", "base", a.rules["base"]])
    for item in COUNTED:
        rules.append([ITEM_LABELS[item][0], item, a.rules[item]])
    if a.stored is not None:
        rules.append([])
        rules.append(["结算 closed", a.stored["name"], a.stored["closed_at"].isoformat()])
        rules.append(["结算人 closed by", a.stored["closed_by"]])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
