"""The workbench's campaign pages (督察进驻): campaigns, a campaign's batches and cases, the
transfer-list import (preview → confirm), one case's handling (一案一档), the daily dispatch, the
public disclosure, and the assessment with the summons and accountability on record.

Routes parse, authorise and call ``gis.campaigns`` (the same functions as the JSON API in
:mod:`server.routes.campaigns`); they hold no SQL. Forms are POSTed by htmx with the session's
CSRF token; a refusal shows the page again with the reason beside the field (both languages) and
what was typed kept, a success redirects to the page with what happened and what is next.
"""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import FormData, UploadFile

from gis.access.auth import Principal
from gis.access.permissions import allowed
from gis.campaigns import accountability, assessment, cases, disclosure, dispatch, overview
from gis.campaigns.cases import CampaignConflict, CampaignError, CampaignNotFound
from gis.campaigns.transfers import TransferImportReport, run_transfer_import
from gis.db.models import ACCOUNTABILITY_KINDS, ASSESSMENT_ITEMS, CAMPAIGN_LEVELS
from gis.io import staging
from gis.ledger.worklist import township_names
from server.deps import EngineDep, SessionDep, TodayDep, committing
from server.forms import field_error as _err
from server.forms import form_done as _done
from server.forms import form_refused as _refused
from server.forms import split_message as _split
from server.pages import page, shell
from server.security import Reader, forbid_out_of_scope, principal_dep

router = APIRouter(tags=["workbench"], include_in_schema=False)
Manager = principal_dep("campaign:manage")
Handler = principal_dep("campaign:handle")
Dispatcher = principal_dep("dispatch:report")
Exporter = principal_dep("export:read")
RecordWriter = principal_dep("accountability:write")

LEVELS = {"central": ("中央", "Central"), "provincial": ("省级", "Provincial"),
          "municipal": ("市级", "Municipal")}
FINDINGS = {"true": ("属实", "True"), "partly_true": ("部分属实", "Partly true"),
            "untrue": ("不属实", "Untrue")}
STATES = {"received": ("已交办", "Received"), "checked": ("已核查", "Checked"),
          "replied": ("已反馈", "Replied"), "closed": ("已办结", "Closed")}
STEPS = {"received": ("交办", "Received"), "updated": ("清单更新", "Updated by a list"),
         "handled": ("办理", "Handled"), "replied": ("反馈", "Replied"),
         "closed": ("办结", "Closed")}
FIELDS = {
    "checked_on": ("核查日期", "Checked on"), "check_note": ("核查情况", "Check"),
    "finding": ("核查结论", "Finding"), "measures": ("处理和整改情况", "Measures"),
    "responsible_unit": ("责任单位", "Responsible unit"),
    "responsible_person": ("责任人", "Responsible person"),
    "orders": ("责令整改", "Orders"), "penalties": ("立案处罚", "Penalties"),
    "summonses": ("约谈", "Summonses"), "accountabilities": ("问责", "Accountabilities"),
    "result": ("办理结果", "Result"), "reply_text": ("反馈内容", "Reply"),
    "closed_on": ("办结日期", "Closed on"), "batch": ("批次", "Batch"),
    "reply_due": ("反馈期限", "Reply due"), "township_code": ("乡镇", "Township"),
    "text": ("反映内容", "Content"), "pollution_type": ("污染类型", "Pollution type"),
    "source": ("来源", "Source"), "fields": ("字段", "Fields"),
}
KINDS = {"summons": ("约谈", "Summons"), "accountability": ("问责", "Accountability")}
COUNTS = ("orders", "penalties", "summonses", "accountabilities")
TEXTS = ("check_note", "measures", "responsible_unit", "responsible_person", "result")


def _date(raw: str, key: str, errors: dict[str, dict[str, str]]) -> date | None:
    raw = raw.strip()
    if not raw:
        return None
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        errors[key] = _err("日期格式应为 2026-12-03", "invalid date (YYYY-MM-DD)")
        return None
    if not 2000 <= day.year <= 2100:
        errors[key] = _err("日期不合理", "implausible date")
        return None
    return day


def _values(form: FormData, keys: tuple[str, ...]) -> dict[str, str]:
    return {k: str(form.get(k, "")).strip() for k in keys}


def _flash(context: dict[str, Any], done: str | None, steps: dict[str, tuple[str, str]]) -> None:
    if done in steps:
        zh, en = steps[done]
        context["flash"] = zh if context["lang"] == "zh" else en


def _campaign(session: SessionDep, campaign_id: int) -> Any:
    try:
        return cases.get_campaign(session, campaign_id)
    except CampaignNotFound:
        raise HTTPException(404, f"没有这个督察 no campaign {campaign_id}") from None


def _base(
    request: Request, principal: Principal, session: SessionDep, active: str = "campaigns"
) -> dict[str, Any]:
    context = shell(request, principal, session, active=active)
    context.update(
        levels=LEVELS, findings=FINDINGS, states=STATES, steps=STEPS, field_labels=FIELDS,
        kinds=KINDS, form_errors={}, form_values={}, form_name="",
    )
    return context


# -- campaigns (督察进驻) ------------------------------------------------------------------------

