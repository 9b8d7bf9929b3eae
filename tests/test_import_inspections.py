"""``lookback import inspections``: per-point report, same validation, re-imports are duplicates."""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import typer
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

import server.cli.field
from gis.db.engine import make_engine
from gis.field.inspections import point_uuid
from gis.geo import coords
from gis.io.pointfiles import read_points
from server.cli.field import field_app
from tests.conftest import REALDATA
from tests.factories import WEST, load_two_townships, new_problem

RECENT = datetime.now(UTC) - timedelta(days=2)


@pytest.fixture
def lookback(db, monkeypatch):  # type: ignore[no-untyped-def]
    """`lookback import …` wired to the test database, as the main command line registers it."""
    with Session(db) as session, session.begin():
        load_two_townships(session)
        new_problem(session, "T-001", lon=113.05, lat=34.05)
    url = db.url.render_as_string(hide_password=False)
    monkeypatch.setattr(server.cli.field, "_engine", lambda: make_engine(url))
    root = typer.Typer()
    root.add_typer(field_app, name="import")
    runner = CliRunner(env={"COLUMNS": "200"})  # rich wraps a table title to the table's width

    def run(*args: str) -> object:
        result = runner.invoke(root, ["import", "inspections", *args], catch_exceptions=False)
        return result

    return run


