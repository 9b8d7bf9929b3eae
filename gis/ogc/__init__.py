"""OGC API – Features on the ledger: which tables are collections, their queryables, and the SQL
that pages, counts and filters them for QGIS, GDAL and ArcGIS.
"""
