"""The workbench pages: home per role, the ledger list, a problem's page and its action forms.

Routes parse, authorise, call ``gis/`` and render ``layers/templates/workbench``. The list is
filtered by the same parser as ``GET /api/problems``
(:func:`server.routes.problems.problem_filters`) and an action form runs the same
:func:`gis.ledger.writes.transition` as ``POST /api/problems/{code}/transitions``. Forms are
sent by htmx with the session's CSRF token in a header, or as plain forms carrying it in a field.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import QueryParams

from gis import vocab
from gis.access import auth
from gis.access.auth import Principal
from gis.access.permissions import REAUTH_ACTIONS, allowed, may_run
from gis.campaigns.overview import running_campaigns
from gis.field.nearby import problem_surroundings
from gis.ledger import writes as ledger
from gis.ledger.lifecycle import ACTIONS, TransitionError, allowed_actions
from gis.ledger.lookbacks import list_rounds
from gis.ledger.query import LEDGER_MAP_LIMIT, SORTS, ProblemQuery, ledger_map, list_problems
from gis.ledger.scorecard import township_scorecard
from gis.ledger.worklist import (
    complaints_to_answer,
    pending_closure,
    problem_evidence,
    problem_record,
    problem_township,
    recent_inspections,
    suspects_to_decide,
    township_names,
)
from layers.workbench import LANGS, to_local
from server.deps import EngineDep, Session, SessionDep, TodayDep, committing
from server.forms import form_done, is_htmx
from server.pages import LANG_COOKIE, minimap_assets, page, shell
from server.routes.auth import _safe_next
from server.routes.problems import problem_filters
from server.security import Reader, Requires, forbid_out_of_scope, principal_dep

router = APIRouter(tags=["workbench"], include_in_schema=False)
Mover = principal_dep("problem:transition")
PAGE_SIZE = 50
MAP_POINTS = LEDGER_MAP_LIMIT  # the list's small map draws at most this many of the matches
FILTER_KEYS = (
    "township", "status", "category", "source", "overdue", "rebounded", "warning", "q"
)
LIST_KEYS = (*FILTER_KEYS, "sort", "order")


@router.get("/lang/{lang}", dependencies=[Depends(Requires("public"))])
def set_language(lang: str, next: str = "/") -> RedirectResponse:  # noqa: A002
    """Switch the pages' language (中文 / EN); the choice stays in a cookie for a year."""
    if lang not in LANGS:
        raise HTTPException(404, f"没有这种语言 unknown language {lang!r}; use zh or en")
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", path="/")
    return response


# -- home ------------------------------------------------------------------------------------


def _count(session: Session, today: date, query: ProblemQuery) -> int:
    return list_problems(session, today=today, query=query, limit=1).number_matched


def _first(session: Session, today: date, query: ProblemQuery, n: int = 10) -> dict[str, Any]:
    found = list_problems(session, today=today, query=query, limit=n)
    return {"rows": found.items, "total": found.number_matched}


def ledger_href(**params: Any) -> str:
    pairs = []
    for key, value in params.items():
        for v in value if isinstance(value, list | tuple) else [value]:
            pairs.append((key, str(v).lower() if isinstance(v, bool) else str(v)))
    return "/ledger" + (f"?{urlencode(pairs)}" if pairs else "")


