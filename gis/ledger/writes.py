"""Writing the ledger: create problems, change fields, run lifecycle actions — each leaves an event.

Every function here takes the session, a keyword-only ``actor`` and the time, and writes one
append-only event per change (逐个环节留痕) with the fields before and after. Rules on deadlines
and closure live here and in :mod:`gis.ledger.lifecycle`; the API and the importers call these.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import shapely
from geoalchemy2.shape import from_shape, to_shape
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from gis import vocab
from gis.access.permissions import may_move_goalposts
from gis.access.scope import scope_filter
from gis.config import get_settings
from gis.db.models import Attachment, Closure, Event, Inspection, Milestone, Problem
from gis.errors import LookbackError
from gis.geo.townships import township_exists, township_for_wkt
from gis.ledger.lifecycle import TransitionError, check_transition

EDITABLE_FIELDS = tuple(f.name for f in vocab.PROBLEM_FIELDS if f.editable)
SNAPSHOT_FIELDS = (
    "code",
    "source",
    "category",
    "township_code",
    "description",
    "responsible_unit",
    "responsible_person",
    "supervising_leader",
    "target",
    "measures",
    "deadline_kind",
    "deadline",
    "status",
    "closed_at",
    "rebound_count",
)


class LedgerError(LookbackError, ValueError):
    """A request the ledger refuses, with the field at fault when there is one."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field

    def details(self) -> dict:
        return {"field": self.field}


class NotFound(LookbackError, LookupError):
    """No such problem (or milestone, closure…)."""

    kind = "not_found"


class Conflict(LookbackError, ValueError):
    """The request clashes with what is stored (a duplicate code, a concurrent change)."""

    kind = "conflict"


