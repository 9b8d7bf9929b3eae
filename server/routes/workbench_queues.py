"""The workbench queues: look-back rounds (回头看), suspected rebounds (疑似反弹) and complaints
(信访, 一案一档).

Routes parse, authorise and call ``gis/`` (:mod:`gis.ledger.lookbacks`,
:mod:`gis.ledger.rebounds`, :mod:`gis.ledger.complaints`); they hold no SQL. A form is POSTed by
htmx with the session's CSRF token; a refusal re-renders the form in place with the reason beside
the field (both languages), a success redirects to the page with what happened and what is next.
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from starlette.datastructures import FormData

from gis import vocab
from gis.access.auth import Principal
from gis.access.permissions import allowed
from gis.config import get_settings
from gis.db.models import FOLLOW_UP_OUTCOMES
from gis.field import complaint_files
from gis.ledger import complaints as complaint_rules
from gis.ledger import lookbacks, rebounds, records
from gis.ledger.lifecycle import TransitionError
from gis.ledger.worklist import problem_township, township_names
from gis.ledger.writes import Conflict, LedgerError, NotFound
from server.deps import SessionDep, SettingsDep, TodayDep, committing
from server.forms import field_error as _err
from server.forms import form_done as _done
from server.forms import form_refused
from server.pages import minimap_assets, page, shell
from server.routes.complaints import visible_complaint
from server.routes.field import PHOTO_HEADERS
from server.security import Reader, forbid_out_of_scope, principal_dep

router = APIRouter(tags=["workbench"], include_in_schema=False)
RoundWriter = principal_dep("lookback:write")
Resulter = principal_dep("lookback:result")


def _refused(request: Request, full: str, partial: str, context: dict[str, Any]) -> HTMLResponse:
    """A refused form: htmx swaps the form in place (200), other clients get the page (422)."""
    return form_refused(request, full, context, partial=partial)


def _date(raw: str, key: str, errors: dict[str, dict[str, str]]) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        errors[key] = _err("日期格式应为 2026-12-03", "invalid date (YYYY-MM-DD)")
        return None


def _flash(context: dict[str, Any], done: str | None, steps: dict[str, tuple[str, str]]) -> None:
    if done in steps:
        zh, en = steps[done]
        context["flash"] = zh if context["lang"] == "zh" else en


def _values(form: FormData, keys: tuple[str, ...], lists: tuple[str, ...] = ()) -> dict[str, Any]:
    out: dict[str, Any] = {k: str(form.get(k, "")).strip() for k in keys}
    out.update({k: [str(v) for v in form.getlist(k)] for k in lists})
    return out


# -- look-backs (回头看) -----------------------------------------------------------------------

ROUND_STEPS = {
    "created": (
        "已创建回头看轮次 · 请逐项现场复查并记录结果",
        "Round created · re-inspect each problem and record the result",
    ),
    "passed": ("已记录：未发现反弹", "Recorded: not found again"),
    "rebounded": (
        "已记录：问题反弹 · 已重新整改，等待乡镇按新期限整改",
        "Recorded: found again · reopened, the township rectifies by the new deadline",
    ),
}
ROUND_KEYS = (
    "name",
    "category",
    "source",
    "mode",
    "sample",
    "seed",
    "closed_from",
    "closed_to",
    "due_date",
)


def _round_form_defaults() -> dict[str, Any]:
    return dict.fromkeys(ROUND_KEYS, "") | {"mode": "sample", "townships": []}


def _rounds_context(
    request: Request, principal: Principal, session: SessionDep, today: date
) -> dict[str, Any]:
    context = shell(request, principal, session, active="lookbacks")
    names = township_names(session)
    context.update(
        title="回头看",
        today=today,
        rounds=lookbacks.list_rounds(session, principal.townships),
        townships={c: n for c, n in names.items() if principal.can_see(c)},
        may_create=allowed("lookback:write", principal.role),
        form_errors={},
        form_values=_round_form_defaults(),
    )
    return context


@router.get("/lookbacks", response_class=HTMLResponse, summary="Look-back rounds (回头看)")
def lookbacks_page(
    request: Request, principal: Reader, session: SessionDep, today: TodayDep
) -> HTMLResponse:
    context = _rounds_context(request, principal, session, today)
    return page(request, "lookbacks.html", context)


@router.post("/lookbacks", response_class=HTMLResponse)
async def lookbacks_create(
    request: Request, principal: RoundWriter, session: SessionDep, today: TodayDep
) -> Response:
    """Create a round from the form: a sample of closed problems or all closed in a period."""
    form = await request.form()
    values = _values(form, ROUND_KEYS, ("townships",))
    errors: dict[str, dict[str, str]] = {}
    names = township_names(session)
    if not values["name"]:
        errors["name"] = _err("请填写轮次名称", "a round needs a name")
    elif len(values["name"]) > 200:
        errors["name"] = _err("名称过长（最多 200 字）", "the name is too long (200 at most)")
    towns = tuple(dict.fromkeys(values["townships"]))
    if any(c not in names for c in towns):
        errors["townships"] = _err("乡镇无效", "unknown township")
    category = values["category"] or None
    if category and category not in vocab.values(vocab.Category):
        errors["category"] = _err("类别无效", "unknown category")
    source = values["source"] or None
    if source and source not in vocab.values(vocab.Source):
        errors["source"] = _err("来源无效", "unknown source")
    sample = None
    closed_from = closed_to = None
    if values["mode"] == "sample":
        if not values["sample"].isdigit() or not 1 <= int(values["sample"]) <= 10000:
            errors["sample"] = _err("抽查数量应为 1 至 10000", "the sample is 1 to 10000")
        else:
            sample = int(values["sample"])
    elif values["mode"] == "period":
        closed_from = _date(values["closed_from"], "closed_from", errors)
        closed_to = _date(values["closed_to"], "closed_to", errors)
        if not values["closed_from"] and not values["closed_to"]:
            errors["closed_from"] = _err("请填写销号期间", "give the period of closure")
        if closed_from and closed_to and closed_from > closed_to:
            errors["closed_to"] = _err("结束日期早于开始日期", "the period ends before it starts")
    else:
        errors["mode"] = _err("请选择抽查或按期间", "choose a sample or a period")
    # a fresh draw for each round (kept in its criteria, so the draw can be repeated)
    seed = int(values["seed"]) if values["seed"].isdigit() else secrets.randbelow(1_000_000)
    due_date = _date(values["due_date"], "due_date", errors)
    if due_date is not None and due_date < today:
        errors["due_date"] = _err("完成期限不能早于今天", "the due date is in the past")
    if not errors:
        criteria = lookbacks.RoundCriteria(
            category=category,
            source=source,
            sample=sample,
            seed=seed,
            townships=towns or None,
            closed_from=closed_from,
            closed_to=closed_to,
        )
        try:
            with committing(session):
                rnd, _ = lookbacks.create_round(
                    session,
                    name=values["name"],
                    actor=principal.name,
                    criteria=criteria,
                    due_date=due_date,
                )
                round_id = rnd.id
        except LedgerError as exc:
            errors[exc.field or "criteria"] = (
                _err("没有符合条件的已销号问题", str(exc))
                if "no closed problem" in str(exc)
                else _err("未能创建轮次", str(exc))
            )
        else:
            return _done(request, f"/lookbacks/{round_id}?done=created")
    context = _rounds_context(request, principal, session, today)
    context.update(form_errors=errors, form_values=values)
    return _refused(request, "lookbacks.html", "lookback_create_form.html", context)


def _round_context(
    request: Request, principal: Principal, session: SessionDep, round_id: int, today: date
) -> dict[str, Any]:
    detail = lookbacks.round_detail(session, round_id, principal.townships)
    if detail is None:
        if principal.townships is not None:  # another township's round looks like no round
            raise HTTPException(403, "不在您负责的乡镇范围内 not within your townships")
        raise HTTPException(404, f"没有这个回头看轮次 no look-back round {round_id}")
    context = shell(request, principal, session, active="lookbacks")
    names = township_names(session)
    context.update(
        title=detail["name"],
        townships={c: n for c, n in names.items() if principal.can_see(c)},
        today=today,
        r=detail,
        may_record=allowed("lookback:result", principal.role),
        form_errors={},
        form_values={},
        form_task=None,
    )
    return context


@router.get("/lookbacks/{round_id}", response_class=HTMLResponse, summary="A look-back round")
def lookback_page(
    request: Request, round_id: int, principal: Reader, session: SessionDep, today: TodayDep
) -> HTMLResponse:
    context = _round_context(request, principal, session, round_id, today)
    _flash(context, request.query_params.get("done"), ROUND_STEPS)
    return page(request, "lookback.html", context)


@router.post("/lookbacks/{round_id}/tasks/{task_id}", response_class=HTMLResponse)
async def lookback_task_result(
    request: Request,
    round_id: int,
    task_id: int,
    principal: Resulter,
    session: SessionDep,
    today: TodayDep,
) -> Response:
    """Record a task's result: not found again, or found again → rebounded with a new deadline."""
    town = records.lookback_task_township(session, task_id)
    if principal.townships is not None:
        forbid_out_of_scope(principal, town)
    form = await request.form()
    values = _values(form, ("found_again", "note", "new_deadline", "version"))
    context = _round_context(request, principal, session, round_id, today)
    task = next((k for k in context["r"]["tasks"] if k["id"] == task_id), None)
    if task is None:
        raise HTTPException(404, f"本轮没有这项任务 no task {task_id} in round {round_id}")
    errors: dict[str, dict[str, str]] = {}
    if values["version"] != task["result"]:
        errors["stale"] = _err(
            "该任务已被他人记录，请查看当前结果",
            f"the task was recorded meanwhile: {task['result']}",
        )
    found_again = {"yes": True, "no": False}.get(values["found_again"])
    if found_again is None:
        errors["found_again"] = _err("请选择复查结论", "choose found again or not")
    deadline = _date(values["new_deadline"], "new_deadline", errors)
    if found_again:
        if not values["note"]:
            errors["note"] = _err("问题反弹需说明发现的情况", "say what was found again")
        if deadline is None and "new_deadline" not in errors:
            errors["new_deadline"] = _err(
                "问题反弹需填写新的整改期限", "a rebound needs a deadline"
            )
        elif deadline is not None and deadline < today:
            errors["new_deadline"] = _err("新的整改期限不能早于今天", "the deadline is in the past")
    if not errors:
        try:
            with committing(session):
                lookbacks.record_result(
                    session,
                    task_id,
                    found_again=bool(found_again),
                    actor=principal.name,
                    note=values["note"],
                    new_deadline=deadline if found_again else None,
                )
        except (LedgerError, TransitionError, NotFound) as exc:
            key = "new_deadline" if "deadline" in str(exc) else "stale"
            errors[key] = _err("未能记录复查结果", str(exc))
        else:
            result = "rebounded" if found_again else "passed"
            return _done(request, f"/lookbacks/{round_id}?done={result}#task-{task_id}")
    context = _round_context(request, principal, session, round_id, today)
    task = next(k for k in context["r"]["tasks"] if k["id"] == task_id)
    context.update(form_errors=errors, form_values=values, form_task=task_id, k=task)
    return _refused(request, "lookback.html", "lookback_task_form.html", context)


