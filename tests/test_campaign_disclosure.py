"""Public disclosure (边督边改): rectified cases per batch in the public format, as Excel (re-read)
and PDF (read back), without complainants' names, phone numbers or ID numbers."""

from __future__ import annotations

import io
import re
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy.orm import Session

from gis.campaigns import cases
from gis.campaigns.privacy import redact
from tests.factories import EAST, WEST, load_two_townships, make_token

ROOT = Path(__file__).resolve().parent.parent
DAY = date(2026, 6, 1)
PERSONAL = ("张三", "李四", "13812345678", "0371-65432100", "410102199001011234", "王女士")


def _county(engine) -> int:  # type: ignore[no-untyped-def]
    with Session(engine) as s, s.begin():
        load_two_townships(s)
        c = cases.create_campaign(
            s, cases.CampaignInput("中央督察", "central", DAY, date(2026, 7, 1), 5)
        )
        for code, batch, content, town in (
            ("C-1", 1, "西镇砂场夜间偷采，举报人张三，电话13812345678", WEST),
            ("C-2", 1, "东镇养殖场粪污直排，投诉人：李四，身份证410102199001011234", EAST),
            ("C-3", 2, "王女士反映东镇餐馆油烟扰民，联系电话0371-65432100", EAST),
            ("C-4", 2, "东镇河道垃圾", EAST),  # not yet replied: not published
        ):
            cases.add_case(s, c, cases.CaseInput(code, batch, content, town, DAY, "水"))
        for code, finding, measures, counts in (
            ("C-1", "属实", "查扣挖掘机2台，立案处罚；经与举报人张三（13812345678）核实",
             {"penalties": 1}),
            ("C-2", "部分属实", "责令限期清运粪污", {"orders": 1, "summonses": 1}),
            ("C-3", "不属实", "", {}),
        ):
            cases.handle_case(
                s, c, code, {"finding": finding, "measures": measures, "checked_on": DAY, **counts},
                today=DAY,
            )
            cases.reply_case(s, c, code, f"{code} 已办理，已电话告知王女士",
                             at=datetime(2026, 6, 2, 2, tzinfo=UTC))
        cases.close_case(s, c, "C-1", on=date(2026, 6, 3))
        return c.id


def test_redaction_keeps_dates_and_amounts() -> None:
    kept = "2026年5月6日，罚款20000元，编号20260506"
    assert redact(kept) == kept
    out = redact("举报人张三电话13812345678，身份证41010219900101123X，邮箱zs@qq.com")
    assert not re.search(r"张三|1381234|41010219900101123X|zs@qq", out)


def test_the_disclosure_list_per_batch_as_excel_and_pdf(db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from gis.config import Settings
    from server.app import create_app

    campaign_id = _county(db)
    app = create_app(engine=db, settings=Settings(), clock=lambda: DAY)
    office = make_token(db, "office")
    with TestClient(app) as client:
        got = client.get(f"/api/campaigns/{campaign_id}/disclosure?format=xlsx", headers=office)
        assert got.status_code == 200
        wb = load_workbook(io.BytesIO(got.content))
        assert wb.sheetnames == ["第1批", "第2批"]
        first = [list(r) for r in wb["第1批"].iter_rows(values_only=True)]
        assert "第1批" in first[0][0]
        assert first[1] == ["序号", "受理编号", "所属乡镇", "反映问题", "调查核实情况",
                            "处理和整改情况", "问责情况", "办理结果"]
        assert [(r[0], r[1], r[2], r[4], r[6], r[7]) for r in first[2:]] == [
            (1, "C-1", "西镇", "属实", "立案处罚1", "已办结"),
            (2, "C-2", "东镇", "部分属实", "责令整改1、约谈1", "阶段性办结"),
        ]
        second = [list(r) for r in wb["第2批"].iter_rows(values_only=True)][2:]
        assert [r[1] for r in second] == ["C-3"]  # C-4 is not replied yet
        assert second[0][5] == "C-3 已办理，已电话告知[姓名已隐去]女士"  # the reply stands in
        cells = " ".join(str(v) for ws in wb for row in ws.iter_rows(values_only=True)
                         for v in row if v is not None)
        for item in PERSONAL:
            assert item not in cells, item
        assert "西镇砂场夜间偷采" in cells and "查扣挖掘机2台" in cells

        one = client.get(f"/api/campaigns/{campaign_id}/disclosure?batch=2", headers=office)
        assert [b["number"] for b in one.json()["batches"]] == [2]
        east = make_token(db, "township", [EAST])
        mine = client.get(f"/api/campaigns/{campaign_id}/disclosure", headers=east).json()
        assert [r["code"] for b in mine["batches"] for r in b["rows"]] == ["C-2", "C-3"]
        page = client.get(f"/api/campaigns/{campaign_id}/disclosure?format=html", headers=office)
        assert "边督边改公开情况" in page.text and "13812345678" not in page.text
        pdf = client.get(f"/api/campaigns/{campaign_id}/disclosure?format=pdf", headers=office)
        text = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf.content)).pages)
        assert "边督边改公开情况" in text and "C-3" in text and "第2批" in text
        for item in PERSONAL:
            assert item not in text, item

    out = tmp_path / "公开.xlsx"
    run = subprocess.run(
        [sys.executable, "-c", "from server.cli.main import app; app(prog_name='lookback')",
         "campaign", "disclosure", "中央督察", "--batch", "1", "--out", str(out)],
        capture_output=True, text=True, cwd=ROOT, timeout=180,
        env={"DATABASE_URL": db.url.render_as_string(hide_password=False),
             "PATH": "/usr/bin:/bin", "LOOKBACK_HOME": str(tmp_path)},
    )
    assert run.returncode == 0, run.stderr + run.stdout
    assert load_workbook(out).sheetnames == ["第1批"]
