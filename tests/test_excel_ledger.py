"""The Excel ledger: a messy office workbook imported row by row, re-imported, round-tripped."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import geopandas as gpd
import openpyxl
import pytest
from fastapi.testclient import TestClient
from openpyxl.styles import Alignment
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gis.config import Settings
from gis.io.excel import (
    ExcelLedgerError,
    LedgerImportReport,
    header_field,
    import_ledger,
    map_category,
    map_source,
    map_status,
    parse_deadline,
    parse_lonlat,
    run_ledger_import,
)
from gis.io.exports import MEDIA_TYPES, ExportFormat, export_ledger
from gis.ledger.query import ProblemQuery
from server.app import create_app
from tests.factories import EAST, T0, WEST, load_two_townships, make_token

TODAY = date(2026, 3, 2)  # T0 in Shanghai
HEADERS = [
    "序号",
    "问题\n编号",
    "问题来源",
    "乡镇\n（街道）",
    "问题类别",
    "具体问题",
    "经度",
    "纬度",
    "牵头单位",
    "责任人",
    "整改目标",
    "整改措施",
    "完成\n时限",
    "进展情况",
    "完成情况",
]


def _row(
    seq: object,
    code: object,
    source: object,
    town: object,
    category: object,
    lon: object,
    lat: object,
    deadline: object,
    status: object,
    description: str = "问题描述",
) -> list[object]:
    return [
        seq,
        code,
        source,
        town,
        category,
        description,
        lon,
        lat,
        "县生态环境分局",
        "李强",
        "整改到位",
        "第一步：排查\n第二步：整治",
        deadline,
        "正在推进",
        status,
    ]


# (row, outcome, code) the messy workbook must report, and what the imported rows hold.
DATA = [
    # row 5-7: township 西镇 merged down D5:D7
    _row(1, "ZY-001", "中央环保督察第二轮", "西镇", "扬尘污染", 113.05, 34.05,
         datetime(2026, 6, 30), "整改中", "工地扬尘\n未覆盖"),
    _row(2, "ZY-002", "中央环保督察", None, "黑臭水体", "113°03'00\"E", "北纬34°03′00″",
         "2026年6月30日", "已完成"),
    _row(3, "ZY-003", "省级环保督察", None, "污水管网", None, None, "2026.6.30", "未完成"),
    _row(4, "ZY-004", "市级督察", "东镇", "非法采砂", "１１３．１５", "３４．０５", "2026/6/30",
         "已交办"),
    _row(5, "ZY-005", "信访举报", EAST, "采砂", 34.06, 113.16, 46203, "整改中"),
    _row(6, "ZY-006", "暗查暗访", None, "生活垃圾", 113.02, 34.02, "2026年底前", None),
    _row(7, "ZY-007", "省", "东镇", "餐饮油烟", None, None, "2026年6月底前", "推进中"),
    _row(8, "ZY-008", "市级督察", "西镇", "入河排污口", 113.03, 34.03, "立行立改", "已完成"),
    _row(9, "ZY-009", "中央环保督察回头看", "东镇", "饮用水水源地", None, None, "长期坚持",
         "持续推进"),
    _row(10, "ZY-010", "省级环保督察", "北镇", "扬尘", None, None, "2026-06-30", "整改中"),
    _row(11, "ZY-011", "省级环保督察", None, "扬尘", 112.5, 34.05, "2026-06-30", "整改中"),
    _row(12, "ZY-012", "省级环保督察", "西镇", "扬尘", None, None, "尽快", "整改中"),
    _row(13, "ZY-013", "省级环保督察", "西镇", "扬尘", 200, 95, "2026-06-30", "整改中"),
    _row(14, "ZY-001", "省级环保督察", "西镇", "扬尘", None, None, "2026-06-30", "整改中"),
    _row(15, "ZY-015", "日常巡查", "西镇", "工业企业", None, None, "2026-06-30", None),
    _row(16, "ZY-016", "省级环保督察", "东镇", "秸秆焚烧", None, None, "２０２６年９月３０日",
         None),
]  # fmt: skip
EXPECTED = {
    1: ("skipped", None),
    2: ("skipped", None),
    3: ("skipped", None),
    4: ("skipped", None),
    5: ("imported", "ZY-001"),
    6: ("imported", "ZY-002"),
    7: ("imported", "ZY-003"),
    8: ("imported", "ZY-004"),
    9: ("imported", "ZY-005"),
    10: ("imported", "ZY-006"),
    11: ("imported", "ZY-007"),
    12: ("imported", "ZY-008"),
    13: ("imported", "ZY-009"),
    14: ("rejected", "ZY-010"),
    15: ("rejected", "ZY-011"),
    16: ("rejected", "ZY-012"),
    17: ("rejected", "ZY-013"),
    18: ("rejected", "ZY-001"),
    19: ("imported", "ZY-015"),
    20: ("imported", "ZY-016"),
    21: ("skipped", None),
    22: ("skipped", None),
    23: ("skipped", None),
}
IMPORTED = sorted(code for outcome, code in EXPECTED.values() if outcome == "imported")
REJECT_WORDS = {
    14: "unknown township",
    15: "outside every township",
    16: "unparseable deadline",
    17: "impossible coordinates",
    18: "repeats row 5",
}
LEDGER_FIELDS = (
    "code, source, category, township_code, description, responsible_unit, responsible_person,"
    " supervising_leader, target, measures, progress, deadline_kind, deadline, status,"
    " CASE WHEN GeometryType(geom) = 'POINT' THEN round(ST_X(geom)::numeric, 9) END AS lon,"
    " CASE WHEN GeometryType(geom) = 'POINT' THEN round(ST_Y(geom)::numeric, 9) END AS lat,"
    " ST_AsText(ST_SnapToGrid(geom, 1e-9)) AS shape"
)


def messy_workbook() -> bytes:
    """An office ledger as found in the wild: title rows, header on row 4, merges, notes."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "反馈问题台账"
    ws.append(["XX县中央环保督察反馈问题整改台账"])
    ws.merge_cells("A1:O1")
    ws.append(["填报单位：XX县督察整改办", None, None, None, None, None, "填报日期：2026年3月1日"])
    ws.append([])
    ws.append(HEADERS)
    for cell in ws[4]:
        cell.alignment = Alignment(wrap_text=True)
    for row in DATA:
        ws.append(row)
    ws.merge_cells("D5:D7")
    ws.append([])
    ws.append(["合计", None, None, None, None, "共16个问题"])
    ws.append(["注：1.经纬度采用CGCS2000坐标系；2.整改时限以交办文件为准。"])
    ws.merge_cells("A23:O23")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def count(engine: Engine, table: str) -> int:
    with engine.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()


