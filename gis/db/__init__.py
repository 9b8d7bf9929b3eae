"""The database: engines and sessions, the embedded PostgreSQL + PostGIS server, the data model,
the Alembic migrations, backup and restore.

:mod:`gis.db.engine` opens the embedded cluster's URL or ``DATABASE_URL``; :mod:`gis.db.embedded`
starts and stops the private server the product runs for itself (not to be confused with DBSCAN
clusters, which live in :mod:`gis.hotspots`); :mod:`gis.db.models` is the SQLAlchemy/GeoAlchemy2
model in EPSG:4490; :mod:`gis.db.backup` writes and restores one checksummed archive of database and
attachments.
"""
