"""The campaign pages in Chromium, with 0 external requests and 0 JS errors: the office imports a
batch of transferred cases through its dry-run preview; the west township handles and replies to
its case and reports the day's progress; the office closes the case and sees who has not
reported."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.access import auth
from gis.campaigns import cases
from gis.config import Settings
from gis.ledger.deadlines import local_today
from server.app import create_app
from tests.conftest import LiveServer
from tests.factories import EAST, WEST, load_two_townships
from tests.screens import screenshot
from tests.test_accessibility import _axe, _report
from tests.test_campaigns import BATCH_3, HEADER_A, transfer_list
from tests.test_workbench_browser import PASSWORD, sign_in

pytestmark = pytest.mark.browser
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TODAY = local_today()
RECEIVED = TODAY - timedelta(days=8)  # reply due 5 days later: 3 days overdue today
W1 = "D410000202605060001"
# the third batch of tests.test_campaigns, received eight days ago
ROWS = [[RECEIVED.isoformat() if i == 2 and r[1] else v for i, v in enumerate(r)] for r in BATCH_3]


@pytest.fixture
def county(db, tmp_path):  # type: ignore[no-untyped-def]
    with Session(db) as s, s.begin():
        load_two_townships(s)
        cases.create_campaign(
            s,
            cases.CampaignInput(
                "第三轮省级生态环境保护督察", "provincial", RECEIVED, TODAY + timedelta(days=22), 5
            ),
        )
        auth.add_user(s, name="李主任", role="office", password=PASSWORD, actor="test")
        auth.add_user(
            s, name="西镇干部", role="township", password=PASSWORD, townships=[WEST], actor="test"
        )
    app = create_app(engine=db, settings=Settings(home=tmp_path))
    with LiveServer(app) as server:
        yield server


def test_a_batch_imported_a_case_replied_and_closed_and_a_dispatch(browser, county, db) -> None:  # type: ignore[no-untyped-def]
    # the office imports the third batch through the preview
    context, page, watch = sign_in(browser, county, "李主任")
    page.click("nav.menu >> text=督察进驻")
    page.wait_for_url(county.url + "/campaigns")
    assert page.locator("nav.menu a.current").inner_text().startswith("督察进驻")
    page.click("text=第三轮省级生态环境保护督察")
    page.wait_for_url(re.compile(r"/campaigns/\d+$"))
    page.set_input_files(
        '#import input[name="file"]',
        {
            "name": "第三批.xlsx",
            "mimeType": XLSX,
            "buffer": transfer_list("某某省第三批转办件清单", ROWS, HEADER_A),
        },
    )
    page.click('form[data-action="preview"] button[type=submit]')
    page.locator('form[data-action="confirm"]').wait_for()
    assert page.locator("h1").inner_text() == "转办件导入预览"
    assert page.locator('tr[data-outcome="imported"]').count() == 3
    assert page.locator('tr[data-outcome="rejected"]').count() == 3
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM campaign_cases")).scalar_one() == 0
    screenshot(page, "workbench-campaign-import.png", full_page=True)
    found = {"import preview": _axe(page)}
    page.click('form[data-action="confirm"] button[type=submit]')
    page.locator(".flash").wait_for()
    assert "已导入：新增 3 件" in page.locator(".flash").inner_text()
    page.click('[data-testid="to-campaign"]')
    page.wait_for_url(re.compile(r"/campaigns/\d+$"))
    campaign_url = page.url
    assert page.locator("tr[data-case]").count() == 3
    assert page.locator('tr[data-batch="3"]').count() == 1
    screenshot(page, "workbench-campaign.png", full_page=True)
    found["campaign"] = _axe(page)
    watch.clean()
    context.close()

    # the west township handles its case, replies, and reports the day
    context, page, watch = sign_in(browser, county, "西镇干部")
    page.goto(campaign_url, wait_until="networkidle")
    assert page.locator("tr[data-case]").count() == 1
    page.click(f"text={W1}")
    page.wait_for_url(re.compile(r"/cases/"))
    reply = page.locator('form[data-form="reply"]')
    reply.locator('textarea[name="reply_text"]').fill("经核查情况属实，已整改。")
    reply.locator("button[type=submit]").click()
    error = page.locator('form[data-form="reply"] [data-field="reply_text"]')
    error.wait_for()
    assert "请先填写核查结论" in error.inner_text()
    assert (
        page.locator('form[data-form="reply"] textarea').input_value() == "经核查情况属实，已整改。"
    )
    page.click("#handling details summary")
    form = page.locator('form[data-form="handle"]')
    form.locator('input[name="checked_on"]').fill((TODAY - timedelta(days=1)).isoformat())
    form.locator('input[name="finding"][value="true"]').check()
    form.locator('textarea[name="measures"]').fill("责令砂场停止夜间作业，已拆除设备")
    form.locator('input[name="responsible_unit"]').fill("西镇人民政府")
    form.locator('input[name="responsible_person"]').fill("王某")
    form.locator('input[name="orders"]').fill("1")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"done=handled"))
    assert "已保存办理情况" in page.locator(".flash").inner_text()
    assert page.locator('[data-testid="finding"]').inner_text() == "属实"
    reply = page.locator('form[data-form="reply"]')
    reply.locator('textarea[name="reply_text"]').fill("经核查情况属实，已整改。")
    reply.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"done=replied"))
    assert page.locator('[data-testid="reply"]').inner_text() == "经核查情况属实，已整改。"
    assert page.locator('form[data-form="close"]').count() == 0  # the office closes
    page.goto(campaign_url + "/dispatch", wait_until="networkidle")
    form = page.locator('form[data-form="dispatch"]')
    form.locator('textarea[name="progress"]').fill("今日核查1件、反馈1件")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"done=reported"))
    assert page.locator(f'#reported tr[data-township="{WEST}"]').count() == 1
    screenshot(page, "workbench-campaign-dispatch.png", full_page=True)
    found["dispatch"] = _axe(page)
    watch.clean()
    context.close()

    # the office closes the case and sees that the east township has not reported
    context, page, watch = sign_in(browser, county, "李主任")
    page.goto(f"{campaign_url}/cases/{W1}", wait_until="networkidle")
    form = page.locator('form[data-form="close"]')
    form.locator("button[type=submit]").click()
    page.locator('form[data-form="close"] [data-field="close"]').wait_for()
    page.locator('form[data-form="close"] input[name="confirm"]').check()
    page.locator('form[data-form="close"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"done=closed"))
    assert page.locator('[data-testid="closed"]').count() == 1
    steps = page.locator("#history li").evaluate_all("els => els.map(e => e.dataset.step)")
    assert steps == ["received", "handled", "replied", "closed"]
    screenshot(page, "workbench-campaign-case.png", full_page=True)
    found["case"] = _axe(page)
    page.goto(campaign_url + "/dispatch", wait_until="networkidle")
    assert page.locator(f'#not-reported li[data-township="{EAST}"]').count() == 1
    assert page.locator(f'#reported tr[data-township="{WEST}"]').count() == 1
    page.click("nav.menu >> text=考核")
    page.wait_for_url(county.url + "/assessment")
    assert page.locator("#scores tr[data-rank]").count() == 2
    screenshot(page, "workbench-campaign-assessment.png", full_page=True)
    found["assessment"] = _axe(page)
    page.goto(campaign_url + "/disclosure", wait_until="networkidle")
    assert page.locator(f'tr[data-case="{W1}"]').count() == 1
    found["disclosure"] = _axe(page)
    page.goto(county.url + "/campaigns", wait_until="networkidle")
    found["campaigns"] = _axe(page)
    found = {k: v for k, v in found.items() if v}
    assert not found, _report(found)
    watch.clean()
    context.close()
    with db.connect() as conn:
        closed = conn.execute(
            text("SELECT count(*) FROM campaign_cases WHERE closed_on IS NOT NULL")
        ).scalar_one()
    assert closed == 1
