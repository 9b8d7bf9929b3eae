"""Plain HTML views of the OGC API – Features documents (the ``html`` conformance class).

Every page is the JSON document rendered as headings, link lists and tables, with no scripts and
nothing fetched from elsewhere, so it works on an offline intranet.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any
from urllib.parse import quote

_STYLE = (
    "body{font-family:system-ui,'Noto Sans CJK SC',sans-serif;margin:1.5rem;max-width:80rem}"
    "table{border-collapse:collapse;font-size:.9rem}"
    "td,th{border:1px solid #ccc;padding:.2rem .4rem;text-align:left;vertical-align:top}"
    "th{background:#f3f3f3}code{font-size:.85rem}"
    "nav a{margin-right:1rem}"
)


def _page(title: str, body: str, links: list[dict[str, Any]]) -> str:
    nav = "".join(
        f'<a href="{escape(link["href"])}">{escape(link.get("title") or link["rel"])}</a>'
        for link in links
        if link["rel"] in ("prev", "next", "collection", "data", "up")
    )
    return (
        '<!doctype html><html lang="zh"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<nav>{nav}</nav><h1>{escape(title)}</h1>{body}{_links(links)}</body></html>"
    )


def _links(links: list[dict[str, Any]]) -> str:
    items = "".join(
        f'<li><a href="{escape(link["href"])}">{escape(link.get("title") or link["href"])}</a> '
        f"<code>rel={escape(link['rel'])}</code> <code>{escape(link.get('type', ''))}</code></li>"
        for link in links
    )
    return f"<h2>Links</h2><ul>{items}</ul>"


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return f"<code>{escape(json.dumps(value, ensure_ascii=False))}</code>"
    return escape(str(value))


def _table(rows: list[dict[str, Any]], columns: list[str], link_first: str | None = None) -> str:
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for row in rows:
        cells = []
        for i, c in enumerate(columns):
            cell = _value(row.get(c))
            if i == 0 and link_first:
                href = link_first.format(id=quote(str(row.get(c)), safe=""))
                cell = f'<a href="{escape(href)}">{cell}</a>'
            cells.append(f"<td>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def landing_html(doc: dict[str, Any]) -> str:
    """The landing page."""
    body = f"<p>{escape(doc.get('description', ''))}</p>"
    return _page(doc["title"], body, doc["links"])


def conformance_html(doc: dict[str, Any]) -> str:
    """The conformance declaration."""
    items = "".join(f"<li><code>{escape(c)}</code></li>" for c in doc["conformsTo"])
    return _page("Conformance", f"<ul>{items}</ul>", doc.get("links", []))


def _collection_summary(c: dict[str, Any]) -> dict[str, Any]:
    bbox = c.get("extent", {}).get("spatial", {}).get("bbox", [None])[0]
    interval = c.get("extent", {}).get("temporal", {}).get("interval", [None])[0]
    return {
        "id": c["id"],
        "title": c.get("title"),
        "description": c.get("description"),
        "bbox (CRS84)": ", ".join(f"{v:.5f}" for v in bbox) if bbox else "",
        "time": " / ".join(str(t or "..") for t in interval) if interval else "",
    }


def collections_html(doc: dict[str, Any], base: str) -> str:
    """The list of collections."""
    rows = [_collection_summary(c) for c in doc["collections"]]
    columns = ["id", "title", "description", "bbox (CRS84)", "time"]
    table = _table(rows, columns, link_first=base + "/collections/{id}?f=html")
    return _page("Collections", table, doc["links"])


def collection_html(doc: dict[str, Any]) -> str:
    """One collection's metadata."""
    summary = _collection_summary(doc)
    rows = [{"field": k, "value": v} for k, v in summary.items()]
    rows.append({"field": "crs", "value": ", ".join(doc.get("crs", []))})
    rows.append({"field": "storageCrs", "value": doc.get("storageCrs")})
    return _page(doc.get("title") or doc["id"], _table(rows, ["field", "value"]), doc["links"])


def items_html(title: str, doc: dict[str, Any], item_url: str) -> str:
    """A page of features as a table (geometry type only), with paging links."""
    features = doc["features"]
    columns: list[str] = ["id", "geometry"]
    for feature in features:
        for name in feature.get("properties") or {}:
            if name not in columns:
                columns.append(name)
    rows = [
        {
            "id": f.get("id"),
            "geometry": (f.get("geometry") or {}).get("type", ""),
            **(f.get("properties") or {}),
        }
        for f in features
    ]
    summary = (
        f"<p>{doc['numberReturned']} of {doc['numberMatched']} features "
        f"(as of {escape(doc['timeStamp'])}).</p>"
    )
    return _page(title, summary + _table(rows, columns, link_first=item_url), doc["links"])


def item_html(title: str, feature: dict[str, Any]) -> str:
    """One feature: its properties and its geometry as GeoJSON."""
    rows = [{"property": "id", "value": feature.get("id")}]
    rows += [{"property": k, "value": v} for k, v in (feature.get("properties") or {}).items()]
    geometry = json.dumps(feature.get("geometry"), ensure_ascii=False)
    body = _table(rows, ["property", "value"]) + f"<h2>Geometry</h2><pre>{escape(geometry)}</pre>"
    return _page(f"{title}: {feature.get('id')}", body, feature.get("links", []))
