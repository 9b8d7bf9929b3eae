"""Township hotspot reports and county bulletins: data, HTML, PDF, HTTP and the command line."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from pypdf import PdfReader
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gis.ledger.deadlines import warning_sql
from gis.ledger.query import ProblemQuery, list_problems
from gis.ledger.scorecard import township_scorecard
from gis.reports import (
    CountyData,
    ReportDate,
    UnknownTownship,
    county_bulletin,
    load_county,
    township_report,
)
from gis.reports.bulletin import bulletin_period
from gis.reports.hotspot_cells import county_hotspots
from gis.reports.periods import add_months, half_month, issue_label
from gis.reports.township import Change
from layers.report_map import band_curve_png, township_map_png, trend_chart_png
from layers.report_render import (
    html_to_pdf,
    render_bulletin_html,
    render_township_html,
    render_township_pdf,
)
from server.cli.reports import report_app

# The demo county's reference date (tests/conftest.py); not imported, since an installed
# third-party ``tests`` package can shadow this folder's namespace package.
DEMO_AS_OF = date(2026, 11, 23)
EXTERNAL = re.compile(r"""(?:src|href)\s*=\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)
LIVE = ReportDate(day=DEMO_AS_OF)


def pdf_text(data: bytes) -> str:
    """All text of a PDF, pages joined."""
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def pdf_fonts(data: bytes) -> set[str]:
    """Base font names embedded in a PDF."""
    names = set()
    for page in PdfReader(io.BytesIO(data)).pages:
        fonts = page.get("/Resources", {}).get("/Font", {})
        for ref in fonts.values():
            names.add(str(ref.get_object().get("/BaseFont")))
    return names


def overdue_codes(session: Session, code: str) -> list[str]:
    """The township's overdue problem codes, straight from the ledger query."""
    page = list_problems(
        session,
        today=DEMO_AS_OF,
        query=ProblemQuery(overdue=True, township_codes=(code,)),
        limit=10_000,
    )
    return [item["code"] for item in page.items]


@pytest.fixture(scope="module")
def county(demo_engine: Engine) -> CountyData:
    with Session(demo_engine) as session:
        return load_county(session, LIVE)


@pytest.fixture(scope="module")
def town(county: CountyData) -> tuple[str, str]:
    """The township with the most overdue problems: (code, name)."""
    best = max(county.scores.values(), key=lambda s: (s.overdue, s.code))
    assert best.overdue > 0
    return best.code, best.name


@pytest.fixture(scope="module")
def report(demo_engine: Engine, county: CountyData, town: tuple[str, str]):  # type: ignore[no-untyped-def]
    with Session(demo_engine) as session:
        return township_report(session, town[0], report_date=LIVE, county=county)


@pytest.fixture(scope="module")
def report_pdf(report) -> bytes:  # type: ignore[no-untyped-def]
    return render_township_pdf(report)


@pytest.fixture(scope="module")
def client(demo_app) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(demo_app)


@pytest.fixture(scope="module")
def headers(demo_engine: Engine) -> dict[str, dict[str, str]]:
    """Bearer headers per role; the township user sees the first township only."""
    from gis.access import auth

    out = {}
    with Session(demo_engine) as s, s.begin():
        first = s.execute(text("SELECT min(code) FROM townships")).scalar_one()
        for role in ("admin", "office", "viewer", "township"):
            name = f"reports-test-{role}"
            if not s.execute(text("SELECT 1 FROM users WHERE name = :n"), {"n": name}).first():
                towns = [first] if role == "township" else None
                auth.add_user(s, name=name, role=role, password=None, townships=towns, actor="test")
            out[role] = {"Authorization": f"Bearer {auth.create_token(s, name=name, actor='test')}"}
    return out


# --- periods and numbering --------------------------------------------------------------------


