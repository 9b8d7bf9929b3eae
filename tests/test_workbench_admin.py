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
    assert "已添加用户" in page.text and 'data-action-name="user_added">添加用户<' in page.text
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
    enabled = admin.post(
        "/admin/users/li/enable", data={"version": _version(page.text, "enable")}, headers=HX
    )
    assert enabled.headers["HX-Redirect"].endswith("done=enabled")
    assert _user(db, "li").disabled is False
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
        "user_enabled",
    ]


def test_an_admin_resetting_their_own_password_stays_signed_in(county, db) -> None:  # type: ignore[no-untyped-def]
    app, admin = county
    mine, other = TestClient(app, headers=HTML), TestClient(app, headers=HTML)
    for client in (mine, other):
        client.post("/auth/login", data={"name": "root-admin", "password": PASSWORD})
        assert client.get("/auth/me", headers={"Accept": "application/json"}).status_code == 200
    html = mine.get("/admin/users/root-admin").text
    csrf = mine.cookies.get("lookback_csrf")
    no_csrf = mine.post(
        "/admin/users/root-admin/password",
        data={"password": NEW_PASSWORD, "version": _version(html, "password")},
    )
    assert no_csrf.status_code == 403  # a session's form needs its CSRF token
    reset = mine.post(
        "/admin/users/root-admin/password",
        data={"password": NEW_PASSWORD, "version": _version(html, "password")},
        headers={**HX, "X-CSRF-Token": csrf},
    )
    assert reset.headers["HX-Redirect"].endswith("done=password")
    json = {"Accept": "application/json"}
    assert mine.get("/auth/me", headers=json).json()["name"] == "root-admin"
    assert other.get("/auth/me", headers=json).status_code == 401
    assert admin.get("/auth/me", headers=json).status_code == 401  # the bearer token ended too


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


# -- import ----------------------------------------------------------------------------------

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _zip_of_text() -> bytes:
    import io
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "not a workbook")
    return out.getvalue()


NOT_A_WORKBOOK = _zip_of_text()


def _problems(db) -> list[str]:  # type: ignore[no-untyped-def]
    with db.connect() as conn:
        return conn.execute(text("SELECT code FROM problems ORDER BY code")).scalars().all()


def _preview(client, data: bytes, name: str = "台账.xlsx", **form):  # type: ignore[no-untyped-def]
    return client.post("/import/preview", files={"file": (name, data, XLSX)}, data=form, headers=HX)


def _hidden(html: str, name: str) -> str:
    return re.search(rf'name="{name}" value="([^"]*)"', html).group(1)


def test_import_preview_then_confirm_applies_exactly_that_file(county, db, tmp_path) -> None:  # type: ignore[no-untyped-def]
    from tests.test_excel_ledger import EXPECTED, IMPORTED, messy_workbook

    _, office = county
    page = office.get("/import")
    assert_clean_page(page)
    assert 'name="file"' in page.text and "/api/export/ledger?format=xlsx" in page.text
    data = messy_workbook()
    preview = _preview(office, data)
    assert preview.status_code == 200
    html = preview.text
    assert "导入预览" in html and _problems(db) == []  # the dry run wrote nothing
    shown = dict(re.findall(r'data-row="(\d+)" data-outcome="(\w+)"', html))
    assert {int(k): v for k, v in shown.items()} == {r: o for r, (o, _) in EXPECTED.items()}
    assert re.search(r'data-outcome="imported" data-n="(\d+)"', html).group(1) == str(len(IMPORTED))
    assert "unknown township" in html and "repeats row 5" in html  # the reasons, by row
    digest = _hidden(html, "digest")
    staged = tmp_path / "imports" / f"{digest}.xlsx"
    assert staged.read_bytes() == data
    # a confirm of a file that changed since the preview is refused, nothing applied
    staged.write_bytes(data + b"x")
    changed = office.post(
        "/import/confirm",
        data={"digest": digest, "fingerprint": _hidden(html, "fingerprint")},
        headers=HX,
    )
    assert changed.status_code == 200 and 'data-field="stale"' in changed.text
    assert "changed since the preview" in changed.text and _problems(db) == []
    staged.write_bytes(data)
    done = office.post(
        "/import/confirm",
        data={"digest": digest, "fingerprint": _hidden(html, "fingerprint")},
        headers=HX,
    )
    assert done.status_code == 200 and "导入结果" in done.text
    assert f"已导入：新增 {len(IMPORTED)} 条" in done.text
    assert _problems(db) == IMPORTED
    assert not staged.exists()
    # the same confirm again: the file is gone, nothing is applied twice
    twice = office.post(
        "/import/confirm",
        data={"digest": digest, "fingerprint": _hidden(html, "fingerprint")},
        headers=HX,
    )
    assert 'data-field="stale"' in twice.text and "gone" in twice.text
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == 2 * len(IMPORTED)


