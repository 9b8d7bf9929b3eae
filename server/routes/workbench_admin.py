"""The workbench's admin and import pages: 用户 users, 导入 Excel import, 通知 notices.

Routes parse, authorise, call ``gis/`` and render ``layers/templates/workbench``; they run the
same functions as the JSON APIs (``/api/users``, ``/api/import/ledger``, ``/api/notices``).
Forms are posted by htmx with the session's CSRF token; a refused form comes back with the
reason beside the field (htmx swaps ``#main``), a done one redirects with what happened.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from gis import vocab
from gis.access import users
from gis.access.auth import ROLES, SCOPED_ROLES, AuthError, Principal
from gis.access.permissions import allowed
from gis.io import staging
from gis.io.excel import LedgerImportReport, run_ledger_import
from gis.ledger.worklist import township_names
from gis.ledger.writes import LedgerError, NotFound
from gis.notices import rules as notice_rules
from gis.notices.delivery import retry
from gis.notices.log import delivery_dict, get_notice, list_notices, without_contacts
from gis.notices.render import pdf_available
from gis.notices.summary import delivery_counts
from layers.workbench import to_local
from server.deps import EngineDep, Session, SessionDep, committing
from server.forms import form_done as _done
from server.forms import form_refused as _refused
from server.forms import is_htmx as _htmx
from server.pages import page, shell
from server.security import SESSION_COOKIE, Reader, principal_dep

router = APIRouter(tags=["workbench"], include_in_schema=False)
Admin = principal_dep("user:manage")
NoticeManager = principal_dep("notice:manage")


# -- users -----------------------------------------------------------------------------------

USER_DONE = {
    "added": ("已添加用户", "User added"),
    "role": ("已修改角色与乡镇", "Role and townships changed"),
    "password": (
        "已重置密码 · 该用户的会话与令牌均已失效",
        "Password reset · the user's sessions and tokens have ended",
    ),
    "disabled": (
        "已停用 · 该用户的会话与令牌均已失效",
        "Disabled · the user's sessions and tokens have ended",
    ),
    "revoked": ("已吊销令牌", "Token revoked"),
    "enabled": ("已启用 · 该用户可以重新登录", "Enabled · the user may sign in again"),
}
AUDIT_LABELS = {
    "user_added": ("添加用户", "User added"),
    "role_changed": ("修改角色", "Role changed"),
    "password_changed": ("修改密码", "Password changed"),
    "user_disabled": ("停用账号", "Disabled"),
    "user_enabled": ("启用账号", "Enabled"),
    "token_created": ("创建令牌", "Token created"),
    "token_revoked": ("吊销令牌", "Token revoked"),
    "login": ("登录", "Signed in"),
    "logout": ("退出", "Signed out"),
    "login_failed": ("登录失败", "Sign-in refused"),
    "login_locked": ("锁定期间尝试登录", "Sign-in while locked"),
    "login_rate_limited": ("登录过于频繁", "Sign-in rate-limited"),
    "account_locked": ("账号锁定", "Account locked"),
}
USER_ERRORS_ZH = {
    "name": "请填写有效且未被使用的用户名",
    "role": "请选择有效的角色",
    "townships": "请选择有效的乡镇：乡镇与巡查员角色至少选一个",
    "password": "密码不符合要求：至少12位，且不能过于常见或易猜",
    "confirm": "请勾选确认",
    "days": "有效天数须为 1 至 3650 的整数，或留空表示长期有效",
    "stale": "账号已被他人修改，请查看当前信息后重试",
    "self": "管理员不能停用自己或取消自己的管理员身份",
    "": "操作未完成",
}


def _user_error_field(exc: AuthError) -> str:
    message = str(exc)
    lowered = message.lower()
    if message == users.STALE:
        return "stale"
    if message in (users.SELF_DISABLE, users.SELF_DEMOTE):
        return "self"
    for key, words in (
        ("password", ("password", "密码")),
        ("townships", ("township", "乡镇")),
        ("role", ("role",)),
        ("name", ("user name", "exists", "用户名")),
    ):
        if any(w in lowered for w in words):
            return key
    return ""


def _errors(raw: dict[str, str]) -> dict[str, dict[str, str]]:
    return {k: {"zh": USER_ERRORS_ZH.get(k, USER_ERRORS_ZH[""]), "en": v} for k, v in raw.items()}


def _flash(request: Request, context: dict[str, Any], table: dict[str, tuple[str, str]]) -> None:
    done = request.query_params.get("done")
    if done in table:
        zh, en = table[done]
        context["flash"] = zh if context["lang"] == "zh" else en


def _users_context(
    request: Request, principal: Principal, session: Session, **extra: Any
) -> dict[str, Any]:
    context = shell(request, principal, session, active="users")
    context.update(
        title="用户",
        users=users.list_users(session),
        townships=township_names(session),
        roles=ROLES,
        scoped_roles=SCOPED_ROLES,
        form_errors={},
        form_values={"role": "township", "townships": []},
    )
    context.update(extra)
    _flash(request, context, USER_DONE)
    return context


@router.get("/admin/users", response_class=HTMLResponse, summary="Users (用户)")
def users_page(request: Request, principal: Admin, session: SessionDep) -> HTMLResponse:
    return page(request, "users.html", _users_context(request, principal, session))


def _townships_of(form: Any) -> list[str]:
    return sorted({str(v).strip() for v in form.getlist("townships") if str(v).strip()})


@router.post("/admin/users", response_class=HTMLResponse)
async def users_add(request: Request, principal: Admin, session: SessionDep) -> Response:
    """Add a user from the form; a refusal keeps what was typed (but the password)."""
    form = await request.form()
    values = {
        "name": str(form.get("name", "")).strip(),
        "role": str(form.get("role", "")),
        "townships": _townships_of(form),
    }
    password = str(form.get("password", ""))
    errors: dict[str, str] = {}
    if not values["name"]:
        errors["name"] = "a user name is needed"
    if values["role"] not in ROLES:
        errors["role"] = f"role must be one of: {', '.join(ROLES)}"
    if not password:
        errors["password"] = "an initial password is needed"
    if not errors:
        try:
            with committing(session):
                users.add_user(
                    session,
                    name=values["name"],
                    role=values["role"],
                    password=password,
                    townships=values["townships"]
                    if values["role"] in (*SCOPED_ROLES, "viewer")
                    else [],
                    actor=principal.name,
                )
        except AuthError as exc:
            errors[_user_error_field(exc)] = str(exc)
    if not errors:
        return _done(request, f"/admin/users/{quote(values['name'], safe='')}?done=added")
    context = _users_context(
        request, principal, session, form_errors=_errors(errors), form_values=values
    )
    return _refused(request, "users.html", context)


def _user_context(
    request: Request, principal: Principal, session: Session, name: str, **extra: Any
) -> dict[str, Any]:
    user = users.get_user_dict(session, name)
    context = shell(request, principal, session, active="users")
    events = users.user_events(session, name)
    for e in events:
        e["at"] = to_local(e["at"])
        zh, en = AUDIT_LABELS.get(e["action"], (e["action"], e["action"]))
        e["label"] = zh if context["lang"] == "zh" else en
    context.update(
        title=f"用户 {name}",
        u=user,
        is_self=name == principal.name,
        tokens=users.list_tokens(session, name),
        events=events,
        townships=township_names(session),
        roles=ROLES,
        scoped_roles=SCOPED_ROLES,
        form_errors={},
        form_action="",
        form_values={"role": user["role"], "townships": user["townships"]},
        new_token=None,
    )
    context.update(extra)
    _flash(request, context, USER_DONE)
    return context


def _known(session: Session, name: str) -> None:
    try:
        users.find_user(session, name)
    except users.UserNotFound:
        raise HTTPException(404, f"没有用户 {name} no user {name!r}") from None


@router.get("/admin/users/{name}", response_class=HTMLResponse, summary="A user (用户)")
def user_page(request: Request, name: str, principal: Admin, session: SessionDep) -> HTMLResponse:
    _known(session, name)
    return page(request, "user.html", _user_context(request, principal, session, name))


USER_ACTIONS = ("role", "password", "disable", "enable", "token")


@router.post("/admin/users/{name}/{action}", response_class=HTMLResponse)
async def user_action(
    request: Request, name: str, action: str, principal: Admin, session: SessionDep
) -> Response:
    """Change role and townships, reset the password, disable, or create a token."""
    if action not in USER_ACTIONS:
        raise HTTPException(404, f"没有这个操作 no action {action!r}")
    _known(session, name)
    form = await request.form()
    version = str(form.get("version", ""))
    values: dict[str, Any] = {
        "role": str(form.get("role", "")),
        "townships": _townships_of(form),
        "label": str(form.get("label", ""))[:200],
        "days": str(form.get("days", "")).strip(),
    }
    errors: dict[str, str] = {}
    raw_token = None
    token_record: dict[str, Any] | None = None
    days: int | None = None
    if action == "role" and values["role"] not in ROLES:
        errors["role"] = f"role must be one of: {', '.join(ROLES)}"
    if action == "password" and not str(form.get("password", "")):
        errors["password"] = "a new password is needed"
    if action == "disable" and form.get("confirm") != "yes":
        errors["confirm"] = "tick the box to confirm"
    if action == "token" and values["days"]:
        if not values["days"].isdigit() or not 1 <= int(values["days"]) <= 3650:
            errors["days"] = "days must be a whole number from 1 to 3650, or empty for no expiry"
        else:
            days = int(values["days"])
    if not errors:
        try:
            with committing(session):
                if action == "role":
                    users.change_role(
                        session,
                        name=name,
                        role=values["role"],
                        townships=values["townships"],
                        actor=principal.name,
                        version=version,
                    )
                elif action == "password":
                    users.reset_password(
                        session,
                        name=name,
                        password=str(form.get("password", "")),
                        actor=principal.name,
                        version=version,
                        keep_session=request.cookies.get(SESSION_COOKIE),
                    )
                elif action == "disable":
                    users.disable(session, name=name, actor=principal.name, version=version)
                elif action == "enable":
                    users.enable(session, name=name, actor=principal.name, version=version)
                else:
                    raw_token, token_record = users.new_token(
                        session, name=name, label=values["label"], days=days, actor=principal.name
                    )
        except AuthError as exc:
            errors[_user_error_field(exc)] = str(exc)
    if not errors and action != "token":
        done = {"disable": "disabled", "enable": "enabled"}.get(action, action)
        return _done(request, f"/admin/users/{quote(name, safe='')}?done={done}")
    context = _user_context(
        request,
        principal,
        session,
        name,
        form_errors=_errors(errors),
        form_action=action,
        new_token={"secret": raw_token, **(token_record or {})} if raw_token else None,
    )
    if action in ("role", "token") and errors:
        context["form_values"] = {**context["form_values"], **values}
        if action == "token":
            context["form_values"]["role"] = context["u"]["role"]
            context["form_values"]["townships"] = context["u"]["townships"]
    if raw_token:
        zh, en = (
            "已创建令牌 · 请立即复制，它不会再次显示",
            "Token created · copy it now; it is not shown again",
        )
        context["flash"] = zh if context["lang"] == "zh" else en
        return page(request, "user.html", context, headers={"Cache-Control": "no-store"})
    return _refused(request, "user.html", context)


@router.post("/admin/users/{name}/tokens/{token_id}/revoke", response_class=HTMLResponse)
def token_revoke(
    request: Request, name: str, token_id: int, principal: Admin, session: SessionDep
) -> Response:
    _known(session, name)
    try:
        with committing(session):
            users.revoke_user_token(session, name=name, token_id=token_id, actor=principal.name)
    except users.UserNotFound:
        raise HTTPException(404, f"没有这个令牌 no token {token_id} of {name!r}") from None
    return _done(request, f"/admin/users/{quote(name, safe='')}?done=revoked")


# -- Excel import ----------------------------------------------------------------------------

Importer = principal_dep("import:write")
IMPORT_ERRORS_ZH = {
    "file": "无法导入这个文件",
    "default_source": "请选择有效的问题来源",
    "stale": "预览已失效",
    "": "导入未完成",
}


def _import_limit(request: Request) -> int:
    return min(staging.MAX_IMPORT_BYTES, request.app.state.settings.max_body_mb * 1_000_000)


def _import_context(
    request: Request, principal: Principal, session: Session, **extra: Any
) -> dict[str, Any]:
    context = shell(request, principal, session, active="import")
    context.update(
        title="导入导出",
        sources=vocab.values(vocab.Source),
        limit_mb=_import_limit(request) / 1_000_000,
        exports=[(fmt, f"/api/export/ledger?format={fmt}") for fmt in ("xlsx", "csv", "gpkg")]
        if allowed("export:read", principal.role)
        else [],
        form_errors={},
        default_source="",
        result_flash="",
    )
    context.update(extra)
    return context


def _import_errors(raw: dict[str, str]) -> dict[str, dict[str, str]]:
    return {
        k: {"zh": IMPORT_ERRORS_ZH.get(k, IMPORT_ERRORS_ZH[""]), "en": v} for k, v in raw.items()
    }


def _report_context(
    request: Request,
    principal: Principal,
    session: Session,
    report: LedgerImportReport,
    **extra: Any,
) -> dict[str, Any]:
    counts = report.counts()
    context = _import_context(request, principal, session)
    context.update(
        report=report,
        counts=counts,
        applicable=counts["imported"] + counts["updated"],
        digest="",
        fingerprint=staging.fingerprint(report),
        applied=not report.dry_run,
    )
    context.update(extra)
    return context


@router.get("/import", response_class=HTMLResponse, summary="Import an Excel ledger (导入)")
def import_page(request: Request, principal: Importer, session: SessionDep) -> HTMLResponse:
    return page(request, "import.html", _import_context(request, principal, session))


def _source_of(raw: str) -> tuple[str | None, str]:
    """The default source picked (None: none), or an error."""
    raw = raw.strip()
    if not raw:
        return None, ""
    if raw not in vocab.values(vocab.Source):
        return None, f"unknown source {raw!r}"
    return raw, ""


@router.post("/import/preview", response_class=HTMLResponse)
async def import_preview(
    request: Request, principal: Importer, session: SessionDep, engine: EngineDep
) -> Response:
    """Check the uploaded workbook in a dry run and show what each row would become."""
    form = await request.form(max_files=1, max_fields=10)
    source, source_error = _source_of(str(form.get("default_source", "")))
    errors: dict[str, str] = {}
    if source_error:
        errors["default_source"] = source_error
    part = form.get("file")
    data, filename = b"", ""
    if not isinstance(part, UploadFile) or not part.filename:
        errors["file"] = "choose the Excel ledger (.xlsx) to upload"
    else:
        limit = _import_limit(request)
        data, filename = await part.read(limit + 1), part.filename
        try:
            staging.check_upload(data, filename, limit=limit)
        except staging.UploadRefused as exc:
            errors["file"] = str(exc)
    report = None
    if not errors:
        try:
            report = await run_in_threadpool(
                run_ledger_import,
                engine,
                data,
                actor=principal.name,
                filename=filename,
                dry_run=True,
                default_source=source,
            )
        except LedgerError as exc:
            errors["file" if getattr(exc, "field", "file") == "file" else "default_source"] = str(
                exc
            )
    if errors or report is None:
        context = _import_context(
            request,
            principal,
            session,
            form_errors=_import_errors(errors),
            default_source=source or "",
        )
        return _refused(request, "import.html", context)
    digest = staging.stage(request.app.state.settings.home, data, filename)
    context = _report_context(
        request, principal, session, report, digest=digest, default_source=source or ""
    )
    return page(request, "import_report.html", context)


@router.post("/import/confirm", response_class=HTMLResponse)
async def import_confirm(
    request: Request, principal: Importer, session: SessionDep, engine: EngineDep
) -> Response:
    """Apply exactly the previewed file, if its outcomes are still those the preview showed."""
    form = await request.form(max_files=0, max_fields=10)
    home = request.app.state.settings.home
    digest = str(form.get("digest", ""))
    expected = str(form.get("fingerprint", ""))
    source, source_error = _source_of(str(form.get("default_source", "")))
    try:
        if source_error:
            raise staging.StagedFileGone(source_error)
        data, filename = staging.staged(home, digest)
    except staging.StagedFileGone as exc:
        context = _import_context(
            request, principal, session, form_errors=_import_errors({"stale": str(exc)})
        )
        return _refused(request, "import.html", context)
    try:
        report = await run_in_threadpool(
            staging.apply_previewed,
            engine,
            data,
            expected=expected,
            actor=principal.name,
            filename=filename,
            default_source=source,
        )
    except staging.PreviewChanged as exc:
        context = _report_context(
            request,
            principal,
            session,
            exc.report,
            digest=digest,
            default_source=source or "",
            form_errors=_import_errors({"stale": str(exc)}),
        )
        return _refused(request, "import_report.html", context)
    except LedgerError as exc:  # the workbook cannot be read (it was when previewed)
        context = _import_context(
            request, principal, session, form_errors=_import_errors({"file": str(exc)})
        )
        return _refused(request, "import.html", context)
    staging.discard(home, digest)
    context = _report_context(request, principal, session, report, default_source=source or "")
    counts = context["counts"]
    zh = f"已导入：新增 {counts['imported']} 条，更新 {counts['updated']} 条"
    en = f"Imported: {counts['imported']} new, {counts['updated']} updated"
    context["result_flash"] = zh if context["lang"] == "zh" else en
    return page(request, "import_report.html", context)


# -- notices ---------------------------------------------------------------------------------

NOTICE_PAGE = 50
NOTICE_KIND_LABELS = {k: (v[0], v[2]) for k, v in notice_rules.KINDS.items()}
DELIVERY_LABELS = {
    "pending": ("待发送", "Pending"),
    "sent": ("已送达", "Sent"),
    "failed": ("发送失败", "Failed"),
    "skipped": ("未发送", "Skipped"),
}


@router.get("/notices", response_class=HTMLResponse, summary="Notices and their delivery (通知)")
def notices_page(request: Request, principal: Reader, session: SessionDep) -> HTMLResponse:
    params = request.query_params
    errors: dict[str, str] = {}
    kind = params.get("kind") or None
    if kind is not None and kind not in NOTICE_KIND_LABELS:
        errors["kind"], kind = "无效的类型 invalid kind", None
    names = township_names(session)
    visible = {c: n for c, n in names.items() if principal.can_see(c)}
    township = params.get("township") or None
    if township is not None and township not in visible:
        errors["township"], township = "无效的乡镇 invalid township", None
    problem = (params.get("problem") or "").strip()[:100] or None
    since = None
    if params.get("since"):
        try:
            since = date.fromisoformat(params["since"])
        except ValueError:
            errors["since"] = "日期格式应为 2026-12-03 a date like 2026-12-03"
    raw_offset = params.get("offset", "0")
    offset = int(raw_offset) if raw_offset.isdigit() else 0
    items, total = list_notices(
        session,
        scope=principal.townships,
        township=[township] if township else None,
        problem_code=problem,
        kind=kind,
        since=since,
        limit=NOTICE_PAGE,
        offset=offset,
    )
    counts = delivery_counts(session, [i["id"] for i in items])
    for item in items:
        item["deliveries"] = counts.get(item["id"], {})
        item["issued_at"] = to_local(item["issued_at"])
        item["township_name"] = names.get(item["township_code"] or "", "")
    clean = {
        k: v
        for k, v in (
            ("kind", kind),
            ("township", township),
            ("problem", problem),
            ("since", since.isoformat() if since else None),
        )
        if v
    }
    base = "/notices" + (f"?{urlencode(clean)}&" if clean else "?")
    context = shell(request, principal, session, active="notices")
    context.update(
        title="通知",
        items=items,
        total=total,
        clean=clean,
        errors=errors,
        townships=visible,
        kinds=NOTICE_KIND_LABELS,
        delivery_labels=DELIVERY_LABELS,
        next_href=f"{base}offset={offset + NOTICE_PAGE}" if offset + NOTICE_PAGE < total else "",
        prev_href=f"{base}offset={max(offset - NOTICE_PAGE, 0)}" if offset else "",
        offset=offset,
    )
    return page(request, "notices.html", context)


@router.get("/notices/{notice_id}", response_class=HTMLResponse, summary="A notice (通知)")
def notice_page(
    request: Request, notice_id: int, principal: Reader, session: SessionDep
) -> HTMLResponse:
    try:
        notice, entry = get_notice(session, notice_id)
    except NotFound:
        notice, entry = None, None
    if notice is None or not principal.can_see(notice.township_code):
        # another township's notice and a missing one answer alike
        raise HTTPException(404, f"没有这份通知 no notice {notice_id}")
    if not allowed("notice:manage", principal.role):
        entry = without_contacts(entry)
    for d in entry["deliveries"]:
        for key in ("last_attempt_at", "delivered_at", "next_attempt_at"):
            d[key] = to_local(d[key])
    entry["issued_at"] = to_local(entry["issued_at"])
    context = shell(request, principal, session, active="notices")
    context.update(
        title=entry["number"],
        n=entry,
        township_name=township_names(session).get(notice.township_code or "", ""),
        kinds=NOTICE_KIND_LABELS,
        delivery_labels=DELIVERY_LABELS,
        pdf=pdf_available(),
        can_retry=allowed("notice:manage", principal.role),
        retry_error="",
    )
    return page(request, "notice.html", context)


@router.post(
    "/notices/{notice_id}/deliveries/{delivery_id}/retry",
    response_class=HTMLResponse,
    summary="Retry a failed delivery (重试)",
)
def notice_delivery_retry(
    request: Request,
    notice_id: int,
    delivery_id: int,
    principal: NoticeManager,
    session: SessionDep,
    engine: EngineDep,
) -> Response:
    """The same retry as ``POST /api/notices/deliveries/{id}/retry``; htmx gets the row back."""
    try:
        _, entry = get_notice(session, notice_id)
    except NotFound:
        entry = None
    if entry is None or delivery_id not in {d["id"] for d in entry["deliveries"]}:
        raise HTTPException(404, f"没有这条发送记录 no delivery {delivery_id}")
    error = ""
    try:
        entry_d = delivery_dict(retry(engine, delivery_id))
    except LedgerError as exc:
        error = f"无法重试：{exc} could not retry: {exc}"
        entry_d = next(d for d in entry["deliveries"] if d["id"] == delivery_id)
    if not _htmx(request):
        if error:
            raise HTTPException(422, error)
        return RedirectResponse(f"/notices/{notice_id}", status_code=303)
    for key in ("last_attempt_at", "delivered_at", "next_attempt_at"):
        entry_d[key] = to_local(entry_d[key])
    context = shell(request, principal, session, active="notices")
    context.update(
        d=entry_d, delivery_labels=DELIVERY_LABELS, can_retry=True, retry_error=error
    )
    return page(request, "notice_delivery_row.html", context)