CAMPAIGN_KEYS = ("name", "level", "stationed_from", "stationed_to", "reply_days", "reply_day_kind")
CAMPAIGN_STEPS = {
    "created": (
        "已登记督察进驻 · 下一步：导入转办件清单或逐件登记",
        "Campaign registered · next: import a transfer list or enter its cases",
    ),
}


def _campaigns_context(
    request: Request, principal: Principal, session: SessionDep, today: date
) -> dict[str, Any]:
    context = _base(request, principal, session)
    rows = overview.campaign_overview(session, scope=principal.townships, today=today)
    context.update(
        title="督察进驻",
        rows=rows,
        may_create=allowed("campaign:manage", principal.role),
        form_values={"level": "provincial", "reply_days": "7", "reply_day_kind": "calendar"},
    )
    return context


@router.get("/campaigns", response_class=HTMLResponse, summary="Inspection campaigns (督察进驻)")
def campaigns_page(
    request: Request, principal: Reader, session: SessionDep, today: TodayDep
) -> HTMLResponse:
    context = _campaigns_context(request, principal, session, today)
    return page(request, "campaigns.html", context)


@router.post("/campaigns", response_class=HTMLResponse)
async def campaigns_create(
    request: Request, principal: Manager, session: SessionDep, today: TodayDep
) -> Response:
    """Register a campaign: name, level, the days stationed, the reply deadline of its cases."""
    form = await request.form(max_files=0, max_fields=20)
    values = _values(form, CAMPAIGN_KEYS)
    errors: dict[str, dict[str, str]] = {}
    if not values["name"]:
        errors["name"] = _err("请填写督察名称", "a campaign needs a name")
    elif len(values["name"]) > 200:
        errors["name"] = _err("名称过长（最多 200 字）", "the name is too long (200 at most)")
    if values["level"] not in CAMPAIGN_LEVELS:
        errors["level"] = _err("请选择督察级别", "choose the level")
    start = _date(values["stationed_from"], "stationed_from", errors)
    end = _date(values["stationed_to"], "stationed_to", errors)
    for key, day in (("stationed_from", start), ("stationed_to", end)):
        if day is None and key not in errors:
            errors[key] = _err("请填写进驻日期", "give the day")
    if start and end and end < start:
        errors["stationed_to"] = _err("结束日期早于开始日期", "the stay ends before it starts")
    days = values["reply_days"]
    if not days.isdigit() or not 1 <= int(days) <= 90:
        errors["reply_days"] = _err("反馈期限应为 1 至 90 天", "the reply is due in 1 to 90 days")
    if values["reply_day_kind"] not in ("calendar", "working"):
        errors["reply_day_kind"] = _err("请选择自然日或工作日", "calendar or working days")
    if not errors and start and end:
        try:
            with committing(session):
                campaign = cases.create_campaign(
                    session,
                    cases.CampaignInput(
                        values["name"], values["level"], start, end, int(days),
                        values["reply_day_kind"],
                    ),
                )
                campaign_id = campaign.id
        except CampaignConflict as exc:
            errors["name"] = _split(str(exc))
        except CampaignError as exc:
            errors[exc.field or "name"] = _split(str(exc))
        else:
            return _done(request, f"/campaigns/{campaign_id}?done=created")
    context = _campaigns_context(request, principal, session, today)
    context.update(form_errors=errors, form_values=values)
    return _refused(request, "campaigns.html", context)


# -- one campaign: batches, cases, import, enter a case ----------------------------------------

CASE_KEYS = ("code", "batch", "text", "township_code", "received_on", "pollution_type")
CAMPAIGN_PAGE_STEPS = {
    **CAMPAIGN_STEPS,
}


def _campaign_context(
    request: Request,
    principal: Principal,
    session: SessionDep,
    campaign: Any,
    today: date,
    params: dict[str, str] | None = None,
) -> dict[str, Any]:
    context = _base(request, principal, session)
    names = township_names(session)
    visible = {c: n for c, n in names.items() if principal.can_see(c)}
    params = params or {}
    filter_errors: dict[str, dict[str, str]] = {}
    batch = township = overdue = state = None
    if params.get("batch"):
        if params["batch"].isdigit() and int(params["batch"]) >= 1:
            batch = int(params["batch"])
        else:
            filter_errors["batch"] = _err("批次无效", "invalid batch")
    if params.get("township"):
        if params["township"] in visible:
            township = params["township"]
        else:
            filter_errors["township"] = _err("乡镇无效", "invalid township")
    if params.get("overdue"):
        overdue = {"true": True, "false": False}.get(params["overdue"])
        if overdue is None:
            filter_errors["overdue"] = _err("逾期条件无效", "invalid overdue filter")
    if params.get("state"):
        if params["state"] in STATES:
            state = params["state"]
        else:
            filter_errors["state"] = _err("状态无效", "invalid state")
    items = cases.list_cases(session, campaign, scope=principal.townships, today=today)
    shown = overview.filter_cases(
        items, batch=batch, township=township, overdue=overdue, state=state
    )
    clean = {
        "batch": str(batch or ""),
        "township": township or "",
        "overdue": "" if overdue is None else str(overdue).lower(),
        "state": state or "",
    }
    context.update(
        title=campaign.name,
        c=cases.campaign_dict(campaign),
        today=today,
        batches=overview.batch_rows(session, campaign, items, scope=principal.townships),
        counts=overview.case_counts(items),
        items=shown,
        total=len(shown),
        clean=clean,
        filter_errors=filter_errors,
        townships=visible,
        all_townships=names,
        may_manage=allowed("campaign:manage", principal.role),
        may_export=allowed("export:read", principal.role),
        import_errors={},
        import_values={"batch": "", "received_on": ""},
        limit_mb=_import_limit(request) / 1_000_000,
        form_values={"received_on": today.isoformat()},
    )
    return context


