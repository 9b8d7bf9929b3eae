"""Notice rules: the vocabulary, the defaults seeded by migration 0004, what each trigger matches.

Rules live in the database (table ``notice_rules``), editable by the office through the API; the
migration seeds :data:`DEFAULT_RULES`. A rule matches *subjects* (a problem, a suspected rebound,
an inspection, a complaint) in an *episode* (for deadline rules: the due date, so an extended
deadline starts a new one). A subject gets one notice per rule and episode, or one every
``min_interval_days`` while it keeps matching.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.config import get_settings
from gis.db.models import (
    NOTICE_CHANNEL_KINDS,
    NOTICE_KINDS,
    NOTICE_RECIPIENT_ROLES,
    NOTICE_TRIGGERS,
    NoticeRule,
)
from gis.ledger.deadlines import days_overdue_sql, due_date_sql, open_sql, warning_sql
from gis.ledger.writes import Conflict, LedgerError, NotFound

COLOURS = ("blue", "yellow", "orange", "red")
# kind -> (title, number abbreviation, English)
KINDS: dict[str, tuple[str, str, str]] = {
    "reminder": ("提醒函", "提醒", "Reminder"),
    "warning": ("预警函", "预警", "Warning letter"),
    "supervision": ("督办函", "督办", "Supervision letter"),
    "summons": ("约谈通知", "约谈", "Summons"),
}
TRIGGER_LABELS: dict[str, str] = {
    "warning": "四色预警",
    "days_before": "临近整改期限",
    "days_after": "逾期",
    "rebound": "问题反弹",
    "suspected_rebound": "疑似反弹",
    "off_site": "异地打卡（巡查定位偏离问题点位）",
    "complaint_due": "信访件临近反馈期限",
}
ROLE_LABELS: dict[str, str] = {
    "responsible_person": "责任人",
    "township_head": "属地乡镇负责人",
    "office": "督察整改办",
}
COLOUR_LABELS: dict[str, str] = {
    "blue": "蓝色预警",
    "yellow": "黄色预警",
    "orange": "橙色预警",
    "red": "红色预警",
}
assert set(KINDS) == set(NOTICE_KINDS)
assert set(TRIGGER_LABELS) == set(NOTICE_TRIGGERS)

ALL_ROLES = list(NOTICE_RECIPIENT_ROLES)
DEFAULT_RULES: tuple[dict[str, Any], ...] = (
    {
        "name": "blue_reminder",
        "trigger": "warning",
        "colour": "blue",
        "kind": "reminder",
        "recipients": ["responsible_person"],
        "description": "蓝色预警：临近整改期限，向责任人发提醒函",
    },
    {
        "name": "yellow_warning",
        "trigger": "warning",
        "colour": "yellow",
        "kind": "warning",
        "recipients": ["responsible_person", "township_head"],
        "description": "黄色预警：已逾期，向责任人和属地乡镇发预警函",
    },
    {
        "name": "orange_supervision",
        "trigger": "warning",
        "colour": "orange",
        "kind": "supervision",
        "recipients": ALL_ROLES,
        "description": "橙色预警：逾期较长，发督办函，抄送督察整改办",
    },
    {
        "name": "red_summons",
        "trigger": "warning",
        "colour": "red",
        "kind": "summons",
        "recipients": ALL_ROLES,
        "description": "红色预警：严重逾期，约谈责任单位主要负责人",
    },
    {
        "name": "rebound_supervision",
        "trigger": "rebound",
        "days": 7,
        "kind": "supervision",
        "recipients": ALL_ROLES,
        "description": "问题反弹（7日内记录的）：发督办函",
    },
    {
        "name": "suspected_rebound_reminder",
        "trigger": "suspected_rebound",
        "kind": "reminder",
        "recipients": ["office", "township_head"],
        "description": "疑似反弹待核实：提醒督察整改办和属地乡镇",
    },
    {
        "name": "off_site_warning",
        "trigger": "off_site",
        "days": 7,
        "kind": "warning",
        "recipients": ["office", "township_head"],
        "description": "巡查打卡位置偏离问题点位（7日内）：预警",
    },
    {
        "name": "complaint_due_reminder",
        "trigger": "complaint_due",
        "days": 2,
        "kind": "reminder",
        "recipients": ["township_head", "office"],
        "description": "信访件2日内到反馈期限且未反馈：提醒",
    },
)


def validate_rule(values: dict[str, Any]) -> None:
    """Raise :class:`LedgerError` unless ``values`` make a consistent rule."""
    trigger, kind = values.get("trigger"), values.get("kind")
    if trigger not in NOTICE_TRIGGERS:
        raise LedgerError(f"trigger must be one of: {', '.join(NOTICE_TRIGGERS)}", field="trigger")
    if kind not in NOTICE_KINDS:
        raise LedgerError(f"kind must be one of: {', '.join(NOTICE_KINDS)}", field="kind")
    colour = values.get("colour")
    if trigger == "warning" and colour not in COLOURS:
        raise LedgerError(f"a warning rule needs colour: {', '.join(COLOURS)}", field="colour")
    if trigger != "warning" and colour is not None:
        raise LedgerError("only warning rules have a colour", field="colour")
    days = values.get("days")
    if trigger in ("days_before", "days_after") and days is None:
        raise LedgerError(f"a {trigger} rule needs days", field="days")
    if days is not None and (not isinstance(days, int) or days < 0):
        raise LedgerError("days must be a whole number ≥ 0", field="days")
    interval = values.get("min_interval_days")
    if interval is not None and (not isinstance(interval, int) or interval < 1):
        raise LedgerError(
            "min_interval_days must be ≥ 1 (or null: once)", field="min_interval_days"
        )
    recipients = values.get("recipients") or []
    bad = [r for r in recipients if r not in NOTICE_RECIPIENT_ROLES]
    if bad or not recipients:
        raise LedgerError(
            f"recipients must be a non-empty list of: {', '.join(NOTICE_RECIPIENT_ROLES)}",
            field="recipients",
        )
    channels = values.get("channels") or []
    if not all(isinstance(c, str) and c for c in channels):
        raise LedgerError(
            "channels lists channel names or kinds"
            f" ({', '.join(NOTICE_CHANNEL_KINDS)}); empty = every enabled channel",
            field="channels",
        )


def ensure_default_rules(session: Session) -> int:
    """Insert the default rules that are missing by name; returns how many were added."""
    existing = set(session.scalars(select(NoticeRule.name)))
    added = 0
    for values in DEFAULT_RULES:
        if values["name"] in existing:
            continue
        session.add(
            NoticeRule(
                name=values["name"],
                trigger=values["trigger"],
                colour=values.get("colour"),
                days=values.get("days"),
                kind=values["kind"],
                recipients=list(values["recipients"]),
                channels=list(values.get("channels", [])),
                min_interval_days=values.get("min_interval_days"),
                enabled=True,
                description=values.get("description", ""),
            )
        )
        added += 1
    session.flush()
    return added


def rule_dict(rule: NoticeRule) -> dict[str, Any]:
    """A rule as JSON-ready values."""
    return {
        "id": rule.id,
        "name": rule.name,
        "trigger": rule.trigger,
        "colour": rule.colour,
        "days": rule.days,
        "kind": rule.kind,
        "kind_label": KINDS[rule.kind][0],
        "recipients": list(rule.recipients),
        "channels": list(rule.channels),
        "min_interval_days": rule.min_interval_days,
        "enabled": rule.enabled,
        "description": rule.description,
    }


@dataclass(frozen=True)
class Match:
    """One subject a rule matches today, with the facts the notice reports."""

    subject: str
    episode: str
    problem_id: int | None
    complaint_id: int | None
    township_code: str | None
    facts: dict[str, Any] = field(default_factory=dict)


def _local_day(column: str) -> str:
    return f"(({column}) AT TIME ZONE :tz)::date"


def _trigger_sql(rule: NoticeRule) -> tuple[str, dict[str, Any]]:
    """SELECT problem_id, complaint_id, township_code, subject, episode, facts for a rule."""
    due, d = due_date_sql("p"), days_overdue_sql("p")
    problem_cols = (
        "p.id AS problem_id, NULL::integer AS complaint_id, p.township_code,"
        " 'problem:' || p.id AS subject"
    )
    deadline_facts = f"json_build_object('due_date', {due}, 'days_overdue', {d})"
    days = rule.days
    if rule.trigger == "warning":
        return (
            f"SELECT {problem_cols}, 'due:' || ({due})::text AS episode, {deadline_facts} AS facts"
            f" FROM problems p WHERE {warning_sql('p')} = :colour",
            {"colour": rule.colour},
        )
    if rule.trigger == "days_before":
        return (
            f"SELECT {problem_cols}, 'due:' || ({due})::text AS episode, {deadline_facts} AS facts"
            f" FROM problems p WHERE {open_sql('p')} AND {d} BETWEEN -:days AND 0",
            {"days": days or 0},
        )
    if rule.trigger == "days_after":
        return (
            f"SELECT {problem_cols}, 'due:' || ({due})::text AS episode, {deadline_facts} AS facts"
            f" FROM problems p WHERE {open_sql('p')} AND {d} >= :days",
            {"days": days or 0},
        )
    if rule.trigger == "rebound":
        window = (
            f" AND {_local_day('e.at')} >= CAST(:today AS date) - :days" if days is not None else ""
        )
        return (
            f"SELECT {problem_cols}, 'rebound:' || p.rebound_count AS episode,"
            " json_build_object('rebound_count', p.rebound_count, 'rebound_at', e.at,"
            " 'rebound_reason', e.reason, 'due_date', "
            f"{due}, 'days_overdue', {d}) AS facts"
            " FROM problems p JOIN LATERAL (SELECT e.at, e.reason FROM events e"
            " WHERE e.problem_id = p.id AND e.action = 'rebound'"
            " ORDER BY e.at DESC, e.id DESC LIMIT 1) e ON TRUE"
            f" WHERE p.rebound_count > 0 AND {open_sql('p')}"
            f" AND {_local_day('e.at')} <= CAST(:today AS date){window}",
            {"days": days or 0},
        )
    if rule.trigger == "suspected_rebound":
        window = (
            f" AND {_local_day('s.created_at')} >= CAST(:today AS date) - :days"
            if days is not None
            else ""
        )
        return (
            "SELECT s.problem_id, s.complaint_id, p.township_code,"
            " 'suspect:' || s.id AS subject, 'open' AS episode,"
            " json_build_object('suspect_id', s.id, 'distance_m', round(s.distance_m::numeric, 1),"
            " 'days_since_closed', s.days_since_closed, 'complaint_code', c.code,"
            " 'inspection_id', s.inspection_id) AS facts"
            " FROM suspected_rebounds s JOIN problems p ON p.id = s.problem_id"
            " LEFT JOIN complaints c ON c.id = s.complaint_id"
            f" WHERE s.status = 'open'{window}",
            {"days": days or 0},
        )
    if rule.trigger == "off_site":
        window = (
            f" AND {_local_day('i.received_at')} >= CAST(:today AS date) - :days"
            if days is not None
            else ""
        )
        return (
            "SELECT i.problem_id, NULL::integer AS complaint_id,"
            " COALESCE(p.township_code, i.township_code) AS township_code,"
            " 'inspection:' || i.id AS subject, 'off_site' AS episode,"
            " json_build_object('inspection_id', i.id, 'inspection_uuid', i.uuid,"
            " 'inspector', i.inspector, 'observed_at', i.observed_at, 'accuracy_m', i.accuracy_m,"
            " 'distance_m', round(ST_Distance(p.geom::geography, i.geom::geography)::numeric, 0))"
            " AS facts"
            " FROM inspections i JOIN problems p ON p.id = i.problem_id"
            " WHERE i.flags ? 'off_site'"
            f" AND {_local_day('i.received_at')} <= CAST(:today AS date){window}",
            {"days": days or 0},
        )
    if rule.trigger == "complaint_due":
        return (
            "SELECT c.problem_id, c.id AS complaint_id, c.township_code,"
            " 'complaint:' || c.id AS subject, 'due:' || c.feedback_due::text AS episode,"
            " json_build_object('complaint_code', c.code, 'feedback_due', c.feedback_due,"
            " 'days_left', c.feedback_due - CAST(:today AS date), 'complaint_kind', c.kind,"
            " 'complaint_channel', c.channel, 'complaint_text', left(c.text, 300),"
            " 'received_at', c.received_at) AS facts"
            " FROM complaints c WHERE c.feedback_at IS NULL"
            " AND c.feedback_due - CAST(:today AS date) BETWEEN 0 AND :days",
            {"days": 2 if days is None else days},
        )
    raise ValueError(f"unknown trigger {rule.trigger!r}")


def matches(session: Session, rule: NoticeRule, today: date) -> list[Match]:
    """The subjects ``rule`` matches on ``today``, in a stable order."""
    sql, params = _trigger_sql(rule)
    rows = session.execute(
        text(f"SELECT * FROM ({sql}) m ORDER BY m.subject"),
        {"today": today, "tz": get_settings().timezone, **params},
    ).mappings()
    return [
        Match(
            subject=r["subject"],
            episode=r["episode"] or "",
            problem_id=r["problem_id"],
            complaint_id=r["complaint_id"],
            township_code=r["township_code"],
            facts=dict(r["facts"] or {}),
        )
        for r in rows
    ]


def dedup_key(rule: NoticeRule, match: Match) -> str:
    """The key under which a rule notifies a subject once per episode."""
    return f"rule:{rule.id}:{match.subject}:{match.episode}"


RULE_FIELDS = (
    "trigger",
    "colour",
    "days",
    "kind",
    "recipients",
    "channels",
    "min_interval_days",
    "enabled",
    "description",
)


def create_rule(session: Session, values: dict[str, Any]) -> NoticeRule:
    """Add a rule; its name must be unused."""
    name = str(values.get("name") or "").strip()
    if not name:
        raise LedgerError("a rule needs a name", field="name")
    validate_rule(values)
    if session.scalars(select(NoticeRule.id).where(NoticeRule.name == name)).first():
        raise Conflict(f"a rule named {name!r} exists")
    rule = NoticeRule(
        name=name,
        **{k: values.get(k) for k in RULE_FIELDS if k not in ("enabled", "description")},
        enabled=bool(values.get("enabled", True)),
        description=values.get("description") or "",
    )
    rule.recipients = list(rule.recipients or [])
    rule.channels = list(rule.channels or [])
    session.add(rule)
    session.flush()
    return rule


def update_rule(session: Session, rule_id: int, changes: dict[str, Any]) -> NoticeRule:
    """Change a rule's fields; the result must still be a consistent rule."""
    rule = session.get(NoticeRule, rule_id, with_for_update=True)
    if rule is None:
        raise NotFound(f"no notice rule {rule_id}")
    unknown = set(changes) - set(RULE_FIELDS)
    if unknown:
        raise LedgerError(f"cannot change {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    merged = {k: getattr(rule, k) for k in RULE_FIELDS} | changes
    validate_rule(merged)
    for key, value in changes.items():
        setattr(rule, key, list(value) if isinstance(value, list) else value)
    session.flush()
    return rule


def list_rules(session: Session) -> list[NoticeRule]:
    """Every notice rule, in the order they were made."""
    return list(session.scalars(select(NoticeRule).order_by(NoticeRule.id)))


def find_rule(session: Session, ref: str | int) -> NoticeRule:
    """A rule by id or name, or ``NotFound``."""
    if isinstance(ref, int) or str(ref).isdigit():
        rule = session.get(NoticeRule, int(ref))
    else:
        rule = session.scalars(select(NoticeRule).where(NoticeRule.name == ref)).first()
    if rule is None:
        raise NotFound(f"no notice rule {ref!r}")
    return rule
