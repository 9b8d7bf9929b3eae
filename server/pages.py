"""What every workbench page shares: the shell (who, menu, language, CSRF) and HTML responses.

The menu lists only what exists and what the role may open (``gis.access.permissions``). The
language is ``zh`` unless the ``lookback_lang`` cookie says ``en``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from sqlalchemy.orm import Session

from gis.access.auth import Principal
from gis.access.permissions import allowed
from gis.config import get_settings
from gis.ledger.worklist import township_names
from layers.assets import LOCAL_ASSETS, VENDOR_URL
from layers.workbench import LANGS, render
from server.security import CSRF_COOKIE

LANG_COOKIE = "lookback_lang"


@dataclass(frozen=True)
class MenuItem:
    key: str
    zh: str
    en: str
    href: str


def lang_of(request: Request) -> str:
    value = request.cookies.get(LANG_COOKIE, "zh")
    return value if value in LANGS else "zh"


def menu_for(principal: Principal) -> list[MenuItem]:
    """The menu of a role: the pages that exist and that it may open, in the offices' order."""
    if principal.townships is None:
        reports = "/reports/bulletin/daily.html"
    else:
        reports = f"/reports/township/{principal.townships[0]}.html" if principal.townships else ""
    items = [
        ("home", "工作台", "Home", "/", "read"),
        ("ledger", "台账", "Ledger", "/ledger", "read"),
        ("map", "地图", "Map", "/map", "read"),
        ("wall", "挂图作战", "Wall", "/wall", "read"),
        ("field", "巡查", "Field app", "/field", "inspection:submit"),
        ("lookbacks", "回头看", "Look-backs", "/lookbacks", "read"),
        ("rebounds", "疑似反弹", "Suspected rebounds", "/rebounds", "read"),
        ("complaints", "信访", "Complaints", "/complaints", "read"),
        ("campaigns", "督察进驻", "Campaigns", "/campaigns", "read"),
        ("reports", "报告", "Reports", reports, "read"),
        ("assessment", "考核", "Assessment", "/assessment", "read"),
        ("notices", "通知", "Notices", "/notices", "read"),
        ("import", "导入导出", "Import/Export", "/import", "import:write"),
        ("users", "用户", "Users", "/admin/users", "user:manage"),
        ("docs", "接口", "API", "/docs", "read"),
    ]
    return [
        MenuItem(key, zh, en, href)
        for key, zh, en, href, permission in items
        if href and allowed(permission, principal.role)
    ]


def shell(
    request: Request, principal: Principal | None, session: Session | None, active: str = ""
) -> dict[str, Any]:
    """The context every workbench template needs."""
    names: dict[str, str] = {}
    if principal is not None and principal.townships:
        if session is None:
            with Session(request.app.state.engine) as own:
                names = township_names(own)
        else:
            names = township_names(session)
    here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return {
        "csp_nonce": getattr(request.state, "csp_nonce", ""),
        "lang": lang_of(request),
        "user": principal,
        "user_townships": [names.get(c, c) for c in principal.townships]
        if principal is not None and principal.townships
        else [],
        "menu": menu_for(principal) if principal is not None else [],
        "active": active,
        "csrf": request.cookies.get(CSRF_COOKIE, ""),
        "here": here,
        "flash": "",
    }


def page(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """A rendered workbench page; its scripts carry the nonce the template put on them."""
    return HTMLResponse(render(template, **context), status_code=status_code, headers=headers)


def wants_html(request: Request) -> bool:
    """A browser asking for a page (not the JSON API, not OGC)."""
    path = request.url.path
    if path.startswith(("/api/", "/ogc")) or path == "/api":
        return False
    return "text/html" in request.headers.get("accept", "")


ERRORS = {
    403: (
        "无权访问",
        "Not allowed",
        "您没有查看此页面的权限，或它不在您负责的乡镇范围内。",
        "You may not open this page, or it is outside your townships.",
    ),
    404: ("页面不存在", "Not found", "找不到这个页面或问题。", "There is no such page or problem."),
    503: (
        "服务暂时不可用",
        "Service unavailable",
        "数据库暂时不可用，请稍后刷新页面。",
        "The database is unavailable; reload the page shortly.",
    ),
    500: (
        "系统出错",
        "Something went wrong",
        "服务器处理请求时出错，请稍后重试或联系管理员。",
        "The server failed on this request; retry shortly or tell the administrator.",
    ),
}


def error_page(
    request: Request, status: int, detail: str = "", headers: dict[str, str] | None = None
) -> HTMLResponse:
    """The friendly HTML page of an HTTP error, in the page's language."""
    principal = getattr(request.state, "principal", None)
    if principal == "unset":
        principal = None
    try:
        context = shell(request, principal, None)
    except Exception:  # noqa: BLE001 - an error page must render even when the database is down
        context = shell(request, None, None)
    lang = context["lang"]
    zh, en, msg_zh, msg_en = ERRORS.get(status, ERRORS[500] if status >= 500 else ERRORS[404])
    context.update(
        status=status,
        title=zh if lang == "zh" else en,
        heading=f"{zh} {en}" if lang == "zh" else en,
        message=msg_zh if lang == "zh" else msg_en,
        detail=detail if status < 500 else "",
    )
    return page(request, "error.html", context, status_code=status, headers=headers)


def minimap_assets() -> dict[str, str]:
    """What a page with small maps needs: Leaflet from ``static/node_modules`` and the basemap.

    Only a WGS-84 basemap is drawn (the small maps place the stored coordinates as they are);
    none by default, so the maps ask for nothing beyond this server.
    """
    settings = get_settings()
    return {
        "tile_url": settings.tile_url or "" if settings.tile_crs == "wgs84" else "",
        "leaflet_js": f"{VENDOR_URL}/{LOCAL_ASSETS['leaflet']}",
        "leaflet_css": f"{VENDOR_URL}/{LOCAL_ASSETS['leaflet_css']}",
    }