@router.get("/", response_class=HTMLResponse, summary="Home (工作台), by role")
def home(request: Request, principal: Reader, session: SessionDep, today: TodayDep) -> HTMLResponse:
    scope = principal.townships
    base = ProblemQuery(scope=scope)
    open_statuses = tuple(s.value for s in vocab.OPEN_STATUSES)
    cards = [
        (
            "open",
            "未销号",
            "Open",
            replace(base, statuses=open_statuses),
            ledger_href(status=list(open_statuses)),
        ),
        ("overdue", "逾期", "Overdue", replace(base, overdue=True), ledger_href(overdue=True)),
        (
            "rebounded",
            "反弹",
            "Rebounded",
            replace(base, rebounded=True),  # the count set, as on the wall and the reports
            ledger_href(rebounded=True),
        ),
        (
            "closed",
            "已销号",
            "Closed",
            replace(base, statuses=("closed",)),
            ledger_href(status="closed"),
        ),
    ]
    counts = [
        {"key": k, "zh": zh, "en": en, "n": _count(session, today, q), "href": href}
        for k, zh, en, q, href in cards
    ]
    context = shell(request, principal, session, active="home")
    scores = [s for s in township_scorecard(session, today=today) if principal.can_see(s.code)]
    context.update(
        title="工作台",
        today=today,
        counts=counts,
        scores=sorted(scores, key=lambda s: s.rank),
        n_townships=len(township_names(session)),
        todo=None,
        inspections=None,
        campaigns=(
            running_campaigns(session, scope=scope, today=today)
            if principal.role in ("office", "admin") else []
        ),
    )
    if principal.role in ("office", "admin", "township"):
        context["todo"] = {
            "awaiting": _first(session, today, replace(base, statuses=("awaiting_verification",))),
            "warnings": _first(
                session,
                today,
                replace(base, warnings=("red", "orange"), sort="days_overdue", descending=True),
            ),
            "suspects": suspects_to_decide(session, scope=scope),
            "awaiting_href": ledger_href(status="awaiting_verification"),
            "warnings_href": ledger_href(
                warning=["red", "orange"], sort="days_overdue", order="desc"
            ),
            "complaints": complaints_to_answer(session, today=today, scope=scope),
            "lookbacks": rounds_to_record(session, scope),
        }
    for block in ("awaiting", "warnings") if context["todo"] else ():
        for item in context["todo"][block]["rows"]:
            item["days_text"] = days_text(item, today, context["lang"])
    if principal.role == "inspector":
        context["inspections"] = recent_inspections(session, inspector=principal.name)
    return page(request, "home.html", context)


def rounds_to_record(session: Session, scope: tuple[str, ...] | None) -> list[dict[str, Any]]:
    """Look-back rounds with tasks still to record (within ``scope``), the earliest due first."""
    rounds = [
        {**r, "pending": r["total"] - r["done"]}
        for r in list_rounds(session, scope)
        if r["total"] > r["done"]
    ]
    return sorted(rounds, key=lambda r: (r["due_date"] is None, r["due_date"] or date.max))


# -- ledger list -----------------------------------------------------------------------------

ENUMS = {
    "status": vocab.Status,
    "category": vocab.Category,
    "source": vocab.Source,
    "warning": vocab.Warning,
}


