"""The campaign pages over HTTP (督察进驻): campaigns, batches and cases, the transfer-list import
(dry run → confirm), one case's handling, reply and closure, the daily dispatch, the public
disclosure and the assessment with its rules and records — for office, township and viewer,
within scope, each form's success and refusal."""

from __future__ import annotations

import re
from datetime import date

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.campaigns import cases
from gis.config import Settings
from server.app import create_app
from tests.factories import EAST, WEST, load_two_townships, make_token, new_problem
from tests.test_campaigns import BATCH_3, HEADER_A, transfer_list
from tests.test_workbench import assert_clean_page

HTML = {"Accept": "text/html"}
HX = {"HX-Request": "true"}
TODAY = date(2026, 5, 14)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
W1, E2, E3 = "D410000202605060001", "D410000202605060002", "D410000202605060003"


@pytest.fixture
def county(db, tmp_path):  # type: ignore[no-untyped-def]
    """Two townships, one campaign (reply in 5 calendar days), a problem, users by role."""
    with Session(db) as s, s.begin():
        load_two_townships(s)
        new_problem(s, "W-1", lon=113.05)
        campaign = cases.create_campaign(
            s,
            cases.CampaignInput(
                "第三轮省级生态环境保护督察", "provincial", date(2026, 5, 6), date(2026, 6, 5), 5
            ),
        )
        campaign_id = campaign.id
    app = create_app(engine=db, settings=Settings(home=tmp_path), clock=lambda: TODAY)
    tokens = {
        "office": make_token(db, "office"),
        "west": make_token(db, "township", [WEST]),
        "east": make_token(db, "township", [EAST]),
        "viewer": make_token(db, "viewer"),
        "inspector": make_token(db, "inspector", [WEST]),
    }
    clients = {k: TestClient(app, headers={**v, **HTML}) for k, v in tokens.items()}
    return campaign_id, clients


def _import(office: TestClient, campaign_id: int) -> None:
    data = transfer_list("某某省第三批转办件清单（2026年5月6日）", BATCH_3, HEADER_A)
    preview = office.post(
        f"/campaigns/{campaign_id}/import/preview",
        files={"file": ("第三批.xlsx", data, XLSX)},
        headers=HX,
    )
    digest = re.search(r'name="digest" value="([0-9a-f]+)"', preview.text)[1]  # type: ignore[index]
    fp = re.search(r'name="fingerprint" value="([0-9a-f]+)"', preview.text)[1]  # type: ignore[index]
    done = office.post(
        f"/campaigns/{campaign_id}/import/confirm",
        data={"digest": digest, "fingerprint": fp, "batch": "", "received_on": ""},
        headers=HX,
    )
    assert 'data-outcome="imported" data-n="3"' in done.text


def _count(db, sql: str) -> int:  # type: ignore[no-untyped-def]
    with db.connect() as conn:
        return int(conn.execute(text(sql)).scalar_one())


