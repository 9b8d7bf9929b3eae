"""The field API: clear 422s, idempotency on the client UUID, photos, fraud flags."""

from __future__ import annotations

import io
import json
import os
import struct
import threading
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gis.config import Settings
from gis.field.inspections import FieldSettings
from gis.field.photos import blob_path, sha256_hex
from gis.geo import coords
from layers.assets import external_references
from server.app import create_app
from tests.conftest import LiveServer
from tests.factories import EAST, WEST, close, load_two_townships, make_token, new_problem

INSPECTOR = "巡查员 李明"
ACTOR: dict[str, str] = {}  # the inspector's Authorization header, set per test
HOME = (113.05, 34.05)  # problem T-001 (dust) in 西镇


# ---------------------------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------------------------


def _dms(value: float) -> tuple[float, float, float]:
    value = abs(value)
    d = int(value)
    m = int((value - d) * 60)
    s = round((value - d - m / 60) * 3600, 4)
    return float(d), float(m), s


def exif_bytes(lon: float, lat: float) -> bytes:
    """EXIF (with its 'Exif\\0\\0' header) holding a GPS position."""
    exif = Image.Exif()
    exif[0x8825] = {
        1: "N" if lat >= 0 else "S",
        2: _dms(lat),
        3: "E" if lon >= 0 else "W",
        4: _dms(lon),
    }
    return exif.tobytes()


def make_jpeg(
    gps: tuple[float, float] | None = None, colour: str = "green", size: tuple[int, int] = (64, 48)
) -> bytes:
    """A small JPEG made with Pillow, with EXIF GPS when given."""
    buffer = io.BytesIO()
    extra = {"exif": exif_bytes(*gps)} if gps else {}
    Image.new("RGB", size, colour).save(buffer, "JPEG", quality=85, **extra)
    return buffer.getvalue()


def make_png(colour: str = "blue") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), colour).save(buffer, "PNG")
    return buffer.getvalue()


