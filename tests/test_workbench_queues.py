"""The queue pages over HTTP: look-back rounds (回头看), suspected rebounds (疑似反弹) and
complaints (信访): pages for office and township, scope, each form's success and refusal."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.config import Settings
from gis.ledger.complaints import ComplaintInput, create_complaint
from gis.ledger.deadlines import local_today
from server.app import create_app
from tests.factories import EAST, WEST, close, load_two_townships, make_token, new_problem
from tests.test_workbench import assert_clean_page

HTML = {"Accept": "text/html"}
HX = {"HX-Request": "true"}
TODAY = local_today()
LATER = (TODAY + timedelta(days=60)).isoformat()


@pytest.fixture
def county(db):  # type: ignore[no-untyped-def]
    """Two townships with closed problems (W-1, W-2 west; E-1 east), one open, and users."""
    with Session(db) as s, s.begin():
        load_two_townships(s)
        for code, lon in (("W-1", 113.05), ("W-2", 113.06), ("E-1", 113.15)):
            new_problem(s, code, lon=lon)
            close(s, code)
        new_problem(s, "W-open", lon=113.07)
    app = create_app(engine=db, settings=Settings())
    tokens = {
        "office": make_token(db, "office"),
        "west": make_token(db, "township", [WEST]),
        "east": make_token(db, "township", [EAST]),
        "viewer": make_token(db, "viewer"),
    }
    clients = {k: TestClient(app, headers={**v, **HTML}) for k, v in tokens.items()}
    return app, clients


def _round(db, name: str = "第一轮") -> int:  # type: ignore[no-untyped-def]
    with db.connect() as conn:
        return conn.execute(
            text("SELECT id FROM lookback_rounds WHERE name = :n"), {"n": name}
        ).scalar_one()


def _tasks(db, round_id: int) -> dict[str, tuple[int, str]]:  # type: ignore[no-untyped-def]
    with db.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT p.code, k.id, k.result FROM lookback_tasks k"
                " JOIN problems p ON p.id = k.problem_id WHERE k.round_id = :r"
            ),
            {"r": round_id},
        ).all()
    return {code: (task_id, result) for code, task_id, result in rows}


# -- look-backs --------------------------------------------------------------------------------


def test_create_a_round_refused_then_made(county, db) -> None:  # type: ignore[no-untyped-def]
    _, c = county
    office = c["office"]
    page = office.get("/lookbacks")
    assert_clean_page(page)
    assert 'data-total="0"' in page.text and 'data-form="create-round"' in page.text
    # no name, no sample size: both refused beside their fields, what was typed kept
    resp = office.post(
        "/lookbacks", data={"name": "", "mode": "sample", "category": "dust"}, headers=HX
    )
    assert resp.status_code == 200
    assert resp.text.lstrip().startswith("<form")
    assert 'data-field="name"' in resp.text and "请填写轮次名称" in resp.text
    assert 'data-field="sample"' in resp.text and "sample is 1 to 10000" in resp.text
    assert '<option value="dust" selected>' in resp.text
    # a period in which nothing was closed
    resp = office.post(
        "/lookbacks",
        data={
            "name": "空",
            "mode": "period",
            "closed_from": "2020-01-01",
            "closed_to": "2020-02-01",
        },
        headers=HX,
    )
    assert "没有符合条件的已销号问题" in resp.text
    # without htmx the whole page comes back with 422
    plain = office.post("/lookbacks", data={"name": "x", "mode": "period"})
    assert (
        plain.status_code == 422
        and "<html" in plain.text
        and 'data-field="closed_from"' in plain.text
    )
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM lookback_rounds")).scalar_one() == 0
    # the west township, all closed in March 2026: W-1 and W-2
    resp = office.post(
        "/lookbacks",
        data={
            "name": "第一轮",
            "townships": WEST,
            "mode": "period",
            "closed_from": "2026-03-01",
            "closed_to": "2026-03-31",
        },
        headers=HX,
    )
    round_id = _round(db)
    assert resp.headers["HX-Redirect"] == f"/lookbacks/{round_id}?done=created"
    assert set(_tasks(db, round_id)) == {"W-1", "W-2"}
    listed = office.get("/lookbacks").text
    assert f'href="/lookbacks/{round_id}"' in listed and 'data-done="0" data-total="2"' in listed
    assert "西镇" in listed and "2026-03-01" in listed
    detail = office.get(f"/lookbacks/{round_id}?done=created")
    assert_clean_page(detail)
    assert "已创建回头看轮次" in detail.text and detail.text.count('data-result="pending"') == 2
    # a sample of one over the whole county
    office.post("/lookbacks", data={"name": "抽查", "mode": "sample", "sample": "1"}, headers=HX)
    assert len(_tasks(db, _round(db, "抽查"))) == 1
    # the JSON list says the same
    rounds = office.get("/api/lookbacks").json()
    assert [(r["name"], r["tasks"], r["done"]) for r in rounds] == [
        ("抽查", 1, 0),
        ("第一轮", 2, 0),
    ]


def test_township_users_see_only_their_rounds_and_cannot_create(county, db) -> None:  # type: ignore[no-untyped-def]
    _, c = county
    c["office"].post(
        "/lookbacks", data={"name": "第一轮", "townships": WEST, "mode": "sample", "sample": "5"}
    )
    round_id = _round(db)
    west, east = c["west"], c["east"]
    page = west.get("/lookbacks")
    assert_clean_page(page)
    assert "第一轮" in page.text and 'data-form="create-round"' not in page.text
    assert_clean_page(west.get(f"/lookbacks/{round_id}"))
    # the sample size would hint at how many other problems were drawn: not shown to townships
    assert "抽查 5 个" in c["office"].get("/lookbacks").text and "抽查 5 个" not in page.text
    listed = east.get("/lookbacks").text
    assert "第一轮" not in listed and 'data-total="0"' in listed
    assert east.get(f"/lookbacks/{round_id}").status_code == 403
    assert east.get("/lookbacks/999999").status_code == 403  # unknown looks the same
    assert c["office"].get("/lookbacks/999999").status_code == 404
    assert (
        west.post("/lookbacks", data={"name": "x", "mode": "sample", "sample": "1"}).status_code
        == 403
    )
    assert [r["name"] for r in east.get("/api/lookbacks").json()] == []
    task_id, _ = _tasks(db, round_id)["W-1"]
    post = east.post(f"/lookbacks/{round_id}/tasks/{task_id}", data={"found_again": "no"})
    assert post.status_code == 403
    assert _tasks(db, round_id)["W-1"][1] == "pending"


def test_record_results_refused_then_passed_and_rebounded(county, db) -> None:  # type: ignore[no-untyped-def]
    _, c = county
    c["office"].post(
        "/lookbacks", data={"name": "第一轮", "townships": WEST, "mode": "sample", "sample": "5"}
    )
    round_id = _round(db)
    tasks = _tasks(db, round_id)
    west = c["west"]
    url = f"/lookbacks/{round_id}/tasks/{tasks['W-1'][0]}"
    assert f'action="{url}"' in west.get(f"/lookbacks/{round_id}").text
    # a viewer reads the round but has no form
    assert f'action="{url}"' not in c["viewer"].get(f"/lookbacks/{round_id}").text
    # found again without a deadline or a note: refused, the choice kept
    resp = west.post(url, data={"found_again": "yes", "version": "pending"}, headers=HX)
    assert 'data-field="new_deadline"' in resp.text and 'data-field="note"' in resp.text
    assert 'value="yes" checked' in resp.text
    resp = west.post(
        url,
        data={
            "found_again": "yes",
            "note": "堆土重现",
            "new_deadline": "2020-01-01",
            "version": "pending",
        },
        headers=HX,
    )
    assert "不能早于今天" in resp.text and "堆土重现" in resp.text
    resp = west.post(url, data={"version": "pending"}, headers=HX)
    assert 'data-field="found_again"' in resp.text
    assert _tasks(db, round_id)["W-1"][1] == "pending"
    resp = west.post(
        url,
        data={
            "found_again": "yes",
            "note": "堆土重现",
            "new_deadline": LATER,
            "version": "pending",
        },
        headers=HX,
    )
    assert resp.headers["HX-Redirect"].startswith(f"/lookbacks/{round_id}?done=rebounded")
    with db.connect() as conn:
        status, deadline, rebounds = conn.execute(
            text("SELECT status, deadline, rebound_count FROM problems WHERE code = 'W-1'")
        ).one()
    assert (status, deadline.isoformat(), rebounds) == ("rectifying", LATER, 1)
    # the same form sent again (stale): refused, the result shown
    again = west.post(url, data={"found_again": "no", "version": "pending"}, headers=HX)
    assert 'data-field="stale"' in again.text and "发现反弹" in again.text
    ok = west.post(
        f"/lookbacks/{round_id}/tasks/{tasks['W-2'][0]}",
        data={"found_again": "no", "note": "整改到位", "version": "pending"},
        headers=HX,
    )
    assert "done=passed" in ok.headers["HX-Redirect"]
    page = west.get(f"/lookbacks/{round_id}?done=rebounded").text
    assert "已记录：问题反弹" in page
    assert 'data-testid="rebounded">1<' in page and 'data-testid="passed">1<' in page
    assert 'data-done="2" data-total="2"' in page
    listed = c["office"].get("/lookbacks").text
    assert re.search(r'data-testid="rebounded">1<', listed)


# -- suspected rebounds ------------------------------------------------------------------------


def _complaint(s: Session, code: str, lon: float, *, category: str = "dust") -> list[int]:
    _, suspects = create_complaint(
        s,
        ComplaintInput(
            code=code,
            channel="hotline_12345",
            kind="air",
            category=category,
            text=f"{code} 又有扬尘",
            received_at=datetime(2026, 3, 20, 1, tzinfo=UTC),
            geometry={"type": "Point", "coordinates": [lon, 34.05]},
        ),
    )
    return suspects


@pytest.fixture
def suspects(county, db):  # type: ignore[no-untyped-def]
    """A complaint ~92 m from closed W-1 and one ~92 m from closed E-1 (same category)."""
    with Session(db) as s, s.begin():
        (west,) = _complaint(s, "XF-W", 113.051)
        (east,) = _complaint(s, "XF-E", 113.151)
    return county, {"west": west, "east": east}


def test_suspect_queue_shows_both_points_distance_and_days(suspects, db) -> None:  # type: ignore[no-untyped-def]
    (_, c), ids = suspects
    page = c["office"].get("/rebounds")
    assert_clean_page(page)
    html = page.text
    assert 'data-total="2"' in html
    with db.connect() as conn:
        metres, days = conn.execute(
            text("SELECT distance_m, days_since_closed FROM suspected_rebounds WHERE id = :i"),
            {"i": ids["west"]},
        ).one()
    assert 85 < metres < 100 and days == 18
    card = re.search(rf'id="suspect-{ids["west"]}".*?</section>', html, re.S).group(0)
    assert f"相距 {round(metres)} 米" in card and "销号后第 18 天" in card
    assert 'href="/ledger/W-1"' in card and 'href="/complaints/XF-W"' in card
    assert 'data-problem="113.05,34.05"' in card and 'data-trigger="113.051,34.05"' in card
    assert 'src="/static/workbench/minimap.js"' in html and "leaflet.js" in html
    assert (
        f'data-form="confirm-{ids["west"]}"' in card
        and f'data-form="dismiss-{ids["west"]}"' in card
    )
    # a township sees its own suspects only, and no decision forms
    west = c["west"].get("/rebounds")
    assert_clean_page(west)
    assert 'data-total="1"' in west.text and "W-1" in west.text and "E-1" not in west.text
    assert "data-form=" not in west.text
    assert c["west"].post(f"/rebounds/{ids['west']}/confirm", data={}).status_code == 403
    assert [s["id"] for s in c["west"].get("/api/suspected-rebounds").json()] == [ids["west"]]


def test_confirm_and_dismiss_refused_then_done(suspects, db) -> None:  # type: ignore[no-untyped-def]
    (_, c), ids = suspects
    office = c["office"]
    url = f"/rebounds/{ids['west']}/confirm"
    resp = office.post(url, data={"version": "open", "deadline": "", "reason": ""}, headers=HX)
    assert resp.text.lstrip().startswith('<div class="decide"')
    assert 'data-field="deadline"' in resp.text and 'data-field="reason"' in resp.text
    resp = office.post(
        url, data={"version": "open", "deadline": "2020-01-01", "reason": "扬尘复现"}, headers=HX
    )
    assert "不能早于今天" in resp.text and "扬尘复现" in resp.text
    plain = office.post(url, data={"version": "open"})
    assert plain.status_code == 422 and "<html" in plain.text
    dismiss = f"/rebounds/{ids['east']}/dismiss"
    resp = office.post(dismiss, data={"version": "open", "reason": "  "}, headers=HX)
    assert "排除疑似反弹需填写理由" in resp.text
    with db.connect() as conn:
        states = conn.execute(text("SELECT status FROM suspected_rebounds")).scalars().all()
        assert set(states) == {"open"}
    ok = office.post(
        url, data={"version": "open", "deadline": LATER, "reason": "现场核实扬尘复现"}, headers=HX
    )
    assert ok.headers["HX-Redirect"] == "/rebounds?done=confirmed"
    ok = office.post(
        dismiss, data={"version": "open", "reason": "系邻近工地，非原问题"}, headers=HX
    )
    assert ok.headers["HX-Redirect"] == "/rebounds?done=dismissed"
    with db.connect() as conn:
        rows = dict(conn.execute(text("SELECT id, status FROM suspected_rebounds")).all())
        problem = conn.execute(
            text("SELECT status, deadline, rebound_count FROM problems WHERE code = 'W-1'")
        ).one()
        east = conn.execute(text("SELECT status FROM problems WHERE code = 'E-1'")).scalar_one()
    assert rows == {ids["west"]: "confirmed", ids["east"]: "dismissed"}
    assert (problem.status, problem.deadline.isoformat(), problem.rebound_count) == (
        "rebounded",
        LATER,
        1,
    )
    assert east == "closed"
    page = office.get("/rebounds?done=confirmed").text
    assert "已认定反弹" in page and 'data-total="0"' in page
    # a second decision on the same suspect (a stale form) is refused
    again = office.post(dismiss, data={"version": "open", "reason": "再次"}, headers=HX)
    assert 'data-field="stale"' in again.text
    assert 'data-testid="decided"' in again.text


# -- complaints --------------------------------------------------------------------------------


def test_feedback_colour_by_working_days_left() -> None:
    from gis.ledger.complaints import feedback_colour
    from gis.ledger.workdays import NO_CALENDAR

    friday = date(2026, 12, 4)
    colour = [
        feedback_colour(due, None, friday, NO_CALENDAR)
        for due in (
            date(2026, 12, 3),
            date(2026, 12, 4),
            date(2026, 12, 7),
            date(2026, 12, 9),
            date(2026, 12, 10),
        )
    ]
    # Thursday: 1 working day overdue; Monday is 1 working day away; Wednesday 3; Thursday 4
    assert colour == [("red", -1), ("orange", 0), ("orange", 1), ("yellow", 3), ("blue", 4)]
    assert feedback_colour(date(2026, 12, 3), datetime.now(UTC), friday, NO_CALENDAR) == (
        "none",
        None,
    )


@pytest.fixture
def cases(county, db):  # type: ignore[no-untyped-def]
    """XF-W (west, long overdue) and XF-E (east) near closed problems; XF-NEW received now."""
    with Session(db) as s, s.begin():
        _complaint(s, "XF-W", 113.051)
        _complaint(s, "XF-E", 113.151)
        create_complaint(
            s,
            ComplaintInput(
                code="XF-NEW",
                channel="letter",
                kind="noise",
                received_at=datetime.now(UTC),
                text="<b>夜间施工</b>",
                geometry={"type": "Point", "coordinates": [113.02, 34.02]},
            ),
        )
    return county


def test_complaint_list_colours_and_scope(cases) -> None:  # type: ignore[no-untyped-def]
    _, c = cases
    page = c["office"].get("/complaints")
    assert_clean_page(page)
    html = page.text
    assert 'data-total="3"' in html
    rows = dict(re.findall(r'<tr data-complaint="([^"]+)">(.*?)</tr>', html, re.S))
    assert set(rows) == {"XF-W", "XF-E", "XF-NEW"}
    assert (
        'data-colour="red"' in rows["XF-W"]
        and "逾期" in rows["XF-W"]
        and "个工作日" in rows["XF-W"]
    )
    assert 'data-colour="blue"' in rows["XF-NEW"] and "剩 7 个工作日" in rows["XF-NEW"]
    assert "西镇" in rows["XF-W"] and "12345热线" in rows["XF-W"]
    overdue = c["office"].get("/complaints?overdue=true").text
    assert 'data-total="2"' in overdue and "XF-NEW" not in overdue
    bad = c["office"].get("/complaints?overdue=maybe")
    assert bad.status_code == 200 and "must be true or false" in bad.text
    west = c["west"].get("/complaints")
    assert_clean_page(west)
    assert 'data-total="2"' in west.text and "XF-E" not in west.text and "东镇" not in west.text
    assert c["west"].get("/complaints/XF-E").status_code == 403
    assert c["west"].get("/complaints/NOPE").status_code == 403
    assert c["office"].get("/complaints/NOPE").status_code == 404
    case = c["west"].get("/complaints/XF-W")
    assert_clean_page(case)
    assert "XF-W 又有扬尘" in case.text and 'id="actions"' not in case.text  # read only
    assert c["west"].post("/complaints/XF-W/actions/reply", data={"text": "x"}).status_code == 403
    escaped = c["office"].get("/complaints/XF-NEW").text
    assert "&lt;b&gt;夜间施工&lt;/b&gt;" in escaped and "<b>夜间施工" not in escaped


def _version(client, code: str) -> str:  # type: ignore[no-untyped-def]
    html = client.get(f"/complaints/{code}").text
    return re.search(r'name="version" value="([^"]*)"', html).group(1)


def test_case_file_steps_reply_conclude_and_follow_up(cases, db) -> None:  # type: ignore[no-untyped-def]
    _, c = cases
    office = c["office"]
    base = "/complaints/XF-W/actions"
    page = office.get("/complaints/XF-W").text
    actions = re.findall(r'data-action="(\w+)"', page)
    # no conclusion before a reply
    assert actions == ["handling", "reply", "link", "convert", "attach"]
    v = _version(office, "XF-W")
    resp = office.post(f"{base}/handling", data={"text": " ", "version": v}, headers=HX)
    assert resp.text.lstrip().startswith("<form") and 'data-field="text"' in resp.text
    assert "请填写内容" in resp.text
    resp = office.post(f"{base}/conclusion", data={"text": "办结", "version": v}, headers=HX)
    assert "办结前需先答复信访人" in resp.text
    ok = office.post(
        f"{base}/handling", data={"text": "现场核查，责令停工", "version": v}, headers=HX
    )
    assert ok.headers["HX-Redirect"] == "/complaints/XF-W?done=handling"
    # the same (now stale) form again
    stale = office.post(f"{base}/reply", data={"text": "已处理", "version": v}, headers=HX)
    assert 'data-field="stale"' in stale.text and "已处理" in stale.text
    v = _version(office, "XF-W")
    resp = office.post(f"{base}/reply", data={"text": "", "version": v}, headers=HX)
    assert 'data-field="text"' in resp.text and 'data-action="reply"' in resp.text
    office.post(f"{base}/reply", data={"text": "已责令工地覆盖裸土", "version": v}, headers=HX)
    page = office.get("/complaints/XF-W?done=reply").text
    assert "已答复信访人" in page and 'data-testid="reply">已责令工地覆盖裸土<' in page
    assert 'data-colour="none"' in page  # answered: the feedback deadline no longer counts
    assert re.findall(r'data-action="(\w+)"', page)[:3] == ["handling", "reply", "conclusion"]
    v = _version(office, "XF-W")
    office.post(f"{base}/conclusion", data={"text": "问题属实，已整改", "version": v}, headers=HX)
    v = _version(office, "XF-W")
    resp = office.post(f"{base}/follow_up", data={"text": "", "version": v}, headers=HX)
    assert 'data-field="outcome"' in resp.text
    resp = office.post(f"{base}/handling", data={"text": "再办理", "version": v}, headers=HX)
    assert "信访件已办结" in resp.text
    office.post(
        f"{base}/follow_up",
        data={"outcome": "satisfied", "text": "电话回访", "version": v},
        headers=HX,
    )
    page = office.get("/complaints/XF-W?done=follow_up").text
    assert "已记录回访结果" in page and 'data-testid="follow-up">满意' in page
    assert 'data-testid="case-status">已办结<' in page
    assert re.findall(r'data-step="(\w+)"', page) == [
        "handling",
        "reply",
        "conclusion",
        "follow_up",
    ]
    with db.connect() as conn:
        answered = conn.execute(
            text("SELECT feedback_at IS NOT NULL FROM complaints WHERE code = 'XF-W'")
        ).scalar_one()
    assert answered
    listed = office.get("/complaints").text
    row = re.search(r'<tr data-complaint="XF-W">(.*?)</tr>', listed, re.S).group(1)
    assert "已办结" in row and 'data-colour="none"' in row


def test_link_and_convert_a_complaint(cases, db) -> None:  # type: ignore[no-untyped-def]
    _, c = cases
    office = c["office"]
    v = _version(office, "XF-W")
    resp = office.post(
        "/complaints/XF-W/actions/link", data={"problem_code": "NOPE", "version": v}, headers=HX
    )
    assert 'data-field="problem_code"' in resp.text and "no such problem" in resp.text
    ok = office.post(
        "/complaints/XF-W/actions/link", data={"problem_code": "W-1", "version": v}, headers=HX
    )
    assert ok.headers["HX-Redirect"] == "/complaints/XF-W?done=link"
    page = office.get("/complaints/XF-W").text
    assert 'href="/ledger/W-1"' in page and 'data-action="link"' not in page
    v = _version(office, "XF-NEW")
    url = "/complaints/XF-NEW/actions/convert"
    resp = office.post(url, data={"problem_code": "W-1", "category": "", "version": v}, headers=HX)
    assert 'data-field="category"' in resp.text
    resp = office.post(
        url, data={"problem_code": "W-1", "category": "industrial", "version": v}, headers=HX
    )
    assert 'data-field="problem_code"' in resp.text and "exists" in resp.text, resp.text
    ok = office.post(
        url,
        data={
            "problem_code": "XF-2026-001",
            "category": "industrial",
            "responsible_unit": "县住建局",
            "responsible_person": "王伟",
            "version": v,
        },
        headers=HX,
    )
    assert ok.headers["HX-Redirect"] == "/complaints/XF-NEW?done=convert"
    with db.connect() as conn:
        row = conn.execute(
            text(
                "SELECT p.source, p.category, p.township_code, p.responsible_unit FROM complaints c"
                " JOIN problems p ON p.id = c.problem_id WHERE c.code = 'XF-NEW'"
            )
        ).one()
    assert tuple(row) == ("complaint", "industrial", WEST, "县住建局")
    assert "已转为台账问题" in office.get("/complaints/XF-NEW?done=convert").text


def _png() -> bytes:
    import io

    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 4), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def test_attachments_of_a_case_file(db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with Session(db) as s, s.begin():
        load_two_townships(s)
        _complaint(s, "XF-W", 113.051)
        _complaint(s, "XF-E", 113.151)
    app = create_app(engine=db, settings=Settings(home=tmp_path))
    office = TestClient(app, headers={**make_token(db, "office"), **HTML})
    east = TestClient(app, headers={**make_token(db, "township", [EAST]), **HTML})
    url = "/complaints/XF-W/attachments"
    v = _version(office, "XF-W")
    resp = office.post(
        url, data={"version": v}, files={"file": ("letter.txt", b"hello")}, headers=HX
    )
    assert 'data-field="file"' in resp.text and "JPEG" in resp.text
    resp = office.post(url, data={"version": v}, headers=HX)
    assert "请选择文件" in resp.text
    png = _png()
    ok = office.post(url, data={"version": v}, files={"file": ("现场照片.png", png)}, headers=HX)
    assert ok.headers["HX-Redirect"] == "/complaints/XF-W?done=attach"
    page = office.get("/complaints/XF-W?done=attach").text
    link = re.search(r'href="(/complaints/XF-W/attachments/\d+)">附件 #\d+ · 现场照片.png<', page)
    assert link and "已上传附件" in page
    got = office.get(link.group(1))
    assert got.status_code == 200 and got.content == png
    assert got.headers["content-type"] == "image/png"
    assert east.get(link.group(1)).status_code == 403
    assert east.post(url, data={"version": v}, files={"file": ("x.png", png)}).status_code == 403
    assert (
        office.get("/complaints/XF-E/attachments/" + link.group(1).rsplit("/", 1)[1]).status_code
        == 404
    )


def test_queue_pages_speak_english_when_asked(suspects) -> None:  # type: ignore[no-untyped-def]
    (app, _), ids = suspects
    from tests.factories import make_token as token

    db = app.state.engine
    client = TestClient(
        app, headers={**token(db, "office"), **HTML}, cookies={"lookback_lang": "en"}
    )
    client.post("/lookbacks", data={"name": "R1", "mode": "sample", "sample": "3"})
    round_id = client.get("/api/lookbacks").json()[0]["id"]
    for path, heading in (
        ("/lookbacks", "<h1>Look-backs</h1>"),
        (f"/lookbacks/{round_id}", "<h1>Look-back · R1</h1>"),
        ("/rebounds", "<h1>Suspected rebounds</h1>"),
        ("/complaints", "<h1>Complaints</h1>"),
        ("/complaints/XF-W", "<h1>Complaint XF-W</h1>"),
    ):
        resp = client.get(path)
        assert_clean_page(resp)
        assert heading in resp.text, path
    assert "2 to decide" in client.get("/rebounds").text
    assert "working days overdue" in client.get("/complaints").text