def _json(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def snapshot(problem: Problem, fields: tuple[str, ...] = SNAPSHOT_FIELDS) -> dict[str, Any]:
    """The problem's ledger fields as JSON-ready values."""
    return {f: _json(getattr(problem, f)) for f in fields}


def record_event(
    session: Session,
    problem: Problem,
    *,
    actor: str,
    action: str,
    at: datetime,
    reason: str = "",
    before: dict | None = None,
    after: dict | None = None,
) -> Event:
    """Append one event to the problem's history."""
    event = Event(
        problem_id=problem.id,
        actor=actor,
        action=action,
        at=at,
        reason=reason,
        before=before,
        after=after,
    )
    session.add(event)
    return event


def parse_geometry(geometry: dict | BaseGeometry | None) -> BaseGeometry | None:
    """A valid lon/lat geometry from GeoJSON, or a :class:`LedgerError` saying what is wrong."""
    if geometry is None:
        return None
    try:
        geom = geometry if isinstance(geometry, BaseGeometry) else shape(geometry)
    except (
        KeyError,
        TypeError,
        ValueError,
        AttributeError,
        IndexError,
        shapely.errors.ShapelyError,
    ) as exc:
        raise LedgerError(f"not a GeoJSON geometry: {exc}", field="geometry") from exc
    if geom.is_empty:
        raise LedgerError("the geometry is empty", field="geometry")
    if geom.geom_type not in {
        "Point",
        "LineString",
        "Polygon",
        "MultiPoint",
        "MultiLineString",
        "MultiPolygon",
    }:
        raise LedgerError(f"unsupported geometry type {geom.geom_type}", field="geometry")
    coords = shapely.get_coordinates(geom)
    if not shapely.is_valid_input(geom) or not (coords == coords).all():
        raise LedgerError("coordinates must be numbers", field="geometry")
    lon, lat = coords[:, 0], coords[:, 1]
    if (abs(lat) > 90).any() or (abs(lon) > 180).any():
        swapped = (abs(lon) <= 90).all() and (abs(lat) <= 180).all()
        hint = " (latitude and longitude look swapped: GeoJSON is [lon, lat])" if swapped else ""
        raise LedgerError("coordinates out of range" + hint, field="geometry")
    if ((lon > 0) & (lon < 60) & (lat > 70) & (lat < 140)).all():
        raise LedgerError(
            "latitude and longitude look swapped: GeoJSON is [lon, lat], e.g. [113.3, 34.4]",
            field="geometry",
        )
    if not geom.is_valid:
        raise LedgerError(f"invalid geometry: {shapely.is_valid_reason(geom)}", field="geometry")
    return geom


def get_problem(session: Session, code: str, *, lock: bool = False) -> Problem:
    """The problem with ``code``, or :class:`NotFound`."""
    stmt = select(Problem).where(Problem.code == code)
    if lock:
        stmt = stmt.with_for_update()
    problem = session.scalars(stmt).first()
    if problem is None:
        raise NotFound(f"no problem with code {code!r}")
    return problem


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(UTC)


def _local_date(moment: datetime) -> date:
    return moment.astimezone(get_settings().zone).date()


@dataclass
class ProblemInput:
    """The fields of a new problem."""

    code: str
    source: str
    category: str
    deadline_kind: str = vocab.DeadlineKind.DATED.value
    description: str = ""
    responsible_unit: str = ""
    responsible_person: str = ""
    supervising_leader: str = ""
    target: str = ""
    measures: str = ""
    deadline: date | None = None
    township_code: str | None = None
    township_override_reason: str | None = None
    geometry: dict | BaseGeometry | None = None
    site_id: int | None = None


def _check_vocab(name: str, value: str, enum: type) -> None:
    allowed = vocab.values(enum)
    if value not in allowed:
        raise LedgerError(f"{name} must be one of: {', '.join(allowed)}", field=name)


def _resolve_township(
    session: Session,
    problem: Problem,
    geom: BaseGeometry | None,
    given: str | None,
    reason: str | None,
) -> None:
    derived = township_for_wkt(session, geom.wkt) if geom is not None else None
    if given:
        if not township_exists(session, given):
            raise LedgerError(f"no township with code {given}", field="township_code")
        if derived and derived != given and not reason:
            raise LedgerError(
                f"the geometry lies in township {derived}, not {given}: give "
                "township_override_reason to override the spatial assignment",
                field="township_code",
            )
        problem.township_code = given
        problem.township_override_reason = reason if derived != given else None
    else:
        problem.township_code = derived


def create_problem(
    session: Session,
    data: ProblemInput,
    *,
    actor: str,
    now: datetime | None = None,
    reason: str = "",
) -> Problem:
    """Register a problem (status ``reported``); township from its geometry unless given."""
    at = _now(now)
    _check_vocab("source", data.source, vocab.Source)
    _check_vocab("category", data.category, vocab.Category)
    _check_vocab("deadline_kind", data.deadline_kind, vocab.DeadlineKind)
    if not data.code.strip():
        raise LedgerError("code must not be empty", field="code")
    if session.scalar(select(func.count()).where(Problem.code == data.code)):
        raise Conflict(f"a problem with code {data.code!r} exists")
    geom = parse_geometry(data.geometry)
    problem = Problem(
        code=data.code.strip(),
        source=data.source,
        category=data.category,
        deadline_kind=data.deadline_kind,
        description=data.description,
        responsible_unit=data.responsible_unit,
        responsible_person=data.responsible_person,
        supervising_leader=data.supervising_leader,
        target=data.target,
        measures=data.measures,
        deadline=data.deadline,
        status=vocab.Status.REPORTED.value,
        reported_at=at,
        created_at=at,
        updated_at=at,
        rebound_count=0,
        site_id=data.site_id,
        progress="",
        geom=from_shape(geom, srid=4490) if geom is not None else None,
    )
    _resolve_township(session, problem, geom, data.township_code, data.township_override_reason)
    session.add(problem)
    session.flush()
    record_event(
        session,
        problem,
        actor=actor,
        action="created",
        at=at,
        reason=reason,
        after=snapshot(problem),
    )
    return problem


def update_problem(
    session: Session,
    code: str,
    changes: dict[str, Any],
    *,
    actor: str,
    reason: str = "",
    now: datetime | None = None,
    role: str | None = None,
) -> Problem:
    """Change ledger fields (not the status: that takes an action); one event for the change.

    A deadline is never set in the past; setting it later than it is takes the office
    (:func:`gis.access.permissions.may_move_goalposts`) and a reason.
    """
    at = _now(now)
    unknown = set(changes) - set(EDITABLE_FIELDS) - {"geometry"}
    if unknown:
        raise LedgerError(
            f"cannot change {', '.join(sorted(unknown))}; editable: {', '.join(EDITABLE_FIELDS)}"
            " (the status changes through actions)",
            field=sorted(unknown)[0],
        )
    problem = get_problem(session, code, lock=True)
    if "deadline" in changes:
        _check_goalpost(problem.deadline, changes["deadline"], at=at, role=role, reason=reason)
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    for name in ("source", "category", "deadline_kind"):
        if name in changes:
            _check_vocab(
                name,
                changes[name],
                {
                    "source": vocab.Source,
                    "category": vocab.Category,
                    "deadline_kind": vocab.DeadlineKind,
                }[name],
            )
    if "geometry" in changes:
        geom = parse_geometry(changes["geometry"])
        old = to_shape(problem.geom).wkt if problem.geom is not None else None
        new = geom.wkt if geom is not None else None
        if old != new:
            before["geometry"], after["geometry"] = old, new
            problem.geom = from_shape(geom, srid=4490) if geom is not None else None
            if "township_code" not in changes:
                old_town = problem.township_code
                _resolve_township(session, problem, geom, None, None)
                if problem.township_code != old_town:
                    before["township_code"], after["township_code"] = (
                        old_town,
                        problem.township_code,
                    )
    if "township_code" in changes:
        old_town = problem.township_code
        geom = to_shape(problem.geom) if problem.geom is not None else None
        _resolve_township(
            session,
            problem,
            geom,
            changes["township_code"],
            changes.get("township_override_reason"),
        )
        if problem.township_code != old_town:
            before["township_code"], after["township_code"] = old_town, problem.township_code
    for name, value in changes.items():
        if name in ("geometry", "township_code", "township_override_reason"):
            continue
        old = getattr(problem, name)
        if old != value:
            before[name], after[name] = _json(old), _json(value)
            setattr(problem, name, value)
    if not after:
        return problem
    if (
        problem.deadline_kind != "long_term"
        and problem.status != "reported"
        and not problem.deadline
    ):
        raise LedgerError("an assigned problem needs a deadline", field="deadline")
    problem.updated_at = at
    record_event(
        session,
        problem,
        actor=actor,
        action="updated",
        at=at,
        reason=reason,
        before=before,
        after=after,
    )
    return problem


def _check_goalpost(
    current: date | None, new: date | None, *, at: datetime, role: str | None, reason: str
) -> None:
    """Refuse a deadline in the past, and a later one from anyone but the office or without a
    reason. Clearing a deadline moves it later (to never): the same rule."""
    if new == current or (new is None and current is None):
        return
    if new is None:
        if not may_move_goalposts(role):
            raise LedgerError(
                "只有整改办可以取消截止日期 / only the office may remove a deadline",
                field="deadline",
            )
        if not reason.strip():
            raise LedgerError(
                "取消截止日期需说明理由 / removing a deadline needs a reason", field="reason"
            )
        return
    if new < _local_date(at):
        raise LedgerError(
            f"截止日期不能早于今天 / the deadline {new.isoformat()} is in the past",
            field="deadline",
        )
    if current is not None and new > current:
        if not may_move_goalposts(role):
            raise LedgerError(
                "只有整改办可以延后截止日期 / only the office may set a later deadline",
                field="deadline",
            )
        if not reason.strip():
            raise LedgerError(
                "延期需说明理由 / a later deadline needs a reason", field="reason"
            )


# Inspection flags (gis.field.inspections.FLAGS) that make a visit unfit to prove rectification:
# it was not at the site, its photo was taken elsewhere or already used, or its time is impossible.
UNFIT_FLAGS = frozenset({"off_site", "exif_far", "photo_reused", "future_time"})
# Findings that say the problem is there (or another one is): not evidence that it is gone.
UNFIT_FINDINGS = frozenset({"persists", "rebound", "new_problem"})


def _evidence(
    session: Session, problem: Problem, attachment_ids: list[int], inspection_ids: list[int]
) -> dict[str, list[int]]:
    """The evidence a closure application cites, each item checked to show this problem after
    its rectification began (from assignment, else from its report): no before photos, no
    "persists" or "rebound" findings, no visit flagged off the site or with a reused or
    far-away photo, nothing dated before the rectification began."""
    began = problem.assigned_at or problem.reported_at
    atts = (
        session.scalars(
            select(Attachment).where(
                Attachment.id.in_(attachment_ids), Attachment.problem_id == problem.id
            )
        ).all()
        if attachment_ids
        else []
    )
    insps = (
        session.scalars(
            select(Inspection).where(
                Inspection.id.in_(inspection_ids), Inspection.problem_id == problem.id
            )
        ).all()
        if inspection_ids
        else []
    )
    found_att = {a.id for a in atts}
    found_insp = {i.id for i in insps}
    missing = [f"attachment {i}" for i in attachment_ids if i not in found_att]
    missing += [f"inspection {i}" for i in inspection_ids if i not in found_insp]
    if missing:
        raise TransitionError(f"evidence not found for this problem: {', '.join(missing)}")
    unfit: list[str] = []
    for a in atts:
        if a.kind == "before_photo":
            unfit.append(f"attachment {a.id} is a before photo (整改前照片)")
        elif began is not None and a.created_at is not None and a.created_at < began:
            unfit.append(f"attachment {a.id} was uploaded before the rectification began")
    for i in insps:
        if i.finding in UNFIT_FINDINGS:
            unfit.append(f"inspection {i.id} found {i.finding!r}")
        if bad := sorted(UNFIT_FLAGS.intersection(i.flags or [])):
            unfit.append(f"inspection {i.id} is flagged {', '.join(bad)}")
        if began is not None and i.observed_at < began:
            unfit.append(f"inspection {i.id} was made before the rectification began")
    if unfit:
        raise TransitionError(
            "this evidence does not show the rectification / 证据不能证明已整改: "
            + "; ".join(unfit)
        )
    if not found_att and not found_insp:
        raise TransitionError(
            "a closure application needs evidence: attachments (photos, documents) or an"
            " inspection of this problem"
        )
    return {"attachments": sorted(found_att), "inspections": sorted(found_insp)}


def _pending_closure(session: Session, problem: Problem) -> Closure:
    closure = session.scalars(
        select(Closure).where(
            Closure.problem_id == problem.id, Closure.outcome.in_(("pending", "in_notice"))
        )
    ).first()
    if closure is None:
        raise TransitionError("there is no pending closure application for this problem")
    return closure


@dataclass
class _Step:
    """What one lifecycle action works on: the problem, the request and the moment."""

    session: Session
    problem: Problem
    actor: str
    reason: str
    at: datetime
    today: date
    settings: Any
    deadline: date | None
    attachment_ids: list[int]
    inspection_ids: list[int]
    passed: bool | None


# A handler returns False when the action keeps the status (approval into a public notice).
def _assign(s: _Step) -> bool:
    p = s.problem
    if not p.responsible_unit.strip() or not p.responsible_person.strip():
        raise TransitionError("assign needs a responsible unit and a responsible person")
    if p.deadline_kind == "immediate":
        p.deadline = s.deadline or s.today + timedelta(days=s.settings.immediate_window_days)
    elif p.deadline_kind == "dated":
        p.deadline = s.deadline or p.deadline
        if p.deadline is None:
            raise TransitionError("assign needs a deadline for a time-limited problem")
    elif s.deadline:
        p.deadline = s.deadline
    p.assigned_at = s.at
    return True


def _start(s: _Step) -> bool:
    return True


def _apply_closure(s: _Step) -> bool:
    evidence = _evidence(s.session, s.problem, s.attachment_ids, s.inspection_ids)
    s.session.add(
        Closure(
            problem_id=s.problem.id,
            applied_at=s.at,
            applied_by=s.actor,
            evidence=evidence,
            outcome="pending",
            check_note="",
        )
    )
    return True


def _record_check(s: _Step) -> bool:
    if s.passed is None:
        raise TransitionError("record_check needs passed: true or false")
    closure = _pending_closure(s.session, s.problem)
    if closure.outcome != "pending":
        raise TransitionError("the closure is already approved and in public notice")
    if s.inspection_ids:
        _evidence(s.session, s.problem, [], s.inspection_ids)
    closure.checked_at, closure.checked_by = s.at, s.actor
    closure.check_passed, closure.check_note = s.passed, s.reason
    return True


def _reject_closure(s: _Step) -> bool:
    if not s.reason.strip():
        raise TransitionError("reject_closure needs a reason")
    _pending_closure(s.session, s.problem).outcome = "rejected"
    s.problem.notice_ends_on = None
    return True


def _approve_closure(s: _Step) -> bool:
    closure = _pending_closure(s.session, s.problem)
    if closure.outcome != "pending":
        raise TransitionError("the closure is already approved and in public notice")
    if not closure.check_passed:
        raise TransitionError("approve_closure needs a passed on-site check (record_check) first")
    if closure.applied_by == s.actor:
        raise TransitionError("the approver must be someone other than the applicant")
    closure.approved_at, closure.approved_by = s.at, s.actor
    if s.settings.public_notice_days > 0:
        closure.outcome = "in_notice"
        closure.notice_ends_on = s.today + timedelta(days=s.settings.public_notice_days)
        s.problem.notice_ends_on = closure.notice_ends_on
        return False
    closure.outcome = "closed"
    s.problem.closed_at = s.at
    return True


def _end_public_notice(s: _Step) -> bool:
    closure = _pending_closure(s.session, s.problem)
    if closure.outcome != "in_notice" or closure.notice_ends_on is None:
        raise TransitionError("the closure is not in public notice")
    if s.today < closure.notice_ends_on:
        raise TransitionError(f"the public notice runs until {closure.notice_ends_on.isoformat()}")
    closure.outcome = "closed"
    s.problem.closed_at = s.at
    s.problem.notice_ends_on = None
    return True


def _rebound(s: _Step) -> bool:
    if not s.reason.strip():
        raise TransitionError("rebound needs a reason (what was found, where)")
    if s.deadline is not None and s.deadline < s.today:
        raise TransitionError("the new deadline is in the past")
    p = s.problem
    p.rebound_count += 1
    # a rebound is rectified anew: a new deadline (the office's, or the configured default),
    # and the old unmet stages no longer set the due date
    p.deadline = s.deadline or s.today + timedelta(days=s.settings.rebound_deadline_days)
    for m in p.milestones:
        if m.met_on is None and m.superseded_on is None:
            m.superseded_on = s.today
    return True


def _reopen(s: _Step) -> bool:
    p = s.problem
    if s.deadline is not None and s.deadline < s.today:
        raise TransitionError("the new deadline is in the past")
    if s.deadline is None and p.deadline is not None and p.deadline < s.today:
        raise TransitionError(
            "重新整改需要新的截止日期 / reopen needs a new deadline: the rebound's has passed"
        )
    p.deadline = s.deadline or p.deadline
    p.closed_at = None
    return True


# One handler per action of the state machine (gis.ledger.lifecycle.ACTIONS).
HANDLERS: dict[str, Callable[[_Step], bool]] = {
    "assign": _assign,
    "start": _start,
    "apply_closure": _apply_closure,
    "record_check": _record_check,
    "reject_closure": _reject_closure,
    "approve_closure": _approve_closure,
    "end_public_notice": _end_public_notice,
    "rebound": _rebound,
    "reopen": _reopen,
}
_TRACKED = ("status", "deadline", "closed_at", "rebound_count")


def transition(
    session: Session,
    code: str,
    action: str,
    *,
    actor: str,
    reason: str = "",
    now: datetime | None = None,
    deadline: date | None = None,
    attachment_ids: list[int] | None = None,
    inspection_ids: list[int] | None = None,
    passed: bool | None = None,
) -> Problem:
    """Run a lifecycle action on a problem; refused with the allowed actions when illegal."""
    at = _now(now)
    problem = get_problem(session, code, lock=True)
    step = check_transition(problem.status, action)
    before = snapshot(problem, _TRACKED)
    ctx = _Step(
        session, problem, actor, reason, at, _local_date(at), get_settings(), deadline,
        attachment_ids or [], inspection_ids or [], passed,
    )
    moves = HANDLERS[action](ctx)
    problem.updated_at = at
    if not moves:  # approved into a public notice: the status waits for the notice to end
        record_event(
            session, problem, actor=actor, action=action, at=at, reason=reason, before=before,
            after={"notice_ends_on": problem.notice_ends_on.isoformat()},
        )
        return problem
    problem.status = step.target.value
    after = snapshot(problem, _TRACKED)
    record_event(
        session,
        problem,
        actor=actor,
        action=action,
        at=at,
        reason=reason,
        before={k: v for k, v in before.items() if after[k] != v},
        after={k: v for k, v in after.items() if before[k] != v},
    )
    return problem


def end_due_public_notices(session: Session, *, actor: str, now: datetime | None = None) -> int:
    """Close every problem whose public notice has ended; returns how many closed."""
    at = _now(now)
    today = _local_date(at)
    codes = session.scalars(
        select(Problem.code)
        .join(Closure, Closure.problem_id == Problem.id)
        .where(Closure.outcome == "in_notice", Closure.notice_ends_on <= today)
    ).all()
    for code in codes:
        transition(
            session,
            code,
            "end_public_notice",
            actor=actor,
            now=at,
            reason="公示期满 public notice ended",
        )
    return len(codes)


def add_milestone(
    session: Session,
    code: str,
    *,
    title: str,
    due_date: date,
    actor: str,
    now: datetime | None = None,
) -> Milestone:
    """Add a staged target (阶段性目标) to a long-term problem."""
    at = _now(now)
    problem = get_problem(session, code, lock=True)
    if problem.deadline_kind != "long_term":
        raise LedgerError(
            "milestones belong to long-term (长期坚持) problems", field="deadline_kind"
        )
    if due_date < _local_date(at):
        raise LedgerError(
            f"阶段目标日期不能早于今天 / the milestone date {due_date.isoformat()} is in the past",
            field="due_date",
        )
    milestone = Milestone(problem_id=problem.id, title=title, due_date=due_date, note="")
    session.add(milestone)
    session.flush()
    problem.updated_at = at
    record_event(
        session,
        problem,
        actor=actor,
        action="milestone_added",
        at=at,
        after={"milestone": {"id": milestone.id, "title": title, "due_date": due_date.isoformat()}},
    )
    return milestone


def meet_milestone(
    session: Session,
    milestone_id: int,
    *,
    met_on: date,
    actor: str,
    note: str = "",
    now: datetime | None = None,
    role: str | None = None,
) -> Milestone:
    """Record that a milestone was met (reconciled, 对账).

    From the office this is the fact; from a township it is a claim (``claimed_on``) that changes
    no due date, overdue flag or warning until the office confirms it (逐月逐季对账, see
    :func:`milestone_claims`).
    """
    at = _now(now)
    milestone = session.get(Milestone, milestone_id)
    if milestone is None:
        raise NotFound(f"no milestone {milestone_id}")
    problem = session.get(Problem, milestone.problem_id)
    assert problem is not None
    if met_on > _local_date(at):
        raise LedgerError("达标日期不能晚于今天 / met_on is in the future", field="met_on")
    if not may_move_goalposts(role):
        before = {"milestone": {"id": milestone.id, "claimed_on": _json(milestone.claimed_on)}}
        milestone.claimed_on, milestone.claimed_by = met_on, actor
        if note:
            milestone.note = note
        problem.updated_at = at
        record_event(
            session,
            problem,
            actor=actor,
            action="milestone_claimed",
            at=at,
            reason=note,
            before=before,
            after={"milestone": {"id": milestone.id, "claimed_on": met_on.isoformat()}},
        )
        return milestone
    before = {"milestone": {"id": milestone.id, "met_on": _json(milestone.met_on)}}
    milestone.met_on, milestone.note = met_on, note
    problem.updated_at = at
    record_event(
        session,
        problem,
        actor=actor,
        action="milestone_met",
        at=at,
        reason=note,
        before=before,
        after={"milestone": {"id": milestone.id, "met_on": met_on.isoformat()}},
    )
    return milestone


def milestone_claims(session: Session, scope: tuple[str, ...] | None = None) -> list[Milestone]:
    """The reconciliation list (对账): milestones a township reported met that the office has not
    confirmed yet, oldest claim first, within ``scope``."""
    stmt = (
        select(Milestone)
        .join(Problem, Problem.id == Milestone.problem_id)
        .where(Milestone.claimed_on.is_not(None), Milestone.met_on.is_(None))
        .where(scope_filter(Problem.township_code, scope))
        .order_by(Milestone.claimed_on, Milestone.id)
    )
    return list(session.scalars(stmt))


def history(session: Session, code: str) -> list[Event]:
    """The problem's events, oldest first."""
    problem = get_problem(session, code)
    return list(
        session.scalars(
            select(Event).where(Event.problem_id == problem.id).order_by(Event.at, Event.id)
        )
    )
