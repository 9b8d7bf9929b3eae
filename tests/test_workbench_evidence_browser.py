"""The whole closure procedure in Chromium: the township uploads a plan and an after-photo (a
disguised file is refused beside the field) and applies for closure citing them; the office
records the on-site check and approves with its password; the problem shows closed. 0 external
requests, 0 JS errors."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.access import auth
from gis.config import Settings
from gis.ledger import writes as ledger
from server.app import create_app
from tests import evidence_files as files
from tests.conftest import LiveServer
from tests.factories import WEST, load_two_townships, new_problem
from tests.screens import screenshot
from tests.test_workbench_browser import PASSWORD, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def rectifying(db, tmp_path: Path):  # type: ignore[no-untyped-def]
    """A west problem being rectified, an office user and the west's township user, served."""
    with Session(db) as s, s.begin():
        load_two_townships(s)
        new_problem(s, "W-9", lon=113.05)
        t0 = datetime(2026, 3, 2, 2, tzinfo=UTC)
        ledger.transition(s, "W-9", "assign", actor="李主任", now=t0)
        ledger.transition(s, "W-9", "start", actor="张镇长", now=t0)
        auth.add_user(s, name="李主任", role="office", password=PASSWORD, actor="test")
        auth.add_user(
            s, name="张镇长", role="township", password=PASSWORD, townships=[WEST], actor="test"
        )
    app = create_app(engine=db, settings=Settings(home=tmp_path), clock=lambda: date(2026, 3, 5))
    with LiveServer(app) as server:
        yield server


def _upload(page, kind: str, name: str, data: bytes, mime: str, note: str = "") -> None:  # type: ignore[no-untyped-def]
    form = page.locator('form[data-form="evidence"]')
    form.locator('select[name="kind"]').select_option(kind)
    form.locator('input[type="file"]').set_input_files(
        files=[{"name": name, "mimeType": mime, "buffer": data}]
    )
    form.locator('textarea[name="note"]').fill(note)
    form.locator("button[type=submit]").click()


def _upload_and_reload(page, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
    with page.expect_navigation(url=re.compile(r"done=evidence")):
        _upload(page, *args, **kwargs)
    page.wait_for_load_state("networkidle")


def test_township_uploads_and_applies_office_checks_and_approves(browser, rectifying, db) -> None:  # type: ignore[no-untyped-def]
    server = rectifying
    context, page, watch = sign_in(browser, server, "张镇长")
    page.goto(server.url + "/ledger/W-9", wait_until="networkidle")
    # a program disguised as a PDF is refused beside the file field; the note stays
    _upload(page, "plan", "整改方案.pdf", files.exe(), "application/pdf", note="整改方案初稿")
    error = page.locator('form[data-form="evidence"] [data-field="file"]')
    error.wait_for()
    assert "不支持此文件" in error.inner_text() and "not accepted" in error.inner_text()
    assert page.locator('form[data-form="evidence"] textarea').input_value() == "整改方案初稿"
    # the plan, then the photo after rectification
    _upload_and_reload(page, "plan", "整改方案.pdf", files.pdf(), "application/pdf", note="定稿")
    assert "已上传证据材料" in page.locator(".flash").inner_text()
    _upload_and_reload(page, "after_photo", "整改后.png", files.image("PNG"), "image/png")
    plan = page.locator('.evidence-kind[data-kind="plan"] [data-testid="document"]')
    assert plan.count() == 1 and "整改方案.pdf" in plan.inner_text()
    thumb = page.locator('.evidence-kind[data-kind="after_photo"] img.thumb')
    assert thumb.evaluate("img => img.complete && img.naturalWidth") == 8  # the image loaded
    assert "上传证据材料" in page.locator('[data-testid="event"]').last.inner_text()
    screenshot(page, "workbench-evidence.png", full_page=True)
    # apply for closure citing both documents, listed with their kinds
    apply = page.locator('form[data-action="apply_closure"]')
    apply.locator("label", has_text="整改方案 #").locator("input").check()
    apply.locator("label", has_text="整改后照片 #").locator("input").check()
    apply.locator("textarea").fill("已按方案整改完毕")
    apply.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"done=apply_closure"))
    assert "等待现场核查" in page.locator(".flash").inner_text()
    assert page.locator("span.status").first.inner_text() == "申请销号"
    watch.clean()
    context.close()
    with db.connect() as conn:
        cited = conn.execute(text("SELECT evidence FROM closures")).scalar_one()
        ids = conn.execute(text("SELECT id FROM attachments ORDER BY id")).scalars().all()
    assert cited["attachments"] == ids and len(ids) == 2
    # the office checks on site and approves with its password
    context, page, watch = sign_in(browser, server, "李主任")
    page.goto(server.url + "/ledger/W-9", wait_until="networkidle")
    cited = page.locator('[data-testid="cited"] li')  # the office sees what is cited
    assert cited.count() == 2
    assert "整改方案 #" in cited.nth(0).inner_text() and "整改后照片 #" in cited.nth(1).inner_text()
    check = page.locator('form[data-action="record_check"]')
    check.locator('input[value="yes"]').check()
    check.locator("textarea").fill("现场核查整改到位")
    check.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"done=record_check"))
    approve = page.locator('form[data-action="approve_closure"]')
    approve.locator('input[name="password"]').fill(PASSWORD)
    approve.locator("textarea").fill("同意销号")
    approve.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"done=approve_closure"))
    assert page.locator("span.status").first.inner_text() == "已销号"
    # the documents stay on the closed problem's file, and open
    link = page.locator('.evidence-kind[data-kind="plan"] a', has_text="整改方案.pdf")
    href = link.get_attribute("href")
    got = page.request.get(server.url + href)
    assert got.status == 200 and got.body() == files.pdf()
    assert got.headers["content-disposition"].startswith("attachment;")
    watch.clean()
    context.close()
    with db.connect() as conn:
        status = conn.execute(text("SELECT status FROM problems WHERE code = 'W-9'")).scalar_one()
    assert status == "closed"