def ledger(engine: Engine) -> dict[str, dict]:
    """The ledger fields of every problem, by code."""
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT {LEDGER_FIELDS} FROM problems ORDER BY code")).mappings()
        return {r["code"]: dict(r) for r in rows}


@pytest.fixture
def towns(db: Engine) -> Engine:
    with Session(db) as s, s.begin():
        load_two_townships(s)
    return db


def run(engine: Engine, data: bytes, **kwargs) -> LedgerImportReport:  # type: ignore[no-untyped-def]
    return run_ledger_import(engine, data, actor="office", filename="台账.xlsx", now=T0, **kwargs)


# ---------------------------------------------------------------------------------------------
# Cell forms
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "kind", "deadline"),
    [
        ("2026-06-30", "dated", date(2026, 6, 30)),
        ("2026年6月30日", "dated", date(2026, 6, 30)),
        ("2026.6.30", "dated", date(2026, 6, 30)),
        ("2026/6/30", "dated", date(2026, 6, 30)),
        ("２０２６年６月３０日前", "dated", date(2026, 6, 30)),
        (datetime(2026, 6, 30), "dated", date(2026, 6, 30)),
        (date(2026, 6, 30), "dated", date(2026, 6, 30)),
        (46203, "dated", date(2026, 6, 30)),
        (46203.0, "dated", date(2026, 6, 30)),
        ("2026年底前", "dated", date(2026, 12, 31)),
        ("2026年6月底前", "dated", date(2026, 6, 30)),
        ("2026年2月底前", "dated", date(2026, 2, 28)),
        ("2026年上半年", "dated", date(2026, 6, 30)),
        ("立行立改", "immediate", None),
        ("立行立改（2026-03-09）", "immediate", date(2026, 3, 9)),
        ("长期坚持", "long_term", None),
        # The date in force: after an extension, or a span's end.
        ("2026年6月30日（已延期至2026年12月31日）", "dated", date(2026, 12, 31)),
        ("2026年6月30日前，经批准延期至2027年3月底", "dated", date(2027, 3, 31)),
        ("2026年3月至2026年6月", "dated", date(2026, 6, 30)),
        ("2026.3-2026.9", "dated", date(2026, 9, 30)),
        ("2026-03-01~2026-06-30", "dated", date(2026, 6, 30)),
        (None, None, None),
        ("/", None, None),
    ],
)
def test_deadline_forms(cell: object, kind: str | None, deadline: date | None) -> None:
    assert parse_deadline(cell) == (kind, deadline)


@pytest.mark.parametrize("cell", ["尽快", "2026-02-30", "1899年1月1日", 12])
def test_unparseable_deadlines(cell: object) -> None:
    with pytest.raises(ValueError):
        parse_deadline(cell)


def test_coordinates_dms_full_width_and_swapped() -> None:
    assert parse_lonlat("113°03'00\"E", "北纬34°03′00″") == pytest.approx((113.05, 34.05, False))
    assert parse_lonlat("１１３．１５", "３４．０５") == pytest.approx((113.15, 34.05, False))
    assert parse_lonlat(34.06, 113.16) == pytest.approx((113.16, 34.06, True))
    for bad in ((200, 95), (0, 0), ("abc", 34)):
        with pytest.raises(ValueError):
            parse_lonlat(*bad)