@router.get(
    "/campaigns/{campaign_id}", response_class=HTMLResponse, summary="A campaign's cases"
)
def campaign_page(
    request: Request, campaign_id: int, principal: Reader, session: SessionDep, today: TodayDep
) -> HTMLResponse:
    campaign = _campaign(session, campaign_id)
    params = {k: request.query_params.get(k, "") for k in ("batch", "township", "overdue", "state")}
    context = _campaign_context(request, principal, session, campaign, today, params)
    _flash(context, request.query_params.get("done"), CAMPAIGN_PAGE_STEPS)
    return page(request, "campaign.html", context)


@router.post("/campaigns/{campaign_id}/cases", response_class=HTMLResponse)
async def campaign_case_create(
    request: Request, campaign_id: int, principal: Manager, session: SessionDep, today: TodayDep
) -> Response:
    """Enter one transferred case by hand (受理编号, batch, content, township, day received)."""
    campaign = _campaign(session, campaign_id)
    form = await request.form(max_files=0, max_fields=20)
    values = _values(form, CASE_KEYS)
    errors: dict[str, dict[str, str]] = {}
    names = township_names(session)
    if not values["code"]:
        errors["code"] = _err("请填写受理编号", "the case needs its 受理编号")
    elif len(values["code"]) > 100:
        errors["code"] = _err("受理编号过长", "the 受理编号 is too long")
    if not values["batch"].isdigit() or not 1 <= int(values["batch"]) <= 999:
        errors["batch"] = _err("批次应为 1 至 999", "the batch is 1 to 999")
    if not values["text"]:
        errors["text"] = _err("请填写反映内容", "the case needs its content")
    if values["township_code"] not in names:
        errors["township_code"] = _err("请选择所属乡镇", "choose the township")
    received = _date(values["received_on"], "received_on", errors)
    if received is None and "received_on" not in errors:
        errors["received_on"] = _err("请填写交办日期", "give the day received")
    elif received is not None and received > today:
        errors["received_on"] = _err("交办日期不能晚于今天", "the day received is in the future")
    if not errors and received is not None:
        try:
            with committing(session):
                cases.add_case(
                    session,
                    campaign,
                    cases.CaseInput(
                        values["code"], int(values["batch"]), values["text"],
                        values["township_code"], received, values["pollution_type"],
                    ),
                    actor=principal.name,
                )
        except CampaignConflict as exc:
            errors["code"] = _split(str(exc))
        except CampaignError as exc:
            errors[exc.field or "code"] = _split(str(exc))
        else:
            target = f"/campaigns/{campaign_id}/cases/{quote(values['code'], safe='')}"
            return _done(request, f"{target}?done=entered")
    context = _campaign_context(request, principal, session, campaign, today)
    context.update(form_errors=errors, form_values=values, form_name="case")
    return _refused(request, "campaign.html", context)


# -- the transfer-list import (转办件清单: preview → confirm) -------------------------------------


def _import_limit(request: Request) -> int:
    return min(staging.MAX_IMPORT_BYTES, request.app.state.settings.max_body_mb * 1_000_000)


def _import_params(
    form: FormData, errors: dict[str, dict[str, str]]
) -> tuple[int | None, date | None, dict[str, str]]:
    values = _values(form, ("batch", "received_on"))
    batch = None
    if values["batch"]:
        if values["batch"].isdigit() and 1 <= int(values["batch"]) <= 999:
            batch = int(values["batch"])
        else:
            errors["batch"] = _err("批次应为 1 至 999", "the batch is 1 to 999")
    received = _date(values["received_on"], "received_on", errors)
    return batch, received, values


def _report_context(
    request: Request,
    principal: Principal,
    session: SessionDep,
    campaign: Any,
    report: TransferImportReport,
    values: dict[str, str],
    **extra: Any,
) -> dict[str, Any]:
    context = _base(request, principal, session)
    counts = report.counts()
    context.update(
        title=campaign.name,
        c=cases.campaign_dict(campaign),
        report=report,
        counts=counts,
        applicable=counts["imported"] + counts["updated"],
        digest="",
        fingerprint=staging.fingerprint(report),
        applied=not report.dry_run,
        import_values=values,
        result_flash="",
    )
    context.update(extra)
    return context


