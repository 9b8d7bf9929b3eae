"""Inspection campaigns: transfer lists imported row by row, cases handled and replied to."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.campaigns import cases
from gis.campaigns.transfers import TransferListError, run_transfer_import
from tests.factories import EAST, WEST, load_two_townships, make_token

ROOT = Path(__file__).resolve().parent.parent
# 2026-05-01..05 is the Labour Day holiday; 2026-05-09 (Saturday) is a make-up workday.
FROM, TO = date(2026, 4, 27), date(2026, 5, 27)


def transfer_list(batch_title: str | None, rows: list[list[object]], header: list[str]) -> bytes:
    """A transfer list as teams send them: a merged title row, a blank row, the header, rows,
    a note row at the end."""
    wb = Workbook()
    ws = wb.active
    ws.title = "转办件"
    if batch_title:
        ws.append([batch_title])
        ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(header))
    ws.append([])
    ws.append(header)
    for row in rows:
        ws.append(row)
    ws.append(["注：请于7日内反馈办理结果。"])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


HEADER_A = ["序号", "信访编号", "交办日期", "举报内容", "乡镇（街道）", "污染类别"]
BATCH_3 = [
    [1, "D410000202605060001", "2026-05-06", "西镇某砂场夜间偷采，噪声扰民", "西镇", "噪声"],
    [2, "D410000202605060002", datetime(2026, 5, 6, 10, 30), "东镇养殖场粪污直排河道",
     "东镇人民政府", "水"],
    [3, "D410000202605060003", "2026年5月6日", "化工厂异味，举报人张三电话13812345678",
     "东", "大气"],
    [4, "D410000202605060004", "2026-05-06", "垃圾焚烧", "北镇", "大气"],  # unknown township
    [5, "D410000202605060001", "2026-05-06", "重复的编号", "西镇", "噪声"],  # repeats row 4
    [6, "D410000202605060006", "2026-05-06", None, "西镇", "水"],  # no content
    ["合计", None, None, None, None, None],
]


@pytest.fixture
def county(db):  # type: ignore[no-untyped-def]
    with Session(db) as s, s.begin():
        load_two_townships(s)
        campaign = cases.create_campaign(
            s,
            cases.CampaignInput("第三轮省级生态环境保护督察", "provincial", FROM, TO, 5, "working"),
        )
        campaign_id = campaign.id
    return db, campaign_id


def test_a_messy_transfer_list_is_imported_row_by_row_and_again_changes_nothing(county) -> None:  # type: ignore[no-untyped-def]
    engine, campaign_id = county
    data = transfer_list("某某省第三批转办件清单（2026年5月6日）", BATCH_3, HEADER_A)

    dry = run_transfer_import(engine, campaign_id, data, filename="第三批.xlsx", dry_run=True)
    assert dry.dry_run and dry.counts()["imported"] == 3
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM campaign_cases")).scalar_one() == 0
        assert conn.execute(text("SELECT count(*) FROM complaints")).scalar_one() == 0

    report = run_transfer_import(engine, campaign_id, data, filename="第三批.xlsx")
    rows = report.by_row()
    assert report.header_row == 3 and report.columns["code"] == "信访编号"
    assert rows[1].outcome == "skipped" and "title" in rows[1].reason
    assert [rows[r].outcome for r in range(4, 11)] == [
        "imported", "imported", "imported", "rejected", "rejected", "rejected", "skipped",
    ]
    assert "北镇" in rows[7].reason and "unknown township" in rows[7].reason
    assert "row 4" in rows[8].reason and "重复" in rows[8].reason
    assert "反映内容" in rows[9].reason
    assert rows[11].outcome == "skipped" and "note" in rows[11].reason
    # every row below the header is stored or reported back
    assert sorted(rows) == list(range(1, 12))
    assert report.batches == {3: 3}

    with engine.connect() as conn:
        stored = conn.execute(
            text(
                "SELECT c.code, c.township_code, c.kind, c.channel, c.feedback_due, b.number,"
                " b.received_on FROM campaign_cases k JOIN complaints c ON c.id = k.complaint_id"
                " JOIN campaign_batches b ON b.id = k.batch_id ORDER BY c.code"
            )
        ).all()
    assert [(r.code[-4:], r.township_code, r.kind) for r in stored] == [
        ("0001", WEST, "noise"), ("0002", EAST, "water"), ("0003", EAST, "air"),
    ]
    assert {r.channel for r in stored} == {"transferred"} and {r.number for r in stored} == {3}
    # five working days from Wednesday 2026-05-06: Thu, Fri, Sat (make-up workday), Mon, Tue
    assert {r.feedback_due for r in stored} == {date(2026, 5, 12)}
    assert stored[0].received_on == date(2026, 5, 6)

    again = run_transfer_import(engine, campaign_id, data, filename="第三批.xlsx")
    assert again.counts()["imported"] == 0 and again.counts()["unchanged"] == 3
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM campaign_cases")).scalar_one() == 3


def test_batch_column_chinese_numerals_and_calendar_days(db) -> None:  # type: ignore[no-untyped-def]
    with Session(db) as s, s.begin():
        load_two_townships(s)
        campaign_id = cases.create_campaign(
            s, cases.CampaignInput("市级督察", "municipal", FROM, TO, 7, "calendar")
        ).id
    header = ["批 次", "受理编号", "转办时间", "反映内容", "所属乡镇", "问题类型", "责任单位"]
    rows = [
        ["第一批", "S-1", 46146, "西镇工地扬尘", "410199101000", "扬尘",
         "县住建局"],  # Excel serial 2026-05-04
        ["第二批", "S-2", "2026.05.08", "东镇餐馆油烟", "东镇", "油烟", None],
        ["第十二批", "S-3", "2026-05-30", "东镇河道黑臭", "东镇", "水", "县水利局\n东镇"],
        ["某批", "S-4", "2026-05-30", "无法识别批次", "东镇", "水", None],
    ]
    report = run_transfer_import(db, campaign_id, transfer_list(None, rows, header))
    assert [r.outcome for r in report.rows if r.code] == [
        "imported", "imported", "imported", "rejected",
    ]
    assert report.batches == {1: 1, 2: 1, 12: 1}
    with db.connect() as conn:
        due = dict(conn.execute(text("SELECT code, feedback_due FROM complaints")).all())
    assert due == {"S-1": date(2026, 5, 11), "S-2": date(2026, 5, 15), "S-3": date(2026, 6, 6)}
    with db.connect() as conn:
        units = dict(conn.execute(text(
            "SELECT c.code, k.responsible_unit FROM campaign_cases k"
            " JOIN complaints c ON c.id = k.complaint_id"
        )).all())
    assert units == {"S-1": "县住建局", "S-2": "", "S-3": "县水利局东镇"}

    # a list without a batch anywhere: refused row by row, unless the batch is given
    bare = transfer_list(None, [["", "S-9", "2026-05-09", "西镇异味", "西镇", "异味"]], header)
    assert run_transfer_import(db, campaign_id, bare).counts()["rejected"] == 1
    given = run_transfer_import(db, campaign_id, bare, batch=4)
    assert given.counts()["imported"] == 1 and given.batches == {4: 1}


def test_files_that_are_not_transfer_lists_are_refused_in_both_languages(county) -> None:  # type: ignore[no-untyped-def]
    engine, campaign_id = county
    with pytest.raises(TransferListError, match="不是 .xlsx.*not an Excel"):
        run_transfer_import(engine, campaign_id, b"PK not really")
    wb = Workbook()
    wb.active.append(["姓名", "电话"])
    buf = io.BytesIO()
    wb.save(buf)
    with pytest.raises(TransferListError, match="未找到表头行.*no header row"):
        run_transfer_import(engine, campaign_id, buf.getvalue())


def test_cases_are_handled_replied_and_closed_through_the_api(county) -> None:  # type: ignore[no-untyped-def]
    from gis.config import Settings
    from server.app import create_app

    engine, campaign_id = county
    run_transfer_import(engine, campaign_id, transfer_list("第3批", BATCH_3, HEADER_A))
    app = create_app(engine=engine, settings=Settings(), clock=lambda: date(2026, 5, 8))
    office = make_token(engine, "office")
    west = make_token(engine, "township", [WEST])
    code = "D410000202605060001"
    with TestClient(app) as client:
        listed = client.get(f"/api/campaigns/{campaign_id}/cases", headers=west).json()
        assert [i["code"] for i in listed["items"]] == [code]
        east_case = f"/api/campaigns/{campaign_id}/cases/D410000202605060002"
        assert client.patch(east_case, json={"measures": "x"}, headers=west).status_code == 403
        url = f"/api/campaigns/{campaign_id}/cases/{code}"
        bad = client.patch(url, json={"finding": "maybe"}, headers=west)
        assert bad.status_code == 422
        early = client.post(url + "/reply", json={"reply_text": "已办理"}, headers=west)
        assert early.status_code == 422 and "核查结论" in early.json()["detail"]
        handled = client.patch(
            url,
            json={
                "checked_on": "2026-05-07",
                "finding": "属实",
                "measures": "查封设备，责令停止开采",
                "responsible_unit": "西镇人民政府",
                "responsible_person": "李强",
                "orders": 1,
                "penalties": 1,
                "result": "已整改",
            },
            headers=west,
        )
        assert handled.status_code == 200, handled.text
        body = handled.json()
        assert body["finding"] == "true" and body["finding_zh"] == "属实"
        assert body["penalties"] == 1 and body["state"] == "checked"
        replied = client.post(url + "/reply", json={"reply_text": "经核查属实，已查处"},
                              headers=west)
        assert replied.status_code == 200 and replied.json()["state"] == "replied"
        assert client.post(url + "/close", headers=west).status_code == 403
        closed = client.post(url + "/close", headers=office)
        assert closed.json()["state"] == "closed" and closed.json()["closed_on"] == "2026-05-08"
        history = client.get(url + "/history", headers=west).json()["history"]
        assert [(h["action"], h["actor"]) for h in history] == [
            ("received", "import"), ("handled", "test-township-410199101000"),
            ("replied", "test-township-410199101000"), ("closed", "test-office-all"),
        ]
        assert history[1]["changes"]["finding"] == "true"
        assert history[0]["changes"]["reply_due"] == "2026-05-12"
        one = client.post(
            f"/api/campaigns/{campaign_id}/cases",
            json={"code": code, "batch": 3, "text": "again", "received_on": "2026-05-06"},
            headers=office,
        )
        assert one.status_code == 409
        files = {"file": ("第3批.xlsx", transfer_list("第3批", BATCH_3, HEADER_A))}
        up = client.post(f"/api/campaigns/{campaign_id}/import?dry_run=true", files=files,
                         headers=office)
        assert up.status_code == 200 and up.json()["counts"]["unchanged"] == 3
        assert client.post(f"/api/campaigns/{campaign_id}/import", files=files,
                           headers=west).status_code == 403


def test_the_command_line_creates_a_campaign_and_imports_a_list(db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with Session(db) as s, s.begin():
        load_two_townships(s)
    env_url = db.url.render_as_string(hide_password=False)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", "from server.cli.main import app; app(prog_name='lookback')",
             "campaign", *args],
            capture_output=True, text=True, cwd=ROOT, timeout=180,
            env={"DATABASE_URL": env_url, "PATH": "/usr/bin:/bin", "LOOKBACK_HOME": str(tmp_path),
                 "COLUMNS": "200"},
        )

    made = run("create", "中央督察", "--level", "central", "--from", "2026-04-27",
               "--to", "2026-05-27", "--reply-days", "5", "--working-days")
    assert made.returncode == 0, made.stderr + made.stdout
    bad = run("create", "坏的", "--level", "county", "--from", "2026-04-27", "--to", "2026-05-27")
    assert bad.returncode == 1 and "level" in bad.stdout and "Traceback" not in bad.stderr
    path = tmp_path / "list.xlsx"
    path.write_bytes(transfer_list("第三批", BATCH_3, HEADER_A))
    first = run("import", "中央督察", str(path), "--json")
    assert first.returncode == 1  # rows were rejected
    report = json.loads(first.stdout)
    assert report["counts"]["imported"] == 3 and report["counts"]["rejected"] == 3
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM campaign_cases")).scalar_one() == 3
    listed = run("list")
    assert "中央督察" in listed.stdout
