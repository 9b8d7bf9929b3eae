"""Evidence documents of a problem (证据材料): upload, list, and the file itself.

The caller is authorised and scope-checked before the body is read; the multipart form is parsed
here (not by FastAPI before the dependencies run), capped at the evidence limit, which never
exceeds what the body limit middleware lets through.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, Response
from starlette.datastructures import UploadFile

from gis.access.auth import Principal
from gis.ledger import evidence as docs
from gis.ledger.worklist import problem_township
from gis.ledger.writes import NotFound
from server.deps import DbSession, SessionDep, SettingsDep, committing
from server.security import Reader, forbid_out_of_scope, principal_dep

router = APIRouter(prefix="/api", tags=["evidence"])
Uploader = principal_dep("problem:update")
FORM_OVERHEAD = 64 * 1024  # multipart boundaries, part headers, kind and note
FILE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; sandbox",
    "Cache-Control": "private, max-age=3600",
}


def evidence_limit(app: FastAPI) -> int:
    """Largest evidence file accepted: the setting, within the body limit of the app."""
    settings = getattr(app.state, "evidence_settings", None)
    if settings is None:
        settings = docs.EvidenceSettings()
        app.state.evidence_settings = settings
    body_limit = app.state.settings.max_body_mb * 1_000_000 - FORM_OVERHEAD
    return min(settings.max_bytes, body_limit)


def visible_problem(session: DbSession, code: str, principal: Principal) -> None:
    """403 outside the caller's townships (unknown codes look alike to them); 404 if unknown."""
    exists, town = problem_township(session, code)
    if principal.townships is not None:
        forbid_out_of_scope(principal, town)
    if not exists:
        raise NotFound(f"没有编号为 {code} 的问题 no problem with code {code!r}")


def too_large(limit: int) -> docs.EvidenceTooLarge:
    return docs.EvidenceTooLarge(
        f"上传内容超过上限 {limit:,} 字节（{limit // 1_000_000} MB）",
        f"the upload is over the limit of {limit:,} bytes ({limit // 1_000_000} MB)",
    )


async def read_evidence_form(
    request: Request, limit: int, *, refuse_declared: bool = True
) -> dict[str, Any]:
    """The multipart form's ``file`` (bytes and name), ``kind``, ``note`` and ``version``.

    A declared length over the limit is refused before reading (``refuse_declared``); the page
    reads such a body anyway (the middleware caps it) so that the browser gets its answer.
    """
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise HTTPException(
            415, "请用 multipart/form-data 上传（file、kind、note） send multipart/form-data"
        )
    declared = request.headers.get("content-length")
    over = declared and declared.isdigit() and int(declared) > limit + FORM_OVERHEAD
    if over and refuse_declared:
        raise too_large(limit)
    form = await request.form(max_files=1, max_fields=10)
    try:
        part = form.get("file")
        data, name = b"", ""
        if isinstance(part, UploadFile):
            data = await part.read(limit + 1)
            name = part.filename or ""
        return {
            "data": data,
            "filename": name,
            "kind": str(form.get("kind") or "").strip(),
            "note": str(form.get("note") or ""),
            "version": str(form.get("version") or ""),
            "has_file": isinstance(part, UploadFile),
        }
    finally:
        await form.close()


def store_upload(
    session: DbSession,
    app: FastAPI,
    code: str,
    principal: Principal,
    upload: dict[str, Any],
    limit: int,
) -> tuple[dict[str, Any], bool]:
    """Check and store the upload in one transaction; the document and whether it is new."""
    with committing(session):
        result = docs.add_evidence(
            session,
            code,
            upload["data"],
            filename=upload["filename"],
            kind=upload["kind"],
            note=upload["note"],
            actor=principal.name,
            uploader_id=principal.user_id,
            attachments_dir=app.state.settings.attachments_dir,
            max_bytes=limit,
        )
    return docs.evidence_dict(result.attachment, code), result.created


@router.post(
    "/problems/{code}/evidence",
    status_code=201,
    summary="Upload an evidence document (multipart: file, kind, note); the same file answers 200",
    responses={
        200: {"description": "this file was already uploaded to the problem: the stored record"},
        413: {"description": "the file is over the size limit"},
        415: {"description": "not a PDF, JPEG/PNG/WebP image or Word/Excel file by its content"},
    },
    openapi_extra={
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "required": ["file", "kind"],
                        "properties": {
                            "file": {"type": "string", "format": "binary"},
                            "kind": {"type": "string", "enum": list(docs.KINDS)},
                            "note": {"type": "string", "maxLength": 500},
                        },
                    }
                }
            },
            "required": True,
        }
    },
)
async def evidence_upload(
    request: Request, code: str, principal: Uploader, session: SessionDep
) -> JSONResponse:
    await run_in_threadpool(visible_problem, session, code, principal)
    limit = evidence_limit(request.app)
    upload = await read_evidence_form(request, limit)
    if not upload["has_file"]:
        raise docs.EvidenceRefused("请选择要上传的文件", "choose a file to upload (`file`)")
    body, created = await run_in_threadpool(
        store_upload, session, request.app, code, principal, upload, limit
    )
    return JSONResponse(body, status_code=201 if created else 200)


@router.get("/problems/{code}/evidence", summary="A problem's evidence documents, by kind")
def evidence_list(
    request: Request, code: str, principal: Reader, session: SessionDep
) -> dict[str, Any]:
    visible_problem(session, code, principal)
    return {
        "problem_code": code,
        "max_bytes": evidence_limit(request.app),
        "kinds": [{"kind": k, "zh": zh, "en": en} for k, (zh, en) in docs.KIND_LABELS.items()],
        "items": docs.list_evidence(session, code),
    }


@router.get(
    "/problems/{code}/evidence/{attachment_id}/file",
    response_class=FileResponse,
    summary="The file of an evidence document (images inline, other documents as a download)",
)
def evidence_file(
    code: str,
    attachment_id: int,
    principal: Reader,
    session: SessionDep,
    settings: SettingsDep,
) -> Response:
    visible_problem(session, code, principal)
    found = docs.evidence_file(session, code, attachment_id, settings.attachments_dir)
    if found is None:
        raise NotFound(f"问题 {code} 没有附件 {attachment_id} no attachment {attachment_id}")
    attachment, path = found
    if not path.is_file():
        raise NotFound(f"附件 {attachment_id} 的文件缺失 the file of {attachment_id} is missing")
    inline = attachment.media_type.startswith("image/")
    disposition = (
        f"{'inline' if inline else 'attachment'}; filename*=UTF-8''{quote(attachment.filename)}"
    )
    return FileResponse(
        path,
        media_type=attachment.media_type,
        headers={**FILE_HEADERS, "Content-Disposition": disposition},
    )