@router.post("/campaigns/{campaign_id}/import/preview", response_class=HTMLResponse)
async def campaign_import_preview(
    request: Request,
    campaign_id: int,
    principal: Manager,
    session: SessionDep,
    engine: EngineDep,
    today: TodayDep,
) -> Response:
    """Check the uploaded transfer list in a dry run and show what each row would become."""
    campaign = _campaign(session, campaign_id)
    form = await request.form(max_files=1, max_fields=10)
    errors: dict[str, dict[str, str]] = {}
    batch, received, values = _import_params(form, errors)
    part = form.get("file")
    data, filename = b"", ""
    if not isinstance(part, UploadFile) or not part.filename:
        errors["file"] = _err("请选择转办件清单（.xlsx）", "choose the transfer list (.xlsx)")
    else:
        limit = _import_limit(request)
        data, filename = await part.read(limit + 1), part.filename
        try:
            staging.check_upload(data, filename, limit=limit)
        except staging.UploadRefused as exc:
            errors["file"] = _split(str(exc))
    report = None
    if not errors:
        try:
            report = await run_in_threadpool(
                run_transfer_import, engine, campaign_id, data, filename=filename, batch=batch,
                received_on=received, dry_run=True, actor=principal.name,
            )
        except CampaignError as exc:
            errors["file"] = _split(str(exc))
    if errors or report is None:
        context = _campaign_context(request, principal, session, campaign, today)
        context.update(import_errors=errors, import_values=values)
        return _refused(request, "campaign.html", context)
    digest = staging.stage(request.app.state.settings.home, data, filename)
    context = _report_context(
        request, principal, session, campaign, report, values, digest=digest
    )
    return page(request, "campaign_import.html", context)


@router.post("/campaigns/{campaign_id}/import/confirm", response_class=HTMLResponse)
async def campaign_import_confirm(
    request: Request,
    campaign_id: int,
    principal: Manager,
    session: SessionDep,
    engine: EngineDep,
    today: TodayDep,
) -> Response:
    """Apply exactly the previewed list, if its rows' outcomes are still those shown."""
    campaign = _campaign(session, campaign_id)
    form = await request.form(max_files=0, max_fields=10)
    home = request.app.state.settings.home
    digest = str(form.get("digest", ""))
    expected = str(form.get("fingerprint", ""))
    errors: dict[str, dict[str, str]] = {}
    batch, received, values = _import_params(form, errors)
    try:
        if errors:
            raise staging.StagedFileGone("预览参数无效 the preview's parameters are not valid")
        data, filename = staging.staged(home, digest)
    except staging.StagedFileGone as exc:
        context = _campaign_context(request, principal, session, campaign, today)
        context.update(import_errors={"stale": _split(str(exc))})
        return _refused(request, "campaign.html", context)
    try:
        report = await run_in_threadpool(
            overview.apply_previewed_transfer_list, engine, campaign_id, data,
            expected=expected, actor=principal.name, filename=filename, batch=batch,
            received_on=received,
        )
    except staging.PreviewChanged as exc:
        assert isinstance(exc.report, TransferImportReport)
        context = _report_context(
            request, principal, session, campaign, exc.report, values, digest=digest,
            form_errors={"stale": _split(str(exc))},
        )
        return _refused(request, "campaign_import.html", context)
    except CampaignError as exc:
        context = _campaign_context(request, principal, session, campaign, today)
        context.update(import_errors={"file": _split(str(exc))})
        return _refused(request, "campaign.html", context)
    staging.discard(home, digest)
    session.expire_all()
    context = _report_context(request, principal, session, campaign, report, values)
    counts = context["counts"]
    zh = f"已导入：新增 {counts['imported']} 件，更新 {counts['updated']} 件 · 下一步：逐件核查办理"
    en = f"Imported: {counts['imported']} new, {counts['updated']} updated · next: check each case"
    context["result_flash"] = zh if context["lang"] == "zh" else en
    return page(request, "campaign_import.html", context)


# -- one case (一案一档) -------------------------------------------------------------------------

CASE_STEPS = {
    "entered": ("已登记转办件 · 下一步：现场核查并填写核查结论",
                "Case entered · next: check on the spot and record the finding"),
    "handled": ("已保存办理情况 · 下一步：填写反馈", "Handling saved · next: send the reply"),
    "unchanged": ("办理情况没有变化", "Nothing changed in the handling"),
    "replied": ("已反馈 · 下一步：督察整改办审核办结",
                "Replied · next: the office closes the case"),
    "closed": ("已办结", "Case closed"),
}


def _case_context(
    request: Request,
    principal: Principal,
    session: SessionDep,
    campaign: Any,
    code: str,
    today: date,
) -> dict[str, Any]:
    try:
        township = cases.case_township(session, campaign, code)
    except CampaignNotFound:
        raise HTTPException(404, f"没有这个转办件 no case {code}") from None
    forbid_out_of_scope(principal, township)
    k = overview.case_detail(session, campaign, code, today=today)
    context = _base(request, principal, session)
    values = {n: str(k[n] or "") for n in TEXTS}
    values.update({n: str(k[n]) for n in COUNTS})
    values.update(
        finding=k["finding"] or "",
        checked_on=k["checked_on"].isoformat() if k["checked_on"] else "",
        reply_text=k["reply_text"] or "",
    )
    context.update(
        title=f"{code} · {campaign.name}",
        c=cases.campaign_dict(campaign),
        k=k,
        today=today,
        may_handle=allowed("campaign:handle", principal.role),
        may_close=allowed("campaign:manage", principal.role),
        may_export=allowed("export:read", principal.role),
        township_names=township_names(session),
        form_values=values,
    )
    return context


