"""Assessment from stored rules over a small hand-built county, matching a hand-computed table;
a past quarter is recomputed from the history whatever happened later. Summons and
accountability on record are listed per township and unit and counted."""

from __future__ import annotations

import io
import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.campaigns import accountability, assessment, cases
from gis.campaigns.cases import CampaignError
from gis.ledger import writes as ledger
from tests.factories import EAST, WEST, close, load_two_townships, make_token

ROOT = Path(__file__).resolve().parent.parent
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
RULES = {
    "base": 100, "overdue_day": -0.2, "rebound": -4, "red_warning": -3, "late_reply": -2,
    "closed_on_time": 2, "summons": -5, "accountability": -10,
}
Q2 = (date(2026, 4, 1), date(2026, 6, 30))


def at(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai


def problem(s: Session, code: str, town: str, unit: str, deadline: date) -> None:
    lon = 113.05 if town == WEST else 113.15
    ledger.create_problem(
        s,
        ledger.ProblemInput(
            code=code, source="provincial", category="dust", deadline=deadline,
            description=f"{code} 扬尘", responsible_unit=unit, responsible_person="某人",
            geometry={"type": "Point", "coordinates": [lon, 34.05]},
        ),
        actor="office", now=T0,
    )


def build_county(engine) -> int:  # type: ignore[no-untyped-def]
    """The county of the hand-computed table (everything up to the end of Q2)."""
    with Session(engine) as s, s.begin():
        load_two_townships(s)
        assessment.set_rules(s, RULES, actor="office")
        for code, town, unit, deadline in (
            ("W1", WEST, "西镇人民政府", date(2026, 5, 31)),  # open: 30 days overdue, orange
            ("W2", WEST, "西镇人民政府", date(2026, 4, 30)),  # open: 61 days overdue, red
            ("W3", WEST, "县住建局", date(2026, 6, 30)),  # closed 06-10: on time
            ("W4", WEST, "西镇人民政府", date(2026, 4, 15)),  # closed 05-05: late
            ("E1", EAST, "县生态环境局", date(2026, 6, 30)),  # closed 04-20, rebounded 05-10
            ("E2", EAST, "县生态环境局", date(2026, 3, 31)),  # closed 03-20, before Q2
            ("E3", EAST, "县生态环境局", date(2026, 6, 20)),  # open: 10 days overdue
        ):
            problem(s, code, town, unit, deadline)
        for code in ("W1", "W2", "E3"):
            ledger.transition(s, code, "assign", actor="office", now=T0)
        close(s, "W3", at=at(date(2026, 6, 10)))
        close(s, "W4", at=at(date(2026, 5, 5)))
        close(s, "E1", at=at(date(2026, 4, 20)))
        close(s, "E2", at=at(date(2026, 3, 20)))
        ledger.transition(s, "E1", "rebound", actor="office", reason="复查发现扬尘",
                          deadline=date(2026, 8, 31), now=at(date(2026, 5, 10)))
        c = cases.create_campaign(
            s, cases.CampaignInput("省级督察", "provincial", date(2026, 5, 25), date(2026, 7, 5), 5)
        )
        for code, town, received in (
            ("WA", WEST, date(2026, 5, 31)),  # due 06-05, replied 06-08: late
            ("WB", WEST, date(2026, 6, 7)),  # due 06-12, replied 06-12: on time
            ("EA", EAST, date(2026, 6, 20)),  # due 06-25, never replied: late
            ("EB", EAST, date(2026, 6, 28)),  # due 07-03: not in Q2
        ):
            cases.add_case(s, c, cases.CaseInput(code, 1, f"{code} 反映扬尘", town, received))
            unit = "西镇人民政府" if town == WEST else "县生态环境局"
            cases.handle_case(s, c, code, {"checked_on": received, "finding": "属实",
                                             "responsible_unit": unit}, today=received)
        cases.reply_case(s, c, "WA", "已整改", at=at(date(2026, 6, 8)))
        cases.reply_case(s, c, "WB", "已整改", at=at(date(2026, 6, 12)))
        accountability.record_accountability(
            s,
            accountability.AccountabilityInput(
                "summons", date(2026, 5, 20), "张某", "西镇人民政府", "W2 逾期未整改",
                problem_codes=["W2"], outcome="限期一个月整改到位",
            ),
            recorded_by="office", today=date(2026, 5, 20), now=at(date(2026, 5, 20)),
        )
        accountability.record_accountability(
            s,
            accountability.AccountabilityInput(
                "accountability", date(2026, 6, 15), "刘某", "县生态环境局", "E1 整改不实反弹",
                problem_codes=["E1", "E3"], outcome="诫勉谈话",
            ),
            recorded_by="office", today=date(2026, 6, 15), now=at(date(2026, 6, 15)),
        )
        return c.id


# The hand-computed table (rules above): counts, then the score.
#            overdue_day red rebound closed_on_time late_reply summons accountability
TOWNSHIPS = {
    "西镇": ({"overdue_day": 91, "red_warning": 1, "rebound": 0, "closed_on_time": 1,
              "late_reply": 1, "summons": 1, "accountability": 0}, 73.8),
    # 100 − 91×0.2 − 3 + 2 − 2 − 5
    "东镇": ({"overdue_day": 10, "red_warning": 0, "rebound": 1, "closed_on_time": 0,
              "late_reply": 1, "summons": 0, "accountability": 1}, 82.0),
    # 100 − 10×0.2 − 4 − 2 − 10 (E1's closure rebounded: no bonus)
}
UNITS = {"县住建局": 102.0, "县生态环境局": 82.0, "西镇人民政府": 71.8}


def check_q2(a: assessment.Assessment) -> None:
    got = {r.name: (r.counts, r.score) for r in a.rows}
    assert got == TOWNSHIPS
    assert [(r.rank, r.name) for r in a.rows] == [(1, "东镇"), (2, "西镇")]
    east = a.rows[0]
    assert east.points["accountability"] == -10 and east.points["overdue_day"] == -2


def test_quarter_scores_match_the_hand_computed_table_and_stay_so(db) -> None:  # type: ignore[no-untyped-def]
    build_county(db)
    with Session(db) as s:
        check_q2(assessment.assess(s, *Q2))
        units = assessment.assess(s, *Q2, by="unit")
    assert {r.name: r.score for r in units.rows} == UNITS
    assert [r.name for r in units.rows] == ["县住建局", "县生态环境局", "西镇人民政府"]
    assert units.rows[2].counts["overdue_day"] == 91 and units.rows[2].counts["summons"] == 1

    # what happens in July changes July, not the second quarter
    with Session(db) as s, s.begin():
        ledger.transition(s, "E2", "rebound", actor="office", reason="再次发现",
                          deadline=date(2026, 9, 30), now=at(date(2026, 7, 5)))
        ledger.transition(s, "E3", "start", actor="township", now=at(date(2026, 7, 6)))
        ledger.update_problem(s, "W1", {"responsible_unit": "县住建局"}, actor="office",
                              now=at(date(2026, 7, 7)))
        c = cases.find_campaign(s, "省级督察")
        cases.reply_case(s, c, "EA", "迟到的反馈", at=at(date(2026, 7, 8)))
    with Session(db) as s:
        check_q2(assessment.assess(s, *Q2))
        assert {r.name: r.score for r in assessment.assess(s, *Q2, by="unit").rows} == UNITS
        july = assessment.assess(s, date(2026, 7, 1), date(2026, 7, 31))
    assert {r.name: r.counts["rebound"] for r in july.rows} == {"西镇": 0, "东镇": 1}

    # the rules are stored: changing one point changes the scores
    with Session(db) as s, s.begin():
        assessment.set_rules(s, {"summons": -1}, actor="office")
    with Session(db) as s:
        west = next(r for r in assessment.assess(s, *Q2).rows if r.name == "西镇")
        assert west.score == pytest.approx(77.8)
        with pytest.raises(CampaignError, match="未知考核项.*unknown item"):
            assessment.set_rules(s, {"per_meeting": 1}, actor="office")


def test_summons_on_record_through_the_api_and_the_report(db) -> None:  # type: ignore[no-untyped-def]
    from gis.config import Settings
    from server.app import create_app

    build_county(db)
    app = create_app(engine=db, settings=Settings(), clock=lambda: date(2026, 7, 1))
    office = make_token(db, "office")
    west = make_token(db, "township", [WEST])
    with TestClient(app) as client:
        listed = client.get("/api/accountability", headers=office).json()
        assert [(i["kind_zh"], i["person"], i["unit"]) for i in listed["items"]] == [
            ("问责", "刘某", "县生态环境局"), ("约谈", "张某", "西镇人民政府"),
        ]
        assert listed["items"][0]["problem_codes"] == ["E1", "E3"]
        assert listed["items"][0]["township"] == "东镇"  # from its problems
        assert {u["unit"]: (u["summons"], u["accountability"]) for u in listed["by_unit"]} == {
            "县生态环境局": (0, 1), "西镇人民政府": (1, 0),
        }
        mine = client.get("/api/accountability", headers=west).json()
        assert [i["person"] for i in mine["items"]] == ["张某"]
        bad = client.post(
            "/api/accountability",
            json={"kind": "summons", "held_on": "2026-06-30", "person": "王某", "unit": "东镇",
                  "reason": "x", "problem_codes": ["NOPE"]},
            headers=office,
        )
        assert bad.status_code == 422 and "不存在" in bad.json()["detail"]
        assert client.post(
            "/api/accountability",
            json={"kind": "summons", "held_on": "2026-06-30", "person": "王某", "unit": "东镇",
                  "reason": "x"},
            headers=west,
        ).status_code == 403
        made = client.post(
            "/api/accountability",
            json={"kind": "summons", "held_on": "2026-06-30", "person": "王某",
                  "unit": "县生态环境局", "reason": "E3 逾期", "problem_codes": ["E3"]},
            headers=office,
        )
        assert made.status_code == 201
        q2 = client.get("/api/assessment?year=2026&quarter=2", headers=office).json()
        east = next(r for r in q2["rows"] if r["name"] == "东镇")
        assert east["counts"]["summons"] == 1 and east["score"] == pytest.approx(77.0)
        assert [r["name"] for r in client.get(
            "/api/assessment?year=2026&quarter=2", headers=west).json()["rows"]] == ["西镇"]
        xlsx = client.get("/api/assessment?year=2026&quarter=2&by=unit&format=xlsx",
                          headers=office)
        rows = list(load_workbook(io.BytesIO(xlsx.content))["考核得分"].iter_rows(values_only=True))
        assert rows[2][:2] == (1, "县住建局") and rows[2][-1] == 102.0
        pdf = client.get("/api/assessment?year=2026&quarter=2&format=pdf", headers=office)
        text_ = "\n".join(p.extract_text() or "" for p in PdfReader(io.BytesIO(pdf.content)).pages)
        assert "考核得分" in text_ and "东镇" in text_ and "73.8" in text_
        put = client.put("/api/assessment/rules", json={"points": {"rebound": -6}},
                         headers=office)
        assert put.json()["rules"]["rebound"] == -6
        assert client.put("/api/assessment/rules", json={"points": {"rebound": -6}},
                          headers=west).status_code == 403
    with db.connect() as conn:
        trace = conn.execute(
            text("SELECT e.action FROM events e JOIN problems p ON p.id = e.problem_id"
                 " WHERE p.code = 'E3' AND e.action IN ('summons', 'accountability')"
                 " ORDER BY e.id")
        ).scalars().all()
    assert trace == ["accountability", "summons"]

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", "from server.cli.main import app; app(prog_name='lookback')",
             "campaign", *args],
            capture_output=True, text=True, cwd=ROOT, timeout=180,
            env={"DATABASE_URL": db.url.render_as_string(hide_password=False),
                 "PATH": "/usr/bin:/bin", "COLUMNS": "200"},
        )

    rules = cli("rules", "--set", "rebound=-5", "--set", "summons=-5")
    assert rules.returncode == 0, rules.stderr + rules.stdout
    assert cli("rules", "--set", "per_meeting=1").returncode == 1
    made = cli("record", "accountability", "--person", "孙某", "--unit", "西镇人民政府",
               "--reason", "W1 逾期", "--held-on", "2026-06-29", "--problem", "W1")
    assert made.returncode == 0, made.stderr + made.stdout
    refused = cli("record", "约谈", "--person", "孙某", "--unit", "x", "--reason", "y",
                  "--held-on", "2026-06-29")
    assert refused.returncode == 1 and "kind" in refused.stdout
    listed = cli("records", "--unit", "西镇人民政府")
    assert "孙某" in listed.stdout and "张某" in listed.stdout and "刘某" not in listed.stdout
    run = cli("assess", "--year", "2026", "--quarter", "2")
    assert run.returncode == 0, run.stderr + run.stdout
    # 西镇: 73.8 − 10 for the accountability recorded from the command line
    assert "东镇" in run.stdout and "63.8" in run.stdout

