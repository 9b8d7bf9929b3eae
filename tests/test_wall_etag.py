"""Wall refreshes: an unchanged view answers 304 with no body; a change gives a new ETag."""

from __future__ import annotations

from sqlalchemy.orm import Session

from tests.test_wall import client  # noqa: F401 - the signed-in wall client fixture

VIEWS = [
    ("/api/wall/summary", {}),
    ("/api/wall/problems", {"zoom": 10}),
    ("/api/wall/problems", {"zoom": 15, "bbox": "113.25,34.35,113.40,34.45"}),
    ("/api/wall/complaints-heat", {}),
]


def test_unchanged_views_ship_nothing(client) -> None:  # type: ignore[no-untyped-def]  # noqa: F811
    for path, params in VIEWS:
        first = client.get(path, params=params)
        assert first.status_code == 200 and first.content
        etag = first.headers["ETag"]
        assert etag.startswith('"') and "no-cache" in first.headers["Cache-Control"]
        again = client.get(path, params=params, headers={"If-None-Match": etag})
        assert again.status_code == 304
        assert again.content == b""
        assert again.headers["ETag"] == etag
        stale = client.get(path, params=params, headers={"If-None-Match": '"other"'})
        assert stale.status_code == 200 and stale.json() == first.json()


def test_a_change_gives_a_new_etag(db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from fastapi.testclient import TestClient

    from gis.config import Settings
    from server.app import create_app
    from tests.factories import load_two_townships, make_token, new_problem

    with Session(db) as session, session.begin():
        load_two_townships(session)
        new_problem(session, "T-001", lon=113.05, lat=34.05, category="dust")
    app = create_app(engine=db, settings=Settings(home=tmp_path))
    with TestClient(app, headers=make_token(db, "office")) as c:
        first = c.get("/api/wall/summary")
        assert c.get("/api/wall/summary", headers={"If-None-Match": first.headers["ETag"]}
                     ).status_code == 304
        with Session(db) as session, session.begin():
            new_problem(session, "T-002", lon=113.06, lat=34.05, category="dust")
        after = c.get("/api/wall/summary", headers={"If-None-Match": first.headers["ETag"]})
        assert after.status_code == 200
        assert after.headers["ETag"] != first.headers["ETag"]
        assert after.json()["counts"]["open"] == first.json()["counts"]["open"] + 1
