"""One vocabulary of counts and one county ranking, whichever surface shows them and whoever looks.

Every surface that shows a count under a label — the wall's panel and its ranking, the township
scorecard, the township wall, the county report, the bulletin — must give the same number for the
same set; a ranking is always the county's. Scope fails closed: an account without townships sees
nothing anywhere.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.access import auth
from gis.access.scope import scope_sql
from gis.ledger.counts import COUNT_SETS, ledger_counts
from gis.ledger.query import ProblemQuery, list_problems
from gis.ledger.rebounds import open_suspects
from gis.ledger.scorecard import township_scorecard
from gis.maps.live import complaint_heat, ticker
from gis.reports.county import load_county
from gis.reports.periods import ReportDate
from tests.conftest import DEMO_AS_OF
from tests.factories import make_token

NAMES = ("open", "overdue", "rebounded", "closed")


@pytest.fixture(scope="module")
def codes(demo_engine) -> list[str]:  # type: ignore[no-untyped-def]
    with demo_engine.connect() as conn:
        return list(conn.execute(text("SELECT code FROM townships ORDER BY code")).scalars())


@pytest.fixture(scope="module")
def office(demo_app, demo_headers):  # type: ignore[no-untyped-def]
    with TestClient(demo_app, headers=demo_headers["office"]) as c:
        yield c


def test_the_walls_panel_and_its_ranking_count_the_same_sets(office) -> None:  # type: ignore[no-untyped-def]
    for params in ({}, {"category": "dust"}, {"source": "provincial"}):
        s = office.get("/api/wall/summary", params=params).json()
        for name in NAMES:
            assert s["counts"][name] == sum(t[name] for t in s["ranking"]), (params, name)
        assert s["counts"]["open"] == s["counts"]["overdue"] + s["counts"]["on_time"]
        assert s["counts"]["total"] == s["counts"]["open"] + s["counts"]["closed"]


def test_every_surface_gives_the_same_numbers_per_township(  # type: ignore[no-untyped-def]
    office, demo_engine, codes
) -> None:
    api = {t["code"]: t for t in office.get("/api/townships/summary").json()["townships"]}
    wall = {t["code"]: t for t in office.get("/api/wall/summary").json()["ranking"]}
    with Session(demo_engine) as session:
        report = load_county(session, ReportDate(day=DEMO_AS_OF))
        direct = {
            code: ledger_counts(
                session, today=DEMO_AS_OF, query=ProblemQuery(township_codes=(code,))
            )
            for code in codes
        }
    by_report = report.scores
    assert set(api) == set(wall) == set(by_report) == set(codes)
    for code in codes:
        for name in NAMES:
            values = {
                "api": api[code][name],
                "wall": wall[code][name],
                "report": getattr(by_report[code], name),
                "counts": direct[code][name],
            }
            assert len(set(values.values())) == 1, (code, name, values)
        assert api[code]["rank"] == wall[code]["rank"] == by_report[code].rank


def test_counts_as_of_a_past_day_agree_with_the_scorecard(demo_engine) -> None:  # type: ignore[no-untyped-def]
    past = DEMO_AS_OF - timedelta(days=75)
    with Session(demo_engine) as session:
        query = ProblemQuery(as_of=past)
        county = ledger_counts(session, today=DEMO_AS_OF, query=query)
        scores = township_scorecard(session, today=DEMO_AS_OF, query=query)
        listed = list_problems(session, today=DEMO_AS_OF, query=query, limit=1)
    for c in COUNT_SETS:
        if c.name in {"total", "open", "overdue", "on_time", "rebounded", "closed"}:
            assert county[c.name] == sum(getattr(s, c.name) for s in scores), c.name
    assert county["total"] == listed.number_matched


def test_a_township_officer_sees_the_county_rank(  # type: ignore[no-untyped-def]
    demo_app, office, demo_engine, codes
) -> None:
    county = {t["code"]: t for t in office.get("/api/townships/summary").json()["townships"]}
    worst_first = sorted(county.values(), key=lambda t: -t["rank"])
    # the townships ranked best and worst in the county, seen by their own officers
    for town in (worst_first[0]["code"], worst_first[-1]["code"], codes[0]):
        headers = make_token(demo_engine, "township", [town], name=f"truth-{town}")
        with TestClient(demo_app, headers=headers) as c:
            wall = c.get("/api/wall/summary").json()
            card = c.get("/api/townships/summary").json()["townships"]
        assert [t["code"] for t in wall["ranking"]] == [town]
        assert [t["code"] for t in card] == [town]
        assert wall["ranking"][0]["rank"] == card[0]["rank"] == county[town]["rank"]
        for name in NAMES:
            assert wall["counts"][name] == county[town][name]


def test_the_scorecard_refuses_a_scoped_query(demo_engine) -> None:  # type: ignore[no-untyped-def]
    with Session(demo_engine) as session, pytest.raises(ValueError, match="county"):
        township_scorecard(session, today=DEMO_AS_OF, query=ProblemQuery(scope=("x",)))


# -- scope fails closed ------------------------------------------------------------------------
def test_an_empty_scope_sees_nothing_anywhere(demo_engine) -> None:  # type: ignore[no-untyped-def]
    params: dict = {}
    assert scope_sql("p.township_code", (), params) == "FALSE" and params == {}
    assert scope_sql("p.township_code", None, params) == "TRUE"
    with Session(demo_engine) as session:
        # the demo has items in every listing, so "nothing" is not an accident of the data
        assert ticker(session, township_codes=None)
        assert complaint_heat(session, today=DEMO_AS_OF, days=3650, township_codes=None)
        assert ledger_counts(session, today=DEMO_AS_OF)["total"] > 0
        assert ticker(session, township_codes=()) == []
        assert complaint_heat(session, today=DEMO_AS_OF, days=3650, township_codes=()) == []
        assert open_suspects(session, ()) == []
        assert ledger_counts(session, today=DEMO_AS_OF, query=ProblemQuery(scope=()))["total"] == 0
        assert township_scorecard(session, today=DEMO_AS_OF, scope=()) == []


def test_set_role_refuses_a_scoped_role_without_townships(db) -> None:  # type: ignore[no-untyped-def]
    with Session(db) as session, session.begin():
        auth.add_user(session, name="roamer", role="viewer", password=None, actor="test")
        with pytest.raises(auth.AuthError, match="at least one"):
            auth.set_role(session, name="roamer", role="township", townships=[], actor="test")
        with pytest.raises(auth.AuthError, match="at least one"):
            auth.set_role(session, name="roamer", role="inspector", townships=None, actor="test")
        user = auth.set_role(session, name="roamer", role="township", townships=["1"], actor="t")
        assert user.role == "township"


def test_listings_are_scoped_the_same_way(demo_app, demo_engine, codes) -> None:  # type: ignore[no-untyped-def]
    town = codes[0]
    headers = make_token(demo_engine, "township", [town], name="truth-listings")
    with TestClient(demo_app, headers=headers) as c:
        sites = c.get("/api/sites").json()
        complaints = c.get("/api/complaints", params={"limit": 1000}).json()
        suspects = c.get("/api/suspected-rebounds").json()
    assert sites and {s["township_code"] for s in sites} == {town}
    assert {x["township_code"] for x in complaints["items"]} <= {town}
    assert complaints["number_matched"] == len(complaints["items"])
    with Session(demo_engine) as session:
        sql = text("SELECT township_code FROM problems WHERE id = :i")
        towns = {session.execute(sql, {"i": s["problem_id"]}).scalar() for s in suspects}
    assert towns <= {town}


def test_as_of_a_past_day_rebuilds_text_and_geometry_from_the_history(db) -> None:  # type: ignore[no-untyped-def]
    from datetime import date

    from gis.ledger import writes as ledger
    from tests.factories import T0, load_two_townships, new_problem

    with Session(db) as s, s.begin():
        load_two_townships(s)
        new_problem(s, "T-001", lon=113.05, lat=34.05)
        ledger.update_problem(
            s, "T-001",
            {"description": "工地扬尘已覆盖", "measures": "洒水降尘",
             "geometry": {"type": "Point", "coordinates": [113.06, 34.06]}},
            actor="office", reason="现场复核后更正", now=T0 + timedelta(days=3),
        )  # fmt: skip
    def as_of(day: date) -> dict:
        with Session(db) as s:
            found = list_problems(s, today=day, query=ProblemQuery(as_of=day), geometry=True)
        (item,) = found.items
        return item

    before, after = as_of(date(2026, 3, 3)), as_of(date(2026, 3, 6))
    assert before["description"] == "工地扬尘" and before["measures"] == ""
    assert after["description"] == "工地扬尘已覆盖" and after["measures"] == "洒水降尘"
    assert before["geometry"]["coordinates"] == [113.05, 34.05]
    assert after["geometry"]["coordinates"] == [113.06, 34.06]