def make_heic(gps: tuple[float, float]) -> bytes:
    """A minimal HEIF container (ftyp heic, meta with an Exif item, mdat) — no image data."""

    def box(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", 8 + len(payload)) + kind + payload

    def full(kind: bytes, payload: bytes) -> bytes:
        return box(kind, b"\x00\x00\x00\x00" + payload)

    exif = exif_bytes(*gps)  # b"Exif\0\0" + TIFF
    item = struct.pack(">I", 6) + exif
    ftyp = box(b"ftyp", b"heic" + b"\x00\x00\x00\x00" + b"mif1heic")
    infe = box(b"infe", b"\x02\x00\x00\x00" + struct.pack(">HH", 1, 0) + b"Exif" + b"\x00")
    iinf = full(b"iinf", struct.pack(">H", 1) + infe)
    hdlr = full(b"hdlr", b"\x00" * 4 + b"pict" + b"\x00" * 13)

    def meta(offset: int) -> bytes:
        iloc = full(
            b"iloc",
            bytes([0x44, 0x00]) + struct.pack(">HHHHII", 1, 1, 0, 1, offset, len(item)),
        )
        return full(b"meta", hdlr + iinf + iloc)

    offset = len(ftyp) + len(meta(0)) + 8
    return ftyp + meta(offset) + box(b"mdat", item)


def offset_point(lon: float, lat: float, east_m: float = 0.0, north_m: float = 0.0):  # type: ignore[no-untyped-def]
    """A point moved by metres east and north (geodesic)."""
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    x, y, _ = geod.fwd(lon, lat, 90.0, east_m) if east_m else (lon, lat, 0)
    x, y, _ = geod.fwd(x, y, 0.0, north_m) if north_m else (x, y, 0)
    return float(x), float(y)


def payload(**changes) -> dict:  # type: ignore[no-untyped-def]
    body = {
        "uuid": str(uuid.uuid4()),
        "lon": HOME[0],
        "lat": HOME[1],
        "accuracy_m": 8.0,
        "observed_at": (datetime.now(UTC) - timedelta(minutes=1)).isoformat(),
        "finding": "checked",
        "category": "dust",
        "note": "现场已覆盖防尘网",
        "problem_code": None,
    }
    body.update(changes)
    return body


def count(engine: Engine, sql: str, **params) -> int:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


def seed(engine: Engine) -> None:
    with Session(engine) as session, session.begin():
        load_two_townships(session)
        new_problem(session, "T-001", lon=HOME[0], lat=HOME[1], category="dust")


@pytest.fixture(autouse=True)
def inspector(db):  # type: ignore[no-untyped-def]
    """A signed-in inspector of 西镇; ACTOR holds their bearer header."""
    ACTOR.clear()
    ACTOR.update(make_token(db, "inspector", [WEST], name=INSPECTOR))
    yield ACTOR
    ACTOR.clear()


@pytest.fixture
def app(db, tmp_path):  # type: ignore[no-untyped-def]
    seed(db)
    application = create_app(engine=db, settings=Settings(home=tmp_path))
    application.state.field_settings = FieldSettings()
    return application


@pytest.fixture
def client(app, inspector):  # type: ignore[no-untyped-def]
    """A client signed in as the inspector (other roles pass their own header)."""
    with TestClient(app, headers=dict(inspector)) as c:
        yield c


def post(client: TestClient, body: dict | str, **kwargs) -> httpx.Response:  # type: ignore[no-untyped-def]
    if isinstance(body, str):
        return client.post(
            "/api/inspections",
            content=body,
            headers={**ACTOR, "Content-Type": "application/json"},
            **kwargs,
        )
    return client.post("/api/inspections", json=body, headers=ACTOR, **kwargs)


def put_photo(client: TestClient, uid: str, data: bytes, sha: str | None = None, **headers):  # type: ignore[no-untyped-def]
    return client.put(
        f"/api/inspections/{uid}/photos/{sha or sha256_hex(data)}",
        content=data,
        headers={**ACTOR, "Content-Type": "image/jpeg", **headers},
    )


# ---------------------------------------------------------------------------------------------
# Validation: every bad input is a 422 naming its field
# ---------------------------------------------------------------------------------------------

LATER = (datetime.now(UTC) + timedelta(hours=25)).isoformat()


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"lat": 200.0}, "lat", "out of range"),
        ({"lat": 91.0, "lon": 10.0}, "lat", "swapped"),
        ({"lon": 181.0, "lat": 10.0}, "lon", "out of range"),
        ({"lon": -200.0}, "lon", "out of range"),
        ({"lat": float("nan")}, "lat", "finite"),
        ({"lon": float("inf")}, "lon", "finite"),
        ({"lon": HOME[1], "lat": HOME[0]}, "lat", "swapped"),
        ({"lon": None}, "lon", "missing"),
        ({"lat": "north-ish"}, "lat", "not a coordinate"),
        ({"lon": True}, "lon", "missing or not a number"),
        ({"accuracy_m": -1}, "accuracy_m", "0 or more"),
        ({"accuracy_m": "good"}, "accuracy_m", "not a number"),
        ({"accuracy_m": float("nan")}, "accuracy_m", "finite"),
        ({"observed_at": LATER}, "observed_at", "ahead"),
        ({"observed_at": "2026-03-02T10:00:00"}, "observed_at", "time zone"),
        ({"observed_at": "yesterday"}, "observed_at", "ISO-8601"),
        ({"observed_at": None}, "observed_at", "required"),
        ({"finding": "fixed"}, "finding", "not one of"),
        ({"finding": None}, "finding", "required"),
        ({"category": "noise"}, "category", "not one of"),
        ({"uuid": "not-a-uuid"}, "uuid", "not a UUID"),
        ({"crs": "EPSG:3857"}, "crs", "unsupported"),
        ({"problem_code": "NO-SUCH"}, "problem_code", "no such problem"),
        ({"problem_code": 7}, "problem_code", "text"),
        ({"note": ["x"]}, "note", "text"),
        ({"note": "长" * 5001}, "note", "characters"),
        ({"position_source": "guess"}, "position_source", "not one of"),
        ({"photos": []}, "photos", "unknown field"),
    ],
)
def test_bad_input_is_422_naming_the_field(client, db, changes, field, words) -> None:  # type: ignore[no-untyped-def]
    body = payload(**changes)
    response = post(client, json.dumps(body, allow_nan=True))
    assert response.status_code == 422, response.text
    detail = response.json()
    assert detail["field"] == field
    assert words in detail["detail"]
    assert count(db, "SELECT count(*) FROM inspections") == 0


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", ""])
def test_body_must_be_a_json_object(client, body) -> None:  # type: ignore[no-untyped-def]
    response = post(client, body)
    assert response.status_code == 422
    assert response.json()["field"] == "body"


