"""Browser assets served from the app itself: Folium's CDN links are rewritten to ``/static``.

A county intranet reaches no public host, so every script and stylesheet a page needs comes from
``static/node_modules`` (installed from the npm registry at set-up) under :data:`VENDOR_URL`.
Folium names each resource; :data:`LOCAL_ASSETS` maps those names to local files. Resources the
product does not use (jQuery, Bootstrap, awesome-markers) are dropped, and an unknown external
link raises :class:`ExternalAssetError` rather than reaching a page.
"""

from __future__ import annotations

import re
from pathlib import Path

from branca.element import Element

VENDOR_URL = "/static/vendor"
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
VENDOR_DIR = STATIC_DIR / "node_modules"

LOCAL_ASSETS: dict[str, str] = {
    "leaflet": "leaflet/dist/leaflet.js",
    "leaflet_css": "leaflet/dist/leaflet.css",
    "Control.Fullscreen.js": "leaflet.fullscreen/Control.FullScreen.js",
    "Control.FullScreen.css": "leaflet.fullscreen/Control.FullScreen.css",
    "Control.Fullscreen.css": "leaflet.fullscreen/Control.FullScreen.css",
    "Leaflet-Realtime": "leaflet-realtime/dist/leaflet-realtime.js",
    "markerclusterjs": "leaflet.markercluster/dist/leaflet.markercluster.js",
    "markerclustercss": "leaflet.markercluster/dist/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/dist/MarkerCluster.Default.css",
    "leaflet-heat.js": "leaflet.heat/dist/leaflet-heat.js",
}
# Folium adds these to every map; Lookback's pages use none of them.
UNUSED_ASSETS = {
    "jquery",
    "bootstrap",
    "awesome_markers",
    "bootstrap_css",
    "glyphicons_css",
    "awesome_markers_font_css",
    "awesome_markers_css",
    "awesome_rotate_css",
}

EXTERNAL_URL = re.compile(r"""(?:src|href)\s*=\s*["'](?:https?:)?//""", re.IGNORECASE)


class ExternalAssetError(RuntimeError):
    """A page would load a script or stylesheet from outside the app."""


def local_url(name: str) -> str:
    """The app URL of a named vendor asset."""
    return f"{VENDOR_URL}/{LOCAL_ASSETS[name]}"


def _localise_list(resources: list[tuple[str, str]]) -> list[tuple[str, str]]:
    out = []
    for name, url in resources:
        if name in UNUSED_ASSETS:
            continue
        if name in LOCAL_ASSETS:
            out.append((name, local_url(name)))
        elif url.startswith("/"):
            out.append((name, url))
        else:
            raise ExternalAssetError(f"no local copy of asset {name!r} ({url}); add it to static/")
    return out


def localise(element: Element) -> Element:
    """Point every element's scripts and stylesheets at the app's own copies, recursively."""
    stack = [element]
    while stack:
        node = stack.pop()
        for attr in ("default_js", "default_css"):
            resources = getattr(node, attr, None)
            if resources is not None:
                setattr(node, attr, _localise_list(list(resources)))
        stack.extend(getattr(node, "_children", {}).values())
    return element


def external_references(html: str) -> list[str]:
    """The ``src``/``href`` attributes of a page that point outside the app."""
    return [m.group(0) for m in EXTERNAL_URL.finditer(html)]


def missing_vendor_files() -> list[str]:
    """Mapped assets whose files are not installed (``npm ci`` in ``static/`` not yet run)."""
    return [p for p in sorted(set(LOCAL_ASSETS.values())) if not (VENDOR_DIR / p).exists()]
