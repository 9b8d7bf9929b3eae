"""The live part of a wall map: layers that refresh in place from the app's endpoints.

Folium composes the static layers; this element adds ``/static/wall/wall.js``, which redraws the
problem layer, the complaint heat layer, the township choropleth, the ranking panel and the
ticker every ``refresh_s`` seconds without reloading, and shows when the data is stale.
"""

from __future__ import annotations

import json

from branca.element import Figure, JavascriptLink, MacroElement, Template

from layers.assets import local_url


class LiveWall(MacroElement):
    """Wires a Folium map and its township layer to the wall's refresh script."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        window.lookbackWallConfig = Object.assign({{ this.config_json }}, {
            map: {{ this._parent.get_name() }},
            townships: {{ this.townships_var }},
            layerControl: {{ this.control_var }}
        });
        {% endmacro %}
        """
    )

    def __init__(self, *, townships_layer, layer_control, config: dict) -> None:  # type: ignore[no-untyped-def]
        super().__init__()
        self._name = "LiveWall"
        self.townships_var = townships_layer.get_name()
        self.control_var = layer_control.get_name()
        self.config_json = json.dumps(config, ensure_ascii=False)

    def render(self, **kwargs) -> None:  # type: ignore[no-untyped-def]
        figure = self.get_root()
        assert isinstance(figure, Figure)
        figure.header.add_child(JavascriptLink(local_url("leaflet-heat.js")), name="leaflet-heat")
        figure.header.add_child(JavascriptLink("/static/wall/wall.js"), name="lookback-wall")
        figure.header.add_child(
            JavascriptLink("/static/wall/hotspots.js"), name="lookback-hotspots"
        )
        super().render(**kwargs)
