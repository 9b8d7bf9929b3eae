"""A simulated campaign on the demo county: three batches imported from differently messy
transfer lists, a week of daily dispatch, a disclosure list per batch, cases overdue for reply,
and a quarter's assessment that agrees with the township scorecard."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta

import pytest
from openpyxl import Workbook, load_workbook
from pypdf import PdfReader
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.campaigns import assessment, cases, disclosure, dispatch
from gis.campaigns.transfers import run_transfer_import
from gis.ledger.query import ProblemQuery
from gis.ledger.scorecard import township_scorecard
from layers.campaign_render import render_daily_pdf
from tests.conftest import create_database

MON = date(2026, 11, 16)


@pytest.fixture(scope="module")
def county(pg_cluster):  # type: ignore[no-untyped-def]
    from gis.db.engine import make_engine, upgrade
    from gis.demo.county import load_demo

    url = create_database(pg_cluster, "lookback_campaign_demo")
    upgrade(url)
    engine = make_engine(url)
    load_demo(engine, scale=60, seed=7, as_of=date(2026, 11, 23))
    with engine.connect() as conn:
        towns = conn.execute(text("SELECT code, name FROM townships ORDER BY code")).all()
    yield engine, towns
    engine.dispose()


def _book(fill) -> bytes:  # type: ignore[no-untyped-def]
    wb = Workbook()
    fill(wb.active)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def batch_one(towns) -> bytes:  # type: ignore[no-untyped-def]
    """A merged title naming the batch; townships named with 人民政府."""
    def fill(ws):  # type: ignore[no-untyped-def]
        ws.append(["省第二生态环境保护督察组交办第一批信访件"])
        ws.merge_cells("A1:F1")
        ws.append(["序号", "受理编号", "交办时间", "反映内容", "所属乡镇", "污染类型"])
        for i, (_, name) in enumerate(towns[:4], start=1):
            ws.append([i, f"SD1-{i:03d}", "2026年11月16日", f"{name}某企业夜间排放废气",
                       f"{name}人民政府", "大气"])
    return _book(fill)


def batch_two(towns) -> bytes:  # type: ignore[no-untyped-def]
    """A 批次 column, other header words, codes instead of names, an unknown place, a note."""
    def fill(ws):  # type: ignore[no-untyped-def]
        ws.append(["批次", "信访编号", "转办日期", "举报内容", "乡镇（街道）", "问题类型"])
        for i, (code, name) in enumerate(towns[:3], start=1):
            ws.append(["第二批", f"SD2-{i:03d}", "2026-11-18", f"{name}河道有人倾倒垃圾",
                       code, "水"])
        ws.append(["第二批", "SD2-009", "2026-11-18", "外县问题", "不存在乡", "水"])
        ws.append(["说明：以上信访件请按期反馈"])
    return _book(fill)


def batch_three(towns) -> bytes:  # type: ignore[no-untyped-def]
    """Two title rows, the header on row 4, a township cell merged over two rows, serial
    dates, and complainants' phone numbers in the content."""
    def fill(ws):  # type: ignore[no-untyped-def]
        ws.append(["附件2"])
        ws.append(["第三批转办件清单"])
        ws.append([])
        ws.append(["编号", "交办日期", "反映问题", "所在乡镇", "污染类别"])
        name = towns[1][1]
        ws.append(["SD3-001", 46346, f"{name}工地噪声扰民，举报人手机13700001111", name, "噪声"])
        ws.append(["SD3-002", 46346, "搅拌站扬尘，联系人赵某某", None, "扬尘"])
        ws.merge_cells("D5:D6")
    return _book(fill)