def test_sign_in_and_the_submit_permission_are_required(app, db) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(app)
    assert client.post("/api/inspections", json=payload()).status_code == 401
    viewer = make_token(db, "viewer")
    assert client.post("/api/inspections", json=payload(), headers=viewer).status_code == 403
    assert client.get("/api/field/nearby", params={"lon": 113, "lat": 34}).status_code == 401
    assert client.get("/field/sw.js").status_code == 200  # public: fetched before sign-in
    assert client.get("/field/manifest.webmanifest").status_code == 200
    login = client.get("/field", headers={"Accept": "text/html"}, follow_redirects=False)
    assert login.status_code == 303
    assert login.headers["location"].startswith("/login?next=/field")


def test_inspectors_see_and_claim_only_their_townships(client, db) -> None:  # type: ignore[no-untyped-def]
    mine = payload(problem_code="T-001")
    assert post(client, mine).status_code == 201
    east = make_token(db, "inspector", [EAST], name="东镇巡查员")
    claimed = client.post(
        "/api/inspections", json=payload(problem_code="T-001"), headers=east
    )
    assert claimed.status_code == 422
    assert claimed.json()["field"] == "problem_code"
    assert client.get(f"/api/inspections/{mine['uuid']}", headers=east).status_code == 404
    assert put_photo(client, mine["uuid"], make_jpeg(), **east).status_code == 404
    near = {"lon": HOME[0], "lat": HOME[1]}
    assert client.get("/api/field/nearby", params=near, headers=east).json()["problems"] == []
    assert client.get("/api/field/pack", headers=east).json()["problems"] == []
    office = make_token(db, "office")
    assert client.get(f"/api/inspections/{mine['uuid']}", headers=office).status_code == 200
    codes = client.get("/api/field/nearby", params=near, headers=office).json()["problems"]
    assert [p["code"] for p in codes] == ["T-001"]


# ---------------------------------------------------------------------------------------------
# Flags: stored, not refused
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "flag", "expected"),
    [
        ({"lon": 113.5, "lat": 34.5}, "outside_county", True),
        ({}, "outside_county", False),
        ({"observed_at": timedelta(minutes=10)},
         "future_time", True),
        ({"observed_at": timedelta(hours=23)},
         "future_time", True),
        ({"observed_at": timedelta(minutes=2)},
         "future_time", False),
        ({"accuracy_m": 600}, "poor_accuracy", True),
        ({"accuracy_m": 500}, "poor_accuracy", False),
        ({"accuracy_m": None}, "poor_accuracy", False),
        ({"position_source": "map", "accuracy_m": None}, "map_picked", True),
    ],
)
def test_flags_are_stored_with_the_point(client, db, changes, flag, expected) -> None:  # type: ignore[no-untyped-def]
    if isinstance(changes.get("observed_at"), timedelta):  # from now at run time, not at collection
        when = datetime.now(UTC) + changes["observed_at"]
        changes = {**changes, "observed_at": when.isoformat()}
    response = post(client, payload(**changes))
    assert response.status_code == 201, response.text
    assert (flag in response.json()["flags"]) is expected
    stored = count(db, "SELECT count(*) FROM inspections WHERE flags ? :f", f=flag)
    assert stored == int(expected)


@pytest.mark.parametrize(
    ("east_m", "accuracy", "off_site"),
    [(80, 10, False), (150, 10, True), (150, 100, False), (250, 100, True), (99, None, False)],
)
def test_off_site_beyond_max_100_m_and_twice_accuracy(client, east_m, accuracy, off_site) -> None:  # type: ignore[no-untyped-def]
    lon, lat = offset_point(*HOME, east_m=east_m)
    body = payload(lon=lon, lat=lat, accuracy_m=accuracy, problem_code="T-001")
    response = post(client, body)
    assert response.status_code == 201
    assert ("off_site" in response.json()["flags"]) is off_site


# ---------------------------------------------------------------------------------------------
# Idempotency on the UUID
# ---------------------------------------------------------------------------------------------


def test_same_uuid_same_payload_returns_the_first_result(client, db) -> None:  # type: ignore[no-untyped-def]
    body = payload(problem_code="T-001")
    first = post(client, body)
    assert first.status_code == 201
    assert first.json()["created"] is True
    reordered = json.dumps(dict(reversed(list(body.items()))))
    again = post(client, reordered)
    assert again.status_code == 200
    assert again.json()["created"] is False
    for key in ("id", "uuid", "flags", "received_at", "lon", "lat", "township_code"):
        assert again.json()[key] == first.json()[key]
    assert count(db, "SELECT count(*) FROM inspections") == 1
    assert count(db, "SELECT count(*) FROM events WHERE action = 'inspection'") == 1


