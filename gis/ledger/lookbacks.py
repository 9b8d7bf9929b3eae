"""Look-back rounds (回头看): re-inspect closed problems; finding one again marks it rebounded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.db.models import Inspection, LookbackRound, LookbackTask, Problem
from gis.ledger.writes import LedgerError, NotFound, transition


@dataclass(frozen=True)
class RoundCriteria:
    """Which closed problems a round re-inspects; ``sample`` draws that many at random."""

    township_code: str | None = None
    category: str | None = None
    source: str | None = None
    sample: int | None = None
    seed: int = 0

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def create_round(
    session: Session,
    *,
    name: str,
    actor: str,
    criteria: RoundCriteria,
    due_date: date | None = None,
) -> tuple[LookbackRound, int]:
    """Create a round and one task per selected closed problem; returns it and the task count."""
    if criteria.sample is not None and criteria.sample < 1:
        raise LedgerError("sample must be at least 1", field="sample")
    clauses, params = ["p.status = 'closed'"], {}
    for column in ("township_code", "category", "source"):
        value = getattr(criteria, column)
        if value:
            clauses.append(f"p.{column} = :{column}")
            params[column] = value
    # A seeded, repeatable random sample: order by a hash of id and seed.
    order = "md5(p.id::text || ':' || :seed)" if criteria.sample else "p.id"
    params["seed"] = str(criteria.seed)
    limit = " LIMIT :sample" if criteria.sample else ""
    if criteria.sample:
        params["sample"] = criteria.sample
    ids = [
        r[0]
        for r in session.execute(
            text(
                f"SELECT p.id FROM problems p WHERE {' AND '.join(clauses)} ORDER BY {order}{limit}"
            ),
            params,
        )
    ]
    if not ids:
        raise LedgerError("no closed problem matches the round's criteria")
    rnd = LookbackRound(name=name, created_by=actor, due_date=due_date, criteria=criteria.as_dict())
    session.add(rnd)
    session.flush()
    session.add_all(
        LookbackTask(round_id=rnd.id, problem_id=i, result="pending", note="") for i in ids
    )
    session.flush()
    return rnd, len(ids)


def record_result(
    session: Session,
    task_id: int,
    *,
    found_again: bool,
    actor: str,
    note: str = "",
    inspection_id: int | None = None,
    new_deadline: date | None = None,
    now: datetime | None = None,
) -> LookbackTask:
    """Record a look-back check; finding the problem again rebounds and reopens it."""
    at = now or datetime.now(UTC)
    task = session.get(LookbackTask, task_id, with_for_update=True)
    if task is None:
        raise NotFound(f"no look-back task {task_id}")
    if task.result != "pending":
        raise LedgerError(f"look-back task {task_id} is already {task.result}")
    problem = session.get(Problem, task.problem_id)
    assert problem is not None
    if inspection_id is not None:
        inspection = session.get(Inspection, inspection_id)
        if inspection is None or inspection.problem_id != problem.id:
            raise LedgerError(
                "the inspection does not belong to this problem", field="inspection_id"
            )
    if found_again:
        reason = note or "回头看发现问题反弹 found again in a look-back"
        # the rebound sets the new deadline (this one, or the configured default)
        transition(
            session,
            problem.code,
            "rebound",
            actor=actor,
            now=at,
            reason=reason,
            deadline=new_deadline,
        )
        transition(session, problem.code, "reopen", actor=actor, now=at, reason=reason)
    task.result = "rebounded" if found_again else "passed"
    task.inspection_id, task.done_at, task.note = inspection_id, at, note
    return task


def round_progress(session: Session, round_id: int) -> dict[str, int]:
    """How many tasks of a round are pending, passed and rebounded."""
    if session.get(LookbackRound, round_id) is None:
        raise NotFound(f"no look-back round {round_id}")
    counts = dict.fromkeys(("pending", "passed", "rebounded"), 0)
    rows = session.execute(
        select(LookbackTask.result, text("count(*)"))
        .where(LookbackTask.round_id == round_id)
        .group_by(LookbackTask.result)
    )
    counts.update({r: int(n) for r, n in rows})
    return counts
