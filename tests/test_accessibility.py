"""Accessibility of the main pages: axe-core (from npm, served nowhere) run in Chromium.

No page may have a violation axe rates serious or critical under WCAG 2.1 A and AA. The rules
and their help texts are axe-core's; the report names the page, the rule and the elements.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

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
        context.add_cookies(
            [{"name": "lookback_lang", "value": lang, "url": demo_server.url}]
        )
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
