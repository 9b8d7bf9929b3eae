"""Lookback's benchmark suite: each metric measured next to what users would otherwise use.

``python -m bench.run`` (the full run, ``make bench``) and ``lookback bench --quick`` start a
private PostgreSQL + PostGIS cluster in a temporary folder, load the demo county into it with
:func:`gis.demo.county.load_demo`, run every comparison with its peer on the same data in the same
run,
print a table and write ``bench/results.json`` and ``bench/RESULTS.md``. Nothing here is imported
by the product; timings never go into unit tests.
"""