def test_headers_and_words() -> None:
    assert header_field("问题\n编号") == "code"
    assert header_field("乡镇\n（街道）") == "township"
    assert header_field("所属乡镇（街道）") == "township"
    assert header_field("整改\r\n期限") == "deadline"
    assert header_field("XX县中央环保督察反馈问题整改台账") is None
    assert map_status("已销号") == "closed"
    assert map_status("未完成") == "rectifying"
    assert map_status("已完成待验收") == "awaiting_verification"
    # By meaning, not by substring: work reported done is a claim, a phase done is not done.
    assert map_status("已完成") == "awaiting_verification"
    assert map_status("整改完成") == "awaiting_verification"
    assert map_status("基本完成") == "rectifying"
    assert map_status("阶段性完成") == "rectifying"
    assert map_status("已办结") == "closed"
    assert map_status("问题反弹") == "rebounded"
    assert map_status("已交办") == "assigned"
    assert map_status("rectifying") == "rectifying"
    assert map_source("中央第二轮环保督察") == "central_2"
    assert map_source("中央环保督察“回头看”") == "central_lookback"
    assert map_source("12369热线") == "complaint"
    assert map_source("省级环保督察") == "provincial"
    assert map_category("垃圾填埋/生活垃圾") == "landfill"
    assert map_category("城区黑臭水体") == "black_odorous_water"
    assert map_category("看不懂") is None


# ---------------------------------------------------------------------------------------------
# Importing
# ---------------------------------------------------------------------------------------------


def test_messy_workbook_is_reported_row_by_row(towns: Engine) -> None:
    report = run(towns, messy_workbook())
    assert report.header_row == 4
    assert report.sheet == "反馈问题台账"
    got = {r.row: (r.outcome, r.code) for r in report.rows}
    assert got == EXPECTED
    rows = report.by_row()
    for row, words in REJECT_WORDS.items():
        assert words in rows[row].reason, (row, rows[row].reason)
    assert "title" in rows[1].reason and "header" in rows[4].reason
    assert "total" in rows[22].reason and "note" in rows[23].reason
    assert any("swapped" in n for n in rows[9].notes)
    assert any("立行立改" in n for n in rows[12].notes)

    stored = ledger(towns)
    assert sorted(stored) == IMPORTED
    p = stored
    assert p["ZY-001"]["status"] == "rectifying" and p["ZY-001"]["deadline"] == date(2026, 6, 30)
    assert p["ZY-001"]["description"] == "工地扬尘\n未覆盖"
    assert p["ZY-001"]["measures"] == "第一步：排查\n第二步：整治"
    assert p["ZY-001"]["source"] == "central_2" and p["ZY-001"]["category"] == "dust"
    assert p["ZY-001"]["responsible_unit"] == "县生态环境分局"
    assert p["ZY-001"]["progress"] == "正在推进"
    assert (float(p["ZY-002"]["lon"]), float(p["ZY-002"]["lat"])) == pytest.approx((113.05, 34.05))
    # 已完成 is the township's claim, not a closure: it awaits the on-site check.
    assert p["ZY-002"]["status"] == "awaiting_verification"
    assert p["ZY-002"]["source"] == "central_1"
    # The merged township applies to each row, with or without coordinates.
    assert {p[c]["township_code"] for c in ("ZY-001", "ZY-002", "ZY-003")} == {WEST}
    assert p["ZY-003"]["lon"] is None and p["ZY-003"]["status"] == "rectifying"
    assert p["ZY-004"]["township_code"] == EAST and float(p["ZY-004"]["lon"]) == 113.15
    assert p["ZY-004"]["status"] == "assigned"
    assert (float(p["ZY-005"]["lon"]), float(p["ZY-005"]["lat"])) == (113.16, 34.06)
    assert p["ZY-005"]["township_code"] == EAST and p["ZY-005"]["source"] == "complaint"
    assert p["ZY-006"]["township_code"] == WEST and p["ZY-006"]["status"] == "reported"
    assert p["ZY-006"]["deadline"] == date(2026, 12, 31)
    assert p["ZY-007"]["deadline"] == date(2026, 6, 30) and p["ZY-007"]["lon"] is None
    assert p["ZY-008"]["deadline_kind"] == "immediate"
    assert p["ZY-008"]["status"] == "awaiting_verification"
    assert p["ZY-008"]["deadline"] == TODAY + timedelta(days=7)
    assert p["ZY-009"]["deadline_kind"] == "long_term" and p["ZY-009"]["deadline"] is None
    assert p["ZY-009"]["source"] == "central_lookback"
    for code in ("ZY-002", "ZY-003", "ZY-004", "ZY-005", "ZY-015"):
        assert p[code]["deadline"] == date(2026, 6, 30), code
    assert p["ZY-016"]["deadline"] == date(2026, 9, 30)
    # Each problem: a 'created' event, plus one 'imported' event when status or progress is set.
    with towns.connect() as conn:
        actions = dict(
            conn.execute(text("SELECT action, count(*) FROM events GROUP BY action")).all()
        )
        closed_at = conn.execute(
            text("SELECT closed_at FROM problems WHERE code = 'ZY-002'")
        ).scalar_one()
        applications = conn.execute(
            text(
                "SELECT p.code, c.outcome, c.applied_by, c.evidence FROM closures c"
                " JOIN problems p ON p.id = c.problem_id ORDER BY p.code"
            )
        ).all()
        sheet_words = conn.execute(
            text(
                "SELECT e.after->>'sheet_status' FROM events e JOIN problems p"
                " ON p.id = e.problem_id WHERE p.code = 'ZY-002' AND e.action = 'imported'"
            )
        ).scalar_one()
    assert actions == {"created": len(IMPORTED), "imported": len(IMPORTED)}
    assert closed_at is None
    # The claim is a pending closure application, for the office to check and approve.
    assert [(a.code, a.outcome, a.applied_by) for a in applications] == [
        ("ZY-002", "pending", "office"),
        ("ZY-008", "pending", "office"),
    ]
    assert applications[0].evidence["attachments"] == []
    assert "row 6" in applications[0].evidence["sheet"]
    assert sheet_words == "已完成"  # the row's own words stay in the history


