"""Sign-in and sign-out: the login page, session cookies, and who am I."""

from __future__ import annotations

from html import escape
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from gis.access import auth
from gis.access.auth import Principal
from server.deps import EngineDep, Session
from server.security import (
    CSRF_COOKIE,
    KIOSK_COOKIE,
    SESSION_COOKIE,
    SIGN_IN_LIMITER,
    Requires,
    html_page,
)

router = APIRouter(tags=["auth"])

LOGIN_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>登录 Sign in · Lookback</title><link rel="icon" href="/static/favicon.svg">
<link rel="stylesheet" href="/static/login.css"></head>
<body><main class="login">
<h1>Lookback 环保督察整改</h1>
<form method="post" action="/auth/login">
  <input type="hidden" name="next" value="{next}">
  <label>用户名 User name<input name="name" autocomplete="username" required autofocus></label>
  <label>密码 Password<input name="password" type="password" autocomplete="current-password"
    required></label>
  {error}
  <button type="submit">登录 Sign in</button>
</form>
<p class="kiosk-link"><a href="/kiosk">大屏使用只读令牌登录 ·
  A wall display signs in with a viewer token</a></p>
</main></body></html>"""

KIOSK_PAGE = """<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>大屏登录 Wall display sign-in · Lookback</title><link rel="icon" href="/static/favicon.svg">
<link rel="stylesheet" href="/static/login.css"></head>
<body><main class="login">
<h1>挂图作战大屏登录 Wall display sign-in</h1>
<p>无人值守的大屏使用只读账号的令牌登录，令牌有效期内无需重新登录；停用请由管理员吊销令牌。<br>
An unattended wall signs in with a viewer account's token and stays signed in while the token is
valid; an administrator ends it by revoking the token.</p>
<form method="post" action="/auth/kiosk">
  <input type="hidden" name="next" value="{next}">
  <label>只读令牌 Viewer token<input name="token" type="password" autocomplete="off" required
    autofocus></label>
  {error}
  <button type="submit">登录大屏 Sign the wall in</button>
</form></main></body></html>"""
KIOSK_MAX_AGE = 400 * 86400  # browsers cap cookies at 400 days; the token's own expiry rules


# Per-address attempt window on top of the per-account lockout in gis.access.auth (shared with
# HTTP Basic sign-ins, see server.security).
def _rate_limited(ip: str) -> bool:
    return SIGN_IN_LIMITER.hit(ip)


def _safe_next(target: str | None) -> str:
    """Only same-site paths: never redirect to another host after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    parts = urlsplit(target)
    return parts.path + (f"?{parts.query}" if parts.query else "")


class LoginBody(BaseModel):
    name: str
    password: str


def _set_cookies(response: Response, request: Request, raw: str, csrf: str) -> None:
    secure = bool(request.app.state.settings.tls)  # LOOKBACK_TLS, not the scheme a proxy saw
    response.set_cookie(SESSION_COOKIE, raw, httponly=True, samesite="lax", secure=secure, path="/")
    response.set_cookie(CSRF_COOKIE, csrf, httponly=False, samesite="lax", secure=secure, path="/")


def _page(request: Request, next_url: str, error: str = "", status: int = 200) -> HTMLResponse:
    body = LOGIN_PAGE.format(
        next=escape(next_url),
        error=f'<p class="error" role="alert">{escape(error)}</p>' if error else "",
    )
    return html_page(request, body, status_code=status)


@router.get(
    "/login",
    response_class=HTMLResponse,
    summary="Sign-in page",
    dependencies=[Depends(Requires("public"))],
)
def login_page(request: Request, next: str = "/") -> HTMLResponse:  # noqa: A002
    return _page(request, _safe_next(next))


