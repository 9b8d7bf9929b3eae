"""The admin and import pages in Chromium, with 0 external requests and 0 JS errors: an
administrator adds a township user who then sees only that township; an Excel ledger is
imported through its dry-run preview; the notices page opens."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.access import auth
from gis.config import Settings
from server.app import create_app
from tests.conftest import LiveServer
from tests.factories import WEST, load_two_townships, new_problem
from tests.screens import screenshot
from tests.test_workbench_browser import PASSWORD, sign_in

pytestmark = pytest.mark.browser
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@pytest.fixture
def county(db, tmp_path):  # type: ignore[no-untyped-def]
    with Session(db) as s, s.begin():
        load_two_townships(s)
        new_problem(s, "W-1", lon=113.05)
        new_problem(s, "E-1", lon=113.15)
        auth.add_user(s, name="管理员", role="admin", password=PASSWORD, actor="test")
    app = create_app(engine=db, settings=Settings(home=tmp_path), clock=lambda: date(2026, 3, 5))
    with LiveServer(app) as server:
        yield server


def test_admin_adds_a_township_user_who_sees_only_their_township(browser, county, db) -> None:  # type: ignore[no-untyped-def]
    context, page, watch = sign_in(browser, county, "管理员")
    page.click("nav.menu >> text=用户")
    page.wait_for_url(county.url + "/admin/users")
    assert page.locator("nav.menu a.current").inner_text().startswith("用户")
    form = page.locator('form[data-action="add-user"]')
    form.locator('input[name="name"]').fill("西镇干部")
    form.locator('select[name="role"]').select_option("township")
    form.locator(f'input[name="townships"][value="{WEST}"]').check()
    form.locator('input[name="password"]').fill("password123")  # too common: refused
    form.locator("button[type=submit]").click()
    error = page.locator('form[data-action="add-user"] [data-field="password"]')
    error.wait_for()
    assert "密码" in error.inner_text() and "password" in error.inner_text()
    form = page.locator('form[data-action="add-user"]')
    assert form.locator('input[name="name"]').input_value() == "西镇干部"
    assert form.locator(f'input[name="townships"][value="{WEST}"]').is_checked()
    form.locator('input[name="password"]').fill(PASSWORD)
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/admin/users/.+\?done=added"))
    assert "已添加用户" in page.locator(".flash").inner_text()
    assert "西镇" in page.locator("header.user-head").inner_text()
    screenshot(page, "workbench-user.png", full_page=True)
    page.goto(county.url + "/admin/users", wait_until="networkidle")
    assert page.locator('tr[data-user="西镇干部"]').count() == 1
    screenshot(page, "workbench-users.png", full_page=True)
    watch.clean()
    context.close()
    # the new user signs in and the ledger shows their township only
    context, page, watch = sign_in(browser, county, "西镇干部")
    assert "西镇" in page.locator('[data-testid="who"]').inner_text()
    assert page.locator('nav.menu a[href="/admin/users"]').count() == 0
    page.goto(county.url + "/ledger", wait_until="networkidle")
    codes = page.locator("#ledger-results tbody td:first-child").all_inner_texts()
    assert codes == ["W-1"]
    page.goto(county.url + "/notices", wait_until="networkidle")
    assert page.locator('[data-testid="count"]').get_attribute("data-total") == "0"
    watch.clean()
    context.close()
    with db.connect() as conn:
        row = conn.execute(
            text("SELECT role, townships FROM users WHERE name = '西镇干部'")
        ).first()
    assert row.role == "township" and row.townships == [WEST]


def test_import_an_excel_ledger_through_the_preview(browser, county, db) -> None:  # type: ignore[no-untyped-def]
    from tests.test_excel_ledger import IMPORTED, messy_workbook

    context, page, watch = sign_in(browser, county, "管理员")
    page.click("nav.menu >> text=导入导出")
    page.wait_for_url(county.url + "/import")
    # a file that is not a workbook: the reason beside the field, nothing written
    page.set_input_files(
        'input[name="file"]', {"name": "台账.csv", "mimeType": "text/csv", "buffer": b"a,b\n"}
    )
    page.click('form[data-action="preview"] button[type=submit]')
    error = page.locator('[data-field="file"]')
    error.wait_for()
    assert "只能导入 Excel .xlsx 文件" in error.inner_text() and "only Excel" in error.inner_text()
    # over the limit: refused before it is sent
    posts: list[str] = []
    page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
    page.set_input_files(
        'input[name="file"]',
        {"name": "大台账.xlsx", "mimeType": XLSX, "buffer": b"PK" + b"\0" * 10_000_100},
    )
    page.click('form[data-action="preview"] button[type=submit]')
    too_big = page.locator("[data-client-error]")
    too_big.wait_for()
    page.wait_for_function("document.querySelector('[data-client-error]').textContent != ''")
    assert "文件过大" in too_big.inner_text() and "10 MB" in too_big.inner_text()
    assert posts == []
    page.set_input_files(
        'input[name="file"]',
        {"name": "反馈问题台账.xlsx", "mimeType": XLSX, "buffer": messy_workbook()},
    )
    page.click('form[data-action="preview"] button[type=submit]')
    page.locator('form[data-action="confirm"]').wait_for()
    assert page.locator("h1").inner_text() == "导入预览"
    rows = page.locator("table.import-report tbody tr")
    assert rows.count() == 23
    rejected = page.locator('tr[data-outcome="rejected"]')
    assert rejected.count() == 5
    assert "unknown township" in page.locator('tr[data-row="14"]').inner_text()
    imported = page.locator('[data-testid="summary"] [data-outcome="imported"]')
    assert imported.get_attribute("data-n") == str(len(IMPORTED))
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM problems")).scalar_one() == 2
    screenshot(page, "workbench-import.png", full_page=True)
    page.click('form[data-action="confirm"] button[type=submit]')
    page.locator("h1", has_text="导入结果").wait_for()
    assert f"新增 {len(IMPORTED)} 条" in page.locator(".flash").inner_text()
    with db.connect() as conn:
        codes = conn.execute(text("SELECT code FROM problems ORDER BY code")).scalars().all()
    assert codes == sorted(["E-1", "W-1", *IMPORTED])
    page.click(f'a[href="/ledger/{IMPORTED[0]}"]')
    page.wait_for_url(county.url + f"/ledger/{IMPORTED[0]}")
    watch.clean()
    context.close()
