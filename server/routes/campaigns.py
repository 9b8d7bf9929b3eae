"""Inspection campaigns: transferred-case batches, handling, daily dispatch, disclosure,
assessment and summons on record. Routes parse, authorise and call ``gis.campaigns``."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile

from gis.campaigns import accountability, assessment, cases, disclosure, dispatch
from gis.campaigns.transfers import run_transfer_import
from layers.campaign_render import (
    render_assessment_html,
    render_assessment_pdf,
    render_daily_html,
    render_daily_pdf,
    render_disclosure_html,
    render_disclosure_pdf,
)
from server.deps import EngineDep, SessionDep, TodayDep, committing
from server.security import Reader, forbid_out_of_scope, principal_dep

router = APIRouter(prefix="/api/campaigns", tags=["campaigns"])
# assessment and summons on record are not tied to one campaign
assessment_router = APIRouter(prefix="/api", tags=["assessment"])
Manager = principal_dep("campaign:manage")
Handler = principal_dep("campaign:handle")
Dispatcher = principal_dep("dispatch:report")
Exporter = principal_dep("export:read")
RecordWriter = principal_dep("accountability:write")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class CampaignCreate(BaseModel):
    name: str = Field(min_length=1, max_length=200, examples=["第三轮中央生态环境保护督察"])
    level: Literal["central", "provincial", "municipal"]
    stationed_from: date
    stationed_to: date
    reply_days: int = Field(7, ge=1, le=90)
    reply_day_kind: Literal["calendar", "working"] = "calendar"


class CaseCreate(BaseModel):
    code: str = Field(min_length=1, max_length=100, description="受理编号")
    batch: int = Field(ge=1, description="第N批")
    text: str = Field(min_length=1, description="反映内容")
    township_code: str | None = Field(None, pattern=r"^[0-9]{12}$")
    received_on: date
    pollution_type: str = ""


class CaseHandling(BaseModel):
    checked_on: date | None = None
    check_note: str | None = None
    finding: Literal["true", "partly_true", "untrue", "属实", "部分属实", "不属实"] | None = None
    measures: str | None = None
    responsible_unit: str | None = None
    responsible_person: str | None = None
    orders: int | None = Field(None, ge=0, description="责令整改")
    penalties: int | None = Field(None, ge=0, description="立案处罚")
    summonses: int | None = Field(None, ge=0, description="约谈")
    accountabilities: int | None = Field(None, ge=0, description="问责")
    result: str | None = None


class CaseReply(BaseModel):
    reply_text: str = Field(min_length=1)


def _case(session, campaign, code: str, today: date) -> dict:  # type: ignore[no-untyped-def]
    return cases.case_record(session, campaign, code, today)


@router.post("", status_code=201, summary="Register an inspection campaign (督察进驻)")
def campaign_create(_: Manager, body: CampaignCreate, session: SessionDep) -> dict:
    with committing(session):
        campaign = cases.create_campaign(session, cases.CampaignInput(**body.model_dump()))
    return cases.campaign_dict(campaign)


@router.get("", summary="List campaigns")
def campaign_list(_: Reader, session: SessionDep) -> dict:
    return {"items": cases.list_campaigns(session)}


@router.get("/{campaign_id}", summary="One campaign")
def campaign_get(_: Reader, campaign_id: int, session: SessionDep) -> dict:
    return cases.campaign_dict(cases.get_campaign(session, campaign_id))


@router.post(
    "/{campaign_id}/import",
    summary="Import a transfer list (转办件清单): every row reported; dry_run writes nothing",
)
async def campaign_import(
    principal: Manager,
    campaign_id: int,
    request: Request,
    engine: EngineDep,
    dry_run: Annotated[bool, Query(description="check and report, write nothing")] = False,
    batch: Annotated[int | None, Query(ge=1, description="第N批 if the list does not say")] = None,
    received_on: Annotated[date | None, Query(description="交办时间 of empty cells")] = None,
) -> dict:
    limit = request.app.state.settings.max_body_mb * 1_000_000
    form = await request.form(max_files=1, max_fields=10)
    part = form.get("file")
    if not isinstance(part, UploadFile):
        raise HTTPException(422, "请上传文件 upload the workbook as the multipart field 'file'")
    data = await part.read(limit + 1)
    if len(data) > limit:
        raise HTTPException(413, "文件过大 the workbook is too large")
    report = await run_in_threadpool(
        run_transfer_import,
        engine,
        campaign_id,
        data,
        filename=part.filename or "transfer.xlsx",
        batch=batch,
        received_on=received_on,
        dry_run=dry_run,
        actor=principal.name,
    )
    return report.as_dict()


@router.post("/{campaign_id}/cases", status_code=201, summary="Enter one transferred case")
def case_create(
    principal: Manager, campaign_id: int, body: CaseCreate, session: SessionDep, today: TodayDep
) -> dict:
    with committing(session):
        campaign = cases.get_campaign(session, campaign_id)
        cases.add_case(
            session, campaign, cases.CaseInput(**body.model_dump()), actor=principal.name
        )
    return _case(session, campaign, body.code, today)


@router.get("/{campaign_id}/cases", summary="The campaign's cases within your townships")
def case_list(
    principal: Reader,
    campaign_id: int,
    session: SessionDep,
    today: TodayDep,
    batch: Annotated[int | None, Query(ge=1)] = None,
) -> dict:
    campaign = cases.get_campaign(session, campaign_id)
    items = cases.list_cases(
        session, campaign, scope=principal.townships, today=today, batch=batch
    )
    return {"items": [cases.jsonable(i) for i in items], "total": len(items)}


@router.patch("/{campaign_id}/cases/{code}", summary="Record a case's check and handling")
def case_handle(
    principal: Handler,
    campaign_id: int,
    code: str,
    body: CaseHandling,
    session: SessionDep,
    today: TodayDep,
) -> dict:
    campaign = cases.get_campaign(session, campaign_id)
    forbid_out_of_scope(principal, cases.case_township(session, campaign, code))
    with committing(session):
        cases.handle_case(
            session, campaign, code, body.model_dump(exclude_none=True), today=today,
            actor=principal.name,
        )
    return _case(session, campaign, code, today)


@router.post("/{campaign_id}/cases/{code}/reply", summary="Reply (反馈) to a case")
def case_reply(
    principal: Handler,
    campaign_id: int,
    code: str,
    body: CaseReply,
    session: SessionDep,
    today: TodayDep,
) -> dict:
    campaign = cases.get_campaign(session, campaign_id)
    forbid_out_of_scope(principal, cases.case_township(session, campaign, code))
    with committing(session):
        cases.reply_case(session, campaign, code, body.reply_text, actor=principal.name)
    return _case(session, campaign, code, today)


@router.post("/{campaign_id}/cases/{code}/close", summary="Close (办结) a replied case")
def case_close(
    principal: Manager, campaign_id: int, code: str, session: SessionDep, today: TodayDep
) -> dict:
    campaign = cases.get_campaign(session, campaign_id)
    with committing(session):
        cases.close_case(session, campaign, code, on=today, actor=principal.name)
    return _case(session, campaign, code, today)


@router.get("/{campaign_id}/cases/{code}/history", summary="Every step of a case (一案一档)")
def case_history(principal: Reader, campaign_id: int, code: str, session: SessionDep) -> dict:
    campaign = cases.get_campaign(session, campaign_id)
    forbid_out_of_scope(principal, cases.case_township(session, campaign, code))
    return {"code": code, "history": cases.case_history(session, campaign, code)}


class DispatchCreate(BaseModel):
    township_code: str = Field(pattern=r"^[0-9]{12}$")
    day: date | None = Field(None, description="default: today")
    progress: str = Field(min_length=1, max_length=4000, description="今日调度情况")


def _download(data: bytes, media_type: str, name: str) -> Response:
    from urllib.parse import quote

    return Response(
        data,
        media_type=media_type,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"},
    )


@router.post("/{campaign_id}/dispatch", status_code=201, summary="A township's daily report")
def dispatch_create(
    principal: Dispatcher,
    campaign_id: int,
    body: DispatchCreate,
    session: SessionDep,
    today: TodayDep,
) -> dict:
    forbid_out_of_scope(principal, body.township_code)
    campaign = cases.get_campaign(session, campaign_id)
    day = body.day or today
    with committing(session):
        dispatch.report_progress(
            session,
            campaign,
            township_code=body.township_code,
            day=day,
            progress=body.progress,
            reported_by=principal.name,
            today=today,
        )
    return dispatch.dispatch_status(session, campaign, day, scope=principal.townships)


@router.get("/{campaign_id}/dispatch", summary="Who reported on a day, and who has not")
def dispatch_get(
    principal: Reader,
    campaign_id: int,
    session: SessionDep,
    today: TodayDep,
    day: date | None = None,
) -> dict:
    campaign = cases.get_campaign(session, campaign_id)
    return dispatch.dispatch_status(session, campaign, day or today, scope=principal.townships)


@router.get(
    "/{campaign_id}/bulletin",
    summary="The campaign's daily bulletin (JSON, HTML or PDF)",
    response_model=None,
)
def bulletin_get(
    principal: Reader,
    campaign_id: int,
    session: SessionDep,
    today: TodayDep,
    day: date | None = None,
    fmt: Annotated[Literal["json", "html", "pdf"], Query(alias="format")] = "json",
) -> dict | Response:
    campaign = cases.get_campaign(session, campaign_id)
    b = dispatch.daily_bulletin(session, campaign, day or today, scope=principal.townships)
    if fmt == "html":
        return HTMLResponse(render_daily_html(b))
    if fmt == "pdf":
        return _download(
            render_daily_pdf(b), "application/pdf", f"每日调度通报-{b.day.isoformat()}.pdf"
        )
    return b.as_dict()


@router.get(
    "/{campaign_id}/disclosure",
    summary="Public disclosure (边督边改) of rectified cases by batch: JSON, xlsx, HTML or PDF",
    response_model=None,
)
def disclosure_get(
    principal: Exporter,
    campaign_id: int,
    session: SessionDep,
    batch: Annotated[int | None, Query(ge=1)] = None,
    fmt: Annotated[Literal["json", "xlsx", "html", "pdf"], Query(alias="format")] = "json",
) -> dict | Response:
    campaign = cases.get_campaign(session, campaign_id)
    batches = disclosure.disclosure(session, campaign, batch=batch, scope=principal.townships)
    name = f"边督边改公开-{campaign.name}" + (f"-第{batch}批" if batch else "")
    info = cases.campaign_dict(campaign)
    if fmt == "xlsx":
        return _download(disclosure.disclosure_xlsx(campaign, batches), XLSX, f"{name}.xlsx")
    if fmt == "html":
        return HTMLResponse(render_disclosure_html(info, batches))
    if fmt == "pdf":
        return _download(render_disclosure_pdf(info, batches), "application/pdf", f"{name}.pdf")
    return {"campaign": info, "batches": [b.__dict__ for b in batches]}


class RulesUpdate(BaseModel):
    points: dict[str, float] = Field(description="item → signed points, e.g. overdue_day: -0.5")


class AccountabilityCreate(BaseModel):
    kind: Literal["summons", "accountability"]
    held_on: date
    person: str = Field(min_length=1, max_length=200)
    unit: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1)
    township_code: str | None = Field(None, pattern=r"^[0-9]{12}$")
    outcome: str = ""
    problem_codes: list[str] = Field(default_factory=list)
    notice_numbers: list[str] = Field(default_factory=list)


@assessment_router.get("/assessment/rules", summary="The assessment's points per item")
def rules_get(_: Reader, session: SessionDep) -> dict:
    return {"rules": assessment.load_rules(session)}


@assessment_router.put("/assessment/rules", summary="Change the points of some items")
def rules_put(principal: Manager, body: RulesUpdate, session: SessionDep) -> dict:
    with committing(session):
        rules = assessment.set_rules(session, body.points, actor=principal.name)
    return {"rules": rules}


@assessment_router.get(
    "/assessment",
    summary="Scores per township or unit for a period (quarter or start/end): JSON, xlsx, PDF",
    response_model=None,
)
def assessment_get(
    principal: Reader,
    session: SessionDep,
    start: date | None = None,
    end: date | None = None,
    year: Annotated[int | None, Query(ge=2000, le=2100)] = None,
    quarter: Annotated[int | None, Query(ge=1, le=4)] = None,
    by: Literal["township", "unit"] = "township",
    fmt: Annotated[Literal["json", "xlsx", "html", "pdf"], Query(alias="format")] = "json",
    recompute: Annotated[
        bool, Query(description="a closed period: also recompute it from the history and list "
                                "every difference from the stored results")
    ] = False,
) -> dict | Response:
    start, end = _span(start, end, year, quarter)
    a = assessment.period_assessment(session, start, end, by=by, scope=principal.townships)
    name = f"考核-{start.isoformat()}-{end.isoformat()}-{by}"
    if fmt == "xlsx":
        return _download(assessment.assessment_xlsx(a), XLSX, f"{name}.xlsx")
    if fmt == "html":
        return HTMLResponse(render_assessment_html(a))
    if fmt == "pdf":
        return _download(render_assessment_pdf(a), "application/pdf", f"{name}.pdf")
    out = a.as_dict()
    if recompute:
        diff = assessment.recompute_difference(
            session, start, end, by=by, scope=principal.townships
        )
        out["difference"] = diff.as_dict() if diff is not None else None
    return out


def _span(
    start: date | None, end: date | None, year: int | None, quarter: int | None
) -> tuple[date, date]:
    if year is not None and quarter is not None:
        return assessment.quarter(year, quarter)
    if start is None or end is None:
        raise HTTPException(
            422, "请给出 start 和 end，或 year 和 quarter / give start and end, or year and quarter"
        )
    return start, end


class PeriodClose(BaseModel):
    year: int | None = Field(None, ge=2000, le=2100)
    quarter: int | None = Field(None, ge=1, le=4)
    start: date | None = None
    end: date | None = None


@assessment_router.get("/assessment/periods", summary="The closed assessment periods")
def periods_list(_: Reader, session: SessionDep) -> dict:
    return {"items": assessment.list_periods(session)}


@assessment_router.post(
    "/assessment/periods",
    status_code=201,
    summary="Close a period (考核期结算): its results are stored and shown as stored",
)
def periods_close(
    principal: Manager, body: PeriodClose, session: SessionDep, today: TodayDep
) -> dict:
    start, end = _span(body.start, body.end, body.year, body.quarter)
    with committing(session):
        period = assessment.close_period(
            session, start, end, actor=principal.name, today=today
        )
        out = assessment.period_dict(period)
    return out


@assessment_router.post(
    "/accountability", status_code=201, summary="Put a summons (约谈) or accountability on record"
)
def accountability_create(
    principal: RecordWriter, body: AccountabilityCreate, session: SessionDep, today: TodayDep
) -> dict:
    data = accountability.AccountabilityInput(**body.model_dump())
    with committing(session):
        record = accountability.record_accountability(
            session, data, recorded_by=principal.name, today=today
        )
    return accountability.record_dict(record)


@assessment_router.get(
    "/accountability", summary="Summons and accountability held, per township and unit"
)
def accountability_list(
    principal: Reader,
    session: SessionDep,
    township: Annotated[str | None, Query(pattern=r"^[0-9]{12}$")] = None,
    unit: str | None = None,
    start: date | None = None,
    end: date | None = None,
) -> dict:
    return accountability.list_accountability(
        session, scope=principal.townships, township=township, unit=unit, start=start, end=end
    )