def test_campaigns_listed_and_one_registered_after_a_refusal(county, db) -> None:  # type: ignore[no-untyped-def]
    campaign_id, c = county
    office = c["office"]
    page = office.get("/campaigns")
    assert_clean_page(page)
    assert 'data-total="1"' in page.text and 'data-form="create-campaign"' in page.text
    assert 'aria-current="page" class="current"' in page.text and "督察进驻" in page.text
    # nothing typed but a name that exists and a stay that ends before it starts
    resp = office.post(
        "/campaigns",
        data={"name": "", "level": "provincial", "stationed_from": "2026-06-01",
              "stationed_to": "2026-05-01", "reply_days": "0", "reply_day_kind": "calendar"},
        headers=HX,
    )
    assert resp.status_code == 200
    assert 'data-field="name"' in resp.text and "请填写督察名称" in resp.text
    assert 'data-field="stationed_to"' in resp.text and "ends before it starts" in resp.text
    assert 'data-field="reply_days"' in resp.text
    assert 'value="2026-06-01"' in resp.text  # what was typed is kept
    dup = office.post(
        "/campaigns",
        data={"name": "第三轮省级生态环境保护督察", "level": "central",
              "stationed_from": "2026-06-01", "stationed_to": "2026-06-30", "reply_days": "7",
              "reply_day_kind": "working"},
    )
    assert dup.status_code == 422 and "<html" in dup.text and "已存在" in dup.text
    assert _count(db, "SELECT count(*) FROM campaigns") == 1
    made = office.post(
        "/campaigns",
        data={"name": "第二轮中央生态环境保护督察", "level": "central",
              "stationed_from": "2026-06-01", "stationed_to": "2026-06-30", "reply_days": "7",
              "reply_day_kind": "working"},
        headers=HX,
    )
    new_id = _count(db, "SELECT max(id) FROM campaigns")
    assert made.headers["HX-Redirect"] == f"/campaigns/{new_id}?done=created"
    shown = office.get(f"/campaigns/{new_id}?done=created")
    assert_clean_page(shown)
    assert "已登记督察进驻" in shown.text and "第二轮中央生态环境保护督察" in shown.text
    hostile = office.post(
        "/campaigns",
        data={"name": '<script>alert(1)</script>督察', "level": "municipal",
              "stationed_from": "2026-07-01", "stationed_to": "2026-07-30", "reply_days": "5",
              "reply_day_kind": "calendar"},
        follow_redirects=False,
    )
    assert hostile.status_code == 303
    listed = office.get("/campaigns")
    assert_clean_page(listed)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;督察" in listed.text
    assert f'href="/campaigns/{new_id}/dispatch"' in listed.text
    with db.connect() as conn:
        conn.execute(text("DELETE FROM campaigns WHERE level = 'municipal'"))
        conn.commit()
    # township and viewer see the list without the form, and may not register
    for who in ("west", "viewer"):
        listed = c[who].get("/campaigns")
        assert_clean_page(listed)
        assert 'data-total="2"' in listed.text and 'data-form="create-campaign"' not in listed.text
        assert c[who].post("/campaigns", data={"name": "x"}).status_code == 403
    assert c["office"].get("/campaigns/999").status_code == 404


def test_a_transfer_list_is_previewed_row_by_row_then_confirmed(county, db) -> None:  # type: ignore[no-untyped-def]
    campaign_id, c = county
    office = c["office"]
    url = f"/campaigns/{campaign_id}"
    # not a workbook: the reason beside the field, nothing written
    bad = office.post(
        f"{url}/import/preview", files={"file": ("清单.csv", b"a,b\n", "text/csv")}, headers=HX
    )
    assert bad.status_code == 200 and 'data-field="file"' in bad.text
    assert "只能导入 Excel .xlsx 文件" in bad.text
    not_a_list = office.post(
        f"{url}/import/preview",
        files={"file": ("x.xlsx", transfer_list(None, [[1, 2]], ["a", "b"]), XLSX)},
        headers=HX,
    )
    assert 'data-field="file"' in not_a_list.text and "未找到表头行" in not_a_list.text
    data = transfer_list("某某省第三批转办件清单（2026年5月6日）", BATCH_3, HEADER_A)
    preview = office.post(
        f"{url}/import/preview", files={"file": ("第三批.xlsx", data, XLSX)}, headers=HX
    )
    assert_clean_page(preview)
    assert "转办件导入预览" in preview.text
    assert 'data-outcome="imported" data-n="3"' in preview.text
    assert 'data-outcome="rejected" data-n="3"' in preview.text
    assert re.search(r'data-row="7" data-outcome="rejected"', preview.text)
    assert "北镇" in preview.text and "unknown township" in preview.text
    assert _count(db, "SELECT count(*) FROM campaign_cases") == 0
    digest = re.search(r'name="digest" value="([0-9a-f]+)"', preview.text)[1]  # type: ignore[index]
    fp = re.search(r'name="fingerprint" value="([0-9a-f]+)"', preview.text)[1]  # type: ignore[index]
    # a township may neither preview nor confirm
    assert c["west"].post(f"{url}/import/confirm", data={"digest": digest}).status_code == 403
    # a fingerprint that does not match: the new preview, nothing written
    stale = office.post(
        f"{url}/import/confirm", data={"digest": digest, "fingerprint": "0" * 32}, headers=HX
    )
    assert 'data-field="stale"' in stale.text and "预览后已有变化" in stale.text
    assert _count(db, "SELECT count(*) FROM campaign_cases") == 0
    done = office.post(
        f"{url}/import/confirm", data={"digest": digest, "fingerprint": fp}, headers=HX
    )
    assert_clean_page(done)
    assert "已导入：新增 3 件" in done.text and "转办件导入结果" in done.text
    assert _count(db, "SELECT count(*) FROM campaign_cases") == 3
    # the file was used up: confirming again is refused
    again = office.post(f"{url}/import/confirm", data={"digest": digest, "fingerprint": fp})
    assert again.status_code == 422 and "已不存在" in again.text
    # the campaign page: batch 3 with its cases, overdue for reply (due 05-11, today 05-14)
    page = office.get(url)
    assert_clean_page(page)
    assert 'data-batch="3"' in page.text and 'data-total="3"' in page.text
    assert 'data-n="reply_overdue">3<' in page.text and "逾期 3 天" in page.text
    listed = office.get("/campaigns").text
    assert re.search(r'data-col="cases">3<', listed) and re.search(r'data-col="overdue">', listed)
    # filters: by township, overdue, state; a bad filter is named
    assert 'data-total="2"' in office.get(f"{url}?township={EAST}").text
    assert 'data-total="0"' in office.get(f"{url}?overdue=false").text
    assert 'data-total="3"' in office.get(f"{url}?batch=3&state=received").text
    assert 'data-field="overdue"' in office.get(f"{url}?overdue=maybe").text
    # the west township sees its own case only, counts included
    west = c["west"].get(url)
    assert_clean_page(west)
    assert W1 in west.text and E2 not in west.text and 'data-total="1"' in west.text
    assert 'data-n="cases">1<' in west.text and 'action="/campaigns/' not in west.text.split(
        'id="cases"')[1].split("</section>")[0].replace(f'action="/campaigns/{campaign_id}"', "")
    assert 'data-form="enter-case"' not in west.text
    assert re.search(r'data-col="cases">1<', c["west"].get("/campaigns").text)
    assert 'data-field="township"' in c["west"].get(f"{url}?township={EAST}").text


