"""The problem page's evidence documents and milestones: what the page shows, and its forms.

The upload form runs :func:`gis.ledger.evidence.add_evidence` like
``POST /api/problems/{code}/evidence``; the milestone forms run
:func:`gis.ledger.writes.add_milestone` and :func:`~gis.ledger.writes.meet_milestone` like the
milestone endpoints of the API. A refusal re-renders the form in place (htmx) with the reason
beside the field in both languages; a form older than the problem's last change is refused.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response

from gis.access.auth import Principal
from gis.access.permissions import allowed, may_move_goalposts
from gis.ledger import evidence as docs
from gis.ledger import writes as ledger
from gis.ledger.milestone_list import problem_milestones
from gis.ledger.records import milestone_problem_code
from gis.ledger.worklist import problem_record
from server.deps import DbSession, SessionDep, TodayDep, committing
from server.forms import form_done, form_refused
from server.routes.evidence import evidence_limit, read_evidence_form, store_upload
from server.routes.workbench import _problem_context, _visible_problem
from server.security import principal_dep

router = APIRouter(tags=["workbench"], include_in_schema=False)
Uploader = principal_dep("problem:update")
MilestoneWriter = principal_dep("milestone:write")

STALE = {
    "zh": "问题已被他人更新，请查看当前状态后重试",
    "en": "the problem changed meanwhile; look at it again and retry",
}


def problem_sections(
    request: Request,
    session: DbSession,
    record: dict[str, Any],
    principal: Principal,
    today: date,
) -> dict[str, Any]:
    """The evidence and milestone parts of a problem page's context (``record``: its fields)."""
    role, code = principal.role, record["code"]
    long_term = record["deadline_kind"] == "long_term"
    return {
        "documents": docs.evidence_by_kind(session, code),
        "evidence_kinds": [(k, zh, en) for k, (zh, en) in docs.KIND_LABELS.items()],
        "kind_labels": docs.KIND_LABELS,
        "evidence_url": docs.evidence_url,
        "can_upload": allowed("problem:update", role),
        "evidence_limit_mb": evidence_limit(request.app) // 1_000_000,
        "evidence_errors": {},
        "evidence_values": {},
        "milestones": problem_milestones(session, code, today=today),
        "can_add_milestone": long_term and allowed("milestone:write", role)
        and may_move_goalposts(role),
        "can_meet_milestone": allowed("milestone:write", role),
        "may_confirm": may_move_goalposts(role),
        "milestone_errors": {},
        "milestone_values": {},
        "milestone_form": "",
    }


def _done(request: Request, code: str, what: str) -> Response:
    # no #fragment: from the same address with one, the browser would not reload the page
    return form_done(request, f"/ledger/{code}?done={what}")


def _stale(session: DbSession, code: str, version: str, today: date) -> bool:
    record = problem_record(session, code, today=today)
    return record is None or version != str(record["updated_at"])


def _refused(
    request: Request,
    principal: Principal,
    session: DbSession,
    code: str,
    today: date,
    template: str,
    extra: dict[str, Any],
) -> HTMLResponse:
    """The form again with its errors: in place for htmx (200), else the whole page (422)."""
    session.rollback()
    context = _problem_context(request, principal, session, code, today)
    context.update(extra)
    return form_refused(request, "problem.html", context, partial=template)


def _pair(zh: str, en: str) -> dict[str, str]:
    return {"zh": zh, "en": en}


@router.post("/ledger/{code}/evidence", response_class=HTMLResponse)
async def evidence_form(
    request: Request, code: str, principal: Uploader, session: SessionDep, today: TodayDep
) -> Response:
    """Upload an evidence document from the problem page."""
    await run_in_threadpool(_visible_problem, session, code, principal)
    limit = evidence_limit(request.app)
    errors: dict[str, dict[str, str]] = {}
    upload = await read_evidence_form(request, limit, refuse_declared=False)
    values = {"kind": upload["kind"], "note": upload["note"]}
    if await run_in_threadpool(_stale, session, code, upload["version"], today):
        errors["stale"] = STALE
    elif not upload["has_file"]:
        errors["file"] = _pair("请选择要上传的文件", "choose a file to upload")
    else:
        try:
            await run_in_threadpool(
                store_upload, session, request.app, code, principal, upload, limit
            )
        except docs.EvidenceRefused as exc:
            errors[exc.field] = _pair(exc.zh, exc.en)
    if not errors:
        return _done(request, code, "evidence")
    return await run_in_threadpool(
        _refused, request, principal, session, code, today, "evidence_form.html",
        {"evidence_errors": errors, "evidence_values": values},
    )


