"""The workbench pages over HTTP: shell and menu per role, home counts, the ledger list and its
filters, a problem's page, action forms, friendly error pages and escaping of hostile text."""

from __future__ import annotations

import re
from datetime import date
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.orm import Session

from gis.config import Settings
from gis.ledger import writes as ledger
from gis.ledger.query import ProblemQuery, list_problems
from gis.ledger.scorecard import township_scorecard
from server.app import create_app
from tests.conftest import DEMO_AS_OF
from tests.factories import EAST, WEST, add_inspection, load_two_townships, make_token, new_problem

HTML = {"Accept": "text/html"}
ROLES = ("admin", "office", "township", "inspector", "viewer")


class _Tags(HTMLParser):
    """Collects attributes that are inline event handlers (on...) in the real tags of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.inline += [(tag, name) for name, _ in attrs if name.startswith("on")]
        if tag == "script":
            assert dict(attrs).get("src"), "inline script"


def nonce_of(resp) -> str:  # type: ignore[no-untyped-def]
    return resp.headers["content-security-policy"].split("'nonce-")[1].split("'")[0]


def assert_clean_page(resp) -> None:  # type: ignore[no-untyped-def]
    """HTML, every script carrying this response's nonce, no inline handler, nothing external."""
    assert resp.status_code == 200, resp.text[:500]
    assert resp.headers["content-type"].startswith("text/html")
    html = resp.text
    nonce = nonce_of(resp)
    scripts = re.findall(r"<script[^>]*>", html)
    assert all(f'nonce="{nonce}"' in s and "src=" in s for s in scripts), scripts
    handlers = _Tags()
    handlers.feed(html)
    assert handlers.inline == [], "inline event handler"
    assert not re.search(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", html)


@pytest.fixture(scope="module")
def clients(demo_app, demo_headers):  # type: ignore[no-untyped-def]
    return {role: TestClient(demo_app, headers={**demo_headers[role], **HTML}) for role in ROLES}


@pytest.mark.parametrize("role", ROLES)
def test_home_and_shell_for_every_role(clients, role: str) -> None:  # type: ignore[no-untyped-def]
    resp = clients[role].get("/")
    assert_clean_page(resp)
    html = resp.text
    assert "整改台账" in html and "退出" in html and 'href="/lang/en' in html
    assert f"test-{role}-" in html  # who is signed in
    for href in ('href="/"', 'href="/ledger"', 'href="/map"', 'href="/wall"'):
        assert href in html, href
    assert ('href="/field"' in html) == (role in ("admin", "office", "township", "inspector"))
    if role in ("township", "inspector"):
        assert 'href="/reports/township/' in html and "bulletin" not in html
    else:
        assert 'href="/reports/bulletin/daily.html"' in html
    for link in re.findall(r'<nav class="menu".*?</nav>', html, re.S)[0].split('href="')[1:]:
        target = link.split('"')[0]
        assert clients[role].get(target).status_code == 200, target


def test_home_counts_come_from_the_ledger_query(clients, demo_engine) -> None:  # type: ignore[no-untyped-def]
    html = clients["office"].get("/").text
    shown = dict(re.findall(r'data-count="(\w+)"><a href="[^"]*">\s*<span class="n">(\d+)', html))
    with Session(demo_engine) as s:
        scores = township_scorecard(s, today=DEMO_AS_OF)
        total = list_problems(s, today=DEMO_AS_OF, query=ProblemQuery(), limit=1).number_matched
    assert int(shown["open"]) == sum(x.open for x in scores)
    assert int(shown["overdue"]) == sum(x.overdue for x in scores)
    assert int(shown["rebounded"]) == sum(x.rebounded for x in scores)
    assert int(shown["closed"]) == sum(x.closed for x in scores)
    assert int(shown["open"]) + int(shown["closed"]) == total
    # each card links to the ledger list showing the same number
    for key, n in shown.items():
        href = re.search(rf'data-count="{key}"><a href="([^"]*)"', html).group(1)
        listed = clients["office"].get(href.replace("&amp;", "&")).text
        assert f'data-total="{n}"' in listed, key


def test_township_home_shows_only_its_township_and_rank(clients, demo_engine) -> None:  # type: ignore[no-untyped-def]
    with demo_engine.connect() as conn:
        towns = conn.execute(text("SELECT code, name FROM townships ORDER BY code")).all()
    html = clients["township"].get("/").text
    assert towns[0].name in html
    assert all(t.name not in html for t in towns[1:])
    assert 'data-testid="rank"' in html and "第" in html


def test_ledger_list_filters_count_and_export_links(clients, demo_engine) -> None:  # type: ignore[no-untyped-def]
    client = clients["office"]
    resp = client.get("/ledger?status=rectifying&category=&overdue=true&sort=deadline")
    assert_clean_page(resp)
    html = resp.text
    with Session(demo_engine) as s:
        expected = list_problems(
            s,
            today=DEMO_AS_OF,
            query=ProblemQuery(statuses=("rectifying",), overdue=True),
            limit=1,
        ).number_matched
    assert f'data-total="{expected}"' in html and f"共 {expected} 条" in html
    export = re.search(r'href="(/api/export/ledger\?format=csv[^"]*)"', html).group(1)
    export = export.replace("&amp;", "&")
    assert "status=rectifying" in export and "overdue=true" in export and "category" not in export
    rows = client.get(export, headers={"Accept": "*/*"}).content.decode("utf-8-sig").splitlines()
    assert len(rows) - 1 == expected
    share = re.search(
        r'data-testid="share" href="([^"]*)"|href="([^"]*)" data-testid="share"', html
    )
    assert "status=rectifying" in (share.group(1) or share.group(2))


def test_ledger_pages_by_cursor_and_htmx_partial(clients) -> None:  # type: ignore[no-untyped-def]
    client = clients["office"]
    first = client.get("/ledger").text
    total = int(re.search(r'data-total="(\d+)"', first).group(1))
    seen = set(re.findall(r'<td><a href="/ledger/([^"]+)">', first))
    nxt = re.search(r'href="([^"]+)"[^>]*data-testid="next"', first)
    while nxt:
        part = client.get(nxt.group(1).replace("&amp;", "&"), headers={"HX-Request": "true"})
        assert part.text.lstrip().startswith('<section id="ledger-results">')
        codes = set(re.findall(r'<td><a href="/ledger/([^"]+)">', part.text))
        assert not codes & seen
        seen |= codes
        nxt = re.search(r'href="([^"]+)"[^>]*data-testid="next"', part.text)
    assert len(seen) == total


def test_ledger_bad_filter_is_reported_not_crashed(clients) -> None:  # type: ignore[no-untyped-def]
    resp = clients["office"].get("/ledger?status=bogus&cursor=zzz")
    assert resp.status_code == 200
    assert "无效的值" in resp.text and "invalid cursor" in resp.text


def test_friendly_error_pages_for_browsers_json_for_the_api(clients, demo_app) -> None:  # type: ignore[no-untyped-def]
    page = clients["office"].get("/no-such-page")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "页面不存在" in page.text and "整改台账" in page.text
    api = clients["office"].get("/api/problems/NOPE")
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/json")
    denied = clients["viewer"].get("/field")
    assert denied.status_code == 403 and "无权访问" in denied.text
    assert clients["office"].get("/ledger/NOPE").status_code == 404
    anonymous = TestClient(demo_app).get("/ledger", headers=HTML, follow_redirects=False)
    assert anonymous.status_code == 303 and anonymous.headers["location"].startswith("/login")


def test_language_switch_persists_in_a_cookie(demo_app, demo_headers) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(demo_app, headers={**demo_headers["office"], **HTML})
    resp = client.get("/lang/en?next=/ledger", follow_redirects=False)
    assert resp.status_code == 303 and resp.headers["location"] == "/ledger"
    assert "lookback_lang=en" in resp.headers["set-cookie"]
    html = client.get("/ledger").text
    assert '<html lang="en">' in html and "Ledger" in html and "problems" in html
    assert (
        client.get("/lang/zh?next=//evil.example", follow_redirects=False).headers["location"]
        == "/"
    )
    assert "共" in client.get("/ledger").text


@pytest.fixture
def towns(db):  # type: ignore[no-untyped-def]
    """Two townships; in the west a new problem with hostile text and one awaiting approval."""
    from datetime import UTC, datetime

    with Session(db) as s, s.begin():
        load_two_townships(s)
        hostile = new_problem(s, "W-1", lon=113.05)
        hostile.description = '<script>alert(1)</script> "><img src=x onerror=alert(1)>'
        new_problem(s, "W-2", lon=113.06)
        new_problem(s, "E-1", lon=113.15)
        t0 = datetime(2026, 3, 2, 2, tzinfo=UTC)
        ledger.transition(s, "W-2", "assign", actor="test-office-all", now=t0)
        ledger.transition(s, "W-2", "start", actor="west", now=t0)
        insp = add_inspection(s, "W-2")
        ledger.transition(s, "W-2", "apply_closure", actor="west", inspection_ids=[insp], now=t0)
    app = create_app(engine=db, settings=Settings(), clock=lambda: date(2026, 3, 5))
    return app, {
        "office": make_token(db, "office"),
        "west": make_token(db, "township", [WEST]),
        "east": make_token(db, "township", [EAST]),
        "inspector": make_token(db, "inspector", [WEST], name="巡查员"),
        "viewer": make_token(db, "viewer"),
    }


def test_hostile_text_renders_as_text(towns) -> None:  # type: ignore[no-untyped-def]
    app, tokens = towns
    client = TestClient(app, headers={**tokens["office"], **HTML})
    for path in ("/ledger/W-1", "/ledger?q=alert"):
        resp = client.get(path)
        assert_clean_page(resp)
        assert "<script>alert(1)" not in resp.text and "<img src=x" not in resp.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in client.get("/ledger/W-1").text


def test_township_cannot_open_another_townships_problem(towns) -> None:  # type: ignore[no-untyped-def]
    app, tokens = towns
    east = TestClient(app, headers={**tokens["east"], **HTML})
    resp = east.get("/ledger/W-1")
    assert (
        resp.status_code == 403
        and "无权访问" in resp.text
        and "W-1" not in resp.text.split("<main", 1)[1].replace("/ledger/W-1", "")
    )
    assert east.get("/ledger/NOPE").status_code == 403  # unknown looks the same
    listed = east.get("/ledger").text
    assert "W-1" not in listed and "E-1" in listed and "西镇" not in listed
    post = east.post("/ledger/W-1/actions/start", data={"version": "x"})
    assert post.status_code == 403


def test_actions_shown_are_those_the_state_and_role_allow(towns) -> None:  # type: ignore[no-untyped-def]
    app, tokens = towns
    office = TestClient(app, headers={**tokens["office"], **HTML})
    west = TestClient(app, headers={**tokens["west"], **HTML})
    forms = lambda html: re.findall(r'data-action="(\w+)"', html)  # noqa: E731
    assert forms(office.get("/ledger/W-1").text) == ["assign"]
    assert forms(west.get("/ledger/W-1").text) == []
    assert forms(office.get("/ledger/W-2").text) == [
        "record_check",
        "reject_closure",
        "approve_closure",
    ]
    assert forms(west.get("/ledger/W-2").text) == []


def test_action_forms_validate_beside_the_field_and_run_the_transition(towns) -> None:  # type: ignore[no-untyped-def]
    app, tokens = towns
    office = TestClient(app, headers={**tokens["office"], **HTML, "HX-Request": "true"})
    page = office.get("/ledger/W-2").text
    version = re.search(r'name="version" value="([^"]+)"', page).group(1)
    # approval before a passed check, wrong password: refused beside the password field
    resp = office.post(
        "/ledger/W-2/actions/approve_closure", data={"version": version, "password": "wrong"}
    )
    assert resp.status_code == 200
    assert 'data-field="password"' in resp.text and "密码不正确" in resp.text
    plain = TestClient(app, headers={**tokens["office"], **HTML}).post(
        "/ledger/W-2/actions/approve_closure", data={"version": version, "password": "wrong"}
    )
    assert plain.status_code == 422 and "密码不正确" in plain.text and "<nav" in plain.text
    # a check without a result: refused beside the result, the typed note kept
    resp = office.post(
        "/ledger/W-2/actions/record_check", data={"version": version, "reason": "现场已整改"}
    )
    assert resp.status_code == 200 and 'data-field="passed"' in resp.text
    assert "现场已整改" in resp.text
    resp = office.post(
        "/ledger/W-2/actions/record_check",
        data={"version": version, "passed": "yes", "reason": "现场已整改"},
    )
    assert resp.status_code == 200 and resp.headers["hx-redirect"] == (
        "/ledger/W-2?done=record_check"
    )
    # the old version is now stale
    resp = office.post(
        "/ledger/W-2/actions/reject_closure", data={"version": version, "reason": "x"}
    )
    assert resp.status_code == 200 and "已被他人更新" in resp.text
    shown = office.get("/ledger/W-2?done=record_check").text
    assert "已记录现场核查" in shown and "现场已整改" in shown
    # a deadline in the past is refused
    page = office.get("/ledger/W-1").text
    version = re.search(r'name="version" value="([^"]+)"', page).group(1)
    resp = office.post(
        "/ledger/W-1/actions/assign", data={"version": version, "deadline": "2026-01-01"}
    )
    assert resp.status_code == 200 and 'data-field="deadline"' in resp.text
    resp = office.post(
        "/ledger/W-1/actions/assign",
        data={"version": version, "deadline": "2026-04-30", "reason": "限期整改"},
    )
    assert resp.status_code == 200
    history = TestClient(app, headers=tokens["office"]).get("/api/problems/W-1/history").json()
    assert history[-1]["action"] == "assign" and history[-1]["reason"] == "限期整改"
    assert history[-1]["after"]["status"] == "assigned"


def test_inspector_home_lists_its_inspections_and_viewer_home_the_wall(towns) -> None:  # type: ignore[no-untyped-def]
    app, tokens = towns
    html = TestClient(app, headers={**tokens["inspector"], **HTML}).get("/").text
    panel = html.split('data-testid="inspector"')[1].split("</section>")[0]
    assert 'href="/field"' in panel and 'href="/ledger/W-2"' in panel
    assert "已核查（整改到位）" in panel
    assert 'data-testid="todo-awaiting"' not in html
    viewer = TestClient(app, headers={**tokens["viewer"], **HTML}).get("/").text
    assert 'data-testid="viewer"' in viewer and 'class="button" href="/wall"' in viewer
    assert "退出" in viewer and 'action="/ledger/' not in viewer


def test_database_down_gives_browsers_a_page_and_the_api_json() -> None:
    from gis.db.embedded import free_port
    from gis.db.engine import make_engine

    engine = make_engine(f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/none")
    app = create_app(engine=engine, settings=Settings(), clock=lambda: date(2026, 3, 5))
    client = TestClient(app, headers={"Authorization": "Bearer anything"})
    page = client.get("/ledger", headers=HTML)
    assert page.status_code == 503 and page.headers["retry-after"] == "5"
    assert page.headers["content-type"].startswith("text/html") and "服务暂时不可用" in page.text
    api = client.get("/api/problems", headers=HTML)
    assert api.status_code == 503 and api.json()["detail"]
    engine.dispose()


def add_site(db, kind: str, name: str, wkt: str, zone_level: str | None = None) -> int:  # type: ignore[no-untyped-def]
    with db.begin() as conn:
        return conn.execute(
            text(
                "INSERT INTO sites (kind, name, zone_level, geom)"
                " VALUES (:k, :n, :z, ST_GeomFromText(:w, 4490)) RETURNING id"
            ),
            {"k": kind, "n": name, "z": zone_level, "w": wkt},
        ).scalar_one()


HOSTILE_SITE = '<img src=x onerror=alert(1)>城东"污水厂'


@pytest.fixture
def sited(towns, db):  # type: ignore[no-untyped-def]
    """Sites around W-1 (113.05, 34.05): a plant east, an outfall north, a zone it lies in, a
    level-1 zone beyond it, a landfill 2.7 km away."""
    add_site(db, "sewage_plant", HOSTILE_SITE, "POINT(113.055 34.05)")
    add_site(db, "river_outfall", "北排口", "POINT(113.05 34.0545)")
    add_site(
        db, "protection_zone", "二级区",
        "POLYGON((113.045 34.045,113.052 34.045,113.052 34.052,113.045 34.052,113.045 34.045))",
        "2",
    )
    add_site(
        db, "protection_zone", "一级区",
        "POLYGON((113.040 34.040,113.044 34.040,113.044 34.044,113.040 34.044,113.040 34.040))",
        "1",
    )
    add_site(db, "landfill", "远处填埋场", "POINT(113.08 34.05)")
    return towns


def test_problem_page_maps_the_sites_and_zones_around_it(sited, db) -> None:  # type: ignore[no-untyped-def]
    from html import unescape

    from gis import palette
    from gis.field.nearby import problem_surroundings
    from gis.geo.coords import distance_m

    app, tokens = sited
    with Session(db) as s:
        found = problem_surroundings(s, "W-1", today=date(2026, 3, 5))
    assert found is not None
    problem, *sites = found["features"]
    assert problem["properties"]["role"] == "problem"
    assert problem["geometry"]["coordinates"] == [113.05, 34.05]
    names = [f["properties"]["name"] for f in sites]
    assert names == ["二级区", HOSTILE_SITE, "北排口", "一级区"]  # nearest first, none 2.7 km off
    by_name = {f["properties"]["name"]: f["properties"] for f in sites}
    assert by_name["二级区"]["inside"] and by_name["二级区"]["distance_m"] == 0
    assert by_name["二级区"]["kind_zh"] == "二级保护区"
    # metres on the spheroid: the same as the geodesic of gis.geo for two points
    for name, (lon, lat) in ((HOSTILE_SITE, (113.055, 34.05)), ("北排口", (113.05, 34.0545))):
        assert abs(by_name[name]["distance_m"] - distance_m(113.05, 34.05, lon, lat)) <= 0.5
        assert not by_name[name]["inside"]
    assert 400 < by_name[HOSTILE_SITE]["distance_m"] < 520
    # a corner of the level-1 zone lies about 1 km to the south-west: within, not inside
    assert 0 < by_name["一级区"]["distance_m"] <= 1000 and not by_name["一级区"]["inside"]
    assert by_name["北排口"]["stroke"] == palette.SITE_COLOURS["river_outfall"]
    assert by_name["一级区"]["fill"] == palette.ZONE_COLOURS["1"][1]
    assert problem["properties"]["fill"] == palette.problem_marker("none")[0]

    client = TestClient(app, headers={**tokens["office"], **HTML})
    resp = client.get("/ledger/W-1")
    assert_clean_page(resp)
    html = resp.text
    assert "<img src=x" not in html  # the hostile name is text, in the table and in the data
    rows = re.findall(r'<tr data-testid="site" data-kind="(\w+)" data-distance="(\d+)"', html)
    assert [k for k, _ in rows] == ["protection_zone", "sewage_plant", "river_outfall",
                                    "protection_zone"]
    assert [int(d) for _, d in rows] == [f["properties"]["distance_m"] for f in sites]
    assert "问题位于区内" in html and "&lt;img src=x onerror=alert(1)&gt;城东&#34;污水厂" in html
    data = re.search(r"data-features='([^']*)'", html).group(1)
    import json

    shown = json.loads(unescape(data))
    assert shown["features"][2]["properties"]["name"] == HOSTILE_SITE
    assert 'src="/static/workbench/minimap.js"' in html and "leaflet.js" in html
    # a problem with nothing around says so; one without geometry has no map
    east = client.get("/ledger/E-1").text
    assert 'data-testid="nearby-none"' in east and 'data-testid="problem-map"' in east


def test_ledger_map_shows_the_lists_matches_and_says_when_it_shows_fewer(  # type: ignore[no-untyped-def]
    clients, demo_engine
) -> None:
    import json
    from html import unescape

    from gis import palette
    from gis.ledger.query import ledger_map

    client = clients["office"]
    for path, query in (
        ("/ledger?status=rectifying&overdue=true", ProblemQuery(statuses=("rectifying",),
                                                                overdue=True)),
        ("/ledger?warning=red", ProblemQuery(warnings=("red",))),
    ):
        html = client.get(path).text
        total = int(re.search(r'data-total="(\d+)"', html).group(1))
        shown = json.loads(unescape(re.search(r"data-features='([^']*)'", html).group(1)))
        with Session(demo_engine) as s:
            expected = list_problems(s, today=DEMO_AS_OF, query=query, limit=1000)
            mapped = ledger_map(s, today=DEMO_AS_OF, query=query)
        assert 0 < total == shown["matched"] == expected.number_matched == mapped["matched"], path
        located = [i["code"] for i in expected.items]  # the demo's problems all have a place
        assert sorted(f["properties"]["code"] for f in shown["features"]) == sorted(located)
        assert shown["shown"] == len(shown["features"]) == total
        for f in shown["features"]:
            warning = f["properties"]["warning"]
            assert (f["properties"]["fill"], f["properties"]["stroke"]) == palette.problem_marker(
                warning
            )
        if "warning=red" in path:
            assert {f["properties"]["fill"] for f in shown["features"]} == {
                palette.WARNING_COLOURS["red"]
            }
        assert 'data-testid="map-note"' not in html  # every match is on the map
        # the htmx partial carries the same map
        partial = client.get(path, headers={"HX-Request": "true"}).text
        assert partial.count('data-testid="ledger-map"') == 1
    # over the limit: the first N in the list's order, and the page would say so
    query = ProblemQuery(sort="deadline")
    with Session(demo_engine) as s:
        first = list_problems(s, today=DEMO_AS_OF, query=query, limit=3).items
        few = ledger_map(s, today=DEMO_AS_OF, query=query, limit=3)
    assert few["shown"] == 3 < few["matched"]
    assert [f["properties"]["code"] for f in few["features"]] == [i["code"] for i in first]


def test_ledger_map_note_counts_problems_without_a_location(towns, db) -> None:  # type: ignore[no-untyped-def]
    app, tokens = towns
    with db.begin() as conn:
        conn.execute(text("UPDATE problems SET geom = NULL WHERE code = 'W-2'"))
    html = TestClient(app, headers={**tokens["office"], **HTML}).get("/ledger").text
    assert 'data-total="3"' in html and 'data-shown="2"' in html
    note = re.search(r'data-testid="map-note">(.*?)</p>', html, re.S).group(1)
    assert note.strip() == "1 条没有位置，未在地图上显示"
    html = TestClient(app, headers={**tokens["office"], **HTML}).get("/ledger?q=W-2").text
    assert 'data-total="1"' in html and 'data-testid="ledger-map"' not in html


def test_ledger_map_says_showing_n_of_m(towns, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    import server.routes.workbench as routes

    app, tokens = towns
    monkeypatch.setattr(routes, "MAP_POINTS", 2)
    html = TestClient(app, headers={**tokens["office"], **HTML}).get("/ledger").text
    assert 'data-total="3"' in html and 'data-shown="2"' in html
    note = re.search(r'data-testid="map-note">(.*?)</p>', html, re.S).group(1)
    assert note.strip() == "地图显示前 2 条（共 3 条）"
    data = re.search(r"data-features='([^']*)'", html).group(1)
    assert re.findall(r'"code": "([\w-]+)"', data) == ["E-1", "W-1"]  # the list's order


PASSWORD = "river-sand-dispatch-42"


def _signed_in(app, db, name: str = "李主任", role: str = "office") -> tuple[TestClient, str]:  # type: ignore[no-untyped-def]
    from gis.access import auth

    with Session(db) as s, s.begin():
        auth.add_user(s, name=name, role=role, password=PASSWORD, actor="test")
    client = TestClient(app, headers=HTML)
    signed = client.post(
        "/auth/login", data={"name": name, "password": PASSWORD}, follow_redirects=False
    )
    assert signed.status_code == 303
    return client, client.cookies["lookback_csrf"]


def test_forms_carry_the_csrf_token_as_a_field_and_the_server_checks_it(towns, db) -> None:  # type: ignore[no-untyped-def]
    app, _ = towns
    client, csrf = _signed_in(app, db)
    page = client.get("/ledger/W-1").text
    fields = re.findall(r'<input type="hidden" name="csrf_token" value="([^"]*)">', page)
    posts = re.findall(r'<form[^>]*method="post"', page)
    assert len(fields) == len(posts) >= 3 and set(fields) == {csrf}  # sign-out, assign, evidence
    version = re.search(r'name="version" value="([^"]+)"', page).group(1)
    form = {"version": version, "deadline": "2026-04-30", "reason": "限期整改"}
    # neither the field nor the header: refused, nothing changes
    for data in (form, {**form, "csrf_token": "not-the-token"}, {**form, "csrf_token": "令牌"}):
        refused = client.post("/ledger/W-1/actions/assign", data=data, follow_redirects=False)
        assert refused.status_code == 403 and "CSRF" in refused.text
    with db.connect() as conn:
        assert conn.execute(text("SELECT status FROM problems WHERE code = 'W-1'")).scalar() == (
            "reported"
        )
    # the field alone (a browser without JavaScript): done, and the route read the whole form
    done = client.post(
        "/ledger/W-1/actions/assign", data={**form, "csrf_token": csrf}, follow_redirects=False
    )
    assert done.status_code == 303 and done.headers["location"] == "/ledger/W-1?done=assign"
    history = client.get("/api/problems/W-1/history").json()
    assert history[-1]["action"] == "assign" and history[-1]["reason"] == "限期整改"
    # a multipart form: the field found among the parts, the file still reaches the route
    page = client.get("/ledger/W-1").text
    version = re.search(r'name="version" value="([^"]+)"', page).group(1)
    pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
    upload = {"version": version, "kind": "plan", "note": "整改方案"}
    files = {"file": ("方案.pdf", pdf, "application/pdf")}
    refused = client.post("/ledger/W-1/evidence", data=upload, files=files, follow_redirects=False)
    assert refused.status_code == 403
    sent = client.post(
        "/ledger/W-1/evidence", data={**upload, "csrf_token": csrf}, files=files,
        follow_redirects=False,
    )
    assert sent.status_code == 303, sent.text[:300]
    with db.connect() as conn:
        stored = conn.execute(text("SELECT filename, size_bytes FROM attachments")).all()
    assert [tuple(r) for r in stored] == [("方案.pdf", len(pdf))]
    # the header still works; the JSON API takes no token from its body
    api = "/api/problems/W-1/transitions"
    body = {"action": "start", "reason": "开始", "csrf_token": csrf}
    assert client.post(api, json=body).status_code == 403
    assert client.post(api, data={"action": "start"}).status_code == 403  # a form, no token
    started = client.post(api, json=body, headers={"X-CSRF-Token": csrf})
    assert started.status_code == 200, started.text
    # signing out without JavaScript: the header's form carries the field too
    out = client.post("/auth/logout", data={"csrf_token": csrf}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/auth/me", headers={"Accept": "application/json"}).status_code == 401


def test_a_form_token_does_not_get_past_the_permission(towns, db) -> None:  # type: ignore[no-untyped-def]
    app, _ = towns
    client, csrf = _signed_in(app, db, "看板", "viewer")
    page = client.get("/ledger/W-1").text
    assert re.findall(r'name="csrf_token" value="([^"]*)"', page) == [csrf]  # sign-out only
    refused = client.post(
        "/ledger/W-1/actions/assign", data={"csrf_token": csrf, "version": "x"},
        follow_redirects=False,
    )
    assert refused.status_code == 403 and "viewer" in refused.text  # the role, not the token


def test_every_post_form_in_the_templates_carries_the_csrf_field() -> None:
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "layers" / "templates"
    forms = 0
    for path in root.rglob("*.html"):
        source = path.read_text(encoding="utf-8")
        for tag in re.finditer(r"<form\b[^>]*>", source, re.S):
            if 'method="post"' in tag.group(0).lower():
                forms += 1
                after = source[tag.end():tag.end() + len("{{ csrf_field() }}")]
                assert after == "{{ csrf_field() }}", f"{path.name}: {tag.group(0)[:80]}"
    assert forms >= 28
