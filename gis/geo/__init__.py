"""Geography: coordinates (WGS-84/CGCS2000, GCJ-02, BD-09, DMS, validation), display shifts for the
basemap, township assignment (属地) in PostGIS, and the small SQL fragments every query uses for
geometry output. Metres are always measured on the spheroid or in a Gauss–Krüger zone.
"""
