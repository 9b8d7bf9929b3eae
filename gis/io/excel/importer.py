"""Writing the ledger: each parsed row creates, updates, merges into or leaves a problem, through
the ledger's writes (so every change is an event).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from geoalchemy2.shape import to_shape
from shapely.geometry import Point
from shapely.geometry.base import BaseGeometry
from sqlalchemy import Engine, select
from sqlalchemy.exc import DataError, IntegrityError
from sqlalchemy.orm import Session

from gis import vocab
from gis.config import get_settings
from gis.db.models import Closure, Problem
from gis.geo.townships import township_for_wkt
from gis.io.excel.cells import (
    clean_text,
    code_text,
    is_blank,
    map_source,
)
from gis.io.excel.report import (
    LedgerImportReport,
    RowOutcome,
    representative,
)
from gis.io.excel.rows import (
    _parse_row,
    _Parsed,
    _Reject,
    _skip_reason,
    _Townships,
)
from gis.io.excel.vocabulary import (
    COORD_TOLERANCE_DEG,
)
from gis.io.excel.workbook import (
    _Sheet,
    read_sheet,
)
from gis.ledger.writes import (
    Conflict,
    LedgerError,
    ProblemInput,
    create_problem,
    record_event,
    update_problem,
)

log = logging.getLogger("lookback.excel")


def _same_text(a: str | None, b: str | None) -> bool:
    return clean_text(a or "") == clean_text(b or "")


CLOSED = vocab.Status.CLOSED.value
AWAITING = vocab.Status.AWAITING_VERIFICATION.value


def _sheet_status(
    problem: Problem, parsed: _Parsed, *, new: bool
) -> tuple[str | None, datetime | None, str | None]:
    """What the sheet's status may do to the problem: (status, historic closure moment, note).

    A sheet is the office's record of what townships report, not a closure procedure. It may
    close only a problem it brings in for the first time, and only with the 销号时间 of that
    historic closure; otherwise "closed" or "done" is a claim, and the problem awaits the
    on-site check and approval like any closure application. A closed problem is not reopened
    by a sheet that calls it done.
    """
    status = parsed.status
    if status is None or status == problem.status:
        return None, None, None
    if status == CLOSED:
        if new and parsed.closed_on is not None:
            moment = datetime.combine(parsed.closed_on, datetime.min.time(), get_settings().zone)
            return CLOSED, moment, None
        why = "no 销号时间 of a historic closure" if new else "the problem is open in the ledger"
        return (
            AWAITING,
            None,
            (
                f"the sheet says {parsed.status_text or '已销号'} but {why}: it awaits the on-site"
                " check and approval (a closure needs the procedure) / 表格显示已销号，"
                "须经现场核查和审核方可销号，已列为待核查"
            ),
        )
    if status == AWAITING and problem.status == CLOSED:
        return (
            None,
            None,
            (
                f"the sheet says {parsed.status_text}; the problem is closed and stays closed"
                " / 问题已销号，保持不变"
            ),
        )
    return status, None, None


def _import_event(
    session: Session,
    problem: Problem,
    parsed: _Parsed,
    *,
    new: bool,
    progress: str | None,
    actor: str,
    at: datetime,
    reason: str,
) -> list[str]:
    """Apply the sheet's status (and a new problem's progress) with one 'imported' event.

    A problem put to awaiting verification gets a pending closure application in the sheet's
    name (no evidence: the office's check decides); a problem the sheet moves off awaiting
    verification has its pending application withdrawn.
    """
    before: dict[str, Any] = {}
    after: dict[str, Any] = {}
    if progress is not None and not _same_text(problem.progress, progress):
        before["progress"], after["progress"] = problem.progress, progress
        problem.progress = progress
    status, closed_at, note = _sheet_status(problem, parsed, new=new)
    if note:
        parsed.notes.append(note)
    if status is not None and status != problem.status:
        before["status"], after["status"] = problem.status, status
        after["sheet_status"] = parsed.status_text
        if status == CLOSED and problem.closed_at is None:
            closed_at = closed_at or at
            before["closed_at"], after["closed_at"] = None, closed_at.isoformat()
            problem.closed_at = closed_at
        elif status != CLOSED and problem.closed_at is not None:
            before["closed_at"], after["closed_at"] = problem.closed_at.isoformat(), None
            problem.closed_at = None
        if status != vocab.Status.REPORTED.value and problem.assigned_at is None:
            problem.assigned_at = at
        session.flush()
        pending = session.scalars(
            select(Closure).where(
                Closure.problem_id == problem.id, Closure.outcome.in_(("pending", "in_notice"))
            )
        ).first()
        if status == AWAITING and pending is None:
            session.add(
                Closure(
                    problem_id=problem.id,
                    applied_at=at,
                    applied_by=actor,
                    evidence={"attachments": [], "inspections": [], "sheet": reason},
                    outcome="pending",
                    check_note="",
                )
            )
        elif status != AWAITING and pending is not None and problem.status == AWAITING:
            pending.outcome = "rejected"
            pending.check_note = f"withdrawn: the sheet says {parsed.status_text} / 台账导入撤回"
        problem.status = status
    if not after:
        return []
    problem.updated_at = at
    record_event(
        session,
        problem,
        actor=actor,
        action="imported",
        at=at,
        reason=reason,
        before=before,
        after=after,
    )
    return sorted(k for k in after if k != "sheet_status")


def _override(
    session: Session, towns: _Townships, geom: BaseGeometry | None, named: str | None
) -> tuple[str | None, str | None]:
    """(derived township, override reason when the sheet names another township)."""
    derived = township_for_wkt(session, geom.wkt) if geom is not None else None
    if named and derived and derived != named:
        return derived, (
            f"台账导入：表格所列属地为{towns.label(named)}，点位位于{towns.label(derived)}"
            " (ledger import: the sheet names this township)"
        )
    return derived, None


def _settle_deadline(
    parsed: _Parsed, kind: str, deadline: date | None, status: str, today: date
) -> date | None:
    """The deadline a problem past 已登记 needs: an immediate one gets today + the window."""
    if kind == vocab.DeadlineKind.LONG_TERM.value or status == vocab.Status.REPORTED.value:
        return deadline
    if deadline is not None:
        return deadline
    if kind == vocab.DeadlineKind.IMMEDIATE.value:
        due = today + timedelta(days=get_settings().immediate_window_days)
        parsed.notes.append(f"立行立改 without a date: deadline set to {due.isoformat()}")
        return due
    raise _Reject(
        "no 整改时限: a problem past 已登记 needs a deadline (or 立行立改 / 长期坚持)"
        " / 缺少整改时限"
    )


def _create(
    session: Session,
    parsed: _Parsed,
    towns: _Townships,
    *,
    actor: str,
    at: datetime,
    today: date,
    reason: str,
) -> RowOutcome:
    source = parsed.source
    if source is None and parsed.default_source:
        source = parsed.default_source
        parsed.notes.append(f"问题来源 empty: default source {source}")
    if source is None:
        raise _Reject("问题来源 is empty: fill it in or give a default source / 缺少问题来源")
    category = parsed.category
    if category is None:
        category = parsed.category_guess or vocab.Category.OTHER.value
        how = f"guessed {category} from 问题描述" if parsed.category_guess else "stored as other"
        parsed.notes.append(f"问题类别 empty: {how}")
    geom = Point(parsed.lon, parsed.lat) if parsed.lon is not None else None
    if geom is None and parsed.township_code is None:
        raise _Reject("no location: give 经度/纬度 or 所属乡镇 / 缺少坐标和乡镇")
    derived, override = _override(session, towns, geom, parsed.township_code)
    if geom is not None and derived is None and parsed.township_code is None:
        raise _Reject(
            f"the point ({parsed.lon}, {parsed.lat}) lies outside every township and no"
            " 所属乡镇 is named / 点位不在任何乡镇内且未填写乡镇"
        )
    if geom is not None and derived is None:
        parsed.notes.append("the point lies outside every township: township from the sheet")
    if override:
        parsed.notes.append(
            f"the point lies in {towns.label(derived)}: township kept as the sheet names it"
        )
    kind = parsed.deadline_kind or vocab.DeadlineKind.DATED.value
    status = parsed.status or vocab.Status.REPORTED.value
    deadline = _settle_deadline(parsed, kind, parsed.deadline, status, today)
    texts = parsed.texts
    problem = create_problem(
        session,
        ProblemInput(
            code=parsed.code,
            source=source,
            category=category,
            deadline_kind=kind,
            description=texts.get("description", ""),
            responsible_unit=texts.get("responsible_unit", ""),
            responsible_person=texts.get("responsible_person", ""),
            supervising_leader=texts.get("supervising_leader", ""),
            target=texts.get("target", ""),
            measures=texts.get("measures", ""),
            deadline=deadline,
            township_code=parsed.township_code,
            township_override_reason=override,
            geometry=geom,
        ),
        actor=actor,
        now=at,
        reason=reason,
    )
    _import_event(
        session,
        problem,
        parsed,
        new=True,
        progress=texts.get("progress"),
        actor=actor,
        at=at,
        reason=reason,
    )
    return RowOutcome(parsed.row, "imported", parsed.code, notes=parsed.notes)


def _update(
    session: Session,
    problem: Problem,
    parsed: _Parsed,
    towns: _Townships,
    *,
    actor: str,
    at: datetime,
    today: date,
    reason: str,
) -> RowOutcome:
    changes: dict[str, Any] = {}
    for name in ("source", "category", "deadline_kind"):
        value = getattr(parsed, name)
        if value is not None and value != getattr(problem, name):
            changes[name] = value
    for name, value in parsed.texts.items():
        if not _same_text(getattr(problem, name), value):
            changes[name] = value
    kind = parsed.deadline_kind or problem.deadline_kind
    deadline = parsed.deadline if parsed.deadline is not None else problem.deadline
    status = parsed.status or problem.status
    deadline = _settle_deadline(parsed, kind, deadline, status, today)
    if deadline != problem.deadline:
        changes["deadline"] = deadline
    old = to_shape(problem.geom) if problem.geom is not None else None
    geom = old
    if parsed.lon is not None:
        shown = None
        if old is not None:
            shown = old if old.geom_type == "Point" else representative(old)
        if shown is None or not (
            abs(shown.x - parsed.lon) <= COORD_TOLERANCE_DEG
            and abs(shown.y - parsed.lat) <= COORD_TOLERANCE_DEG
        ):
            geom = Point(parsed.lon, parsed.lat)
            changes["geometry"] = geom
    named = parsed.township_code
    derived, override = _override(session, towns, geom, named)
    if geom is not None and derived is None and named is None and "geometry" in changes:
        raise _Reject(
            f"the point ({parsed.lon}, {parsed.lat}) lies outside every township and no"
            " 所属乡镇 is named / 点位不在任何乡镇内且未填写乡镇"
        )
    if named is not None and (named != problem.township_code or "geometry" in changes):
        # Given with a new point too, so a point outside every township keeps the named one.
        changes["township_code"] = named
        changes["township_override_reason"] = override
        if override:
            parsed.notes.append(
                f"the point lies in {towns.label(derived)}: township kept as the sheet names it"
            )
    changed = sorted(k for k in changes if k != "township_override_reason")
    if changes:
        update_problem(session, problem.code, changes, actor=actor, reason=reason, now=at)
    changed += _import_event(
        session, problem, parsed, new=False, progress=None, actor=actor, at=at, reason=reason
    )
    outcome = "updated" if changed else "unchanged"
    return RowOutcome(parsed.row, outcome, parsed.code, notes=parsed.notes, changed=changed)


def import_ledger(
    session: Session,
    data: bytes,
    *,
    actor: str,
    filename: str = "",
    default_source: str | None = None,
    now: datetime | None = None,
) -> LedgerImportReport:
    """Import a ledger workbook into the session's transaction (the caller commits or not)."""
    at = now or datetime.now(UTC)
    today = at.astimezone(get_settings().zone).date()
    if default_source is not None:
        mapped = map_source(default_source)
        if mapped is None:
            raise LedgerError(
                f"unknown default source {default_source!r}; one of: "
                + ", ".join(vocab.values(vocab.Source)),
                field="default_source",
            )
        default_source = mapped
    sheet = read_sheet(data)
    towns = _Townships.load(session)
    report = LedgerImportReport(
        filename=filename, sheet=sheet.name, header_row=sheet.header_row, columns=sheet.headers
    )
    first_data = sheet.header_row + sheet.header_rows
    for row_no in range(1, first_data):
        cells = sheet.grid[row_no - 1]
        if row_no >= sheet.header_row:
            why = "header row / 表头"
        elif any(not is_blank(v) for v in cells):
            why = "title row / 标题行"
        else:
            why = "empty row / 空行"
        report.rows.append(RowOutcome(row_no, "skipped", reason=why))
    seen: dict[str, int] = {}
    code_col = sheet.columns["code"]
    desc_col = sheet.columns.get("description")
    continuations = _continuations(sheet, first_data)
    written: dict[int, RowOutcome] = {}
    for row_no in range(first_data, len(sheet.grid) + 1):
        if row_no in continuations:
            report.rows.append(_continuation(sheet, row_no, continuations[row_no], written))
            continue
        cells = sheet.grid[row_no - 1]
        code_cell = cells[code_col] if code_col < len(cells) else None
        desc_cell = cells[desc_col] if desc_col is not None and desc_col < len(cells) else None
        why = _skip_reason(cells, code_cell, desc_cell)
        if why:
            report.rows.append(RowOutcome(row_no, "skipped", reason=why))
            continue
        code = code_text(code_cell) if not is_blank(code_cell) else None
        if code is not None and code in seen:
            report.rows.append(
                RowOutcome(
                    row_no,
                    "rejected",
                    code,
                    reason=f"问题编号 {code} repeats row {seen[code]} / 问题编号重复",
                )
            )
            continue
        if code is not None:
            seen[code] = row_no
        parsed_or_reject = _parse_or_reject(sheet, row_no, cells, towns, default_source, code)
        if isinstance(parsed_or_reject, RowOutcome):
            report.rows.append(parsed_or_reject)
            written[row_no] = parsed_or_reject
            continue
        _add_continued_measures(sheet, parsed_or_reject, continuations)
        context = _Context(session, towns, actor, at, today, _event_reason(filename, row_no))
        written[row_no] = _write_row(context, parsed_or_reject)
        report.rows.append(written[row_no])
    return report


def _continuations(sheet: _Sheet, first_data: int) -> dict[int, int]:
    """Rows whose 问题编号 comes from a merged cell begun on an earlier data row: one problem
    written over several rows (one measure per row). Row -> the problem's first row."""
    code_col = sheet.columns["code"]
    return {
        row: top
        for (row, col), top in sheet.merged.items()
        if col == code_col and top >= first_data and row <= len(sheet.grid)
    }


def _add_continued_measures(sheet: _Sheet, parsed: _Parsed, continuations: dict[int, int]) -> None:
    """A problem's measures with those of its continuation rows, in order, each once."""
    col = sheet.columns.get("measures")
    rows = sorted(r for r, top in continuations.items() if top == parsed.row)
    if col is None or not rows:
        return
    parts = [parsed.texts["measures"]] if parsed.texts.get("measures") else []
    for r in rows:
        cells = sheet.grid[r - 1]
        value = cells[col] if col < len(cells) else None
        text_ = clean_text(value) if not is_blank(value) else ""
        if text_ and text_ not in parts:
            parts.append(text_)
    if parts:
        parsed.texts["measures"] = "\n".join(parts)


def _continuation(
    sheet: _Sheet, row_no: int, top: int, written: dict[int, RowOutcome]
) -> RowOutcome:
    code = code_text(sheet.grid[top - 1][sheet.columns["code"]])
    first = written.get(top)
    if first is None or first.outcome == "rejected":
        return RowOutcome(
            row_no,
            "rejected",
            code,
            reason=f"continues row {top} (merged 问题编号), which was not imported"
            f" / 合并单元格的首行（第{top}行）未导入",
        )
    return RowOutcome(
        row_no,
        "merged",
        code,
        notes=[
            f"continues row {top} (merged 问题编号 cell): its 整改措施 are added to that"
            f" problem / 问题编号为合并单元格，措施并入第{top}行"
        ],
    )


def _event_reason(filename: str, row_no: int) -> str:
    where = f"{filename} " if filename else ""
    return f"台账导入 ledger import {where}row {row_no}"


@dataclass
class _Context:
    session: Session
    towns: _Townships
    actor: str
    at: datetime
    today: date
    reason: str


def _parse_or_reject(
    sheet: _Sheet,
    row_no: int,
    cells: list[Any],
    towns: _Townships,
    default_source: str | None,
    code: str | None,
) -> _Parsed | RowOutcome:
    """The row's ledger values, or its rejection."""
    try:
        return _parse_row(sheet, row_no, cells, towns, default_source)
    except _Reject as exc:
        return RowOutcome(row_no, "rejected", code, reason=str(exc))


def _write_row(ctx: _Context, parsed: _Parsed) -> RowOutcome:
    """Create or update one problem in its own savepoint; a refusal rolls back only this row."""
    session = ctx.session
    kwargs: dict[str, Any] = {
        "actor": ctx.actor,
        "at": ctx.at,
        "today": ctx.today,
        "reason": ctx.reason,
    }
    try:
        with session.begin_nested():
            problem = session.scalars(select(Problem).where(Problem.code == parsed.code)).first()
            if problem is None:
                outcome = _create(session, parsed, ctx.towns, **kwargs)
            else:
                outcome = _update(session, problem, parsed, ctx.towns, **kwargs)
            session.flush()
        return outcome
    except (_Reject, LedgerError, Conflict) as exc:
        return RowOutcome(parsed.row, "rejected", parsed.code, reason=str(exc))
    except (IntegrityError, DataError) as exc:
        # The database's wording names tables, types and values: logged, not reported.
        first = str(exc.orig).strip().splitlines()[:1] if exc.orig else [type(exc).__name__]
        log.info("ledger row %s refused by the database: %s", parsed.row, first)
        reason = (
            "refused by the database: a value is out of range, too long or cannot be stored"
            if isinstance(exc, DataError)
            else "refused by the database: it conflicts with a stored problem"
        )
        return RowOutcome(parsed.row, "rejected", parsed.code, reason=reason + " / 数据库拒绝")


def run_ledger_import(
    engine: Engine,
    data: bytes,
    *,
    actor: str,
    filename: str = "",
    dry_run: bool = False,
    default_source: str | None = None,
    now: datetime | None = None,
) -> LedgerImportReport:
    """Import in one transaction: committed, or rolled back for a dry run (nothing written)."""
    with Session(engine) as session:
        try:
            report = import_ledger(
                session,
                data,
                actor=actor,
                filename=filename,
                default_source=default_source,
                now=now,
            )
        except BaseException:
            session.rollback()
            raise
        report.dry_run = dry_run
        if dry_run:
            session.rollback()
        else:
            session.commit()
    return report
