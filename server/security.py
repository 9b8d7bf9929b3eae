"""Authentication and authorisation at the edge: bearer tokens, session cookies, CSRF, headers.

Every route declares one permission with :class:`Requires` (see :mod:`gis.access.permissions`). The
dependency resolves the caller (``Authorization: Bearer`` or the ``lookback_session`` cookie),
refuses anonymous callers with 401 (browsers asking for HTML are sent to ``/login``) and callers
without the permission with 403, before the request body is even read.

A request signed in by the session cookie that changes something must carry the session's CSRF
token: in the ``X-CSRF-Token`` header (htmx, scripts) or, for a form posted without JavaScript,
in the form's ``csrf_token`` field. The field is read only when the header is absent, only
after the caller was found to hold the permission, and from the body Starlette keeps
(``request.body()``), so the route still reads its form from the same bytes with its own limits.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import unquote_plus

from fastapi import Depends, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gis.access import auth
from gis.access.auth import Principal
from gis.access.permissions import POLICY, allowed
from layers.workbench import CSRF_FIELD

SESSION_COOKIE = "lookback_session"
KIOSK_COOKIE = "lookback_kiosk"  # a wall display's viewer token (read-only requests only)
CSRF_COOKIE = "lookback_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_REFUSED = "CSRF 校验失败 missing or wrong CSRF token"
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
CSRF_TOKEN_MAX = 256  # longer than any token the sign-in issues


def csrf_matches(sent: str, expected: str) -> bool:
    """The token sent (header or form field) is the session's: a constant-time compare."""
    return bool(sent) and bool(expected) and secrets.compare_digest(
        sent.encode("utf-8", "replace"), expected.encode("utf-8")
    )


def _form_type(request: Request) -> str:
    kind = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    return kind if kind in FORM_TYPES else ""


class CsrfInForm(HTTPException):
    """A session's unsafe request with no CSRF header but a form body that may hold the token.

    Raised by the resolution (a plain 403 to anyone else who resolves the caller);
    :class:`Requires` catches it, checks the permission, then reads the form's field.
    """

    def __init__(self, principal: Principal, csrf: str) -> None:
        super().__init__(403, CSRF_REFUSED)
        self.principal, self.csrf = principal, csrf


def _urlencoded_field(body: bytes, name: str) -> str:
    for pair in body.split(b"&"):
        key, _, value = pair.partition(b"=")
        if unquote_plus(key.decode("latin-1")) == name:
            return unquote_plus(value[: CSRF_TOKEN_MAX * 3].decode("latin-1"))
    return ""


class _Part:
    """What the multipart scan knows of the part it is in."""

    def __init__(self) -> None:
        self.header, self.value, self.data, self.wanted = b"", b"", b"", False


def _multipart_field(body: bytes, content_type: str, name: str) -> str:
    """The value of the first non-file part called ``name`` of a multipart body ('' if none)."""
    from python_multipart.multipart import MultipartParser, parse_options_header

    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    if not boundary:
        return ""
    part = _Part()
    found: list[bytes] = []

    def on_part_begin() -> None:
        part.__init__()  # type: ignore[misc]

    def on_header_field(data: bytes, start: int, end: int) -> None:
        part.header += data[start:end]

    def on_header_value(data: bytes, start: int, end: int) -> None:
        part.value += data[start:end]

    def on_header_end() -> None:
        if part.header.lower() == b"content-disposition":
            _, params = parse_options_header(part.value)
            part.wanted = params.get(b"name") == name.encode() and b"filename" not in params
        part.header, part.value = b"", b""

    def on_part_data(data: bytes, start: int, end: int) -> None:
        if part.wanted:
            part.data = (part.data + data[start:end])[:CSRF_TOKEN_MAX]

    def on_part_end() -> None:
        if part.wanted and not found:
            found.append(part.data)

    parser = MultipartParser(
        boundary,
        {
            "on_part_begin": on_part_begin, "on_header_field": on_header_field,
            "on_header_value": on_header_value, "on_header_end": on_header_end,
            "on_part_data": on_part_data, "on_part_end": on_part_end,
        },
    )
    try:
        parser.write(body)
        parser.finalize()
    except Exception:  # a malformed body: no token; the route reports the body itself
        pass
    return found[0].decode("utf-8", "replace") if found else ""