# -- suspected rebounds (疑似反弹) -------------------------------------------------------------

Decider = principal_dep("rebound:decide")
SUSPECT_STEPS = {
    "confirmed": (
        "已认定反弹 · 下一步：在问题页面安排重新整改",
        "Rebound confirmed · reopen it for rectification from the problem's page next",
    ),
    "dismissed": ("已排除疑似反弹", "Suspected rebound dismissed"),
}


def _rebounds_context(
    request: Request, principal: Principal, session: SessionDep, today: date
) -> dict[str, Any]:
    context = shell(request, principal, session, active="rebounds")
    suspects = rebounds.suspect_cards(session, principal.townships)
    context.update(
        title="疑似反弹",
        today=today,
        suspects=suspects,
        total=suspects[0]["total"] if suspects else 0,
        may_decide=allowed("rebound:decide", principal.role),
        **minimap_assets(),
        default_deadline=today + timedelta(days=get_settings().rebound_deadline_days),
        form_errors={},
        form_values={},
        form_suspect=None,
        form_decision="",
    )
    return context


@router.get("/rebounds", response_class=HTMLResponse, summary="Suspected rebounds (疑似反弹)")
def rebounds_page(
    request: Request, principal: Reader, session: SessionDep, today: TodayDep
) -> HTMLResponse:
    context = _rebounds_context(request, principal, session, today)
    _flash(context, request.query_params.get("done"), SUSPECT_STEPS)
    return page(request, "rebounds.html", context)


