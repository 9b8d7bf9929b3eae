"""Escalation notices: the notices and their delivery log, rules, contacts, channels, runs.

Reading the log needs ``read`` (township users see their townships' notices only); everything
that writes or shows contacts and channel settings needs ``notice:manage`` (admin, office).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from gis.access.permissions import allowed
from gis.notices import channels as notice_channels
from gis.notices import directory, rules
from gis.notices.config import get_notice_settings
from gis.notices.delivery import retry
from gis.notices.log import (
    delivery_dict,
    get_notice,
    list_deliveries,
    list_notices,
    without_contacts,
)
from gis.notices.render import pdf_available, render_pdf
from gis.notices.runner import run_once
from server.deps import EngineDep, SessionDep, TodayDep, committing
from server.security import Reader, forbid_out_of_scope, principal_dep

router = APIRouter(prefix="/api/notices", tags=["notices"])
NoticeManager = principal_dep("notice:manage")


def _for(principal, entries: list[dict]) -> list[dict]:  # type: ignore[no-untyped-def]
    """Entries as ``principal`` may see them: contact details only for notice managers."""
    if allowed("notice:manage", principal.role):
        return entries
    return [without_contacts(e) for e in entries]


Trigger = Literal[
    "warning",
    "days_before",
    "days_after",
    "rebound",
    "suspected_rebound",
    "off_site",
    "complaint_due",
]
Kind = Literal["reminder", "warning", "supervision", "summons"]
Colour = Literal["blue", "yellow", "orange", "red"]
Role = Literal["responsible_person", "township_head", "office"]
ChannelKind = Literal["email", "dingtalk", "wecom", "webhook"]


class RuleCreate(BaseModel):
    """A notice rule: trigger → notice kind, recipients, channels, how often at most."""

    name: str = Field(min_length=1, max_length=64, examples=["overdue_60_summons"])
    trigger: Trigger
    colour: Colour | None = Field(None, description="for warning rules: the colour")
    days: int | None = Field(None, ge=0, description="days before/after, or the look-back window")
    kind: Kind
    recipients: list[Role] = Field(min_length=1)
    channels: list[str] = Field(default_factory=list, description="names or kinds; empty: all")
    min_interval_days: int | None = Field(None, ge=1, description="repeat every N days; null once")
    enabled: bool = True
    description: str = ""


class RuleUpdate(BaseModel):
    """Fields of a rule to change."""

    trigger: Trigger | None = None
    colour: Colour | None = None
    days: int | None = Field(None, ge=0)
    kind: Kind | None = None
    recipients: list[Role] | None = None
    channels: list[str] | None = None
    min_interval_days: int | None = Field(None, ge=1)
    enabled: bool | None = None
    description: str | None = None


class ContactCreate(BaseModel):
    """A person notices go to (same role, name, unit and township: updated instead)."""

    name: str = Field(min_length=1, max_length=100, examples=["王伟"])
    role: Role
    township_code: str | None = Field(None, pattern=r"^[0-9]{12}$")
    unit: str = Field("", max_length=200, examples=["县住建局"])
    email: str = Field("", max_length=200)
    phone: str = Field("", max_length=32)


class ContactUpdate(BaseModel):
    """Fields of a contact to change."""

    name: str | None = Field(None, min_length=1, max_length=100)
    role: Role | None = None
    township_code: str | None = Field(None, pattern=r"^[0-9]{12}$")
    unit: str | None = None
    email: str | None = None
    phone: str | None = None
    enabled: bool | None = None


class ChannelCreate(BaseModel):
    """An SMTP server, DingTalk or WeCom robot, or a signed JSON webhook."""

    name: str = Field(min_length=1, max_length=64, examples=["county-dingtalk"])
    kind: ChannelKind
    config: dict[str, Any] = Field(
        description="email: host, port, from_addr, username, password, security"
        " (none/starttls/ssl), test_to; dingtalk: url, secret, at_recipients;"
        " wecom: url; webhook: url, secret, header",
        examples=[{"url": "https://oapi.dingtalk.com/robot/send?access_token=…", "secret": "SEC…"}],
    )
    township_code: str | None = Field(None, pattern=r"^[0-9]{12}$")
    enabled: bool = True


class ChannelUpdate(BaseModel):
    """Settings to merge into a channel (a null value removes a key), its township, enabled."""

    config: dict[str, Any] | None = None
    township_code: str | None = Field(None, pattern=r"^[0-9]{12}$")
    enabled: bool | None = None


class ChannelProbe(BaseModel):
    """Where a test e-mail goes (default: the channel's test_to)."""

    to: str | None = None


class RunRequest(BaseModel):
    """Run the rules now; say explicitly whether it is a dry run."""

    dry_run: bool = Field(description="true: report what would be sent and write nothing")


@router.get("/rules", summary="Notice rules")
def rules_list(_: Reader, session: SessionDep) -> list[dict]:
    return [rules.rule_dict(r) for r in rules.list_rules(session)]


@router.post("/rules", status_code=201, summary="Add a notice rule")
def rules_create(_: NoticeManager, body: RuleCreate, session: SessionDep) -> dict:
    with committing(session):
        rule = rules.create_rule(session, body.model_dump())
        return rules.rule_dict(rule)


@router.patch("/rules/{rule_id}", summary="Change a notice rule")
def rules_update(_: NoticeManager, rule_id: int, body: RuleUpdate, session: SessionDep) -> dict:
    with committing(session):
        rule = rules.update_rule(session, rule_id, body.model_dump(exclude_unset=True))
        return rules.rule_dict(rule)


@router.get("/contacts", summary="Contacts notices go to")
def contacts_list(
    _: NoticeManager,
    session: SessionDep,
    role: Role | None = None,
    township: str | None = None,
) -> list[dict]:
    found = directory.list_contacts(session, role=role, township_code=township)
    return [directory.contact_dict(c) for c in found]


@router.post("/contacts", status_code=201, summary="Add (or update) a contact")
def contacts_create(_: NoticeManager, body: ContactCreate, session: SessionDep) -> dict:
    with committing(session):
        return directory.contact_dict(directory.add_contact(session, **body.model_dump()))


@router.patch("/contacts/{contact_id}", summary="Change or disable a contact")
def contacts_update(
    _: NoticeManager, contact_id: int, body: ContactUpdate, session: SessionDep
) -> dict:
    with committing(session):
        contact = directory.update_contact(session, contact_id, body.model_dump(exclude_unset=True))
        return directory.contact_dict(contact)


@router.get("/channels", summary="Channels (credentials hidden)")
def channels_list(_: NoticeManager, session: SessionDep) -> list[dict]:
    return [directory.channel_dict(c) for c in directory.list_channels(session)]


@router.post("/channels", status_code=201, summary="Add a channel")
def channels_create(_: NoticeManager, body: ChannelCreate, session: SessionDep) -> dict:
    with committing(session):
        return directory.channel_dict(directory.add_channel(session, **body.model_dump()))


@router.patch("/channels/{channel_id}", summary="Change a channel's settings")
def channels_update(
    _: NoticeManager, channel_id: int, body: ChannelUpdate, session: SessionDep
) -> dict:
    with committing(session):
        channel = directory.update_channel(session, channel_id, body.model_dump(exclude_unset=True))
        return directory.channel_dict(channel)


@router.post("/channels/{channel_id}/test", summary="Send a test message through a channel")
def channels_test(
    _: NoticeManager, channel_id: int, body: ChannelProbe, session: SessionDep
) -> dict:
    channel = directory.find_channel(session, channel_id)
    payload = notice_channels.probe_payload(channel.kind, channel.config, body.to)
    try:
        settings = get_notice_settings()
        result = notice_channels.send(
            channel.kind,
            channel.config,
            payload,
            timeout=settings.timeout_s,
            allow_hosts=settings.allow_hosts,
        )
    except notice_channels.ChannelError as exc:
        return {"channel": channel.name, "ok": False, "result": str(exc)}
    return {"channel": channel.name, "ok": True, "result": result}


@router.post("/run", summary="Evaluate the rules now (or dry: what would be sent)")
def notices_run(_: NoticeManager, body: RunRequest, engine: EngineDep, today: TodayDep) -> dict:
    return run_once(engine, today=today, dry_run=body.dry_run, trigger="api").as_dict()


@router.get("/deliveries", summary="The delivery log, newest first")
def deliveries_list(
    principal: Reader,
    session: SessionDep,
    notice_id: int | None = None,
    status: Literal["pending", "sent", "failed", "skipped"] | None = None,
    channel: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    items, total = list_deliveries(
        session,
        scope=principal.townships,
        notice_id=notice_id,
        status=status,
        channel=channel,
        limit=limit,
        offset=offset,
    )
    return {"items": _for(principal, items), "number_matched": total}


@router.post(
    "/deliveries/{delivery_id}/retry",
    summary="Retry a failed delivery now",
    description="Requeues a failed or skipped delivery with a fresh set of attempts and tries it"
    " once at once; answers the delivery as it then stands. 404 for an unknown delivery, 422"
    " for one already sent.",
)
def deliveries_retry(_: NoticeManager, delivery_id: int, engine: EngineDep) -> dict:
    return delivery_dict(retry(engine, delivery_id))


@router.get("", summary="Notices issued, newest first")
def notices_list(
    principal: Reader,
    session: SessionDep,
    township: Annotated[list[str] | None, Query()] = None,
    problem: str | None = None,
    kind: Kind | None = None,
    since: date | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict:
    items, total = list_notices(
        session,
        scope=principal.townships,
        township=township,
        problem_code=problem,
        kind=kind,
        since=since,
        limit=limit,
        offset=offset,
    )
    return {"items": _for(principal, items), "number_matched": total}


def _visible(principal, session, notice_id: int):  # type: ignore[no-untyped-def]
    notice, entry = get_notice(session, notice_id)
    forbid_out_of_scope(principal, notice.township_code)
    return notice, entry


@router.get("/{notice_id}", summary="One notice with its deliveries")
def notices_read(principal: Reader, notice_id: int, session: SessionDep) -> dict:
    return _for(principal, [_visible(principal, session, notice_id)[1]])[0]


@router.get(
    "/{notice_id}/document",
    response_class=HTMLResponse,
    summary="The notice document (HTML)",
)
def notices_document(principal: Reader, notice_id: int, session: SessionDep) -> HTMLResponse:
    notice, _ = _visible(principal, session, notice_id)
    return HTMLResponse(notice.html)


@router.get(
    "/{notice_id}/document.pdf",
    response_class=Response,
    summary="The notice document (PDF, when WeasyPrint is installed)",
)
def notices_pdf(principal: Reader, notice_id: int, session: SessionDep) -> Response:
    notice, _ = _visible(principal, session, notice_id)
    if not pdf_available():
        raise HTTPException(501, "PDF 需要 WeasyPrint: PDF output needs WeasyPrint")
    filename = f"notice-{notice.id}.pdf"
    return Response(
        render_pdf(notice.html),
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )
