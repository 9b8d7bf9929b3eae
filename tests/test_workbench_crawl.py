"""Every page a user can reach by clicking, in Chromium: from ``/`` follow each same-origin link
breadth-first (GET only), as the office and as a township user. Each page answers below 400,
asks no other host for anything and has no JS error; the township user never sees a problem
code of another township on any page it reaches.

Pages of one shape (``/ledger/{code}``, ``/complaints/{code}``, a list with the same query keys)
are visited a few times, not all, so the crawl covers every kind of page in a short run.
"""

from __future__ import annotations

import re
import time
from collections import Counter, deque
from urllib.parse import urldefrag, urljoin, urlparse

import pytest
from sqlalchemy import text

from tests.test_workbench_browser import Watch

pytestmark = pytest.mark.browser
MAX_PAGES = 120
PER_SHAPE = 8
SKIP_PREFIXES = (
    "/auth/logout",
    "/lang/",
    "/docs",
    "/redoc",
    "/api/",
    "/ogc",
    "/field",  # the field app: an offline app of its own (tests/test_field_browser.py)
    "/kiosk",  # signs the browser in as a kiosk
    "/static/",
)
DOWNLOAD = re.compile(
    r"(/export|/download|/document|/file$|/attachments/|/photos/|\.(xlsx|xls|csv|gpkg|geojson|"
    r"json|pdf|png|jpe?g|webp|heic|zip|docx?)$)",
    re.I,
)
CODE = re.compile(r"\b[A-Z][A-Z0-9]{1,4}-\d{4}-\d{5}\b")


def _shape(url: str) -> tuple[str, ...]:
    """What kind of page a URL is: its first path segment, how deep it goes, its query keys."""
    parsed = urlparse(url)
    parts = [p for p in parsed.path.split("/") if p]
    keys = sorted({pair.split("=", 1)[0] for pair in parsed.query.split("&") if pair})
    return (parts[0] if parts else "", str(len(parts)), *keys)


def _follow(url: str, origin: str) -> bool:
    parsed = urlparse(url)
    if f"{parsed.scheme}://{parsed.netloc}" != origin or parsed.scheme not in ("http", "https"):
        return False
    return not parsed.path.startswith(SKIP_PREFIXES) and not DOWNLOAD.search(parsed.path)


def crawl(browser, server, headers: dict[str, str]) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Visit up to MAX_PAGES pages from ``/``; returns each visited URL's text."""
    context = browser.new_context(
        viewport={"width": 1366, "height": 768}, extra_http_headers=headers
    )
    page = context.new_page()
    watch = Watch(page)
    origin = server.url
    start = origin + "/"
    queue, seen, shapes = deque([start]), {start}, Counter()
    texts: dict[str, str] = {}
    problems: list[str] = []
    while queue and len(texts) < MAX_PAGES:
        url = queue.popleft()
        response = page.goto(url, wait_until="load")
        status = response.status if response else 0
        if status >= 400 or status == 0:
            problems.append(f"{url}: HTTP {status}")
        if watch.errors:
            problems.append(f"{url}: JS errors {watch.errors}")
            watch.errors.clear()
        texts[url] = page.content()
        links = page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)")
        for link in links:
            target = urldefrag(urljoin(url, link))[0]
            if target in seen or not _follow(target, origin):
                continue
            seen.add(target)
            shape = _shape(target)
            if shapes[shape] >= PER_SHAPE:
                continue
            shapes[shape] += 1
            queue.append(target)
    context.close()
    assert problems == [], "\n".join(problems)
    assert watch.failed == [], watch.failed
    assert watch.hosts <= {"127.0.0.1"}, watch.hosts
    assert watch.dialogs == []
    return texts


def _codes(demo_engine) -> tuple[set[str], set[str]]:  # type: ignore[no-untyped-def]
    """The problem codes of the first township (the township user's) and of all the others."""
    with demo_engine.connect() as conn:
        first = conn.execute(text("SELECT min(code) FROM townships")).scalar_one()
        rows = conn.execute(text("SELECT code, township_code FROM problems")).all()
    own = {code for code, town in rows if town == first}
    others = {code for code, town in rows if town != first}
    assert others and own and all(CODE.fullmatch(c) for c in others | own)
    return own, others


def test_office_crawl_reaches_every_kind_of_page(
    browser, demo_server, demo_engine, demo_headers
) -> None:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    texts = crawl(browser, demo_server, demo_headers["office"])
    paths = {urlparse(u).path for u in texts}
    # the pages of the menu and the records they list were all reached
    for expected in ("/", "/ledger", "/lookbacks", "/rebounds", "/complaints", "/notices"):
        assert expected in paths, expected
    assert any(re.fullmatch(r"/ledger/[^/]+", p) for p in paths)
    assert any(re.fullmatch(r"/complaints/[^/]+", p) for p in paths)
    assert len(texts) >= 40
    assert time.monotonic() - started < 60
    # the control for the township's test: the office's pages do name other townships' problems
    _, others = _codes(demo_engine)
    assert set(CODE.findall(" ".join(texts.values()))) & others


def test_township_crawl_never_shows_another_townships_problem(
    browser, demo_server, demo_engine, demo_headers
) -> None:  # type: ignore[no-untyped-def]
    own, others = _codes(demo_engine)
    started = time.monotonic()
    texts = crawl(browser, demo_server, demo_headers["township"])
    seen_codes: set[str] = set()
    leaks = {}
    for url, html in texts.items():
        found = set(CODE.findall(html))
        seen_codes |= found
        if found & others:
            leaks[url] = sorted(found & others)[:5]
    assert leaks == {}
    assert seen_codes & own, "the crawl reached none of the township's own problems"
    assert len(texts) >= 15
    assert time.monotonic() - started < 60