def test_one_case_entered_handled_replied_and_closed(county, db) -> None:  # type: ignore[no-untyped-def]
    campaign_id, c = county
    office, west = c["office"], c["west"]
    url = f"/campaigns/{campaign_id}"
    refused = office.post(
        f"{url}/cases",
        data={"code": "SD-1", "batch": "4", "text": "砂场扬尘", "township_code": "",
              "received_on": "2026-05-20"},
        headers=HX,
    )
    assert 'data-field="township_code"' in refused.text
    assert 'data-field="received_on"' in refused.text and "in the future" in refused.text
    assert 'value="SD-1"' in refused.text
    assert west.post(f"{url}/cases", data={"code": "x"}).status_code == 403
    made = office.post(
        f"{url}/cases",
        data={"code": "SD-1", "batch": "4", "text": "砂场扬尘，举报人李四电话13912345678",
              "township_code": WEST, "received_on": "2026-05-12", "pollution_type": "大气"},
        headers=HX,
    )
    case_url = f"{url}/cases/SD-1"
    assert made.headers["HX-Redirect"] == f"{case_url}?done=entered"
    dup = office.post(
        f"{url}/cases",
        data={"code": "SD-1", "batch": "4", "text": "again", "township_code": WEST,
              "received_on": "2026-05-12"},
    )
    assert dup.status_code == 422 and 'data-field="code"' in dup.text
    # batch 4 holds a west case only: the east township does not see that it exists
    assert 'data-batch="4"' in office.get(url).text
    assert 'data-batch="4"' not in c["east"].get(url).text
    assert 'option value="4"' not in c["east"].get(url).text
    page = west.get(f"{case_url}?done=entered")
    assert_clean_page(page)
    assert "已登记转办件" in page.text and 'data-state="received"' in page.text
    assert 'data-form="handle"' in page.text and 'data-form="close"' not in page.text
    # out of scope: the east township may neither open nor handle it
    assert c["east"].get(case_url).status_code == 403
    assert c["east"].post(f"{case_url}/handle", data={"finding": "true"}).status_code == 403
    assert c["inspector"].post(f"{case_url}/reply", data={}).status_code == 403
    version = re.search(r'name="version" value="(\d+)"', page.text)[1]  # type: ignore[index]
    # a reply before the finding is refused beside the reply
    early = west.post(
        f"{case_url}/reply", data={"reply_text": "已处理", "version": version}, headers=HX
    )
    assert 'data-field="reply_text"' in early.text and "请先填写核查结论" in early.text
    bad = west.post(
        f"{case_url}/handle",
        data={"version": version, "checked_on": "2026-05-30", "finding": "maybe", "orders": "-1"},
        headers=HX,
    )
    assert 'data-field="checked_on"' in bad.text and 'data-field="finding"' in bad.text
    assert 'data-field="orders"' in bad.text
    ok = west.post(
        f"{case_url}/handle",
        data={"version": version, "checked_on": "2026-05-13", "finding": "partly_true",
              "check_note": "现场核查", "measures": "已责令停产整改",
              "responsible_unit": "西镇人民政府",
              "responsible_person": "王某", "orders": "1", "penalties": "0", "summonses": "1",
              "accountabilities": "0", "result": ""},
        headers=HX,
    )
    assert ok.headers["HX-Redirect"] == f"{case_url}?done=handled#handling"
    # the same old form again is stale
    stale = west.post(
        f"{case_url}/handle", data={"version": version, "finding": "true"}, headers=HX
    )
    assert 'data-field="stale"' in stale.text
    page = west.get(case_url)
    version = re.search(r'name="version" value="(\d+)"', page.text)[1]  # type: ignore[index]
    assert 'data-testid="finding">部分属实<' in page.text
    replied = west.post(
        f"{case_url}/reply", data={"reply_text": "经核查部分属实，已整改。", "version": version},
        headers=HX,
    )
    assert replied.headers["HX-Redirect"] == f"{case_url}?done=replied#reply"
    # the township may not close; the office must tick the box
    assert west.post(f"{case_url}/close", data={}).status_code == 403
    page = office.get(case_url)
    assert 'data-form="close"' in page.text
    version = re.search(r'name="version" value="(\d+)"', page.text)[1]  # type: ignore[index]
    unticked = office.post(f"{case_url}/close", data={"version": version}, headers=HX)
    assert 'data-field="close"' in unticked.text and "请勾选确认办结" in unticked.text
    closed = office.post(
        f"{case_url}/close", data={"version": version, "confirm": "yes"}, headers=HX
    )
    assert closed.headers["HX-Redirect"] == f"{case_url}?done=closed"
    page = office.get(f"{case_url}?done=closed")
    assert_clean_page(page)
    assert 'data-state="closed"' in page.text and 'data-testid="closed"' in page.text
    steps = re.findall(r'data-step="(\w+)"', page.text)
    assert steps == ["received", "handled", "replied", "closed"]
    assert "已责令停产整改" in page.text and 'data-form="reply"' not in page.text
    with db.connect() as conn:
        row = conn.execute(
            text("SELECT finding, orders, summonses, closed_on FROM campaign_cases")
        ).one()
    assert row == ("partly_true", 1, 1, TODAY)
    # the viewer reads the case, without forms
    viewer = c["viewer"].get(case_url)
    assert_clean_page(viewer)
    assert 'data-form="handle"' not in viewer.text and "一案一档" in viewer.text
    assert c["viewer"].get(f"{url}/cases/NOPE").status_code == 404


