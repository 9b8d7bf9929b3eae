"""Accessibility of the main pages: axe-core (from npm, served nowhere) run in Chromium.

No page may have a violation axe rates serious or critical under WCAG 2.1 A and AA. The rules
and their help texts are axe-core's; the report names the page, the rule and the elements.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from urllib.parse import quote

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

pytestmark = pytest.mark.browser
AXE = Path(__file__).resolve().parent.parent / "static" / "node_modules" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


def _axe(page) -> list[dict]:  # type: ignore[no-untyped-def]
    # evaluate() runs through the DevTools protocol, outside the page's CSP: the page itself is
    # served exactly as users get it.
    page.evaluate(AXE.read_text(encoding="utf-8"))
    result = page.evaluate(
        "() => axe.run(document, {runOnly: {type: 'tag', values: "
        "['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}, resultTypes: ['violations']})"
    )
    return [v for v in result["violations"] if v["impact"] in SERIOUS]


def _report(found: dict[str, list[dict]]) -> str:
    lines = []
    for path, violations in found.items():
        for v in violations:
            targets = [", ".join(n["target"]) for n in v["nodes"][:5]]
            lines.append(f"{path}: {v['id']} ({v['impact']}) {v['help']} — {targets}")
    return "\n".join(lines)


def _pages(demo_engine, role: str) -> list[str]:  # type: ignore[no-untyped-def]
    with demo_engine.connect() as conn:
        code = conn.execute(
            text("SELECT code FROM problems WHERE status = 'rectifying' ORDER BY code LIMIT 1")
        ).scalar_one()
    pages = ["/", "/ledger", "/ledger?status=rectifying&sort=days_overdue&order=desc",
             f"/ledger/{code}", "/no-such-page"]  # fmt: skip
    return pages


def test_axe_finds_no_serious_violations_on_the_main_pages(
    browser, demo_server, demo_engine, demo_headers
) -> None:  # type: ignore[no-untyped-def]
    assert AXE.exists(), "axe-core is missing from static/node_modules: run `make test`"
    found: dict[str, list[dict]] = {}
    checked = 0
    for role, lang in (("office", "zh"), ("office", "en"), ("township", "zh")):
        context = browser.new_context(
            viewport={"width": 1366, "height": 768}, extra_http_headers=demo_headers[role]
        )
        context.add_cookies([{"name": "lookback_lang", "value": lang, "url": demo_server.url}])
        page = context.new_page()
        for path in _pages(demo_engine, role):
            page.goto(demo_server.url + path, wait_until="networkidle")
            violations = _axe(page)
            checked += 1
            if violations:
                found[f"{role}/{lang} {path}"] = violations
        context.close()
    anonymous = browser.new_context(viewport={"width": 1366, "height": 768})
    page = anonymous.new_page()
    page.goto(demo_server.url + "/login", wait_until="networkidle")
    if violations := _axe(page):
        found["anonymous /login"] = violations
    anonymous.close()
    assert checked == 15
    assert not found, _report(found)


# -- the queue, admin and evidence pages, on a county with something in each -------------------

TODAY = date(2026, 3, 18)


@pytest.fixture
def filled(db, tmp_path):  # type: ignore[no-untyped-def]
    """Closed W-2, W-3, E-1 in a look-back round; a long-term W-1 with milestones and evidence;
    a complaint near W-2 (a suspected rebound); an overdue E-2 with a notice; served."""
    from gis.access import auth
    from gis.config import Settings
    from gis.ledger import lookbacks
    from gis.ledger import writes as ledger
    from gis.ledger.complaints import ComplaintInput, create_complaint
    from gis.ledger.evidence import add_evidence
    from gis.notices.directory import add_contact
    from gis.notices.rules import ensure_default_rules
    from gis.notices.runner import run_once
    from server.app import create_app
    from tests import evidence_files as files
    from tests.conftest import LiveServer
    from tests.factories import T0, WEST, close, load_two_townships, make_token, new_problem

    settings = Settings(home=tmp_path)
    with Session(db) as s, s.begin():
        load_two_townships(s)
        for code, lon in (("W-2", 113.06), ("W-3", 113.07), ("E-1", 113.15)):
            new_problem(s, code, lon=lon)
            close(s, code)
        new_problem(s, "W-1", lon=113.05, deadline=date(2026, 12, 31), deadline_kind="long_term")
        ledger.transition(s, "W-1", "assign", actor="李主任", now=T0)
        ledger.transition(s, "W-1", "start", actor="张镇长", now=T0)
        for title, due in (("完成截污管网", date(2026, 3, 31)), ("水质达标", date(2026, 6, 30))):
            ledger.add_milestone(s, "W-1", title=title, due_date=due, actor="李主任", now=T0)
        for name, data, kind in (
            ("整改方案.pdf", files.pdf(), "plan"),
            ("整改后.jpg", files.image("JPEG"), "after_photo"),
        ):
            add_evidence(
                s, "W-1", data, filename=name, kind=kind, actor="张镇长",
                attachments_dir=settings.attachments_dir,
            )  # fmt: skip
        new_problem(s, "E-2", lon=113.16, deadline=date(2026, 3, 1))
        rnd, _ = lookbacks.create_round(
            s, name="三月回头看", actor="李主任", criteria=lookbacks.RoundCriteria(),
            due_date=date(2026, 3, 31),
        )  # fmt: skip
        create_complaint(
            s,
            ComplaintInput(
                code="XF-1",
                channel="hotline_12345",
                kind="air",
                category="dust",
                text="工地又起扬尘",
                received_at=datetime(2026, 3, 16, 1, tzinfo=UTC),
                geometry={"type": "Point", "coordinates": [113.0602, 34.05]},
            ),
        )
        # due tomorrow: the home lists it among the complaints to answer
        s.execute(text("UPDATE complaints SET feedback_due = '2026-03-19' WHERE code = 'XF-1'"))
        ensure_default_rules(s)
        add_contact(s, name="督察办", role="office", email="office@county.example")
        for name, role, towns in (("王管理", "admin", None), ("张镇长", "township", [WEST])):
            auth.add_user(s, name=name, role=role, password=None, townships=towns, actor="test")
        round_id = rnd.id
    run_once(db, today=TODAY, deliver=False)
    with db.connect() as conn:
        notice_id = conn.execute(text("SELECT min(id) FROM notices")).scalar_one()
    assert notice_id is not None
    headers = {
        "admin": make_token(db, "admin", name="王管理"),
        "office": make_token(db, "office"),
        "township": make_token(db, "township", [WEST], name="张镇长"),
    }
    app = create_app(engine=db, settings=settings, clock=lambda: TODAY)
    with LiveServer(app) as server:
        yield server, headers, {"round": round_id, "notice": notice_id}


def test_axe_finds_no_serious_violations_on_the_queue_admin_and_evidence_pages(
    browser, filled
) -> None:  # type: ignore[no-untyped-def]
    from tests.screens import screenshot

    server, headers, ids = filled
    office = [
        "/",
        "/lookbacks",
        f"/lookbacks/{ids['round']}",
        "/rebounds",
        "/complaints",
        "/complaints/XF-1",
        "/notices",
        f"/notices/{ids['notice']}",
        "/import",
        "/ledger/W-1",
    ]
    plan = [
        ("office", "zh", office),
        ("office", "en", ["/ledger/W-1", "/complaints/XF-1", f"/lookbacks/{ids['round']}"]),
        ("admin", "zh", ["/admin/users", "/admin/users/" + quote("张镇长")]),
        ("township", "zh", ["/", "/ledger/W-1", f"/lookbacks/{ids['round']}", "/complaints"]),
    ]
    found: dict[str, list[dict]] = {}
    checked = 0
    for role, lang, paths in plan:
        context = browser.new_context(
            viewport={"width": 1366, "height": 768}, extra_http_headers=headers[role]
        )
        context.add_cookies([{"name": "lookback_lang", "value": lang, "url": server.url}])
        page = context.new_page()
        for path in paths:
            response = page.goto(server.url + path, wait_until="networkidle")
            assert response is not None and response.status == 200, path
            if role == "office" and lang == "zh" and path == "/":
                # the home's to-do lists, for the guides
                assert page.locator('[data-testid="todo-lookbacks"] tr[data-round]').count() == 1
                assert page.locator('[data-testid="todo-complaints"] tr').count() >= 1
                screenshot(page, "guide-home-todo.png", full_page=True)
            if role == "office" and lang == "zh" and path == "/notices":
                assert page.locator("tr[data-notice]").count() >= 1
                screenshot(page, "guide-notices.png")
            if path == "/ledger/W-1":
                # the page really shows the evidence and the milestones it is checked with
                assert page.locator("text=整改方案.pdf").count() >= 1
                assert page.locator("text=水质达标").count() >= 1 or lang == "en"
            violations = _axe(page)
            checked += 1
            if violations:
                found[f"{role}/{lang} {path}"] = violations
        context.close()
    assert checked == sum(len(p) for _, _, p in plan)
    assert not found, _report(found)
