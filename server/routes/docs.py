"""The API help, /docs (Swagger UI) and /redoc (ReDoc), from the app's own copies of both.

FastAPI's built-in pages load their scripts from a CDN, which an intranet cannot reach and the
app's CSP blocks; these pages reference only ``/static`` and start each viewer from a static file.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from layers.workbench import redoc_bundle, render
from server.security import Requires

router = APIRouter(tags=["docs"], include_in_schema=False)


def _page(request: Request, kind: str, title: str) -> HTMLResponse:
    html = render(
        "api_docs.html",
        kind=kind,
        title=title,
        openapi_url=request.app.openapi_url,
        csp_nonce=request.state.csp_nonce,
    )
    return HTMLResponse(html)


@router.get("/docs", response_class=HTMLResponse, dependencies=[Depends(Requires("public"))])
def swagger_page(request: Request) -> HTMLResponse:
    return _page(request, "swagger", "接口文档 API")


@router.get("/redoc", response_class=HTMLResponse, dependencies=[Depends(Requires("public"))])
def redoc_page(request: Request) -> HTMLResponse:
    return _page(request, "redoc", "接口参考 API reference")


@router.get("/docs/assets/redoc.standalone.js", dependencies=[Depends(Requires("public"))])
def redoc_script() -> Response:
    return Response(
        redoc_bundle(),
        media_type="text/javascript; charset=utf-8",
        headers={"Cache-Control": "public, max-age=86400"},
    )