def _case_url(campaign_id: int, code: str) -> str:
    return f"/campaigns/{campaign_id}/cases/{quote(code, safe='')}"


@router.get(
    "/campaigns/{campaign_id}/cases/{code}",
    response_class=HTMLResponse,
    summary="A transferred case (一案一档)",
)
def campaign_case_page(
    request: Request,
    campaign_id: int,
    code: str,
    principal: Reader,
    session: SessionDep,
    today: TodayDep,
) -> HTMLResponse:
    campaign = _campaign(session, campaign_id)
    context = _case_context(request, principal, session, campaign, code, today)
    _flash(context, request.query_params.get("done"), CASE_STEPS)
    return page(request, "campaign_case.html", context)


def _stale(
    values: dict[str, str], k: dict[str, Any], errors: dict[str, dict[str, str]]
) -> None:
    if values.get("version") != k["version"]:
        errors["stale"] = _err(
            "该转办件已被他人更新，请查看当前情况后重新提交",
            "the case changed meanwhile: check it and submit again",
        )


@router.post("/campaigns/{campaign_id}/cases/{code}/handle", response_class=HTMLResponse)
async def campaign_case_handle(
    request: Request,
    campaign_id: int,
    code: str,
    principal: Handler,
    session: SessionDep,
    today: TodayDep,
) -> Response:
    """Record the check and handling: finding, measures, unit and person, actions taken."""
    campaign = _campaign(session, campaign_id)
    context = _case_context(request, principal, session, campaign, code, today)
    k = context["k"]
    form = await request.form(max_files=0, max_fields=30)
    values = _values(form, ("checked_on", "finding", *TEXTS, *COUNTS, "version"))
    errors: dict[str, dict[str, str]] = {}
    _stale(values, k, errors)
    changes: dict[str, Any] = {}
    checked = _date(values["checked_on"], "checked_on", errors)
    if checked is not None and checked > today:
        errors["checked_on"] = _err("核查日期不能晚于今天", "the check is in the future")
    if checked is not None and checked != k["checked_on"]:
        changes["checked_on"] = checked
    if values["finding"]:
        if values["finding"] not in FINDINGS:
            errors["finding"] = _err("核查结论须为 属实/部分属实/不属实", "choose a finding")
        elif values["finding"] != k["finding"]:
            changes["finding"] = values["finding"]
    for name in TEXTS:
        if len(values[name]) > 4000:
            errors[name] = _err("内容过长（最多 4000 字）", "too long (4000 at most)")
        elif values[name] != (k[name] or ""):
            changes[name] = values[name]
    for name in COUNTS:
        raw = values[name] or "0"
        if not raw.isdigit() or int(raw) > 10000:
            errors[name] = _err("应为 0 至 10000 的整数", "a whole number from 0 to 10000")
        elif int(raw) != k[name]:
            changes[name] = int(raw)
    if not errors:
        try:
            with committing(session):
                cases.handle_case(
                    session, campaign, code, changes, today=today, actor=principal.name
                )
        except CampaignError as exc:
            errors[exc.field or "stale"] = _split(str(exc))
        else:
            done = "handled" if changes else "unchanged"
            return _done(request, f"{_case_url(campaign_id, code)}?done={done}#handling")
    context["form_values"].update(values)
    context.update(form_errors=errors, form_name="handle")
    return _refused(request, "campaign_case.html", context)


@router.post("/campaigns/{campaign_id}/cases/{code}/reply", response_class=HTMLResponse)
async def campaign_case_reply(
    request: Request,
    campaign_id: int,
    code: str,
    principal: Handler,
    session: SessionDep,
    today: TodayDep,
) -> Response:
    """Send the reply (反馈): it needs the finding first."""
    campaign = _campaign(session, campaign_id)
    context = _case_context(request, principal, session, campaign, code, today)
    k = context["k"]
    form = await request.form(max_files=0, max_fields=10)
    values = _values(form, ("reply_text", "version"))
    errors: dict[str, dict[str, str]] = {}
    _stale(values, k, errors)
    if k["closed_on"]:
        errors["reply_text"] = _err("已办结的转办件不能再反馈", "the case is closed")
    if not values["reply_text"]:
        errors["reply_text"] = _err("请填写反馈内容", "the reply needs its text")
    elif len(values["reply_text"]) > 8000:
        errors["reply_text"] = _err("反馈内容过长（最多 8000 字）", "too long (8000 at most)")
    if not errors:
        try:
            with committing(session):
                cases.reply_case(
                    session, campaign, code, values["reply_text"], actor=principal.name
                )
        except CampaignError as exc:
            errors["reply_text"] = _split(str(exc))
        else:
            return _done(request, f"{_case_url(campaign_id, code)}?done=replied#reply")
    context["form_values"].update(values)
    context.update(form_errors=errors, form_name="reply")
    return _refused(request, "campaign_case.html", context)


