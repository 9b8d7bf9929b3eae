"""Peer for the wall: the naive map — every problem read with GeoPandas and drawn by Folium.

``geopandas.read_postgis`` of every problem with the fields a wall popup shows, a ``folium.Map``
with one ``GeoJson`` layer of all the points, rendered to HTML. It has no incremental refresh: to
show new data the page is built and sent again, so its refresh costs what its open costs. Only
the server side is timed; the browser drawing every point as a marker is not.
"""

from __future__ import annotations

import time

from sqlalchemy import Engine

SQL = """
    SELECT code, source, category, status, township_code, description, responsible_unit,
           responsible_person, deadline_kind, deadline::text AS deadline,
           closed_at::text AS closed_at, updated_at::text AS updated_at, geom
    FROM problems WHERE geom IS NOT NULL ORDER BY id
"""


def render(engine: Engine, centre: tuple[float, float]) -> dict:
    """Build the naive page once: seconds per stage, HTML bytes and features drawn."""
    import folium
    import geopandas as gpd

    t0 = time.perf_counter()
    gdf = gpd.read_postgis(SQL, engine, geom_col="geom")
    t1 = time.perf_counter()
    fmap = folium.Map(location=[centre[1], centre[0]], zoom_start=10)
    folium.GeoJson(gdf, name="问题 problems").add_to(fmap)
    folium.LayerControl().add_to(fmap)
    html = fmap.get_root().render()
    t2 = time.perf_counter()
    body = html.encode("utf-8")
    return {
        "seconds": t2 - t0,
        "read_postgis_s": t1 - t0,
        "folium_s": t2 - t1,
        "bytes": len(body),
        "features": len(gdf),
    }