def test_same_uuid_different_payload_is_409_and_changes_nothing(client, db) -> None:  # type: ignore[no-untyped-def]
    body = payload(problem_code="T-001")
    assert post(client, body).status_code == 201
    before = client.get(f"/api/inspections/{body['uuid']}", headers=ACTOR).json()
    for changes in ({"note": "改了"}, {"finding": "persists"}, {"lon": 113.0501}):
        response = post(client, {**body, **changes})
        assert response.status_code == 409, response.text
        assert "different content" in response.json()["detail"]
    other_actor = client.post("/api/inspections", json=body, headers=make_token(db, "office"))
    assert other_actor.status_code == 409
    assert client.get(f"/api/inspections/{body['uuid']}", headers=ACTOR).json() == before
    assert count(db, "SELECT count(*) FROM inspections") == 1
    assert count(db, "SELECT count(*) FROM events WHERE action = 'inspection'") == 1


# ---------------------------------------------------------------------------------------------
# Coordinates from Chinese web maps
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("crs", ["gcj02", "bd09", "GCJ-02", "wgs84", "EPSG:4490"])
def test_source_crs_is_converted_once_and_kept(client, db, crs) -> None:  # type: ignore[no-untyped-def]
    true_lon, true_lat = 113.0731234, 34.0412345
    src = coords.from_wgs84(true_lon, true_lat, coords.normalize_crs(crs))
    body = payload(lon=src[0], lat=src[1], crs=crs)
    first = post(client, body)
    assert first.status_code == 201, first.text
    again = post(client, body)
    assert again.status_code == 200
    with db.connect() as conn:
        row = conn.execute(
            text(
                "SELECT ST_X(geom), ST_Y(geom), source_crs, source_lon, source_lat, township_code"
                " FROM inspections"
            )
        ).one()
    assert coords.distance_m(row[0], row[1], true_lon, true_lat) < 0.01
    assert row[2] == coords.normalize_crs(crs)
    assert (row[3], row[4]) == (float(src[0]), float(src[1]))
    assert row[5] == WEST
    if crs.lower().startswith(("gcj", "bd")):
        assert coords.distance_m(src[0], src[1], true_lon, true_lat) > 100


# ---------------------------------------------------------------------------------------------
# The ledger: history event, township, suspected rebounds
# ---------------------------------------------------------------------------------------------


def test_inspection_of_a_problem_writes_its_history(client) -> None:  # type: ignore[no-untyped-def]
    body = payload(problem_code="T-001", finding="persists", note="仍有扬尘")
    created = post(client, body).json()
    assert created["township_code"] == WEST
    assert created["problem_code"] == "T-001"
    history = client.get("/api/problems/T-001/history", headers=ACTOR).json()
    event = [e for e in history if e["action"] == "inspection"]
    assert len(event) == 1
    after = event[0]["after"]
    assert after["inspection_uuid"] == body["uuid"]
    assert after["finding"] == "persists"
    assert after["flags"] == created["flags"]
    assert event[0]["actor"] == INSPECTOR


def test_new_problem_near_a_recently_closed_one_is_a_suspected_rebound(client, db) -> None:  # type: ignore[no-untyped-def]
    closed_at = datetime.now(UTC) - timedelta(days=10)
    lon, lat = offset_point(*HOME, north_m=2000)
    with Session(db) as session, session.begin():
        new_problem(session, "T-OLD", lon=lon, lat=lat, category="dust", now=closed_at)
        close(session, "T-OLD", at=closed_at)
    near = offset_point(lon, lat, east_m=60)
    response = post(client, payload(lon=near[0], lat=near[1], finding="new_problem"))
    assert response.status_code == 201
    assert len(response.json()["suspected_rebounds"]) == 1
    assert count(db, "SELECT count(*) FROM suspected_rebounds") == 1
    checked = post(client, payload(lon=near[0], lat=near[1], finding="checked"))
    assert checked.json()["suspected_rebounds"] == []