def parse_list_params(params: QueryParams) -> tuple[ProblemQuery, dict[str, str], dict[str, Any]]:
    """The list's filters through the API's parser; empty form fields mean 'any'.

    Returns the query, errors by field and the cleaned values (for the form and the links).
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for key in FILTER_KEYS:
        got = [v.strip() for v in params.getlist(key) if v.strip()]
        if not got:
            continue
        if key in ENUMS:
            try:
                values[key] = [ENUMS[key](v) for v in got]
            except ValueError:
                errors[key] = f"无效的值 invalid value: {', '.join(got)}"
        elif key in ("overdue", "rebounded"):
            if got[0] not in ("true", "false"):
                errors[key] = "只能是 true 或 false must be true or false"
            else:
                values[key] = got[0] == "true"
        elif key == "township":
            values[key] = got
        else:
            values[key] = got[0][:200]
    query = problem_filters(**{k: v for k, v in values.items() if k not in errors})
    sort = params.get("sort") or "code"
    order = params.get("order") or "asc"
    if sort not in SORTS:
        errors["sort"], sort = "无效的排序 invalid sort", "code"
    if order not in ("asc", "desc"):
        errors["order"], order = "无效的顺序 invalid order", "asc"
    query = replace(query, sort=sort, descending=order == "desc")
    clean = {k: [str(x) for x in v] if isinstance(v, list) else v for k, v in values.items()}
    clean.update(sort=sort, order=order)
    return query, errors, clean


def _pairs(clean: dict[str, Any], keys: tuple[str, ...] = LIST_KEYS) -> list[tuple[str, str]]:
    pairs = []
    for key in keys:
        value = clean.get(key)
        if (
            value is None
            or (key == "sort" and value == "code")
            or (key == "order" and value == "asc")
        ):
            continue
        for v in value if isinstance(value, list) else [value]:
            pairs.append((key, str(v).lower() if isinstance(v, bool) else str(v)))
    return pairs


def days_text(item: dict[str, Any], today: date, lang: str) -> str:
    """'剩 5 天' / '逾期 12 天' (or 'due in 5 days' / '12 days overdue')."""
    if item.get("status") == "closed" or not item.get("due_date"):
        return ""
    due = (
        item["due_date"]
        if isinstance(item["due_date"], date)
        else date.fromisoformat(str(item["due_date"])[:10])
    )
    left = (due - today).days
    if left >= 0:
        return f"剩 {left} 天" if lang == "zh" else f"{left} days left"
    return f"逾期 {-left} 天" if lang == "zh" else f"{-left} days overdue"


@router.get("/ledger", response_class=HTMLResponse, summary="The ledger list (台账)")
def ledger_list(
    request: Request, principal: Reader, session: SessionDep, today: TodayDep
) -> HTMLResponse:
    query, errors, clean = parse_list_params(request.query_params)
    query = replace(query, scope=principal.townships)
    cursor = request.query_params.get("cursor") or None
    try:
        found = list_problems(session, today=today, query=query, limit=PAGE_SIZE, cursor=cursor)
    except ValueError:
        errors["cursor"] = "分页参数无效，已回到第一页 invalid cursor; back to the first page"
        cursor = None
        found = list_problems(session, today=today, query=query, limit=PAGE_SIZE)
    names = township_names(session)
    visible = {c: n for c, n in names.items() if principal.can_see(c)}
    pairs = _pairs(clean)
    filter_qs = urlencode(_pairs(clean, FILTER_KEYS))
    context = shell(request, principal, session, active="ledger")
    lang = context["lang"]
    for item in found.items:
        item["days_text"] = days_text(item, today, lang)
    context.update(
        title="台账",
        today=today,
        items=found.items,
        total=found.number_matched,
        next_href=f"/ledger?{urlencode([*pairs, ('cursor', found.next_cursor)])}"
        if found.next_cursor
        else "",
        first_href=f"/ledger?{urlencode(pairs)}" if cursor else "",
        share_href="/ledger" + (f"?{urlencode(pairs)}" if pairs else ""),
        exports=[
            (fmt, f"/api/export/ledger?{urlencode([('format', fmt), *_pairs(clean, FILTER_KEYS)])}")
            for fmt in ("xlsx", "csv", "gpkg", "geojson")
        ]
        if allowed("export:read", principal.role)
        else [],
        filter_qs=filter_qs,
        map=ledger_map(session, today=today, query=query, limit=MAP_POINTS),
        **minimap_assets(),
        clean=clean,
        errors=errors,
        townships=visible,
        sorts=[
            ("code", "编号", "Code"),
            ("deadline", "期限", "Deadline"),
            ("days_overdue", "逾期天数", "Days overdue"),
            ("updated_at", "更新时间", "Updated"),
        ],
    )
    partial = request.headers.get("hx-request") and not request.headers.get(
        "hx-history-restore-request"
    )
    if partial:  # the address bar shows the clean, shareable form of this filter and page
        here = context["share_href"]
        if cursor:
            here += ("&" if "?" in here else "?") + urlencode([("cursor", cursor)])
        return page(request, "ledger_results.html", context, headers={"HX-Push-Url": here})
    return page(request, "ledger.html", context)


# -- problem page ----------------------------------------------------------------------------

EVENT_LABELS = {
    "created": ("登记", "Registered"),
    "updated": ("修改字段", "Fields changed"),
    "milestone_added": ("新增阶段性目标", "Milestone added"),
    "milestone_met": ("阶段性目标完成", "Milestone met"),
    "milestone_claimed": ("报告阶段性目标完成", "Milestone reported met"),
    "evidence_added": ("上传证据材料", "Evidence added"),
    **{name: (a.zh, a.en) for name, a in ACTIONS.items()},
}
FIELD_LABELS = {
    **{f.name: (f.zh, f.en) for f in vocab.PROBLEM_FIELDS},
    "milestone": ("阶段性目标", "Milestone"),
    "evidence": ("证据材料", "Evidence"),
}
VALUE_ENUMS = {
    "status": "Status",
    "category": "Category",
    "source": "Source",
    "deadline_kind": "DeadlineKind",
}
# What comes next after each action (shown with the confirmation).
NEXT_STEP = {
    "assign": ("已交办 · 等待乡镇开始整改", "Assigned · the township starts rectifying next"),
    "start": ("已开始整改 · 完成后申请销号", "Rectifying · apply for closure when done"),
    "apply_closure": ("已提交销号申请 · 等待现场核查", "Closure applied for · on-site check next"),
    "record_check": ("已记录现场核查 · 等待审核销号", "On-site check recorded · approval next"),
    "reject_closure": ("已退回整改", "Sent back for rectification"),
    "approve_closure": ("已审核销号", "Closure approved"),
    "end_public_notice": ("公示期满，已销号", "Public notice over · closed"),
    "rebound": ("已认定反弹 · 需重新整改", "Marked rebounded · reopen with a new deadline"),
    "reopen": ("已重新整改", "Reopened for rectification"),
    # the evidence and milestone forms (server.routes.workbench_evidence)
    "evidence": ("已上传证据材料 · 申请销号时可选用", "Evidence uploaded · cite it in the closure"),
    "milestone_added": ("已新增阶段性目标 · 按期对账", "Milestone added · reconciled when due"),
    "milestone_met": ("已确认阶段性目标完成", "Milestone confirmed as met"),
    "milestone_claimed": ("已报告完成 · 等待督察办确认", "Reported met · the office confirms next"),
}
FIELD_ERRORS_ZH = {
    "deadline": "请填写有效的整改期限（不早于今天）",
    "reason": "请填写理由",
    "evidence": "申请销号需要选择证据材料（附件或巡查记录）",
    "passed": "请选择核查结论（通过或不通过）",
    "password": "密码不正确：审核销号需要再次输入您的密码",
    "stale": "问题已被他人更新，请查看当前状态后重试",
    "": "操作未完成",
}


def _show_value(field: str, value: Any, lang: str) -> str:
    from layers.workbench import fmt_date, label

    if value is None or value == "":
        return "—"
    if field == "evidence" and isinstance(value, dict):  # 整改方案 #3 方案.pdf
        from gis.ledger.evidence import KIND_LABELS

        zh, en = KIND_LABELS.get(str(value.get("kind")), ("附件", "File"))
        return f"{zh if lang == 'zh' else en} #{value.get('id')} {value.get('filename', '')}"
    if field in VALUE_ENUMS:
        return label(VALUE_ENUMS[field], value, lang)
    if isinstance(value, dict):
        return ", ".join(f"{k}: {v}" for k, v in value.items())
    return (
        fmt_date(to_local(value))
        if field in ("closed_at", "deadline", "notice_ends_on")
        else str(value)
    )


def timeline(session: Session, code: str, lang: str) -> list[dict[str, Any]]:
    """The problem's history for the page: who, when, what changed before → after, why."""
    out = []
    for event in ledger.history(session, code):
        before, after = event.before or {}, event.after or {}
        changes = []
        for key in [*after.keys(), *(k for k in before if k not in after)]:
            zh, en = FIELD_LABELS.get(key, (key, key))
            shown = (
                _show_value(key, before.get(key), lang),
                _show_value(key, after.get(key), lang),
            )
            if shown[0] == shown[1]:
                continue
            changes.append(
                {
                    "field": zh if lang == "zh" else en,
                    "before": shown[0],
                    "after": shown[1],
                }
            )
        zh, en = EVENT_LABELS.get(event.action, (event.action, event.action))
        out.append(
            {
                "at": to_local(event.at),
                "actor": event.actor,
                "action": zh if lang == "zh" else en,
                "reason": event.reason,
                "changes": changes,
            }
        )
    return out