async def form_csrf_token(request: Request) -> str:
    """The ``csrf_token`` field of a form body, read without consuming it for the route."""
    kind = _form_type(request)
    if not kind:
        return ""
    try:
        body = await request.body()  # kept by Starlette: request.form() parses the same bytes
    except RuntimeError:  # the body was consumed already (a form parsed before): no token here
        return ""
    if kind == FORM_TYPES[0]:
        return _urlencoded_field(body, CSRF_FIELD)
    return _multipart_field(body, request.headers.get("content-type", ""), CSRF_FIELD)


class LoginRedirect(Exception):
    """An anonymous browser asked for a page: send it to the login form."""

    def __init__(self, next_url: str) -> None:
        super().__init__(next_url)
        self.next_url = next_url


# Desktop GIS clients (QGIS, ArcGIS Pro, GDAL) sign in with HTTP Basic on the read-only paths.
BASIC_PATHS = ("/ogc/", "/api/export/")
BASIC_CHALLENGE = 'Basic realm="Lookback", charset="UTF-8"'
BASIC_CACHE_S = 60.0
BASIC_CACHE_SIZE = 1024


class AttemptLimiter:
    """At most ``limit`` attempts per key in a sliding ``window_s``; forgets keys gone quiet."""

    def __init__(self, limit: int, window_s: float = 60.0, max_keys: int = 10_000) -> None:
        self.limit, self.window_s, self.max_keys = limit, window_s, max_keys
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float | None = None) -> bool:
        """Record an attempt; True when ``key`` is over the limit."""
        now = time.monotonic() if now is None else now
        with self._lock:
            if len(self._hits) >= self.max_keys:
                self._sweep(now)
            window = self._hits.setdefault(key, deque())
            while window and now - window[0] > self.window_s:
                window.popleft()
            window.append(now)
            return len(window) > self.limit

    def _sweep(self, now: float) -> None:
        for key in [k for k, w in self._hits.items() if not w or now - w[-1] > self.window_s]:
            del self._hits[key]
        while len(self._hits) >= self.max_keys:  # still full of live keys: drop the oldest
            del self._hits[next(iter(self._hits))]

    def __len__(self) -> int:
        return len(self._hits)


SIGN_IN_LIMITER = AttemptLimiter(limit=10)
_basic_cache: dict[str, tuple[float, str]] = {}
_basic_lock = threading.Lock()


def _basic_path(path: str) -> bool:
    return path == "/ogc" or path.startswith(BASIC_PATHS)


