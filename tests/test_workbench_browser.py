"""The workbench in Chromium: every page by the roles that see it, with 0 external requests and
0 JS errors; an office user assigns a problem and approves a closure; a township user is kept
out of another township's problem; hostile text stays text."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from urllib.parse import urlparse

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.access import auth
from gis.config import Settings
from gis.ledger import writes as ledger
from server.app import create_app
from tests.conftest import LiveServer
from tests.factories import EAST, WEST, add_inspection, load_two_townships, new_problem
from tests.screens import screenshot

pytestmark = pytest.mark.browser
PASSWORD = "river-sand-dispatch-42"
HOSTILE = '<script>alert(1)</script> "><img src=x onerror=alert(1)>'


class Watch:
    """A page's JS errors, console errors, dialogs and the hosts it asked for."""

    def __init__(self, page) -> None:  # type: ignore[no-untyped-def]
        self.errors: list[str] = []
        self.hosts: set[str] = set()
        self.dialogs: list[str] = []
        self.failed: list[str] = []  # responses of 400 and more that Chromium reports
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", self._console)
        page.on("request", lambda req: self.hosts.add(urlparse(req.url).hostname or req.url))
        page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def _console(self, msg) -> None:  # type: ignore[no-untyped-def]
        if msg.type != "error":
            return
        # Chromium's and htmx's reports of a response status (not script errors)
        if msg.text.startswith(
            ("Failed to load resource: the server responded", "Response Status Error Code")
        ):
            self.failed.append(msg.text)
        else:
            self.errors.append(msg.text)

    def clean(self, expected_failures: int = 0) -> None:
        assert self.errors == []
        assert len(self.failed) == expected_failures, self.failed
        assert self.dialogs == []
        assert self.hosts <= {"127.0.0.1"}


def _visible_code(engine, township: str | None = None) -> str:  # type: ignore[no-untyped-def]
    with engine.connect() as conn:
        sql = "SELECT code FROM problems WHERE status = 'rectifying'"
        if township:
            sql += " AND township_code = :t"
        return conn.execute(text(sql + " ORDER BY code LIMIT 1"), {"t": township}).scalar_one()


@pytest.mark.parametrize("role", ["office", "township", "inspector", "viewer", "admin"])
def test_every_page_by_every_role(
    browser, demo_server, demo_engine, demo_headers, role: str
) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, extra_http_headers=demo_headers[role]
    )
    page = context.new_page()
    watch = Watch(page)
    with demo_engine.connect() as conn:
        first = conn.execute(text("SELECT min(code) FROM townships")).scalar_one()
    scoped = role in ("township", "inspector")
    code = _visible_code(demo_engine, first if scoped else None)
    page.goto(demo_server.url + "/", wait_until="networkidle")
    assert page.locator("nav.menu a.current").inner_text().startswith("工作台")
    assert page.locator('[data-testid="who"]').inner_text().startswith(f"test-{role}-")
    if role in ("office", "township"):
        suffix = "" if role == "office" else f"-{role}"
        screenshot(page, f"workbench-home{suffix}.png", full_page=True)
    page.goto(demo_server.url + "/ledger", wait_until="networkidle")
    total = int(page.locator('[data-testid="count"]').get_attribute("data-total"))
    # filter through htmx: the table updates in place and the URL follows
    page.select_option('select[name="status"]', "rectifying")
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"status=rectifying"))
    page.wait_for_function(
        "n => document.querySelector('[data-testid=count]').dataset.total != n", arg=str(total)
    )
    filtered = int(page.locator('[data-testid="count"]').get_attribute("data-total"))
    assert page.url.endswith("/ledger?status=rectifying")  # clean and shareable
    assert 0 < filtered < total
    statuses = page.locator("#ledger-results span.status").all_inner_texts()
    assert statuses and set(statuses) == {"整改中"}
    if role == "office":
        screenshot(page, "workbench-ledger.png")
    if page.locator('[data-testid="next"]').count():
        page.click('[data-testid="next"]')
        page.wait_for_url(re.compile(r"cursor="))
    page.goto(demo_server.url + f"/ledger/{code}", wait_until="networkidle")
    assert page.locator("h1").inner_text().endswith(code)
    assert page.locator('[data-testid="event"]').count() >= 1
    if role == "office":
        screenshot(page, "workbench-problem.png", full_page=True)
    page.set_viewport_size({"width": 820, "height": 1180})  # a tablet, upright
    for path in ("/", "/ledger", f"/ledger/{code}"):
        page.goto(demo_server.url + path, wait_until="networkidle")
        assert page.evaluate("document.scrollingElement.scrollWidth <= window.innerWidth"), path
    page.set_viewport_size({"width": 1366, "height": 768})
    page.click("text=EN")
    page.wait_for_load_state("networkidle")
    assert page.locator("nav.menu a.current").inner_text().strip() == "Ledger"
    if role == "office":
        screenshot(page, "workbench-problem-en.png")
    page.goto(demo_server.url + "/", wait_until="networkidle")
    assert "Home" in page.locator("nav.menu").inner_text()  # the choice persists
    page.click("text=中文")
    page.wait_for_load_state("networkidle")
    watch.clean()
    context.close()