def test_import_confirm_refused_when_the_outcomes_would_differ(county, db) -> None:  # type: ignore[no-untyped-def]
    from tests.test_excel_ledger import messy_workbook

    _, office = county
    html = _preview(office, messy_workbook()).text
    # meanwhile someone imports the same file: confirming would now update, not create
    from gis.io.excel import run_ledger_import

    run_ledger_import(db, messy_workbook(), actor="other", filename="x.xlsx")
    with db.connect() as conn:
        before = conn.execute(text("SELECT count(*) FROM events")).scalar_one()
    resp = office.post(
        "/import/confirm",
        data={"digest": _hidden(html, "digest"), "fingerprint": _hidden(html, "fingerprint")},
        headers=HX,
    )
    assert 'data-field="stale"' in resp.text and "导入预览" in resp.text
    assert 'data-outcome="unchanged"' in resp.text  # the new preview
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM events")).scalar_one() == before


@pytest.mark.parametrize(
    ("name", "data", "words"),
    [
        ("台账.xlsx", b"PK\x03\x04 not really a zip", "not an Excel .xlsx"),
        ("台账.xlsx", NOT_A_WORKBOOK, "cannot read the workbook"),
        ("台账.xls", b"\xd0\xcf\x11\xe0rest", ".xls"),
        ("台账.csv", b"code,desc\n1,2\n", ".xlsx"),
        ("台账.xlsx", b"", "empty"),
    ],
)
def test_a_broken_file_gets_a_clear_error_and_nothing_applied(
    county, db, tmp_path, name: str, data: bytes, words: str
) -> None:  # type: ignore[no-untyped-def]
    _, office = county
    resp = office.post("/import/preview", files={"file": (name, data, XLSX)})
    assert resp.status_code == 422
    error = re.search(r'data-field="file">([^<]+)<', resp.text).group(1)
    assert words in error and "无法导入这个文件" in error
    assert 'name="digest"' not in resp.text
    assert _problems(db) == []
    assert not (tmp_path / "imports").exists() or not list((tmp_path / "imports").glob("*.xlsx"))


def test_import_too_large_and_a_workbook_without_a_header(county, db) -> None:  # type: ignore[no-untyped-def]
    import io

    import openpyxl

    _, office = county
    big = _preview(office, b"PK" + b"\0" * 10_000_100)
    assert 'data-field="file"' in big.text and "10 MB" in big.text
    wb = openpyxl.Workbook()
    wb.active.append(["名称", "数量"])
    out = io.BytesIO()
    wb.save(out)
    plain = _preview(office, out.getvalue())
    assert 'data-field="file"' in plain.text and 'name="digest"' not in plain.text
    assert _problems(db) == []


def test_import_is_for_the_office(county, db) -> None:  # type: ignore[no-untyped-def]
    from tests.test_excel_ledger import messy_workbook

    app, _ = county
    for role in ("township", "inspector", "viewer"):
        towns = [WEST] if role in ("township", "inspector") else None
        client = TestClient(app, headers={**make_token(db, role, towns), **HTML})
        assert client.get("/import").status_code == 403
        assert _preview(client, messy_workbook()).status_code == 403
        assert 'href="/import"' not in client.get("/").text
    assert _problems(db) == []
    office = TestClient(app, headers={**make_token(db, "office"), **HTML})
    assert 'href="/import"' in office.get("/").text


# -- notices ---------------------------------------------------------------------------------


@pytest.fixture
def notices(county, db):  # type: ignore[no-untyped-def]
    """A notice per township: the west one delivered, the east one failed."""
    from gis.notices.directory import add_channel, add_contact
    from gis.notices.rules import ensure_default_rules
    from gis.notices.runner import run_once
    from tests.factories import new_problem

    with Session(db) as s, s.begin():
        ensure_default_rules(s)
        add_contact(s, name="督察办", role="office", email="office@county.example")
        add_channel(
            s,
            name="hook",
            kind="webhook",
            config={"url": "https://hooks.county.example/hook", "secret": "s3cret"},
        )
        new_problem(s, "W-1", lon=113.05, deadline=date(2026, 3, 1))
        new_problem(s, "E-1", lon=113.15, deadline=date(2026, 3, 1))
    run_once(db, today=date(2026, 3, 5), deliver=False)
    with db.begin() as conn:
        conn.execute(
            text(
                "UPDATE notice_deliveries d SET status = CASE WHEN p.code = 'W-1' THEN 'sent'"
                " ELSE 'failed' END, result = CASE WHEN p.code = 'W-1' THEN 'ok'"
                " ELSE 'connection refused' END, attempts = 1"
                " FROM notices n JOIN problems p ON p.id = n.problem_id"
                " WHERE n.id = d.notice_id"
            )
        )
        ids = dict(
            conn.execute(
                text("SELECT p.code, n.id FROM notices n JOIN problems p ON p.id = n.problem_id")
            ).all()
        )
    return county[0], ids


