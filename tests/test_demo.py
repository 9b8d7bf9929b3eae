"""The demo county: realistic, complete and deterministic."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import text

from gis.db.engine import make_engine, upgrade
from gis.demo.county import load_demo
from tests.conftest import DEMO_AS_OF, DEMO_SEED, create_database

CONTENT_QUERIES = {
    "townships": "SELECT code, name, ST_AsEWKB(geom) FROM townships ORDER BY code",
    "sites": "SELECT id, kind, name, zone_level, parent_id, township_code, ST_AsEWKB(geom)"
    " FROM sites ORDER BY id",
    "problems": "SELECT code, source, category, status, deadline_kind, deadline, township_code,"
    " responsible_unit, responsible_person, reported_at, closed_at, ST_AsEWKB(geom)"
    " FROM problems ORDER BY code",
    "milestones": "SELECT problem_id, title, due_date, met_on FROM milestones ORDER BY id",
    "complaints": "SELECT code, channel, kind, received_at, ST_AsEWKB(geom) FROM complaints"
    " ORDER BY code",
    "inspections": "SELECT uuid, problem_id, finding, observed_at, ST_AsEWKB(geom)"
    " FROM inspections ORDER BY uuid",
}


def _digest(engine) -> dict[str, str]:  # type: ignore[no-untyped-def]
    out = {}
    with engine.connect() as conn:
        for table, sql in CONTENT_QUERIES.items():
            h = hashlib.sha256()
            for row in conn.execute(text(sql)):
                h.update(repr(tuple(row)).encode())
            out[table] = h.hexdigest()
    return out


def test_same_seed_same_data_other_seed_other_data(pg_cluster, demo_engine) -> None:  # type: ignore[no-untyped-def]
    twin_url = create_database(pg_cluster, "lookback_demo_twin")
    upgrade(twin_url)
    twin = make_engine(twin_url)
    try:
        load_demo(twin, scale=300, seed=DEMO_SEED, as_of=DEMO_AS_OF)
        assert _digest(twin) == _digest(demo_engine)
    finally:
        twin.dispose()
    other_url = create_database(pg_cluster, "lookback_demo_other")
    upgrade(other_url)
    other = make_engine(other_url)
    try:
        load_demo(other, scale=300, seed=DEMO_SEED + 1, as_of=DEMO_AS_OF)
        assert _digest(other)["problems"] != _digest(demo_engine)["problems"]
    finally:
        other.dispose()


def test_demo_county_is_realistic(demo_engine) -> None:  # type: ignore[no-untyped-def]
    with demo_engine.connect() as conn:
        q = lambda sql: conn.execute(text(sql)).all()  # noqa: E731
        townships = q("SELECT code, name, ST_IsValid(geom) FROM townships")
        assert 12 <= len(townships) <= 20
        assert all(len(c) == 12 and c.isdigit() and v for c, _n, v in townships)
        assert all(n.endswith(("镇", "乡", "街道")) for _c, n, _v in townships)
        # townships tile the county without overlaps
        overlap = q(
            "SELECT count(*) FROM townships a JOIN townships b ON a.code < b.code"
            " AND ST_Area(ST_Intersection(a.geom, b.geom)::geography) > 1"
        )[0][0]
        assert overlap == 0
        kinds = dict(q("SELECT kind, count(*) FROM sites GROUP BY kind"))
        for kind in (
            "river",
            "sewage_plant",
            "sand_gravel",
            "water_source",
            "protection_zone",
            "air_station",
            "dust_source",
        ):
            assert kinds.get(kind, 0) >= 1, kind
        assert kinds["air_station"] == 2
        levels = {r[0] for r in q("SELECT zone_level FROM sites WHERE kind='protection_zone'")}
        assert levels == {"1", "2"}
        assert q("SELECT count(*) FROM problems")[0][0] == 300
        statuses = dict(q("SELECT status, count(*) FROM problems GROUP BY status"))
        assert set(statuses) == {
            "reported",
            "assigned",
            "rectifying",
            "awaiting_verification",
            "closed",
            "rebounded",
        }
        overdue = q(
            "SELECT count(*) FROM problems WHERE status <> 'closed'"
            " AND deadline < DATE '2026-11-23'"
        )[0][0]
        assert overdue > 10
        assert q("SELECT count(*) FROM problems WHERE township_code IS NULL")[0][0] == 0
        assert q("SELECT count(DISTINCT category) FROM problems")[0][0] >= 10
        assert q("SELECT count(*) FROM complaints")[0][0] >= 100
        assert q("SELECT count(*) FROM inspections")[0][0] >= 300
        # dust complaints cluster: most lie within 1 km of a construction site
        near = q(
            "SELECT avg((EXISTS (SELECT 1 FROM sites s WHERE s.kind='dust_source'"
            " AND ST_DWithin(s.geom::geography, c.geom::geography, 1000)))::int)"
            " FROM complaints c WHERE c.kind='air'"
        )[0][0]
        assert near > 0.5
        assert q("SELECT count(*) FROM events WHERE action = 'created'")[0][0] == 300


def test_demo_refuses_a_database_with_data(demo_engine) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match="empty"):
        load_demo(demo_engine, scale=10, seed=1, as_of=DEMO_AS_OF)


def test_scale_sets_the_number_of_problems(db) -> None:  # type: ignore[no-untyped-def]
    summary = load_demo(db, scale=2000, seed=7, as_of=DEMO_AS_OF)
    assert summary.counts["problems"] == 2000
    assert summary.counts["complaints"] == 1200
    with db.connect() as conn:
        n = conn.execute(text("SELECT count(*) FROM problems WHERE township_code IS NOT NULL"))
        assert n.scalar_one() == 2000