def _visible_problem(session: Session, code: str, principal: Principal) -> None:
    exists, town = problem_township(session, code)
    if principal.townships is not None:
        forbid_out_of_scope(principal, town)  # unknown codes look the same as others' problems
    if not exists:
        raise HTTPException(404, f"没有编号为 {code} 的问题 no problem with code {code!r}")


def action_forms(record: dict[str, Any], role: str, closure: dict[str, Any] | None) -> list[str]:
    """The actions the state machine allows from the problem's status and the role may run.

    While a closure is in public notice only ending the notice (or sending it back) applies;
    before, ending a notice does not.
    """
    in_notice = bool(closure) and closure["outcome"] == "in_notice"  # type: ignore[index]
    hidden = {"record_check", "approve_closure"} if in_notice else {"end_public_notice"}
    return [a for a in allowed_actions(record["status"]) if may_run(a, role) and a not in hidden]


def _problem_context(
    request: Request,
    principal: Principal,
    session: Session,
    code: str,
    today: date,
) -> dict[str, Any]:
    record = problem_record(session, code, today=today)
    if record is None:
        raise HTTPException(404, f"没有编号为 {code} 的问题 no problem with code {code!r}")
    closure = pending_closure(session, code)
    context = shell(request, principal, session, active="ledger")
    lang = context["lang"]
    record["days_text"] = days_text(record, today, lang)
    context.update(
        title=f"{code}",
        today=today,
        p=record,
        events=timeline(session, code, lang),
        evidence=problem_evidence(session, code),
        closure=closure,
        actions=action_forms(record, principal.role, closure),
        action_labels={n: (a.zh, a.en) for n, a in ACTIONS.items()},
        reauth=REAUTH_ACTIONS,
        form_errors={},
        form_values={},
        form_action="",
        version=str(record["updated_at"]),
        surroundings=problem_surroundings(session, code, today=today),
        **minimap_assets(),
    )
    from server.routes.workbench_evidence import problem_sections  # it imports this module

    context.update(problem_sections(request, session, record, principal, today))
    return context