@router.post("/campaigns/{campaign_id}/cases/{code}/close", response_class=HTMLResponse)
async def campaign_case_close(
    request: Request,
    campaign_id: int,
    code: str,
    principal: Manager,
    session: SessionDep,
    today: TodayDep,
) -> Response:
    """Close the case (办结): it needs its reply first."""
    campaign = _campaign(session, campaign_id)
    context = _case_context(request, principal, session, campaign, code, today)
    k = context["k"]
    form = await request.form(max_files=0, max_fields=10)
    values = _values(form, ("version", "confirm"))
    errors: dict[str, dict[str, str]] = {}
    _stale(values, k, errors)
    if values["confirm"] != "yes":
        errors["close"] = _err("请勾选确认办结", "tick the box to confirm the closure")
    if k["closed_on"]:
        errors["close"] = _err("该转办件已办结", "the case is closed already")
    if not errors:
        try:
            with committing(session):
                cases.close_case(session, campaign, code, on=today, actor=principal.name)
        except CampaignError as exc:
            errors["close"] = _split(str(exc))
        else:
            return _done(request, f"{_case_url(campaign_id, code)}?done=closed")
    context.update(form_errors=errors, form_name="close")
    return _refused(request, "campaign_case.html", context)


# -- daily dispatch (一天一调度) ------------------------------------------------------------------

DISPATCH_STEPS = {
    "reported": ("已报送今日调度情况 · 同一天再次报送将替换原内容",
                 "Report sent · sending again the same day replaces it"),
}


def _dispatch_context(
    request: Request,
    principal: Principal,
    session: SessionDep,
    campaign: Any,
    day: date,
    today: date,
) -> dict[str, Any]:
    context = _base(request, principal, session)
    names = township_names(session)
    status = dispatch.dispatch_status(session, campaign, day, scope=principal.townships)
    mine = {c: n for c, n in names.items() if principal.can_see(c)}
    context.update(
        title=f"每日调度 · {campaign.name}",
        c=cases.campaign_dict(campaign),
        day=day,
        today=today,
        status=status,
        report_townships=mine,
        may_report=allowed("dispatch:report", principal.role),
        may_export=allowed("export:read", principal.role),
        form_values={
            "township_code": next(iter(mine), "") if principal.townships else "",
            "day": min(day, today).isoformat(),
            "progress": "",
        },
        bulletin=f"/api/campaigns/{campaign.id}/bulletin?day={day.isoformat()}",
    )
    return context


@router.get(
    "/campaigns/{campaign_id}/dispatch",
    response_class=HTMLResponse,
    summary="The day's dispatch (每日调度)",
)
def campaign_dispatch_page(
    request: Request, campaign_id: int, principal: Reader, session: SessionDep, today: TodayDep
) -> HTMLResponse:
    campaign = _campaign(session, campaign_id)
    errors: dict[str, dict[str, str]] = {}
    day = _date(request.query_params.get("day", ""), "day", errors) or today
    context = _dispatch_context(request, principal, session, campaign, day, today)
    context["filter_errors"] = errors
    _flash(context, request.query_params.get("done"), DISPATCH_STEPS)
    return page(request, "dispatch.html", context)


@router.post("/campaigns/{campaign_id}/dispatch", response_class=HTMLResponse)
async def campaign_dispatch_report(
    request: Request,
    campaign_id: int,
    principal: Dispatcher,
    session: SessionDep,
    today: TodayDep,
) -> Response:
    """A township's report of the day's progress; again the same day replaces the text."""
    campaign = _campaign(session, campaign_id)
    form = await request.form(max_files=0, max_fields=10)
    values = _values(form, ("township_code", "day", "progress"))
    errors: dict[str, dict[str, str]] = {}
    names = township_names(session)
    if values["township_code"] not in names or not principal.can_see(values["township_code"]):
        errors["township_code"] = _err("请选择您负责的乡镇", "choose one of your townships")
    day = _date(values["day"], "day", errors) or (today if "day" not in errors else None)
    if day is not None and day > today:
        errors["day"] = _err("不能报送未来日期", "the day is in the future")
    if not values["progress"]:
        errors["progress"] = _err("请填写今日调度情况", "the report needs its text")
    elif len(values["progress"]) > 4000:
        errors["progress"] = _err("内容过长（最多 4000 字）", "too long (4000 at most)")
    if not errors and day is not None:
        try:
            with committing(session):
                dispatch.report_progress(
                    session, campaign, township_code=values["township_code"], day=day,
                    progress=values["progress"], reported_by=principal.name, today=today,
                )
        except CampaignError as exc:
            errors[exc.field or "progress"] = _split(str(exc))
        else:
            target = f"/campaigns/{campaign_id}/dispatch?day={day.isoformat()}&done=reported"
            return _done(request, target)
    shown = day if day is not None and day <= today else today
    context = _dispatch_context(request, principal, session, campaign, shown, today)
    context.update(form_errors=errors, form_values=values, filter_errors={})
    return _refused(request, "dispatch.html", context)


# -- public disclosure (边督边改) -----------------------------------------------------------------