def test_dry_run_writes_nothing(towns: Engine) -> None:
    report = run(towns, messy_workbook(), dry_run=True)
    assert report.dry_run
    assert {r.row: (r.outcome, r.code) for r in report.rows} == EXPECTED
    assert count(towns, "problems") == 0
    assert count(towns, "events") == 0


def test_importing_the_same_file_again_changes_nothing(towns: Engine) -> None:
    data = messy_workbook()
    run(towns, data)
    before, events = ledger(towns), count(towns, "events")
    again = run_ledger_import(towns, data, actor="someone else", now=T0 + timedelta(days=40))
    outcomes = {r.row: r.outcome for r in again.rows}
    assert {row for row, o in outcomes.items() if o == "unchanged"} == {
        row for row, (o, _) in EXPECTED.items() if o == "imported"
    }
    assert "imported" not in outcomes.values() and "updated" not in outcomes.values()
    assert ledger(towns) == before
    assert count(towns, "events") == events


def test_a_changed_row_updates_with_events(towns: Engine) -> None:
    run(towns, messy_workbook())
    wb = openpyxl.load_workbook(io.BytesIO(messy_workbook()))
    ws = wb.active
    ws["J5"] = "张敏"  # 责任人 of ZY-001
    ws["O5"] = "已销号"  # 完成情况
    ws["G8"], ws["H8"] = 113.06, 34.06  # ZY-004 moves into 西镇, the sheet still says 东镇
    out = io.BytesIO()
    wb.save(out)
    report = run(towns, out.getvalue())
    rows = report.by_row()
    assert rows[5].outcome == "updated"
    assert rows[5].changed == ["responsible_person", "status"]
    assert any("awaits the on-site check" in n for n in rows[5].notes)
    assert rows[8].outcome == "updated" and "geometry" in rows[8].changed
    assert any("township kept as the sheet names it" in n for n in rows[8].notes)
    assert rows[6].outcome == "unchanged"
    stored = ledger(towns)
    assert stored["ZY-001"]["responsible_person"] == "张敏"
    assert stored["ZY-001"]["status"] == "awaiting_verification"  # not closed by a sheet
    assert stored["ZY-004"]["township_code"] == EAST
    with towns.connect() as conn:
        history = conn.execute(
            text(
                "SELECT e.action, e.before, e.after FROM events e JOIN problems p"
                " ON p.id = e.problem_id WHERE p.code = 'ZY-001' ORDER BY e.id"
            )
        ).all()
    assert [h.action for h in history] == ["created", "imported", "updated", "imported"]
    assert history[2].after == {"responsible_person": "张敏"}
    assert history[3].before["status"] == "rectifying"
    assert history[3].after == {"status": "awaiting_verification", "sheet_status": "已销号"}


