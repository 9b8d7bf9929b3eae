"""Files in and out: the offices' Excel ledgers (import with a row-by-row report and dry run, and
the
export template), ledger exports (xlsx, GeoPackage, GeoJSON, CSV), point files from phones and GPS
units (GPX, GeoJSON, anything pyogrio reads) and township/site boundary files in any CRS.
"""
