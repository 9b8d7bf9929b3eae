"""A problem's milestones (阶段性目标) as its page lists them: due, met, claimed or superseded."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from gis.db.models import Milestone, Problem


def milestone_state(m: Milestone, today: date) -> str:
    """met, superseded, claimed (a township's report awaiting the office), overdue or pending."""
    if m.met_on is not None:
        return "met"
    if m.superseded_on is not None:
        return "superseded"
    if m.claimed_on is not None:
        return "claimed"
    return "overdue" if m.due_date < today else "pending"


def problem_milestones(session: Session, code: str, *, today: date) -> list[dict[str, Any]]:
    """The milestones of a problem by due date, each with its state."""
    rows = session.scalars(
        select(Milestone)
        .join(Problem, Problem.id == Milestone.problem_id)
        .where(Problem.code == code)
        .order_by(Milestone.due_date, Milestone.id)
    ).all()
    return [
        {
            "id": m.id,
            "title": m.title,
            "due_date": m.due_date,
            "met_on": m.met_on,
            "superseded_on": m.superseded_on,
            "claimed_on": m.claimed_on,
            "claimed_by": m.claimed_by,
            "note": m.note,
            "state": milestone_state(m, today),
        }
        for m in rows
    ]