@pytest.mark.parametrize("batch", [False, True], ids=["one", "batch"])
def test_a_rebound_found_on_a_closed_problem_reaches_that_problem(client, db, batch) -> None:  # type: ignore[no-untyped-def]
    """Recorded on the problem itself, "rebound" or "persists" flags it whatever the distance,
    category or time since closure; a routine check does not."""
    closed_at = datetime.now(UTC) - timedelta(days=400)  # far beyond the look-back window
    lon, lat = offset_point(*HOME, north_m=2000)
    with Session(db) as session, session.begin():
        new_problem(session, "T-OLD", lon=lon, lat=lat, category="dust", now=closed_at)
        close(session, "T-OLD", at=closed_at)
    far = offset_point(lon, lat, east_m=900)  # beyond the suspect radius, flagged off-site
    bodies = [
        payload(lon=far[0], lat=far[1], finding=f, category="river_outfall", problem_code="T-OLD")
        for f in ("rebound", "persists", "checked")
    ]
    if batch:
        answer = client.post("/api/inspections/batch", json={"items": bodies}, headers=ACTOR)
        assert answer.status_code == 200, answer.text
        found = [item["suspected_rebounds"] for item in answer.json()["results"]]
    else:
        found = [post(client, body).json()["suspected_rebounds"] for body in bodies]
    assert [len(f) for f in found] == [1, 1, 0]
    problem_ids = {
        count(db, "SELECT problem_id FROM suspected_rebounds WHERE id = :id", id=f[0])
        for f in found[:2]
    }
    assert problem_ids == {count(db, "SELECT id FROM problems WHERE code = 'T-OLD'")}


# ---------------------------------------------------------------------------------------------
# Photos
# ---------------------------------------------------------------------------------------------


def test_photo_upload_is_content_addressed_and_idempotent(client, db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    body = payload()
    post(client, body)
    data = make_jpeg()
    sha = sha256_hex(data)
    first = put_photo(client, body["uuid"], data)
    assert first.status_code == 201, first.text
    assert first.json()["media_type"] == "image/jpeg"
    again = put_photo(client, body["uuid"], data)
    assert again.status_code == 200
    assert count(db, "SELECT count(*) FROM attachments") == 1
    path = blob_path(tmp_path.resolve() / "attachments", sha)
    assert path == tmp_path.resolve() / "attachments" / sha[:2] / sha[2:4] / sha
    assert path.read_bytes() == data
    assert list(path.parent.glob(".incoming-*")) == []
    served = client.get(f"/api/inspections/{body['uuid']}/photos/{sha}", headers=ACTOR)
    assert served.status_code == 200
    assert served.content == data
    assert served.headers["content-type"] == "image/jpeg"
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]


