"""The working-day calendar outlives its package: an admin loads a year's official schedule.

``chinese-calendar`` covers the years it was published with; for later ones the answers are
provisional until a year's schedule (holidays and 调休 make-up workdays) is loaded from a file,
and loading recomputes the deadlines that depend on it.
"""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.ledger import records
from gis.ledger.complaints import ComplaintInput, create_complaint
from gis.ledger.workdays import (
    CalendarFileError,
    add_workdays,
    is_provisional,
    is_workday,
    load_calendar,
    load_schedule,
    parse_schedule,
)
from tests.factories import load_two_townships

ROOT = Path(__file__).resolve().parent.parent

# A schedule for a year the package does not know. The days are made up for the test; a county
# loads the State Council's notice for the year.
SCHEDULE_2031 = """日期,类型,名称
# 春节
2031年1月22日~2031年1月28日,休,春节
2031-01-19,班,春节调休
2031-02-08,班,春节调休
2031-05-01 ~ 2031-05-05,holiday,劳动节
"""


def test_years_beyond_the_package_are_provisional_until_loaded() -> None:
    assert not is_provisional(date(2026, 10, 1))
    assert is_provisional(date(2031, 1, 22))
    year, days = parse_schedule(SCHEDULE_2031)
    assert year == 2031 and len(days) == 7 + 2 + 5


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("2031-01-22,休\n2031-13-01,班\n", ["line 2", "bad date"]),
        ("2031-01-22,maybe\n", ["line 1", "neither a holiday"]),
        ("2031-01-22,休\n2032-01-01,休\n", ["one year", "2031, 2032"]),
        ("2031-01-22,休\n2031-01-22,班\n", ["both"]),
        ("# nothing\n", ["no days"]),
        ("2031-02-10~2031-01-01,休\n", ["bad range"]),
    ],
)
def test_a_bad_schedule_is_refused_naming_each_line(text: str, words: list[str]) -> None:
    with pytest.raises(CalendarFileError) as refused:
        parse_schedule(text)
    for word in words:
        assert word in str(refused.value)


def test_a_loaded_year_decides_working_days_and_recomputes_deadlines(db) -> None:  # type: ignore[no-untyped-def]
    received = datetime(2031, 1, 20, 2, tzinfo=UTC)  # Monday 10:00 in Shanghai
    with Session(db) as session, session.begin():
        load_two_townships(session)
        complaint, _ = create_complaint(
            session,
            ComplaintInput(
                code="XF-2031-1", channel="hotline_12345", kind="air", text="夜间施工扬尘",
                received_at=received,
            ),
        )
        provisional_due = complaint.feedback_due
        assert records.complaint_record(session, "XF-2031-1", date(2031, 1, 20))[
            "feedback_due_provisional"
        ] is True
        before = load_calendar(session)
        assert not is_workday(date(2031, 1, 19), before)  # a Sunday, by the week alone
        result = load_schedule(session, SCHEDULE_2031, actor="admin", source="2031.csv")
        assert (result.year, result.holidays, result.workdays) == (2031, 12, 2)
        calendar = load_calendar(session)
        assert 2031 in calendar.years and not is_provisional(date(2031, 1, 22), calendar)
        assert is_workday(date(2031, 1, 19), calendar)  # the make-up Sunday
        assert not is_workday(date(2031, 1, 23), calendar)  # a Thursday of the holiday
        assert is_workday(date(2031, 1, 29), calendar)
        # received Mon 20 Jan: Tue 21 is the first working day, then the holiday to the 28th
        due = add_workdays(date(2031, 1, 20), 7, calendar)
        assert due == date(2031, 2, 5)
        assert result.complaints_recomputed == (1 if due != provisional_due else 0)
        record = records.complaint_record(session, "XF-2031-1", date(2031, 1, 20))
        assert record["feedback_due"] == due and record["feedback_due_provisional"] is False
        # loading the year again replaces it, it does not add to it
        load_schedule(session, "2031-10-01~2031-10-07,休,国庆节\n", actor="admin")
        assert is_workday(date(2031, 1, 23), load_calendar(session))
        count = session.execute(text("SELECT count(*) FROM official_calendar")).scalar_one()
        assert count == 7


def test_the_command_loads_a_file_and_dry_runs(db, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    good = tmp_path / "2031.csv"
    good.write_text(SCHEDULE_2031, encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("2031-01-22,maybe\n", encoding="utf-8")
    env_url = db.url.render_as_string(hide_password=False)

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-c", "from server.cli.main import app; app(prog_name='lookback')",
             "calendar", *args],
            capture_output=True, text=True, cwd=ROOT, timeout=120,
            env={"DATABASE_URL": env_url, "PATH": "/usr/bin:/bin", "LOOKBACK_HOME": str(tmp_path)},
        )

    dry = run("load", str(good), "--dry-run")
    assert dry.returncode == 0, dry.stderr + dry.stdout
    assert "checked 12 holidays and 2 make-up workdays" in dry.stdout
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM official_calendar")).scalar_one() == 0
    refused = run("load", str(bad))
    assert refused.returncode == 1 and "line 1" in refused.stdout
    assert "Traceback" not in refused.stderr
    loaded = run("load", str(good))
    assert loaded.returncode == 0 and "loaded 12 holidays" in loaded.stdout
    listed = run("list")
    assert "2031" in listed.stdout and "loaded" in listed.stdout


def test_the_api_loads_a_year_for_admins_only(db) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from gis.config import Settings
    from server.app import create_app
    from tests.factories import make_token

    app = create_app(engine=db, settings=Settings())
    admin, office = make_token(db, "admin"), make_token(db, "office")
    with TestClient(app) as c:
        csv = {"Content-Type": "text/csv"}
        refused = c.post("/api/calendar", content=SCHEDULE_2031, headers=office | csv)
        assert refused.status_code == 403
        bad = c.post("/api/calendar", content="2031-01-22,maybe\n", headers=admin | csv)
        assert bad.status_code == 422 and "line 1" in bad.json()["problems"][0]
        ok = c.post("/api/calendar", content=SCHEDULE_2031.encode(), headers=admin | csv)
        assert ok.status_code == 200 and ok.json()["year"] == 2031
        years = {y["year"]: y for y in c.get("/api/calendar", headers=office).json()["years"]}
    assert years[2031]["loaded"] and not years[2031]["provisional"]