def test_periods_and_bulletin_numbers() -> None:
    assert add_months(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert add_months(date(2026, 1, 15), -1) == date(2025, 12, 15)
    assert half_month(date(2026, 11, 23)) == (date(2026, 11, 16), date(2026, 11, 30))
    assert half_month(date(2026, 2, 15)) == (date(2026, 2, 1), date(2026, 2, 15))
    assert bulletin_period("daily", date(2026, 11, 23)) == (
        date(2026, 11, 23),
        date(2026, 11, 23),
        date(2026, 11, 23),
        327,
    )
    assert bulletin_period("daily", date(2026, 1, 1))[3] == 1
    assert bulletin_period("half_monthly", date(2026, 11, 23))[3] == 22
    assert bulletin_period("half_monthly", date(2026, 1, 15))[3] == 1
    assert bulletin_period("half_monthly", date(2026, 12, 31))[3] == 24
    assert issue_label(2026, 22) == "〔2026〕第22期"
    with pytest.raises(ValueError, match="future"):
        ReportDate.for_request(date(2026, 11, 23), date(2026, 11, 24))


def test_month_on_month_wording() -> None:
    up = Change("open", "未销号问题", "Open", 12, 10, "stock")
    assert up.pct == pytest.approx(20.0)
    assert up.text_zh == "环比上升 20.0%，增 2 件" and up.tone == "worse"
    closed = Change("closed", "本月销号", "Closed", 3, 4, "flow", higher_is_better=True)
    assert closed.text_zh.startswith("环比下降 25.0%") and closed.tone == "worse"
    from_zero = Change("new", "本月新增", "New", 3, 0, "flow")
    assert from_zero.pct is None and "上月同期为 0" in from_zero.text_zh
    assert Change("x", "", "", 5, 5, "stock").text_zh == "与上月同期持平"


# --- report data ------------------------------------------------------------------------------


def test_report_numbers_agree_with_scorecard_and_ledger(
    demo_engine: Engine,
    report,
    town: tuple[str, str],  # type: ignore[no-untyped-def]
) -> None:
    code, name = town
    with Session(demo_engine) as session:
        scores = {s.code: s for s in township_scorecard(session, today=DEMO_AS_OF)}
        expected_overdue = overdue_codes(session, code)
    assert report.name == name
    assert report.score == scores[code]
    assert report.n_townships == len(scores)
    heads = {h.key: h for h in report.headlines}
    assert heads["open"].current == scores[code].open
    assert heads["overdue"].current == scores[code].overdue
    assert heads["rebounded"].current == scores[code].rebounded
    assert heads["closed"].current == scores[code].closed_in_period
    tables = {t.key: t for t in report.tables}
    assert sorted(r.code for r in tables["overdue"].rows) == sorted(expected_overdue)
    days = [r.days_overdue for r in tables["overdue"].rows]
    assert days == sorted(days, reverse=True) and all(d > 0 for d in days)
    assert all(r.status == "rebounded" for r in tables["rebounded"].rows)
    assert tables["rebounded"].total == scores[code].rebounded
    assert all(r.responsible_unit and r.responsible_person for r in tables["overdue"].rows)
    open_shares = [c.share for c in report.categories if c.open]
    assert sum(open_shares) == pytest.approx(1.0, abs=0.002)
    assert sum(c.open for c in report.categories) == scores[code].open
    assert len(report.trend) == 12 and report.trend[-1].month == DEMO_AS_OF.replace(day=1)
    assert report.trend[-1].new == heads["new"].current
    assert report.summary_zh.startswith("截至2026年11月23日") and name in report.summary_zh


def test_hotspot_cells_belong_to_the_township(report, town) -> None:  # type: ignore[no-untyped-def]
    hs = report.hotspots
    assert hs.available, hs.reason_en
    assert hs.top and all(c.township_code == town[0] for c in hs.top)
    keys = [(-c.bin, -(c.z or 0)) for c in hs.top]
    assert keys == sorted(keys)
    assert hs.explanations_zh and len(hs.explanations_zh) == len(hs.explanations_en)
    assert all(c.dominant_category for c in hs.top if c.count > 0)


def test_unknown_township_is_refused(demo_engine: Engine, county: CountyData) -> None:
    with Session(demo_engine) as session:
        with pytest.raises(UnknownTownship, match="999999999999"):
            township_report(session, "999999999999", report_date=LIVE)
        with pytest.raises(UnknownTownship):
            township_report(session, "999999999999", report_date=LIVE, county=county)


def test_as_of_report_reads_the_past(demo_engine: Engine, town) -> None:  # type: ignore[no-untyped-def]
    past = date(2026, 9, 30)
    with Session(demo_engine) as session:
        report = township_report(session, town[0], report_date=ReportDate(past, past))
        scores = township_scorecard(session, today=past, query=ProblemQuery(as_of=past))
    assert report.score == next(s for s in scores if s.code == town[0])
    assert report.trend[-1].month == date(2026, 9, 1)


# --- rendering --------------------------------------------------------------------------------


def test_images_are_png_drawn_with_agg(report) -> None:  # type: ignore[no-untyped-def]
    import matplotlib

    assert matplotlib.get_backend().lower() == "agg"
    assert township_map_png(report.map).startswith(b"\x89PNG")
    assert trend_chart_png(report.trend).startswith(b"\x89PNG")
    assert band_curve_png(report.hotspots.band_curve, report.hotspots.band_m).startswith(b"\x89PNG")


def test_html_is_self_contained(report) -> None:  # type: ignore[no-untyped-def]
    html = render_township_html(report)
    assert not EXTERNAL.findall(html)
    assert "http://" not in html and "https://" not in html
    # the map, the trend and the band curve (the automatic band's incremental autocorrelation)
    assert report.hotspots.band_curve and report.hotspots.band_m
    assert html.count('src="data:image/png;base64,') == 3
    assert 'data-testid="band-curve"' in html and "增量空间自相关" in html
    assert "<script" not in html.lower()
    assert report.name in html and "Getis-Ord Gi*" in html and "Benjamini" in html
    for row in report.tables[0].rows:
        assert row.code in html


def test_pdf_names_overdue_problems_in_chinese(
    demo_engine: Engine, report_pdf: bytes, town: tuple[str, str]
) -> None:
    code, name = town
    assert report_pdf.startswith(b"%PDF")
    body = pdf_text(report_pdf)
    assert name in body
    assert "环保督察整改热点报告" in body and "方法说明" in body
    with Session(demo_engine) as session:
        codes = overdue_codes(session, code)
    assert codes
    missing = [c for c in codes if c not in body]
    assert missing == []
    assert any("NotoSansCJK" in f.replace("-", "") for f in pdf_fonts(report_pdf))


def test_report_without_hotspots_says_why(demo_engine: Engine, county, town) -> None:  # type: ignore[no-untyped-def]
    few = county_hotspots(
        [113.3, 113.31, 113.32],
        [34.4, 34.41, 34.42],
        ["dust"] * 3,
        [(t.code, t.geom) for t in county.townships],
    )
    assert not few.available and few.reason_zh and few.reason_en
    with Session(demo_engine) as session:
        report = township_report(
            session, town[0], report_date=LIVE, county=replace(county, hotspots=few)
        )
    assert not report.hotspots.available and report.hotspots.top == []
    html = render_township_html(report)
    assert "本报告不含热点格网" in html and few.reason_en in html
    assert "No hot spot cells" in pdf_text(html_to_pdf(html))


# --- bulletins --------------------------------------------------------------------------------


def red_codes_sql(session: Session) -> set[str]:
    """Red-warning problems straight from the SQL warning rule."""
    rows = session.execute(
        text(f"SELECT p.code FROM problems p WHERE {warning_sql('p')} = 'red'"),
        {"today": DEMO_AS_OF},
    )
    return {r.code for r in rows}


@pytest.mark.parametrize("as_of", [None, DEMO_AS_OF])
def test_bulletin_red_list_is_the_sql_red_warnings(demo_engine: Engine, as_of) -> None:  # type: ignore[no-untyped-def]
    with Session(demo_engine) as session:
        bulletin = county_bulletin(session, "daily", report_date=ReportDate(DEMO_AS_OF, as_of))
        expected = red_codes_sql(session)
    assert expected
    assert {r.code for r in bulletin.red_list} == expected
    assert len(bulletin.red_list) == len(expected) == bulletin.totals["red"]
    assert all(
        r.warning == "red" and r.responsible_unit and r.responsible_person
        for r in bulletin.red_list
    )
    days = [r.days_overdue for r in bulletin.red_list]
    assert days == sorted(days, reverse=True)
    assert bulletin.label == "〔2026〕第327期"


def test_half_monthly_bulletin_counts(demo_engine: Engine) -> None:
    with Session(demo_engine) as session:
        b = county_bulletin(session, "half_monthly", report_date=LIVE)
        new = session.execute(
            text("SELECT count(*) FROM problems WHERE reported_at >= :a AND reported_at < :b"),
            {"a": "2026-11-16T00:00:00+08:00", "b": "2026-11-24T00:00:00+08:00"},
        ).scalar_one()
    assert (b.start, b.end, b.period_end) == (date(2026, 11, 16), DEMO_AS_OF, date(2026, 11, 30))
    assert (b.previous_start, b.previous_end) == (date(2026, 11, 1), date(2026, 11, 15))
    assert b.label == "〔2026〕第22期" and b.partial
    assert b.counts.new == new
    assert b.counts.newly_overdue == len(b.newly_overdue)
    assert all(0 < r.days_overdue <= 8 for r in b.newly_overdue)
    assert len(b.rebounded) <= b.counts.rebounded
    assert [s.rank for s in b.ranking] == list(range(1, len(b.ranking) + 1))


def test_bulletin_ranking_is_the_walls(demo_engine: Engine, client, headers) -> None:  # type: ignore[no-untyped-def]
    resp = client.get("/api/wall/summary", headers=headers["office"])
    assert resp.status_code == 200
    wall = [(r["code"], r["rank"], r["open"], r["overdue"]) for r in resp.json()["ranking"]]
    with Session(demo_engine) as session:
        b = county_bulletin(session, "daily", report_date=LIVE)
    assert [(s.code, s.rank, s.open, s.overdue) for s in b.ranking] == wall


def test_bulletin_renders_to_html_and_pdf(demo_engine: Engine) -> None:
    with Session(demo_engine) as session:
        b = county_bulletin(session, "daily", report_date=LIVE)
    html = render_bulletin_html(b)
    assert not EXTERNAL.findall(html) and "<script" not in html.lower()
    assert "点名通报" in html
    body = pdf_text(html_to_pdf(html))
    assert "〔2026〕第327期" in body and "环保督察整改工作日通报" in body
    assert all(r.code in body for r in b.red_list)
    assert all(s.name in body for s in b.ranking)


def test_half_monthly_bulletin_names_the_summons_held_as_the_assessment_counts_them(db) -> None:  # type: ignore[no-untyped-def]
    from gis.campaigns import accountability, assessment
    from gis.config import Settings
    from server.app import create_app
    from tests.factories import EAST, WEST, make_token
    from tests.test_campaign_assessment import at, build_county

    build_county(db)  # summons 张某 (西镇) on 05-20, accountability 刘某 (东镇) on 06-15
    with Session(db) as session, session.begin():
        for kind, held, person, unit, town in (
            ("summons", date(2026, 6, 3), "陈某", "西镇人民政府", WEST),
            ("summons", date(2026, 6, 10), "孙某", "县交通局", None),
            ("summons", date(2026, 6, 16), "周某", "东镇人民政府", EAST),  # the next span
        ):
            accountability.record_accountability(
                session,
                accountability.AccountabilityInput(kind, held, person, unit, "整改不力",
                                                   township_code=town, outcome="限期整改"),
                recorded_by="office", today=held, now=at(held),
            )
    as_of = ReportDate(day=date(2026, 6, 15), as_of=date(2026, 6, 15))
    with Session(db) as session:
        b = county_bulletin(session, "half_monthly", report_date=as_of)
        daily = county_bulletin(session, "daily", report_date=as_of)
        a = assessment.assess(session, b.start, b.end)
    assert (b.start, b.end) == (date(2026, 6, 1), date(2026, 6, 15))
    by_town = {g["township_code"]: g for g in b.summons}
    assert {k: (g["summons"], g["accountability"]) for k, g in by_town.items()} == {
        WEST: (1, 0), EAST: (0, 1), "": (1, 0),
    }
    # the same numbers as the assessment's, township by township
    assert {r.key: (r.counts["summons"], r.counts["accountability"]) for r in a.rows} == {
        k: v for k, v in ((k, (g["summons"], g["accountability"])) for k, g in by_town.items())
        if k
    }
    east = [(r["person"], r["unit"]) for r in by_town[EAST]["records"]]
    assert east == [("刘某", "县生态环境局")]
    assert b.held == {"summons": 2, "accountability": 1} and daily.summons == []

    app = create_app(engine=db, settings=Settings(), clock=lambda: date(2026, 6, 20))
    with TestClient(app) as client:
        office = make_token(db, "office")
        pdf = client.get("/reports/bulletin/half-monthly.pdf", params={"as_of": "2026-06-15"},
                         headers=office)
        html = client.get("/reports/bulletin/half-monthly.html", params={"as_of": "2026-06-15"},
                          headers=office).text
    body = pdf_text(pdf.content)
    assert "约谈、问责情况" in body and "本期全县约谈 2 次、问责 1 次" in body
    for name in ("陈某", "西镇人民政府", "刘某", "县生态环境局", "孙某", "县交通局", "未明确乡镇"):
        assert name in body, name
    assert "张某" not in body and "周某" not in body  # held outside the span
    assert "约谈、问责情况" in html and "七、工作要求" in html
    assert "约谈、问责情况" not in render_bulletin_html(daily)


# --- HTTP -------------------------------------------------------------------------------------


def test_http_township_report_html_and_pdf(client, headers, town) -> None:  # type: ignore[no-untyped-def]
    code, name = town
    html = client.get(f"/reports/township/{code}.html", headers=headers["office"])
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert name in html.text and not EXTERNAL.findall(html.text)
    pdf = client.get(
        f"/reports/township/{code}.pdf",
        params={"as_of": "2026-11-20"},
        headers=headers["viewer"],
    )
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF") and name in pdf_text(pdf.content)


def test_http_errors(client, headers, town) -> None:  # type: ignore[no-untyped-def]
    office = headers["office"]
    missing = client.get("/reports/township/999999999999.html", headers=office)
    assert missing.status_code == 404 and "999999999999" in missing.json()["detail"]
    future = client.get(
        f"/reports/township/{town[0]}.html", params={"as_of": "2030-01-01"}, headers=office
    )
    assert future.status_code == 422
    assert client.get(f"/reports/township/{town[0]}.docx", headers=office).status_code == 422
    assert client.get(f"/reports/township/{town[0]}.html").status_code == 401


def test_http_township_scope(client, headers, demo_engine: Engine) -> None:  # type: ignore[no-untyped-def]
    with demo_engine.connect() as conn:
        first, other = conn.execute(
            text("SELECT code FROM townships ORDER BY code LIMIT 2")
        ).scalars()
    own = client.get(f"/reports/township/{first}.html", headers=headers["township"])
    assert own.status_code == 200
    assert (
        client.get(f"/reports/township/{other}.html", headers=headers["township"]).status_code
        == 403
    )
    assert (
        client.get("/reports/bulletin/daily.html", headers=headers["township"]).status_code == 403
    )


def test_http_bulletins(client, headers) -> None:  # type: ignore[no-untyped-def]
    daily = client.get("/reports/bulletin/daily.html", headers=headers["office"])
    assert daily.status_code == 200 and "〔2026〕第327期" in daily.text
    half = client.get(
        "/reports/bulletin/half-monthly.pdf",
        params={"as_of": "2026-11-15"},
        headers=headers["admin"],
    )
    assert half.status_code == 200 and "〔2026〕第21期" in pdf_text(half.content)
    assert client.get("/reports/bulletin/weekly.html", headers=headers["office"]).status_code == 422


# --- command line -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cli_env(demo_engine: Engine) -> dict[str, str]:
    return {"DATABASE_URL": str(demo_engine.url.render_as_string(hide_password=False))}


def test_cli_township_pdf(tmp_path: Path, cli_env, town) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "r" / "town.pdf"
    result = CliRunner().invoke(
        report_app,
        ["township", town[0], "--format", "pdf", "-o", str(out), "--as-of", "2026-11-23"],
        env=cli_env,
    )
    assert result.exit_code == 0, result.output
    assert out.read_bytes().startswith(b"%PDF") and town[1] in pdf_text(out.read_bytes())


def test_cli_unknown_township_exits_1(tmp_path: Path, cli_env) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "x.html"
    result = CliRunner().invoke(
        report_app, ["township", "999999999999", "-o", str(out)], env=cli_env
    )
    assert result.exit_code == 1
    assert "no township with code 999999999999" in result.output
    assert not out.exists()


def test_cli_bad_as_of_exits_1(tmp_path: Path, cli_env, town) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / "x.html"
    result = CliRunner().invoke(
        report_app, ["township", town[0], "-o", str(out), "--as-of", "23/11/2026"], env=cli_env
    )
    assert result.exit_code == 1 and "--as-of" in result.output


def test_cli_all_writes_one_pdf_per_township(tmp_path: Path, cli_env, county) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        report_app,
        ["all", "--format", "pdf", "-o", str(tmp_path), "--as-of", "2026-11-23", "--jobs", "2"],
        env=cli_env,
    )
    assert result.exit_code == 0, result.output
    files = sorted(tmp_path.glob("*.pdf"))
    assert [f.name.split("-")[0] for f in files] == [t.code for t in county.townships]
    assert all(f.read_bytes().startswith(b"%PDF") for f in files)
    assert f"wrote {len(county.townships)} reports" in result.output


