"""On-site assignment (现场交办、限期要账): a finding becomes an assigned problem in one step."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis.config import get_settings
from gis.db.models import Problem
from gis.ledger.writes import LedgerError, ProblemInput, create_problem, transition


def next_onsite_code(session: Session, day: date) -> str:
    """The next free code of the form ``XC-YYYYMMDD-NNN`` for problems found on ``day``."""
    prefix = f"XC-{day:%Y%m%d}-"
    taken = session.scalar(select(func.count()).where(Problem.code.like(prefix + "%"))) or 0
    return f"{prefix}{taken + 1:03d}"


def assign_on_site(
    session: Session,
    *,
    lon: float,
    lat: float,
    category: str,
    description: str,
    responsible_unit: str,
    responsible_person: str,
    actor: str,
    deadline_kind: str = "immediate",
    deadline: date | None = None,
    measures: str = "",
    source: str = "inspection",
    now: datetime | None = None,
) -> Problem:
    """Create a problem at a point, in the township it lies in, assigned with its deadline."""
    at = now or datetime.now(UTC)
    day = at.astimezone(get_settings().zone).date()
    problem = create_problem(
        session,
        ProblemInput(
            code=next_onsite_code(session, day),
            source=source,
            category=category,
            deadline_kind=deadline_kind,
            description=description,
            measures=measures,
            responsible_unit=responsible_unit,
            responsible_person=responsible_person,
            deadline=deadline,
            geometry={"type": "Point", "coordinates": [lon, lat]},
        ),
        actor=actor,
        now=at,
        reason="现场交办 assigned on site",
    )
    if problem.township_code is None:
        raise LedgerError("the point lies outside every township of the county", field="lon")
    return transition(
        session,
        problem.code,
        "assign",
        actor=actor,
        now=at,
        deadline=deadline,
        reason="现场交办 assigned on site",
    )
