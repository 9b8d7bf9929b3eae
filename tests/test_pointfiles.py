"""Tests for gis.io.pointfiles: every real GPX/GeoJSON file against SOURCES.md, and messy input."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import pytest
from pyproj import Transformer
from shapely.geometry import Point

from gis.geo import coords
from gis.io.pointfiles import PointFileError, PointFileResult, read_points

REALDATA = Path(__file__).resolve().parent.parent.parent / "shared" / "realdata"
SOURCES = REALDATA / "SOURCES.md"
GPX_KIND = {"wpt": "waypoint", "rtept": "routepoint", "trkpt": "trackpoint"}


def realdata(name: str = "") -> Path:
    """Return a path in shared/realdata, skipping the test when the folder is absent."""
    if not SOURCES.is_file():
        pytest.skip("shared/realdata is not present in this clone")
    return REALDATA / name


def table_rows(heading: str) -> list[list[str]]:
    """Return the data rows (cells stripped) of the first table under a SOURCES.md heading."""
    text = realdata("SOURCES.md").read_text(encoding="utf-8")
    section = text.split(f"## {heading}", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("|")]
    return [[cell.strip() for cell in row.strip("|").split("|")] for row in rows[2:]]


def gpx_counts() -> dict[str, dict[str, int]]:
    """Return {file: {"waypoint": n, "routepoint": n, "trackpoint": n}} from SOURCES.md."""
    return {
        row[0]: {"waypoint": int(row[4]), "routepoint": int(row[5]), "trackpoint": int(row[6])}
        for row in table_rows("GPX")
    }


def geojson_counts() -> dict[str, Counter[str]]:
    """Return {file: Counter(geometry type -> features)} from SOURCES.md's GeoJSON table."""
    expected: dict[str, Counter[str]] = {}
    for row in table_rows("GeoJSON"):
        name, features, types = row[0], row[3], row[4]
        bare = re.fullmatch(r"GeometryCollection\((.*)\)", types)
        counts: Counter[str] = Counter()
        for item in (bare.group(1) if bare else types).split(","):
            m = re.fullmatch(r"(\w+)(?:\s*\(3D\))?(?:\s*×\s*(\d+))?", item.strip())
            assert m, f"cannot read geometry types {types!r} for {name}"
            counts[m.group(1)] += int(m.group(2) or 1)
        n_features = int(re.match(r"\d+", features).group(0))
        if n_features:
            assert sum(counts.values()) == n_features, name
        expected[name] = counts
    return expected


def assert_lossless(result: PointFileResult) -> None:
    """Points and rejections share one running index 0..n-1; points are clean lon/lat, UTC."""
    indices = sorted([p.index for p in result.points] + [r.index for r in result.rejected])
    assert indices == list(range(result.total))
    for p in result.points:
        assert coords.validate_lonlat(p.lon, p.lat) == (p.lon, p.lat)
        assert p.time is None or p.time.utcoffset() is not None
        assert p.time is None or p.time.tzinfo == UTC


# ---------------------------------------------------------------------------------------------
# Every real file, against SOURCES.md
# ---------------------------------------------------------------------------------------------


def test_sources_tables_cover_every_file() -> None:
    """Every .gpx/.geojson file in realdata is documented (and so counted) in SOURCES.md."""
    folder = realdata()
    gpx = {p.name for p in folder.glob("*.gpx")}
    geojson = {p.name for p in folder.glob("*.geojson")} | {
        p.name for p in folder.glob("*.json") if p.name != "gcj02_vectors.json"
    }
    assert gpx and gpx == set(gpx_counts())
    assert geojson and geojson == set(geojson_counts())


def test_every_gpx_file_matches_sources_counts() -> None:
    """Each real GPX yields exactly the documented waypoints, route points and track points."""
    for name, expected in gpx_counts().items():
        result = read_points(realdata(name))
        assert_lossless(result)
        seen = Counter(p.source_kind for p in result.points)
        seen.update(GPX_KIND[r.raw["element"]] for r in result.rejected)
        assert {kind: seen[kind] for kind in expected} == expected, name
        assert result.total == sum(expected.values()), name
        assert result.crs == "EPSG:4326"
        assert result.file_format.startswith("gpx")


def test_every_geojson_file_matches_sources_counts() -> None:
    """Each real GeoJSON yields one entry per documented feature, split by geometry type."""
    for name, expected in geojson_counts().items():
        result = read_points(realdata(name))
        assert_lossless(result)
        assert result.total == sum(expected.values()), name
        no_geometry = [r for r in result.rejected if r.reason.startswith("no geometry")]
        not_point = [r for r in result.rejected if r.reason.startswith("not a point")]
        other = [r for r in result.rejected if r not in no_geometry and r not in not_point]
        assert len(no_geometry) == expected["null"], name
        assert len(not_point) == sum(n for t, n in expected.items() if t not in ("Point", "null"))
        assert len(result.points) + len(other) == expected["Point"], name


def test_time_handling_on_real_files() -> None:
    """Offsets convert to UTC, fractional seconds survive, naive times are flagged as UTC."""
    nike = read_points(realdata("gpxpy__track-with-less-sec-time.gpx")).points
    assert nike[0].time == datetime(2015, 12, 11, 14, 43, 13, tzinfo=UTC)
    assert nike[1].time == datetime(2015, 12, 11, 14, 43, 13, 994000, tzinfo=UTC)
    full = read_points(realdata("gpxpy__gpx1.1_with_all_fields.gpx"))
    naive = [p for p in full.points if "time_naive_assumed_utc" in p.flags]
    assert [p.source_kind for p in naive] == ["trackpoint"]
    assert naive[0].time == datetime(2013, 1, 1, 12, 0, 4, tzinfo=UTC)
    assert any("no time zone" in w for w in full.warnings)
    waypoint = full.points[0]
    assert waypoint.name == "example name"
    assert waypoint.properties["desc"] == "example desc"
    assert waypoint.properties["cmt"] == "example cmt"
    assert waypoint.properties["sat"] == 5
    without = read_points(realdata("gpxpy__cerknicko-without-times.gpx")).points
    assert sum(p.time is None for p in without) == 298


def test_bom_file_parses() -> None:
    """The UTF-8 BOM, namespace-less GPX gives its waypoint with all fields."""
    result = read_points(realdata("gpxpy__unicode_with_bom.gpx"))
    (p,) = result.points
    assert (p.lon, p.lat, p.ele, p.name) == (3.515386, 43.309634, -14.6, "test")
    assert p.time == datetime(2016, 5, 27, 10, 8, 47, 800000, tzinfo=UTC)
    assert p.properties["desc"] == "test desc" and "fix" not in p.properties
    assert any("no namespace" in w for w in result.warnings)


def test_empty_segment_track_yields_points() -> None:
    """A track whose second segment is empty still yields its nine points, with a warning."""
    result = read_points(realdata("gpxpy__track-with-empty-segment.gpx"))
    assert len(result.points) == 9 and not result.rejected
    assert all(p.source_kind == "trackpoint" and p.ele == 191.5999756 for p in result.points)
    assert any("segment 1 is empty" in w for w in result.warnings)


def test_empty_elevation_and_extensions() -> None:
    """Empty <ele> becomes None; gpxtpx heart rate lands in properties."""
    assert all(p.ele is None for p in read_points(realdata("togeojson__empty_ele.gpx")).points)
    strava = read_points(realdata("togeojson__run_gpxtpx.gpx")).points
    assert strava[0].properties["extensions"]["hr"] == "111"


def test_null_geometry_features_rejected() -> None:
    """Null geometries are reported as 'no geometry', properties kept in raw."""
    result = read_points(realdata("gdal__nullvalues.geojson"))
    assert not result.points
    assert [r.reason.split(" /")[0] for r in result.rejected] == ["no geometry"] * 2
    assert result.rejected[0].raw["properties"]["string"] == "string"
    assert any("has 'features'" in w for w in result.warnings)


def test_3d_point_keeps_elevation() -> None:
    """A 3-D GeoJSON point keeps z as ele; null properties become {}."""
    (p,) = read_points(realdata("gdal__featurecollection_pointz.json")).points
    assert (p.lon, p.lat, p.ele, p.properties) == (1.0, 2.0, 3.0, {})


def test_mixed_geometries_keep_properties() -> None:
    """In a mixed collection the point keeps its non-ASCII name; others are rejected."""
    result = read_points(realdata("fiona__trio.geojson"))
    assert result.points[0].name == "Le château d'eau"
    assert [r.raw["geometry"]["type"] for r in result.rejected] == ["LineString", "Polygon"]