def test_notices_page_shows_the_log_with_delivery_and_documents(notices, db) -> None:  # type: ignore[no-untyped-def]
    app, ids = notices
    assert set(ids) == {"W-1", "E-1"}, ids
    office = TestClient(app, headers={**make_token(db, "office"), **HTML})
    resp = office.get("/notices")
    assert_clean_page(resp)
    html = resp.text
    assert 'data-total="2"' in html
    west = re.search(rf'data-notice="{ids["W-1"]}">(.*?)</tr>', html, re.S).group(1)
    east = re.search(rf'data-notice="{ids["E-1"]}">(.*?)</tr>', html, re.S).group(1)
    assert 'data-status="sent"' in west and "已送达 1" in west
    assert 'data-status="failed"' in east and "发送失败 1" in east
    assert f'href="/api/notices/{ids["W-1"]}/document"' in west
    assert office.get(f"/api/notices/{ids['W-1']}/document").status_code == 200
    detail = office.get(f"/notices/{ids['E-1']}")
    assert_clean_page(detail)
    assert "connection refused" in detail.text and "发送失败" in detail.text
    filtered = office.get("/notices", params={"problem": "W-1"}).text
    assert 'data-total="1"' in filtered and f'data-notice="{ids["W-1"]}"' in filtered
    assert 'data-total="0"' in office.get("/notices", params={"kind": "summons"}).text
    bad = office.get("/notices", params={"since": "yesterday"})
    assert bad.status_code == 200 and "2026-12-03" in bad.text


def test_a_township_sees_only_its_notices(notices, db) -> None:  # type: ignore[no-untyped-def]
    app, ids = notices
    west = TestClient(app, headers={**make_token(db, "township", [WEST]), **HTML})
    html = west.get("/notices").text
    assert 'data-total="1"' in html and f'data-notice="{ids["W-1"]}"' in html
    assert "东镇" not in html and "E-1" not in html
    assert west.get(f"/notices/{ids['E-1']}").status_code == 404
    assert west.get("/notices/999999").status_code == 404
    assert west.get(f"/notices/{ids['W-1']}").status_code == 200
    assert west.get("/notices", params={"township": EAST}).text.count("data-notice=") == 1