def test_townships_report_the_day_and_the_office_sees_who_has_not(county, db) -> None:  # type: ignore[no-untyped-def]
    campaign_id, c = county
    _import(c["office"], campaign_id)
    url = f"/campaigns/{campaign_id}/dispatch"
    office = c["office"].get(url)
    assert_clean_page(office)
    assert f'data-township="{WEST}" data-reported="false"' in office.text
    assert f'data-township="{EAST}" data-reported="false"' in office.text
    assert f"/api/campaigns/{campaign_id}/bulletin?day=2026-05-14&amp;format=pdf" in office.text
    west = c["west"].get(url)
    assert_clean_page(west)
    assert 'data-form="dispatch"' in west.text and "东镇" not in west.text.split(
        'id="report"')[0].split('id="not-reported"')[1]
    refused = c["west"].post(
        url, data={"township_code": EAST, "day": "2026-05-15", "progress": ""}, headers=HX
    )
    assert 'data-field="township_code"' in refused.text and 'data-field="day"' in refused.text
    assert 'data-field="progress"' in refused.text
    made = c["west"].post(
        url, data={"township_code": WEST, "day": "2026-05-14", "progress": "今日核查1件"},
        headers=HX,
    )
    assert made.headers["HX-Redirect"] == f"{url}?day=2026-05-14&done=reported"
    page = c["office"].get(f"{url}?day=2026-05-14")
    assert f'data-township="{WEST}" data-reported="true"' in page.text
    assert f'data-township="{EAST}" data-reported="false"' in page.text
    assert "今日核查1件" in page.text
    # the viewer sees the status, without the form; and may not report
    viewer = c["viewer"].get(url)
    assert 'data-form="dispatch"' not in viewer.text
    assert c["viewer"].post(url, data={"township_code": WEST}).status_code == 403
    assert 'data-field="day"' in c["office"].get(f"{url}?day=bad").text
    # the inspector reads the dispatch, without a link to the disclosure it may not open
    inspector = c["inspector"].get(url)
    assert_clean_page(inspector)
    assert "/disclosure" not in inspector.text and 'data-form="dispatch"' not in inspector.text


