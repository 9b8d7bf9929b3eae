"""Evaluate the rules once: plan, issue numbered notices into the ledger, then deliver them.

:func:`run_once` takes a PostgreSQL advisory lock (``pg_try_advisory_xact_lock``) for the
evaluation, so several app processes never evaluate at the same time; a process that does not
get the lock skips the run. Issuing happens in one transaction (numbers, notice documents, the
``notice`` events in each problem's history, queued deliveries), each notice in a savepoint so one
bad notice never blocks the rest; sending happens after the commit, so a dead channel can neither
block nor undo the ledger. A dry run plans and writes nothing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from gis import vocab
from gis.db.models import (
    Notice,
    NoticeChannel,
    NoticeContact,
    NoticeRule,
    NoticeRun,
    Problem,
)
from gis.ledger.deadlines import days_overdue_sql, due_date_sql, local_today, warning_sql
from gis.ledger.writes import end_due_public_notices, record_event
from gis.notices.config import NoticeSettings, get_notice_settings
from gis.notices.delivery import deliver_due, pending_count, queue_deliveries
from gis.notices.directory import Subject, channels_for, resolve_recipients
from gis.notices.numbering import next_number, peek_number
from gis.notices.render import build_context, render_html, render_markdown
from gis.notices.rules import KINDS, Match, dedup_key, matches

log = logging.getLogger("lookback.notices")
LOCK_KEY = int.from_bytes(hashlib.sha256(b"lookback.notices.run").digest()[:8], "big", signed=True)


def _label(enum: type[vocab.Labelled], value: str | None) -> str:
    try:
        return enum(value).zh if value else ""
    except ValueError:
        return value or ""


def problem_details(session: Session, ids: list[int], today: date) -> dict[int, dict[str, Any]]:
    """Ledger fields of the problems with ``ids``, with due date, days overdue and colour."""
    if not ids:
        return {}
    rows = session.execute(
        text(
            "SELECT p.id, p.code, p.category, p.description, p.township_code,"
            " t.name AS township_name, p.responsible_unit, p.responsible_person,"
            " p.supervising_leader, p.measures, p.deadline_kind, p.status, p.rebound_count,"
            f" ({due_date_sql('p')}) AS due_date, {days_overdue_sql('p')} AS days_overdue,"
            f" {warning_sql('p')} AS warning"
            " FROM problems p LEFT JOIN townships t ON t.code = p.township_code"
            " WHERE p.id = ANY(:ids)"
        ),
        {"ids": ids, "today": today},
    ).mappings()
    found = {}
    for r in rows:
        item = dict(r)
        item["due_date"] = r["due_date"].isoformat() if r["due_date"] else None
        item["category_label"] = _label(vocab.Category, r["category"])
        item["status_label"] = _label(vocab.Status, r["status"])
        item["deadline_kind_label"] = _label(vocab.DeadlineKind, r["deadline_kind"])
        item["warning_label"] = _label(vocab.Warning, r["warning"])
        found[r["id"]] = item
    return found


def complaint_details(session: Session, ids: list[int]) -> dict[int, dict[str, Any]]:
    """Fields of the complaints with ``ids`` for a notice."""
    if not ids:
        return {}
    rows = session.execute(
        text(
            "SELECT c.id, c.code, c.kind, c.channel, left(c.text, 300) AS text, c.received_at,"
            " c.feedback_due, c.township_code, t.name AS township_name"
            " FROM complaints c LEFT JOIN townships t ON t.code = c.township_code"
            " WHERE c.id = ANY(:ids)"
        ),
        {"ids": ids},
    ).mappings()
    return {
        r["id"]: {
            **dict(r),
            "received_at": r["received_at"].isoformat(),
            "feedback_due": r["feedback_due"].isoformat(),
        }
        for r in rows
    }


@dataclass
class Planned:
    """A notice a rule wants to send today, with whom it reaches and through what."""

    rule: NoticeRule
    match: Match
    key: str
    recipients: list[dict[str, Any]]
    channels: list[NoticeChannel]
    problem: dict[str, Any] | None
    complaint: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready summary (for dry runs and reports)."""
        return {
            "rule": self.rule.name,
            "kind": self.rule.kind,
            "title": KINDS[self.rule.kind][0],
            "trigger": self.rule.trigger,
            "colour": self.rule.colour,
            "problem_code": self.problem["code"] if self.problem else None,
            "complaint_code": self.complaint["code"] if self.complaint else None,
            "township_code": self.match.township_code,
            "recipients": [f"{r['role']}:{r['name']}" for r in self.recipients],
            "channels": [c.name for c in self.channels],
            "dedup_key": self.key,
        }


