"""The queue pages in Chromium: an office user creates a look-back round, records one problem
found again (it rebounds and is reopened with a new deadline) and confirms a suspected rebound
from the queue with its small map — with 0 external requests and 0 JS errors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.access import auth
from gis.config import Settings
from gis.ledger.complaints import ComplaintInput, create_complaint
from gis.ledger.deadlines import local_today
from server.app import create_app
from tests.conftest import LiveServer
from tests.factories import WEST, close, load_two_townships, new_problem
from tests.screens import screenshot
from tests.test_workbench_browser import PASSWORD, sign_in
from tests.test_workbench_queues import _png

pytestmark = pytest.mark.browser
LATER = (local_today() + timedelta(days=45)).isoformat()


@pytest.fixture
def county(db, tmp_path):  # type: ignore[no-untyped-def]
    """Closed problems W-1, W-2 (west) and E-1 (east); a complaint ~92 m from E-1."""
    with Session(db) as s, s.begin():
        load_two_townships(s)
        for code, lon in (("W-1", 113.05), ("W-2", 113.06), ("E-1", 113.15)):
            new_problem(s, code, lon=lon)
            close(s, code)
        create_complaint(
            s,
            ComplaintInput(
                code="XF-E",
                channel="hotline_12345",
                kind="air",
                category="dust",
                text="工地又起扬尘",
                received_at=datetime(2026, 3, 20, 1, tzinfo=UTC),
                geometry={"type": "Point", "coordinates": [113.151, 34.05]},
            ),
        )
        auth.add_user(s, name="李主任", role="office", password=PASSWORD, actor="test")
    app = create_app(engine=db, settings=Settings(home=tmp_path))
    with LiveServer(app) as server:
        yield server


def test_lookback_round_to_rebound_and_a_confirmed_suspect(browser, county, db) -> None:  # type: ignore[no-untyped-def]
    context, page, watch = sign_in(browser, county, "李主任")
    page.click("nav.menu >> text=回头看")
    page.wait_for_url(re.compile(r"/lookbacks$"))
    assert page.locator("nav.menu a.current").inner_text().startswith("回头看")
    form = page.locator('form[data-form="create-round"]')
    # a sample without its size: refused beside the field, the name kept
    form.locator('input[name="name"]').fill("2026年西镇回头看")
    form.locator(f'input[name="townships"][value="{WEST}"]').check()
    form.locator('input[name="mode"][value="sample"]').check()
    form.locator("button[type=submit]").click()
    error = page.locator('form[data-form="create-round"] [data-field="sample"]')
    error.wait_for()
    assert "抽查数量" in error.inner_text()
    form = page.locator('form[data-form="create-round"]')
    assert form.locator('input[name="name"]').input_value() == "2026年西镇回头看"
    form.locator('input[name="sample"]').fill("5")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"/lookbacks/\d+\?done=created"))
    assert "已创建回头看轮次" in page.locator(".flash").inner_text()
    assert page.locator("tr[data-task]").count() == 2  # W-1 and W-2, nothing from the east
    row = page.locator("tr[data-task]", has_text="W-1")
    row.locator('input[name="found_again"][value="yes"]').check()
    row.locator("button[type=submit]").click()
    row.locator('[data-field="new_deadline"]').wait_for()  # found again needs a deadline
    row = page.locator("tr[data-task]", has_text="W-1")
    row.locator('input[name="new_deadline"]').fill(LATER)
    row.locator('textarea[name="note"]').fill("原址再次堆放渣土")
    row.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"done=rebounded"))
    assert "问题反弹" in page.locator(".flash").inner_text()
    assert page.locator('[data-testid="rebounded"]').inner_text() == "1"
    row = page.locator("tr[data-task]", has_text="W-1")
    assert row.get_attribute("data-result") == "rebounded"
    assert row.locator("span.status").inner_text() == "整改中"  # reopened
    assert "2026-03-02" in row.inner_text()  # still shows when it had been closed
    screenshot(page, "workbench-lookback.png", full_page=True)
    page.click("text=← 返回回头看")
    assert page.locator('tr[data-round] [data-testid="rebounded"]').inner_text() == "1"
    screenshot(page, "workbench-lookbacks.png", full_page=True)
    # the suspected rebound near E-1: both points on the small map, then confirm it
    page.click("nav.menu >> text=疑似反弹")
    page.wait_for_url(re.compile(r"/rebounds$"))
    card = page.locator("section.suspect")
    assert card.count() == 1 and "E-1" in card.inner_text() and "XF-E" in card.inner_text()
    assert re.search(r"相距 \d+ 米", card.inner_text()) and "销号后第 18 天" in card.inner_text()
    page.wait_for_function("document.querySelectorAll('.minimap .leaflet-interactive').length >= 3")
    assert card.locator(".leaflet-tooltip").count() == 2
    screenshot(page, "workbench-rebounds.png", full_page=True)
    confirm = card.locator('form[data-form^="confirm-"]')
    confirm.locator('textarea[name="reason"]').fill("现场核实扬尘复现")
    confirm.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"done=confirmed"))
    assert "已认定反弹" in page.locator(".flash").inner_text()
    assert page.locator("section.suspect").count() == 0
    with db.connect() as conn:
        statuses = dict(conn.execute(text("SELECT code, status FROM problems")).all())
    assert statuses == {"W-1": "rectifying", "W-2": "closed", "E-1": "rebounded"}
    watch.clean()
    context.close()


def test_a_complaint_case_from_reply_to_follow_up(browser, county, db) -> None:  # type: ignore[no-untyped-def]
    context, page, watch = sign_in(browser, county, "李主任")
    page.click("nav.menu >> text=信访")
    page.wait_for_url(re.compile(r"/complaints$"))
    row = page.locator('tr[data-complaint="XF-E"]')
    assert row.locator("[data-colour]").get_attribute("data-colour") == "red"  # long overdue
    screenshot(page, "workbench-complaints.png")
    row.locator("a").first.click()
    page.wait_for_url(re.compile(r"/complaints/XF-E$"))
    assert page.locator('[data-testid="complaint-text"]').inner_text() == "工地又起扬尘"
    # concluding before a reply is refused beside the form; then reply, conclude, call back
    assert page.locator('form[data-action="conclusion"]').count() == 0
    reply = page.locator('form[data-action="reply"]')
    reply.locator("button[type=submit]").click()
    page.locator('form[data-action="reply"] [data-field="text"]').wait_for()
    page.locator('form[data-action="reply"] textarea').fill("已责令工地覆盖裸土并洒水降尘")
    page.locator('form[data-action="reply"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"done=reply"))
    assert page.locator('[data-testid="reply"]').inner_text() == "已责令工地覆盖裸土并洒水降尘"
    assert page.locator("[data-colour]").first.get_attribute("data-colour") == "none"
    page.locator('form[data-action="conclusion"] textarea').fill("经核查问题属实，已整改到位")
    page.locator('form[data-action="conclusion"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"done=conclusion"))
    follow = page.locator('form[data-action="follow_up"]')
    follow.locator('input[value="satisfied"]').check()
    follow.locator("textarea").fill("电话回访，信访人满意")
    follow.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"done=follow_up"))
    assert page.locator('[data-testid="case-status"]').inner_text() == "已办结"
    assert page.locator("li[data-step]").count() == 3
    # a photo for the file, sent by htmx as multipart with the CSRF token
    attach = page.locator('form[data-action="attach"]')
    attach.locator('input[type="file"]').set_input_files(
        files=[{"name": "现场照片.png", "mimeType": "image/png", "buffer": _png()}]
    )
    attach.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"done=attach"))
    assert "现场照片.png" in page.locator("#attachments").inner_text()
    screenshot(page, "workbench-complaint.png", full_page=True)
    with db.connect() as conn:
        kinds = conn.execute(text("SELECT kind FROM complaint_steps ORDER BY id")).scalars().all()
        files = conn.execute(text("SELECT count(*) FROM attachments")).scalar_one()
    assert kinds == ["reply", "conclusion", "follow_up"] and files == 1
    # a tablet, upright: the queue pages fit without sideways scrolling
    page.set_viewport_size({"width": 820, "height": 1180})
    for path in ("/lookbacks", "/rebounds", "/complaints", "/complaints/XF-E"):
        page.goto(county.url + path, wait_until="networkidle")
        assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"), path
    watch.clean()
    context.close()