@router.get(
    "/campaigns/{campaign_id}/disclosure",
    response_class=HTMLResponse,
    summary="The public list by batch (边督边改公开)",
)
def campaign_disclosure_page(
    request: Request, campaign_id: int, principal: Exporter, session: SessionDep, today: TodayDep
) -> HTMLResponse:
    campaign = _campaign(session, campaign_id)
    raw = request.query_params.get("batch", "")
    errors: dict[str, dict[str, str]] = {}
    batch = None
    if raw:
        if raw.isdigit() and int(raw) >= 1:
            batch = int(raw)
        else:
            errors["batch"] = _err("批次无效", "invalid batch")
    items = cases.list_cases(session, campaign, scope=principal.townships, today=today)
    published = disclosure.disclosure(session, campaign, batch=batch, scope=principal.townships)
    api = f"/api/campaigns/{campaign.id}/disclosure"
    query = f"&batch={batch}" if batch else ""
    context = _base(request, principal, session)
    context.update(
        title=f"边督边改公开 · {campaign.name}",
        c=cases.campaign_dict(campaign),
        batch=batch,
        batches=overview.batch_rows(session, campaign, items, scope=principal.townships),
        published=published,
        filter_errors=errors,
        downloads=[
            (fmt, zh, en, f"{api}?format={fmt}{query}")
            for fmt, zh, en in (
                ("xlsx", "下载 Excel", "Excel workbook"),
                ("pdf", "下载公开文件 PDF", "PDF document"),
                ("html", "打印版", "Printable page"),
            )
        ],
    )
    return page(request, "disclosure.html", context)


# -- assessment (考核), summons and accountability on record (约谈、问责) -----------------------

ASSESS_STEPS = {
    "rules": ("已保存考核规则 · 得分已按新规则计算", "Rules saved · scores use the new points"),
    "recorded": ("已登记 · 将计入考核期的得分", "Recorded · it counts in the period's scores"),
    "closed": ("已结算 · 本考核期的结果已保存，页面和下载均显示保存的结果",
               "Period closed · its results are stored and shown as stored"),
}
RECORD_KEYS = (
    "kind", "held_on", "person", "unit", "township_code", "reason", "outcome", "problem_codes",
    "notice_numbers",
)


def _rules_version(rules: dict[str, float]) -> str:
    return ";".join(f"{k}={rules[k]:g}" for k in sorted(rules))


def _period(
    params: dict[str, str], today: date, errors: dict[str, dict[str, str]]
) -> tuple[int, int]:
    year, q = today.year, (today.month - 1) // 3 + 1
    raw_year, raw_q = params.get("year", ""), params.get("quarter", "")
    if raw_year:
        if raw_year.isdigit() and 2000 <= int(raw_year) <= 2100:
            year = int(raw_year)
        else:
            errors["year"] = _err("年份无效", "invalid year")
    if raw_q:
        if raw_q in ("1", "2", "3", "4"):
            q = int(raw_q)
        else:
            errors["quarter"] = _err("季度须为 1–4", "the quarter is 1 to 4")
    return year, q


def _assessment_context(
    request: Request,
    principal: Principal,
    session: SessionDep,
    today: date,
    params: dict[str, str],
) -> dict[str, Any]:
    context = _base(request, principal, session, active="assessment")
    errors: dict[str, dict[str, str]] = {}
    year, q = _period(params, today, errors)
    by = params.get("by") or "township"
    if by not in ("township", "unit"):
        errors["by"], by = _err("须为乡镇或责任单位", "township or unit"), "township"
    start, end = assessment.quarter(year, q)
    a = assessment.period_assessment(session, start, end, by=by, scope=principal.townships)
    difference = None
    if params.get("recompute") == "1":
        difference = assessment.recompute_difference(
            session, start, end, by=by, scope=principal.townships
        )
    records = accountability.list_accountability(
        session, scope=principal.townships, start=start, end=end
    )
    names = township_names(session)
    query = urlencode({"year": year, "quarter": q, "by": by})
    rules = a.rules
    context.update(
        title="考核",
        year=year,
        quarter=q,
        by=by,
        years=list(range(today.year - 3, today.year + 1)),
        start=start,
        end=end,
        a=a,
        difference=difference,
        period_name=assessment.period_name(start, end),
        period_ended=end < today,
        may_close=allowed("campaign:manage", principal.role) and a.stored is None,
        close_errors={},
        items=assessment.COUNTED,
        item_labels=assessment.ITEM_LABELS,
        rules=rules,
        rules_version=_rules_version(rules),
        records=records,
        filter_errors=errors,
        query=query,
        downloads=[
            (fmt, f"/api/assessment?{query}&format={fmt}") for fmt in ("xlsx", "pdf", "html")
        ],
        may_rules=allowed("campaign:manage", principal.role),
        may_record=allowed("accountability:write", principal.role),
        townships={c: n for c, n in names.items() if principal.can_see(c)},
        scoped=principal.townships is not None,
        rule_errors={},
        rule_values={k: f"{v:g}" for k, v in rules.items()},
        form_values={"kind": "summons", "held_on": today.isoformat()},
    )
    return context


def _assessment_params(request: Request) -> dict[str, str]:
    return {k: request.query_params.get(k, "") for k in ("year", "quarter", "by", "recompute")}