@router.post("/rebounds/{suspect_id}/{decision}", response_class=HTMLResponse)
async def rebound_decide(
    request: Request,
    suspect_id: int,
    decision: str,
    principal: Decider,
    session: SessionDep,
    today: TodayDep,
) -> Response:
    """Confirm (→ rebounded, with a new deadline) or dismiss (a reason required) a suspect."""
    if decision not in ("confirm", "dismiss"):
        raise HTTPException(404, f"没有这个操作 no decision {decision!r}")
    found = rebounds.suspect_cards(session, principal.townships, suspect_id)
    if not found:
        if principal.townships is not None:
            raise HTTPException(403, "不在您负责的乡镇范围内 not within your townships")
        raise HTTPException(404, f"没有这条疑似反弹 no suspected rebound {suspect_id}")
    suspect = found[0]
    form = await request.form()
    values = _values(form, ("reason", "deadline", "version"))
    errors: dict[str, dict[str, str]] = {}
    if values["version"] != suspect["status"] or suspect["status"] != "open":
        errors["stale"] = _err(
            "该疑似反弹已被他人处理，请刷新页面", f"already decided: {suspect['status']}"
        )
    if len(values["reason"]) > 2000:
        errors["reason"] = _err("理由过长（最多 2000 字）", "the reason is too long (2000 at most)")
    deadline = None
    if decision == "dismiss" and not values["reason"]:
        errors["reason"] = _err("排除疑似反弹需填写理由", "dismissing needs a reason")
    if decision == "confirm":
        if not values["reason"]:
            errors["reason"] = _err("认定反弹需说明发现的情况", "say what was found again")
        deadline = _date(values["deadline"], "deadline", errors)
        if deadline is None and "deadline" not in errors:
            errors["deadline"] = _err("请填写新的整改期限", "a rebound needs a new deadline")
        elif deadline is not None and deadline < today:
            errors["deadline"] = _err("新的整改期限不能早于今天", "the deadline is in the past")
    if not errors:
        try:
            with committing(session):
                if decision == "confirm":
                    rebounds.confirm(
                        session,
                        suspect_id,
                        actor=principal.name,
                        reason=values["reason"],
                        deadline=deadline,
                    )
                else:
                    rebounds.dismiss(
                        session, suspect_id, actor=principal.name, reason=values["reason"]
                    )
        except (LedgerError, TransitionError, NotFound) as exc:
            key = "deadline" if "deadline" in str(exc) else "stale"
            errors[key] = _err("未能完成处理", str(exc))
        else:
            done = "confirmed" if decision == "confirm" else "dismissed"
            return _done(request, f"/rebounds?done={done}")
    context = _rebounds_context(request, principal, session, today)
    context.update(
        form_errors=errors,
        form_values=values,
        form_suspect=suspect_id,
        form_decision=decision,
        s=rebounds.suspect_cards(session, principal.townships, suspect_id)[0],
    )
    return _refused(request, "rebounds.html", "rebound_forms.html", context)


