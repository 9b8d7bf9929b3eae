"""The workbench's admin and import pages: 用户 users, 导入 Excel import, 通知 notices.

Routes parse, authorise, call ``gis/`` and render ``layers/templates/workbench``; they run the
same functions as the JSON APIs (``/api/users``, ``/api/import/ledger``, ``/api/notices``).
Forms are posted by htmx with the session's CSRF token; a refused form comes back with the
reason beside the field (htmx swaps ``#main``), a done one redirects with what happened.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from gis.access import users
from gis.access.auth import ROLES, SCOPED_ROLES, AuthError, Principal
from gis.ledger.worklist import township_names
from layers.workbench import to_local
from server.deps import SessionDep, committing
from server.pages import page, shell
from server.security import principal_dep

router = APIRouter(tags=["workbench"], include_in_schema=False)
Admin = principal_dep("user:manage")


def _htmx(request: Request) -> bool:
    return bool(request.headers.get("hx-request"))


def _done(request: Request, target: str) -> Response:
    """After a form succeeded: htmx follows ``HX-Redirect``, other clients a 303."""
    if _htmx(request):
        return Response(status_code=200, headers={"HX-Redirect": target})
    return RedirectResponse(target, status_code=303)


def _refused(request: Request, template: str, context: dict[str, Any]) -> HTMLResponse:
    """The page again with the reasons beside the fields (htmx swaps it in; others get 422)."""
    return page(request, template, context, status_code=200 if _htmx(request) else 422)


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


USER_ACTIONS = ("role", "password", "disable", "token")


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
                    )
                elif action == "disable":
                    users.disable(session, name=name, actor=principal.name, version=version)
                else:
                    raw_token, token_record = users.new_token(
                        session, name=name, label=values["label"], days=days, actor=principal.name
                    )
        except AuthError as exc:
            errors[_user_error_field(exc)] = str(exc)
    if not errors and action != "token":
        done = {"disable": "disabled"}.get(action, action)
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
