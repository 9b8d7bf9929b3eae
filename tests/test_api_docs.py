"""/docs and /redoc render from the app's own copies of Swagger UI and ReDoc, under the CSP."""

from __future__ import annotations

import re
from urllib.parse import urlparse

import pytest
from fastapi.testclient import TestClient

from layers.assets import VENDOR_DIR, external_references
from layers.workbench import VENDOR_FILES


def test_vendor_files_of_the_workbench_are_installed() -> None:
    missing = [p for p in VENDOR_FILES.values() if not (VENDOR_DIR / p).exists()]
    assert missing == [], "run `npm ci` in static/ (make does it)"


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_reference_only_local_assets(demo_app, path: str) -> None:  # type: ignore[no-untyped-def]
    client = TestClient(demo_app)
    resp = client.get(path)
    assert resp.status_code == 200
    html = resp.text
    assert external_references(html) == []
    assert "cdn" not in html.lower()
    nonce = resp.headers["content-security-policy"].split("'nonce-")[1].split("'")[0]
    assert html.count("<script") == html.count(f'nonce="{nonce}"') == 2
    assert "<script>" not in html  # nothing inline
    for src in re.findall(r'(?:src|href)="(/[^"]+)"', html):
        asset = client.get(src)
        assert asset.status_code == 200, src
        assert b"cdn.redoc.ly" not in asset.content, src


@pytest.mark.browser
@pytest.mark.parametrize(
    ("path", "ready"),
    [("/docs", ".opblock-summary-path"), ("/redoc", "[data-section-id^='tag/']")],
)
def test_docs_render_in_chromium_offline(browser, demo_server, path: str, ready: str) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    page = context.new_page()
    errors: list[str] = []
    hosts: set[str] = set()
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("request", lambda req: hosts.add(urlparse(req.url).hostname or req.url))
    page.goto(demo_server.url + path, wait_until="networkidle")
    page.locator(ready).first.wait_for(state="visible", timeout=20000)
    assert page.locator(ready).count() > 10  # the operations (or tags) are listed
    assert "/api/problems" in page.content()
    assert errors == []
    assert hosts == {"127.0.0.1"}
    context.close()
