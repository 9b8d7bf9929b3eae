"""The workbench's pages (工作台, 台账, 问题): Jinja2 templates with autoescape everywhere.

The templates live in ``layers/templates/workbench/``. They draw what the routes hand them and
decide nothing: counts, lists and allowed actions come from ``gis/``. Every ``<script>`` a
template emits carries ``nonce="{{ csp_nonce }}"``, the response's CSP nonce; no template has
inline scripts or event handlers. Labels are bilingual: :func:`t` picks Chinese or English.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context
from markupsafe import Markup

from gis import palette, vocab
from layers.assets import VENDOR_URL

TEMPLATES = Path(__file__).parent / "templates" / "workbench"
LANGS = ("zh", "en")

VENDOR = {
    "htmx": f"{VENDOR_URL}/htmx.org/dist/htmx.min.js",
    "swagger_js": f"{VENDOR_URL}/swagger-ui-dist/swagger-ui-bundle.js",
    "swagger_css": f"{VENDOR_URL}/swagger-ui-dist/swagger-ui.css",
    "redoc_js": "/docs/assets/redoc.standalone.js",  # see redoc_bundle()
}
# The files behind VENDOR, relative to static/node_modules (checked by the tests).
VENDOR_FILES = {
    "htmx": "htmx.org/dist/htmx.min.js",
    "swagger_js": "swagger-ui-dist/swagger-ui-bundle.js",
    "swagger_css": "swagger-ui-dist/swagger-ui.css",
    "redoc_js": "redoc/bundles/redoc.standalone.js",
}

ROLE_LABELS = {
    "admin": ("管理员", "Administrator"),
    "office": ("督察整改办", "Rectification office"),
    "township": ("乡镇", "Township"),
    "inspector": ("巡查员", "Inspector"),
    "viewer": ("只读", "Viewer"),
}


# ReDoc draws its maker's logo from a public CDN in every sidebar; the app serves its own icon.
REDOC_CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@lru_cache(maxsize=1)
def redoc_bundle() -> bytes:
    """ReDoc's standalone bundle from npm with its one external image pointed at the app."""
    from layers.assets import VENDOR_DIR

    raw = (VENDOR_DIR / VENDOR_FILES["redoc_js"]).read_text(encoding="utf-8")
    return raw.replace(REDOC_CDN_LOGO, "/static/favicon.svg").encode("utf-8")


def label(enum_name: str, value: str | None, lang: str = "zh") -> str:
    """The label of a vocabulary value (``Status``, ``Category`` ...), or the value itself."""
    if value is None:
        return "—"
    pair = vocab.LABELS.get(enum_name, {}).get(str(value))
    if pair is None:
        return str(value)
    return pair[0] if lang == "zh" else pair[1]


def fmt_date(value: Any) -> str:
    """Dates as 2026-12-03; timestamps as local 2026-12-03 14:05 (the caller converts zones)."""
    if value is None or value == "":
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return text[:10] if len(text) >= 10 and text[4] == "-" else text


def to_local(value: Any) -> Any:
    """A timestamp (or its ISO text) in ``LOOKBACK_TIMEZONE``; other values unchanged."""
    from gis.config import get_settings

    if isinstance(value, str) and len(value) > 19 and value[10] == "T":
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime):
        return value.astimezone(get_settings().zone)
    return value


@lru_cache(maxsize=1)
def palette_css() -> str:
    """The warning badges' colours from :mod:`gis.palette` (the wall's and the reports' too)."""
    rules = []
    for name, fill in palette.WARNING_COLOURS.items():
        border = palette.WARNING_STROKES[name] if name != "none" else "#b8c4d0"
        rules.append(
            f".warn-{name} {{ background: {fill}; color: {palette.WARNING_TEXT[name]};"
            f" border-color: {border}; }}"
        )
    return "\n".join(rules)


CSRF_FIELD = "csrf_token"  # the form field server.security reads when no header carries the token


@pass_context
def csrf_field(context: Any) -> Markup:
    """The session's CSRF token as a hidden field, so a form posts without JavaScript too."""
    token = context.get("csrf") or ""
    return Markup('<input type="hidden" name="{}" value="{}">').format(CSRF_FIELD, token)


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=StrictUndefined,
    )
    env.globals.update(
        vendor=VENDOR, label=label, role_labels=ROLE_LABELS, vocab=vocab, local=to_local,
        palette_css=palette_css, csrf_field=csrf_field,
    )
    env.filters["d"] = fmt_date
    return env


def render(template: str, **context: Any) -> str:
    """Render a workbench template; ``context`` must hold ``csp_nonce`` and ``lang``."""
    lang = context.get("lang", "zh")
    context.setdefault("t", lambda zh, en: zh if lang == "zh" else en)
    return environment().get_template(template).render(**context)
