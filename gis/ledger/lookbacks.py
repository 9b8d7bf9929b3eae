"""Look-back rounds (回头看): re-inspect closed problems; finding one again marks it rebounded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from gis.access.scope import Scope, scope_sql
from gis.config import get_settings
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
    townships: tuple[str, ...] | None = None  # any of these townships
    closed_from: date | None = None  # closed on or after this local date
    closed_to: date | None = None  # closed on or before this local date

    def as_dict(self) -> dict:
        out: dict = {}
        for key, value in self.__dict__.items():
            if value is None:
                continue
            if isinstance(value, date):
                value = value.isoformat()
            elif isinstance(value, tuple):
                value = list(value)
            out[key] = value
        return out


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
    if criteria.townships:
        clauses.append("p.township_code = ANY(:townships)")
        params["townships"] = list(criteria.townships)
    if criteria.closed_from and criteria.closed_to and criteria.closed_from > criteria.closed_to:
        raise LedgerError("the period ends before it starts", field="closed_to")
    for key, op in (("closed_from", ">="), ("closed_to", "<=")):
        if getattr(criteria, key):
            clauses.append(f"(p.closed_at AT TIME ZONE :tz)::date {op} :{key}")
            params[key] = getattr(criteria, key)
            params["tz"] = get_settings().timezone
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


def list_rounds(session: Session, scope: Scope) -> list[dict]:
    """Rounds newest first with their progress, counted over the tasks within ``scope``.

    A scoped caller sees only rounds with at least one task in its townships, and only those
    tasks' counts: ``total``, ``done`` (passed or rebounded) and ``rebounded`` (found again).
    """
    params: dict = {}
    where = scope_sql("p.township_code", scope, params)
    rows = session.execute(
        text(
            "SELECT r.id, r.name, r.created_at, r.created_by, r.due_date, r.criteria,"
            " count(k.id) AS total,"
            " count(k.id) FILTER (WHERE k.result <> 'pending') AS done,"
            " count(k.id) FILTER (WHERE k.result = 'rebounded') AS rebounded"
            " FROM lookback_rounds r JOIN lookback_tasks k ON k.round_id = r.id"
            f" JOIN problems p ON p.id = k.problem_id WHERE {where}"
            " GROUP BY r.id ORDER BY r.created_at DESC, r.id DESC"
        ),
        params,
    ).mappings()
    return [_seen_by(dict(r), scope) for r in rows]


def _seen_by(round_row: dict, scope: Scope) -> dict:
    """A round as a scoped caller may see it: its criteria name only the caller's townships and
    not the sample size (which would hint at how many other townships' problems it drew)."""
    if scope is None:
        return round_row
    criteria = {
        k: v for k, v in (round_row.get("criteria") or {}).items() if k not in ("sample", "seed")
    }
    for key in ("townships",):
        if key in criteria:
            criteria[key] = [c for c in criteria[key] if c in scope]
    if criteria.get("township_code") not in (None, *scope):
        criteria.pop("township_code")
    return {**round_row, "criteria": criteria}


def round_detail(session: Session, round_id: int, scope: Scope) -> dict | None:
    """A round with its tasks (problem, township, closure date, result) within ``scope``.

    ``None`` when there is no such round or none of its tasks lies within ``scope`` (a scoped
    caller cannot tell the two apart).
    """
    params: dict = {"r": round_id}
    where = scope_sql("p.township_code", scope, params)
    head = (
        session.execute(
            text(
                "SELECT id, name, created_at, created_by, due_date, criteria"
                " FROM lookback_rounds WHERE id = :r"
            ),
            {"r": round_id},
        )
        .mappings()
        .first()
    )
    if head is None:
        return None
    tasks = [
        dict(t)
        for t in session.execute(
            text(
                "SELECT k.id, k.result, k.done_at, k.note, k.inspection_id, p.code AS problem_code,"
                " p.category, p.status, p.deadline, p.township_code,"
                # when it was last closed (a reopened problem's closed_at is cleared)
                " (SELECT max(e.at) FROM events e WHERE e.problem_id = p.id"
                "  AND e.after ->> 'status' = 'closed') AS closed_at,"
                " t.name AS township_name FROM lookback_tasks k"
                " JOIN problems p ON p.id = k.problem_id"
                " LEFT JOIN townships t ON t.code = p.township_code"
                f" WHERE k.round_id = :r AND {where} ORDER BY k.id"
            ),
            params,
        ).mappings()
    ]
    if not tasks:
        return None
    progress = dict.fromkeys(("pending", "passed", "rebounded"), 0)
    for task in tasks:
        progress[task["result"]] += 1
    return {
        **_seen_by(dict(head), scope),
        "tasks": tasks,
        "progress": progress,
        "total": len(tasks),
        "done": progress["passed"] + progress["rebounded"],
    }
