"""Pages without script injection: escaped text in popups and tooltips, nonces rendered in.

Two rules hold for every Folium page:

* Text from users and imported files reaches the browser only as escaped text.
  :func:`escaped_collection` escapes the properties a popup or tooltip shows (Folium's
  ``GeoJsonPopup``/``GeoJsonTooltip`` insert them with ``innerHTML``), and :class:`StaticHtml` adds
  a piece of markup verbatim (``folium.Element`` would compile it as a Jinja template).
* Rendered markup is never compiled again. Branca's ``MacroElement.render`` wraps each rendered
  macro (the GeoJSON data included) in ``Element(...)``, which compiles it as a Jinja template, so
  ``{{ ... }}`` in a site name would run on the server; :func:`_macro_render` replaces it and
  keeps the rendered text as it is.
* The page's CSP nonce is rendered into the ``<script>`` tags Folium and the app's own elements
  emit, at render time (:func:`render_with_nonce`); nothing rewrites the rendered page, so a script
  tag that arrives inside data can never carry the nonce. An element that would emit a script the
  renderer does not know raises :class:`UnnoncedScriptError` instead of reaching a page.
"""

from __future__ import annotations

import re
import unicodedata
from html import escape
from typing import Any

import folium
from branca.element import Element, Figure, JavascriptLink, MacroElement, Template

# C0/C1 controls (tab and newline kept) and the bidirectional embedding, override and isolate marks
# that can make text read differently from what it is.
_CONTROL = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")

_LITERAL = str.maketrans({"`": "&#96;", "$": "&#36;", "\\": "&#92;", "{": "&#123;", "}": "&#125;"})


class UnnoncedScriptError(RuntimeError):
    """An element would put a ``<script>`` on a page without the page's nonce."""


def display_text(value: Any) -> Any:
    """``value`` made safe to show as HTML text: controls removed, markup escaped.

    Non-strings (numbers, None) pass through unchanged.
    """
    if not isinstance(value, str):
        return value
    text = escape(_CONTROL.sub("", unicodedata.normalize("NFC", value)), quote=True)
    # Folium puts some text inside JavaScript template literals: no `${`, backslash or backtick.
    return text.translate(_LITERAL)


def escaped_collection(collection: dict, fields: list[str] | tuple[str, ...]) -> dict:
    """A copy of a FeatureCollection whose ``fields`` properties are :func:`display_text`."""
    features = []
    for feature in collection.get("features", []):
        props = dict(feature.get("properties") or {})
        for name in fields:
            if name in props:
                props[name] = display_text(props[name])
        features.append({**feature, "properties": props})
    return {**collection, "features": features}


class StaticHtml(Element):
    """Markup added to a page as is (never compiled as a template)."""

    def __init__(self, html: str) -> None:
        super().__init__()
        self._name = "StaticHtml"
        self.markup = html

    def render(self, **kwargs: Any) -> str:
        return self.markup


_NONCED_FIGURE = Template(
    "<!DOCTYPE html>\n"
    "<html>\n"
    "<head>\n"
    "{% if this.title %}<title>{{ this.title|e }}</title>{% endif %}"
    "    {{ this.header.render(**kwargs) }}\n"
    "</head>\n"
    "<body>\n"
    "    {{ this.html.render(**kwargs) }}\n"
    "</body>\n"
    '<script nonce="{{ kwargs.csp_nonce|e }}">\n'
    "    {{ this.script.render(**kwargs) }}\n"
    "</script>\n"
    "</html>\n"
)
_NONCED_LINK = Template('<script nonce="{{ kwargs.csp_nonce|e }}" src="{{ this.url|e }}"></script>')
# folium.Map's header macro, with the nonce on its one script.
_MAP_HEADER = Template(
    """
    <meta name="viewport" content="width=device-width,
        initial-scale=1.0, maximum-scale=1.0, user-scalable=no" />
    <style>
        #{{ this.get_name() }} {
            position: {{ this.position }};
            width: {{ this.width[0] }}{{ this.width[1] }};
            height: {{ this.height[0] }}{{ this.height[1] }};
            left: {{ this.left[0] }}{{ this.left[1] }};
            top: {{ this.top[0] }}{{ this.top[1] }};
        }
        .leaflet-container { font-size: {{ this.font_size }}; }
    </style>
    <style>html, body { width: 100%; height: 100%; margin: 0; padding: 0; }</style>
    <style>#map { position:absolute; top:0; bottom:0; right:0; left:0; }</style>
    <script nonce="{{ nonce|e }}">
        L_NO_TOUCH = {{ this.global_switches.no_touch|tojson }};
        L_DISABLE_3D = {{ this.global_switches.disable_3d|tojson }};
    </script>
    """
)


def render_with_nonce(figure: Figure, nonce: str) -> str:
    """Render a Folium figure with ``nonce`` on every script it emits, and on no other."""
    for child in figure._children.values():
        child.render()
    maps = {el.get_name(): el for el in figure._children.values() if isinstance(el, folium.Map)}
    for name, element in list(figure.header._children.items()):
        if isinstance(element, JavascriptLink):
            element._template = _NONCED_LINK
        elif name in maps:
            figure.header._children[name] = StaticHtml(
                _MAP_HEADER.render(this=maps[name], nonce=nonce)
            )
            figure.header._children[name]._parent = figure.header
    for part in (figure.header, figure.html):
        for name, element in part._children.items():
            if isinstance(element, JavascriptLink) or name in maps and part is figure.header:
                continue
            if "<script" in element.render().lower():
                raise UnnoncedScriptError(f"element {name!r} emits a script without the nonce")
    return _NONCED_FIGURE.render(this=figure, kwargs={"csp_nonce": nonce})


def _macro_render(self: MacroElement, **kwargs: Any) -> None:
    """``MacroElement.render`` without compiling the rendered macros as templates again."""
    figure = self.get_root()
    if not isinstance(figure, Figure):
        raise TypeError("You cannot render this Element if it is not in a Figure.")
    for part in ("header", "html", "script"):
        macro = self._template.module.__dict__.get(part)
        if macro is not None:
            getattr(figure, part).add_child(StaticHtml(macro(self, kwargs)), name=self.get_name())
    for element in self._children.values():
        element.render(**kwargs)


MacroElement.render = _macro_render  # type: ignore[method-assign]
