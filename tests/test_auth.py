"""Access control: every route has a rule, roles are enforced, townships are isolated, and
sign-in, sessions, tokens and headers behave as a hardened service should."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from fastapi import routing
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import text, update
from sqlalchemy.orm import Session

from gis.access import auth
from gis.access.permissions import POLICY
from gis.config import Settings
from gis.db.models import ApiToken
from server.app import create_app
from server.security import Requires
from tests.factories import EAST, WEST, close, load_two_townships, make_token, new_problem

ROLES = ("admin", "office", "township", "inspector", "viewer")
PASSWORD = "river-sand-dispatch-42"


def permissions_of(route) -> set[str]:  # type: ignore[no-untyped-def]
    """The permissions a route's dependencies demand (router-level ones included)."""
    found: set[str] = set()
    stack = [route.dependant]
    while stack:
        dependant = stack.pop()
        for dep in dependant.dependencies:
            if isinstance(dep.call, Requires):
                found.add(dep.call.permission)
            stack.append(dep)
    return found


def api_routes(app) -> list:  # type: ignore[no-untyped-def]
    """Every API route with its effective dependencies, however the routers were included."""
    if hasattr(routing, "iter_route_contexts"):  # FastAPI >= 0.16x includes routers lazily
        contexts = list(routing.iter_route_contexts(app.routes))
        return [c for c in contexts if isinstance(c.original_route, APIRoute)]
    return [r for r in app.routes if isinstance(r, APIRoute)]


def test_every_route_declares_exactly_one_permission(demo_app) -> None:  # type: ignore[no-untyped-def]
    missing = []
    for route in api_routes(demo_app):
        perms = permissions_of(route)
        if len(perms) != 1:
            missing.append((sorted(route.methods), route.path, sorted(perms)))
    assert missing == [], f"routes without exactly one permission: {missing}"


def _fill(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "x", path)


# Public routes that check their caller themselves (Prometheus has no Lookback account).
AUTHENTICATES_ITSELF = {"/metrics"}


def test_role_by_route_matrix(demo_app, demo_headers) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(demo_app)
    checked = 0
    for route in api_routes(demo_app):
        (permission,) = permissions_of(route)
        for method in sorted(route.methods - {"HEAD"}):
            url = _fill(route.path)
            anonymous = client.request(method, url, json={})
            if permission == "public" and url in AUTHENTICATES_ITSELF:
                # open to the scraper's own token or a signed-in reader, not to anyone
                assert anonymous.status_code == 401, (method, url)
                signed_in = client.request(method, url, headers=demo_headers["viewer"])
                assert signed_in.status_code == 200, (method, url)
                continue
            if permission == "public":
                assert anonymous.status_code not in (401, 403), (method, url)
                continue
            assert anonymous.status_code == 401, (method, url, anonymous.status_code)
            for role in ROLES:
                resp = client.request(method, url, json={}, headers=demo_headers[role])
                denied = resp.status_code == 403 and "role" in resp.json().get("detail", "")
                expected_denied = role not in POLICY[permission]
                assert denied == expected_denied, (
                    method,
                    url,
                    role,
                    resp.status_code,
                    resp.text[:200],
                )
                assert resp.status_code != 401, (method, url, role)
                checked += 1
    assert checked > 100


@pytest.fixture
def two_towns(db):  # type: ignore[no-untyped-def]
    """Two townships, a problem and a complaint in each, and a user per role."""
    from gis.ledger.complaints import ComplaintInput, create_complaint

    with Session(db) as s, s.begin():
        load_two_townships(s)
        new_problem(s, "W-1", lon=113.05)
        new_problem(s, "E-1", lon=113.15)
        for code, lon in (("XF-W", 113.05), ("XF-E", 113.15)):
            create_complaint(
                s,
                ComplaintInput(
                    code=code,
                    channel="letter",
                    kind="air",
                    category="dust",
                    received_at=datetime(2026, 3, 1, tzinfo=UTC),
                    geometry={"type": "Point", "coordinates": [lon, 34.05]},
                ),
            )
    app = create_app(engine=db, settings=Settings(), clock=lambda: date(2026, 3, 5))
    return app, {
        "west": make_token(db, "township", [WEST]),
        "office": make_token(db, "office"),
        "inspector": make_token(db, "inspector", [WEST]),
    }


def _codes(payload) -> set[str]:  # type: ignore[no-untyped-def]
    if "features" in payload:
        return {f["properties"].get("code") or f.get("id") for f in payload["features"]}
    return {i["code"] for i in payload["items"]}


