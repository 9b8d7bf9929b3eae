"""Township and site import from GeoJSON, GeoPackage and Shapefile in different CRSs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import geopandas as gpd
import pytest
from pyproj import Geod
from shapely.geometry import Polygon, box
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from gis.geo.townships import township_for_point
from gis.io.boundaries import BoundaryImportError, ImportReport, import_sites, import_townships

WEST, EAST, NORTH = "410199101000", "410199102000", "410199001000"
TOWNS = [
    (WEST, "河口镇", box(113.00, 34.00, 113.10, 34.10)),
    (EAST, "柳林镇", box(113.10, 34.00, 113.20, 34.10)),
    (NORTH, "城关街道", box(113.00, 34.10, 113.20, 34.15)),
]
POINTS = {
    (113.05, 34.05): WEST,
    (113.15, 34.05): EAST,
    (113.10, 34.12): NORTH,
    (113.17, 34.14): NORTH,
    (113.30, 34.05): None,
}
GEOD = Geod(ellps="GRS80")


def _frame(
    rows: list[tuple[str, str, Polygon]], code: str, name: str, **extra: list
) -> gpd.GeoDataFrame:
    data = {code: [r[0] for r in rows], name: [r[1] for r in rows], **extra}
    return gpd.GeoDataFrame(data, geometry=[r[2] for r in rows], crs=4326)


def write_geojson_4326(folder: Path) -> Path:
    """GeoJSON in WGS-84 with string codes and an extra numeric column."""
    path = folder / "towns.geojson"
    frame = _frame(TOWNS, "XZQDM", "XZQMC", AREA_KM2=[123.4, 120.1, 90.2])
    frame.to_file(path, driver="GeoJSON", engine="pyogrio")
    return path


def write_gpkg_4547(folder: Path) -> Path:
    """GeoPackage in CGCS2000 3-degree Gauss–Krüger CM 114°E (no zone prefix)."""
    path = folder / "towns.gpkg"
    frame = _frame(TOWNS, "town_code", "town_name", remark=["a", "b", "c"]).to_crs(4547)
    frame.to_file(path, driver="GPKG", layer="towns", engine="pyogrio")
    return path


def write_shapefile_4490(folder: Path) -> Path:
    """Shapefile in CGCS2000 geographic with integer codes (a DBF numeric column)."""
    path = folder / "towns.shp"
    frame = _frame(TOWNS, "DM", "MC")
    frame["DM"] = frame["DM"].astype("int64")
    frame.set_crs(4490, allow_override=True).to_file(path, engine="pyogrio")
    return path


def _areas(session: Session) -> dict[str, float]:
    rows = session.execute(text("SELECT code, ST_Area(geom::geography) FROM townships")).all()
    return {code: float(area) for code, area in rows}


def _geodesic_area(polygon: Polygon) -> float:
    return abs(GEOD.geometry_area_perimeter(polygon)[0])


@pytest.mark.parametrize(
    ("writer", "crs_code", "fields"),
    [
        (write_geojson_4326, "4326", {"code": "XZQDM", "name": "XZQMC"}),
        (write_gpkg_4547, "4547", {"code": "town_code", "name": "town_name"}),
        (write_shapefile_4490, "4490", {"code": "DM", "name": "MC"}),
    ],
    ids=["geojson-4326", "gpkg-4547", "shp-4490"],
)
def test_same_townships_from_three_crss(
    db: Engine,
    tmp_path: Path,
    writer: Callable[[Path], Path],
    crs_code: str,
    fields: dict[str, str],
) -> None:
    path = writer(tmp_path)
    with Session(db) as session, session.begin():
        report = import_townships(session, path)
        assert report.fields == fields
        assert any("code field" in n and fields["code"] in n for n in report.notes)
        assert any("name field" in n and fields["name"] in n for n in report.notes)
        assert crs_code in report.source_crs
        assert sorted(report.imported) == sorted(t[0] for t in TOWNS)
        assert not report.updated and not report.rejected
        assert not report.overlaps and not report.gaps
        assert report.accounted
        for (lon, lat), code in POINTS.items():
            assert township_for_point(session, lon, lat) == code, (lon, lat)
        names = dict(session.execute(text("SELECT code, name FROM townships")).all())
        assert names == {code: name for code, name, _ in TOWNS}
        areas = _areas(session)
        for code, _, polygon in TOWNS:
            assert areas[code] == pytest.approx(_geodesic_area(polygon), rel=1e-4)
        kinds = session.execute(text("SELECT DISTINCT GeometryType(geom) FROM townships")).all()
        assert kinds == [("MULTIPOLYGON",)]


def test_reimport_updates_by_code(db: Engine, tmp_path: Path) -> None:
    path = write_geojson_4326(tmp_path)
    with Session(db) as session, session.begin():
        import_townships(session, path)
        renamed = gpd.read_file(path)
        renamed.loc[renamed["XZQDM"] == WEST, "XZQMC"] = "河口镇（新）"
        renamed.to_file(path, driver="GeoJSON")
        again = import_townships(session, path, code_field="XZQDM", name_field="XZQMC")
        assert again.imported == [] and sorted(again.updated) == sorted(t[0] for t in TOWNS)
        assert again.notes == []  # nothing guessed when the fields are given
        name = session.execute(text("SELECT name FROM townships WHERE code = :c"), {"c": WEST})
        assert name.scalar_one() == "河口镇（新）"
        assert session.execute(text("SELECT count(*) FROM townships")).scalar_one() == 3


def test_bow_tie_is_repaired_with_a_warning(db: Engine, tmp_path: Path) -> None:
    bow_tie = Polygon([(113.0, 34.0), (113.1, 34.1), (113.1, 34.0), (113.0, 34.1), (113.0, 34.0)])
    path = tmp_path / "bowtie.geojson"
    _frame([(WEST, "河口镇", bow_tie), TOWNS[1]], "code", "name").to_file(path, driver="GeoJSON")
    with Session(db) as session, session.begin():
        report = import_townships(session, path)
        assert sorted(report.imported) == [WEST, EAST]
        repaired = [w for w in report.warnings if "make_valid" in w]
        assert len(repaired) == 1
        assert "row 1" in repaired[0] and WEST in repaired[0] and "河口镇" in repaired[0]
        assert "Self-intersection" in repaired[0]
        valid, parts = session.execute(
            text("SELECT ST_IsValid(geom), ST_NumGeometries(geom) FROM townships WHERE code = :c"),
            {"c": WEST},
        ).one()
        assert valid and parts == 2
        # The two triangles of the bow tie: left and right of its crossing point.
        assert township_for_point(session, 113.02, 34.05) == WEST
        assert township_for_point(session, 113.05, 34.02) is None


def test_bad_codes_are_rejected_with_reasons(db: Engine, tmp_path: Path) -> None:
    rows = [
        TOWNS[0],
        ("41019910200", "柳林镇", TOWNS[1][2]),  # 11 digits
        ("410199001", "城关街道", TOWNS[2][2]),  # a 9-digit code
        ("4101990020AB", "石桥镇", box(113.2, 34.0, 113.3, 34.1)),
        (NORTH, "", box(113.3, 34.0, 113.4, 34.1)),  # no name
    ]
    path = tmp_path / "codes.geojson"
    _frame(rows, "code", "name").to_file(path, driver="GeoJSON")
    with Session(db) as session, session.begin():
        report = import_townships(session, path, code_field="code", name_field="name")
        assert report.imported == [WEST]
        reasons = {r.row: r.reason for r in report.rejected}
        assert set(reasons) == {2, 3, 4, 5}
        assert "'41019910200' is not 12 digits" in reasons[2]
        assert "append '000'" in reasons[3]
        assert "not 12 digits" in reasons[4]
        assert reasons[5] == "no name"
        assert report.accounted
        assert session.execute(text("SELECT count(*) FROM townships")).scalar_one() == 1


def test_overlap_and_gap_are_reported_in_square_metres(db: Engine, tmp_path: Path) -> None:
    west = box(113.00, 34.00, 113.10, 34.10)
    east = box(113.09, 34.00, 113.20, 34.10)  # overlaps the west strip 113.09–113.10
    # A notch cut from the west edge of the third township, closed off by the east one: a gap.
    notch = box(113.20, 34.04, 113.22, 34.06)
    third = box(113.20, 34.00, 113.30, 34.10).difference(notch)
    north = Polygon(
        [(113.00, 34.10), (113.30, 34.10), (113.30, 34.12), (113.00, 34.12), (113.00, 34.10)]
    )
    rows = [
        (WEST, "河口镇", west),
        (EAST, "柳林镇", east),
        ("410199103000", "石桥镇", third),
        (NORTH, "城关街道", north),
    ]
    path = tmp_path / "overlap.geojson"
    _frame(rows, "code", "name").to_file(path, driver="GeoJSON")
    with Session(db) as session, session.begin():
        report = import_townships(session, path)
        assert len(report.imported) == 4
        assert [(o.a, o.b) for o in report.overlaps] == [(WEST, EAST)]
        strip = box(113.09, 34.00, 113.10, 34.10)
        assert report.overlaps[0].area_m2 == pytest.approx(_geodesic_area(strip), rel=1e-3)
        assert 9e6 < report.overlaps[0].area_m2 < 1.1e7  # ~0.92 km × 11.1 km, not degrees
        assert len(report.gaps) == 1
        gap = report.gaps[0]
        assert gap.area_m2 == pytest.approx(_geodesic_area(notch), rel=1e-3)
        assert set(gap.neighbours) == {EAST, "410199103000"}
        assert 113.18 < gap.lon < 113.22 and 34.04 < gap.lat < 34.06


def test_no_crs_with_zone_prefix_and_wrong_prefix_are_handled(db: Engine, tmp_path: Path) -> None:
    # Zone 38 (central meridian 114°E) with its prefix, and no .prj at all.
    frame = _frame(TOWNS, "code", "name").to_crs(4526)
    shp = tmp_path / "noprj.shp"
    frame.to_file(shp, engine="pyogrio")
    shp.with_suffix(".prj").unlink()
    # Declared CM 114°E without prefix, but the coordinates carry the prefix 38.
    wrong = tmp_path / "wrong.gpkg"
    frame.set_crs(4547, allow_override=True).to_file(wrong, driver="GPKG")
    for path, expected in ((shp, "zone prefix 38"), (wrong, "start with 38")):
        with Session(db) as session, session.begin():
            report = import_townships(session, path)
            assert any(expected in w for w in report.warnings), report.warnings
            assert "4526" in report.source_crs
            for (lon, lat), code in POINTS.items():
                assert township_for_point(session, lon, lat) == code
            session.execute(text("DELETE FROM townships"))


def test_unusable_files_raise_clear_errors(db: Engine, tmp_path: Path) -> None:
    path = tmp_path / "nocode.geojson"
    _frame(TOWNS, "code", "name").assign(code="x").to_file(path, driver="GeoJSON")
    with Session(db) as session:
        with pytest.raises(BoundaryImportError, match="12-digit"):
            import_townships(session, path)
        with pytest.raises(BoundaryImportError, match="no code field 'CODE'"):
            import_townships(session, path, code_field="CODE")
        with pytest.raises(BoundaryImportError, match="no such file"):
            import_townships(session, tmp_path / "missing.shp")
        with pytest.raises(BoundaryImportError, match="unknown site kind"):
            import_sites(session, path, kind="volcano")


def test_protection_zones_import_with_levels(db: Engine, tmp_path: Path) -> None:
    path = tmp_path / "zones.gpkg"
    zones = gpd.GeoDataFrame(
        {
            "名称": ["北沙河水库一级保护区", "北沙河水库二级保护区", "南溪河三级区"],
            "级别": ["一级保护区", "二级保护区", "三级"],
            "批复文号": ["豫政文〔2020〕1号", "豫政文〔2020〕1号", None],
        },
        geometry=[
            box(113.04, 34.04, 113.06, 34.06),
            box(113.03, 34.03, 113.07, 34.07).difference(box(113.04, 34.04, 113.06, 34.06)),
            box(113.14, 34.04, 113.16, 34.06),
        ],
        crs=4326,
    ).to_crs(4547)
    zones.to_file(path, driver="GPKG")
    with Session(db) as session, session.begin():
        import_townships(session, write_geojson_4326(tmp_path))
        report = import_sites(session, path, kind="protection_zone")
        assert report.fields == {"name": "名称", "zone_level": "级别"}
        assert len(report.imported) == 2
        assert [(r.row, r.reason) for r in report.rejected] == [
            (3, "zone level '三级' is not 1, 2 or quasi")
        ]
        rows = session.execute(
            text(
                "SELECT name, zone_level, township_code, properties->>'批复文号'"
                " FROM sites ORDER BY zone_level"
            )
        ).all()
        assert rows == [
            ("北沙河水库一级保护区", "1", WEST, "豫政文〔2020〕1号"),
            ("北沙河水库二级保护区", "2", WEST, "豫政文〔2020〕1号"),
        ]
        again = import_sites(session, path, kind="protection_zone")
        assert again.imported == [] and len(again.updated) == 2
        assert session.execute(text("SELECT count(*) FROM sites")).scalar_one() == 2


def test_cli_prints_the_report_and_dry_run_writes_nothing(
    db: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from server.cli import imports as cli_import

    monkeypatch.setattr(cli_import, "_engine", lambda: db)
    path = write_shapefile_4490(tmp_path)
    runner = CliRunner()
    dry = runner.invoke(cli_import.import_app, ["townships", str(path), "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert "dry run" in dry.output and "imported (new)" in dry.output
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM townships")).scalar_one() == 0

    done = runner.invoke(
        cli_import.import_app, ["townships", str(path), "--code-field", "DM", "--name-field", "MC"]
    )
    assert done.exit_code == 0, done.output
    assert "imported (new)" in done.output and "3" in done.output
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM townships")).scalar_one() == 3

    bad = runner.invoke(cli_import.import_app, ["townships", str(path), "--code-field", "NOPE"])
    assert bad.exit_code == 2 and "no code field 'NOPE'" in bad.output

    sites = runner.invoke(
        cli_import.import_app, ["sites", str(path), "--kind", "enterprise", "--name-field", "MC"]
    )
    assert sites.exit_code == 0, sites.output
    assert "sites (enterprise)" in sites.output


def test_report_type_is_a_dataclass() -> None:
    report = ImportReport(kind="townships", source="x")
    assert report.imported == [] and report.accounted