@router.post("/assessment/close", response_class=HTMLResponse)
async def assessment_close(
    request: Request, principal: Manager, session: SessionDep, today: TodayDep
) -> Response:
    """Close the quarter (考核期结算): its results are stored and shown as stored from then on."""
    form = await request.form(max_files=0, max_fields=10)
    values = _values(form, ("year", "quarter", "by", "confirm"))
    period = {k: values[k] for k in ("year", "quarter", "by")}
    errors: dict[str, dict[str, str]] = {}
    year, q = _period(period, today, errors)
    if not values["year"] or not values["quarter"]:
        errors["period"] = _err("请选择考核期", "choose the period")
    if values["confirm"] != "yes":
        errors["confirm"] = _err("请勾选确认结算", "tick the box to confirm the closing")
    if not errors:
        start, end = assessment.quarter(year, q)
        try:
            with committing(session):
                assessment.close_period(session, start, end, actor=principal.name, today=today)
        except (CampaignError, CampaignConflict) as exc:
            errors["period"] = _split(str(exc))
        else:
            query = urlencode({k: v for k, v in period.items() if v})
            return _done(request, f"/assessment?{query}&done=closed#period")
    context = _assessment_context(request, principal, session, today, period)
    context.update(close_errors=errors)
    return _refused(request, "assessment.html", context)


@router.get("/assessment", response_class=HTMLResponse, summary="Assessment (考核)")
def assessment_page(
    request: Request, principal: Reader, session: SessionDep, today: TodayDep
) -> HTMLResponse:
    context = _assessment_context(request, principal, session, today, _assessment_params(request))
    _flash(context, request.query_params.get("done"), ASSESS_STEPS)
    return page(request, "assessment.html", context)


@router.post("/assessment/rules", response_class=HTMLResponse)
async def assessment_rules(
    request: Request, principal: Manager, session: SessionDep, today: TodayDep
) -> Response:
    """Change the points of the assessment's items (a form made before a change is refused)."""
    form = await request.form(max_files=0, max_fields=30)
    values = _values(form, (*ASSESSMENT_ITEMS, "version", "year", "quarter", "by"))
    errors: dict[str, dict[str, str]] = {}
    current = assessment.load_rules(session)
    if values["version"] != _rules_version(current):
        errors["stale"] = _err(
            "考核规则已被他人修改，请查看当前规则后重新提交",
            "the rules changed meanwhile: check them and submit again",
        )
    points: dict[str, float] = {}
    for item in ASSESSMENT_ITEMS:
        try:
            value = float(values[item])
        except ValueError:
            errors[item] = _err("请填写数字", "a number")
            continue
        if value != value or abs(value) > 1000:
            errors[item] = _err("分值应在 ±1000 以内", "within ±1000")
        elif value != current[item]:
            points[item] = value
    period = {k: values[k] for k in ("year", "quarter", "by")}
    if not errors:
        try:
            with committing(session):
                assessment.set_rules(session, points, actor=principal.name)
        except CampaignError as exc:
            errors[exc.field or "stale"] = _split(str(exc))
        else:
            query = urlencode({k: v for k, v in period.items() if v})
            return _done(request, f"/assessment?{query}&done=rules#rules")
    context = _assessment_context(request, principal, session, today, period)
    context.update(rule_errors=errors, rule_values=values)
    return _refused(request, "assessment.html", context)


@router.post("/assessment/records", response_class=HTMLResponse)
async def assessment_record(
    request: Request, principal: RecordWriter, session: SessionDep, today: TodayDep
) -> Response:
    """Put a summons (约谈) or an accountability (问责) on record."""
    form = await request.form(max_files=0, max_fields=30)
    values = _values(form, (*RECORD_KEYS, "year", "quarter", "by"))
    errors: dict[str, dict[str, str]] = {}
    names = township_names(session)
    if values["kind"] not in ACCOUNTABILITY_KINDS:
        errors["kind"] = _err("请选择约谈或问责", "summons or accountability")
    held = _date(values["held_on"], "held_on", errors)
    if held is None and "held_on" not in errors:
        errors["held_on"] = _err("请填写日期", "give the day held")
    elif held is not None and held > today:
        errors["held_on"] = _err("日期不能晚于今天", "the day is in the future")
    for key, zh in (("person", "被约谈/问责人"), ("unit", "单位"), ("reason", "事由")):
        if not values[key]:
            errors[key] = _err(f"请填写{zh}", f"{key} is required")
        elif len(values[key]) > (4000 if key == "reason" else 200):
            errors[key] = _err("内容过长", "too long")
    if values["township_code"] and values["township_code"] not in names:
        errors["township_code"] = _err("乡镇无效", "unknown township")

    def listed(raw: str) -> list[str]:
        return [p for p in raw.replace("，", ",").replace("、", ",").replace(",", " ").split() if p]

    period = {k: values[k] for k in ("year", "quarter", "by")}
    if not errors and held is not None:
        data = accountability.AccountabilityInput(
            kind=values["kind"], held_on=held, person=values["person"], unit=values["unit"],
            reason=values["reason"], township_code=values["township_code"] or None,
            outcome=values["outcome"], problem_codes=listed(values["problem_codes"]),
            notice_numbers=listed(values["notice_numbers"]),
        )
        try:
            with committing(session):
                accountability.record_accountability(
                    session, data, recorded_by=principal.name, today=today
                )
        except CampaignError as exc:
            errors[exc.field or "reason"] = _split(str(exc))
        else:
            query = urlencode({k: v for k, v in period.items() if v})
            return _done(request, f"/assessment?{query}&done=recorded#records")
    context = _assessment_context(request, principal, session, today, period)
    context.update(form_errors=errors, form_values=values)
    return _refused(request, "assessment.html", context)
