"""Daily dispatch over a week of a campaign: townships report, the office sees who has not, and
the daily bulletin (JSON, HTML, PDF read back) lists the day's batch, progress and overdue
replies naming the point, the unit and the person."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from pypdf import PdfReader
from sqlalchemy.orm import Session

from gis.campaigns import accountability, cases, dispatch
from gis.campaigns.transfers import run_transfer_import
from layers.campaign_render import render_daily_html, render_daily_pdf
from tests.factories import EAST, WEST, load_two_townships, make_token

MONDAY = date(2026, 6, 1)


def batch_list(number: int, received: date, rows: list[tuple[str, str, str]]) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append([f"第{number}批群众信访举报转办件"])
    ws.merge_cells("A1:E1")
    ws.append(["受理编号", "交办时间", "反映内容", "所属乡镇", "污染类型"])
    for code, content, town in rows:
        ws.append([code, received, content, town, "大气"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)


@pytest.fixture
def week(db):  # type: ignore[no-untyped-def]
    """A campaign with two batches; 西镇 reports daily and replies, 东镇 stops on Wednesday."""
    with Session(db) as s, s.begin():
        load_two_townships(s)
        c = cases.create_campaign(
            s, cases.CampaignInput("省级督察", "provincial", MONDAY, MONDAY + timedelta(30), 3)
        )
        campaign_id = c.id
    run_transfer_import(db, campaign_id, batch_list(1, MONDAY, [
        ("X-1", "西镇搅拌站扬尘，举报人王五手机13900001111", "西镇"),
        ("E-1", "东镇砖厂烟囱冒黑烟", "东镇"),
    ]))
    run_transfer_import(db, campaign_id, batch_list(2, MONDAY + timedelta(2), [
        ("E-2", "东镇化工园区夜间异味", "东镇"),
    ]))
    with Session(db) as s, s.begin():
        c = cases.get_campaign(s, campaign_id)
        for offset in range(7):
            day = MONDAY + timedelta(offset)
            dispatch.report_progress(
                s, c, township_code=WEST, day=day, progress=f"西镇第{offset + 1}天：巡查3处",
                reported_by="西镇联络员", today=day,
            )
            if offset < 2:
                dispatch.report_progress(
                    s, c, township_code=EAST, day=day, progress="东镇：正在核查",
                    reported_by="东镇联络员", today=day,
                )
        cases.handle_case(
            s, c, "X-1",
            {"checked_on": MONDAY, "finding": "属实", "measures": "停产整治，覆盖防尘网",
             "responsible_unit": "西镇人民政府", "responsible_person": "李强", "orders": 1},
            today=MONDAY,
        )
        cases.reply_case(s, c, "X-1", "经核查属实，已整改",
                         at=datetime(2026, 6, 2, 3, 0, tzinfo=UTC))
        cases.handle_case(
            s, c, "E-1",
            {"checked_on": MONDAY + timedelta(1), "finding": "部分属实",
             "responsible_unit": "县生态环境局东镇分局", "responsible_person": "赵敏"},
            today=MONDAY + timedelta(1),
        )
        accountability.record_accountability(
            s,
            accountability.AccountabilityInput(
                "summons", MONDAY + timedelta(4), "钱某", "东镇人民政府", "E-1 逾期未反馈",
                township_code=EAST, outcome="当场作出整改承诺",
            ),
            recorded_by="office", today=MONDAY + timedelta(4),
        )
    return db, campaign_id


def test_a_week_of_dispatch_and_the_bulletin_of_each_day(week) -> None:  # type: ignore[no-untyped-def]
    engine, campaign_id = week
    with Session(engine) as s:
        c = cases.get_campaign(s, campaign_id)
        monday = dispatch.daily_bulletin(s, c, MONDAY)
        wednesday = dispatch.daily_bulletin(s, c, MONDAY + timedelta(2))
        sunday = dispatch.daily_bulletin(s, c, MONDAY + timedelta(6))
    assert monday.batches_today == [{"number": 1, "cases": 2}]
    assert monday.totals == {"cases": 2, "checked": 1, "replied": 0, "closed": 0,
                             "reply_overdue": 0, "new_today": 2}
    assert monday.not_reported == []
    assert wednesday.batches_today == [{"number": 2, "cases": 1}]
    assert [t.name for t in wednesday.not_reported] == ["东镇"]
    # due Thursday (3 calendar days): on Sunday E-1 is 3 days late, E-2 (due Saturday) 1 day
    assert sunday.batches_today == []
    assert [(r["code"], r["days_overdue"]) for r in sunday.overdue] == [("E-1", 3), ("E-2", 1)]
    assert sunday.overdue[0]["responsible_unit"] == "县生态环境局东镇分局"
    assert sunday.overdue[0]["responsible_person"] == "赵敏"
    by_town = {t.name: t for t in sunday.townships}
    assert (by_town["西镇"].cases, by_town["西镇"].replied, by_town["西镇"].reply_overdue) == (
        1, 1, 0,
    )
    assert (by_town["东镇"].cases, by_town["东镇"].checked, by_town["东镇"].reply_overdue) == (
        2, 1, 2,
    )
    assert by_town["西镇"].report == "西镇第7天：巡查3处" and not by_town["东镇"].reported
    with Session(engine) as s:
        c = cases.get_campaign(s, campaign_id)
        steps = dispatch.daily_bulletin(s, c, MONDAY + timedelta(1))
    tuesday = {t.name: t.recorded for t in steps.townships}  # what the records show that day
    assert tuesday == {"西镇": "今日核查0件、反馈1件、办结0件",
                       "东镇": "今日核查1件、反馈0件、办结0件"}
    assert sunday.actions["orders"] == 1

    html = render_daily_html(sunday)
    assert "王五" not in html and "13900001111" not in html  # complainant removed
    text = pdf_text(render_daily_pdf(wednesday))
    assert "每日调度通报" in text and "第2批" in text and "E-2" in text
    assert "未报送" in text and "东镇" in text
    late = pdf_text(render_daily_pdf(sunday))
    assert "逾期未反馈" in late and "赵敏" in late and "县生态环境局东镇分局" in late
    assert "今日无新交办批次" in late
    assert "钱某" in late and "当场作出整改承诺" in late  # the summons held on Friday
    assert wednesday.records == [] and [r["person"] for r in sunday.records] == ["钱某"]


def test_townships_report_through_the_api_and_the_office_sees_who_has_not(week) -> None:  # type: ignore[no-untyped-def]
    from gis.config import Settings
    from server.app import create_app

    engine, campaign_id = week
    day = MONDAY + timedelta(7)
    app = create_app(engine=engine, settings=Settings(), clock=lambda: day)
    east = make_token(engine, "township", [EAST])
    office = make_token(engine, "office")
    base = f"/api/campaigns/{campaign_id}"
    with TestClient(app) as client:
        before = client.get(f"{base}/dispatch", headers=office).json()
        assert {t["township"] for t in before["not_reported"]} == {"西镇", "东镇"}
        west_for_east = client.post(
            f"{base}/dispatch", json={"township_code": WEST, "progress": "x"}, headers=east
        )
        assert west_for_east.status_code == 403
        future = client.post(
            f"{base}/dispatch",
            json={"township_code": EAST, "progress": "x", "day": "2026-06-30"},
            headers=east,
        )
        assert future.status_code == 422 and "未来" in future.json()["detail"]
        ok = client.post(
            f"{base}/dispatch", json={"township_code": EAST, "progress": "东镇：E-1 已约谈业主"},
            headers=east,
        )
        assert ok.status_code == 201
        after = client.get(f"{base}/dispatch", headers=office).json()
        assert [t["township"] for t in after["not_reported"]] == ["西镇"]
        assert after["reported"][0]["progress"] == "东镇：E-1 已约谈业主"
        # a township sees only its own row
        mine = client.get(f"{base}/dispatch", headers=east).json()
        assert mine["not_reported"] == [] and len(mine["reported"]) == 1
        pdf = client.get(f"{base}/bulletin?format=pdf", headers=office)
        assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
        assert "东镇：E-1 已约谈业主" in pdf_text(pdf.content)
        page = client.get(f"{base}/bulletin?format=html", headers=office)
        assert page.headers["content-type"].startswith("text/html")
        assert "每日调度通报" in page.text and "东镇：E-1 已约谈业主" in page.text
        js = client.get(f"{base}/bulletin", headers=office).json()
        assert js["totals"]["reply_overdue"] == 2 and js["day"] == day.isoformat()
