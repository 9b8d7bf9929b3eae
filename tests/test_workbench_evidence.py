"""The problem page's evidence documents and milestones over HTTP: the upload form stores or
refuses beside the field, documents are listed by kind and offered to a closure application,
milestones are added by the office and reported met by townships, confirmed by the office."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.config import Settings
from gis.ledger import evidence as docs
from gis.ledger import writes as ledger
from server.app import create_app
from tests import evidence_files as files
from tests.factories import EAST, WEST, load_two_townships, make_token, new_problem
from tests.test_workbench import assert_clean_page

HTML = {"Accept": "text/html"}
HX = {**HTML, "HX-Request": "true"}
LATER = "2027-06-30"  # milestone dates are checked against the real clock too


@pytest.fixture
def towns(db, tmp_path: Path):  # type: ignore[no-untyped-def]
    with Session(db) as s, s.begin():
        load_two_townships(s)
        new_problem(s, "W-1", lon=113.05)
        new_problem(s, "L-1", lon=113.06, deadline_kind="long_term", deadline=None)
        new_problem(s, "E-1", lon=113.15)
    app = create_app(engine=db, settings=Settings(home=tmp_path), clock=lambda: date(2026, 3, 5))
    return app, {
        "office": make_token(db, "office", name="李主任"),
        "west": make_token(db, "township", [WEST], name="张镇长"),
        "east": make_token(db, "township", [EAST], name="东镇干部"),
        "viewer": make_token(db, "viewer"),
        "inspector": make_token(db, "inspector", [WEST]),
    }


def client(app, token, headers=HX) -> TestClient:  # type: ignore[no-untyped-def]
    return TestClient(app, headers={**token, **headers})


def version_of(html: str) -> str:
    return re.search(r'name="version" value="([^"]+)"', html).group(1)


def send(c: TestClient, code: str, data: bytes, name: str, kind: str, note: str = "", version=None):  # type: ignore[no-untyped-def]
    if version is None:
        version = version_of(c.get(f"/ledger/{code}").text)
    return c.post(
        f"/ledger/{code}/evidence",
        files={"file": (name, data, "application/octet-stream")},
        data={"kind": kind, "note": note, "version": version},
    )


def test_the_page_lists_every_kind_and_offers_the_form_to_who_may_upload(towns) -> None:  # type: ignore[no-untyped-def]
    app, tokens = towns
    for who, can in (("office", True), ("west", True), ("viewer", False), ("inspector", False)):
        resp = client(app, tokens[who], HTML).get("/ledger/W-1")
        assert_clean_page(resp)
        html = resp.text
        kinds = re.findall(r'class="evidence-kind" data-kind="(\w+)"', html)
        assert kinds == list(docs.KINDS), who
        for zh, _ in docs.KIND_LABELS.values():
            assert zh in html
        assert ('data-form="evidence"' in html) == can, who
        assert 'href="/static/workbench/evidence.css"' in html


def test_an_upload_is_listed_by_kind_with_a_thumbnail_or_a_link(towns, db) -> None:  # type: ignore[no-untyped-def]
    app, tokens = towns
    west = client(app, tokens["west"])
    resp = send(west, "W-1", files.pdf(), "整改方案.pdf", "plan", note="第一稿")
    assert resp.status_code == 200, resp.text[:300]
    assert resp.headers["hx-redirect"] == "/ledger/W-1?done=evidence"
    assert send(west, "W-1", files.image("PNG"), "后.png", "after_photo").status_code == 200
    with db.connect() as conn:
        rows = conn.execute(
            text("SELECT id, kind FROM attachments ORDER BY id")
        ).all()
    (plan_id, _), (photo_id, _) = rows
    page = client(app, tokens["west"], HTML).get("/ledger/W-1?done=evidence")
    assert_clean_page(page)
    html = page.text
    assert "已上传证据材料" in html
    plan_block = html.split('data-kind="plan"')[1].split('class="evidence-kind"')[0]
    assert "整改方案.pdf" in plan_block and "第一稿" in plan_block
    assert f'href="/api/problems/W-1/evidence/{plan_id}/file"' in plan_block
    assert "<img" not in plan_block  # a document is a link, not a picture
    after_block = html.split('data-kind="after_photo"')[1].split('class="evidence-kind"')[0]
    assert f'<img class="thumb" src="/api/problems/W-1/evidence/{photo_id}/file"' in after_block
    history = html.split('id="history"')[1]
    assert "上传证据材料" in history and "张镇长" in history and "第一稿" in history
    assert f"证据材料: — → 整改方案 #{plan_id} 整改方案.pdf" in history
    # the thumbnail's URL serves the image to the page's user
    got = client(app, tokens["west"], {}).get(f"/api/problems/W-1/evidence/{photo_id}/file")
    assert got.status_code == 200 and got.content == files.image("PNG")


def test_a_refused_upload_says_why_beside_the_field_and_keeps_what_was_typed(towns, db) -> None:  # type: ignore[no-untyped-def]
    app, tokens = towns
    west = client(app, tokens["west"])
    resp = send(west, "W-1", files.exe(), "整改方案.pdf", "acceptance", note="验收报告扫描件")
    assert resp.status_code == 200
    html = resp.text
    assert html.lstrip().startswith("<form") and 'data-form="evidence"' in html  # in place
    error = re.search(r'data-field="file">([^<]+)<', html).group(1)
    assert "不支持此文件" in error and "not accepted" in error
    assert '<option value="acceptance" selected>' in html
    assert "验收报告扫描件" in html
    # without htmx: the whole page, 422, the reason beside the field
    plain = client(app, tokens["west"], HTML)
    full = send(plain, "W-1", files.exe(), "a.pdf", "plan")
    assert full.status_code == 422 and "<nav" in full.text and 'data-field="file"' in full.text
    # over the limit
    app.state.evidence_settings = docs.EvidenceSettings(max_mb=1)
    big = send(west, "W-1", files.pdf() + b"%" * 1_000_001, "big.pdf", "plan")
    assert big.status_code == 200 and "超过上限" in big.text and "over the limit" in big.text
    assert "1 MB" in big.text  # the form states the limit
    # no kind chosen; a photo kind given a document
    nokind = send(west, "W-1", files.pdf(), "a.pdf", "")
    assert 'data-field="kind"' in nokind.text and "请选择材料类别" in nokind.text
    photo = send(west, "W-1", files.pdf(), "a.pdf", "before_photo")
    assert 'data-field="file"' in photo.text and "须为图像" in photo.text
    # a form older than the problem's last change is refused
    old = version_of(west.get("/ledger/W-1").text)
    with Session(db) as s, s.begin():
        ledger.update_problem(s, "W-1", {"progress": "已清理"}, actor="李主任")
    stale = send(west, "W-1", files.pdf(), "a.pdf", "plan", version=old)
    assert 'data-field="stale"' in stale.text and "已被他人更新" in stale.text
    with db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM attachments")).scalar_one() == 0


def test_other_townships_and_readers_may_not_upload(towns) -> None:  # type: ignore[no-untyped-def]
    app, tokens = towns
    version = version_of(client(app, tokens["office"]).get("/ledger/W-1").text)
    east = send(client(app, tokens["east"]), "W-1", files.pdf(), "a.pdf", "plan", version=version)
    assert east.status_code == 403
    viewer = send(client(app, tokens["viewer"]), "W-1", files.pdf(), "a.pdf", "plan",
                  version=version)
    assert viewer.status_code == 403


def test_the_closure_form_offers_the_documents_with_their_kind(towns) -> None:  # type: ignore[no-untyped-def]
    app, tokens = towns
    office = client(app, tokens["office"], {})
    office.post("/api/problems/W-1/transitions", json={"action": "assign"})
    west = client(app, tokens["west"])
    west.post(
        "/ledger/W-1/actions/start", data={"version": version_of(west.get("/ledger/W-1").text)}
    )
    send(west, "W-1", files.docx(), "方案.docx", "plan")
    send(west, "W-1", files.image("JPEG"), "现场.jpg", "after_photo")
    items = client(app, tokens["west"], {}).get("/api/problems/W-1/evidence").json()["items"]
    ids = {i["kind"]: i["id"] for i in items}
    page = west.get("/ledger/W-1").text
    form = page.split('data-action="apply_closure"')[1].split("</form>")[0]
    assert f'value="{ids["plan"]}"> 整改方案 #{ids["plan"]} 方案.docx' in form
    assert f'value="{ids["after_photo"]}"> 整改后照片 #{ids["after_photo"]} 现场.jpg' in form
    resp = west.post(
        "/ledger/W-1/actions/apply_closure",
        data={"version": version_of(page), "attachment_ids": [ids["plan"], ids["after_photo"]]},
    )
    assert resp.headers["hx-redirect"] == "/ledger/W-1?done=apply_closure"
    # the office sees which documents the application cites, with their kind, as links
    shown = client(app, tokens["office"], HTML).get("/ledger/W-1").text
    cited = shown.split('data-testid="cited"')[1].split("</ul>")[0]
    plan_href = f'href="/api/problems/W-1/evidence/{ids["plan"]}/file"'
    assert f'整改方案 #{ids["plan"]} · <a {plan_href}' in cited
    assert f'整改后照片 #{ids["after_photo"]}' in cited


def test_milestones_added_by_the_office_claimed_by_the_township_confirmed(towns, db) -> None:  # type: ignore[no-untyped-def]
    app, tokens = towns
    office = client(app, tokens["office"])
    west = client(app, tokens["west"])
    assert 'data-form="milestone-add"' not in office.get("/ledger/W-1").text  # not long-term
    assert "非长期坚持类问题" in office.get("/ledger/W-1").text
    page = office.get("/ledger/L-1").text
    assert 'data-form="milestone-add"' in page
    assert 'data-form="milestone-add"' not in west.get("/ledger/L-1").text
    # refused beside the field, the title kept
    bad = office.post(
        "/ledger/L-1/milestones",
        data={"version": version_of(page), "title": "完成截污管网一期", "due_date": "2026-01-01"},
    )
    assert bad.status_code == 200 and 'data-field="due_date"' in bad.text
    assert "不能早于今天" in bad.text and "in the past" in bad.text
    assert 'value="完成截污管网一期"' in bad.text
    ok = office.post(
        "/ledger/L-1/milestones",
        data={"version": version_of(page), "title": "完成截污管网一期", "due_date": LATER},
    )
    assert ok.headers["hx-redirect"] == "/ledger/L-1?done=milestone_added"
    # a township may not add one, even to its own problem
    denied = west.post(
        "/ledger/L-1/milestones",
        data={"version": version_of(west.get("/ledger/L-1").text), "title": "x",
              "due_date": LATER},
    )
    assert denied.status_code == 403
    page = west.get("/ledger/L-1?done=milestone_added").text
    row = re.search(r'<tr data-testid="milestone" data-state="(\w+)">(.*?)</tr>', page, re.S)
    assert row.group(1) == "pending"
    assert "完成截污管网一期" in row.group(2) and LATER in row.group(2)
    mid = int(re.search(r'data-milestone="(\d+)"', page).group(1))
    assert "报告完成（待督察办确认）" in row.group(2)
    # a date in the future is refused; then the township's report is a claim
    future = west.post(
        f"/ledger/L-1/milestones/{mid}/met",
        data={"version": version_of(page), "met_on": "2026-03-06"},
    )
    assert 'data-field="met_on"' in future.text and "不能晚于今天" in future.text
    claim = west.post(
        f"/ledger/L-1/milestones/{mid}/met",
        data={"version": version_of(page), "met_on": "2026-03-04", "note": "一期已完工"},
    )
    assert claim.headers["hx-redirect"] == "/ledger/L-1?done=milestone_claimed"
    page = west.get("/ledger/L-1?done=milestone_claimed").text
    assert "等待督察办确认" in page
    assert re.search(r'data-testid="milestone" data-state="claimed"', page)
    assert f'data-milestone="{mid}"' not in page  # nothing more for the township to do
    # the office confirms it
    page = office.get("/ledger/L-1").text
    assert "确认完成" in page and 'value="2026-03-04"' in page
    done = office.post(
        f"/ledger/L-1/milestones/{mid}/met",
        data={"version": version_of(page), "met_on": "2026-03-04"},
    )
    assert done.headers["hx-redirect"] == "/ledger/L-1?done=milestone_met"
    page = office.get("/ledger/L-1").text
    assert re.search(r'data-testid="milestone" data-state="met"', page)
    history = page.split('id="history"')[1]
    assert "新增阶段性目标" in history and "报告阶段性目标完成" in history
    assert "阶段性目标完成" in history
    with db.connect() as conn:
        met = conn.execute(text("SELECT met_on, claimed_by FROM milestones")).one()
    assert met.met_on == date(2026, 3, 4) and met.claimed_by == "张镇长"
    # a milestone asked for under another problem's code is not found
    other = office.post(
        f"/ledger/W-1/milestones/{mid}/met",
        data={"version": version_of(office.get("/ledger/W-1").text), "met_on": "2026-03-04"},
    )
    assert other.status_code == 404
    east = client(app, tokens["east"]).post(
        f"/ledger/L-1/milestones/{mid}/met", data={"version": "x", "met_on": "2026-03-04"}
    )
    assert east.status_code == 403


def test_hostile_names_and_notes_stay_text(towns) -> None:  # type: ignore[no-untyped-def]
    app, tokens = towns
    west = client(app, tokens["west"])
    hostile = '<script>alert(1)</script>"><img src=x onerror=alert(1)>'
    resp = send(west, "W-1", files.image("PNG"), hostile + ".png", "before_photo", note=hostile)
    assert resp.status_code == 200 and "hx-redirect" in resp.headers
    page = client(app, tokens["west"], HTML).get("/ledger/W-1")
    assert_clean_page(page)
    assert "<script>alert(1)" not in page.text and "<img src=x" not in page.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    item = client(app, tokens["west"], {}).get("/api/problems/W-1/evidence").json()["items"][0]
    got = client(app, tokens["west"], {}).get(item["url"])
    assert got.status_code == 200 and "<" not in got.headers["content-disposition"]
    assert got.headers["content-security-policy"] == "default-src 'none'; sandbox"


def test_the_sections_speak_english_in_the_en_view(towns) -> None:  # type: ignore[no-untyped-def]
    app, tokens = towns
    office = client(app, tokens["office"], HTML)
    office.cookies.set("lookback_lang", "en")
    html = office.get("/ledger/L-1").text
    evidence = html.split('id="evidence"')[1].split('id="history"')[0]
    for _, en in docs.KIND_LABELS.values():
        assert en in evidence
    assert "Upload evidence" in evidence and "整改前照片" not in evidence
    milestones = html.split('id="milestones"')[1].split("</section>")[0]
    assert "Add a milestone" in milestones and "阶段性目标" not in milestones
