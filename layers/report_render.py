"""Reports and bulletins as self-contained HTML (images as data URIs) and as PDF (WeasyPrint).

The HTML references nothing outside itself: styles are inline, images are ``data:`` URIs and
fonts are named, not downloaded. The PDF embeds a subset of Noto Sans CJK SC (Debian
``fonts-noto-cjk``, found through fontconfig), so Chinese renders on any reader.
"""

from __future__ import annotations

import base64
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape

from gis.config import get_settings, get_warning_thresholds
from gis.reports.bulletin import Bulletin
from gis.reports.township import TownshipReport
from layers.assets import external_references
from layers.report_map import band_curve_png, township_map_png, trend_chart_png

TEMPLATES = Path(__file__).parent / "templates"
ISSUER = "县环保督察整改工作领导小组办公室"
_PDF_LOCK = threading.Lock()  # one typesetting at a time per process (CPU-bound anyway)
# Only for the PDF: pin the CJK face WeasyPrint embeds (fontconfig resolves the family).
PDF_CSS = """
html, body { font-family: "Noto Sans CJK SC", sans-serif; }
body { max-width: none; padding: 0; }
"""


def _pct(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _fmt(value: float | None, pattern: str = "%g") -> str:
    return "—" if value is None else pattern % value


def _signed(value: int) -> str:
    return f"+{value}" if value > 0 else ("−" + str(-value) if value < 0 else "0")


def _date_zh(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _bin_class(b: int) -> str:
    return f"hot{b}" if b > 0 else (f"cold{-b}" if b < 0 else "bin0")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(pct=_pct, fmt=_fmt, signed=_signed, date_zh=_date_zh, bin_class=_bin_class)
    return env


ENV = _environment()


def data_uri(png: bytes) -> str:
    """A PNG as a ``data:`` URI for an ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def _common() -> dict[str, Any]:
    now = datetime.now(get_settings().zone)
    return {
        "generated_at": now.strftime("%Y-%m-%d %H:%M"),
        "thresholds": get_warning_thresholds(),
        "issuer": ISSUER,
    }


def render_township_html(report: TownshipReport) -> str:
    """The township report as one self-contained HTML page."""
    html = ENV.get_template("report_township.html").render(
        r=report,
        map_png=data_uri(township_map_png(report.map)),
        trend_png=data_uri(trend_chart_png(report.trend)),
        band_png=data_uri(band_curve_png(report.hotspots.band_curve, report.hotspots.band_m))
        if report.hotspots.available and report.hotspots.band_curve
        else None,
        footer=f"{report.name} {report.day.isoformat()}",
        **_common(),
    )
    _check_local(html)
    return html


def render_bulletin_html(bulletin: Bulletin) -> str:
    """The bulletin as one self-contained HTML page."""
    html = ENV.get_template("bulletin_county.html").render(
        b=bulletin, footer=f"{bulletin.title_zh} {bulletin.label}", **_common()
    )
    _check_local(html)
    return html


def _check_local(html: str) -> None:
    found = external_references(html)
    if found:
        raise RuntimeError(f"report HTML references external URLs: {found[:3]}")


def html_to_pdf(html: str) -> bytes:
    """Typeset report HTML to PDF bytes with the CJK font embedded; fetches only data: URIs."""
    from weasyprint import CSS, HTML
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols=("data",))
    with _PDF_LOCK:
        document = HTML(string=html, base_url=str(TEMPLATES), url_fetcher=fetcher)
        return document.write_pdf(stylesheets=[CSS(string=PDF_CSS)])


def render_township_pdf(report: TownshipReport) -> bytes:
    """The township report as PDF."""
    return html_to_pdf(render_township_html(report))


def render_bulletin_pdf(bulletin: Bulletin) -> bytes:
    """The bulletin as PDF."""
    return html_to_pdf(render_bulletin_html(bulletin))