@pytest.fixture
def county(db):  # type: ignore[no-untyped-def]
    """Two townships, users with passwords and a live server on a writable database."""
    with Session(db) as s, s.begin():
        load_two_townships(s)
        hostile = new_problem(s, "W-1", lon=113.05)
        hostile.description = HOSTILE
        new_problem(s, "W-2", lon=113.06)
        new_problem(s, "E-1", lon=113.15)
        t0 = datetime(2026, 3, 2, 2, tzinfo=UTC)
        ledger.transition(s, "W-2", "assign", actor="李主任", now=t0)
        ledger.transition(s, "W-2", "start", actor="张镇长", now=t0)
        insp = add_inspection(s, "W-2")
        ledger.transition(s, "W-2", "apply_closure", actor="张镇长", inspection_ids=[insp], now=t0)
        auth.add_user(s, name="李主任", role="office", password=PASSWORD, actor="test")
        auth.add_user(
            s, name="张镇长", role="township", password=PASSWORD, townships=[WEST], actor="test"
        )
        auth.add_user(
            s, name="东镇干部", role="township", password=PASSWORD, townships=[EAST], actor="test"
        )
    app = create_app(engine=db, settings=Settings(), clock=lambda: date(2026, 3, 5))
    with LiveServer(app) as server:
        yield server


def sign_in(browser, server, name: str):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    watch = Watch(page)
    page.goto(server.url + "/", wait_until="networkidle")
    page.fill('input[name="name"]', name)
    page.fill('input[name="password"]', PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(server.url + "/")
    return context, page, watch


def test_office_assigns_and_approves_a_closure_in_the_browser(browser, county, db) -> None:  # type: ignore[no-untyped-def]
    context, page, watch = sign_in(browser, county, "李主任")
    assert "李主任" in page.locator('[data-testid="who"]').inner_text()
    screenshot(page, "workbench-shell.png")
    # assign W-1 (its description is hostile: it must render as text, no dialog)
    page.goto(county.url + "/ledger/W-1", wait_until="networkidle")
    assert page.locator('[data-testid="description"]').inner_text() == HOSTILE
    form = page.locator('form[data-action="assign"]')
    form.locator('input[name="deadline"]').fill("2026-01-01")  # in the past: refused
    form.locator('textarea[name="reason"]').fill("限期整改")
    form.locator("button[type=submit]").click()
    error = page.locator('form[data-action="assign"] [data-field="deadline"]')
    error.wait_for()
    assert "不早于今天" in error.inner_text() and "past" in error.inner_text()
    assert page.locator('form[data-action="assign"] textarea').input_value() == "限期整改"
    page.locator('form[data-action="assign"] input[name="deadline"]').fill("2026-04-30")
    page.locator('form[data-action="assign"] button[type=submit]').click()
    page.wait_for_url(re.compile(r"done=assign"))
    assert "已交办" in page.locator(".flash").inner_text()
    assert page.locator("span.status").first.inner_text() == "已交办"
    last = page.locator('[data-testid="event"]').last.inner_text()
    assert "交办" in last and "限期整改" in last and "李主任" in last and "2026-04-30" in last
    # W-2 awaits verification: record the on-site check, then approve with the password
    page.goto(county.url + "/ledger/W-2", wait_until="networkidle")
    check = page.locator('form[data-action="record_check"]')
    check.locator('input[value="yes"]').check()
    check.locator("textarea").fill("现场核查整改到位")
    check.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"done=record_check"))
    approve = page.locator('form[data-action="approve_closure"]')
    approve.locator('input[name="password"]').fill("not-my-password-at-all")
    approve.locator("button[type=submit]").click()
    error = page.locator('form[data-action="approve_closure"] [data-field="password"]')
    error.wait_for()
    assert "密码不正确" in error.inner_text()
    approve = page.locator('form[data-action="approve_closure"]')
    approve.locator('input[name="password"]').fill(PASSWORD)
    approve.locator("textarea").fill("同意销号")
    approve.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"done=approve_closure"))
    assert page.locator("span.status").first.inner_text() == "已销号"
    assert "已审核销号" in page.locator(".flash").inner_text()
    screenshot(page, "workbench-closed.png", full_page=True)
    with db.connect() as conn:
        status = conn.execute(text("SELECT status FROM problems WHERE code = 'W-2'")).scalar_one()
    assert status == "closed"
    # sign out: back to the sign-in page, the session is gone
    page.click(".signout button")
    page.wait_for_url(re.compile(r"/login"))
    page.goto(county.url + "/ledger", wait_until="networkidle")
    assert "/login" in page.url
    watch.clean()
    context.close()