def _point_the_hook_at_a_closed_port(db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Every delivery failed; the webhook on a local port nobody listens on, allowed as internal."""
    from gis.db.embedded import free_port
    from gis.notices.config import get_notice_settings
    from gis.notices.directory import update_channel

    monkeypatch.setenv("LOOKBACK_NOTICES_ALLOW_HOSTS", "127.0.0.1")
    get_notice_settings.cache_clear()
    with Session(db) as s, s.begin():
        hook = s.execute(text("SELECT id FROM notice_channels WHERE name = 'hook'")).scalar_one()
        update_channel(s, hook, {"config": {"url": f"http://127.0.0.1:{free_port()}/hook"}})
        s.execute(text("UPDATE notice_deliveries SET status = 'failed', next_attempt_at = NULL"))


def _delivery(db, notice_id: int):  # type: ignore[no-untyped-def]
    with db.connect() as conn:
        return conn.execute(
            text(
                "SELECT d.id, d.status, d.attempts, d.max_attempts FROM notice_deliveries d"
                " JOIN notice_channels c ON c.id = d.channel_id"
                " WHERE d.notice_id = :n AND c.name = 'hook'"
            ),
            {"n": notice_id},
        ).one()


def _row(html: str, delivery_id: int) -> str:
    return re.search(rf'<tr data-delivery="{delivery_id}">(.*?)</tr>', html, re.S).group(1)


def test_a_failed_delivery_is_retried_from_the_notice_page(notices, db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from gis.notices.config import get_notice_settings

    app, ids = notices
    _point_the_hook_at_a_closed_port(db, monkeypatch)
    east = _delivery(db, ids["E-1"])
    assert east.status == "failed" and east.attempts == 1
    retry_path = f"/notices/{ids['E-1']}/deliveries/{east.id}/retry"
    try:
        # htmx (bearer token): the row comes back with the new status, attempted once more
        office = TestClient(app, headers={**make_token(db, "office"), **HTML})
        page = office.get(f"/notices/{ids['E-1']}")
        assert_clean_page(page)
        row = _row(page.text, east.id)
        assert f'hx-post="{retry_path}"' in row and "重试" in row and 'name="csrf_token"' in row
        done = office.post(retry_path, headers=HX)
        assert done.status_code == 200, done.text
        again = _delivery(db, ids["E-1"])
        assert again.status == "pending" and again.attempts == 2 and again.max_attempts > 2
        assert 'data-status="pending"' in done.text and "2 / " in done.text
        assert f'hx-post="{retry_path}"' not in done.text  # pending: nothing to retry now
        assert "<html" not in done.text  # the row only
        # a form posted without JavaScript by a signed-in admin: its CSRF field, then a redirect
        with db.begin() as conn:
            conn.execute(text("UPDATE notice_deliveries SET status = 'failed' WHERE id = :i"),
                         {"i": east.id})  # fmt: skip
        browser = TestClient(app, headers=HTML)
        browser.post("/auth/login", data={"name": "root-admin", "password": PASSWORD})
        form = _row(browser.get(f"/notices/{ids['E-1']}").text, east.id)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        assert browser.post(retry_path, data={}).status_code == 403  # no token, refused
        assert _delivery(db, ids["E-1"]).attempts == 2
        plain = browser.post(retry_path, data={"csrf_token": token}, follow_redirects=False)
        assert plain.status_code == 303 and plain.headers["location"] == f"/notices/{ids['E-1']}"
        assert _delivery(db, ids["E-1"]).attempts == 3
        # a delivery of another notice, or none at all: 404
        west = _delivery(db, ids["W-1"])
        assert office.post(f"/notices/{ids['E-1']}/deliveries/{west.id}/retry").status_code == 404
        assert office.post(f"/notices/{ids['E-1']}/deliveries/999999/retry").status_code == 404
    finally:
        get_notice_settings.cache_clear()


def test_a_township_user_or_viewer_cannot_retry(notices, db, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    app, ids = notices
    _point_the_hook_at_a_closed_port(db, monkeypatch)
    west = _delivery(db, ids["W-1"])
    for role, towns in (("township", [WEST]), ("viewer", None)):
        client = TestClient(app, headers={**make_token(db, role, towns), **HTML})
        page = client.get(f"/notices/{ids['W-1']}")
        assert page.status_code == 200
        row = _row(page.text, west.id)
        assert 'data-status="failed"' in row and "retry" not in row and "重试" not in row
        refused = client.post(f"/notices/{ids['W-1']}/deliveries/{west.id}/retry", headers=HX)
        assert refused.status_code == 403, role
        api = client.post(f"/api/notices/deliveries/{west.id}/retry")
        assert api.status_code == 403, role
    assert _delivery(db, ids["W-1"]) == west  # nothing was attempted


def test_the_pages_speak_english_too(notices, db) -> None:  # type: ignore[no-untyped-def]
    app, ids = notices
    admin = TestClient(app, headers={**make_token(db, "admin"), **HTML})
    admin.cookies.set("lookback_lang", "en")
    for path, words in (
        ("/admin/users", ("Add a user", "Initial password", "Active tokens")),
        ("/admin/users/root-admin", ("Role and townships", "Reset the password", "Tokens")),
        ("/import", ("Import an Excel ledger", "Upload and preview", "Export the ledger")),
        ("/notices", ("Notices", "Delivery", "Document")),
        (f"/notices/{ids['W-1']}", ("Delivery log", "View the document")),
    ):
        resp = admin.get(path)
        assert_clean_page(resp)
        assert '<html lang="en">' in resp.text
        for word in words:
            assert word in resp.text, (path, word)
        assert "添加用户" not in resp.text and "上传并预览" not in resp.text


def test_an_unknown_default_source_is_refused_beside_its_field(county, db) -> None:  # type: ignore[no-untyped-def]
    from tests.test_excel_ledger import messy_workbook

    _, office = county
    resp = _preview(office, messy_workbook(), default_source="rumour")
    assert 'data-field="default_source"' in resp.text and "rumour" in resp.text
    assert 'name="digest"' not in resp.text and _problems(db) == []
    ok = _preview(office, messy_workbook(), default_source="provincial")
    assert 'name="digest"' in ok.text and 'name="default_source" value="provincial"' in ok.text