# -- complaints (信访, 一案一档) ---------------------------------------------------------------

ComplaintWriter = principal_dep("complaint:write")
COMPLAINT_PAGE = 50
CASE_STEPS = {
    "handling": ("已记录办理情况", "Handling step recorded"),
    "reply": ("已答复信访人 · 可以办结", "Reply recorded · the case can be concluded"),
    "conclusion": ("已办结 · 请回访信访人", "Concluded · call the complainant back next"),
    "follow_up": ("已记录回访结果", "Follow-up call recorded"),
    "link": ("已关联问题", "Linked to the problem"),
    "convert": ("已转为台账问题 · 请交办", "Turned into a ledger problem · assign it next"),
    "attach": ("已上传附件", "Attachment added"),
}
CASE_ACTIONS = ("handling", "reply", "conclusion", "follow_up", "link", "convert")


@router.get("/complaints", response_class=HTMLResponse, summary="Complaints (信访)")
def complaints_page(
    request: Request, principal: Reader, session: SessionDep, today: TodayDep
) -> HTMLResponse:
    params = request.query_params
    names = township_names(session)
    visible = {c: n for c, n in names.items() if principal.can_see(c)}
    township = params.get("township") or ""
    overdue_raw = params.get("overdue") or ""
    errors: dict[str, dict[str, str]] = {}
    if township and township not in visible:
        errors["township"] = _err("乡镇无效", "unknown township")
        township = ""
    overdue = {"true": True, "false": False}.get(overdue_raw)
    if overdue_raw and overdue is None:
        errors["overdue"] = _err("只能是 true 或 false", "must be true or false")
    raw_page = params.get("page") or "1"
    number = int(raw_page) if raw_page.isdigit() and int(raw_page) >= 1 else 1
    items, total = complaint_rules.complaint_queue(
        session,
        today=today,
        scope=principal.townships,
        townships=[township] if township else None,
        overdue=overdue,
        limit=COMPLAINT_PAGE,
        offset=(number - 1) * COMPLAINT_PAGE,
    )
    context = shell(request, principal, session, active="complaints")
    base = [("township", township), ("overdue", overdue_raw if overdue is not None else "")]
    query = "&".join(f"{k}={v}" for k, v in base if v)
    context.update(
        title="信访",
        today=today,
        items=items,
        total=total,
        townships=visible,
        clean={"township": township, "overdue": overdue_raw if overdue is not None else ""},
        errors=errors,
        next_href=f"/complaints?{query + '&' if query else ''}page={number + 1}"
        if number * COMPLAINT_PAGE < total
        else "",
        prev_href=f"/complaints?{query + '&' if query else ''}page={number - 1}"
        if number > 1
        else "",
    )
    return page(request, "complaints.html", context)