def _date(raw: str) -> date | None:
    raw = raw.strip()
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@router.post("/ledger/{code}/milestones", response_class=HTMLResponse)
async def milestone_add_form(
    request: Request, code: str, principal: MilestoneWriter, session: SessionDep, today: TodayDep
) -> Response:
    """Add a milestone (阶段性目标) to a long-term problem: the office's form."""
    _visible_problem(session, code, principal)
    if not may_move_goalposts(principal.role):
        raise HTTPException(
            403,
            f"只有督察整改办可以新增阶段性目标 the {principal.role} role may not add milestones;"
            " the office sets them",
        )
    form = await request.form()
    values = {
        "title": str(form.get("title", "")).strip(),
        "due_date": str(form.get("due_date", "")),
    }
    errors: dict[str, dict[str, str]] = {}
    due = _date(values["due_date"])
    if _stale(session, code, str(form.get("version", "")), today):
        errors["stale"] = STALE
    if not values["title"] or len(values["title"]) > 200:
        errors["title"] = _pair("请填写目标（不超过 200 字）", "give the milestone a title (≤ 200)")
    if due is None:
        errors["due_date"] = _pair("请填写有效日期", "give a valid date (YYYY-MM-DD)")
    if not errors:
        try:
            with committing(session):
                ledger.add_milestone(
                    session, code, title=values["title"], due_date=due, actor=principal.name
                )
        except ledger.LedgerError as exc:
            zh, _, en = str(exc).partition(" / ")
            field = exc.field if exc.field == "due_date" else ""
            errors[field] = _pair(zh if en else "阶段性目标只适用于长期坚持类问题", en or zh)
    if not errors:
        return _done(request, code, "milestone_added")
    return _refused(
        request, principal, session, code, today, "milestone_add_form.html",
        {"milestone_errors": errors, "milestone_values": values, "milestone_form": "add"},
    )


@router.post("/ledger/{code}/milestones/{milestone_id}/met", response_class=HTMLResponse)
async def milestone_met_form(
    request: Request,
    code: str,
    milestone_id: int,
    principal: MilestoneWriter,
    session: SessionDep,
    today: TodayDep,
) -> Response:
    """Mark a milestone met: the office's word is the fact, a township's a claim to confirm."""
    _visible_problem(session, code, principal)
    owner = milestone_problem_code(session, milestone_id)
    if owner != code:
        raise HTTPException(404, f"问题 {code} 没有阶段性目标 {milestone_id} no such milestone")
    form = await request.form()
    values = {"met_on": str(form.get("met_on", "")), "note": str(form.get("note", "")).strip()}
    errors: dict[str, dict[str, str]] = {}
    met_on = _date(values["met_on"])
    if _stale(session, code, str(form.get("version", "")), today):
        errors["stale"] = STALE
    if met_on is None:
        errors["met_on"] = _pair("请填写有效的完成日期", "give a valid date (YYYY-MM-DD)")
    elif met_on > today:
        errors["met_on"] = _pair("完成日期不能晚于今天", "the date is in the future")
    if len(values["note"]) > 500:
        errors["note"] = _pair("说明不超过 500 字", "the note holds at most 500 characters")
    claimed = not may_move_goalposts(principal.role)
    if not errors:
        try:
            with committing(session):
                ledger.meet_milestone(
                    session,
                    milestone_id,
                    met_on=met_on,
                    actor=principal.name,
                    note=values["note"],
                    role=principal.role,
                )
        except ledger.LedgerError as exc:
            zh, _, en = str(exc).partition(" / ")
            errors["met_on" if exc.field == "met_on" else ""] = _pair(zh, en or zh)
    if not errors:
        return _done(request, code, "milestone_claimed" if claimed else "milestone_met")
    return _refused_met(
        request, principal, session, code, today, milestone_id,
        {"milestone_errors": errors, "milestone_values": values,
         "milestone_form": str(milestone_id)},
    )


def _refused_met(
    request: Request,
    principal: Principal,
    session: DbSession,
    code: str,
    today: date,
    milestone_id: int,
    extra: dict[str, Any],
) -> HTMLResponse:
    context_extra = dict(extra)
    milestones = problem_milestones(session, code, today=today)
    context_extra["m"] = next(m for m in milestones if m["id"] == milestone_id)
    return _refused(
        request, principal, session, code, today, "milestone_met_form.html", context_extra
    )