def test_cli_all_html(tmp_path: Path, cli_env, county) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(
        report_app, ["all", "--format", "html", "-o", str(tmp_path)], env=cli_env
    )
    assert result.exit_code == 0, result.output
    assert len(list(tmp_path.glob("*.html"))) == len(county.townships)


@pytest.mark.parametrize(
    ("kind", "label"), [("daily", "〔2026〕第327期"), ("half-monthly", "〔2026〕第22期")]
)
def test_cli_bulletins(tmp_path: Path, cli_env, kind: str, label: str) -> None:  # type: ignore[no-untyped-def]
    out = tmp_path / f"{kind}.html"
    result = CliRunner().invoke(
        report_app,
        ["bulletin", kind, "--format", "html", "-o", str(out), "--as-of", "2026-11-23"],
        env=cli_env,
    )
    assert result.exit_code == 0, result.output
    assert label in out.read_text(encoding="utf-8")


def test_township_report_compares_complaint_hot_spots_with_last_month(
    demo_engine: Engine, county: CountyData, report
) -> None:  # type: ignore[no-untyped-def]
    from gis.hotspots.data import PointFilter, compare_hotspots

    change = report.change
    html = render_township_html(report)
    assert change.available, change.reason_en  # the demo county has complaints in both months
    with Session(demo_engine) as session:
        cmp = compare_hotspots(
            session, PointFilter(kind="complaints"), today=report.day, by="period"
        )
    mine = [k for k, o in enumerate(county.change.map.owner) if o == report.code]
    for key, n in change.tally.items():
        assert n == sum(1 for k in mine if cmp.change[k] == key), key
    assert change.complaints_a + change.complaints_b == sum(
        int(cmp.a.count[k]) + int(cmp.b.count[k]) for k in mine
    )
    assert 'data-testid="hotspot-change"' in html and change.label_b in html


def test_a_report_without_a_comparison_says_why(demo_engine: Engine, county, town) -> None:  # type: ignore[no-untyped-def]
    from gis.reports.hotspot_change import CountyChange

    none = CountyChange(False, "上月信访件太少，无法比较。", "Too few complaints last month.")
    with Session(demo_engine) as session:
        report = township_report(
            session, town[0], report_date=LIVE, county=replace(county, change=none)
        )
    assert not report.change.available
    html = render_township_html(report)
    assert "本期无信访热点比较" in html and "Too few complaints last month." in html
