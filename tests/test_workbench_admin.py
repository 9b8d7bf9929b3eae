"""The admin and import pages over HTTP: users and tokens (/admin/users), the Excel import with
its dry-run preview and confirm (/import), and the notices log (/notices)."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.access import auth
from gis.config import Settings
from server.app import create_app
from tests.factories import EAST, WEST, load_two_townships, make_token
from tests.test_workbench import assert_clean_page

HTML = {"Accept": "text/html"}
HX = {**HTML, "HX-Request": "true"}
PASSWORD = "river-sand-dispatch-42"
NEW_PASSWORD = "quarry-lantern-meadow-97"


@pytest.fixture
def county(db, tmp_path):  # type: ignore[no-untyped-def]
    with Session(db) as s, s.begin():
        load_two_townships(s)
        auth.add_user(s, name="root-admin", role="admin", password=PASSWORD, actor="test")
        raw = auth.create_token(s, name="root-admin", actor="test")
    app = create_app(engine=db, settings=Settings(home=tmp_path), clock=lambda: date(2026, 3, 5))
    return app, TestClient(app, headers={"Authorization": f"Bearer {raw}", **HTML})


def _user(db, name: str):  # type: ignore[no-untyped-def]
    with db.connect() as conn:
        return conn.execute(
            text("SELECT role, townships, disabled FROM users WHERE name = :n"), {"n": name}
        ).first()


def _version(html: str, action: str) -> str:
    form = re.search(rf'data-action="{action}">(.*?)</form>', html, re.S).group(1)
    return re.search(r'name="version" value="([^"]+)"', form).group(1)


# -- users -----------------------------------------------------------------------------------


def test_users_page_lists_and_adds(county, db) -> None:  # type: ignore[no-untyped-def]
    _, admin = county
    resp = admin.get("/admin/users")
    assert_clean_page(resp)
    assert 'data-user="root-admin"' in resp.text and "西镇" in resp.text and "东镇" in resp.text
    assert 'aria-current="page" class="current">用户' in resp.text
    # refused: a weak password; what was typed stays, the reason beside the field, both languages
    weak = admin.post(
        "/admin/users",
        data={"name": "张镇长", "role": "township", "townships": [WEST], "password": "password1"},
    )
    assert weak.status_code == 422
    assert 'data-field="password"' in weak.text and "密码" in weak.text and "password" in weak.text
    assert 'value="张镇长"' in weak.text and f'value="{WEST}" checked' in weak.text
    assert "password1" not in weak.text
    assert _user(db, "张镇长") is None
    no_town = admin.post(
        "/admin/users",
        data={"name": "张镇长", "role": "township", "password": PASSWORD},
        headers=HX,
    )
    assert no_town.status_code == 200 and 'data-field="townships"' in no_town.text
    assert _user(db, "张镇长") is None
    ok = admin.post(
        "/admin/users",
        data={"name": "张镇长", "role": "township", "townships": [WEST], "password": PASSWORD},
        headers=HX,
    )
    assert ok.status_code == 200
    assert ok.headers["HX-Redirect"] == "/admin/users/%E5%BC%A0%E9%95%87%E9%95%BF?done=added"
    row = _user(db, "张镇长")
    assert row.role == "township" and row.townships == [WEST] and row.disabled is False
    page = admin.get(ok.headers["HX-Redirect"])
    assert_clean_page(page)
    assert "已添加用户" in page.text and "user_added" in page.text
    again = admin.post(
        "/admin/users",
        data={"name": "张镇长", "role": "office", "password": NEW_PASSWORD},
    )
    assert again.status_code == 422 and 'data-field="name"' in again.text


def test_user_page_role_password_disable_and_tokens(county, db) -> None:  # type: ignore[no-untyped-def]
    app, admin = county
    with Session(db) as s, s.begin():
        auth.add_user(
            s, name="li", role="township", password=PASSWORD, townships=[WEST], actor="test"
        )
    html = admin.get("/admin/users/li").text
    version = _version(html, "role")
    moved = admin.post(
        "/admin/users/li/role",
        data={"role": "inspector", "townships": [EAST], "version": version},
        follow_redirects=False,
    )
    assert moved.status_code == 303 and moved.headers["location"].endswith("done=role")
    assert _user(db, "li").role == "inspector" and _user(db, "li").townships == [EAST]
    # the same (now stale) form again is refused and changes nothing
    stale = admin.post(
        "/admin/users/li/role", data={"role": "office", "version": version}, headers=HX
    )
    assert stale.status_code == 200 and 'data-field="stale"' in stale.text
    assert _user(db, "li").role == "inspector"
    # a token: the secret shown once on the page, and it works
    made = admin.post("/admin/users/li/token", data={"label": "平板", "days": "30"}, headers=HX)
    assert made.status_code == 200 and made.headers["cache-control"] == "no-store"
    secret = re.search(r'data-testid="secret">([^<]+)<', made.text).group(1)
    token_client = TestClient(app, headers={"Authorization": f"Bearer {secret}"})
    assert token_client.get("/auth/me").json()["name"] == "li"
    shown = admin.get("/admin/users/li").text
    assert secret not in shown and "平板" in shown
    bad_days = admin.post("/admin/users/li/token", data={"days": "forever"}, headers=HX)
    assert 'data-field="days"' in bad_days.text
    token_id = re.search(r'data-token="(\d+)"', shown).group(1)
    revoked = admin.post(f"/admin/users/li/tokens/{token_id}/revoke", headers=HX)
    assert revoked.headers["HX-Redirect"].endswith("done=revoked")
    assert token_client.get("/auth/me").status_code == 401
    # reset the password: sessions end
    browser = TestClient(app)
    browser.post("/auth/login", data={"name": "li", "password": PASSWORD})
    assert browser.get("/auth/me").status_code == 200
    html = admin.get("/admin/users/li").text
    weak = admin.post(
        "/admin/users/li/password",
        data={"password": "li-password", "version": _version(html, "password")},
        headers=HX,
    )
    assert 'data-field="password"' in weak.text
    assert browser.get("/auth/me").status_code == 200
    reset = admin.post(
        "/admin/users/li/password",
        data={"password": NEW_PASSWORD, "version": _version(html, "password")},
        headers=HX,
    )
    assert reset.headers["HX-Redirect"].endswith("done=password")
    assert browser.get("/auth/me").status_code == 401
    # disable: needs the confirmation box
    html = admin.get("/admin/users/li").text
    unconfirmed = admin.post(
        "/admin/users/li/disable", data={"version": _version(html, "disable")}, headers=HX
    )
    assert 'data-field="confirm"' in unconfirmed.text and _user(db, "li").disabled is False
    done = admin.post(
        "/admin/users/li/disable",
        data={"version": _version(html, "disable"), "confirm": "yes"},
        headers=HX,
    )
    assert done.headers["HX-Redirect"].endswith("done=disabled")
    assert _user(db, "li").disabled is True
    page = admin.get("/admin/users/li?done=disabled")
    assert "已停用" in page.text and 'data-action="disable"' not in page.text
    with db.connect() as conn:
        actions = (
            conn.execute(
                text("SELECT action FROM auth_events WHERE actor = 'root-admin' ORDER BY id")
            )
            .scalars()
            .all()
        )
    assert actions == [
        "role_changed",
        "token_created",
        "token_revoked",
        "password_changed",
        "user_disabled",
    ]


def test_admin_cannot_disable_themself_on_the_page(county, db) -> None:  # type: ignore[no-untyped-def]
    _, admin = county
    html = admin.get("/admin/users/root-admin").text
    assert 'data-testid="self-note"' in html and 'data-action="disable"' not in html
    forced = admin.post(
        "/admin/users/root-admin/disable",
        data={"version": _version(html, "role"), "confirm": "yes"},
        headers=HX,
    )
    assert forced.status_code == 200 and 'data-field="self"' in forced.text
    assert _user(db, "root-admin").disabled is False


@pytest.mark.parametrize("role", ["office", "township", "inspector", "viewer"])
def test_user_pages_are_for_admins_only(county, db, role: str) -> None:  # type: ignore[no-untyped-def]
    app, _ = county
    towns = [WEST] if role in ("township", "inspector") else None
    client = TestClient(app, headers={**make_token(db, role, towns), **HTML})
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/users/root-admin").status_code == 403
    resp = client.post("/admin/users/root-admin/disable", data={"confirm": "yes"})
    assert resp.status_code == 403
    assert _user(db, "root-admin").disabled is False
    assert 'href="/admin/users"' not in client.get("/").text