def _basic_pair(header: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
    except (ValueError, UnicodeDecodeError):
        raise _basic_refused("HTTP Basic 凭据格式错误 malformed Basic credentials") from None
    name, sep, password = decoded.partition(":")
    if not sep:
        raise _basic_refused("HTTP Basic 凭据格式错误 malformed Basic credentials")
    return name, password


def _basic_refused(detail: str = auth.SIGN_IN_REFUSED) -> HTTPException:
    return HTTPException(401, detail, headers={"WWW-Authenticate": BASIC_CHALLENGE})


def _basic_principal(session: Session, request: Request, header: str) -> Principal:
    """The user of HTTP Basic credentials: a name and password, or a token as the password.

    Wrong passwords count against the account exactly like the sign-in form (same lockout). A
    right name and password is remembered for a minute, keyed by a hash of both and bound to
    the stored password hash, so a client paging through a layer is not slowed by argon2.
    """
    if request.method not in SAFE_METHODS or not _basic_path(request.url.path):
        raise HTTPException(
            401,
            "HTTP Basic 仅用于 /ogc 与导出 HTTP Basic is accepted on /ogc and the exports only",
            headers={"WWW-Authenticate": "Bearer"},
        )
    name, password = _basic_pair(header)
    token_principal = auth.principal_for_token(session, password) if password else None
    if token_principal is not None and name in ("", token_principal.name):
        return token_principal
    ip = request.client.host if request.client else ""
    key = hashlib.sha256(f"{name}\0{password}".encode()).hexdigest()
    now = time.monotonic()
    with _basic_lock:
        cached = _basic_cache.get(key)
    if cached and cached[0] > now:
        user = auth.user_named(session, name)
        locked = user is not None and user.locked_until and user.locked_until > datetime.now(UTC)
        if (
            user is not None
            and not user.disabled
            and not locked
            and user.password_hash == cached[1]
        ):
            return auth.principal_of(user)
    if SIGN_IN_LIMITER.hit(ip):
        raise HTTPException(429, "尝试过于频繁，请稍后再试 too many attempts; wait a minute")
    try:
        user = auth.verify_password(session, name=name, password=password, ip=ip)
    except auth.AuthError:
        raise _basic_refused() from None
    with _basic_lock:
        if len(_basic_cache) >= BASIC_CACHE_SIZE:
            _basic_cache.clear()
        _basic_cache[key] = (now + BASIC_CACHE_S, user.password_hash or "")
    return auth.principal_of(user)


@contextmanager
def _transaction(engine: Engine) -> Iterator[Session]:
    with Session(engine) as session, session.begin():
        yield session


def _resolve(request: Request) -> Principal | None:
    cached = getattr(request.state, "principal", "unset")
    if cached != "unset":
        return cached  # type: ignore[return-value]
    engine = request.app.state.engine
    principal: Principal | None = None
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        # The token cache (gis.access.auth.TOKEN_CACHE_S): no session at all on a hit.
        principal = auth.cached_principal_for_token(
            lambda: _transaction(engine), header[7:].strip()
        )
        if principal is None:
            raise HTTPException(
                401,
                "令牌无效或已过期 invalid or expired token",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        request.state.principal = principal
        return principal
    pending: CsrfInForm | None = None
    with Session(engine) as session, session.begin():
        if header.lower().startswith("basic "):
            principal = _basic_principal(session, request, header)
        elif raw := request.cookies.get(SESSION_COOKIE):
            found = auth.session_principal(session, raw)
            if found is not None:
                principal, csrf = found
                if request.method not in SAFE_METHODS:
                    sent = request.headers.get(CSRF_HEADER, "")
                    if not sent and _form_type(request):
                        pending = CsrfInForm(principal, csrf)  # the token may be in the form
                    elif not csrf_matches(sent, csrf):
                        raise HTTPException(403, CSRF_REFUSED)
        if principal is None and request.method in SAFE_METHODS:
            if kiosk := request.cookies.get(KIOSK_COOKIE):
                principal = auth.kiosk_principal(session, kiosk)
    if pending is not None:
        raise pending  # not remembered as the caller until the form's token is checked
    request.state.principal = principal
    return principal


def _cached(request: Request) -> Principal | None:
    """The caller when known without a database query: resolved already, or a cached token."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        principal = auth.peek_token(header[7:].strip())
        if principal is not None:
            request.state.principal = principal
        return principal
    return None


def current_principal(request: Request) -> Principal | None:
    """The caller of ``request`` (bearer token, Basic where accepted, or session), or None."""
    return _resolve(request)


class Requires:
    """Dependency: the caller must be signed in and hold ``permission``."""

    def __init__(self, permission: str) -> None:
        if permission not in POLICY:
            raise KeyError(f"unknown permission {permission!r}")
        self.permission = permission

    async def __call__(self, request: Request) -> Principal:
        if self.permission == "public":
            return None  # type: ignore[return-value]  # public routes never touch credentials
        principal = _cached(request)
        if principal is None:  # not known without the database: resolve it in a worker thread
            try:
                principal = await run_in_threadpool(_resolve, request)
            except CsrfInForm as pending:
                # a form posted without JavaScript: its permission first, then its token field
                self.check(request, pending.principal)
                if not csrf_matches(await form_csrf_token(request), pending.csrf):
                    raise HTTPException(403, CSRF_REFUSED) from None
                request.state.principal = principal = pending.principal
        return self.check(request, principal)

    def check(self, request: Request, principal: Principal | None) -> Principal:
        """The principal when it holds the permission; else the 401, 403 or login redirect."""
        if principal is None:
            if "text/html" in request.headers.get("accept", ""):
                raise LoginRedirect(
                    str(request.url.path) + (f"?{request.url.query}" if request.url.query else "")
                )
            challenge = "Bearer"
            if _basic_path(request.url.path):
                challenge = f"Bearer, {BASIC_CHALLENGE}"
            raise HTTPException(
                401, "请先登录 sign in first", headers={"WWW-Authenticate": challenge}
            )
        if not allowed(self.permission, principal.role):
            raise HTTPException(
                403,
                f"角色 {principal.role} 无权限 the {principal.role} role may "
                f"not do this ({self.permission})",
            )
        return principal


def principal_dep(permission: str):  # type: ignore[no-untyped-def]
    """``Annotated[Principal, Depends(Requires(permission))]`` for a route parameter."""
    return Annotated[Principal, Depends(Requires(permission))]


Reader = principal_dep("read")


def forbid_out_of_scope(principal: Principal, township_code: str | None) -> None:
    """403 when the row's township is outside the caller's scope (existence not revealed)."""
    if not principal.can_see(township_code):
        raise HTTPException(403, "不在您负责的乡镇范围内 not within your townships")


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Permissions-Policy": "geolocation=(self), camera=(self), microphone=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def content_security_policy(tile_origin: str | None) -> str:
    """CSP template: the app's own scripts and the page's nonce only; tiles from their origin."""
    img = "'self' data: blob:" + (f" {tile_origin}" if tile_origin else "")
    return (
        "default-src 'self'; script-src 'self' 'nonce-{nonce}'; "
        "style-src 'self' 'unsafe-inline'; "
        f"img-src {img}; connect-src 'self'; font-src 'self' data:; object-src 'none'; "
        "base-uri 'self'; form-action 'self'; frame-ancestors 'none'; worker-src 'self'; "
        "manifest-src 'self'"
    )


def html_page(request: Request, html: str, status_code: int = 200):  # type: ignore[no-untyped-def]
    """An HTML response for a page rendered with this response's nonce.

    The page is sent as rendered: its own scripts carry ``request.state.csp_nonce`` because the
    template or renderer wrote it in (``nonce="{{ csp_nonce }}"``, see
    :func:`layers.county_map.render_page`);
    nothing adds the nonce afterwards, so a script tag that came in with data is refused by the CSP.
    """
    from fastapi.responses import HTMLResponse

    return HTMLResponse(html, status_code=status_code)


def _too_large_detail(limit: int) -> str:
    return f"请求过大 request body over {limit / 1_000_000:g} MB"


class BodyTooLarge(HTTPException):
    """The request body passed the limit while it was being received."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, _too_large_detail(limit))


class BodyLimitMiddleware:
    """Cap request bodies on the bytes actually received, whatever ``Content-Length`` says.

    A declared length over the limit is refused before anything is read; otherwise ``receive``
    is wrapped and counts every chunk (chunked bodies and each multipart part included, since
    they all arrive through it), raising :class:`BodyTooLarge` (413) as soon as the count passes
    the limit, so no more than the limit is ever buffered or spooled.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_body_bytes
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > limit:
                await JSONResponse(status_code=413, content={"detail": _too_large_detail(limit)})(
                    scope, receive, send
                )
                return
        received = 0
        exceeded = False
        started = False

        async def counted_receive() -> Message:
            nonlocal received, exceeded
            if exceeded:
                raise BodyTooLarge(limit)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    exceeded = True
                    raise BodyTooLarge(limit)
            return message

        async def watched_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                return  # whatever the app made of the cut-off body, the answer is 413
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, watched_send)
        except Exception:
            if not exceeded or started:
                raise
        if exceeded and not started:
            await JSONResponse(status_code=413, content={"detail": _too_large_detail(limit)})(
                scope, receive, send
            )


class SecurityMiddleware:
    """Security headers on every response (the body cap is :class:`BodyLimitMiddleware`).

    Pure ASGI: it sets ``request.state.csp_nonce`` in the scope's state before the app runs and
    adds the headers (those the app did not set itself) to the response's start message, with no
    extra task or body streaming per request.
    """

    def __init__(self, app: ASGIApp, *, max_body_bytes: int, csp: str, tls: bool) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.csp = csp
        self.tls = tls
        fixed = dict(SECURITY_HEADERS)
        if tls:
            fixed["Strict-Transport-Security"] = "max-age=31536000"
        self._fixed = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in fixed.items()]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        csp = self.csp.replace("{nonce}", nonce).encode("latin-1")
        fixed = self._fixed

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(pair for pair in fixed if pair[0] not in present)
                if b"content-security-policy" not in present:
                    headers.append((b"content-security-policy", csp))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