@router.get("/ledger/{code}", response_class=HTMLResponse, summary="A problem's page")
def problem_page(
    request: Request, code: str, principal: Reader, session: SessionDep, today: TodayDep
) -> HTMLResponse:
    _visible_problem(session, code, principal)
    context = _problem_context(request, principal, session, code, today)
    done = request.query_params.get("done")
    if done in NEXT_STEP:
        zh, en = NEXT_STEP[done]
        context["flash"] = zh if context["lang"] == "zh" else en
    return page(request, "problem.html", context)


def _error_field(message: str) -> str:
    lowered = message.lower()
    for key, words in (
        ("evidence", ("evidence",)),
        ("deadline", ("deadline",)),
        ("passed", ("passed",)),
        ("reason", ("reason",)),
        ("password", ("password",)),
    ):
        if any(w in lowered for w in words):
            return key
    return ""


def _date_field(raw: str) -> date | None:
    raw = raw.strip()
    return date.fromisoformat(raw) if raw else None


def _ids(values: list[str]) -> list[int]:
    return [int(v) for v in values if v.strip().isdigit()]


@router.post("/ledger/{code}/actions/{action}", response_class=HTMLResponse)
async def problem_action(
    request: Request,
    code: str,
    action: str,
    principal: Mover,
    session: SessionDep,
    engine: EngineDep,
    today: TodayDep,
) -> Response:
    """Run a lifecycle action from its form; a refusal re-renders the form with the reason."""
    if action not in ACTIONS:
        raise HTTPException(404, f"没有这个操作 no action {action!r}")
    if not may_run(action, principal.role):
        raise HTTPException(
            403, f"角色 {principal.role} 不能执行 the {principal.role} role may not {action}"
        )
    _visible_problem(session, code, principal)
    form = await request.form()
    values = {
        "reason": str(form.get("reason", "")),
        "deadline": str(form.get("deadline", "")),
        "passed": str(form.get("passed", "")),
        "attachment_ids": [str(v) for v in form.getlist("attachment_ids")],
        "inspection_ids": [str(v) for v in form.getlist("inspection_ids")],
    }
    errors: dict[str, str] = {}
    deadline = None
    try:
        deadline = _date_field(values["deadline"])
    except ValueError:
        errors["deadline"] = "invalid date (YYYY-MM-DD)"
    if deadline is not None and deadline < today:
        errors["deadline"] = "the deadline is in the past"
    record = problem_record(session, code, today=today)
    assert record is not None
    if str(form.get("version", "")) != str(record["updated_at"]):
        errors["stale"] = f"the problem changed meanwhile; it is now {record['status']}"
    passed = {"yes": True, "no": False}.get(values["passed"])
    if action == "record_check" and passed is None:
        errors["passed"] = "choose passed or not passed"
    if action in REAUTH_ACTIONS and not errors:
        try:
            with Session(engine) as s, s.begin():
                auth.verify_password(s, name=principal.name, password=str(form.get("password", "")))
        except auth.AuthError:
            errors["password"] = "approving a closure needs your password again"
    if not errors:
        try:
            with committing(session):
                ledger.transition(
                    session,
                    code,
                    action,
                    actor=principal.name,
                    reason=values["reason"].strip(),
                    deadline=deadline,
                    attachment_ids=_ids(values["attachment_ids"]),
                    inspection_ids=_ids(values["inspection_ids"]),
                    passed=passed,
                )
        except (TransitionError, ledger.LedgerError) as exc:
            errors[_error_field(str(exc))] = str(exc)
    if not errors:
        return form_done(request, f"/ledger/{code}?done={action}")
    context = _problem_context(request, principal, session, code, today)
    context.update(
        form_errors={
            k: {"zh": FIELD_ERRORS_ZH.get(k, FIELD_ERRORS_ZH[""]), "en": v}
            for k, v in errors.items()
        },
        form_values=values,
        form_action=action,
    )
    if "stale" in errors:
        context["actions"] = action_forms(context["p"], principal.role, context["closure"])
    htmx = is_htmx(request)
    template = "action_form.html" if htmx else "problem.html"
    if htmx and action not in context["actions"]:
        # the action no longer applies (the problem moved on): show the whole page afresh
        return Response(status_code=200, headers={"HX-Redirect": f"/ledger/{code}"})
    context["a"] = action
    # htmx swaps the refused form in place (a 2xx); other clients get 422 with the whole page
    return page(request, template, context, status_code=200 if htmx else 422)