def test_townships_see_only_their_own(two_towns) -> None:  # type: ignore[no-untyped-def]
    app, headers = two_towns
    west = TestClient(app, headers=headers["west"])
    office = TestClient(app, headers=headers["office"])
    assert _codes(office.get("/api/problems").json()) == {"W-1", "E-1"}
    assert _codes(west.get("/api/problems").json()) == {"W-1"}
    assert _codes(west.get("/api/problems", params={"township": EAST}).json()) == set()
    assert _codes(west.get("/api/problems.geojson").json()) == {"W-1"}
    assert _codes(west.get("/api/problems", params={"f": "geojson"}).json()) == {"W-1"}
    assert _codes(west.get("/ogc/collections/problems/items").json()) == {"W-1"}
    assert west.get("/ogc/collections/problems/items/E-1").status_code == 404
    assert _codes(west.get("/api/complaints").json()) == {"XF-W"}
    for zoom in (9, 12, 16):
        view = west.get(
            "/api/wall/problems", params={"zoom": zoom, "bbox": "112.9,33.9,113.3,34.2"}
        ).json()
        total = (
            sum(
                f["properties"].get("open", 0)
                + f["properties"].get("overdue", 0)
                + f["properties"].get("rebounded", 0)
                + f["properties"].get("closed", 0)
                for f in view["features"]
            )
            if view["mode"] != "points"
            else len(view["features"])
        )
        assert total == 1, zoom
    summary = west.get("/api/wall/summary").json()
    assert [t["code"] for t in summary["ranking"]] == [WEST]
    assert {t["township_code"] for t in summary["ticker"]} <= {WEST}
    assert [t["code"] for t in west.get("/api/townships/summary").json()["townships"]] == [WEST]
    # another township's problem, and one that does not exist, answer alike
    other = west.get("/api/problems/E-1")
    missing = west.get("/api/problems/NO-SUCH")
    assert other.status_code == missing.status_code == 403
    assert other.json() == missing.json()
    assert west.get("/api/problems/E-1/history").status_code == 403
    assert west.get("/api/complaints/XF-E").status_code == 403
    assert west.get(f"/map/township/{EAST}").status_code == 403
    assert west.get("/api/wall/summary", params={"township": EAST}).status_code == 403
    assert west.patch("/api/problems/E-1", json={"progress": "x"}).status_code == 403
    # the inspector of the west may not report a problem on the east side
    onsite = TestClient(app, headers=headers["inspector"]).post(
        "/api/problems/on-site",
        json={
            "lon": 113.15,
            "lat": 34.05,
            "category": "dust",
            "description": "越界",
            "responsible_unit": "东镇",
            "responsible_person": "某",
        },
    )
    assert onsite.status_code == 403
    assert office.get("/api/problems", params={"q": "越界"}).json()["number_matched"] == 0


def test_township_cannot_close_and_approval_needs_the_password(two_towns, db) -> None:  # type: ignore[no-untyped-def]
    app, headers = two_towns
    with Session(db) as s, s.begin():
        auth.add_user(s, name="ban-gong-shi", role="office", password=PASSWORD, actor="test")
        raw = auth.create_token(s, name="ban-gong-shi", actor="test")
        close(s, "W-1")  # closed by the ledger itself, then rebound it via the API below
    office = TestClient(app, headers={"Authorization": f"Bearer {raw}"})
    west = TestClient(app, headers=headers["west"])
    assert (
        west.post(
            "/api/problems/W-1/transitions", json={"action": "rebound", "reason": "x"}
        ).status_code
        == 403
    )
    assert (
        office.post(
            "/api/problems/W-1/transitions", json={"action": "rebound", "reason": "复查发现"}
        ).status_code
        == 200
    )
    office.post(
        "/api/problems/W-1/transitions", json={"action": "reopen", "deadline": "2027-06-30"}
    )
    with Session(db) as s, s.begin():
        from tests.factories import add_inspection

        insp = add_inspection(s, "W-1")
    west.post(
        "/api/problems/W-1/transitions", json={"action": "apply_closure", "inspection_ids": [insp]}
    )
    office.post("/api/problems/W-1/transitions", json={"action": "record_check", "passed": True})
    assert (
        west.post("/api/problems/W-1/transitions", json={"action": "approve_closure"}).status_code
        == 403
    )
    no_password = office.post("/api/problems/W-1/transitions", json={"action": "approve_closure"})
    assert no_password.status_code == 401 and "password" in no_password.json()["detail"]
    wrong = office.post(
        "/api/problems/W-1/transitions",
        json={"action": "approve_closure", "password": "wrong-password-x"},
    )
    assert wrong.status_code == 401
    ok = office.post(
        "/api/problems/W-1/transitions", json={"action": "approve_closure", "password": PASSWORD}
    )
    assert ok.status_code == 200 and ok.json()["status"] == "closed"