def test_projected_crs_with_degree_coordinates_rejected() -> None:
    """A UTM crs member over degree-like numbers is not guessed at: reported, not moved."""
    result = read_points(realdata("gdal__srs_name.geojson"))
    assert result.crs == "EPSG:26915"
    assert not result.points
    assert any("look like degrees" in r.reason for r in result.rejected)


def test_polygon_files_rejected_as_not_points() -> None:
    """The Natural Earth shapefile and the curved-geometry GeoPackages hold no points."""
    shp = read_points(realdata("pyogrio__naturalearth_lowres.shp"))
    assert not shp.points and len(shp.rejected) == 177
    assert all(r.reason.startswith("not a point") for r in shp.rejected)
    assert "China" in {r.raw["properties"]["name"] for r in shp.rejected}
    assert shp.crs == "EPSG:4326"
    assert_lossless(shp)
    for name in ("pyogrio__curvepolygon.gpkg", "pyogrio__multisurface.gpkg"):
        result = read_points(realdata(name))
        assert not result.points and len(result.rejected) == 1
        assert result.rejected[0].reason.startswith("not a point")


def test_non_geojson_json_raises() -> None:
    """The coordinate-vector JSON is not a point file and says so."""
    with pytest.raises(PointFileError, match="not GeoJSON"):
        read_points(realdata("gcj02_vectors.json"))


# ---------------------------------------------------------------------------------------------
# Broken files and messy points written by the tests
# ---------------------------------------------------------------------------------------------