def test_township_user_cannot_see_another_townships_problem(browser, county) -> None:  # type: ignore[no-untyped-def]
    context, page, watch = sign_in(browser, county, "东镇干部")
    page.goto(county.url + "/ledger", wait_until="networkidle")
    codes = page.locator("#ledger-results tbody td:first-child").all_inner_texts()
    assert codes == ["E-1"]
    response = page.goto(county.url + "/ledger/W-1", wait_until="networkidle")
    assert response.status == 403
    assert "无权访问" in page.locator("main").inner_text()
    assert "西镇" not in page.content()
    # crawling every link from home never reaches a western problem
    page.goto(county.url + "/", wait_until="networkidle")
    seen, queue = set(), ["/"]
    while queue:
        path = queue.pop()
        if path in seen or not path.startswith(("/", "/ledger")) or path.startswith("/static"):
            continue
        seen.add(path)
        resp = page.goto(county.url + path, wait_until="networkidle")
        if path.startswith("/ledger"):
            assert "W-1" not in page.content() and "W-2" not in page.content(), path
        if (
            resp.headers.get("content-type", "").startswith("text/html")
            and path.startswith(("/ledger", "/?"))
            or path == "/"
        ):
            hrefs = page.eval_on_selector_all(
                "a[href]", "els => els.map(e => e.getAttribute('href'))"
            )
            queue += [h for h in hrefs if h.startswith(("/ledger", "/?"))]
    assert any(p.startswith("/ledger/E-1") for p in seen)
    watch.clean(expected_failures=1)  # the 403 page, and nothing else
    context.close()


def test_a_refused_form_says_so(browser, county) -> None:  # type: ignore[no-untyped-def]
    context, page, watch = sign_in(browser, county, "李主任")
    page.goto(county.url + "/ledger/W-1", wait_until="networkidle")
    context.clear_cookies()  # the session ended meanwhile (signed out in another tab)
    form = page.locator('form[data-action="assign"]')
    form.locator('input[name="deadline"]').fill("2026-04-30")
    form.locator("button[type=submit]").click()
    banner = page.locator("#request-error")
    banner.wait_for()
    assert "HTTP 401" in banner.inner_text() and "刷新页面" in banner.inner_text()
    watch.clean(expected_failures=2)  # the browser's and htmx's report of the 401
    context.close()


def _site(db, kind: str, name: str, wkt: str, zone_level: str | None = None) -> None:  # type: ignore[no-untyped-def]
    with db.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO sites (kind, name, zone_level, geom)"
                " VALUES (:k, :n, :z, ST_GeomFromText(:w, 4490))"
            ),
            {"k": kind, "n": name, "z": zone_level, "w": wkt},
        )


def test_problem_page_map_shows_the_sites_around_it(browser, county, db) -> None:  # type: ignore[no-untyped-def]
    _site(db, "sewage_plant", "城东污水处理厂" + HOSTILE, "POINT(113.055 34.05)")
    _site(db, "river_outfall", "北关入河排污口", "POINT(113.05 34.0545)")
    _site(
        db, "protection_zone", "县水厂二级保护区",
        "POLYGON((113.045 34.045,113.052 34.045,113.052 34.052,113.045 34.052,113.045 34.045))",
        "2",
    )
    context, page, watch = sign_in(browser, county, "李主任")
    page.goto(county.url + "/ledger/W-1", wait_until="networkidle")
    area = page.locator('[data-testid="problem-map"]')
    page.wait_for_function(
        "s => document.querySelectorAll(s).length >= 4",
        arg="[data-testid=problem-map] .leaflet-interactive",
    )
    assert area.locator(".leaflet-tooltip").first.inner_text() == "问题 W-1"  # always shown
    box = area.bounding_box()
    assert box and box["height"] > 200 and box["width"] > 300
    page.locator("#surroundings").scroll_into_view_if_needed()
    screenshot(page, "workbench-problem-map.png")
    # every site's tooltip names its kind, its name and the metres
    labels = page.evaluate(
        """() => { const out = [];
          document.querySelectorAll('[data-testid=problem-map] path.leaflet-interactive')
            .forEach(p => { p.dispatchEvent(new MouseEvent('mouseover', {bubbles: true})); });
          document.querySelectorAll('[data-testid=problem-map] .leaflet-tooltip')
            .forEach(t => out.push(t.textContent));
          return out; }"""
    )
    assert "问题 W-1" in labels
    assert "二级保护区 · 县水厂二级保护区 · 问题位于区内" in labels
    plant = next(x for x in labels if x.startswith("污水处理厂 · 城东污水处理厂"))
    assert HOSTILE in plant and re.search(r" · \d{3} 米$", plant)  # the name as text
    assert any(re.fullmatch(r"入河排污口 · 北关入河排污口 · \d{3} 米", x) for x in labels)
    rows = page.locator('[data-testid="site"]').all_inner_texts()
    assert len(rows) == 3 and "问题位于区内" in rows[0]
    watch.clean()
    context.close()


