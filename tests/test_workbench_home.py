"""The home page's to-do lists for the office and a township: closures awaiting verification,
red and orange warnings, suspected rebounds (linked to /rebounds), complaints near or past their
feedback deadline (coloured as on /complaints, each linked to its case) and look-back rounds with
tasks still to record (each linked to its round) — a township's over its own townships only."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.config import Settings
from gis.ledger import lookbacks
from gis.ledger.complaints import ComplaintInput, create_complaint
from server.app import create_app
from tests.factories import EAST, WEST, close, load_two_townships, make_token, new_problem

HTML = {"Accept": "text/html"}
TODAY = date(2026, 3, 18)  # a Wednesday


def _panel(html: str, testid: str) -> str:
    return html.split(f'data-testid="{testid}"', 1)[1].split("</section>", 1)[0]


@pytest.fixture
def county(db):  # type: ignore[no-untyped-def]
    """Closed W-1, W-2 (west) and E-1 (east); five complaints; two look-back rounds."""
    with Session(db) as s, s.begin():
        load_two_townships(s)
        for code, lon in (("W-1", 113.05), ("W-2", 113.06), ("E-1", 113.15)):
            new_problem(s, code, lon=lon)
            close(s, code)
        complaints = (
            # code, lon, feedback due, answered
            ("XF-W-PAST", 113.0502, date(2026, 3, 16), False),  # red: 2 working days overdue
            ("XF-W-SOON", 113.03, date(2026, 3, 19), False),  # orange: due tomorrow
            ("XF-W-NEAR", 113.03, date(2026, 3, 23), False),  # yellow: 3 working days left
            ("XF-W-LATER", 113.03, date(2026, 4, 30), False),  # blue: not near
            ("XF-W-DONE", 113.03, date(2026, 3, 10), True),  # answered: nothing to do
            ("XF-E-PAST", 113.17, date(2026, 3, 13), False),  # red, in the east
        )
        for code, lon, due, answered in complaints:
            create_complaint(
                s,
                ComplaintInput(
                    code=code,
                    channel="hotline_12345",
                    kind="air",
                    category="dust" if code == "XF-W-PAST" else None,
                    text="工地扬尘",
                    received_at=datetime(2026, 3, 9, 2, tzinfo=UTC),
                    geometry={"type": "Point", "coordinates": [lon, 34.05]},
                ),
            )
            s.execute(
                text(
                    "UPDATE complaints SET feedback_due = :d,"
                    " feedback_at = CASE WHEN :a THEN now() ELSE NULL END WHERE code = :c"
                ),
                {"d": due, "a": answered, "c": code},
            )
        everyone, _ = lookbacks.create_round(
            s,
            name="三月回头看",
            actor="office",
            criteria=lookbacks.RoundCriteria(),
            due_date=date(2026, 3, 31),
        )
        east_only, _ = lookbacks.create_round(
            s, name="东镇专项", actor="office", criteria=lookbacks.RoundCriteria(townships=(EAST,))
        )
        finished, _ = lookbacks.create_round(
            s,
            name="已完成轮次",
            actor="office",
            criteria=lookbacks.RoundCriteria(townships=(WEST,)),
        )
        tasks = s.execute(
            text(
                "SELECT k.id, k.round_id, p.code FROM lookback_tasks k"
                " JOIN problems p ON p.id = k.problem_id"
            )
        ).all()
        for task_id, round_id, code in tasks:
            if round_id == finished.id or (round_id == everyone.id and code == "W-2"):
                lookbacks.record_result(s, task_id, found_again=False, actor="office")
        ids = {"everyone": everyone.id, "east": east_only.id, "finished": finished.id}
    app = create_app(engine=db, settings=Settings(), clock=lambda: TODAY)
    tokens = {
        "office": make_token(db, "office"),
        "west": make_token(db, "township", [WEST]),
    }
    return app, tokens, ids


def test_office_home_lists_complaints_near_or_past_their_deadline(county) -> None:  # type: ignore[no-untyped-def]
    app, tokens, _ = county
    html = TestClient(app, headers={**tokens["office"], **HTML}).get("/").text
    panel = _panel(html, "todo-complaints")
    assert 'href="/complaints"' in panel
    shown = re.findall(r'<tr data-complaint="([^"]+)"', panel)
    # most urgent first; blue (not near) and answered ones are not to-dos
    assert shown == ["XF-E-PAST", "XF-W-PAST", "XF-W-SOON", "XF-W-NEAR"]
    assert "<small>(4)</small>" in panel
    for code in shown:
        assert f'href="/complaints/{code}"' in panel
    colours = re.findall(r'data-colour="(\w+)"', panel)
    assert colours == ["red", "red", "orange", "yellow"]
    # the same badge text as the complaints page, text beside the colour
    assert "逾期 2 个工作日" in panel and "剩 1 个工作日" in panel and "剩 3 个工作日" in panel
    assert "XF-W-LATER" not in html and "XF-W-DONE" not in html


def test_office_home_lists_lookback_rounds_with_tasks_to_record(county) -> None:  # type: ignore[no-untyped-def]
    app, tokens, ids = county
    html = TestClient(app, headers={**tokens["office"], **HTML}).get("/").text
    panel = _panel(html, "todo-lookbacks")
    rows = re.findall(r'<tr data-round="(\d+)">.*?data-testid="pending">(\d+)<', panel, re.S)
    # the dated round first; the finished round is not a to-do
    assert rows == [(str(ids["everyone"]), "2"), (str(ids["east"]), "1")]
    assert f'href="/lookbacks/{ids["everyone"]}"' in panel and "三月回头看" in panel
    assert "2026-03-31" in panel and "已完成轮次" not in panel
    assert "<small>(3)</small>" in panel


def test_office_home_links_the_suspected_rebounds_to_their_queue(county) -> None:  # type: ignore[no-untyped-def]
    app, tokens, _ = county
    html = TestClient(app, headers={**tokens["office"], **HTML}).get("/").text
    panel = _panel(html, "todo-suspects")
    # XF-W-PAST (dust, a few metres from W-1) raised a suspected rebound of W-1
    assert 'href="/ledger/W-1"' in panel and panel.count('href="/rebounds"') == 2
    assert 'data-testid="todo-awaiting"' in html and 'data-testid="todo-warnings"' in html


def test_township_home_shows_its_own_townships_only(county) -> None:  # type: ignore[no-untyped-def]
    app, tokens, ids = county
    client = TestClient(app, headers={**tokens["west"], **HTML})
    html = client.get("/").text
    complaints = _panel(html, "todo-complaints")
    assert re.findall(r'<tr data-complaint="([^"]+)"', complaints) == [
        "XF-W-PAST",
        "XF-W-SOON",
        "XF-W-NEAR",
    ]
    assert "<small>(3)</small>" in complaints
    lookback = _panel(html, "todo-lookbacks")
    # the county round counts only the west's pending task; the east's round is not shown
    assert re.findall(
        r'<tr data-round="(\d+)">.*?data-testid="pending">(\d+)<', lookback, re.S
    ) == [(str(ids["everyone"]), "1")]
    assert "东镇专项" not in html
    for other in ("XF-E-PAST", "E-1", "东镇", EAST):
        assert other not in html, other
    # its rank among all the county's townships
    rank = _panel(html, "rank")
    assert re.search(r"西镇：第<strong>[12]</strong> 名 / 共2 个乡镇", rank), rank
    assert 'data-testid="scorecard"' not in html
    # every link of the to-do lists opens
    for testid in ("todo-complaints", "todo-lookbacks", "todo-suspects"):
        for href in re.findall(r'href="([^"]+)"', _panel(html, testid)):
            assert client.get(href).status_code == 200, href


def test_home_to_do_in_english(county) -> None:  # type: ignore[no-untyped-def]
    app, tokens, _ = county
    client = TestClient(app, headers={**tokens["office"], **HTML}, cookies={"lookback_lang": "en"})
    html = client.get("/").text
    assert "Complaints near or past their feedback deadline" in html
    assert "Look-back tasks to record" in html and "2 working days overdue" in html


def test_the_home_picks_exactly_the_complaints_the_complaints_page_colours_near(county, db) -> None:  # type: ignore[no-untyped-def]
    from gis.ledger.complaints import complaint_queue
    from gis.ledger.worklist import complaints_to_answer

    with Session(db) as s:
        listed, _ = complaint_queue(s, today=TODAY, scope=None, limit=100)
        near = {
            c["code"]: c["colour"] for c in listed if c["colour"] in ("red", "orange", "yellow")
        }
        todo = complaints_to_answer(s, today=TODAY, scope=None, limit=100)
        assert {c["code"]: c["colour"] for c in todo["rows"]} == near and todo["total"] == 4
        short = complaints_to_answer(s, today=TODAY, scope=None, limit=2)
        assert [c["code"] for c in short["rows"]] == ["XF-E-PAST", "XF-W-PAST"]
        assert short["total"] == 4
        assert complaints_to_answer(s, today=TODAY, scope=(), limit=2) == {"rows": [], "total": 0}


def test_each_to_do_heading_opens_its_full_list(county) -> None:  # type: ignore[no-untyped-def]
    app, tokens, _ = county
    for who in ("office", "west"):
        client = TestClient(app, headers={**tokens[who], **HTML})
        html = client.get("/").text
        for testid, target in (
            ("todo-awaiting", "/ledger?status=awaiting_verification"),
            ("todo-warnings", "/ledger?warning=red&amp;warning=orange&amp;sort=days_overdue"),
            ("todo-suspects", "/rebounds"),
            ("todo-complaints", "/complaints"),
            ("todo-lookbacks", "/lookbacks"),
        ):
            heading = _panel(html, testid).split("</h2>", 1)[0]
            href = re.search(r'<h2><a href="([^"]+)"', heading).group(1)
            assert href.startswith(target), (testid, href)
            assert client.get(href.replace("&amp;", "&")).status_code == 200


def test_office_home_has_a_card_per_campaign_stationed_today(db) -> None:  # type: ignore[no-untyped-def]
    from gis.campaigns import cases, dispatch

    with Session(db) as s, s.begin():
        load_two_townships(s)
        running = cases.create_campaign(s, cases.CampaignInput(
            "第三轮省级督察", "provincial", date(2026, 3, 10), date(2026, 4, 10), 3))
        cases.create_campaign(s, cases.CampaignInput(
            "上一轮督察", "municipal", date(2026, 1, 5), date(2026, 2, 5), 3))
        for code, batch, town, received in (
            ("C-W1", 1, WEST, date(2026, 3, 12)), ("C-W2", 1, WEST, date(2026, 3, 12)),
            ("C-E1", 1, EAST, date(2026, 3, 12)), ("C-E2", 2, EAST, TODAY),
        ):
            cases.add_case(s, running, cases.CaseInput(code, batch, f"{code} 扬尘", town, received))
        cases.handle_case(s, running, "C-W1", {"checked_on": date(2026, 3, 13), "finding": "属实"},
                          today=date(2026, 3, 13))
        cases.reply_case(s, running, "C-W1", "已整改", at=datetime(2026, 3, 14, 2, tzinfo=UTC))
        cases.handle_case(s, running, "C-W2", {"checked_on": TODAY}, today=TODAY)
        dispatch.report_progress(s, running, township_code=WEST, day=TODAY, progress="核查1件",
                                 reported_by="西镇联络员", today=TODAY)
        campaign_id = running.id
    app = create_app(engine=db, settings=Settings(), clock=lambda: TODAY)
    office = TestClient(app, headers={**make_token(db, "office"), **HTML})
    html = office.get("/").text
    assert html.count('data-testid="campaign-today"') == 1 and "上一轮督察" not in html
    card = _panel(html, "campaign-today")
    numbers = dict(re.findall(r'data-n="(\w+)"><a [^>]*><span class="n">(\d+)<', card))
    assert numbers == {"cases": "4", "checked": "2", "replied": "1", "reply_overdue": "2"}
    assert f'href="/campaigns/{campaign_id}/dispatch"' in card
    assert 'data-testid="not-reported" data-n="1"' in card and "东镇" in card
    # the same figures as the campaign's dispatch page and daily bulletin of the day
    with Session(db) as s:
        b = dispatch.daily_bulletin(s, cases.get_campaign(s, campaign_id), TODAY)
    assert (b.totals["cases"], b.totals["checked"], b.totals["replied"],
            b.totals["reply_overdue"]) == (4, 2, 1, 2)
    page = office.get(f"/campaigns/{campaign_id}/dispatch").text
    assert f'data-township="{EAST}" data-reported="false"' in page
    assert f'data-township="{WEST}" data-reported="true"' in page
    # townships and viewers have no campaign cards on their home
    for role, towns in (("township", [WEST]), ("viewer", None)):
        other = TestClient(app, headers={**make_token(db, role, towns), **HTML}).get("/").text
        assert 'data-testid="campaign-today"' not in other