def test_browser_sign_in_session_csrf_and_sign_out(db) -> None:  # type: ignore[no-untyped-def]
    with Session(db) as s, s.begin():
        load_two_townships(s)
        auth.add_user(s, name="wang", role="viewer", password=PASSWORD, actor="test")
    client = TestClient(create_app(engine=db, settings=Settings()))
    page = client.get("/wall", headers={"Accept": "text/html"}, follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"].startswith("/login?next=")
    assert client.get("/login").status_code == 200
    wrong = client.post(
        "/auth/login", data={"name": "wang", "password": "nope-nope-nope"}, follow_redirects=False
    )
    assert wrong.status_code == 401 and "wrong" in wrong.text
    client.cookies.set("lookback_session", "planted-by-attacker")
    signed = client.post(
        "/auth/login",
        data={"name": "wang", "password": PASSWORD, "next": "https://evil.example/x"},
        follow_redirects=False,
    )
    assert signed.status_code == 303 and signed.headers["location"] == "/"
    cookie_headers = [v for k, v in signed.headers.multi_items() if k == "set-cookie"]
    session_cookie = next(c for c in cookie_headers if c.startswith("lookback_session="))
    assert "HttpOnly" in session_cookie and "SameSite=lax" in session_cookie
    assert "planted-by-attacker" not in session_cookie
    assert client.get("/auth/me").json()["name"] == "wang"
    csrf = client.cookies["lookback_csrf"]
    assert client.post("/auth/logout").status_code == 403  # no CSRF token
    assert client.post("/auth/logout", headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.get("/auth/me").status_code == 401
    with db.connect() as conn:
        actions = (
            conn.execute(text("SELECT action FROM auth_events WHERE actor = 'wang' ORDER BY id"))
            .scalars()
            .all()
        )
    assert actions == ["login_failed", "login", "logout"]


def test_lockout_after_repeated_failures(db) -> None:  # type: ignore[no-untyped-def]
    with Session(db) as s, s.begin():
        auth.add_user(s, name="li", role="office", password=PASSWORD, actor="test")
    for _ in range(auth.MAX_FAILED_LOGINS):
        with pytest.raises(auth.AuthError, match="wrong"), Session(db) as s, s.begin():
            auth.verify_password(s, name="li", password="bad-password-123")
    with pytest.raises(auth.AuthError, match="locked"), Session(db) as s, s.begin():
        auth.verify_password(s, name="li", password=PASSWORD)
    later = datetime.now(UTC) + auth.LOCKOUT + timedelta(seconds=1)
    with Session(db) as s, s.begin():
        assert auth.verify_password(s, name="li", password=PASSWORD, now=later).name == "li"


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short-pw", "12"),
        ("password1234", "weak"),
        ("qwertyuiop123", "weak"),
    ],
)
def test_password_policy(db, password: str, why: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(auth.AuthError, match=why), Session(db) as s, s.begin():
        auth.add_user(s, name="zhao", role="office", password=password, actor="test")


def test_tokens_expire_and_revoke(db) -> None:  # type: ignore[no-untyped-def]
    headers = make_token(db, "viewer")
    client = TestClient(create_app(engine=db, settings=Settings()))
    assert client.get("/auth/me", headers=headers).status_code == 200
    with db.begin() as conn:
        conn.execute(update(ApiToken).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    # A change made behind the app's back (raw SQL here) is seen once the token cache's entry
    # is older than auth.TOKEN_CACHE_S; this process's own revocations clear it at once.
    auth.clear_token_cache()
    assert client.get("/auth/me", headers=headers).status_code == 401
    fresh = make_token(db, "viewer")
    with Session(db) as s, s.begin():
        token_id = s.scalar(text("SELECT max(id) FROM api_tokens"))
        auth.revoke_token(s, token_id=token_id, actor="admin")
    assert client.get("/auth/me", headers=fresh).status_code == 401
    with db.connect() as conn:
        stored = conn.execute(text("SELECT token_hash FROM api_tokens")).scalars().all()
    assert fresh["Authorization"].split()[1] not in stored  # only hashes at rest


def test_security_headers_csp_nonce_and_body_limit(demo_app, demo_headers) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(demo_app, headers=demo_headers["viewer"])
    page = client.get("/")
    csp = page.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([^']+)'", csp).group(1)
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert "unsafe-inline" not in csp.split("script-src")[1].split(";")[0]
    scripts = re.findall(r"<script[^>]*>", page.text)
    assert scripts and all(f'nonce="{nonce}"' in tag for tag in scripts)
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    big = client.post(
        "/api/complaints", content=b"x" * 30_000_000, headers={"Content-Type": "application/json"}
    )
    assert big.status_code == 413


def test_cached_token_revoked_disabled_or_changed_in_this_process_at_once(db) -> None:  # type: ignore[no-untyped-def]
    headers = make_token(db, "viewer", name="kiosk-1")
    client = TestClient(create_app(engine=db, settings=Settings()))
    assert client.get("/auth/me", headers=headers).status_code == 200
    assert auth.peek_token(headers["Authorization"].split()[1]) is not None  # cached
    with Session(db) as s, s.begin():
        auth.disable_user(s, name="kiosk-1", actor="admin")
    assert client.get("/auth/me", headers=headers).status_code == 401


def test_token_cache_entry_lapses_after_its_window(db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    headers = make_token(db, "viewer")
    client = TestClient(create_app(engine=db, settings=Settings()))
    assert client.get("/auth/me", headers=headers).status_code == 200
    with db.begin() as conn:
        conn.execute(update(ApiToken).values(revoked_at=datetime.now(UTC)))
    assert client.get("/auth/me", headers=headers).status_code == 200  # within the window
    monkeypatch.setattr(auth, "_clock", lambda: 1e12)  # the window has passed
    assert client.get("/auth/me", headers=headers).status_code == 401