def test_ledger_map_follows_the_filter_and_links_each_problem(browser, county) -> None:  # type: ignore[no-untyped-def]
    context, page, watch = sign_in(browser, county, "李主任")
    page.goto(county.url + "/ledger", wait_until="networkidle")
    markers = "[data-testid=ledger-map] path.leaflet-interactive"
    count = "([s, n]) => document.querySelectorAll(s).length === n"
    page.wait_for_function(count, arg=[markers, 3])
    # filter through htmx: the map is drawn again with the list's matches
    page.select_option('select[name="township"]', WEST)
    page.click("form.filters button[type=submit]")
    page.wait_for_url(re.compile(r"township="))
    page.wait_for_function(count, arg=[markers, 2])
    assert page.locator('[data-testid="count"]').get_attribute("data-total") == "2"
    # hovering a point names it; a click opens a link to its page
    page.locator(markers).first.hover()
    tooltip = page.locator("[data-testid=ledger-map] .leaflet-tooltip")
    tooltip.wait_for()
    assert re.fullmatch(r"W-[12] · \S+", tooltip.inner_text()), tooltip.inner_text()
    screenshot(page, "workbench-ledger-map.png")
    code = tooltip.inner_text().split(" · ")[0]
    page.locator(markers).first.click()
    link = page.locator("[data-testid=ledger-map] .leaflet-popup-content a")
    link.wait_for()
    assert link.inner_text() == tooltip.inner_text() or link.inner_text().startswith(code)
    link.click()
    page.wait_for_url(county.url + f"/ledger/{code}")
    assert page.locator("h1").inner_text().endswith(code)
    watch.clean()
    context.close()


def test_forms_work_with_javascript_off(browser, county, db) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, java_script_enabled=False
    )
    page = context.new_page()
    watch = Watch(page)
    page.goto(county.url + "/", wait_until="networkidle")
    page.fill('input[name="name"]', "李主任")
    page.fill('input[name="password"]', PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(county.url + "/")
    page.goto(county.url + "/ledger/W-1", wait_until="networkidle")
    assert page.locator(".leaflet-container").count() == 0  # no script ran: the table remains
    assert page.locator('[data-testid="nearby"], [data-testid="nearby-none"]').count() == 1
    form = page.locator('form[data-action="assign"]')
    assert form.locator('input[name="csrf_token"]').count() == 1
    form.locator('input[name="deadline"]').fill("2026-01-01")  # in the past: refused in the page
    form.locator('textarea[name="reason"]').fill("限期整改")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    error = page.locator('form[data-action="assign"] [data-field="deadline"]')
    assert "不早于今天" in error.inner_text()
    form = page.locator('form[data-action="assign"]')
    form.locator('input[name="deadline"]').fill("2026-04-30")
    form.locator("button[type=submit]").click()
    page.wait_for_url(re.compile(r"done=assign"))
    assert "已交办" in page.locator(".flash").inner_text()
    assert page.locator("span.status").first.inner_text() == "已交办"
    last = page.locator('[data-testid="event"]').last.inner_text()
    assert "限期整改" in last and "李主任" in last
    with db.connect() as conn:
        status = conn.execute(text("SELECT status FROM problems WHERE code = 'W-1'")).scalar_one()
    assert status == "assigned"
    page.click(".signout button")  # signing out works without JavaScript too
    page.wait_for_url(re.compile(r"/login"))
    page.goto(county.url + "/ledger", wait_until="networkidle")
    assert "/login" in page.url
    watch.clean(expected_failures=1)  # the refused form's 422 page
    context.close()