def test_a_week_of_a_campaign_on_the_demo_county(county) -> None:  # type: ignore[no-untyped-def]
    engine, towns = county
    with Session(engine) as s, s.begin():
        campaign_id = cases.create_campaign(
            s,
            cases.CampaignInput("省级督察进驻", "provincial", MON, MON + timedelta(29), 5,
                                "working"),
        ).id
    reports = [
        run_transfer_import(engine, campaign_id, batch_one(towns), filename="第一批.xlsx"),
        run_transfer_import(engine, campaign_id, batch_two(towns), filename="第二批.xlsx"),
        run_transfer_import(engine, campaign_id, batch_three(towns), filename="第三批.xlsx"),
    ]
    assert [r.batches for r in reports] == [{1: 4}, {2: 3}, {3: 2}]
    assert reports[1].counts()["rejected"] == 1 and reports[1].counts()["imported"] == 3
    # all three again: nothing changes
    again = [run_transfer_import(engine, campaign_id, b(towns)) for b in
             (batch_one, batch_two, batch_three)]
    assert sum(r.counts()["imported"] + r.counts()["updated"] for r in again) == 0
    with engine.connect() as conn:
        merged = conn.execute(
            text("SELECT township_code FROM complaints WHERE code = 'SD3-002'")
        ).scalar_one()
    assert merged == towns[1][0]  # from the merged township cell

    reporting = [code for code, _ in towns[:4]]
    with Session(engine) as s, s.begin():
        c = cases.get_campaign(s, campaign_id)
        for offset in range(7):
            day = MON + timedelta(offset)
            for code in reporting[: 4 if offset < 3 else 3]:  # the fourth stops on Thursday
                dispatch.report_progress(s, c, township_code=code, day=day,
                                         progress=f"第{offset + 1}天进展", reported_by="联络员",
                                         today=day)
        for i in (1, 2, 3):  # batch 1 replied except SD1-004
            cases.handle_case(s, c, f"SD1-{i:03d}",
                              {"checked_on": MON, "finding": "属实", "measures": "停产整改",
                               "responsible_unit": "县生态环境局", "responsible_person": "周某"},
                              today=MON)
            cases.reply_case(s, c, f"SD1-{i:03d}", "已整改",
                             at=datetime(2026, 11, 18, 2, tzinfo=UTC))
        cases.handle_case(s, c, "SD1-004", {"responsible_unit": "某镇政府",
                                            "responsible_person": "吴某"}, today=MON)
        cases.handle_case(s, c, "SD2-001", {"checked_on": MON + timedelta(2),
                                            "finding": "不属实"}, today=MON + timedelta(2))
        cases.reply_case(s, c, "SD2-001", "经核查不属实",
                         at=datetime(2026, 11, 19, 2, tzinfo=UTC))

    with Session(engine) as s:
        c = cases.get_campaign(s, campaign_id)
        thursday = dispatch.daily_bulletin(s, c, MON + timedelta(3))
        tuesday = dispatch.daily_bulletin(s, c, MON + timedelta(8))
        lists = disclosure.disclosure(s, c)
    assert [t.name for t in thursday.not_reported] == [towns[3][1]]
    # due Monday 11-23 (five working days): on Tuesday SD1-004 is one day late
    assert [(r["code"], r["days_overdue"], r["responsible_person"]) for r in tuesday.overdue] == [
        ("SD1-004", 1, "吴某"),
    ]
    assert tuesday.totals["cases"] == 9 and tuesday.totals["replied"] == 4
    text_ = "\n".join(p.extract_text() or "" for p in
                      PdfReader(io.BytesIO(render_daily_pdf(tuesday))).pages)
    assert "SD1-004" in text_ and "吴某" in text_ and "某镇政府" in text_
    assert [(b.number, [r["code"] for r in b.rows]) for b in lists] == [
        (1, ["SD1-001", "SD1-002", "SD1-003"]), (2, ["SD2-001"]),
    ]
    book = load_workbook(io.BytesIO(disclosure.disclosure_xlsx(c, lists)))
    assert book.sheetnames == ["第1批", "第2批"]

    # the quarter's assessment counts what the scorecard counts
    start, end = assessment.quarter(2026, 4)
    with Session(engine) as s:
        a = assessment.assess(s, start, date(2026, 11, 23))
        card = township_scorecard(s, today=end, query=ProblemQuery(as_of=date(2026, 11, 23)))
    assert {r.key: r.counts["overdue_day"] for r in a.rows} == {
        t.code: t.days_overdue_total for t in card
    }
    assert sum(r.counts["overdue_day"] for r in a.rows) > 0
    assert len(a.rows) == len(towns) and [r.rank for r in a.rows] == list(range(1, len(towns) + 1))
    assert start == date(2026, 10, 1)