def _sheet(rows: list[list[object]]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["问题编号", "问题来源", "属地", "问题类别", "问题描述", "整改时限", "整改状态",
               "销号时间"])  # fmt: skip
    for row in rows:
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_a_historic_closure_keeps_its_date_and_a_closure_claim_awaits_the_check(
    towns: Engine,
) -> None:
    data = _sheet([
        ["H-1", "省级环保督察", "西镇", "扬尘", "道路扬尘", "2025-06-30", "已销号", "2025.3.15"],
        ["H-2", "省级环保督察", "西镇", "扬尘", "工地扬尘", "2025-06-30", "已销号", None],
        ["H-3", "省级环保督察", "西镇", "扬尘", "堆场扬尘", "2025-06-30", "已销号", "尽快"],
    ])  # fmt: skip
    report = run(towns, data)
    rows = report.by_row()
    assert [rows[r].outcome for r in (2, 3, 4)] == ["imported", "imported", "rejected"]
    assert "销号时间" in rows[4].reason
    assert any("no 销号时间" in n for n in rows[3].notes)
    stored = ledger(towns)
    assert stored["H-1"]["status"] == "closed"
    assert stored["H-2"]["status"] == "awaiting_verification"
    with towns.connect() as conn:
        closed_on = conn.execute(
            text(
                "SELECT (closed_at AT TIME ZONE 'Asia/Shanghai')::date FROM problems"
                " WHERE code = 'H-1'"
            )
        ).scalar_one()
    assert closed_on == date(2025, 3, 15)  # from the sheet, not the day of the import
    # The bulletins count it as closed in March 2025, not in the week it was imported.
    from gis.reports.bulletin import period_counts
    from gis.reports.periods import ReportDate

    with Session(towns) as session:
        import_week = period_counts(
            session, TODAY - timedelta(days=6), TODAY, ReportDate(day=TODAY)
        )
        march = period_counts(session, date(2025, 3, 1), date(2025, 3, 31), ReportDate(day=TODAY))
    assert import_week.closed == 0 and march.closed == 1
    # Once in the ledger, a sheet saying 已销号 again closes nothing; a closed one stays closed.
    again = run_ledger_import(towns, _sheet([
        ["H-1", "省级环保督察", "西镇", "扬尘", "道路扬尘", "2025-06-30", "已完成", None],
        ["H-2", "省级环保督察", "西镇", "扬尘", "工地扬尘", "2025-06-30", "已销号", "2025-04-01"],
    ]), actor="office", now=T0 + timedelta(days=1))  # fmt: skip
    assert {r.code: r.outcome for r in again.rows if r.code} == {
        "H-1": "unchanged", "H-2": "unchanged"
    }
    stored = ledger(towns)
    assert stored["H-1"]["status"] == "closed"
    assert stored["H-2"]["status"] == "awaiting_verification"


def test_rows_under_a_merged_code_add_their_measures_to_one_problem(towns: Engine) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["问题编号", "问题来源", "属地", "问题类别", "问题描述", "整改措施", "整改时限"])
    ws.append(["M-1", "省级环保督察", "西镇", "扬尘", "砂石料场扬尘", "1.覆盖料堆", "2026-06-30"])
    ws.append([None, None, None, None, None, "2.硬化道路", None])
    ws.append([None, None, None, None, None, "3.安装喷淋", None])
    ws.append(["M-2", "省级环保督察", "西镇", "扬尘", "道路扬尘", "洒水", "2026-06-30"])
    for col in "ABCDEG":
        ws.merge_cells(f"{col}2:{col}4")
    out = io.BytesIO()
    wb.save(out)
    report = run(towns, out.getvalue())
    rows = report.by_row()
    assert [(r, rows[r].outcome, rows[r].code) for r in (2, 3, 4, 5)] == [
        (2, "imported", "M-1"), (3, "merged", "M-1"), (4, "merged", "M-1"), (5, "imported", "M-2")
    ]
    assert "continues row 2" in rows[3].notes[0]
    assert report.counts()["merged"] == 2 and report.counts()["rejected"] == 0
    assert ledger(towns)["M-1"]["measures"] == "1.覆盖料堆\n2.硬化道路\n3.安装喷淋"
    again = run(towns, out.getvalue())
    assert again.by_row()[2].outcome == "unchanged"


def test_an_imported_claim_goes_through_the_procedure_or_is_withdrawn(towns: Engine) -> None:
    from gis.ledger.writes import transition

    run(towns, _sheet([
        ["C-1", "省级环保督察", "西镇", "扬尘", "道路扬尘", "2026-06-30", "已完成", None],
        ["C-2", "省级环保督察", "西镇", "扬尘", "工地扬尘", "2026-06-30", "已完成", None],
    ]))  # fmt: skip
    with Session(towns) as session, session.begin():
        transition(session, "C-1", "record_check", actor="核查员", passed=True, now=T0)
        transition(session, "C-1", "approve_closure", actor="主任", now=T0)
    # The sheet takes C-2's claim back: its application is withdrawn, and a new one can follow.
    run(towns, _sheet([
        ["C-2", "省级环保督察", "西镇", "扬尘", "工地扬尘", "2026-06-30", "整改中", None],
    ]))  # fmt: skip
    with towns.connect() as conn:
        outcomes = dict(conn.execute(text(
            "SELECT p.code, string_agg(c.outcome, ',' ORDER BY c.id) FROM closures c"
            " JOIN problems p ON p.id = c.problem_id GROUP BY p.code"
        )).all())  # fmt: skip
    assert outcomes["C-2"] == "rejected"
    assert outcomes["C-1"] in ("closed", "in_notice")
    assert ledger(towns)["C-2"]["status"] == "rectifying"
    run(towns, _sheet([
        ["C-2", "省级环保督察", "西镇", "扬尘", "工地扬尘", "2026-06-30", "已完成", None],
    ]))  # fmt: skip
    assert ledger(towns)["C-2"]["status"] == "awaiting_verification"


