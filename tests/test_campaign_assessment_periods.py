"""Closing an assessment period stores its results (per township and per unit: score, each item,
rank, the rules and when); a closed period is shown as stored on the page and in its Excel and
PDF; recomputing it from an unchanged history gives the same results, and a rule changed after
the closing changes the recomputation, not the stored results."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.campaigns import assessment, cases
from gis.campaigns.cases import CampaignConflict, CampaignError
from gis.ledger import writes as ledger
from tests.factories import WEST, make_token
from tests.test_campaign_assessment import Q2, UNITS, at, build_county, check_q2

CLOSED_AT = datetime(2026, 7, 2, 1, 30, tzinfo=UTC)  # 09:30 in Shanghai
HTML = {"Accept": "text/html"}
HX = {"HX-Request": "true"}


def pdf_text(data: bytes) -> str:
    return "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(data)).pages)


def test_a_closed_quarter_is_stored_and_stays_as_stored(db) -> None:  # type: ignore[no-untyped-def]
    build_county(db)
    with Session(db) as s, s.begin():
        with pytest.raises(CampaignError, match="尚未结束"):
            assessment.close_period(s, *Q2, actor="office", today=date(2026, 6, 30))
        assert assessment.period_name(*Q2) == "2026年第二季度"
        period = assessment.close_period(s, *Q2, actor="office", today=date(2026, 7, 2),
                                         at=CLOSED_AT)
        assert period.name == "2026年第二季度" and period.rules["overdue_day"] == -0.2
    with db.connect() as conn:
        stored = conn.execute(text(
            "SELECT scored, name, rank, score, counts, points FROM assessment_results"
            " ORDER BY scored, rank")).all()
    assert [(r.scored, r.name, r.rank, r.score) for r in stored] == [
        ("township", "东镇", 1, 82.0), ("township", "西镇", 2, 73.8),
        ("unit", "县住建局", 1, 102.0), ("unit", "县生态环境局", 2, 82.0),
        ("unit", "西镇人民政府", 3, 71.8),
    ]
    assert stored[1].counts["overdue_day"] == 91 and stored[1].points["summons"] == -5
    with Session(db) as s:
        a = assessment.period_assessment(s, *Q2)
        check_q2(a)
        assert a.stored is not None and a.stored["closed_by"] == "office"
        assert a.stored["closed_at"] == CLOSED_AT
        # recomputed from the unchanged history: the same results
        same = assessment.recompute_difference(s, *Q2)
        assert same is not None and same.same and same.rows == [] and same.rules == []
        assert assessment.recompute_difference(s, *Q2, by="unit").same  # type: ignore[union-attr]
        assert assessment.recompute_difference(s, date(2026, 7, 1), date(2026, 9, 30)) is None
        with pytest.raises(CampaignConflict, match="已结算"):
            assessment.close_period(s, *Q2, actor="office", today=date(2026, 7, 3))

    # later events in the ledger leave the quarter as it was; a rule changed after the closing
    # changes the recomputation only
    with Session(db) as s, s.begin():
        ledger.transition(s, "E2", "rebound", actor="office", reason="再次发现",
                          deadline=date(2026, 9, 30), now=at(date(2026, 7, 5)))
        c = cases.find_campaign(s, "省级督察")
        cases.reply_case(s, c, "EA", "迟到的反馈", at=at(date(2026, 7, 8)))
    with Session(db) as s:
        assert assessment.recompute_difference(s, *Q2).same  # type: ignore[union-attr]
    with Session(db) as s, s.begin():
        assessment.set_rules(s, {"summons": -1}, actor="office")
    with Session(db) as s:
        check_q2(assessment.period_assessment(s, *Q2))
        assert {r.name: r.score for r in assessment.period_assessment(s, *Q2, by="unit").rows} \
            == UNITS
        diff = assessment.recompute_difference(s, *Q2)
        assert diff is not None and not diff.same
        assert diff.rules == [{"item": "summons", "stored": -5.0, "recomputed": -1.0}]
        assert [(d["name"], d["field"], d["stored"], d["recomputed"]) for d in diff.rows] == [
            ("西镇", "score", 73.8, 77.8), ("西镇", "summons.points", -5.0, -1.0),
        ]
        # a township officer sees their own rows of the stored results only
        mine = assessment.period_assessment(s, *Q2, scope=[WEST])
        assert [r.name for r in mine.rows] == ["西镇"]
        assert assessment.period_assessment(s, *Q2, by="unit", scope=[WEST]).rows == []


def test_the_office_closes_the_quarter_on_the_page_and_the_downloads_show_it(db) -> None:  # type: ignore[no-untyped-def]
    from gis.config import Settings
    from server.app import create_app

    build_county(db)
    app = create_app(engine=db, settings=Settings(), clock=lambda: date(2026, 7, 2))
    office = TestClient(app, headers={**make_token(db, "office"), **HTML})
    west = TestClient(app, headers={**make_token(db, "township", [WEST]), **HTML})
    with office, west:
        url = "/assessment?year=2026&quarter=2"
        page = office.get(url)
        assert 'id="period" data-stored="false"' in page.text
        assert 'data-form="close-period"' in page.text
        assert 'data-form="close-period"' not in west.get(url).text
        form = {"year": "2026", "quarter": "2", "by": "township"}
        assert west.post("/assessment/close", data={**form, "confirm": "yes"}).status_code == 403
        unticked = office.post("/assessment/close", data=form, headers=HX)
        assert 'data-field="confirm"' in unticked.text and "请勾选确认结算" in unticked.text
        open_q3 = office.post("/assessment/close",
                              data={**form, "quarter": "3", "confirm": "yes"}, headers=HX)
        assert 'data-field="period"' in open_q3.text and "尚未结束" in open_q3.text
        done = office.post("/assessment/close", data={**form, "confirm": "yes"}, headers=HX)
        assert done.headers["HX-Redirect"] == "/assessment?year=2026&quarter=2&by=township" \
            "&done=closed#period"
        again = office.post("/assessment/close", data={**form, "confirm": "yes"}, headers=HX)
        assert 'data-field="period"' in again.text and "已结算" in again.text
        stored = office.get(url)
        assert 'id="period" data-stored="true"' in stored.text
        assert 'data-testid="stored"' in stored.text
        assert 'data-form="close-period"' not in stored.text
        assert 'data-testid="recompute"' in stored.text
        same = office.get(f"{url}&recompute=1")
        assert 'data-testid="difference" data-same="true"' in same.text

        # a rule changed after the closing: the page and downloads keep the stored results
        put = office.put("/api/assessment/rules", json={"points": {"summons": -1}})
        assert put.status_code == 200
        after = office.get(url)
        assert 'data-key="' + WEST + '" data-rank="2" data-score="73.8"' in after.text
        changed = office.get(f"{url}&recompute=1")
        assert 'data-testid="difference" data-same="false"' in changed.text
        assert f'data-key="{WEST}" data-field="score"' in changed.text
        assert 'data-item="summons"' in changed.text.split('id="rules"')[0]
        assert "约谈（分）" in changed.text and "结算时 -5 → 现行 -1" in changed.text
        js = office.get("/api/assessment?year=2026&quarter=2&recompute=true",
                        headers={"Accept": "application/json"}).json()
        assert js["stored"]["name"] == "2026年第二季度" and js["rules"]["summons"] == -5
        assert {r["name"]: r["score"] for r in js["rows"]} == {"东镇": 82.0, "西镇": 73.8}
        assert js["difference"]["same"] is False
        assert {d["field"] for d in js["difference"]["rows"]} == {"score", "summons.points"}
        periods = office.get("/api/assessment/periods",
                             headers={"Accept": "application/json"}).json()
        assert [p["name"] for p in periods["items"]] == ["2026年第二季度"]

        book = load_workbook(io.BytesIO(office.get(
            "/api/assessment?year=2026&quarter=2&format=xlsx").content))
        rows = list(book["考核得分"].iter_rows(values_only=True))
        assert "2026年第二季度已于" in rows[0][0] and "结算时保存的结果" in rows[0][0]
        assert [(r[0], r[1], r[-1]) for r in rows[2:]] == [(1, "东镇", 82.0), (2, "西镇", 73.8)]
        rules = {r[1]: r[2] for r in book["考核规则"].iter_rows(values_only=True) if r}
        assert rules["summons"] == -5 and rules["2026年第二季度"] == js["stored"]["closed_at"]
        pdf = pdf_text(office.get("/api/assessment?year=2026&quarter=2&format=pdf").content)
        assert "本考核期（2026年第二季度）已于" in pdf and "由 test-office-all 结算" in pdf
        assert "73.8" in pdf and "77.8" not in pdf and "(-5)" in pdf
        # an open period is still computed with the current rules
        open_js = office.get("/api/assessment?start=2026-04-01&end=2026-06-29",
                             headers={"Accept": "application/json"}).json()
        assert open_js["stored"] is None and open_js["rules"]["summons"] == -1


def test_the_command_line_closes_a_quarter_and_assess_reads_it_stored(db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    from tests.test_campaign_assessment import ROOT

    build_county(db)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", "from server.cli.main import app; app(prog_name='lookback')",
             "campaign", *args],
            capture_output=True, text=True, cwd=ROOT, timeout=180,
            env={"DATABASE_URL": db.url.render_as_string(hide_password=False),
                 "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
        )

    closed = cli("close-period", "--year", "2026", "--quarter", "2")
    assert closed.returncode == 0, closed.stderr + closed.stdout
    assert "2026年第二季度: closed, 5 results stored" in closed.stdout
    again = cli("close-period", "--year", "2026", "--quarter", "2")
    assert again.returncode == 1 and "已结算" in again.stdout
    assert cli("rules", "--set", "summons=-1").returncode == 0
    out = tmp_path / "考核.xlsx"
    run = cli("assess", "--year", "2026", "--quarter", "2", "-o", str(out))
    assert run.returncode == 0, run.stderr + run.stdout
    assert "stored" in run.stdout and "73.8" in run.stdout and "77.8" not in run.stdout
    rows = list(load_workbook(out)["考核得分"].iter_rows(values_only=True))
    assert [(r[1], r[-1]) for r in rows[2:]] == [("东镇", 82.0), ("西镇", 73.8)]