def test_a_check_counts_on_its_on_site_day_whenever_it_was_entered(county, db) -> None:  # type: ignore[no-untyped-def]
    campaign_id, c = county
    _import(c["office"], campaign_id)
    west = c["west"]
    case_url = f"/campaigns/{campaign_id}/cases/{W1}"
    version = re.search(r'name="version" value="(\d+)"', west.get(case_url).text)[1]  # type: ignore[index]
    # a finding without the day of the on-site check is refused beside the day, nothing written
    undated = west.post(
        f"{case_url}/handle", data={"version": version, "finding": "true", "measures": "已整改"},
        headers=HX,
    )
    assert 'data-field="checked_on"' in undated.text and "请填写现场核查日期" in undated.text
    assert _count(db, "SELECT count(*) FROM campaign_cases WHERE finding IS NOT NULL") == 0
    # checked on site yesterday, entered today: it counts yesterday, not today
    done = west.post(
        f"{case_url}/handle",
        data={"version": version, "checked_on": "2026-05-13", "finding": "true"}, headers=HX,
    )
    assert done.headers["HX-Redirect"] == f"{case_url}?done=handled#handling"
    url = f"/campaigns/{campaign_id}/dispatch"
    west.post(url, data={"township_code": WEST, "day": "2026-05-13", "progress": "今日核查1件"},
              headers=HX)
    yesterday = c["office"].get(f"{url}?day=2026-05-13").text
    row = yesterday.split(f'data-township="{WEST}" data-reported="true"')[1].split("</tr>")[0]
    assert "今日核查1件" in row.split("</td>", 2)[2]  # the records' column, not the text
    today = c["office"].get(f"{url}?day=2026-05-14").text
    assert "今日核查0件" in today.split(f'data-township="{WEST}"')[1].split("</li>")[0]
    api = f"/api/campaigns/{campaign_id}/bulletin"
    monday = c["office"].get(f"{api}?day=2026-05-13", headers={"Accept": "application/json"})
    by_town = {t["code"]: t for t in monday.json()["townships"]}
    assert (by_town[WEST]["checked"], by_town[WEST]["checked_today"]) == (1, 1)
    assert monday.json()["totals"]["checked"] == 1
    earlier = c["office"].get(f"{api}?day=2026-05-12", headers={"Accept": "application/json"})
    assert earlier.json()["totals"]["checked"] == 0
    page = c["office"].get(f"/campaigns/{campaign_id}?state=checked")
    assert W1 in page.text


def test_the_public_list_without_personal_data_and_its_downloads(county, db) -> None:  # type: ignore[no-untyped-def]
    campaign_id, c = county
    _import(c["office"], campaign_id)
    with Session(db) as s, s.begin():
        campaign = cases.get_campaign(s, campaign_id)
        cases.handle_case(s, campaign, E3, {"checked_on": TODAY, "finding": "true",
                                             "measures": "已整改"}, today=TODAY)
        cases.reply_case(s, campaign, E3, "已整改")
    url = f"/campaigns/{campaign_id}/disclosure"
    for who in ("office", "viewer", "east"):
        page = c[who].get(url)
        assert_clean_page(page)
        assert f'data-case="{E3}"' in page.text and "13812345678" not in page.text
        assert f'data-case="{E2}"' not in page.text  # not replied yet
        assert f"/api/campaigns/{campaign_id}/disclosure?format=xlsx" in page.text
    assert 'data-testid="none"' in c["west"].get(url).text  # nothing of west's is published
    assert "batch=3" in c["office"].get(f"{url}?batch=3").text
    assert c["inspector"].get(url).status_code == 403