def _case_context(
    request: Request, principal: Principal, session: SessionDep, code: str, today: date
) -> dict[str, Any]:
    case = complaint_rules.case_file(session, code, today)
    context = shell(request, principal, session, active="complaints")
    context.update(
        title=code,
        today=today,
        c=case,
        may_write=allowed("complaint:write", principal.role),
        outcomes=FOLLOW_UP_OUTCOMES,
        form_errors={},
        form_values={},
        form_action="",
    )
    return context


@router.get("/complaints/{code}", response_class=HTMLResponse, summary="A complaint's case file")
def complaint_page(
    request: Request, code: str, principal: Reader, session: SessionDep, today: TodayDep
) -> HTMLResponse:
    visible_complaint(session, code, principal)
    context = _case_context(request, principal, session, code, today)
    _flash(context, request.query_params.get("done"), CASE_STEPS)
    return page(request, "complaint.html", context)


@router.post("/complaints/{code}/actions/{action}", response_class=HTMLResponse)
async def complaint_action(
    request: Request,
    code: str,
    action: str,
    principal: ComplaintWriter,
    session: SessionDep,
    today: TodayDep,
) -> Response:
    """One step of the case: handling, reply, conclusion, follow-up, link or convert."""
    if action not in CASE_ACTIONS:
        raise HTTPException(404, f"没有这个操作 no action {action!r}")
    visible_complaint(session, code, principal)
    form = await request.form()
    values = _values(
        form,
        (
            "text",
            "outcome",
            "version",
            "problem_code",
            "category",
            "responsible_unit",
            "responsible_person",
        ),
    )
    errors: dict[str, dict[str, str]] = {}
    if values["version"] != complaint_rules.case_version(session, code):
        errors["stale"] = _err(
            "信访件已被他人更新，请查看当前情况后重试", "the case changed meanwhile; look again"
        )
    case = complaint_rules.case_file(session, code, today)
    if action in ("link", "convert") and case["problem_code"]:
        errors["problem_code"] = _err(
            f"已关联问题 {case['problem_code']}", f"already linked to {case['problem_code']}"
        )
    if action in ("link", "convert") and not values["problem_code"]:
        errors["problem_code"] = _err("请填写问题编号", "give the problem code")
    if action == "convert" and values["category"] not in vocab.values(vocab.Category):
        errors["category"] = _err("请选择类别", "choose a category")
    if action == "link" and values["problem_code"] and "problem_code" not in errors:
        exists, town = problem_township(session, values["problem_code"])
        if not exists or not principal.can_see(town):
            errors["problem_code"] = _err("没有这个问题编号", "no such problem")
    if not errors:
        try:
            with committing(session):
                if action == "link":
                    complaint_rules.link_to_problem(
                        session, code, values["problem_code"], actor=principal.name
                    )
                elif action == "convert":
                    complaint_rules.convert_to_problem(
                        session,
                        code,
                        problem_code=values["problem_code"],
                        category=values["category"],
                        actor=principal.name,
                        responsible_unit=values["responsible_unit"],
                        responsible_person=values["responsible_person"],
                    )
                else:
                    complaint_rules.add_step(
                        session,
                        code,
                        kind=action,
                        text_=values["text"],
                        actor=principal.name,
                        outcome=values["outcome"] or None,
                    )
        except (LedgerError, NotFound, Conflict) as exc:
            message = str(exc)
            key = getattr(exc, "field", None) or ("problem_code" if "code" in message else "")
            key = "problem_code" if key == "code" else key
            zh = {
                "text": "请填写内容",
                "outcome": "请选择回访结果",
                "problem_code": "问题编号已存在或无效",
                "kind": {
                    "concluding needs a reply first": "办结前需先答复信访人",
                    "the case is concluded": "信访件已办结",
                    "a follow-up call comes after the conclusion": "办结后才能回访",
                }.get(message, "操作未完成"),
            }.get(key, "操作未完成")
            errors[key or "kind"] = _err(zh, message)
        else:
            return _done(request, f"/complaints/{code}?done={action}")
    context = _case_context(request, principal, session, code, today)
    context.update(form_errors=errors, form_values=values, form_action=action, a=action)
    return _refused(request, "complaint.html", "complaint_form.html", context)


