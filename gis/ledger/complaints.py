"""Complaints (信访件): one file per case, a feedback deadline in working days, rebound checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from geoalchemy2.shape import from_shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis import vocab
from gis.config import get_settings
from gis.db.models import Complaint, Problem
from gis.geo.townships import township_for_wkt
from gis.ledger.rebounds import flag_for_complaint
from gis.ledger.workdays import add_workdays, load_calendar
from gis.ledger.writes import (
    Conflict,
    LedgerError,
    NotFound,
    ProblemInput,
    create_problem,
    parse_geometry,
    record_event,
)


@dataclass
class ComplaintInput:
    """A complaint as received."""

    code: str
    channel: str
    kind: str
    received_at: datetime
    text: str = ""
    category: str | None = None
    geometry: dict | None = None
    township_code: str | None = None


def create_complaint(session: Session, data: ComplaintInput) -> tuple[Complaint, list[int]]:
    """Register a complaint; returns it and the suspected rebounds it raised."""
    for name, value, enum in (
        ("channel", data.channel, vocab.ComplaintChannel),
        ("kind", data.kind, vocab.ComplaintKind),
    ):
        if value not in vocab.values(enum):
            raise LedgerError(f"{name} must be one of: {', '.join(vocab.values(enum))}", field=name)
    if data.category is not None and data.category not in vocab.values(vocab.Category):
        raise LedgerError("category must be a ledger category", field="category")
    if data.received_at.tzinfo is None:
        raise LedgerError("received_at needs a time zone offset", field="received_at")
    if session.scalar(select(func.count()).where(Complaint.code == data.code)):
        raise Conflict(f"a complaint with code {data.code!r} exists")
    settings = get_settings()
    geom = parse_geometry(data.geometry)
    if geom is not None and geom.geom_type != "Point":
        raise LedgerError("a complaint's location is a point", field="geometry")
    received_day = data.received_at.astimezone(settings.zone).date()
    complaint = Complaint(
        code=data.code,
        channel=data.channel,
        kind=data.kind,
        category=data.category,
        text=data.text,
        received_at=data.received_at,
        feedback_due=add_workdays(
            received_day, settings.complaint_feedback_days, load_calendar(session)
        ),
        geom=from_shape(geom, srid=4490) if geom is not None else None,
        township_code=data.township_code
        or (township_for_wkt(session, geom.wkt) if geom is not None else None),
    )
    session.add(complaint)
    session.flush()
    suspects = flag_for_complaint(session, complaint.id)
    return complaint, suspects


def get_complaint(session: Session, code: str) -> Complaint:
    complaint = session.scalars(select(Complaint).where(Complaint.code == code)).first()
    if complaint is None:
        raise NotFound(f"no complaint with code {code!r}")
    return complaint


def record_feedback(session: Session, code: str, *, at: datetime | None = None) -> Complaint:
    """Record that the complainant got feedback."""
    complaint = get_complaint(session, code)
    complaint.feedback_at = at or datetime.now(UTC)
    return complaint


def link_to_problem(session: Session, code: str, problem_code: str, *, actor: str) -> Complaint:
    """Attach a complaint to an existing problem (it evidences that problem)."""
    complaint = get_complaint(session, code)
    problem = session.scalars(select(Problem).where(Problem.code == problem_code)).first()
    if problem is None:
        raise NotFound(f"no problem with code {problem_code!r}")
    complaint.problem_id = problem.id
    record_event(
        session,
        problem,
        actor=actor,
        action="complaint_linked",
        at=datetime.now(UTC),
        after={"complaint": complaint.code},
    )
    return complaint


def convert_to_problem(
    session: Session,
    code: str,
    *,
    problem_code: str,
    category: str,
    actor: str,
    responsible_unit: str = "",
    responsible_person: str = "",
) -> Problem:
    """Turn a complaint into a new ledger problem (source ``complaint``) and link them."""
    complaint = get_complaint(session, code)
    if complaint.problem_id:
        raise Conflict(f"complaint {code} is already linked to a problem")
    from geoalchemy2.shape import to_shape

    problem = create_problem(
        session,
        ProblemInput(
            code=problem_code,
            source="complaint",
            category=category,
            description=complaint.text,
            responsible_unit=responsible_unit,
            responsible_person=responsible_person,
            geometry=to_shape(complaint.geom) if complaint.geom is not None else None,
            township_code=complaint.township_code,
        ),
        actor=actor,
        reason=f"由信访件 {complaint.code} 转立 from complaint {complaint.code}",
    )
    complaint.problem_id = problem.id
    return problem