def count(engine: Engine, sql: str = "SELECT count(*) FROM inspections", **params) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def gpx(tmp_path: Path) -> Path:
    t = [(RECENT + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(6)]
    body = f"""<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
  <wpt lat="34.05" lon="113.05"><time>{t[0]}</time><name>工地东门</name>
    <desc>围挡破损</desc></wpt>
  <wpt lat="34.5" lon="113.5"><time>{t[1]}</time><name>县外</name></wpt>
  <wpt lat="34.06" lon="113.06"><name>无时间</name></wpt>
  <trk><name>巡查轨迹</name><trkseg>
    <trkpt lat="34.051" lon="113.051"><time>{t[2]}</time></trkpt>
    <trkpt lat="95.0" lon="113.052"><time>{t[3]}</time></trkpt>
    <trkpt lat="34.053" lon="113.053"><time>{t[4]}</time></trkpt>
  </trkseg></trk>
</gpx>
"""
    path = tmp_path / "walk.gpx"
    path.write_text(body, encoding="utf-8")
    return path


def test_gpx_import_reports_every_point_and_reimport_is_duplicates(lookback, db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = gpx(tmp_path)
    first = lookback(str(path), "--inspector", "张三", "--report", str(tmp_path / "r.csv"))
    assert first.exit_code == 0, first.output
    assert "imported" in first.output and "rejected" in first.output
    assert count(db) == 4
    rows = list(csv.DictReader((tmp_path / "r.csv").open(encoding="utf-8-sig")))
    assert [r["status"] for r in rows] == [
        "imported", "imported", "rejected", "imported", "rejected", "imported"
    ]
    assert "no time" in rows[2]["reason"]
    assert "latitude" in rows[4]["reason"] or "纬度" in rows[4]["reason"]
    file_sha = hashlib.sha256(path.read_bytes()).hexdigest()
    assert [r["uuid"] for r in rows] == [str(point_uuid(file_sha, i)) for i in range(6)]
    assert "outside_county" in rows[1]["flags"]
    with db.connect() as conn:
        notes = conn.execute(text("SELECT note FROM inspections ORDER BY observed_at")).scalars()
        assert next(iter(notes)) == "工地东门 · 围挡破损"
        towns = conn.execute(
            text("SELECT DISTINCT township_code FROM inspections WHERE township_code IS NOT NULL")
        )
        assert towns.scalars().all() == [WEST]

    again = lookback(str(path), "--inspector", "张三", "--report", str(tmp_path / "r2.csv"))
    assert again.exit_code == 0
    assert count(db) == 4
    rows2 = list(csv.DictReader((tmp_path / "r2.csv").open(encoding="utf-8-sig")))
    assert [r["status"] for r in rows2] == [
        "duplicate", "duplicate", "rejected", "duplicate", "rejected", "duplicate"
    ]

    other = lookback(str(path), "--inspector", "张三", "--finding", "persists", "--show", "0")
    assert other.exit_code == 0
    assert count(db) == 4
    assert count(db, "SELECT count(*) FROM inspections WHERE finding = 'persists'") == 0


def test_default_time_problem_and_dry_run(lookback, db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = gpx(tmp_path)
    dry = lookback(str(path), "--inspector", "张三", "--dry-run")
    assert dry.exit_code == 0 and "dry run" in dry.output
    assert count(db) == 0
    when = (RECENT - timedelta(hours=1)).isoformat()
    done = lookback(
        str(path), "--inspector", "张三", "--time", when, "--problem", "T-001",
        "--finding", "persists",
    )
    assert done.exit_code == 0, done.output
    assert count(db) == 5  # the timeless waypoint now takes --time
    assert count(db, "SELECT count(*) FROM events WHERE action = 'inspection'") == 5
    assert count(db, "SELECT count(*) FROM inspections WHERE flags ? 'off_site'") == 4
    naive = lookback(str(path), "--inspector", "张三", "--time", "2026-03-02T10:00:00")
    assert naive.exit_code == 1 and "time zone" in naive.output
    bad = lookback(str(path), "--inspector", "张三", "--finding", "fixed")
    assert bad.exit_code == 1


def test_geojson_points_from_a_chinese_web_map(lookback, db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    truth = [(113.0512, 34.0433), (113.0688, 34.0721)]
    features = []
    for i, (lon, lat) in enumerate(truth):
        glon, glat = coords.wgs84_to_gcj02(lon, lat)
        features.append({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [glon, glat]},
            "properties": {"name": f"点{i}", "time": RECENT.isoformat()},
        })
    features.append({"type": "Feature", "geometry": None, "properties": {}})
    path = tmp_path / "amap.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    result = lookback(str(path), "--inspector", "李四", "--crs", "gcj02", "--category", "dust")
    assert result.exit_code == 0, result.output
    with db.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT ST_X(geom), ST_Y(geom), source_crs, source_lon, category FROM inspections"
                " ORDER BY source_lon"
            )
        ).all()
    assert len(rows) == 2
    for (x, y, crs, src_lon, category), (lon, lat) in zip(rows, truth, strict=True):
        assert coords.distance_m(x, y, lon, lat) < 0.01
        assert crs == "gcj02" and category == "dust"
        assert abs(src_lon - lon) > 1e-4


def test_unreadable_file_exits_1(lookback, tmp_path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "broken.gpx"
    path.write_text("<gpx><wpt lat=")
    result = lookback(str(path), "--inspector", "张三")
    assert result.exit_code == 1


REAL_GPX = sorted(REALDATA.glob("*.gpx")) if REALDATA.is_dir() else []


@pytest.mark.skipif(not REAL_GPX, reason="../shared/realdata is absent")
@pytest.mark.parametrize("path", REAL_GPX, ids=[p.name for p in REAL_GPX])
def test_real_gpx_files(lookback, db, tmp_path, path: Path) -> None:  # type: ignore[no-untyped-def]
    total = read_points(path).total
    report = tmp_path / "report.csv"
    when = "2026-01-01T08:00:00+08:00"
    first = lookback(str(path), "--inspector", "导入", "--time", when, "--report", str(report))
    assert first.exit_code == 0, first.output
    rows = list(csv.DictReader(report.open(encoding="utf-8-sig")))
    assert len(rows) == total
    imported = sum(r["status"] == "imported" for r in rows)
    assert imported + sum(r["status"] == "rejected" for r in rows) == total
    assert count(db) == imported
    assert all(r["reason"] for r in rows if r["status"] == "rejected")
    again = lookback(str(path), "--inspector", "导入", "--time", when, "--report", str(report))
    assert again.exit_code == 0
    rows = list(csv.DictReader(report.open(encoding="utf-8-sig")))
    assert sum(r["status"] == "duplicate" for r in rows) == imported
    assert count(db) == imported