@router.post("/complaints/{code}/attachments", response_class=HTMLResponse)
async def complaint_attach(
    request: Request,
    code: str,
    principal: ComplaintWriter,
    session: SessionDep,
    settings: SettingsDep,
    today: TodayDep,
) -> Response:
    """Attach an image (a photo, a scanned letter) to the case file."""
    visible_complaint(session, code, principal)
    form = await request.form()
    version = str(form.get("version", ""))
    upload = form.get("file")
    errors: dict[str, dict[str, str]] = {}
    if version != complaint_rules.case_version(session, code):
        errors["stale"] = _err(
            "信访件已被他人更新，请查看当前情况后重试", "the case changed meanwhile; look again"
        )
    data = b""
    if upload is None or isinstance(upload, str) or not upload.filename:
        errors["file"] = _err("请选择文件", "choose a file")
    else:
        data = await upload.read()
    if not errors:
        try:
            with committing(session):
                complaint_files.attach_to_complaint(
                    session,
                    code,
                    data,
                    filename=str(upload.filename),  # type: ignore[union-attr]
                    actor=principal.name,
                    attachments_dir=settings.attachments_dir,
                )
        except (LedgerError, NotFound) as exc:
            errors["file"] = _err("只接受 JPEG、PNG 或 HEIC 图像（不超过大小上限）", str(exc))
        else:
            return _done(request, f"/complaints/{code}?done=attach")
    await form.close()
    context = _case_context(request, principal, session, code, today)
    context.update(form_errors=errors, form_values={}, form_action="attach", a="attach")
    return _refused(request, "complaint.html", "complaint_form.html", context)


@router.get("/complaints/{code}/attachments/{attachment_id}", summary="A case file's attachment")
def complaint_attachment_file(
    code: str,
    attachment_id: int,
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    visible_complaint(session, code, principal)
    try:
        attachment, path = complaint_files.complaint_attachment(
            session, code, attachment_id, settings.attachments_dir
        )
    except NotFound as exc:
        raise HTTPException(404, f"没有这个附件 {exc}") from exc
    disposition = f"inline; filename*=UTF-8''{quote(attachment.filename)}"
    return FileResponse(
        path,
        media_type=attachment.media_type,
        headers={**PHOTO_HEADERS, "Content-Disposition": disposition},
    )
