"""Headless Chromium logs a point with a photo offline, sees it queued, and sees it synced once.

The app runs on its own copy of the demo county (the shared demo database is read-only by
agreement and the inspection leaves an event on a problem's history), served on 127.0.0.1, which
browsers treat as a secure context: the service worker registers there. The same flow runs with
service workers blocked, as on a plain-HTTP intranet, where the IndexedDB queue must still work.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from PIL import Image
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from gis.access import auth
from gis.config import Settings
from gis.db.engine import make_engine, upgrade
from gis.field.inspections import FieldSettings
from gis.field.nearby import nearest_open_problems
from server.app import create_app
from tests.conftest import DEMO_AS_OF, DEMO_SEED, LiveServer, create_database
from tests.screens import screenshot
from tests.test_field_api import exif_bytes, offset_point

pytestmark = pytest.mark.browser

PASSWORD = "Qingshui-river-7431-audit"
RADIUS_M = 20_000.0


@pytest.fixture(scope="module")
def field_site(pg_cluster, tmp_path_factory) -> Iterator[dict]:  # type: ignore[no-untyped-def]
    """A demo county of its own, an inspector of one township, and the app serving it."""
    from gis.demo.county import load_demo

    url = create_database(pg_cluster, "lookback_field_browser")
    upgrade(url)
    engine = make_engine(url)
    load_demo(engine, scale=120, seed=DEMO_SEED, as_of=DEMO_AS_OF)
    with Session(engine) as session, session.begin():
        town, lon, lat = session.execute(
            text(
                "SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))"
                " FROM townships ORDER BY code LIMIT 1"
            )
        ).one()
        nearest = nearest_open_problems(
            session, lon, lat, radius_m=RADIUS_M, limit=10, townships=[town]
        )
        auth.add_user(
            session,
            name="field-inspector",
            role="inspector",
            password=PASSWORD,
            townships=[town],
            actor="test",
        )
    home = tmp_path_factory.mktemp("field-home")
    app = create_app(engine=engine, settings=Settings(home=home))
    app.state.field_settings = FieldSettings(nearby_radius_m=RADIUS_M)
    with LiveServer(app) as server:
        yield {
            "server": server,
            "engine": engine,
            "home": home,
            "town": town,
            "lon": float(lon),
            "lat": float(lat),
            "problem": nearest[0]["code"],
        }
    engine.dispose()


def camera_photo(gps: tuple[float, float]) -> bytes:
    """A large, noisy JPEG with EXIF GPS, as a phone camera makes (the app shrinks it)."""
    noise = Image.effect_noise((2400, 1800), 60).convert("RGB")
    buffer = io.BytesIO()
    noise.save(buffer, "JPEG", quality=92, exif=exif_bytes(*gps))
    return buffer.getvalue()


def _rows(engine: Engine, sql: str, **params) -> list:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        return list(conn.execute(text(sql), params))


@pytest.mark.parametrize("service_workers", ["allow", "block"])
def test_offline_point_with_photo_syncs_exactly_once(browser, field_site, service_workers) -> None:  # type: ignore[no-untyped-def]
    site = field_site
    server, engine = site["server"], site["engine"]
    context = browser.new_context(
        viewport={"width": 412, "height": 915},
        geolocation={"longitude": site["lon"], "latitude": site["lat"], "accuracy": 8},
        permissions=["geolocation"],
        service_workers=service_workers,
        locale="zh-CN",
    )
    page = context.new_page()
    errors: list[str] = []
    hosts: set[str] = set()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(  # offline fetches log errors by design; a blocked script or style must not
        "console",
        lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    page.on(  # thumbnails are blob: URLs of this origin
        "request",
        lambda req: hosts.add(urlparse(req.url.removeprefix("blob:")).hostname or req.url),
    )

    # Sign in: the page sends anonymous browsers to the login form and back.
    page.goto(server.url + "/field")
    page.fill("input[name=name]", "field-inspector")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(server.url + "/field")
    page.wait_for_selector("#whoami:text('field-inspector')")
    if service_workers == "allow":
        assert page.evaluate("navigator.serviceWorker.ready.then(r => Boolean(r.active))")
    else:
        assert page.evaluate("navigator.serviceWorker.controller") is None
        # The pure-JS SHA-256 used without crypto.subtle (plain HTTP) agrees with hashlib.
        samples = [b"", b"abc", bytes(range(256)) * 5, "巡查".encode() * 1000]
        hashed = page.evaluate(
            "(ss) => ss.map((s) => window.LookbackField.sha256Fallback(new Uint8Array(s)))",
            [list(x) for x in samples],
        )
        assert hashed == [hashlib.sha256(x).hexdigest() for x in samples]

    # A fix better than the threshold, and the nearest open problems listed by metres.
    page.wait_for_selector("#fix[data-quality=good]")
    assert "±8" in page.inner_text("#fix-accuracy")
    option = page.locator(f"#problems button[data-code='{site['problem']}']")
    option.wait_for()
    page.wait_for_function("() => window.LookbackField.state.pack !== null")

    # Offline: fill in the form and submit; it waits in the queue.
    before = _rows(engine, "SELECT count(*) FROM inspections")[0][0]
    context.set_offline(True)
    page.wait_for_selector("#net[data-state=offline]")
    option.click()
    page.click("#findings button[data-value=persists]")
    page.fill("#note", "仍有扬尘，防尘网破损")
    far = offset_point(site["lon"], site["lat"], north_m=5000)
    photo = camera_photo(far)
    page.set_input_files(
        "#photo-input", files=[{"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": photo}]
    )
    page.wait_for_selector("#thumbs .thumb")
    if service_workers == "allow":
        page.evaluate("window.scrollTo(0, 0)")
        screenshot(page, "field-app.png", full_page=True)
    page.click("#submit")
    queued = page.locator("#queue li.q-item[data-state=queued]")
    queued.wait_for()
    uid = queued.get_attribute("data-uuid")
    assert page.inner_text("#queue-count") == "1"
    assert _rows(engine, "SELECT count(*) FROM inspections")[0][0] == before

    if service_workers == "allow":  # the shell reloads from the service worker's cache
        page.reload()
        page.wait_for_selector(f"#queue li.q-item[data-uuid='{uid}'][data-state=queued]")

    # Back online: it syncs by itself, once.
    context.set_offline(False)
    page.wait_for_selector(
        f"#queue li.q-item[data-uuid='{uid}'][data-state=synced]", timeout=30_000
    )
    assert page.inner_text("#queue-count") == "0"
    page.click("#sync-now")
    page.wait_for_timeout(1500)
    rows = _rows(
        engine,
        "SELECT i.id, i.finding, i.inspector, i.flags, p.code, i.township_code, i.accuracy_m"
        " FROM inspections i JOIN problems p ON p.id = i.problem_id WHERE i.uuid = :u",
        u=uid,
    )
    assert len(rows) == 1
    inspection_id, finding, inspector, flags, code, town, accuracy = rows[0]
    assert (finding, inspector, code, town) == (
        "persists", "field-inspector", site["problem"], site["town"]
    )
    assert accuracy == 8
    assert "exif_far" in flags  # EXIF GPS survived the on-device compression
    assert _rows(engine, "SELECT count(*) FROM inspections")[0][0] == before + 1
    photos = _rows(
        engine,
        "SELECT sha256, media_type, size_bytes, exif_lat FROM attachments"
        " WHERE inspection_id = :i",
        i=inspection_id,
    )
    assert len(photos) == 1
    sha, media_type, size, exif_lat = photos[0]
    assert media_type == "image/jpeg"
    assert size < len(photo)  # compressed on the device
    assert exif_lat == pytest.approx(far[1], abs=1e-5)
    stored = Path(site["home"]).resolve() / "attachments" / sha[:2] / sha[2:4] / sha
    assert stored.is_file() and stored.stat().st_size == size

    # In the problem's history and on the map's layer.
    history = page.request.get(f"{server.url}/api/problems/{site['problem']}/history").json()
    events = [e for e in history if e["action"] == "inspection"]
    assert [e["after"]["inspection_uuid"] for e in events].count(uid) == 1
    layer = page.request.get(f"{server.url}/api/problems.geojson").json()
    assert site["problem"] in {f.get("id") or f["properties"]["code"] for f in layer["features"]}

    assert errors == []
    assert hosts == {"127.0.0.1"}
    context.close()


def test_several_queued_points_flush_in_one_batch(browser, field_site) -> None:  # type: ignore[no-untyped-def]
    """Three points logged offline go up in one POST /api/inspections/batch, photos by PUT."""
    site = field_site
    server, engine = site["server"], site["engine"]
    context = browser.new_context(
        viewport={"width": 412, "height": 915},
        geolocation={"longitude": site["lon"], "latitude": site["lat"], "accuracy": 8},
        permissions=["geolocation"],
        service_workers="block",
        locale="zh-CN",
    )
    page = context.new_page()
    errors: list[str] = []
    posts: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "request",
        lambda req: posts.append(urlparse(req.url).path) if req.method == "POST" else None,
    )
    page.goto(server.url + "/field")
    page.fill("input[name=name]", "field-inspector")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit], input[type=submit]")
    page.wait_for_url(server.url + "/field")
    page.wait_for_selector("#fix[data-quality=good]")
    page.wait_for_function("() => window.LookbackField.state.pack !== null")
    before = _rows(engine, "SELECT count(*) FROM inspections")[0][0]

    context.set_offline(True)
    page.wait_for_selector("#net[data-state=offline]")
    uids = []
    for i, colour in enumerate(("red", "green", "blue")):
        page.click("#findings button[data-value=checked]")
        page.fill("#note", f"第 {i + 1} 处")
        buffer = io.BytesIO()
        Image.new("RGB", (160, 120), colour).save(buffer, "JPEG", quality=90)
        page.set_input_files(
            "#photo-input",
            files=[{"name": f"IMG_{i}.jpg", "mimeType": "image/jpeg", "buffer": buffer.getvalue()}],
        )
        page.wait_for_selector("#thumbs .thumb")
        page.click("#submit")
        page.wait_for_function(
            f"() => document.querySelectorAll('#queue li.q-item').length >= {i + 1}"
        )
    for item in page.locator("#queue li.q-item[data-state=queued]").all():
        uids.append(item.get_attribute("data-uuid"))
    assert len(set(uids)) == 3
    assert _rows(engine, "SELECT count(*) FROM inspections")[0][0] == before

    posts.clear()
    context.set_offline(False)
    for uid in uids:
        page.wait_for_selector(
            f"#queue li.q-item[data-uuid='{uid}'][data-state=synced]", timeout=30_000
        )
    assert posts.count("/api/inspections/batch") == 1
    assert "/api/inspections" not in posts
    stored = _rows(
        engine,
        "SELECT i.uuid::text, i.note, count(a.id) FROM inspections i"
        " LEFT JOIN attachments a ON a.inspection_id = i.id WHERE i.uuid::text = ANY(:u)"
        " GROUP BY i.uuid, i.note ORDER BY i.note",
        u=uids,
    )
    assert [(note, photos) for _, note, photos in stored] == [
        ("第 1 处", 1), ("第 2 处", 1), ("第 3 处", 1)
    ]
    assert errors == []
    context.close()
