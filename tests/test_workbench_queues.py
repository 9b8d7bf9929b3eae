"""The queue pages over HTTP: look-back rounds (回头看), suspected rebounds (疑似反弹) and
complaints (信访): pages for office and township, scope, each form's success and refusal."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.config import Settings
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