def test_default_source_fills_empty_cells_and_missing_source_is_rejected(towns: Engine) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["问题编号", "问题来源", "属地", "问题描述", "整改时限"])
    ws.append(["A-1", None, "西镇", "道路扬尘", "2026-06-30"])
    out = io.BytesIO()
    wb.save(out)
    refused = run(towns, out.getvalue())
    assert refused.by_row()[2].outcome == "rejected"
    assert "问题来源" in refused.by_row()[2].reason
    report = run(towns, out.getvalue(), default_source="self_check")
    assert report.by_row()[2].outcome == "imported"
    stored = ledger(towns)["A-1"]
    assert stored["source"] == "self_check" and stored["category"] == "dust"  # from the text


def test_not_a_ledger_is_refused(towns: Engine) -> None:
    with pytest.raises(ExcelLedgerError, match="xlsx"):
        run(towns, b"code,description\n1,x\n")
    wb = openpyxl.Workbook()
    wb.active.append(["hello", "world"])
    out = io.BytesIO()
    wb.save(out)
    with pytest.raises(ExcelLedgerError, match="header"):
        run(towns, out.getvalue())


# ---------------------------------------------------------------------------------------------
# Round trip and exports
# ---------------------------------------------------------------------------------------------


def _export(engine: Engine, fmt: str, **query) -> bytes:  # type: ignore[no-untyped-def]
    with Session(engine) as s:
        return export_ledger(s, ProblemQuery(**query), fmt, today=TODAY).content


def test_round_trip_excel_db_excel_db(towns: Engine) -> None:
    run(towns, messy_workbook())
    first = ledger(towns)
    exported = _export(towns, "xlsx")
    events = count(towns, "events")
    again = run(towns, exported)
    assert {r.outcome for r in again.rows if r.code} == {"unchanged"}
    assert count(towns, "events") == events
    # Into an empty ledger: the same problems, field by field.
    with towns.begin() as conn:
        conn.execute(text("TRUNCATE events, problems RESTART IDENTITY CASCADE"))
    fresh = run(towns, exported)
    assert {r.outcome for r in fresh.rows if r.code} == {"imported"}
    assert ledger(towns) == first
    assert _sheet_values(_export(towns, "xlsx")) == _sheet_values(exported)


def _sheet_values(data: bytes) -> list[tuple]:
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    return [tuple(r) for r in ws.iter_rows(values_only=True)]


def test_excel_export_is_the_template(towns: Engine) -> None:
    run(towns, messy_workbook())
    rows = _sheet_values(_export(towns, "xlsx"))
    assert "整改台账" in rows[0][0]
    assert rows[2][:6] == ("序号", "问题编号", "问题来源", "所属乡镇", "问题类别", "问题描述")
    body = rows[3:-1]
    assert [r[1] for r in body] == IMPORTED
    by_code = {r[1]: dict(zip(rows[2], r, strict=True)) for r in body}
    assert by_code["ZY-001"]["整改时限"] == datetime(2026, 6, 30)
    assert by_code["ZY-001"]["所属乡镇"] == "西镇"
    assert by_code["ZY-001"]["整改状态"] == "整改中"
    assert by_code["ZY-008"]["整改时限"] == "立行立改（2026-03-09）"
    assert by_code["ZY-009"]["整改时限"] == "长期坚持"
    assert by_code["ZY-003"]["经度"] is None
    assert rows[-1][0].startswith("注")


def test_geopackage_geojson_and_csv_exports(towns: Engine) -> None:
    run(towns, messy_workbook())
    located = {c for c, r in ledger(towns).items() if r["lon"] is not None}
    for fmt in ("gpkg", "geojson"):
        frame = gpd.read_file(io.BytesIO(_export(towns, fmt)))
        assert sorted(frame["code"]) == IMPORTED
        assert frame.crs.to_epsg() == 4490
        with_geom = set(frame.loc[frame.geometry.notna(), "code"])
        assert with_geom == located
        one = frame.set_index("code").loc["ZY-005"]
        assert (one.geometry.x, one.geometry.y) == pytest.approx((113.16, 34.06))
        assert one["township_code"] == EAST and one["status"] == "rectifying"
        assert one["category_label"] == "非法采砂"
    text_csv = _export(towns, "csv").decode("utf-8-sig")
    records = list(csv.DictReader(io.StringIO(text_csv)))
    assert [r["code"] for r in records] == IMPORTED
    by_code = {r["code"]: r for r in records}
    assert by_code["ZY-001"]["deadline"] == "2026-06-30"
    assert float(by_code["ZY-001"]["lon"]) == 113.05 and by_code["ZY-003"]["lon"] == ""
    assert by_code["ZY-001"]["description"] == "工地扬尘\n未覆盖"
    # Filters and scope.
    west = gpd.read_file(io.BytesIO(_export(towns, "geojson", scope=(WEST,))))
    assert set(west["township_code"]) == {WEST}
    claimed = list(csv.DictReader(io.StringIO(_export(
        towns, "csv", statuses=("awaiting_verification",)).decode("utf-8-sig"))))  # fmt: skip
    assert sorted(r["code"] for r in claimed) == ["ZY-002", "ZY-008"]