def test_truncated_gpx_raises(tmp_path: Path) -> None:
    """A GPX cut off mid-file raises PointFileError with a plain message, no parser internals."""
    source = Path(__file__)  # any text; real GPX used when available
    if SOURCES.is_file():
        source = REALDATA / "gpxpy__around-visnjan-with-car.gpx"
        data = source.read_bytes()
    else:
        data = b'<?xml version="1.0"?><gpx version="1.1"><trk><trkseg><trkpt lat="1" lon="2">'
        data += b"<ele>3</ele></trkpt>" * 20 + b"</trkseg></trk></gpx>"
    broken = tmp_path / "broken.gpx"
    broken.write_bytes(data[: len(data) // 2])
    with pytest.raises(
        PointFileError, match=r"broken\.gpx: malformed or truncated XML at line"
    ) as e:
        read_points(broken)
    assert e.value.__cause__ is None and e.value.__suppress_context__


@pytest.mark.parametrize(
    "name,content,fragment",
    [
        ("empty.gpx", b"", "empty"),
        ("blank.geojson", b"  \n", "empty"),
        ("bad.geojson", b'{"type": "FeatureCollection", "features": [', "malformed or truncated"),
        ("notgeo.json", b'{"hello": 1}', "not GeoJSON"),
        ("latin1.geojson", b'{"type": "Feature", "name": "caf\xe9"}', "not UTF-8"),
        ("kml.gpx", b"<kml><Document/></kml>", "not a readable point file"),
        ("dtd.gpx", b'<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "b">]><gpx/>', "DTD"),
        ("garbage.txt", b"lon lat\n1 2\n", "not a readable point file"),
        ("deep.json", b"[" * 200_000, "nested too deeply|malformed"),
        ("list.json", b"[1, 2]", "not GeoJSON"),
        ("badcrs.geojson", b'{"type":"Point","coordinates":[1,2],"crs":{"type":"name",'
         b'"properties":{"name":"EPSG:999999"}}}', "unknown CRS"),
    ],
)  # fmt: skip
def test_broken_files_raise(tmp_path: Path, name: str, content: bytes, fragment: str) -> None:
    """Unreadable files raise PointFileError with a clear message."""
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(PointFileError, match=fragment):
        read_points(path)


def test_missing_file_raises(tmp_path: Path) -> None:
    """A path that does not exist raises PointFileError."""
    with pytest.raises(PointFileError, match="not found"):
        read_points(tmp_path / "nope.gpx")
    with pytest.raises(PointFileError, match="not found"):
        read_points(tmp_path / "nope.shp")


def test_messy_gpx_points_are_each_accounted_for(tmp_path: Path) -> None:
    """Bad coordinates become rejections with reasons; bad times/elevations are kept and flagged."""
    gpx = """\ufeff  <?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" xmlns="http://www.topografix.com/GPX/1/1"><!-- note -->
  <wpt lat="39.915" lon="116.404"><name>ok</name><time>2024-05-01T08:00:00+08:00</time></wpt>
  <wpt lat="abc" lon="116.4"><name>bad number</name></wpt>
  <wpt lon="116.4"><name>no lat</name></wpt>
  <wpt lat="116.404" lon="39.915"><name>swapped</name></wpt>
  <wpt lat="nan" lon="116.4"/>
  <trk><trkseg>
    <trkpt lat="39.9" lon="116.4"><ele>abc</ele><time>yesterday</time></trkpt>
    <trkpt lat="39.9" lon="116.4"><time>2024-05-01 10:00:00</time></trkpt>
  </trkseg></trk>
</gpx>"""
    path = tmp_path / "messy.gpx"
    path.write_text(gpx, encoding="utf-8")
    result = read_points(path)
    assert_lossless(result)
    assert result.total == 7
    assert [p.name for p in result.points if p.source_kind == "waypoint"] == ["ok"]
    assert result.points[0].time == datetime(2024, 5, 1, 0, 0, tzinfo=UTC)
    reasons = {r.raw.get("name", r.index): r.reason for r in result.rejected}
    assert "not numbers" in reasons["bad number"]
    assert "missing lat" in reasons["no lat"]
    assert "latitude and longitude appear swapped" in reasons["swapped"]
    assert "not a finite number" in reasons[4]
    bad_time, naive = result.points[1], result.points[2]
    assert bad_time.time is None and bad_time.ele is None
    assert bad_time.flags == {"time_unreadable", "ele_unreadable"}
    assert bad_time.properties["time_raw"] == "yesterday"
    assert naive.time == datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    assert "time_naive_assumed_utc" in naive.flags


def feature(coords_: object, **props: object) -> dict[str, object]:
    """Return a GeoJSON Point feature dict."""
    return {
        "type": "Feature",
        "properties": props,
        "geometry": {"type": "Point", "coordinates": coords_},
    }


def test_geojson_swapped_point_reported(tmp_path: Path) -> None:
    """A lat/lon-swapped point in GeoJSON is reported as swapped; the good one parses."""
    path = tmp_path / "swapped.geojson"
    collection = {
        "type": "FeatureCollection",
        "features": [
            feature([116.404, 39.915], name="good"),
            feature([39.915, 116.404], name="bad"),
        ],
    }
    path.write_text(json.dumps(collection), encoding="utf-8")
    result = read_points(path)
    assert [p.name for p in result.points] == ["good"]
    (rejected,) = result.rejected
    assert "latitude and longitude appear swapped" in rejected.reason
    assert rejected.raw["properties"]["name"] == "bad"


def test_geojson_odds_and_ends(tmp_path: Path) -> None:
    """MultiPoint, bare geometries, invalid positions, time properties and feature ids."""
    path = tmp_path / "odds.json"
    features = [
        {"type": "Feature", "id": 7, "properties": {"Time": "2024-05-01T08:00:00Z"},
         "geometry": {"type": "MultiPoint", "coordinates": [[116.1, 39.1], [116.2, 39.2, 50]]}},
        {"type": "Feature", "geometry": {"type": "MultiPoint", "coordinates": []}},
        feature([116.1]),
        feature(["116.1", "39.1"]),
        {"type": "Feature", "properties": {"a": 1}},
        {"type": "Feature", "geometry": {"type": "Circle", "coordinates": [1, 2]}},
        "junk",
    ]  # fmt: skip
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}), "utf-8")
    result = read_points(path)
    assert_lossless(result)
    assert result.total == 8
    first, second = result.points
    assert (first.properties["part"], second.properties["part"]) == (0, 1)
    assert first.properties["id"] == 7 and second.ele == 50.0
    assert first.time == datetime(2024, 5, 1, 8, tzinfo=UTC)
    reasons = [r.reason.split(" /")[0] for r in result.rejected]
    assert reasons[0] == "empty MultiPoint"
    assert reasons[1].startswith("invalid coordinates") and reasons[2].startswith("invalid coord")
    assert reasons[3] == "no geometry"
    assert reasons[4].startswith("invalid geometry 'Circle'")
    assert reasons[5].startswith("not a GeoJSON Feature")

    bare = tmp_path / "bare.geojson"
    bare.write_text('{"type": "Point", "coordinates": [113.4, 34.7, 120.5]}', "utf-8")
    (p,) = read_points(bare).points
    assert (p.lon, p.lat, p.ele, p.source_kind) == (113.4, 34.7, 120.5, "feature")


