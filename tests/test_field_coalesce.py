"""Concurrent single submissions are stored together, each answered as if it came alone."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import uuid

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

import gis.field.inspections
import server.routes.field
from gis.config import Settings
from gis.field.inspections import FieldSettings
from server.app import create_app
from tests.factories import WEST, make_token
from tests.test_field_api import HOME, INSPECTOR, payload, seed


@pytest.fixture
def app(db, tmp_path):  # type: ignore[no-untyped-def]
    seed(db)
    application = create_app(engine=db, settings=Settings(home=tmp_path))
    application.state.field_settings = FieldSettings()
    return application


def _send_all(app, headers: dict, bodies: list[dict]) -> list[httpx.Response]:  # type: ignore[no-untyped-def]
    async def go() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            return await asyncio.gather(
                *(client.post("/api/inspections", json=b, headers=headers) for b in bodies)
            )

    # On a thread of its own: a test session driving Chromium already runs a loop on this one.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


def test_concurrent_submissions_share_a_transaction_and_keep_their_answers(  # type: ignore[no-untyped-def]
    app, db, monkeypatch
) -> None:
    headers = make_token(db, "inspector", [WEST], name=INSPECTOR)
    sizes: list[int] = []
    real = gis.field.inspections.store_valid_many

    def spy(session, valids, **kwargs):  # type: ignore[no-untyped-def]
        sizes.append(len(valids))
        return real(session, valids, **kwargs)

    monkeypatch.setattr(server.routes.field, "store_valid_many", spy)
    stored = payload()
    first = _send_all(app, headers, [stored])[0]
    assert first.status_code == 201, first.text

    fresh = [payload(note=f"第 {i} 条") for i in range(8)]
    resend = dict(stored)
    changed = {**stored, "note": "另一内容 other content"}
    twice = payload(note="同一请求两次")
    unknown = payload(problem_code="NO-SUCH")
    linked = payload(problem_code="T-001", finding="persists")
    bad = payload(lat=200)
    bodies = [*fresh, resend, changed, twice, dict(twice), unknown, linked, bad]
    answers = _send_all(app, headers, bodies)
    status = [a.status_code for a in answers]
    assert status[:8] == [201] * 8
    assert status[8] == 200 and answers[8].json()["id"] == first.json()["id"]
    assert answers[8].json()["created"] is False
    assert status[9] == 409 and "different content" in answers[9].json()["detail"]
    assert sorted(status[10:12]) == [200, 201]  # the same new uuid twice: one row, two answers
    assert answers[10].json()["id"] == answers[11].json()["id"]
    assert status[12] == 422 and answers[12].json()["field"] == "problem_code"
    assert status[13] == 201 and answers[13].json()["problem_code"] == "T-001"
    assert status[14] == 422 and answers[14].json()["field"] == "lat"
    assert max(sizes) > 1, sizes  # some of them did share a statement

    for body, answer in zip(fresh, answers[:8], strict=True):
        got = answer.json()
        assert got["uuid"] == body["uuid"] and got["note"] == body["note"]
        assert got["township_code"] == WEST and got["inspector"] == INSPECTOR
        assert got["lon"] == pytest.approx(HOME[0]) and got["lat"] == pytest.approx(HOME[1])
        assert got["hints"]["township_code"] == WEST
        assert got["hints"]["duplicates"][0]["code"] == "T-001"
        assert got["photos"] == [] and got["suspected_rebounds"] == []
    with TestClient(app, headers=headers) as client:  # the answer is the stored inspection
        for answer in [*answers[:8], answers[8], answers[13]]:
            got = answer.json()
            stored_now = client.get(f"/api/inspections/{got['uuid']}").json()
            assert {k: got[k] for k in stored_now} == stored_now
    with Session(db) as s:
        rows = s.execute(text("SELECT count(*) FROM inspections")).scalar_one()
        events = s.execute(
            text("SELECT count(*) FROM events WHERE action = 'inspection'")
        ).scalar_one()
    assert rows == 1 + 8 + 1 + 1  # first, fresh, twice, linked
    assert events == 1


def test_a_failing_shared_transaction_falls_back_to_one_by_one(app, db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    headers = make_token(db, "inspector", [WEST], name=INSPECTOR)

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the shared statement failed")

    monkeypatch.setattr(server.routes.field, "store_valid_many", broken)
    bodies = [payload() for _ in range(5)]
    answers = _send_all(app, headers, bodies)
    assert [a.status_code for a in answers] == [201] * 5
    assert {a.json()["uuid"] for a in answers} == {b["uuid"] for b in bodies}
    assert len({str(uuid.UUID(a.json()["uuid"])) for a in answers}) == 5


def test_hints_failing_in_a_shared_transaction_keep_each_answer(app, db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    headers = make_token(db, "inspector", [WEST], name=INSPECTOR)

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("the shared hints statement failed")

    monkeypatch.setattr(server.routes.field, "hints_many", broken)
    bodies = [payload(note=f"第 {i} 条") for i in range(5)]
    answers = _send_all(app, headers, bodies)
    # The shared transaction is rolled back and each is stored on its own: still 201, once.
    assert [a.status_code for a in answers] == [201] * 5
    for body, answer in zip(bodies, answers, strict=True):
        got = answer.json()
        assert got["uuid"] == body["uuid"] and got["created"] is True
        assert got["hints"]["township_code"] == WEST
    with Session(db) as s:
        assert s.execute(text("SELECT count(*) FROM inspections")).scalar_one() == 5


def test_an_integer_too_long_for_64_bits_is_read_exactly(app, db) -> None:  # type: ignore[no-untyped-def]
    headers = make_token(db, "inspector", [WEST], name=INSPECTOR)
    body = json.dumps({**payload(), "uuid": 123456789012345678901234567890})
    with TestClient(app, headers=headers) as client:
        answer = client.post(
            "/api/inspections", content=body, headers={"Content-Type": "application/json"}
        )
    assert answer.status_code == 422
    assert answer.json()["field"] == "uuid"
    assert "123456789012345678901234567890" in answer.json()["detail"]