# ---------------------------------------------------------------------------------------------
# HTTP
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def client(towns: Engine):  # type: ignore[no-untyped-def]
    app = create_app(engine=towns, settings=Settings(), clock=lambda: TODAY)
    with TestClient(app) as c:
        yield c


def _upload(client: TestClient, headers: dict, **params) -> object:  # type: ignore[no-untyped-def]
    files = {"file": ("台账.xlsx", messy_workbook(), MEDIA_TYPES[ExportFormat.XLSX])}
    return client.post("/api/import/ledger", params=params, files=files, headers=headers)


def test_upload_endpoint(client: TestClient, towns: Engine) -> None:
    office = make_token(towns, "office")
    dry = _upload(client, office, dry_run="true")
    assert dry.status_code == 200, dry.text
    body = dry.json()
    assert body["dry_run"] is True
    assert {r["row"]: (r["outcome"], r["code"]) for r in body["rows"]} == EXPECTED
    assert count(towns, "problems") == count(towns, "events") == 0
    real = _upload(client, office)
    assert real.status_code == 200
    assert real.json()["counts"] == {
        "imported": 11,
        "updated": 0,
        "unchanged": 0,
        "merged": 0,
        "skipped": 7,
        "rejected": 5,
    }
    assert sorted(ledger(towns)) == IMPORTED
    again = _upload(client, office).json()
    assert again["counts"]["unchanged"] == 11 and again["counts"]["imported"] == 0
    with towns.connect() as conn:
        actors = set(conn.execute(text("SELECT DISTINCT actor FROM events")).scalars())
    assert actors == {"test-office-all"}


def test_upload_refused_to_viewer_and_township(client: TestClient, towns: Engine) -> None:
    for headers in (make_token(towns, "viewer"), make_token(towns, "township", [WEST])):
        response = _upload(client, headers)
        assert response.status_code == 403
    assert count(towns, "problems") == 0
    bad = client.post(
        "/api/import/ledger",
        files={"file": ("x.xlsx", b"not a workbook", "application/octet-stream")},
        headers=make_token(towns, "office"),
    )
    assert bad.status_code == 422 and bad.json()["field"] == "file"