def plan(session: Session, today: date, *, rules: list[NoticeRule] | None = None) -> list[Planned]:
    """The notices the enabled rules call for on ``today`` that were not sent already."""
    active = rules or list(
        session.scalars(select(NoticeRule).where(NoticeRule.enabled).order_by(NoticeRule.id))
    )
    candidates: list[tuple[NoticeRule, Match, str]] = []
    for rule in active:
        for match in matches(session, rule, today):
            candidates.append((rule, match, dedup_key(rule, match)))
    if not candidates:
        return []
    last = dict(
        session.execute(
            select(Notice.dedup_key, func.max(Notice.issued_on))
            .where(Notice.dedup_key.in_([key for _, _, key in candidates]))
            .group_by(Notice.dedup_key)
        ).all()
    )
    due = []
    for rule, match, key in candidates:
        previous = last.get(key)
        if previous is not None and not (
            rule.min_interval_days and (today - previous).days >= rule.min_interval_days
        ):
            continue
        due.append((rule, match, key))
    problems = problem_details(session, [m.problem_id for _, m, _ in due if m.problem_id], today)
    complaints = complaint_details(session, [m.complaint_id for _, m, _ in due if m.complaint_id])
    contacts = list(session.scalars(select(NoticeContact).where(NoticeContact.enabled)))
    channels = list(
        session.scalars(
            select(NoticeChannel).where(NoticeChannel.enabled).order_by(NoticeChannel.id)
        )
    )
    planned = []
    for rule, match, key in due:
        problem = problems.get(match.problem_id) if match.problem_id else None
        complaint = complaints.get(match.complaint_id) if match.complaint_id else None
        subject = Subject(
            township_code=match.township_code,
            responsible_person=(problem or {}).get("responsible_person", ""),
            responsible_unit=(problem or {}).get("responsible_unit", ""),
        )
        planned.append(
            Planned(
                rule=rule,
                match=match,
                key=key,
                recipients=resolve_recipients(contacts, list(rule.recipients), subject),
                channels=channels_for(channels, list(rule.channels), match.township_code),
                problem=problem,
                complaint=complaint,
            )
        )
    return planned


def notice_view(notice: Notice, item: Planned) -> dict[str, Any]:
    """The notice as the generic webhook carries it."""
    return {
        "id": notice.id,
        "number": notice.number,
        "kind": notice.kind,
        "title": notice.title,
        "colour": notice.colour,
        "trigger": notice.trigger,
        "rule": notice.rule_name,
        "issued_on": notice.issued_on.isoformat(),
        "problem_code": item.problem["code"] if item.problem else None,
        "complaint_code": item.complaint["code"] if item.complaint else None,
        "township_code": notice.township_code,
        "situation": notice.context.get("situation", ""),
        "link": notice.context.get("link", ""),
    }


def issue(
    session: Session,
    item: Planned,
    *,
    today: date,
    now: datetime,
    settings: NoticeSettings | None = None,
) -> Notice:
    """Number, render and record one notice, attach it to the history and queue its deliveries."""
    s = settings or get_notice_settings()
    rule = item.rule
    seq, number = next_number(session, rule.kind, today.year)

    def context(notice_id: int | None) -> dict[str, Any]:
        return build_context(
            number=number,
            kind=rule.kind,
            trigger=rule.trigger,
            rule=rule.name,
            colour=rule.colour,
            issued_on=today,
            facts=item.match.facts,
            problem=item.problem,
            complaint=item.complaint,
            recipients=item.recipients,
            notice_id=notice_id,
        )

    notice = Notice(
        kind=rule.kind,
        year=today.year,
        seq=seq,
        number=number,
        title=KINDS[rule.kind][0],
        rule_id=rule.id,
        rule_name=rule.name,
        trigger=rule.trigger,
        colour=rule.colour,
        dedup_key=item.key,
        problem_id=item.match.problem_id,
        complaint_id=item.match.complaint_id,
        township_code=item.match.township_code,
        issued_on=today,
        issued_at=now,
        recipients=item.recipients,
        context={},
        html="",
        text="",
    )
    session.add(notice)
    session.flush()
    ctx = context(notice.id)
    notice.context = ctx
    notice.html = render_html(ctx, s.templates)
    notice.text = render_markdown(ctx)
    if item.match.problem_id is not None:
        problem = session.get(Problem, item.match.problem_id)
        assert problem is not None
        event = record_event(
            session,
            problem,
            actor=s.actor,
            action="notice",
            at=now,
            reason=f"{number} {notice.title}：{ctx['situation']}",
            after={
                "notice": {
                    "id": notice.id,
                    "number": number,
                    "kind": rule.kind,
                    "title": notice.title,
                    "rule": rule.name,
                    "trigger": rule.trigger,
                    "colour": rule.colour,
                    "recipients": [f"{r['role']}:{r['name']}" for r in item.recipients],
                    "channels": [c.name for c in item.channels],
                }
            },
        )
        session.flush()
        notice.event_id = event.id
    queue_deliveries(
        session,
        notice,
        item.channels,
        view=notice_view(notice, item),
        markdown=notice.text,
        recipients=item.recipients,
        now=now,
        settings=s,
    )
    return notice


