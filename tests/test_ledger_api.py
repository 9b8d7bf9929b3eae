"""The ledger API: filters agree with PostGIS, cursor pages cover all once, errors are JSON."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from gis.config import Settings
from server.app import create_app
from tests.conftest import DEMO_AS_OF
from tests.factories import EAST, WEST, load_two_townships, make_token

HEADERS: dict[str, dict[str, str]] = {}


@pytest.fixture(scope="module")
def demo(demo_app, demo_headers):  # type: ignore[no-untyped-def]
    with TestClient(demo_app, headers=demo_headers["office"]) as c:
        yield c


def _count(engine, where: str, params: dict | None = None) -> int:  # type: ignore[no-untyped-def]
    from gis.ledger.deadlines import overdue_sql, warning_sql

    sql = f"SELECT count(*) FROM problems p WHERE {where}".replace(
        "{overdue}", overdue_sql("p")
    ).replace("{warning}", warning_sql("p"))
    with engine.connect() as conn:
        return conn.execute(text(sql), {"today": DEMO_AS_OF, **(params or {})}).scalar_one()


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"status": "closed"}, "status = 'closed'"),
        ({"status": ["rectifying", "assigned"]}, "status IN ('rectifying', 'assigned')"),
        ({"category": "dust"}, "category = 'dust'"),
        ({"source": "central_2"}, "source = 'central_2'"),
        ({"township": "410199001000"}, "township_code = '410199001000'"),
        ({"overdue": "true"}, "{overdue}"),
        ({"overdue": "false"}, "NOT {overdue}"),
        ({"warning": "red"}, "{warning} = 'red'"),
        (
            {"bbox": "113.2,34.3,113.4,34.5"},
            "ST_Intersects(geom, ST_MakeEnvelope(113.2, 34.3, 113.4, 34.5, 4490))",
        ),
        ({"q": "扬尘"}, "description LIKE '%扬尘%'"),
        ({"category": "dust", "overdue": "true"}, "category = 'dust' AND {overdue}"),
    ],
)
def test_each_filter_matches_postgis(demo, demo_engine, params: dict, where: str) -> None:  # type: ignore[no-untyped-def]
    body = demo.get("/api/problems", params={**params, "limit": 1000}).json()
    expected = _count(demo_engine, where)
    assert body["number_matched"] == expected
    assert len(body["items"]) == expected
    assert expected > 0


@pytest.mark.parametrize(
    ("sort", "order"),
    [("code", "asc"), ("deadline", "desc"), ("days_overdue", "desc"), ("updated_at", "asc")],
)
def test_cursor_pages_cover_every_problem_once_in_order(demo, sort: str, order: str) -> None:  # type: ignore[no-untyped-def]
    seen: list[dict] = []
    params: dict = {"limit": 37, "sort": sort, "order": order}
    while True:
        body = demo.get("/api/problems", params=params).json()
        assert body["number_matched"] == 300
        seen.extend(body["items"])
        if not body["next_cursor"]:
            break
        params["cursor"] = body["next_cursor"]
    codes = [i["code"] for i in seen]
    assert len(codes) == len(set(codes)) == 300
    key = {
        "code": "code",
        "deadline": "due_date",
        "days_overdue": "days_overdue",
        "updated_at": "updated_at",
    }[sort]
    values = [i[key] for i in seen if i[key] is not None]
    assert values == sorted(values, reverse=order == "desc")


def test_geojson_by_parameter_and_by_accept_header(demo) -> None:  # type: ignore[no-untyped-def]
    by_param = demo.get("/api/problems", params={"f": "geojson", "limit": 5})
    by_header = demo.get(
        "/api/problems", params={"limit": 5}, headers={"Accept": "application/geo+json"}
    )
    for resp in (by_param, by_header):
        assert resp.headers["content-type"] == "application/geo+json"
        body = resp.json()
        assert body["type"] == "FeatureCollection" and len(body["features"]) == 5
        assert body["numberMatched"] == 300
        assert body["features"][0]["geometry"]["type"] == "Point"
        assert [link["rel"] for link in body["links"]] == ["next"]


def test_as_of_rebuilds_the_past_from_events(demo, demo_engine) -> None:  # type: ignore[no-untyped-def]
    past = date(2026, 6, 30)
    body = demo.get(
        "/api/problems", params={"as_of": past.isoformat(), "status": "closed", "limit": 1000}
    ).json()
    with demo_engine.connect() as conn:
        closed_then = conn.execute(
            text(
                "SELECT count(*) FROM problems p WHERE EXISTS (SELECT 1 FROM events e"
                " WHERE e.problem_id = p.id AND e.action = 'approve_closure'"
                " AND e.at < '2026-07-01T00:00:00+08:00') AND NOT EXISTS (SELECT 1 FROM events e"
                " WHERE e.problem_id = p.id AND e.action = 'rebound'"
                " AND e.at < '2026-07-01T00:00:00+08:00')"
            )
        ).scalar_one()
        reported_then = conn.execute(
            text("SELECT count(*) FROM problems WHERE reported_at < '2026-07-01T00:00:00+08:00'")
        ).scalar_one()
    assert body["number_matched"] == closed_then
    every = demo.get("/api/problems", params={"as_of": past.isoformat(), "limit": 1}).json()
    assert every["number_matched"] == reported_then < 300
    now = demo.get("/api/townships/summary").json()
    then = demo.get("/api/townships/summary", params={"as_of": past.isoformat()}).json()
    assert then["as_of"] == "2026-06-30"
    assert sum(t["total"] for t in then["townships"]) == reported_then
    assert sum(t["total"] for t in now["townships"]) == 300
    assert sorted(t["rank"] for t in now["townships"]) == list(range(1, len(now["townships"]) + 1))


def test_scorecard_counts_match_the_problem_list(demo) -> None:  # type: ignore[no-untyped-def]
    summary = demo.get("/api/townships/summary").json()["townships"]
    for row in summary[:3]:
        listed = demo.get(
            "/api/problems", params={"township": row["code"], "overdue": "true", "limit": 1}
        ).json()
        assert listed["number_matched"] == row["overdue"]
        if row["open"]:
            assert row["overdue_rate"] == pytest.approx(row["overdue"] / row["open"], abs=1e-4)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "113.4,34,113.2,35"}, "bbox"),
        ({"cursor": "not-a-cursor"}, "cursor"),
    ],
)
def test_bad_list_parameters_get_422_naming_the_field(demo, params: dict, field: str) -> None:  # type: ignore[no-untyped-def]
    resp = demo.get("/api/problems", params=params)
    assert resp.status_code == 422
    assert resp.json()["field"] == field


@pytest.fixture
def writable(db):  # type: ignore[no-untyped-def]
    with db.begin() as conn:
        from sqlalchemy.orm import Session

        with Session(bind=conn) as s:
            load_two_townships(s)
            s.flush()
    HEADERS["office"] = make_token(db, "office", name="县督察整改办")
    HEADERS["township"] = make_token(db, "township", [EAST], name="东镇")
    app = create_app(engine=db, settings=Settings(), clock=lambda: date(2026, 3, 2))
    with TestClient(app, headers=HEADERS["office"]) as c:
        yield c


def test_create_assign_and_errors_over_http(writable) -> None:  # type: ignore[no-untyped-def]
    body = {
        "code": "ZY2-2026-001",
        "source": "central_2",
        "category": "dust",
        "deadline": "2026-06-30",
        "responsible_unit": "县住建局",
        "responsible_person": "王伟",
        "geometry": {"type": "Point", "coordinates": [113.15, 34.05]},
    }
    anonymous = writable.post("/api/problems", json=body, headers={"Authorization": ""})
    assert anonymous.status_code == 401
    refused = writable.post("/api/problems", json=body, headers=HEADERS["township"])
    assert refused.status_code == 403
    created = writable.post("/api/problems", json=body, headers=HEADERS["office"])
    assert created.status_code == 201
    assert created.json()["township_code"] == EAST and created.json()["status"] == "reported"
    dup = writable.post("/api/problems", json=body, headers=HEADERS["office"])
    assert dup.status_code == 409 and "exists" in dup.json()["detail"]
    swapped = writable.post(
        "/api/problems",
        headers=HEADERS["office"],
        json={**body, "code": "X-2", "geometry": {"type": "Point", "coordinates": [34.05, 113.15]}},
    )
    assert swapped.status_code == 422 and swapped.json()["field"] == "geometry"
    assert "swapped" in swapped.json()["detail"]
    bad_vocab = writable.post(
        "/api/problems",
        headers=HEADERS["office"],
        json={**body, "code": "X-3", "category": "volcano"},
    )
    assert bad_vocab.status_code == 422
    illegal = writable.post(
        "/api/problems/ZY2-2026-001/transitions",
        json={"action": "start"},
        headers=HEADERS["office"],
    )
    assert illegal.status_code == 409
    assert illegal.json()["allowed_actions"] == ["assign"]
    ok = writable.post(
        "/api/problems/ZY2-2026-001/transitions",
        json={"action": "assign"},
        headers=HEADERS["office"],
    )
    assert ok.status_code == 200 and ok.json()["status"] == "assigned"
    assert writable.get("/api/problems/NOPE").status_code == 404
    assert (
        writable.post(
            "/api/problems/NOPE/transitions", json={"action": "assign"}, headers=HEADERS["office"]
        ).status_code
        == 404
    )
    refused = writable.patch(
        "/api/problems/ZY2-2026-001",
        headers=HEADERS["township"],
        json={"responsible_person": "李娜", "reason": "人员调整"},
    )
    assert refused.status_code == 403
    patched = writable.patch(
        "/api/problems/ZY2-2026-001",
        headers=HEADERS["township"],
        json={"progress": "已覆盖裸土一半", "reason": "进展更新"},
    )
    assert patched.status_code == 200 and patched.json()["code"] == "ZY2-2026-001"
    history = writable.get("/api/problems/ZY2-2026-001/history").json()
    assert [h["action"] for h in history] == ["created", "assign", "updated"]
    assert history[-1]["actor"] == "东镇" and history[-1]["reason"] == "进展更新"
    moved = writable.patch(
        "/api/problems/ZY2-2026-001",
        headers=HEADERS["office"],
        json={"geometry": {"type": "Point", "coordinates": [113.05, 34.05]}},
    )
    assert moved.json()["township_code"] == WEST


def test_on_site_and_complaint_endpoints(writable) -> None:  # type: ignore[no-untyped-def]
    onsite = writable.post(
        "/api/problems/on-site",
        headers=HEADERS["office"],
        json={
            "lon": 113.05,
            "lat": 34.05,
            "category": "dust",
            "description": "工地裸土",
            "responsible_unit": "西镇人民政府",
            "responsible_person": "赵强",
        },
    )
    assert onsite.status_code == 201
    assert onsite.json()["status"] == "assigned" and onsite.json()["township_code"] == WEST
    complaint = writable.post(
        "/api/complaints",
        json={
            "code": "XF-1",
            "channel": "hotline_12369",
            "kind": "air",
            "category": "dust",
            "received_at": "2026-03-01T09:00:00+08:00",
            "geometry": {"type": "Point", "coordinates": [113.15, 34.05]},
        },
    )
    assert complaint.status_code == 201
    assert complaint.json()["township_code"] == EAST
    assert complaint.json()["feedback_due"] == "2026-03-10"
    converted = writable.post(
        "/api/complaints/XF-1/problem",
        headers=HEADERS["office"],
        json={"problem_code": "XF-2026-001", "category": "dust"},
    )
    assert converted.status_code == 201
    problem = writable.get("/api/problems/XF-2026-001").json()
    assert problem["source"] == "complaint" and problem["township_code"] == EAST
    naive = writable.post(
        "/api/complaints",
        json={
            "code": "XF-2",
            "channel": "letter",
            "kind": "air",
            "received_at": "2026-03-01T09:00:00",
        },
    )
    assert naive.status_code == 422 and naive.json()["field"] == "received_at"
    nowhere = writable.post(
        "/api/complaints",
        json={
            "code": "XF-3",
            "channel": "letter",
            "kind": "air",
            "received_at": "2026-03-01T09:00:00+08:00",
            "township_code": "999999999999",
        },
    )
    assert nowhere.status_code == 422 and nowhere.json()["field"] == "township_code"


def _new_complaint(client, code: str, lon: float) -> None:  # type: ignore[no-untyped-def]
    made = client.post(
        "/api/complaints",
        json={
            "code": code,
            "channel": "hotline_12369",
            "kind": "air",
            "category": "dust",
            "received_at": "2026-03-01T09:00:00+08:00",
            "geometry": {"type": "Point", "coordinates": [lon, 34.05]},
        },
    )
    assert made.status_code == 201, made.text


def test_complaint_steps_over_the_api(writable) -> None:  # type: ignore[no-untyped-def]
    _new_complaint(writable, "XF-E", 113.15)
    _new_complaint(writable, "XF-W", 113.05)
    steps = "/api/complaints/XF-E/steps"
    assert writable.get(steps).json() == {"code": "XF-E", "items": []}
    handled = writable.post(steps, json={"kind": "handling", "text": " 已现场核查 "})
    assert handled.status_code == 201, handled.text
    assert handled.json()["kind"] == "handling" and handled.json()["text"] == "已现场核查"
    assert handled.json()["actor"] == "县督察整改办"
    # the rules of gis.ledger.complaints.add_step, as on the case file page
    early = writable.post(steps, json={"kind": "conclusion", "text": "办结"})
    assert early.status_code == 422 and early.json()["field"] == "kind"
    empty = writable.post(steps, json={"kind": "reply", "text": "  "})
    assert empty.status_code == 422 and empty.json()["field"] == "text"
    assert writable.post(steps, json={"kind": "bogus", "text": "x"}).status_code == 422
    assert writable.post(steps, json={"text": "no kind"}).status_code == 422
    assert writable.post(steps, json={"kind": "reply", "text": "x" * 5001}).status_code == 422
    assert writable.get("/api/complaints/XF-E").json()["feedback_at"] is None
    assert writable.post(steps, json={"kind": "reply", "text": "已电话答复"}).status_code == 201
    assert writable.get("/api/complaints/XF-E").json()["feedback_at"] is not None
    assert writable.post(steps, json={"kind": "conclusion", "text": "办结"}).status_code == 201
    no_outcome = writable.post(steps, json={"kind": "follow_up"})
    assert no_outcome.status_code == 422 and no_outcome.json()["field"] == "outcome"
    called = writable.post(steps, json={"kind": "follow_up", "outcome": "satisfied"})
    assert called.status_code == 201 and called.json()["outcome"] == "satisfied"
    listed = writable.get(steps).json()["items"]
    assert [s["kind"] for s in listed] == ["handling", "reply", "conclusion", "follow_up"]
    page = writable.get("/complaints/XF-E", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "已现场核查" in page.text and "已电话答复" in page.text
    # unknown code: 404 for the county; another township's complaint: 403
    assert writable.get("/api/complaints/NOPE/steps").status_code == 404
    unknown = writable.post("/api/complaints/NOPE/steps", json={"kind": "handling", "text": "x"})
    assert unknown.status_code == 404
    east = HEADERS["township"]
    assert writable.get(steps, headers=east).json()["items"] == listed
    assert writable.get("/api/complaints/XF-W/steps", headers=east).status_code == 403
    refused = writable.post(
        "/api/complaints/XF-W/steps", headers=east, json={"kind": "handling", "text": "x"}
    )
    assert refused.status_code == 403
    assert writable.get("/api/complaints/XF-W/steps").json()["items"] == []
