"""How many statements one inspection costs the database (counted, not timed)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event
from sqlalchemy.orm import Session

from gis.config import Settings
from gis.field.inspections import FieldSettings
from server.app import create_app
from tests.factories import WEST, load_two_townships, make_token, new_problem

HOME = (113.05, 34.05)


@pytest.fixture
def client(db, tmp_path):  # type: ignore[no-untyped-def]
    with Session(db) as session, session.begin():
        load_two_townships(session)
        new_problem(session, "T-001", lon=HOME[0], lat=HOME[1], category="dust")
    app = create_app(engine=db, settings=Settings(home=tmp_path))
    app.state.field_settings = FieldSettings()
    with TestClient(app, headers=make_token(db, "inspector", [WEST], name="巡查员")) as c:
        yield c


@pytest.fixture
def statements(db):  # type: ignore[no-untyped-def]
    """The SQL statements sent to the database, in order (auth's own look-up left out)."""
    sent: list[str] = []

    def listen(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        sent.append(statement)

    event.listen(db, "before_cursor_execute", listen)
    yield sent
    event.remove(db, "before_cursor_execute", listen)


def body(**changes):  # type: ignore[no-untyped-def]
    value = {
        "uuid": str(uuid.uuid4()), "lon": HOME[0], "lat": HOME[1], "accuracy_m": 8.0,
        "observed_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        "finding": "new_problem", "category": "dust", "note": "扬尘",
    }
    value.update(changes)
    return value


def _ours(sent: list[str]) -> list[str]:
    """Statements of the request's own work: auth's token look-up is counted apart."""
    return [s for s in sent if "tokens" not in s and "users" not in s]


@pytest.mark.parametrize(
    ("changes", "expected"),
    [({}, 2), ({"problem_code": "T-001", "finding": "checked"}, 3)],
    ids=["point", "of-a-problem"],
)
def test_one_store_statement_and_one_for_hints(client, statements, changes, expected) -> None:  # type: ignore[no-untyped-def]
    payload = body(**changes)
    statements.clear()
    first = client.post("/api/inspections", json=payload)
    assert first.status_code == 201, first.text
    ours = _ours(statements)
    # the store (with township, flags and rebound check), [the problem's event], the hints
    assert len(ours) == expected, ours
    assert "INSERT INTO inspections" in ours[0] and "suspected_rebounds" in ours[0]
    statements.clear()
    again = client.post("/api/inspections", json=payload)
    assert again.status_code == 200
    # a repeat: the store statement finds it, the stored row is read back, then hints (new rows,
    # the common case, are answered by the store statement itself)
    assert len(_ours(statements)) == 3
    statements.clear()
    assert client.post("/api/inspections", json={**payload, "note": "x"}).status_code == 409
    assert len(_ours(statements)) == 1