def test_assessment_scores_rules_and_records(county, db) -> None:  # type: ignore[no-untyped-def]
    _, c = county
    office = c["office"]
    page = office.get("/assessment")
    assert_clean_page(page)
    assert "2026 年第2季度" in page.text and 'data-rank="1"' in page.text
    assert "/api/assessment?year=2026&amp;quarter=2&amp;by=township&amp;format=pdf" in page.text
    assert 'data-form="rules"' in page.text and 'data-form="record"' in page.text
    units = office.get("/assessment?year=2026&quarter=1&by=unit")
    assert "县住建局" in units.text
    assert 'data-field="quarter"' in office.get("/assessment?quarter=5").text
    version = re.search(r'name="version" value="([^"]+)"', page.text)[1]  # type: ignore[index]
    rules = {"base": "100", "overdue_day": "-0.5", "rebound": "-5", "red_warning": "-3",
             "late_reply": "-2", "closed_on_time": "1", "summons": "-5", "accountability": "-10"}
    bad = office.post(
        "/assessment/rules", data={**rules, "summons": "lots", "version": version}, headers=HX
    )
    assert 'data-field="summons"' in bad.text and 'value="lots"' in bad.text
    ok = office.post(
        "/assessment/rules",
        data={**rules, "summons": "-8", "version": version, "year": "2026", "quarter": "2",
              "by": "township"},
        headers=HX,
    )
    target = "/assessment?year=2026&quarter=2&by=township&done=rules#rules"
    assert ok.headers["HX-Redirect"] == target
    stale = office.post("/assessment/rules", data={**rules, "version": version}, headers=HX)
    assert 'data-field="stale"' in stale.text
    with db.connect() as conn:
        assert conn.execute(
            text("SELECT points FROM assessment_rules WHERE item = 'summons'")
        ).scalar_one() == -8
    refused = office.post(
        "/assessment/records",
        data={"kind": "summons", "held_on": "2026-05-20", "person": "", "unit": "西镇人民政府",
              "reason": "反馈超期", "problem_codes": "NOPE"},
        headers=HX,
    )
    assert 'data-field="held_on"' in refused.text and 'data-field="person"' in refused.text
    missing = office.post(
        "/assessment/records",
        data={"kind": "summons", "held_on": "2026-05-13", "person": "张某", "unit": "西镇人民政府",
              "reason": "反馈超期", "problem_codes": "NOPE"},
        headers=HX,
    )
    assert 'data-field="problem_codes"' in missing.text and "NOPE" in missing.text
    made = office.post(
        "/assessment/records",
        data={"kind": "summons", "held_on": "2026-05-13", "person": "张某", "unit": "西镇人民政府",
              "reason": "反馈超期", "problem_codes": "W-1", "year": "2026", "quarter": "2"},
        headers=HX,
    )
    assert made.headers["HX-Redirect"] == "/assessment?year=2026&quarter=2&done=recorded#records"
    page = office.get("/assessment?year=2026&quarter=2")
    assert "张某" in page.text and 'href="/ledger/W-1"' in page.text
    west_row = re.search(rf'data-key="{WEST}"[^>]*data-score="([^"]+)"', page.text)
    assert west_row and float(west_row[1]) < 100
    # the township sees its own row, no forms; unit scores are for county-wide users
    west = c["west"].get("/assessment?year=2026&quarter=2")
    assert_clean_page(west)
    assert f'data-key="{WEST}"' in west.text and f'data-key="{EAST}"' not in west.text
    assert 'data-form="rules"' not in west.text and 'data-form="record"' not in west.text
    assert "仅向全县用户显示" in c["west"].get("/assessment?by=unit").text
    assert c["west"].post("/assessment/rules", data=rules).status_code == 403
    assert c["west"].post("/assessment/records", data={}).status_code == 403
    assert 'data-form="rules"' not in c["viewer"].get("/assessment").text


def test_the_pages_in_the_english_view(county, db) -> None:  # type: ignore[no-untyped-def]
    campaign_id, c = county
    office = c["office"]
    _import(office, campaign_id)
    office.cookies.set("lookback_lang", "en")
    url = f"/campaigns/{campaign_id}"
    pages = {
        "/campaigns": "Inspection campaigns",
        url: "Import a transfer list",
        f"{url}/cases/{W1}": "History (one file per case)",
        f"{url}/dispatch": "Not reported",
        f"{url}/disclosure": "No case to publish yet",
        "/assessment": "Scores and ranking",
    }
    for path, words in pages.items():
        page = office.get(path)
        assert_clean_page(page)
        assert words in page.text, path
        assert "督察进驻" not in page.text.split("</nav>", 2)[-1], path  # no Chinese labels
    refused = office.post(f"{url}/cases/{W1}/reply", data={"reply_text": "", "version": "1"})
    assert refused.status_code == 422 and "the reply needs its text" in refused.text
