"""Complaints (信访件): one file per case, a feedback deadline in working days, rebound checks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from geoalchemy2.shape import from_shape
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from gis import vocab
from gis.access.scope import Scope
from gis.config import get_settings
from gis.db.models import FOLLOW_UP_OUTCOMES, Complaint, ComplaintStep, Problem
from gis.geo.townships import township_exists, township_for_wkt
from gis.ledger import records
from gis.ledger.rebounds import flag_for_complaint
from gis.ledger.workdays import (
    OfficialCalendar,
    add_workdays,
    load_calendar,
    workdays_between,
)
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
    if data.township_code and not township_exists(session, data.township_code):
        raise LedgerError(
            f"乡镇 {data.township_code} 不存在 / no township with code {data.township_code}",
            field="township_code",
        )
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


# -- the case file (一案一档): handling steps, reply, conclusion, follow-up --------------------

STEP_KINDS = ("handling", "reply", "conclusion", "follow_up")


def feedback_colour(
    due: date, feedback_at: datetime | None, today: date, calendar: OfficialCalendar
) -> tuple[str, int | None]:
    """The warning colour of a complaint's feedback deadline and the working days left.

    Answered (feedback given): ``none``. Otherwise by working days left until ``due``: past it
    ``red`` (the count is negative), due today or tomorrow ``orange``, within 3 ``yellow``,
    later ``blue``.
    """
    if feedback_at is not None:
        return "none", None
    left = workdays_between(today, due, calendar)
    if due < today:
        return "red", -workdays_between(due, today, calendar)
    if left <= 1:
        return "orange", left
    if left <= 3:
        return "yellow", left
    return "blue", left


def _coloured(items: list[dict], today: date, calendar: OfficialCalendar) -> list[dict]:
    for item in items:
        item["colour"], item["workdays_left"] = feedback_colour(
            item["feedback_due"], item["feedback_at"], today, calendar
        )
    return items


def complaint_queue(
    session: Session,
    *,
    today: date,
    scope: Scope,
    townships: list[str] | None = None,
    overdue: bool | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[dict], int]:
    """The complaints list of the workbench: each with its feedback colour, working days left,
    township name and whether it is concluded (办结); newest first, within ``scope``."""
    items, total = records.list_complaints(
        session,
        today=today,
        scope=scope,
        townships=townships,
        overdue=overdue,
        limit=limit,
        offset=offset,
    )
    codes = [i["code"] for i in items]
    extra = {
        r.code: r
        for r in session.execute(
            text(
                "SELECT c.code, t.name AS township_name,"
                " EXISTS (SELECT 1 FROM complaint_steps s WHERE s.complaint_id = c.id"
                "  AND s.kind = 'conclusion') AS concluded"
                " FROM complaints c LEFT JOIN townships t ON t.code = c.township_code"
                " WHERE c.code = ANY(:codes)"
            ),
            {"codes": codes},
        )
    }
    for item in items:
        item["township_name"] = extra[item["code"]].township_name
        item["concluded"] = extra[item["code"]].concluded
    return _coloured(items, today, load_calendar(session)), total


def complaint_township(session: Session, code: str) -> tuple[bool, str | None]:
    """Whether complaint ``code`` exists, and its township."""
    row = session.execute(
        text("SELECT township_code FROM complaints WHERE code = :c"), {"c": code}
    ).first()
    return (row is not None, row[0] if row else None)


def case_version(session: Session, code: str) -> str:
    """A token that changes with every change to the case (steps, feedback, linked problem)."""
    row = session.execute(
        text(
            "SELECT coalesce(max(s.id), 0) AS step, c.problem_id, c.feedback_at"
            " FROM complaints c LEFT JOIN complaint_steps s ON s.complaint_id = c.id"
            " WHERE c.code = :c GROUP BY c.id"
        ),
        {"c": code},
    ).first()
    if row is None:
        raise NotFound(f"no complaint with code {code!r}")
    return (
        f"{row.step}:{row.problem_id or 0}:{row.feedback_at.isoformat() if row.feedback_at else ''}"
    )


def step_dict(step: ComplaintStep) -> dict:
    """One step of a case as the case file, the page and the API show it."""
    return {
        "id": step.id,
        "at": step.at,
        "actor": step.actor,
        "kind": step.kind,
        "text": step.text,
        "outcome": step.outcome,
    }


def _steps(session: Session, complaint_id: int) -> list[dict]:
    return [
        step_dict(s)
        for s in session.scalars(
            select(ComplaintStep)
            .where(ComplaintStep.complaint_id == complaint_id)
            .order_by(ComplaintStep.at, ComplaintStep.id)
        )
    ]


def complaint_steps(session: Session, code: str) -> list[dict]:
    """The handling steps of complaint ``code`` in order (:class:`NotFound` when none)."""
    return _steps(session, get_complaint(session, code).id)


def case_file(session: Session, code: str, today: date) -> dict:
    """One complaint's case file: the receipt, its steps in order, the reply, conclusion and
    last follow-up, attachments, the linked problem, the feedback colour and the version."""
    record = records.complaint_record(session, code, today)
    complaint = get_complaint(session, code)
    steps = _steps(session, complaint.id)
    last = dict.fromkeys(STEP_KINDS)
    for step in steps:
        last[step["kind"]] = step
    attachments = [
        dict(r)
        for r in session.execute(
            text(
                "SELECT id, filename, media_type, size_bytes, uploaded_by, created_at"
                " FROM attachments WHERE complaint_id = :c ORDER BY id"
            ),
            {"c": complaint.id},
        ).mappings()
    ]
    township_name = session.execute(
        text("SELECT name FROM townships WHERE code = :c"), {"c": complaint.township_code}
    ).scalar()
    colour, left = feedback_colour(
        complaint.feedback_due, complaint.feedback_at, today, load_calendar(session)
    )
    return {
        **record,
        "township_name": township_name,
        "lon": record["geometry"]["coordinates"][0] if record.get("geometry") else None,
        "lat": record["geometry"]["coordinates"][1] if record.get("geometry") else None,
        "steps": steps,
        "reply": last["reply"],
        "conclusion": last["conclusion"],
        "follow_up": last["follow_up"],
        "attachments": attachments,
        "colour": colour,
        "workdays_left": left,
        "version": case_version(session, code),
        "actions": case_actions(last, record["problem_code"]),
    }


def case_actions(last: dict, problem_code: str | None) -> list[str]:
    """The steps a case takes next: handling and reply until concluded, the conclusion once
    replied, follow-up calls after it; linking or converting while no problem is linked."""
    if last["conclusion"] is None:
        actions = ["handling", "reply"] + (["conclusion"] if last["reply"] else [])
    else:
        actions = ["follow_up"]
    return actions + ([] if problem_code else ["link", "convert"]) + ["attach"]


def add_step(
    session: Session,
    code: str,
    *,
    kind: str,
    text_: str,
    actor: str,
    outcome: str | None = None,
    now: datetime | None = None,
) -> ComplaintStep:
    """Add a step to a complaint's case.

    A handling step or a reply needs text and comes before the conclusion; the reply (答复)
    is the feedback to the complainant (it records ``feedback_at`` the first time). The
    conclusion (办结) needs a reply first and comes once. A follow-up call (回访) comes after
    the conclusion and names its outcome.
    """
    if kind not in STEP_KINDS:
        raise LedgerError(f"kind must be one of: {', '.join(STEP_KINDS)}", field="kind")
    complaint = session.scalars(
        select(Complaint).where(Complaint.code == code).with_for_update()
    ).first()
    if complaint is None:
        raise NotFound(f"no complaint with code {code!r}")
    body = text_.strip()
    if len(body) > 5000:
        raise LedgerError("the text is too long (5000 characters at most)", field="text")
    kinds = set(
        session.scalars(
            select(ComplaintStep.kind).where(ComplaintStep.complaint_id == complaint.id)
        )
    )
    if kind == "follow_up":
        if outcome not in FOLLOW_UP_OUTCOMES:
            raise LedgerError(
                f"outcome must be one of: {', '.join(FOLLOW_UP_OUTCOMES)}", field="outcome"
            )
        if "conclusion" not in kinds:
            raise LedgerError("a follow-up call comes after the conclusion", field="kind")
    else:
        outcome = None
        if not body:
            raise LedgerError("the text must not be empty", field="text")
        if "conclusion" in kinds:
            raise LedgerError("the case is concluded", field="kind")
        if kind == "conclusion" and "reply" not in kinds:
            raise LedgerError("concluding needs a reply first", field="kind")
    at = now or datetime.now(UTC)
    step = ComplaintStep(
        complaint_id=complaint.id, at=at, actor=actor, kind=kind, text=body, outcome=outcome
    )
    session.add(step)
    if kind == "reply" and complaint.feedback_at is None:
        complaint.feedback_at = at
    session.flush()
    return step
