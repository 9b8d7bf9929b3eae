"""Reading the notices and the delivery log, within a caller's township scope."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from gis.db.models import Complaint, Notice, NoticeDelivery, Problem
from gis.ledger.writes import NotFound


def _iso(value: Any) -> Any:
    return value.isoformat() if value is not None and hasattr(value, "isoformat") else value


def notice_dict(
    notice: Notice, problem_code: str | None, complaint_code: str | None
) -> dict[str, Any]:
    """A notice's log entry (without the document)."""
    return {
        "id": notice.id,
        "number": notice.number,
        "kind": notice.kind,
        "title": notice.title,
        "colour": notice.colour,
        "trigger": notice.trigger,
        "rule": notice.rule_name,
        "issued_on": _iso(notice.issued_on),
        "issued_at": _iso(notice.issued_at),
        "problem_code": problem_code,
        "complaint_code": complaint_code,
        "township_code": notice.township_code,
        "event_id": notice.event_id,
        "situation": notice.context.get("situation", ""),
        "recipients": notice.recipients,
    }


def delivery_dict(delivery: NoticeDelivery, number: str | None = None) -> dict[str, Any]:
    """A delivery's log entry."""
    return {
        "id": delivery.id,
        "notice_id": delivery.notice_id,
        "notice_number": number,
        "channel": delivery.channel_name,
        "channel_kind": delivery.channel_kind,
        "recipients": delivery.recipients,
        "payload": delivery.payload,
        "status": delivery.status,
        "attempts": delivery.attempts,
        "max_attempts": delivery.max_attempts,
        "next_attempt_at": _iso(delivery.next_attempt_at),
        "last_attempt_at": _iso(delivery.last_attempt_at),
        "delivered_at": _iso(delivery.delivered_at),
        "result": delivery.result,
        "attempt_log": delivery.attempt_log,
    }


def _mask_phone(phone: str) -> str:
    digits = str(phone or "")
    return "*" * max(len(digits) - 4, 0) + digits[-4:] if digits else ""


def _mask_email(email: str) -> str:
    local, sep, domain = str(email or "").partition("@")
    return f"{local[:1]}***@{domain}" if sep else ""


def without_contacts(entry: dict[str, Any]) -> dict[str, Any]:
    """A notice or delivery entry for readers who do not manage notices.

    Recipients keep their names, roles and units; phone numbers and e-mail addresses are masked
    (``*******1234``, ``w***@county.example``) and the payload as sent (which holds them) is left
    out. Deliveries inside a notice entry are treated the same.
    """
    shown = dict(entry)
    if "recipients" in shown:
        shown["recipients"] = [
            {
                **r,
                "phone": _mask_phone(r.get("phone", "")),
                "email": _mask_email(r.get("email", "")),
            }
            for r in shown.get("recipients") or []
        ]
    if "payload" in shown:
        shown["payload"] = None
    if "deliveries" in shown:
        shown["deliveries"] = [without_contacts(d) for d in shown["deliveries"]]
    return shown


def _notices_select() -> Select:
    return (
        select(Notice, Problem.code, Complaint.code)
        .outerjoin(Problem, Problem.id == Notice.problem_id)
        .outerjoin(Complaint, Complaint.id == Notice.complaint_id)
    )


def _scoped(stmt: Select, scope: tuple[str, ...] | None) -> Select:
    return stmt if scope is None else stmt.where(Notice.township_code.in_(scope))


def list_notices(
    session: Session,
    *,
    scope: tuple[str, ...] | None,
    township: list[str] | None = None,
    problem_code: str | None = None,
    kind: str | None = None,
    since: date | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Notices newest first within ``scope`` (None: every township), and how many match."""
    stmt = _scoped(_notices_select(), scope)
    if township:
        stmt = stmt.where(Notice.township_code.in_(township))
    if problem_code:
        stmt = stmt.where(Problem.code == problem_code)
    if kind:
        stmt = stmt.where(Notice.kind == kind)
    if since:
        stmt = stmt.where(Notice.issued_on >= since)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(
        stmt.order_by(Notice.issued_at.desc(), Notice.id.desc()).limit(limit).offset(offset)
    ).all()
    return [notice_dict(n, p, c) for n, p, c in rows], int(total)


def get_notice(session: Session, notice_id: int) -> tuple[Notice, dict[str, Any]]:
    """A notice and its log entry with its deliveries, or :class:`NotFound`."""
    row = session.execute(_notices_select().where(Notice.id == notice_id)).first()
    if row is None:
        raise NotFound(f"no notice {notice_id}")
    notice, problem_code, complaint_code = row
    deliveries = session.scalars(
        select(NoticeDelivery)
        .where(NoticeDelivery.notice_id == notice_id)
        .order_by(NoticeDelivery.id)
    )
    entry = notice_dict(notice, problem_code, complaint_code)
    entry["deliveries"] = [delivery_dict(d, notice.number) for d in deliveries]
    return notice, entry


def list_deliveries(
    session: Session,
    *,
    scope: tuple[str, ...] | None,
    notice_id: int | None = None,
    status: str | None = None,
    channel: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[list[dict[str, Any]], int]:
    """Deliveries newest first within ``scope``, and how many match."""
    stmt = _scoped(
        select(NoticeDelivery, Notice.number).join(Notice, Notice.id == NoticeDelivery.notice_id),
        scope,
    )
    if notice_id is not None:
        stmt = stmt.where(NoticeDelivery.notice_id == notice_id)
    if status:
        stmt = stmt.where(NoticeDelivery.status == status)
    if channel:
        stmt = stmt.where(NoticeDelivery.channel_name == channel)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.execute(
        stmt.order_by(NoticeDelivery.id.desc()).limit(limit).offset(offset)
    ).all()
    return [delivery_dict(d, number) for d, number in rows], int(total)
