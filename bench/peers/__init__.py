"""What users would otherwise use, written or configured the plain way, for the comparisons.

* :mod:`bench.peers.orm_ingest` — a FastAPI + SQLAlchemy ORM insert-per-request endpoint.
* :mod:`bench.peers.naive_wall` — GeoPandas ``read_postgis`` + a Folium GeoJson of every point.
* :mod:`bench.peers.esda_gistar` — PySAL esda ``G_Local(star=True)`` on a ``DistanceBand``.
* :mod:`bench.peers.pygeoapi_server` — pygeoapi's PostgreSQL provider on the same table.
* :mod:`bench.peers.gpd_sjoin` — GeoPandas ``sjoin`` in memory.
"""