@pytest.mark.parametrize(
    ("fmt", "media_type"),
    [
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
        ("gpkg", "application/geopackage+sqlite3"),
        ("geojson", "application/geo+json"),
        ("csv", "text/csv; charset=utf-8"),
    ],
)
def test_export_endpoint_scope_and_filters(
    client: TestClient, towns: Engine, fmt: str, media_type: str
) -> None:
    run(towns, messy_workbook())
    office, township = make_token(towns, "office"), make_token(towns, "township", [WEST])
    expected_west = sorted(c for c, r in ledger(towns).items() if r["township_code"] == WEST)

    def codes(headers: dict, **params) -> list[str]:  # type: ignore[no-untyped-def]
        response = client.get(
            "/api/export/ledger", params={"format": fmt, **params}, headers=headers
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == media_type
        disposition = response.headers["content-disposition"]
        assert disposition.startswith("attachment;")
        assert f'filename="lookback-ledger-{TODAY.isoformat()}.{fmt}"' in disposition
        return sorted(_codes(fmt, response.content))

    assert codes(office) == IMPORTED
    assert codes(township) == expected_west
    assert codes(office, township=EAST, status="rectifying") == ["ZY-005", "ZY-007", "ZY-009"]
    assert codes(township, township=EAST) == []
    assert codes(office, category="dust") == ["ZY-001"]


def _codes(fmt: str, content: bytes) -> list[str]:
    if fmt == "xlsx":
        rows = _sheet_values(content)
        return [r[1] for r in rows[3:-1]]
    if fmt == "csv":
        return [r["code"] for r in csv.DictReader(io.StringIO(content.decode("utf-8-sig")))]
    frame = gpd.read_file(io.BytesIO(content))
    return list(frame["code"]) if len(frame) else []


def test_export_refused_to_inspector(client: TestClient, towns: Engine) -> None:
    response = client.get("/api/export/ledger", headers=make_token(towns, "inspector", [WEST]))
    assert response.status_code == 403
    assert client.get("/api/export/ledger").status_code == 401


def test_import_in_the_session_does_not_commit(towns: Engine) -> None:
    with Session(towns) as session:
        report = import_ledger(session, messy_workbook(), actor="office", now=T0)
        assert report.counts()["imported"] == 11
        session.rollback()
    assert count(towns, "problems") == 0


def test_demo_county_export_reimports_unchanged(demo_engine: Engine) -> None:
    """Every status, source and category of the demo: the template re-reads with no change."""
    with Session(demo_engine) as s:
        exported = export_ledger(s, ProblemQuery(), "xlsx", today=TODAY).content
    report = run_ledger_import(demo_engine, exported, actor="office", dry_run=True)
    outcomes = [(r.row, r.outcome, r.reason, r.changed) for r in report.rows if r.code]
    assert len(outcomes) == count(demo_engine, "problems")
    assert {o for _, o, _, _ in outcomes} == {"unchanged"}, outcomes[:5]
    for fmt in ("gpkg", "geojson", "csv"):
        with Session(demo_engine) as s:
            assert export_ledger(s, ProblemQuery(), fmt, today=TODAY).content


def test_lines_and_polygons_survive_a_round_trip(towns: Engine) -> None:
    """The template shows a point on a line or polygon; re-importing it keeps the shape."""
    from gis.ledger.writes import ProblemInput, create_problem

    shapes = {
        "L-1": {"type": "LineString", "coordinates": [[113.01, 34.01], [113.05, 34.02]]},
        "P-1": {
            "type": "Polygon",
            "coordinates": [[[113.11, 34.01], [113.14, 34.01], [113.14, 34.04], [113.11, 34.01]]],
        },
    }
    with Session(towns) as s, s.begin():
        for code, geometry in shapes.items():
            create_problem(
                s,
                ProblemInput(code=code, source="self_check", category="sewage_network",
                             geometry=geometry),
                actor="office",
                now=T0,
            )  # fmt: skip
    before, events = ledger(towns), count(towns, "events")
    exported = _export(towns, "xlsx")
    report = run(towns, exported)
    assert [(r.code, r.outcome) for r in report.rows if r.code] == [
        ("L-1", "unchanged"),
        ("P-1", "unchanged"),
    ]
    assert ledger(towns) == before and count(towns, "events") == events
    with towns.connect() as conn:
        kinds = conn.execute(text("SELECT GeometryType(geom) FROM problems ORDER BY code"))
        assert list(kinds.scalars()) == ["LINESTRING", "POLYGON"]


def test_two_row_header_and_combined_coordinates(towns: Engine) -> None:
    """坐标 over 经度/纬度 on a second header row, and 经纬度 in one cell, both read."""
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["序号", "编号", "属地", "类别", "问题描述", "坐标", None, "整改期限", "整改状态"])
    ws.append([None, None, None, None, None, "经度", "纬度", None, None])
    for col in "ABCDEH":
        ws.merge_cells(f"{col}1:{col}2")
    ws.merge_cells("F1:G1")
    ws.append([1, "B-1", "西镇", "扬尘", "工地", 113.05, 34.05, "2026年6月30日", "整改中"])
    ws2 = wb.create_sheet("另一种")
    ws2.append(["问题编号", "问题来源", "经纬度", "问题描述"])
    ws2.append(["C-1", "省级环保督察", "113.15，34.05", "东镇的问题"])
    for book_sheet, code, town in ((ws, "B-1", WEST), (ws2, "C-1", EAST)):
        wb.active = wb.worksheets.index(book_sheet)
        out = io.BytesIO()
        wb.save(out)
        report = run(towns, out.getvalue(), default_source="municipal")
        assert [(r.code, r.outcome) for r in report.rows if r.code] == [(code, "imported")]
        assert ledger(towns)[code]["township_code"] == town
    assert report.header_row == 1


def test_command_line_import_and_export(towns: Engine, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """`lookback import ledger` (dry run, JSON, exit 1 on rejections) and `export ledger`."""
    import json

    import typer
    from typer.testing import CliRunner

    from server.cli import ledger as cli_ledger

    monkeypatch.setattr(cli_ledger, "_engine", lambda: towns)
    app = typer.Typer()
    app.command("import-ledger")(cli_ledger.import_ledger)
    app.add_typer(cli_ledger.export_app, name="export")
    book = tmp_path / "台账.xlsx"
    book.write_bytes(messy_workbook())
    runner = CliRunner()
    dry = runner.invoke(app, ["import-ledger", str(book), "--dry-run", "--json"])
    assert dry.exit_code == 1, dry.output  # rows were rejected
    body = json.loads(dry.stdout)
    assert body["dry_run"] is True and body["counts"]["imported"] == 11
    assert count(towns, "problems") == 0
    real = runner.invoke(app, ["import-ledger", str(book), "--actor", "县整改办"])
    assert real.exit_code == 1 and "ZY-010" in real.stdout
    assert sorted(ledger(towns)) == IMPORTED
    out = tmp_path / "east.csv"
    done = runner.invoke(app, ["export", "ledger", "-f", "csv", "-o", str(out), "--township", EAST])
    assert done.exit_code == 0, done.output
    assert sorted(_codes("csv", out.read_bytes())) == ["ZY-004", "ZY-005", "ZY-007", "ZY-009",
                                                       "ZY-016"]  # fmt: skip
    bad = runner.invoke(app, ["export", "ledger", "-o", str(out), "--status", "done"])
    assert bad.exit_code == 2
    with towns.connect() as conn:
        assert set(conn.execute(text("SELECT DISTINCT actor FROM events")).scalars()) == {
            "县整改办"
        }


def test_upload_needs_a_file_not_a_role(client: TestClient, towns: Engine) -> None:
    response = client.post("/api/import/ledger", json={}, headers=make_token(towns, "office"))
    assert response.status_code == 422