def test_photo_is_fsynced_before_the_answer(client, monkeypatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import gis.db.blobs

    synced: list[str] = []
    real_fsync = os.fsync

    def spy(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr(gis.db.blobs.os, "fsync", spy)
    body = payload()
    post(client, body)
    data = make_jpeg(colour="red")
    sha = sha256_hex(data)
    assert put_photo(client, body["uuid"], data).status_code == 201
    folder = str(tmp_path.resolve() / "attachments" / sha[:2] / sha[2:4])
    assert any(p.startswith(folder + "/.incoming-") for p in synced)  # the file, before rename
    assert folder in synced  # the folder, after rename
    assert str(tmp_path.resolve() / "attachments") in synced  # new sub-folders recorded


def test_cut_off_upload_is_refused_and_resumes(client, db) -> None:  # type: ignore[no-untyped-def]
    body = payload()
    post(client, body)
    data = make_jpeg(colour="purple", size=(400, 300))
    sha = sha256_hex(data)
    cut = put_photo(client, body["uuid"], data[: len(data) // 2], sha=sha)
    assert cut.status_code == 422
    assert "sha256" in cut.json()["detail"]
    assert count(db, "SELECT count(*) FROM attachments") == 0
    assert put_photo(client, body["uuid"], data).status_code == 201


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"GIF89a" + b"\x00" * 64, 415),
        (b"<html><script>alert(1)</script></html>", 415),
        (b"\x00\x00\x00\x1cftypavif\x00\x00\x00\x00avifmif1" + b"\x00" * 32, 415),
        (b"", 422),
    ],
)
def test_photo_type_is_judged_by_magic_bytes(client, data, status) -> None:  # type: ignore[no-untyped-def]
    body = payload()
    post(client, body)
    response = put_photo(client, body["uuid"], data, **{"Content-Type": "image/jpeg"})
    assert response.status_code == status
    assert response.json()["detail"]


def test_png_and_heic_are_accepted(client, db) -> None:  # type: ignore[no-untyped-def]
    body = payload()
    post(client, body)
    png = put_photo(client, body["uuid"], make_png(), **{"Content-Type": "application/x-nonsense"})
    assert png.status_code == 201
    assert png.json()["media_type"] == "image/png"
    heic = put_photo(client, body["uuid"], make_heic(HOME))
    assert heic.status_code == 201, heic.text
    assert heic.json()["media_type"] == "image/heic"
    assert heic.json()["exif_lon"] == pytest.approx(HOME[0], abs=1e-5)
    assert heic.json()["exif_lat"] == pytest.approx(HOME[1], abs=1e-5)
    assert "exif_far" not in heic.json()["flags"]


def test_photo_size_limit_is_413(app, client, db) -> None:  # type: ignore[no-untyped-def]
    app.state.field_settings = FieldSettings(photo_max_bytes=2000)
    body = payload()
    post(client, body)
    noise = Image.effect_noise((300, 300), 80).convert("RGB")
    buffer = io.BytesIO()
    noise.save(buffer, "JPEG", quality=95)
    big = buffer.getvalue()
    assert len(big) > 2000
    assert put_photo(client, body["uuid"], big).status_code == 413
    multipart = client.post(
        "/api/inspections",
        data={"inspection": json.dumps(payload())},
        files=[("photos", ("big.jpg", big, "image/jpeg"))],
        headers=ACTOR,
    )
    assert multipart.status_code == 413
    assert count(db, "SELECT count(*) FROM attachments") == 0
    assert count(db, "SELECT count(*) FROM inspections") == 1


def test_photo_for_an_unknown_inspection_is_404(client) -> None:  # type: ignore[no-untyped-def]
    response = put_photo(client, str(uuid.uuid4()), make_jpeg())
    assert response.status_code == 404
    bad_sha = client.put(
        f"/api/inspections/{uuid.uuid4()}/photos/XYZ", content=make_jpeg(), headers=ACTOR
    )
    assert bad_sha.status_code == 422
    assert bad_sha.json()["field"] == "sha256"


@pytest.mark.parametrize(("north_m", "far"), [(40, False), (900, True)])
def test_exif_gps_far_from_the_reported_position_is_flagged(client, db, north_m, far) -> None:  # type: ignore[no-untyped-def]
    body = payload(problem_code="T-001")
    post(client, body)
    taken_at = offset_point(*HOME, north_m=north_m)
    response = put_photo(client, body["uuid"], make_jpeg(gps=taken_at))
    assert response.status_code == 201
    assert response.json()["exif_lat"] == pytest.approx(taken_at[1], abs=1e-5)
    assert ("exif_far" in response.json()["flags"]) is far
    flagged = count(db, "SELECT count(*) FROM events WHERE action = 'inspection_flagged'")
    assert flagged == int(far)


def test_the_same_photo_on_another_inspection_is_flagged_reused(client) -> None:  # type: ignore[no-untyped-def]
    data = make_jpeg(colour="yellow")
    first, second = payload(problem_code="T-001"), payload()
    post(client, first)
    post(client, second)
    assert "photo_reused" not in put_photo(client, first["uuid"], data).json()["flags"]
    assert "photo_reused" in put_photo(client, second["uuid"], data).json()["flags"]
    stored = client.get(f"/api/inspections/{first['uuid']}").json()
    assert "photo_reused" not in stored["flags"]


def test_multipart_submission_with_photos_resumes(client, db) -> None:  # type: ignore[no-untyped-def]
    body = payload(problem_code="T-001")
    a, b, c = make_jpeg(colour="red"), make_png(), make_jpeg(colour="white")

    def send(*photos: bytes) -> httpx.Response:
        files = [("photos", (f"p{i}.bin", p, "application/octet-stream"))
                 for i, p in enumerate(photos)]
        return client.post(
            "/api/inspections", data={"inspection": json.dumps(body)}, files=files, headers=ACTOR
        )

    first = send(a, b)
    assert first.status_code == 201, first.text
    assert {p["sha256"] for p in first.json()["photos"]} == {sha256_hex(a), sha256_hex(b)}
    assert send(a, b).status_code == 200
    resumed = send(a, b, c)
    assert resumed.status_code == 200
    assert len(resumed.json()["photos"]) == 3
    assert count(db, "SELECT count(*) FROM attachments") == 3
    history = client.get("/api/problems/T-001/history", headers=ACTOR).json()
    assert [e["after"]["photos"] for e in history if e["action"] == "inspection"] == [2]
    more = client.post(
        f"/api/inspections/{body['uuid']}/photos",
        files=[("photos", ("x.jpg", make_jpeg(colour="black"), "image/jpeg"))],
        headers=ACTOR,
    )
    assert more.status_code == 201
    assert count(db, "SELECT count(*) FROM attachments") == 4


def test_nothing_is_acknowledged_when_the_transaction_fails(app, db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import gis.field.inspections

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(gis.field.inspections, "record_event", broken)
    with TestClient(app, raise_server_exceptions=False, headers=dict(ACTOR)) as c:
        response = post(c, payload(problem_code="T-001"))
    assert response.status_code == 500
    assert count(db, "SELECT count(*) FROM inspections") == 0


# ---------------------------------------------------------------------------------------------
# Nearby problems and hints
# ---------------------------------------------------------------------------------------------


def test_nearby_open_problems_are_ordered_by_metres(client, db) -> None:  # type: ignore[no-untyped-def]
    spots = {"N-300": (0, 300), "N-990E": (990, 0), "N-1010": (0, 1010), "N-040": (40, 0)}
    with Session(db) as session, session.begin():
        for code, (east, north) in spots.items():
            lon, lat = offset_point(*HOME, east_m=east, north_m=north)
            new_problem(session, code, lon=lon, lat=lat, category="landfill")
        closed_at = datetime.now(UTC) - timedelta(days=3)
        lon, lat = offset_point(*HOME, east_m=10)
        new_problem(session, "N-CLOSED", lon=lon, lat=lat, now=closed_at)
        close(session, "N-CLOSED", at=closed_at)
    response = client.get("/api/field/nearby", params={"lon": HOME[0], "lat": HOME[1]})
    assert response.status_code == 200
    found = response.json()["problems"]
    assert [p["code"] for p in found] == ["T-001", "N-040", "N-300", "N-990E"]
    with db.connect() as conn:
        for p in found:
            exact = conn.execute(
                text(
                    "SELECT ST_Distance(geom::geography,"
                    " ST_SetSRID(ST_MakePoint(:x, :y), 4490)::geography)"
                    " FROM problems WHERE code = :c"
                ),
                {"x": HOME[0], "y": HOME[1], "c": p["code"]},
            ).scalar_one()
            assert p["distance_m"] == pytest.approx(exact, abs=0.1)
    limited = client.get(
        "/api/field/nearby",
        params={"lon": HOME[0], "lat": HOME[1], "limit": 2, "category": "landfill"},
    ).json()["problems"]
    assert [p["code"] for p in limited] == ["N-040", "N-300"]
    wide = client.get(
        "/api/field/nearby", params={"lon": HOME[0], "lat": HOME[1], "radius_m": 2000}
    ).json()["problems"]
    assert "N-1010" in [p["code"] for p in wide]
    assert client.get("/api/field/nearby", params={"lon": 200, "lat": 34}).status_code == 422


def test_hints_name_protection_zones_and_duplicates(client, db) -> None:  # type: ignore[no-untyped-def]
    with db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sites (kind, name, zone_level, geom) VALUES"
                " ('protection_zone', '清河水源一级保护区', '1',"
                "  ST_Buffer(ST_SetSRID(ST_MakePoint(:x, :y), 4490), 0.001)),"
                " ('protection_zone', '清河水源二级保护区', '2',"
                "  ST_Buffer(ST_SetSRID(ST_MakePoint(:x, :y), 4490), 0.01))"
            ),
            {"x": HOME[0], "y": HOME[1]},
        )
    near = offset_point(*HOME, east_m=30)
    hint = client.get(
        "/api/field/hints", params={"lon": near[0], "lat": near[1], "category": "dust"}
    ).json()
    assert [z["zone_level"] for z in hint["zones"]] == ["1", "2"]
    assert [d["code"] for d in hint["duplicates"]] == ["T-001"]
    assert hint["duplicates"][0]["distance_m"] == pytest.approx(30, abs=0.5)
    assert hint["township_code"] == WEST
    other = client.get(
        "/api/field/hints", params={"lon": near[0], "lat": near[1], "category": "landfill"}
    ).json()
    assert other["duplicates"] == []
    same = client.get(
        "/api/field/hints",
        params={"lon": near[0], "lat": near[1], "category": "dust", "problem_code": "T-001"},
    ).json()
    assert same["duplicates"] == []
    far = offset_point(*HOME, east_m=150)  # beyond the 50 m and the ~92 m level-1 zone
    outside_dup = client.get(
        "/api/field/hints", params={"lon": far[0], "lat": far[1], "category": "dust"}
    ).json()
    assert outside_dup["duplicates"] == []
    assert [z["zone_level"] for z in outside_dup["zones"]] == ["2"]
    report = post(client, payload(lon=far[0], lat=far[1], finding="new_problem"))
    assert report.status_code == 201
    nearby_report = client.get(
        "/api/field/hints", params={"lon": far[0], "lat": far[1], "category": "dust"}
    ).json()
    assert len(nearby_report["recent_reports"]) == 1
    assert client.get("/api/field/hints", params={"lon": 1, "lat": 1, "category": "x"}).json()[
        "field"
    ] == "category"
    pack = client.get("/api/field/pack").json()
    assert [p["code"] for p in pack["problems"]] == ["T-001"]
    assert len(pack["zones"]["features"]) == 2


