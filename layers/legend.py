"""A legend control listing colours and their bilingual labels."""

from __future__ import annotations

from html import escape

from branca.element import MacroElement, Template


class Legend(MacroElement):
    """A fixed legend box in the map's lower-left corner."""

    _template = Template(
        """
        {% macro html(this, kwargs) %}
        <div class="lookback-legend" style="position:absolute;bottom:44px;left:12px;z-index:1000;
             background:rgba(255,255,255,.92);padding:8px 12px;border-radius:6px;
             font:13px/1.5 'Noto Sans CJK SC',sans-serif;box-shadow:0 1px 4px rgba(0,0,0,.3)">
          <div style="font-weight:600;margin-bottom:4px">{{ this.title }}</div>
          {% for colour, label in this.items %}
          <div><span style="display:inline-block;width:12px;height:12px;border-radius:50%;
               background:{{ colour }};margin-right:6px;vertical-align:-1px"></span>
               {{ label }}</div>
          {% endfor %}
        </div>
        {% endmacro %}
        """
    )

    def __init__(self, title: str, items: list[tuple[str, str]]) -> None:
        super().__init__()
        self._name = "Legend"
        self.title = escape(title)
        self.items = [(escape(c), escape(label)) for c, label in items]
