"""Township assignment (属地) by spatial join in PostGIS."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.geo.townships import assign_missing_townships, township_for_point, township_for_wkt

# Two squares sharing the meridian 113.1°E; a third far away.
WEST = "MULTIPOLYGON(((113.0 34.0, 113.1 34.0, 113.1 34.1, 113.0 34.1, 113.0 34.0)))"
EAST = "MULTIPOLYGON(((113.1 34.0, 113.2 34.0, 113.2 34.1, 113.1 34.1, 113.1 34.0)))"


def _load(session: Session) -> None:
    for code, name, wkt in (("410199101000", "西镇", WEST), ("410199100000", "东镇", EAST)):
        session.execute(
            text(
                "INSERT INTO townships (code, name, geom)"
                " VALUES (:c, :n, ST_GeomFromText(:w, 4490))"
            ),
            {"c": code, "n": name, "w": wkt},
        )


def test_point_inside_outside_and_on_the_border(db) -> None:  # type: ignore[no-untyped-def]
    with Session(db) as session, session.begin():
        _load(session)
        assert township_for_point(session, 113.05, 34.05) == "410199101000"
        assert township_for_point(session, 113.15, 34.05) == "410199100000"
        # On the shared border: the smaller code wins, whatever the row order.
        assert township_for_point(session, 113.1, 34.05) == "410199100000"
        assert township_for_point(session, 120.0, 30.0) is None


def test_lines_and_polygons_go_to_the_larger_share(db) -> None:  # type: ignore[no-untyped-def]
    with Session(db) as session, session.begin():
        _load(session)
        line = "LINESTRING(113.05 34.05, 113.12 34.05)"  # 5 km west, 2 km east
        assert township_for_wkt(session, line) == "410199101000"
        poly = "POLYGON((113.09 34.02, 113.19 34.02, 113.19 34.03, 113.09 34.03, 113.09 34.02))"
        assert township_for_wkt(session, poly) == "410199100000"


def test_bulk_assignment_fills_only_missing(db) -> None:  # type: ignore[no-untyped-def]
    with Session(db) as session, session.begin():
        _load(session)
        rows = [
            ("P-1", "POINT(113.05 34.05)", None),
            ("P-2", "POINT(113.15 34.05)", None),
            ("P-3", "POINT(121.0 31.0)", None),  # outside the county
            ("P-4", "POINT(113.15 34.05)", "410199101000"),  # overridden by the office
        ]
        for code, wkt, township in rows:
            session.execute(
                text(
                    "INSERT INTO problems (code, source, category, deadline_kind, status,"
                    " township_code, geom) VALUES (:c, 'provincial', 'dust', 'dated',"
                    " 'reported', :t, ST_GeomFromText(:w, 4490))"
                ),
                {"c": code, "w": wkt, "t": township},
            )
        assert assign_missing_townships(session, "problems") == 2
        got = dict(session.execute(text("SELECT code, township_code FROM problems")).all())
    assert got == {"P-1": "410199101000", "P-2": "410199100000", "P-3": None, "P-4": "410199101000"}