# ---------------------------------------------------------------------------------------------
# The page, manifest and service worker
# ---------------------------------------------------------------------------------------------


def test_field_page_manifest_and_service_worker(client) -> None:  # type: ignore[no-untyped-def]
    page = client.get("/field")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    assert external_references(html) == []
    assert "__FIELD_CONFIG__" not in html and "__VERSION__" not in html
    assert '"accuracy_threshold_m": 30.0' in html
    assert 'rel="manifest"' in html
    manifest = client.get("/field/manifest.webmanifest")
    assert manifest.headers["content-type"].startswith("application/manifest+json")
    data = manifest.json()
    assert data["start_url"] == "/field" and data["display"] == "standalone"
    sizes = {icon["sizes"] for icon in data["icons"]}
    assert {"192x192", "512x512"} <= sizes
    for icon in data["icons"]:
        assert client.get(icon["src"]).status_code == 200
    sw = client.get("/field/sw.js")
    assert sw.headers["service-worker-allowed"] == "/field"
    assert "javascript" in sw.headers["content-type"]
    assert "__VERSION__" not in sw.text
    for asset in ("/static/field/app.js", "/static/field/styles.css"):
        assert client.get(asset).status_code == 200
    config = client.get("/api/field/config").json()
    assert {f["value"] for f in config["findings"]} == {
        "checked", "persists", "new_problem", "rebound"
    }