@router.post(
    "/auth/login",
    summary="Sign in (form or JSON); starts a new session",
    dependencies=[Depends(Requires("public"))],
)
async def login(request: Request, engine: EngineDep) -> Response:
    ip = request.client.host if request.client else ""
    is_form = "form" in request.headers.get("content-type", "")
    if is_form:
        form = await request.form()
        name, password = str(form.get("name", "")), str(form.get("password", ""))
        next_url = _safe_next(str(form.get("next", "/")))
    else:
        try:
            body = LoginBody.model_validate(await request.json())
        except ValueError as exc:
            raise HTTPException(422, "send name and password") from exc
        name, password, next_url = body.name, body.password, "/"
    if _rate_limited(ip):
        with Session(engine) as s, s.begin():
            auth.audit(s, actor=name, action="login_rate_limited", ip=ip)
        message = "尝试过于频繁，请稍后再试 too many attempts; wait a minute"
        if is_form:
            return _page(request, next_url, message, status=429)
        raise HTTPException(429, message)
    try:
        with Session(engine) as s, s.begin():
            user = auth.verify_password(s, name=name, password=password, ip=ip)
            # A fresh session id at every sign-in (no fixation).
            old = request.cookies.get(SESSION_COOKIE)
            if old:
                auth.end_session(s, old)
            raw, csrf = auth.start_session(s, user, ip=ip)
            role = user.role
    except auth.AuthError as exc:
        if is_form:
            return _page(request, next_url, str(exc), status=401)
        raise HTTPException(401, str(exc)) from exc
    response: Response
    if is_form:
        response = RedirectResponse(next_url, status_code=303)
    else:
        response = JSONResponse({"name": name, "role": role, "csrf_token": csrf})
    _set_cookies(response, request, raw, csrf)
    return response


def _kiosk_page(
    request: Request, next_url: str, error: str = "", status: int = 200
) -> HTMLResponse:
    body = KIOSK_PAGE.format(
        next=escape(next_url),
        error=f'<p class="error" role="alert">{escape(error)}</p>' if error else "",
    )
    return html_page(request, body, status_code=status)


@router.get(
    "/kiosk",
    response_class=HTMLResponse,
    summary="Sign a wall display in with a viewer token",
    dependencies=[Depends(Requires("public"))],
)
def kiosk_page(request: Request, next: str = "/wall") -> HTMLResponse:  # noqa: A002
    return _kiosk_page(request, _safe_next(next))


@router.post(
    "/auth/kiosk",
    summary="Keep a viewer token in the wall display's cookie (read-only requests only)",
    dependencies=[Depends(Requires("public"))],
)
async def kiosk_sign_in(request: Request, engine: EngineDep) -> Response:
    ip = request.client.host if request.client else ""
    form = await request.form()
    raw = str(form.get("token", "")).strip()
    next_url = _safe_next(str(form.get("next", "/wall")))
    if not raw:
        return _kiosk_page(request, next_url, "请填写令牌 enter the token", status=422)
    if _rate_limited(ip):
        message = "尝试过于频繁，请稍后再试 too many attempts; wait a minute"
        return _kiosk_page(request, next_url, message, status=429)
    with Session(engine) as s, s.begin():
        principal = auth.kiosk_principal(s, raw)
        if principal is None:
            auth.audit(s, actor="kiosk", action="kiosk_refused", ip=ip)
        else:
            auth.audit(s, actor=principal.name, action="kiosk_signed_in", ip=ip)
    if principal is None:
        message = (
            "令牌无效、已过期，或不属于只读账号 the token is invalid, expired, or not a"
            " viewer account's"
        )
        return _kiosk_page(request, next_url, message, status=401)
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        KIOSK_COOKIE, raw, max_age=KIOSK_MAX_AGE, httponly=True, samesite="strict",
        secure=bool(request.app.state.settings.tls), path="/",
    )
    return response


@router.post("/auth/logout", summary="End the session")
def logout(
    request: Request, engine: EngineDep, _: Annotated[Principal, Depends(Requires("read"))]
) -> Response:
    raw = request.cookies.get(SESSION_COOKIE)
    if raw:
        with Session(engine) as s, s.begin():
            auth.end_session(s, raw)
    response: Response = JSONResponse({"signed_out": True})
    if request.headers.get("hx-request"):  # the workbench's sign-out button
        response.headers["HX-Redirect"] = "/login"
    elif "text/html" in request.headers.get("accept", ""):  # the same button without JavaScript
        response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    response.delete_cookie(KIOSK_COOKIE, path="/")
    return response


@router.get("/auth/me", summary="Who is signed in")
def me(principal: Annotated[Principal, Depends(Requires("read"))]) -> dict:
    return {
        "name": principal.name,
        "role": principal.role,
        "townships": list(principal.townships) if principal.townships else None,
    }