@pytest.mark.parametrize(
    "name,label",
    [
        ("urn:ogc:def:crs:EPSG::4490", "EPSG:4490"),
        ("EPSG:4326", "EPSG:4326"),
        ("urn:ogc:def:crs:OGC:1.3:CRS84", "OGC:CRS84"),
    ],
)
def test_geojson_legacy_geographic_crs_honoured(tmp_path: Path, name: str, label: str) -> None:
    """WGS-84/CGCS2000/CRS84 crs members are recorded and leave lon/lat untouched."""
    path = tmp_path / "crs.geojson"
    doc = {"type": "FeatureCollection", "crs": {"type": "name", "properties": {"name": name}},
           "features": [feature([113.4, 34.7])]}  # fmt: skip
    path.write_text(json.dumps(doc), "utf-8")
    result = read_points(path)
    assert result.crs == label
    assert (result.points[0].lon, result.points[0].lat) == (113.4, 34.7)


def test_geojson_projected_crs_transformed(tmp_path: Path) -> None:
    """A Gauss-Krueger crs member is transformed to lon/lat with pyproj."""
    epsg = coords.gk_epsg_for_lon(113.4)
    x, y = Transformer.from_crs(4490, epsg, always_xy=True).transform(113.4, 34.7)
    path = tmp_path / "gk.geojson"
    doc = {"type": "FeatureCollection",
           "crs": {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{epsg}"}},
           "features": [feature([x, y], name="zhengzhou")]}  # fmt: skip
    path.write_text(json.dumps(doc), "utf-8")
    result = read_points(path)
    (p,) = result.points
    assert p.lon == pytest.approx(113.4, abs=1e-8) and p.lat == pytest.approx(34.7, abs=1e-8)
    assert result.crs == f"EPSG:{epsg}"
    assert any("transformed to EPSG:4326" in w for w in result.warnings)


def test_source_crs_gcj02_shifts_to_wgs84(tmp_path: Path) -> None:
    """Points copied from a GCJ-02 web map are shifted back to WGS-84 when tagged so."""
    gx, gy = coords.wgs84_to_gcj02(116.404, 39.915)
    path = tmp_path / "amap.geojson"
    path.write_text(json.dumps(feature([gx, gy])), "utf-8")
    result = read_points(path, source_crs="gcj02")
    (p,) = result.points
    assert coords.distance_m(p.lon, p.lat, 116.404, 39.915) < 0.01
    assert result.crs == "GCJ-02"
    with pytest.raises(PointFileError, match="accepted values"):
        read_points(path, source_crs="EPSG:3857")


def test_ogr_points_in_projected_crs(tmp_path: Path) -> None:
    """A GeoPackage of points in CGCS2000 Gauss-Krueger is read and transformed to lon/lat."""
    epsg = coords.gk_epsg_for_lon(113.4)
    to_gk = Transformer.from_crs(4490, epsg, always_xy=True)
    frame = gpd.GeoDataFrame(
        {"name": ["a", "b", "c"], "depth": [1.5, None, 3.0]},
        geometry=[Point(*to_gk.transform(113.4, 34.7)), Point(*to_gk.transform(113.5, 34.8)), None],
        crs=f"EPSG:{epsg}",
    )
    path = tmp_path / "points.gpkg"
    frame.to_file(path, driver="GPKG", engine="pyogrio")
    result = read_points(path)
    assert_lossless(result)
    assert [p.name for p in result.points] == ["a", "b"]
    assert result.points[0].lon == pytest.approx(113.4, abs=1e-8)
    assert result.points[1].properties["depth"] is None
    assert result.rejected[0].reason.startswith("no geometry")
    assert result.crs == f"EPSG:{epsg}" and result.file_format == "ogr:GPKG"