# ---------------------------------------------------------------------------------------------
# Concurrency: a re-send storm over real HTTP
# ---------------------------------------------------------------------------------------------


@pytest.fixture
def live(db, tmp_path):  # type: ignore[no-untyped-def]
    seed(db)
    application = create_app(engine=db, settings=Settings(home=tmp_path))
    application.state.field_settings = FieldSettings()
    with LiveServer(application) as server:
        yield server


def test_resend_storm_yields_exactly_one_row_per_uuid(live, db) -> None:  # type: ignore[no-untyped-def]
    bodies = [
        payload(note=f"第 {i} 号点", problem_code="T-001" if i % 3 == 0 else None)
        for i in range(100)
    ]
    sends = [b for _ in range(5) for b in bodies]
    local = threading.local()

    def send(body: dict) -> int:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=live.url, headers=ACTOR, timeout=60)
        return local.client.post("/api/inspections", json=body).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = Counter(pool.map(send, sends))
    assert statuses == {201: 100, 200: 400}
    assert count(db, "SELECT count(*) FROM inspections") == 100
    assert count(db, "SELECT count(DISTINCT uuid) FROM inspections") == 100
    assert count(db, "SELECT count(*) FROM events WHERE action = 'inspection'") == 34


def test_racing_different_payloads_on_one_uuid_keep_the_first(live, db) -> None:  # type: ignore[no-untyped-def]
    uid = str(uuid.uuid4())
    bodies = [payload(uuid=uid, note=f"版本 {i}") for i in range(12)]
    barrier = threading.Barrier(12)

    def send(body: dict) -> tuple[int, str]:
        with httpx.Client(base_url=live.url, headers=ACTOR, timeout=60) as c:
            barrier.wait()
            return c.post("/api/inspections", json=body).status_code, body["note"]

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(send, bodies))
    statuses = Counter(status for status, _ in results)
    assert statuses == {201: 1, 409: 11}
    winner = next(note for status, note in results if status == 201)
    with db.connect() as conn:
        assert conn.execute(text("SELECT note FROM inspections")).scalars().all() == [winner]


def test_concurrent_uploads_of_one_photo_attach_it_once(live, db) -> None:  # type: ignore[no-untyped-def]
    body = payload()
    with httpx.Client(base_url=live.url, headers=ACTOR, timeout=60) as c:
        assert c.post("/api/inspections", json=body).status_code == 201
    data = make_jpeg(colour="cyan", size=(320, 240))
    url = f"/api/inspections/{body['uuid']}/photos/{sha256_hex(data)}"
    barrier = threading.Barrier(8)

    def send(_: int) -> int:
        with httpx.Client(base_url=live.url, headers=ACTOR, timeout=60) as c:
            barrier.wait()
            return c.put(url, content=data).status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = Counter(pool.map(send, range(8)))
    assert statuses == {201: 1, 200: 7}
    assert count(db, "SELECT count(*) FROM attachments") == 1
    folder = Path(live.server.config.app.state.settings.attachments_dir)
    assert [p.name for p in folder.rglob("*") if p.is_file()] == [sha256_hex(data)]
