"""The batch endpoint: one answer per item, idempotent per uuid, one bad item costs only itself."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event, text
from sqlalchemy.orm import Session

from gis.config import Settings
from gis.field.inspections import BATCH_MAX, FieldSettings
from server.app import create_app
from tests.factories import EAST, WEST, close, load_two_townships, make_token, new_problem

HOME = (113.05, 34.05)  # T-001 (dust) in 西镇


@pytest.fixture
def app(db, tmp_path):  # type: ignore[no-untyped-def]
    with Session(db) as session, session.begin():
        load_two_townships(session)
        new_problem(session, "T-001", lon=HOME[0], lat=HOME[1], category="dust")
    application = create_app(engine=db, settings=Settings(home=tmp_path))
    application.state.field_settings = FieldSettings()
    return application


@pytest.fixture
def client(app, db):  # type: ignore[no-untyped-def]
    with TestClient(app, headers=make_token(db, "inspector", [WEST], name="巡查员 王")) as c:
        yield c


def item(**changes):  # type: ignore[no-untyped-def]
    value = {
        "uuid": str(uuid.uuid4()), "lon": HOME[0], "lat": HOME[1], "accuracy_m": 8.0,
        "observed_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        "finding": "checked", "category": "dust", "note": "巡查",
    }
    value.update(changes)
    return value


def rows(db, sql: str):  # type: ignore[no-untyped-def]
    with db.connect() as conn:
        return conn.execute(text(sql)).all()


def batch(client: TestClient, items: list) -> dict:
    response = client.post("/api/inspections/batch", json={"items": items})
    assert response.status_code == 200, response.text
    return response.json()


def test_each_item_is_answered_and_bad_ones_lose_nothing(client, db) -> None:  # type: ignore[no-untyped-def]
    good = [item(note=f"点 {i}") for i in range(5)]
    bad = [
        item(lat=200.0),
        item(finding="fixed"),
        item(problem_code="NO-SUCH"),
        "not an object",
        item(accuracy_m=-1),
    ]
    answer = batch(client, [good[0], bad[0], good[1], bad[1], good[2], bad[2], bad[3], good[3],
                            bad[4], good[4]])
    statuses = [r["status"] for r in answer["results"]]
    assert statuses == ["stored", "rejected", "stored", "rejected", "stored", "rejected",
                        "rejected", "stored", "rejected", "stored"]
    assert [r["index"] for r in answer["results"]] == list(range(10))
    assert (answer["stored"], answer["duplicate"], answer["rejected"]) == (5, 0, 5)
    rejected = [r for r in answer["results"] if r["status"] == "rejected"]
    assert [r["field"] for r in rejected] == ["lat", "finding", "problem_code", "body",
                                              "accuracy_m"]
    assert all(r["status_code"] == 422 and r["reason"] for r in rejected)
    assert "no such problem" in rejected[2]["reason"]
    stored = {str(u) for (u,) in rows(db, "SELECT uuid FROM inspections")}
    assert stored == {g["uuid"] for g in good}


def test_same_answers_as_single_submissions(client, db) -> None:  # type: ignore[no-untyped-def]
    """Flags, township, the problem's event and the rebound check, as POST /api/inspections."""
    with Session(db) as session, session.begin():
        new_problem(session, "T-CLOSED", lon=HOME[0] + 0.001, lat=HOME[1], category="dust")
        close(session, "T-CLOSED", at=datetime.now(UTC) - timedelta(days=3))
    items = [
        item(problem_code="T-001"),
        item(lon=HOME[0] + 0.01, problem_code="T-001", accuracy_m=20),  # ~900 m away
        item(accuracy_m=600),
        item(lon=100.0, lat=20.0),
        item(position_source="map", finding="new_problem"),
    ]
    single = [client.post("/api/inspections", json=item(**{k: v for k, v in i.items()
                                                           if k != "uuid"})).json()
              for i in items]
    answer = batch(client, items)
    for one, many in zip(single, answer["results"], strict=True):
        assert many["status"] == "stored"
        assert many["flags"] == one["flags"]
        assert many["township_code"] == one["township_code"]
        assert many["problem_code"] == one["problem_code"]
        assert len(many["suspected_rebounds"]) == len(one["suspected_rebounds"])
    assert answer["results"][1]["flags"] == ["off_site"]
    assert answer["results"][2]["flags"] == ["poor_accuracy"]
    assert answer["results"][3]["flags"] == ["outside_county"]
    assert answer["results"][4]["suspected_rebounds"]
    events = rows(db, "SELECT after->>'inspection_uuid', after->>'flags' FROM events"
                      " WHERE action = 'inspection' ORDER BY id")
    assert len(events) == 4  # two single, two batched
    assert events[2][0] == items[0]["uuid"]


def test_idempotent_per_item(client, db) -> None:  # type: ignore[no-untyped-def]
    items = [item(note=f"点 {i}") for i in range(3)]
    first = batch(client, items)
    assert first["stored"] == 3
    changed = {**items[1], "note": "改了"}
    again = batch(client, [items[0], changed, items[2], items[2], item()])
    assert [r["status"] for r in again["results"]] == [
        "duplicate", "rejected", "duplicate", "duplicate", "stored"]
    assert again["results"][1]["status_code"] == 409
    assert again["results"][0]["id"] == first["results"][0]["id"]
    assert rows(db, "SELECT count(*) FROM inspections")[0][0] == 4
    assert rows(db, "SELECT note FROM inspections WHERE uuid = :u".replace(
        ":u", f"'{items[1]['uuid']}'"))[0][0] == "点 1"


def test_repeated_uuid_within_one_batch(client, db) -> None:  # type: ignore[no-untyped-def]
    one = item()
    answer = batch(client, [one, one, {**one, "note": "别的"}])
    assert [r["status"] for r in answer["results"]] == ["stored", "duplicate", "rejected"]
    assert rows(db, "SELECT count(*) FROM inspections")[0][0] == 1


def test_townships_of_the_inspector_only(client, db) -> None:  # type: ignore[no-untyped-def]
    with Session(db) as session, session.begin():
        new_problem(session, "E-001", lon=113.15, lat=34.05, category="dust")
    answer = batch(client, [item(problem_code="E-001"), item(problem_code="T-001")])
    assert [r["status"] for r in answer["results"]] == ["rejected", "stored"]
    assert answer["results"][0]["field"] == "problem_code"
    assert EAST != WEST


def test_envelope_errors_are_422(client) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/api/inspections/batch", json=[item()]).status_code == 422
    assert client.post("/api/inspections/batch", json={"items": "x"}).status_code == 422
    too_many = client.post("/api/inspections/batch", json={"items": [{}] * (BATCH_MAX + 1)})
    assert too_many.status_code == 422
    assert too_many.json()["field"] == "items" or "items" in too_many.text


def test_a_batch_is_one_statement(client, db) -> None:  # type: ignore[no-untyped-def]
    sent: list[str] = []

    def listen(conn, cursor, statement, *args):  # type: ignore[no-untyped-def]
        sent.append(statement)

    event.listen(db, "before_cursor_execute", listen)
    try:
        answer = batch(client, [item(note=f"{i}") for i in range(200)])
    finally:
        event.remove(db, "before_cursor_execute", listen)
    assert answer["stored"] == 200
    ours = [s for s in sent if "INSERT INTO inspections" in s or "SAVEPOINT" in s.upper()]
    assert len([s for s in ours if "INSERT INTO inspections" in s]) == 1
    assert len([s for s in sent if "tokens" not in s and "users" not in s
                and "SAVEPOINT" not in s.upper()]) == 1