@dataclass
class RunReport:
    """What one evaluation did (or, dry, would do)."""

    today: date
    dry_run: bool
    skipped: str | None = None
    run_id: int | None = None
    planned: list[dict[str, Any]] = field(default_factory=list)
    issued: list[dict[str, Any]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    deliveries: dict[str, int] = field(default_factory=dict)
    pending_deliveries: int = 0
    closed_after_notice: int = 0  # problems whose 公示 ended, closed by this run

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "today": self.today.isoformat(),
            "dry_run": self.dry_run,
            "skipped": self.skipped,
            "run_id": self.run_id,
            "planned": self.planned,
            "issued": self.issued,
            "errors": self.errors,
            "deliveries": self.deliveries,
            "pending_deliveries": self.pending_deliveries,
            "closed_after_notice": self.closed_after_notice,
        }


def _dry_run(engine: Engine, today: date, now: datetime) -> RunReport:
    report = RunReport(today=today, dry_run=True)
    with Session(engine) as session:
        try:
            ahead: Counter[str] = Counter()
            for item in plan(session, today):
                ahead[item.rule.kind] += 1
                preview = peek_number(session, item.rule.kind, today.year, ahead[item.rule.kind])
                report.planned.append({**item.as_dict(), "number_preview": preview})
            report.pending_deliveries = pending_count(session)
        finally:
            session.rollback()
    return report


def run_once(
    engine: Engine,
    *,
    today: date | None = None,
    now: datetime | None = None,
    dry_run: bool = False,
    trigger: str = "cli",
    min_gap_s: float = 0.0,
    deliver: bool = True,
    settings: NoticeSettings | None = None,
) -> RunReport:
    """Evaluate the rules once, issue what is due and deliver everything pending."""
    at = now or datetime.now(UTC)
    day = today or local_today(at)
    s = settings or get_notice_settings()
    if dry_run:
        return _dry_run(engine, day, at)
    report = RunReport(today=day, dry_run=False)
    with Session(engine, expire_on_commit=False) as session, session.begin():
        locked = session.execute(
            text("SELECT pg_try_advisory_xact_lock(:k)"), {"k": LOCK_KEY}
        ).scalar_one()
        if not locked:
            report.skipped = "another process is evaluating the notice rules"
            return report
        if min_gap_s > 0:
            last = session.scalar(
                select(func.max(NoticeRun.started_at)).where(NoticeRun.trigger == trigger)
            )
            if last is not None and (at - last).total_seconds() < min_gap_s:
                report.skipped = f"the last {trigger} run started at {last.isoformat()}"
                return report
        run = NoticeRun(
            started_at=at,
            today=day,
            trigger=trigger,
            host=f"{socket.gethostname()}:{os.getpid()}",
            issued=0,
            sent=0,
            failed=0,
        )
        session.add(run)
        session.flush()
        report.run_id = run.id
        # A public notice (公示) that has ended closes its problem by itself, before the rules
        # look at the ledger.
        with session.begin_nested():
            report.closed_after_notice = end_due_public_notices(
                session, actor="公示期满 scheduler", now=at
            )
        for item in plan(session, day):
            report.planned.append(item.as_dict())
            try:
                with session.begin_nested():
                    notice = issue(session, item, today=day, now=at, settings=s)
            except Exception as exc:  # noqa: BLE001 - one bad notice must not block the others
                log.exception("could not issue notice %s", item.key)
                report.errors.append(f"{item.key}: {type(exc).__name__}: {exc}")
                continue
            report.issued.append(
                {
                    "id": notice.id,
                    "number": notice.number,
                    "rule": notice.rule_name,
                    "problem_code": item.problem["code"] if item.problem else None,
                    "complaint_code": item.complaint["code"] if item.complaint else None,
                    "channels": [c.name for c in item.channels],
                }
            )
        run.issued = len(report.issued)
    if deliver:
        summary = deliver_due(engine, now=at, settings=s)
        report.deliveries = summary.as_dict()
        with Session(engine) as session:
            report.pending_deliveries = pending_count(session)
    with Session(engine) as session, session.begin():
        run = session.get(NoticeRun, report.run_id)
        if run is not None:
            run.finished_at = datetime.now(UTC)
            run.sent = report.deliveries.get("sent", 0)
            run.failed = report.deliveries.get("failed", 0)
    return report
