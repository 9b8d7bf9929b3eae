"""Ledger in and out: upload an Excel ledger (整改台账); export it as xlsx, gpkg, geojson or csv."""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from starlette.datastructures import UploadFile

from gis.io.excel import run_ledger_import
from gis.io.exports import ExportFormat, export_ledger
from gis.vocab import Source
from server.deps import EngineDep, SessionDep, TodayDep
from server.routes.problems import ProblemFilters
from server.security import principal_dep

router = APIRouter(prefix="/api", tags=["ledger import/export"])
Importer = principal_dep("import:write")
Exporter = principal_dep("export:read")


async def _upload(request: Request) -> tuple[bytes, str]:
    """The uploaded workbook (multipart field ``file``) and its file name."""
    limit = request.app.state.settings.max_body_mb * 1_000_000
    form = await request.form(max_files=1, max_fields=10)
    part = form.get("file")
    if not isinstance(part, UploadFile):
        raise HTTPException(422, "upload the workbook as the multipart field 'file' / 请上传文件")
    data = await part.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, "the workbook is too large / 文件过大")
    return data, part.filename or "ledger.xlsx"


@router.post(
    "/import/ledger",
    summary="Import an Excel ledger (整改台账): every row reported; dry_run writes nothing",
)
async def import_ledger_upload(
    principal: Importer,
    request: Request,
    engine: EngineDep,
    dry_run: Annotated[bool, Query(description="check and report, write nothing")] = False,
    default_source: Annotated[
        Source | None, Query(description="问题来源 for rows that leave it empty")
    ] = None,
) -> dict:
    """Rows are imported, updated, unchanged, merged (under a merged 问题编号), skipped or
    rejected with the reason (by row)."""
    data, filename = await _upload(request)
    report = await run_in_threadpool(
        run_ledger_import,
        engine,
        data,
        actor=principal.name,
        filename=filename,
        dry_run=dry_run,
        default_source=default_source.value if default_source else None,
    )
    return report.as_dict()


@router.get(
    "/export/ledger",
    summary="Export the ledger (xlsx template, GeoPackage, GeoJSON, CSV) with the list filters",
    response_class=Response,
    responses={
        200: {
            "content": {
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
                "application/geopackage+sqlite3": {},
                "application/geo+json": {},
                "text/csv": {},
            }
        }
    },
)
def export_ledger_download(
    principal: Exporter,
    session: SessionDep,
    today: TodayDep,
    filters: ProblemFilters,
    fmt: Annotated[ExportFormat, Query(alias="format")] = ExportFormat.XLSX,
) -> Response:
    """The problems within the caller's townships that match the filters, as a download."""
    query = replace(filters, scope=principal.townships)
    export = export_ledger(session, query, fmt, today=today)
    chinese = f"整改台账-{today.isoformat()}.{fmt.value}"
    disposition = f"attachment; filename=\"{export.filename}\"; filename*=UTF-8''{quote(chinese)}"
    return Response(
        export.content,
        media_type=export.media_type,
        headers={"Content-Disposition": disposition},
    )
